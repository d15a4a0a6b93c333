//! `/v1/payment_methods`: retrieve, list (also under a customer), attach and detach. The rules
//! live in `crate::model::payment_methods`.

use axum::extract::{Path, State};
use serde_json::Value;

use crate::app::App;
use crate::billing::subscriptions;
use crate::http::list;
use crate::http::params::{EXPAND_ONLY, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::Resource;
use crate::model::cards::{self, Setup};
use crate::model::customers;
use crate::model::error::ApiError;
use crate::model::payment_methods::{self, RESOURCE, stored};
use crate::model::store::{Collection, Store};

const URL: &str = "/v1/payment_methods";

const LIST: Spec = Spec::list(
    &["allow_redisplay", "customer", "type"],
    &["customer_account"],
);
const LIST_FOR_CUSTOMER: Spec = Spec::list(&["allow_redisplay", "type"], &[]);
const ATTACH: Spec = Spec::new(&["customer", "expand"], &["customer_account"]);

/// Lists are not the shared ones: they are per customer.
pub struct PaymentMethods;

impl Resource for PaymentMethods {
    const NAME: &'static str = RESOURCE;

    fn collection(store: &Store) -> &Collection {
        &store.payment_methods
    }
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
        let pm = PaymentMethods::get(store, &id)?;
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
            customers::live_param(store, customer)?;
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

pub async fn attach(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&ATTACH)?;
    let customer = params.required_string("customer")?.to_owned();
    let card = cards::lookup(&id);
    app.write(&request, |store, changes| {
        customers::live_param(store, &customer)?;
        let id = match card {
            // A declining test card is refused before any payment method is made.
            Some(card) => match &card.setup {
                Setup::Declines(decline) => return Err(ApiError::card_declined(decline)),
                _ => payment_methods::create(store, card, app.clock.now()),
            },
            None => {
                stored(store, &id)?;
                id.clone()
            }
        };
        let pm = payment_methods::attach(store, changes, &id, &customer)?;
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
        let (detached, customer) = payment_methods::detach(store, changes, &id)?;
        if clears_default {
            let now_ms = app.clock.now_ms();
            customers::clear_default_payment_method(store, changes, &customer, &id, now_ms);
            subscriptions::clear_default_payment_method(store, changes, &customer, &id);
        }
        request.render(store, detached)
    })
}
