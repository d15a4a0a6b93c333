//! The `/_fake` control API used by tests and the dev stack (no auth, JSON in and out): the
//! fake's own state (reset, behaviour switches, request counts, faults, webhook modes, search
//! delay) here, billing, payments and the portal page in their modules.

mod billing;
mod payments;
mod portal;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::{App, lock};
use crate::http::faults::Fault;
use crate::webhooks::ModeUpdate;
use billing::{
    advance_clock, authenticate_payment_intent, clock, fail_next_payment, invoice_page,
    invoice_pdf, pay_invoice,
};
use payments::{
    attach_payment_methods, authenticate_setup_intent, customers, list_payment_methods,
};
use portal::portal_page;

pub fn router() -> Router<App> {
    Router::new()
        .route("/health", get(health))
        .route("/behaviours", get(behaviours).post(set_behaviours))
        .route("/reset", post(reset))
        .route("/requests", get(requests))
        .route("/requests/reset", post(reset_requests))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance_clock))
        .route("/customers", get(customers))
        .route(
            "/customers/{id}/payment_methods",
            post(attach_payment_methods),
        )
        .route("/payment_methods", get(list_payment_methods))
        .route(
            "/setup_intents/{id}/authenticate",
            post(authenticate_setup_intent),
        )
        .route(
            "/subscriptions/{id}/fail_next_payment",
            post(fail_next_payment),
        )
        .route("/invoices/{id}/pay", post(pay_invoice))
        .route("/invoices/{id}", get(invoice_page))
        .route("/invoices/{id}/pdf", get(invoice_pdf))
        .route(
            "/payment_intents/{id}/authenticate",
            post(authenticate_payment_intent),
        )
        .route("/portal/{id}", get(portal_page))
        .route("/webhooks/mode", get(webhook_mode).post(set_webhook_mode))
        .route("/webhooks/flush", post(flush_webhooks))
        .route("/webhooks/deliveries", get(webhook_deliveries))
        .route("/search/delay", get(search_delay).post(set_search_delay))
        .route(
            "/idempotency",
            get(idempotency_view).post(set_idempotency_lifetime),
        )
}

pub struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> ControlError {
    ControlError(StatusCode::BAD_REQUEST, message.into())
}

type ControlResult = Result<Json<Value>, ControlError>;

/// A JSON body; an empty body counts as `{}`.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ControlError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

async fn health() -> Json<Value> {
    Json(json!({ "ok": true }))
}

async fn behaviours(State(app): State<App>) -> Json<Value> {
    Json(json!(app.behaviours()))
}

/// Partial update: `{"idempotency_in_use_type": "invalid_request_error"}`.
async fn set_behaviours(State(app): State<App>, bytes: Bytes) -> ControlResult {
    let patch: Value = body(&bytes)?;
    let mut behaviours = lock(&app.behaviours);
    *behaviours = behaviours.patched(patch).map_err(bad_request)?;
    Ok(Json(json!(*behaviours)))
}

#[derive(Deserialize)]
struct ResetQuery {
    #[serde(default)]
    all: bool,
}

async fn reset(State(app): State<App>, Query(query): Query<ResetQuery>) -> Json<Value> {
    app.reset(query.all);
    Json(json!({ "ok": true }))
}

async fn requests(State(app): State<App>) -> Json<Value> {
    Json(app.requests.snapshot())
}

async fn reset_requests(State(app): State<App>) -> Json<Value> {
    app.requests.reset();
    Json(json!({ "ok": true }))
}

async fn list_faults(State(app): State<App>) -> Json<Value> {
    Json(json!({ "data": app.faults.list() }))
}

async fn add_fault(State(app): State<App>, bytes: Bytes) -> ControlResult {
    let fault: Fault = body(&bytes)?;
    let fault = app.faults.add(fault).map_err(bad_request)?;
    Ok(Json(json!(fault)))
}

async fn clear_faults(State(app): State<App>) -> Json<Value> {
    let cleared = app.faults.clear();
    Json(json!({ "ok": true, "cleared": cleared.faults, "fired": cleared.fired }))
}

async fn remove_fault(State(app): State<App>, Path(id): Path<u64>) -> ControlResult {
    if app.faults.remove(id) {
        Ok(Json(json!({ "ok": true })))
    } else {
        Err(ControlError(
            StatusCode::NOT_FOUND,
            format!("no fault {id}"),
        ))
    }
}

async fn webhook_mode(State(app): State<App>) -> Json<Value> {
    Json(json!(app.webhooks.mode()))
}

async fn set_webhook_mode(State(app): State<App>, bytes: Bytes) -> ControlResult {
    let update: ModeUpdate = body(&bytes)?;
    let mode = app.webhooks.set_mode(update).map_err(bad_request)?;
    Ok(Json(json!(mode)))
}

async fn flush_webhooks(State(app): State<App>) -> Json<Value> {
    Json(json!({ "flushed": app.webhooks.flush() }))
}

async fn webhook_deliveries(State(app): State<App>) -> Json<Value> {
    Json(app.webhooks.deliveries())
}

fn delay_view(app: &App) -> Json<Value> {
    let delay_ms = lock(&app.store).search_delay_ms;
    Json(json!({ "seconds": delay_ms as f64 / 1000.0 }))
}

async fn search_delay(State(app): State<App>) -> Json<Value> {
    delay_view(&app)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Delay {
    seconds: f64,
}

/// Delay before writes show up in search (fractions allowed), measured on the fake clock.
async fn set_search_delay(State(app): State<App>, bytes: Bytes) -> ControlResult {
    let Delay { seconds } = body(&bytes)?;
    if !(0.0..=86_400.0).contains(&seconds) {
        return Err(bad_request("seconds must be between 0 and 86400"));
    }
    lock(&app.store).search_delay_ms = (seconds * 1000.0).round() as i64;
    Ok(delay_view(&app))
}

fn idempotency_json(app: &App) -> Json<Value> {
    Json(json!({ "lifetime_seconds": app.idempotency.lifetime_ms() as f64 / 1000.0 }))
}

async fn idempotency_view(State(app): State<App>) -> Json<Value> {
    idempotency_json(&app)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lifetime {
    lifetime_seconds: f64,
}

/// Longest key lifetime a test may set (30 days).
const MAX_KEY_LIFETIME_SECONDS: f64 = 30.0 * 86_400.0;

/// How long idempotency keys live, in real seconds since first use (default 86400, Stripe's
/// "at least 24 hours"); lets tests see a key expire without waiting a day. Reset restores it.
async fn set_idempotency_lifetime(State(app): State<App>, bytes: Bytes) -> ControlResult {
    let Lifetime { lifetime_seconds } = body(&bytes)?;
    if !(0.0..=MAX_KEY_LIFETIME_SECONDS).contains(&lifetime_seconds) {
        return Err(bad_request(
            "lifetime_seconds must be between 0 and 2592000",
        ));
    }
    app.idempotency
        .set_lifetime_ms((lifetime_seconds * 1000.0).round() as i64);
    Ok(idempotency_json(&app))
}
