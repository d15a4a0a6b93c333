//! SetupIntents in the store: their JSON and the state machine that confirm, cancel and the
//! fake's 3D Secure challenge drive. Confirming follows the test card: success attaches the payment
//! method to the intent's customer, a declining card fails with 402, a 3D Secure card waits in
//! `requires_action` until the challenge is completed.

use serde_json::{Value, json};

use super::cards::Setup;
use super::error::ApiError;
use super::events::Changes;
use super::ids;
use super::intents::{self, AuthenticateError, PENDING, SETUP_INTENT};
use super::payment_methods;
use super::store::Store;

/// Stripe's own spelling in `No such setupintent: 'seti_…'`.
pub const RESOURCE: &str = "setupintent";
const SECRET_LEN: usize = 25;

/// The only payment method type the fake's account offers.
pub const OFFERED_TYPES: &[&str] = &["card"];

/// A new SetupIntent (key set of the published fixture plus endive's
/// `allowed_payment_method_types`), using automatic payment methods like Stripe since 2023-08-16.
pub fn blank(id: &str, created: i64, payment_method_configuration: &str) -> Value {
    json!({
        "id": id,
        "object": "setup_intent",
        "allowed_payment_method_types": null,
        "application": null,
        "automatic_payment_methods": { "enabled": true },
        "cancellation_reason": null,
        "client_secret": format!("{id}_secret_{}", ids::alphanumeric(SECRET_LEN)),
        "created": created,
        "customer": null,
        "description": null,
        "excluded_payment_method_types": null,
        "flow_directions": null,
        "last_setup_error": null,
        "latest_attempt": null,
        "livemode": false,
        "mandate": null,
        "metadata": {},
        "next_action": null,
        "on_behalf_of": null,
        "payment_method": null,
        "payment_method_configuration_details": { "id": payment_method_configuration, "parent": null },
        "payment_method_options": {
            "card": { "mandate_options": null, "network": null, "request_three_d_secure": "automatic" }
        },
        "payment_method_types": OFFERED_TYPES,
        "single_use_mandate": null,
        "status": "requires_payment_method",
        "usage": "off_session"
    })
}

pub fn stored(store: &Store, id: &str) -> Result<Value, ApiError> {
    store
        .setup_intents
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(RESOURCE, id))
}

/// Confirms `intent` (already checked to be confirmable) with `payment_method` or the one it
/// holds, stores it and records its events. A declined card is `Ok(Err(402))`: the intent changed
/// and its events stand, but the client gets Stripe's card error.
pub fn confirm(
    store: &mut Store,
    changes: &mut Changes,
    mut intent: Value,
    payment_method: Option<&str>,
    now: i64,
    base_url: &str,
) -> Result<Result<Value, ApiError>, ApiError> {
    let customer = intent["customer"].as_str().map(str::to_owned);
    let pm = match payment_method {
        Some(pm) => payment_methods::resolve(store, pm, "payment_method", now)?,
        None => intent["payment_method"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| SETUP_INTENT.missing_payment_method())?,
    };
    payment_methods::check_usable(store, &pm, customer.as_deref())?;
    let Some(state) = store.cards.get(&pm).copied() else {
        return Err(ApiError::no_such_param(
            "PaymentMethod",
            &pm,
            "payment_method",
        ));
    };
    intent["last_setup_error"] = Value::Null;
    intent["next_action"] = Value::Null;
    match &state.card.setup {
        Setup::Succeeds => {
            if let Some(customer) = &customer {
                payment_methods::attach(store, changes, &pm, customer)?;
            }
            payment_methods::mark_set_up(store, &pm);
            intent["payment_method"] = json!(pm);
            intent["status"] = json!("succeeded");
            changes.event("setup_intent.succeeded", &intent);
        }
        Setup::RequiresAction => {
            let id = intent["id"].as_str().unwrap_or_default().to_owned();
            intent["payment_method"] = json!(pm);
            intent["status"] = json!("requires_action");
            intent["next_action"] = SETUP_INTENT.three_d_secure(base_url, &id, Some(pm.as_str()));
            changes.event("setup_intent.requires_action", &intent);
        }
        Setup::Declines(decline) => {
            let method = store.payment_methods.get(&pm).cloned().unwrap_or_default();
            // `last_setup_error` is the error Stripe answers with, plus the payment method.
            let error = ApiError::card_declined(decline).body()["error"].take();
            intent["last_setup_error"] = intents::last_error(error, Some(&method));
            intent["payment_method"] = Value::Null;
            intent["status"] = json!("requires_payment_method");
            changes.event("setup_intent.setup_failed", &intent);
            store.setup_intents.insert(intent.clone());
            return Ok(Err(ApiError::card_declined(decline)
                .object("setup_intent", &intent)
                .object("payment_method", &method)));
        }
    }
    store.setup_intents.insert(intent.clone());
    Ok(Ok(intent))
}

/// Stands in for the customer passing (or failing) the 3D Secure challenge of an intent in
/// `requires_action`: success attaches the payment method to the intent's customer.
pub fn authenticate(
    store: &mut Store,
    changes: &mut Changes,
    id: &str,
    fail: bool,
) -> Result<Value, AuthenticateError> {
    let mut intent = SETUP_INTENT.awaiting_authentication(store.setup_intents.get(id), id)?;
    let pm = intent["payment_method"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    intent["next_action"] = Value::Null;
    if fail {
        let method = store.payment_methods.get(&pm).cloned().unwrap_or_default();
        intent["last_setup_error"] =
            intents::last_error(SETUP_INTENT.authentication_failure(), Some(&method));
        intent["payment_method"] = Value::Null;
        intent["status"] = json!("requires_payment_method");
        changes.event("setup_intent.setup_failed", &intent);
    } else {
        if let Some(customer) = intent["customer"].as_str() {
            payment_methods::attach(store, changes, &pm, customer)
                .map_err(|e| AuthenticateError::Conflict(e.message))?;
        }
        payment_methods::mark_set_up(store, &pm);
        intent["status"] = json!("succeeded");
        changes.event("setup_intent.succeeded", &intent);
    }
    store.setup_intents.insert(intent.clone());
    Ok(intent)
}

/// Cancels an intent that is still pending, with an optional `cancellation_reason`.
pub fn cancel(
    store: &mut Store,
    changes: &mut Changes,
    id: &str,
    reason: Option<&str>,
) -> Result<Value, ApiError> {
    let mut intent = stored(store, id)?;
    let status = intent["status"].as_str().unwrap_or_default().to_owned();
    if !PENDING.contains(&status.as_str()) {
        return Err(ApiError::unexpected_state(
            SETUP_INTENT.unexpected_state,
            format!(
                "You cannot cancel this SetupIntent because it has a status of {status}. \
                 Only a SetupIntent with one of the following statuses may be canceled: \
                 requires_payment_method, requires_confirmation, requires_action."
            ),
        ));
    }
    intent["status"] = json!("canceled");
    intent["cancellation_reason"] = json!(reason);
    intent["next_action"] = Value::Null;
    changes.event("setup_intent.canceled", &intent);
    store.setup_intents.insert(intent.clone());
    Ok(intent)
}
