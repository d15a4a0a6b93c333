//! A stateful, in-memory fake of the Stripe API for the local stack and tests.
//! See README.md for the endpoints, the `/_fake` control API and the behaviours that are guesses.

// Stripe's invoice object is larger than `serde_json::json!` expands with the default limit.
#![recursion_limit = "256"]

mod api;
mod app;
mod behaviours;
mod billing;
mod calendar;
mod cards;
mod catalogue;
mod clock;
mod control;
mod counter;
mod error;
mod events;
mod expand;
mod faults;
mod form;
mod idempotency;
mod ids;
mod list;
mod params;
mod pipeline;
mod search;
mod store;
mod webhooks;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use app::App;
pub use app::{Config, DEFAULT_PORT};

/// The API version whose shapes the fake speaks (the one async-stripe 1.0.0-rc.10 pins).
pub const API_VERSION: &str = "2026-09-30.endive";

fn router(app: App) -> Router {
    Router::new()
        .nest("/v1", api::router(app.clone()))
        .nest("/_fake", control::router())
        .fallback(pipeline::unrecognized)
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
        .get::<faults::ConnectionReset>()
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
