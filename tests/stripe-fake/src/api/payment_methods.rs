//! `/v1/payment_methods`: retrieve, list (also under a customer), attach and detach. Payment
//! methods come from Stripe's test tokens (`pm_card_visa`, …), which resolve to a new `pm_…` object
//! on every use.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::api::customers;
use crate::app::App;
use crate::billing::subscriptions;
use crate::cards::{self, Setup, TestCard};
use crate::error::ApiError;
use crate::events::Changes;
use crate::ids;
use crate::list;
use crate::params::{EXPAND_ONLY, Params, Spec};
use crate::pipeline::{ApiRequest, ApiResult};
use crate::store::{CardState, Store};

const RESOURCE: &str = "PaymentMethod";
const URL: &str = "/v1/payment_methods";

const LIST: Spec = Spec::new(
    &[
        "allow_redisplay",
        "customer",
        "ending_before",
        "expand",
        "limit",
        "starting_after",
        "type",
    ],
    &["customer_account"],
);
const LIST_FOR_CUSTOMER: Spec = Spec::new(
    &[
        "allow_redisplay",
        "ending_before",
        "expand",
        "limit",
        "starting_after",
        "type",
    ],
    &[],
);
const ATTACH: Spec = Spec::new(&["customer", "expand"], &["customer_account"]);

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

fn stored(store: &Store, id: &str) -> Result<(Value, CardState), ApiError> {
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

pub async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&EXPAND_ONLY)?;
    app.read(|store| {
        let (pm, _) = stored(store, &id)?;
        request.render(store, pm)
    })
}

/// `GET /v1/customers/:customer/payment_methods/:id`: only a payment method of that customer.
pub async fn retrieve_for_customer(
    State(app): State<App>,
    Path((customer, id)): Path<(String, String)>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&EXPAND_ONLY)?;
    app.read(|store| {
        customers::live(store, &customer)?;
        let (pm, _) = stored(store, &id)?;
        if pm["customer"] != customer.as_str() {
            return Err(ApiError::no_such(RESOURCE, &id));
        }
        request.render(store, pm)
    })
}

/// `GET /v1/payment_methods`: with `customer`, that customer's payment methods. Without it Stripe
/// lists the ones attached to the account itself (Treasury), which this fake never has.
pub async fn list(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&LIST)?;
    let customer = params.string("customer")?.filter(|c| !c.is_empty());
    app.read(|store| {
        if let Some(customer) = customer {
            customers::live(store, customer)
                .map_err(|_| ApiError::no_such_param("customer", customer, "customer"))?;
        }
        let page = page(store, params, customer, URL)?;
        request.render(store, page)
    })
}

pub async fn list_for_customer(
    State(app): State<App>,
    Path(customer): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&LIST_FOR_CUSTOMER)?;
    app.read(|store| {
        customers::live(store, &customer)?;
        let url = format!("/v1/customers/{customer}/payment_methods");
        let page = page(store, params, Some(&customer), &url)?;
        request.render(store, page)
    })
}

/// Newest first, like Stripe; `type` and `allow_redisplay` filter.
fn page(
    store: &Store,
    params: &Params,
    customer: Option<&str>,
    url: &str,
) -> Result<Value, ApiError> {
    let type_ = params.string("type")?.filter(|t| !t.is_empty());
    if let Some(bad) = type_.filter(|t| !t.chars().all(|c| c.is_ascii_lowercase() || c == '_')) {
        return Err(ApiError::invalid("type", format!("Invalid type: {bad}")));
    }
    let redisplay = params.string("allow_redisplay")?;
    if let Some(bad) = redisplay.filter(|r| !["always", "limited", "unspecified"].contains(r)) {
        return Err(ApiError::invalid(
            "allow_redisplay",
            format!(
                "Invalid allow_redisplay: must be one of always, limited, or unspecified \
                 (got {bad})"
            ),
        ));
    }
    let include = |pm: &Value| {
        customer.is_some_and(|c| pm["customer"] == c)
            && type_.is_none_or(|t| pm["type"] == t)
            && redisplay.is_none_or(|r| pm["allow_redisplay"] == r)
    };
    list::page(
        params,
        store.payment_methods.newest_first(),
        include,
        url,
        RESOURCE,
    )
}

pub async fn attach_handler(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&ATTACH)?;
    let customer = params.required_string("customer")?.to_owned();
    let card = cards::lookup(&id);
    app.write(&request, |store, changes| {
        customers::live(store, &customer)
            .map_err(|_| ApiError::no_such_param("customer", &customer, "customer"))?;
        let id = match card {
            // A declining test card is refused before any payment method is made.
            Some(card) => match &card.setup {
                Setup::Declines(decline) => return Err(ApiError::card_declined(decline)),
                _ => create(store, card, app.clock.now()),
            },
            None => {
                stored(store, &id)?;
                id.clone()
            }
        };
        let pm = attach(store, changes, &id, &customer)?;
        request.render(store, pm)
    })
}

pub async fn detach(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&EXPAND_ONLY)?;
    let clears_default = app.behaviours().detach_clears_default;
    app.write(&request, |store, changes| {
        let (before, state) = stored(store, &id)?;
        let Some(customer_id) = before["customer"].as_str().map(str::to_owned) else {
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
            id.clone(),
            CardState {
                detached: true,
                ..state
            },
        );
        if clears_default {
            clear_default(&app, store, changes, &customer_id, &id);
            subscriptions::clear_default_payment_method(store, changes, &customer_id, &id);
        }
        request.render(store, after)
    })
}

/// Nulls the customer's `invoice_settings.default_payment_method` if it names `pm`.
fn clear_default(app: &App, store: &mut Store, changes: &mut Changes, customer: &str, pm: &str) {
    let Ok(before) = customers::live(store, customer).cloned() else {
        return;
    };
    if before["invoice_settings"]["default_payment_method"] != pm {
        return;
    }
    let mut after = before.clone();
    after["invoice_settings"]["default_payment_method"] = Value::Null;
    changes.updated("customer.updated", &before, &after);
    customers::save(app, store, after);
}
