//! Payment controls: every customer and payment method as the fake holds them, cards attached in
//! bulk, and the 3D Secure challenge of a SetupIntent.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Json;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ControlError, ControlResult, bad_request, body};
use crate::app::App;
use crate::model::cards::{self, Setup};
use crate::model::customers;
use crate::model::intents::AuthenticateError;
use crate::model::payment_methods;
use crate::model::setup_intents;

pub async fn customers(State(app): State<App>) -> Json<Value> {
    let all: Vec<Value> = app.read(|store| store.customers.oldest_first().cloned().collect());
    Json(json!({ "data": all }))
}

/// Every payment method in creation order, detached ones included, each with what the fake
/// knows beyond Stripe's JSON under `_fake`.
pub async fn list_payment_methods(State(app): State<App>) -> Json<Value> {
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
pub async fn attach_payment_methods(
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
        customers::live(store, &customer)
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

/// The body of the 3D Secure challenge routes (SetupIntents, PaymentIntents).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Authenticate {
    #[serde(default)]
    pub(super) fail: bool,
}

/// Completes the 3D Secure challenge of a SetupIntent in `requires_action` (`{"fail":true}` fails
/// it instead). Answers with the SetupIntent.
pub async fn authenticate_setup_intent(
    State(app): State<App>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let Authenticate { fail } = body(&bytes)?;
    let intent = app
        .write_automatic(|store, changes| setup_intents::authenticate(store, changes, &id, fail))
        .map_err(|e| match e {
            AuthenticateError::NotFound => {
                ControlError(StatusCode::NOT_FOUND, format!("no setup intent {id}"))
            }
            AuthenticateError::Conflict(message) => ControlError(StatusCode::CONFLICT, message),
        })?;
    Ok(Json(intent))
}
