//! `/v1/payment_intents`: list, retrieve and confirm the PaymentIntents of invoices (the fake
//! creates no other). Confirm is Stripe.js's `confirmCardPayment` (a publishable key plus the
//! client secret, on-session): it pays the invoice through `crate::billing::payments`. A 3D
//! Secure challenge is completed with `POST /_fake/payment_intents/:id/authenticate`.

use axum::extract::{Path, State};
use serde_json::Value;

use super::intents::{self, Intent};
use crate::app::App;
use crate::billing::invoices::{Attempt, Charge};
use crate::billing::payment_intents::{self, PUBLISHABLE_FIELDS, RESOURCE};
use crate::billing::payments::{self, Method};
use crate::billing::test_clocks;
use crate::http::params::{Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::error::ApiError;
use crate::model::intents::{Kind, PAYMENT_INTENT};
use crate::model::store::{Collection, Store};

const CONFIRM: Spec = Spec::new(
    intents::CONFIRM_PARAMS,
    &[
        "capture_method",
        "confirmation_token",
        "error_on_requires_action",
        "excluded_payment_method_types",
        "mandate",
        "mandate_data",
        "off_session",
        "payment_details",
        "payment_method_data",
        "payment_method_options",
        "radar_options",
        "receipt_email",
        "setup_future_usage",
        "shipping",
    ],
);

pub struct PaymentIntents;

impl Resource for PaymentIntents {
    const NAME: &'static str = RESOURCE;

    fn collection(store: &Store) -> &Collection {
        &store.payment_intents
    }
}

impl Listed for PaymentIntents {
    const URL: &'static str = "/v1/payment_intents";
    const LIST: Spec = Spec::list(&["created", "customer"], &["customer_account"]);

    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        let customer = params.string("customer")?.filter(|c| !c.is_empty());
        Ok(move |intent: &Value| customer.is_none_or(|c| intent["customer"] == c))
    }
}

impl Intent for PaymentIntents {
    const KIND: &'static Kind = &PAYMENT_INTENT;
    const PUBLISHABLE_FIELDS: &'static [&'static str] = PUBLISHABLE_FIELDS;
}

/// Confirms on-session with `payment_method` (a token or `pm_…`, attached to the customer once
/// it pays) or the one the intent holds: a good card pays the invoice (`succeeded`), a 3D Secure
/// card waits in `requires_action`, a declining card answers 402 `card_error` with the intent
/// (back to `requires_payment_method`, `last_payment_error` set), saved like any executed request.
pub async fn confirm(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&CONFIRM)?;
    params.boolean("use_stripe_sdk")?;
    let payment_method = params.string("payment_method")?.filter(|p| !p.is_empty());
    let ctx = app.ctx();
    app.write(&request, |store, changes| {
        let intent = intents::to_confirm::<PaymentIntents>(&request, params, store, &id)?;
        let method = match payment_method {
            Some(pm) => Method::Entered(pm),
            None if intent["payment_method"].is_string() => Method::Default,
            None => return Err(PAYMENT_INTENT.missing_payment_method()),
        };
        let invoice = payment_intents::invoice_of(store, &id)
            .ok_or_else(|| ApiError::no_such(RESOURCE, &id))?;
        let ctx = test_clocks::ctx_of(store, &ctx, Some(&intent));
        let attempt = payments::Request {
            method,
            attempt: Attempt::OnSession,
            authenticated: false,
        };
        let payment = payments::pay(store, changes, &ctx, &invoice, attempt)?;
        let intent = PaymentIntents::get(store, &id)?;
        Ok(match payment.charge {
            Charge::Declined(decline) => {
                Err(ApiError::card_declined(decline).object("payment_intent", &intent))
            }
            _ => intents::respond::<PaymentIntents>(&request, store, intent),
        })
    })?
}
