//! The `/_fake` control API used by tests and the dev stack (no auth, JSON in and out).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::{payment_methods, setup_intents};
use crate::app::{App, lock};
use crate::billing::{self, subscriptions::PayError};
use crate::cards::{self, Setup};
use crate::faults::Fault;
use crate::webhooks::ModeUpdate;

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
        .route("/portal/{id}", get(portal_page))
        .route("/webhooks/mode", get(webhook_mode).post(set_webhook_mode))
        .route("/webhooks/flush", post(flush_webhooks))
        .route("/webhooks/deliveries", get(webhook_deliveries))
        .route("/search/delay", get(search_delay).post(set_search_delay))
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
    Json(json!({ "ok": true, "cleared": app.faults.clear() }))
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

fn clock_view(app: &App) -> Json<Value> {
    Json(json!({ "now": app.clock.now(), "offset_seconds": app.clock.offset_seconds() }))
}

async fn clock(State(app): State<App>) -> Json<Value> {
    clock_view(&app)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: i64,
}

/// The clock only moves forward, like a Stripe test clock; then everything that fell due runs
/// (schedule phases, cancellations, renewals, trial ends), in time order.
async fn advance_clock(State(app): State<App>, bytes: Bytes) -> ControlResult {
    let Advance { seconds } = body(&bytes)?;
    if seconds < 0 {
        return Err(bad_request("seconds must not be negative"));
    }
    app.clock.advance(seconds);
    let processed = billing::clock::run_due(&app);
    let Json(mut view) = clock_view(&app);
    view["processed"] = json!(processed);
    Ok(Json(view))
}

/// The subscription's next payment attempt (renewal or immediate update invoice) declines.
async fn fail_next_payment(State(app): State<App>, Path(id): Path<String>) -> ControlResult {
    let found = app.write_automatic(|store, _| {
        if store.subscriptions.get(&id).is_none() {
            return Err(ControlError(
                StatusCode::NOT_FOUND,
                format!("no subscription {id}"),
            ));
        }
        store.billing.fail_next_payment.insert(id.clone());
        Ok(())
    });
    found.map(|()| Json(json!({ "ok": true, "subscription": id })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Pay {
    #[serde(default)]
    payment_method: Option<String>,
}

/// Completes an open invoice as Stripe.js confirming its PaymentIntent would (`{}`), or pays it
/// with a new card (`{"payment_method": "pm_card_visa"}`). Answers with the invoice.
async fn pay_invoice(
    State(app): State<App>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let Pay { payment_method } = body(&bytes)?;
    let ctx = billing::Ctx::of(&app);
    app.write_automatic(|store, changes| {
        billing::subscriptions::pay_invoice(store, changes, &ctx, &id, payment_method.as_deref())
    })
    .map(Json)
    .map_err(|e| match e {
        PayError::NotFound => ControlError(StatusCode::NOT_FOUND, format!("no invoice {id}")),
        PayError::Conflict(message) => ControlError(StatusCode::CONFLICT, message),
        PayError::Declined(error) => ControlError(StatusCode::PAYMENT_REQUIRED, error.message),
    })
}

async fn customers(State(app): State<App>) -> Json<Value> {
    let all: Vec<Value> = app.read(|store| store.customers.oldest_first().cloned().collect());
    Json(json!({ "data": all }))
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

/// Every payment method in creation order, detached ones included, each with what the fake
/// knows beyond Stripe's JSON under `_fake`.
async fn list_payment_methods(State(app): State<App>) -> Json<Value> {
    let all: Vec<Value> = app.read(|store| {
        store
            .payment_methods
            .oldest_first()
            .map(|pm| {
                let mut pm = pm.clone();
                if let Some(state) = pm["id"].as_str().and_then(|id| store.cards.get(id)) {
                    pm["_fake"] = json!({
                        "token": state.card.token(),
                        "detached": state.detached,
                        "charge_outcome": state.card.charge.describe(),
                    });
                }
                pm
            })
            .collect()
    });
    Json(json!({ "data": all }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachCards {
    token: String,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

const MAX_ATTACH: usize = 500;

/// `{"token":"pm_card_visa","count":N}`: N new cards attached to the customer at once, with the
/// `payment_method.attached` events a real attach records (`request.id` null).
async fn attach_payment_methods(
    State(app): State<App>,
    Path(customer): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let AttachCards { token, count } = body(&bytes)?;
    let card = cards::lookup(&token)
        .ok_or_else(|| bad_request(format!("unknown test payment method token {token:?}")))?;
    if let Setup::Declines(_) = card.setup {
        return Err(bad_request(format!(
            "{token} cannot be attached (it declines)"
        )));
    }
    if !(1..=MAX_ATTACH).contains(&count) {
        return Err(bad_request(format!(
            "count must be between 1 and {MAX_ATTACH}"
        )));
    }
    let attached = app.write_automatic(|store, changes| {
        crate::api::customers::live(store, &customer)
            .map_err(|_| ControlError(StatusCode::NOT_FOUND, format!("no customer {customer}")))?;
        (0..count)
            .map(|_| {
                let id = payment_methods::create(store, card, app.clock.now());
                payment_methods::attach(store, changes, &id, &customer)
                    .map_err(|e| bad_request(e.message))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(Json(json!({ "data": attached })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Authenticate {
    #[serde(default)]
    fail: bool,
}

/// Completes the 3D Secure challenge of a SetupIntent in `requires_action` (`{"fail":true}` fails
/// it instead). Answers with the SetupIntent.
async fn authenticate_setup_intent(
    State(app): State<App>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let Authenticate { fail } = body(&bytes)?;
    let intent = app
        .write_automatic(|store, changes| setup_intents::authenticate(store, changes, &id, fail))
        .map_err(|e| {
            let status = e.status();
            ControlError(status, e.message(&id))
        })?;
    Ok(Json(intent))
}

/// The page a portal session's `url` opens: the customer and a link back to `return_url`.
async fn portal_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Some(session) = app.read(|store| store.portal_sessions.get(&id).cloned()) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                "Portal session not found",
                &format!("<p>No portal session {}.</p>", escape(&id)),
            )),
        )
            .into_response();
    };
    let text = |key: &str| session[key].as_str().map(escape);
    let customer = text("customer").unwrap_or_default();
    let flow = session["flow"]["type"]
        .as_str()
        .map(escape)
        .unwrap_or_else(|| "none".into());
    let back = match text("return_url") {
        Some(url) => format!(r#"<p><a id="return" href="{url}">Return to {url}</a></p>"#),
        None => "<p>No return URL.</p>".to_owned(),
    };
    let body = format!(
        r#"<p>Customer: <span id="customer">{customer}</span></p>
<p>Session: <span id="session">{}</span></p>
<p>Flow: <span id="flow">{flow}</span></p>
{back}"#,
        escape(&id)
    );
    Html(page("stripe-fake customer portal", &body)).into_response()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
