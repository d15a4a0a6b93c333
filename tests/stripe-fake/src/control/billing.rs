//! Billing controls: the fake clock (advancing it runs what fell due), failing a subscription's
//! next payment, and paying an open invoice as Stripe.js would.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Json;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ControlError, ControlResult, bad_request, body};
use crate::app::App;
use crate::billing::{self, subscriptions::PayError};

fn clock_view(app: &App) -> Json<Value> {
    Json(json!({ "now": app.clock.now(), "offset_seconds": app.clock.offset_seconds() }))
}

pub async fn clock(State(app): State<App>) -> Json<Value> {
    clock_view(&app)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: i64,
}

/// The clock only moves forward, like a Stripe test clock; then everything that fell due runs
/// (schedule phases, cancellations, renewals, trial ends), in time order.
pub async fn advance_clock(State(app): State<App>, bytes: Bytes) -> ControlResult {
    let Advance { seconds } = body(&bytes)?;
    if seconds < 0 {
        return Err(bad_request("seconds must not be negative"));
    }
    app.clock.advance(seconds);
    let processed = app.run_due();
    let Json(mut view) = clock_view(&app);
    view["processed"] = json!(processed);
    Ok(Json(view))
}

/// The subscription's next payment attempt (renewal or immediate update invoice) declines.
pub async fn fail_next_payment(State(app): State<App>, Path(id): Path<String>) -> ControlResult {
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
pub async fn pay_invoice(
    State(app): State<App>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let Pay { payment_method } = body(&bytes)?;
    let ctx = app.ctx();
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
