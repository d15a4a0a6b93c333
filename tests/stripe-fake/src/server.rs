//! Serving a fake: the router (`/v1` behind the pipeline, `/_fake`, Stripe's 404 for the rest),
//! the request log, `serve` for the binary and `spawn` for tests in the same process.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::app::{App, Config};
use crate::{api, control, http};

fn router(app: App) -> Router {
    Router::new()
        .nest("/v1", api::router(app.clone()))
        .nest("/_fake", control::router())
        .fallback(http::pipeline::unrecognized)
        .layer(from_fn_with_state(app.clone(), log_request))
        .with_state(app)
}

/// One stderr line per request: method, path (without the query) and status. Never the key.
async fn log_request(State(app): State<App>, request: Request, next: Next) -> Response {
    if !app.config.log_requests {
        return next.run(request).await;
    }
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = if response
        .extensions()
        .get::<http::faults::ConnectionReset>()
        .is_some()
    {
        "reset (no response)".to_owned()
    } else {
        response.status().as_u16().to_string()
    };
    eprintln!(
        "stripe-fake: {method} {path} {status} {}ms",
        started.elapsed().as_millis()
    );
    response
}

/// Binds 127.0.0.1:`config.port` and serves until the process ends.
pub async fn serve(config: Config) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
    let addr = listener.local_addr()?;
    if config.log_requests {
        eprintln!("stripe-fake: listening on http://{addr}");
    }
    axum::serve(listener, router(App::new(config, addr))).await
}

/// A fake running in the background of the current Tokio runtime; stops when dropped.
pub struct RunningFake {
    pub addr: SocketAddr,
    task: JoinHandle<io::Result<()>>,
}

impl RunningFake {
    /// The base URL to give `stripe::ClientBuilder::url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a fake on 127.0.0.1 (port 0 picks a free one) and returns once it accepts connections.
pub async fn spawn(config: Config) -> io::Result<RunningFake> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
    let addr = listener.local_addr()?;
    let app = router(App::new(config, addr));
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(RunningFake { addr, task })
}
