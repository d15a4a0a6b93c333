//! Test helpers: a running fake, raw HTTP calls, fixture key sets and a webhook receiver.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use stripe_fake::{Catalogue, Config, RunningFake};
use tokio::sync::mpsc;

pub const KEY: &str = "sk_test_stripe_fake";

pub struct Fake {
    pub server: RunningFake,
    http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .expect("an error with a message")
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Fake {
    /// A fake seeded with this project's catalogue (`fixtures/catalogue.json`).
    pub async fn start() -> Self {
        let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/catalogue.json");
        Self::start_with(Catalogue::load(&catalogue).expect("the project's catalogue loads")).await
    }

    pub async fn start_with(seed: Catalogue) -> Self {
        let server = stripe_fake::spawn(Config {
            port: 0,
            log_requests: false,
            seed,
        })
        .await
        .expect("fake starts");
        Self {
            server,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub fn client(&self) -> stripe::Client {
        stripe::ClientBuilder::new(KEY)
            .url(self.server.url())
            .build()
            .expect("client builds")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request reaches the fake");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A form-encoded POST with the test key, and an idempotency key if given.
    pub async fn post(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Reply {
        self.post_as(KEY, path, pairs, idempotency_key).await
    }

    /// A form-encoded POST with the given API key (`pk_test_…` for the Stripe.js path).
    pub async fn post_as(
        &self,
        key: &str,
        path: &str,
        pairs: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Reply {
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs));
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        self.get_as(KEY, path, pairs).await
    }

    pub async fn get_as(&self, key: &str, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let url = format!("{}?{}", self.url(path), form(pairs));
        self.send(self.http.get(url).bearer_auth(key)).await
    }

    /// A raw request (for CORS preflights and the portal page).
    pub async fn raw(&self, request: reqwest::RequestBuilder) -> (u16, HeaderMap, String) {
        let response = request.send().await.expect("request reaches the fake");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.expect("body"))
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(self.url(path)).bearer_auth(KEY))
            .await
    }

    /// A control API call (`/_fake/…`); `body` is JSON.
    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.send(request).await
    }

    pub async fn create_customer(&self, pairs: &[(&str, &str)]) -> Value {
        let reply = self.post("/v1/customers", pairs, None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// `count` new cards from `token` attached to `customer` (control API); their ids, oldest first.
    pub async fn attach_cards(&self, customer: &str, token: &str, count: usize) -> Vec<String> {
        let reply = self
            .control(
                "POST",
                &format!("/_fake/customers/{customer}/payment_methods"),
                Some(serde_json::json!({"token": token, "count": count})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|pm| pm["id"].as_str().expect("id").to_owned())
            .collect()
    }

    /// A new customer's id.
    pub async fn customer_id(&self) -> String {
        let customer = self.create_customer(&[("email", "pm@example.com")]).await;
        customer["id"].as_str().expect("id").to_owned()
    }

    /// Moves the fake clock forward (running everything that falls due); the clock view.
    pub async fn advance(&self, seconds: i64) -> Value {
        let reply = self
            .control(
                "POST",
                "/_fake/clock/advance",
                Some(serde_json::json!({ "seconds": seconds })),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// The fake clock's now.
    pub async fn now(&self) -> i64 {
        let reply = self.control("GET", "/_fake/clock", None).await;
        reply.body["now"].as_i64().expect("now")
    }

    /// The seeded price with this lookup key.
    pub async fn price(&self, lookup_key: &str) -> Value {
        let reply = self
            .get("/v1/prices", &[("lookup_keys[]", lookup_key)])
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["data"][0].clone()
    }

    pub async fn price_id(&self, lookup_key: &str) -> String {
        self.price(lookup_key).await["id"]
            .as_str()
            .expect("price id")
            .to_owned()
    }

    /// A customer whose invoice default is a new card from `token`: (customer, payment method).
    pub async fn paying_customer(&self, token: &str) -> (String, String) {
        let customer = self.customer_id().await;
        let pm = self.attach_cards(&customer, token, 1).await.remove(0);
        let reply = self
            .post(
                &format!("/v1/customers/{customer}"),
                &[("invoice_settings[default_payment_method]", pm.as_str())],
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        (customer, pm)
    }

    /// `POST /v1/subscriptions` for one price (plus `extra` parameters).
    pub async fn subscribe(&self, customer: &str, price: &str, extra: &[(&str, &str)]) -> Reply {
        let mut pairs = vec![("customer", customer), ("items[0][price]", price)];
        pairs.extend_from_slice(extra);
        self.post("/v1/subscriptions", &pairs, None).await
    }

    /// Event types recorded so far (oldest first), optionally only those starting with `prefix`.
    pub async fn event_types(&self, prefix: &str) -> Vec<String> {
        let reply = self.get("/v1/events", &[("limit", "100")]).await;
        let mut types: Vec<String> = reply.body["data"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["type"].as_str())
            .filter(|t| t.starts_with(prefix))
            .map(str::to_owned)
            .collect();
        types.reverse();
        types
    }

    /// Events of one type (newest first).
    pub async fn events_of(&self, event_type: &str) -> Vec<Value> {
        let reply = self
            .get("/v1/events", &[("type", event_type), ("limit", "100")])
            .await;
        reply.body["data"].as_array().cloned().unwrap_or_default()
    }

    /// Every customer the fake holds, deleted ones included.
    pub async fn stored_customers(&self) -> Vec<Value> {
        let reply = self.control("GET", "/_fake/customers", None).await;
        reply.body["data"].as_array().cloned().unwrap_or_default()
    }
}

/// The key set of one of Stripe's published example objects.
pub fn fixture_keys(resource: &str) -> BTreeSet<String> {
    let fixtures: Value = serde_json::from_str(include_str!("../../fixtures/stripe-fixtures.json"))
        .expect("fixtures parse");
    keys(&fixtures["resources"][resource])
}

pub fn keys(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// One webhook POST as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("event JSON")
    }
}

#[derive(Clone)]
struct ReceiverState {
    sender: mpsc::UnboundedSender<Received>,
    /// Answer 500 to this many requests first.
    failures_left: Arc<Mutex<u32>>,
    /// How long each request is held before the answer.
    hold: Duration,
    in_flight: Arc<AtomicUsize>,
    /// The most requests held at once.
    peak: Arc<AtomicUsize>,
}

/// A tiny HTTP server standing in for the product's webhook Lambda.
pub struct Receiver {
    pub addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
    peak: Arc<AtomicUsize>,
}

impl Receiver {
    pub async fn start(fail_first: u32) -> Self {
        Self::serve(fail_first, Duration::ZERO).await
    }

    /// A receiver that holds every request for `hold` before answering.
    pub async fn holding(hold: Duration) -> Self {
        Self::serve(0, hold).await
    }

    async fn serve(fail_first: u32, hold: Duration) -> Self {
        let (sender, received) = mpsc::unbounded_channel();
        let peak = Arc::new(AtomicUsize::new(0));
        let state = ReceiverState {
            sender,
            failures_left: Arc::new(Mutex::new(fail_first)),
            hold,
            in_flight: Arc::new(AtomicUsize::new(0)),
            peak: Arc::clone(&peak),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        Self {
            addr,
            received,
            task,
            peak,
        }
    }

    /// The most requests that were being answered at the same time.
    pub fn peak_in_flight(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Waits for the next delivery (failed attempts included).
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.received.recv())
            .await
            .expect("a webhook arrives in time")
            .expect("receiver open")
    }

    /// Waits for `n` deliveries.
    pub async fn take(&mut self, n: usize) -> Vec<Received> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next().await);
        }
        out
    }

    /// Asserts nothing arrives for a while.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        if let Ok(Some(got)) = tokio::time::timeout(wait, self.received.recv()).await {
            panic!("unexpected webhook: {}", got.body);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let received = Received {
        signature: signature.to_owned(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let _ = state.sender.send(received);
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.peak.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(state.hold).await;
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut failures = state.failures_left.lock().expect("lock");
    if *failures > 0 {
        *failures -= 1;
        (StatusCode::INTERNAL_SERVER_ERROR, "failed")
    } else {
        (StatusCode::OK, "received")
    }
}

/// Registers `receiver` for `events` and returns (endpoint id, signing secret).
pub async fn register(fake: &Fake, receiver: &Receiver, events: &[&str]) -> (String, String) {
    let url = receiver.url();
    let mut pairs = vec![("url", url.as_str())];
    pairs.extend(events.iter().map(|e| ("enabled_events[]", *e)));
    let reply = fake.post("/v1/webhook_endpoints", &pairs, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["id"].as_str().expect("id").to_owned();
    let secret = reply.body["secret"].as_str().expect("secret").to_owned();
    (id, secret)
}
