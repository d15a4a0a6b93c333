//! Payment methods in the store: made from Stripe's test tokens (`pm_card_visa`, …), which
//! resolve to a new `pm_…` object on every use, and attached, detached and checked under Stripe's
//! rules.

use serde_json::{Value, json};

use super::cards::{self, Setup, TestCard};
use super::error::ApiError;
use super::events::Changes;
use super::ids;
use super::store::{CardState, Store};

pub const RESOURCE: &str = "PaymentMethod";

/// Re-attaching a detached payment method (OBS message; the code is a guess, see README).
const DETACHED_MESSAGE: &str = "This PaymentMethod was previously used without being attached to \
    a Customer or was detached from a Customer, and may not be used again.";
const ATTACHED_ELSEWHERE_MESSAGE: &str =
    "The payment method you provided has already been attached to a customer.";
const NOT_ATTACHED_MESSAGE: &str =
    "The payment method you provided is not attached to a customer so detachment is impossible.";
/// The code for payment methods in the wrong state (UNCONFIRMED: Stripe documents it as the
/// "incompatible state" code; no response showing it for these cases was found).
const UNEXPECTED_STATE: &str = "payment_method_unexpected_state";

/// A new card payment method as Stripe makes it from a test token (key set of the fixture).
fn blank(id: &str, created: i64, card: &TestCard) -> Value {
    json!({
        "id": id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": null,
                "country": null,
                "line1": null,
                "line2": null,
                "postal_code": null,
                "state": null
            },
            "email": null,
            "name": null,
            "phone": null,
            "tax_id": null
        },
        "card": card.card_hash(created),
        "created": created,
        "customer": null,
        "customer_account": null,
        "livemode": false,
        "metadata": {},
        "type": "card"
    })
}

/// Makes and stores a new payment method from a test card; returns its id.
pub fn create(store: &mut Store, card: &'static TestCard, now: i64) -> String {
    let id = ids::generate("pm", ids::LONG);
    store.payment_methods.insert(blank(&id, now, card));
    store.cards.insert(
        id.clone(),
        CardState {
            card,
            detached: false,
            set_up: false,
        },
    );
    id
}

/// Records that a SetupIntent succeeded with this payment method.
pub fn mark_set_up(store: &mut Store, id: &str) {
    if let Some(state) = store.cards.get_mut(id) {
        state.set_up = true;
    }
}

/// A payment method named by a request parameter: a test token makes a new one, a `pm_…` id must
/// exist (400 `resource_missing` with `param` otherwise).
pub fn resolve(store: &mut Store, id: &str, param: &str, now: i64) -> Result<String, ApiError> {
    if let Some(card) = cards::lookup(id) {
        return Ok(create(store, card, now));
    }
    if store.payment_methods.get(id).is_some() {
        Ok(id.to_owned())
    } else {
        Err(ApiError::no_such_param(RESOURCE, id, param))
    }
}

pub fn stored(store: &Store, id: &str) -> Result<(Value, CardState), ApiError> {
    match (store.payment_methods.get(id), store.cards.get(id)) {
        (Some(pm), Some(state)) => Ok((pm.clone(), *state)),
        _ => Err(ApiError::no_such(RESOURCE, id)),
    }
}

/// Refuses a payment method that may not be used for a new setup or attach: detached ones, and
/// ones attached to a customer other than `customer`.
pub fn check_usable(store: &Store, id: &str, customer: Option<&str>) -> Result<(), ApiError> {
    let (pm, state) = stored(store, id)?;
    if state.detached {
        return Err(
            ApiError::unexpected_state(UNEXPECTED_STATE, DETACHED_MESSAGE).param("payment_method"),
        );
    }
    match (pm["customer"].as_str(), customer) {
        (Some(owner), Some(customer)) if owner != customer => Err(ApiError::unexpected_state(
            UNEXPECTED_STATE,
            ATTACHED_ELSEWHERE_MESSAGE,
        )
        .param("payment_method")),
        _ => Ok(()),
    }
}

/// A payment method named as a customer's or subscription's default must be attached to that
/// customer. The messages are guesses (README): Stripe's `No such PaymentMethod` for an unknown
/// id, and the message it gives PaymentIntents for one not attached to the customer.
pub fn check_attached(
    store: &Store,
    id: &str,
    customer: &Value,
    param: &str,
) -> Result<(), ApiError> {
    match store.payment_methods.get(id) {
        None => Err(ApiError::no_such_param(RESOURCE, id, param)),
        Some(method) if method["customer"] == *customer => Ok(()),
        Some(_) => Err(ApiError::invalid_with_code(
            param,
            "resource_missing",
            format!(
                "The customer does not have a payment method with the ID {id}. The payment \
                 method must be attached to the customer."
            ),
        )),
    }
}

/// Attaches a payment method to a live customer, with Stripe's rules: a declining card cannot be
/// attached (402), a detached one never again, one attached elsewhere not here. Attaching to the
/// customer it already belongs to changes nothing (no event).
pub fn attach(
    store: &mut Store,
    changes: &mut Changes,
    id: &str,
    customer: &str,
) -> Result<Value, ApiError> {
    check_usable(store, id, Some(customer))?;
    let (mut pm, state) = stored(store, id)?;
    if pm["customer"] == customer {
        return Ok(pm);
    }
    if let Setup::Declines(decline) = &state.card.setup {
        return Err(ApiError::card_declined(decline));
    }
    pm["customer"] = json!(customer);
    changes.event("payment_method.attached", &pm);
    store.payment_methods.insert(pm.clone());
    Ok(pm)
}

/// Detaches a payment method for good (it stays retrievable, never usable again); returns it and
/// the customer it belonged to. What that does to the customer's defaults is the caller's switch.
pub fn detach(
    store: &mut Store,
    changes: &mut Changes,
    id: &str,
) -> Result<(Value, String), ApiError> {
    let (before, state) = stored(store, id)?;
    let Some(customer) = before["customer"].as_str().map(str::to_owned) else {
        return Err(ApiError::unexpected_state(
            UNEXPECTED_STATE,
            NOT_ATTACHED_MESSAGE,
        ));
    };
    let mut after = before.clone();
    after["customer"] = Value::Null;
    changes.updated("payment_method.detached", &before, &after);
    store.payment_methods.insert(after.clone());
    store.cards.insert(
        id.to_owned(),
        CardState {
            detached: true,
            ..state
        },
    );
    Ok((after, customer))
}
