//! The PaymentIntent of a finalized invoice with something to charge, and its `invoice_payment`:
//! created at finalization, then moved by each payment attempt's outcome (succeeded, declined,
//! waiting for 3D Secure) and canceled when the invoice is voided. Since basil the invoice shows
//! its PaymentIntent only through the includable `confirmation_secret` and `payments`
//! (SEMANTICS §13 "`POST /v1/invoices/{id}/pay`" [S18]).

use serde_json::{Value, json};

use super::Ctx;
use crate::model::cards::Decline;
use crate::model::error::ApiError;
use crate::model::events::Changes;
use crate::model::ids;
use crate::model::store::Store;

/// Stripe's spelling in `No such payment_intent: 'pi_…'`.
pub const RESOURCE: &str = "payment_intent";
const UNEXPECTED_STATE: &str = "payment_intent_unexpected_state";
const SECRET_LEN: usize = 24;

/// Statuses from which a PaymentIntent can still be confirmed.
const CONFIRMABLE: &[&str] = &[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
];

/// The fields a publishable key sees (Stripe.js's `PaymentIntent` type).
pub const PUBLISHABLE_FIELDS: &[&str] = &[
    "id",
    "object",
    "amount",
    "canceled_at",
    "cancellation_reason",
    "capture_method",
    "client_secret",
    "confirmation_method",
    "created",
    "currency",
    "description",
    "last_payment_error",
    "livemode",
    "next_action",
    "payment_method",
    "payment_method_types",
    "processing",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "status",
];

/// A new invoice PaymentIntent (key set of the published fixture and async-stripe's type).
/// `created` is on the fake clock even for a test clock customer: Stripe gives PaymentIntents a
/// real-time `created` (SEMANTICS §13 "Test clocks" [S61]).
fn blank(id: &str, invoice: &Value, created: i64) -> Value {
    let description = if invoice["billing_reason"] == "subscription_create" {
        "Subscription creation"
    } else {
        "Subscription update"
    };
    json!({
        "id": id,
        "object": "payment_intent",
        "allowed_payment_method_types": null,
        "amount": invoice["amount_due"],
        "amount_capturable": 0,
        "amount_details": { "tip": {} },
        "amount_received": 0,
        "application": null,
        "application_fee_amount": null,
        "automatic_payment_methods": null,
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": "automatic",
        "client_secret": format!("{id}_secret_{}", ids::alphanumeric(SECRET_LEN)),
        "confirmation_method": "automatic",
        "created": created,
        "currency": invoice["currency"],
        "customer": invoice["customer"],
        "customer_account": null,
        "description": description,
        "excluded_payment_method_types": null,
        "hooks": null,
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "managed_payments": null,
        "metadata": {},
        "next_action": null,
        "on_behalf_of": null,
        "payment_details": null,
        "payment_method": null,
        "payment_method_configuration_details": null,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_record": null,
        "presentment_details": null,
        "processing": null,
        "receipt_email": null,
        "review": null,
        // Subscription invoices save the card for the renewals (Stripe's SCA guide).
        "setup_future_usage": "off_session",
        "shipping": null,
        "source": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": "requires_payment_method",
        "transfer_data": null,
        "transfer_group": null
    })
}

/// Creates the PaymentIntent and the default `invoice_payment` of an invoice being finalized:
/// `payment_intent.created`.
pub fn create(store: &mut Store, changes: &mut Changes, ctx: &Ctx, invoice: &Value) {
    let invoice_id = invoice["id"].as_str().unwrap_or_default().to_owned();
    let id = ids::generate("pi", ids::LONG);
    let intent = blank(&id, invoice, ctx.now_ms.div_euclid(1000));
    let payment = json!({
        "id": ids::generate("inpay", ids::LONG),
        "object": "invoice_payment",
        "amount_paid": null,
        "amount_requested": invoice["amount_due"],
        "created": ctx.now,
        "currency": invoice["currency"],
        "invoice": invoice_id,
        "is_default": true,
        "livemode": false,
        "payment": { "payment_intent": id, "type": "payment_intent" },
        "status": "open",
        "status_transitions": { "canceled_at": null, "paid_at": null }
    });
    changes.created("payment_intent.created", &intent);
    store.payment_intents.insert(intent);
    store.billing.invoice_intents.insert(invoice_id.clone(), id);
    store.billing.invoice_payments.insert(invoice_id, payment);
}

pub fn of_invoice<'a>(store: &'a Store, invoice: &str) -> Option<&'a Value> {
    store
        .payment_intents
        .get(store.billing.invoice_intents.get(invoice)?)
}

/// The invoice a PaymentIntent pays.
pub fn invoice_of(store: &Store, intent: &str) -> Option<String> {
    store
        .billing
        .invoice_intents
        .iter()
        .find(|(_, pi)| *pi == intent)
        .map(|(invoice, _)| invoice.clone())
}

pub fn stored(store: &Store, id: &str) -> Result<Value, ApiError> {
    store
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(RESOURCE, id))
}

/// The invoice's includable `confirmation_secret` (null without a PaymentIntent).
pub fn confirmation_secret(store: &Store, invoice: &str) -> Value {
    of_invoice(store, invoice).map_or(
        Value::Null,
        |intent| json!({ "client_secret": intent["client_secret"], "type": "payment_intent" }),
    )
}

/// The invoice's includable `payments` list.
pub fn payments(store: &Store, invoice: &str) -> Value {
    let data: Vec<&Value> = store
        .billing
        .invoice_payments
        .get(invoice)
        .into_iter()
        .collect();
    json!({
        "object": "list",
        "data": data,
        "has_more": false,
        "url": format!("/v1/invoice_payments?invoice={invoice}")
    })
}

fn save(store: &mut Store, intent: Value) {
    store.payment_intents.insert(intent);
}

/// A declined attempt: back to `requires_payment_method` with `last_payment_error` (the card
/// error plus the payment method), `payment_intent.payment_failed`.
pub fn declined(
    store: &mut Store,
    changes: &mut Changes,
    invoice: &str,
    payment_method: Option<&str>,
    decline: &Decline,
) {
    let mut error = ApiError::card_declined(decline).body()["error"].take();
    failed(store, changes, invoice, payment_method, &mut error);
}

/// The customer failed the 3D Secure challenge (`payment_intent_authentication_failure`, type
/// and text as the SetupIntent's).
pub fn authentication_failed(store: &mut Store, changes: &mut Changes, invoice: &str) {
    let method = of_invoice(store, invoice).and_then(|pi| pi["payment_method"].as_str());
    let method = method.map(str::to_owned);
    let mut error = json!({
        "code": "payment_intent_authentication_failure",
        "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
        "message": "We are unable to authenticate your payment method. Please choose a \
                    different payment method and try again.",
        "type": "invalid_request_error",
    });
    failed(store, changes, invoice, method.as_deref(), &mut error);
}

fn failed(
    store: &mut Store,
    changes: &mut Changes,
    invoice: &str,
    payment_method: Option<&str>,
    error: &mut Value,
) {
    let Some(mut intent) = of_invoice(store, invoice).cloned() else {
        return;
    };
    if let Some(method) = payment_method.and_then(|pm| store.payment_methods.get(pm)) {
        error["payment_method"] = method.clone();
    }
    error["payment_method_type"] = json!("card");
    intent["last_payment_error"] = error.take();
    intent["next_action"] = Value::Null;
    intent["payment_method"] = Value::Null;
    intent["status"] = json!("requires_payment_method");
    changes.event("payment_intent.payment_failed", &intent);
    save(store, intent);
}

/// The card needs 3D Secure: `requires_action` with a `use_stripe_sdk` challenge (as the
/// SetupIntent's) that `POST /_fake/payment_intents/:id/authenticate` completes,
/// `payment_intent.requires_action`.
pub fn requires_action(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    invoice: &str,
    payment_method: Option<&str>,
) {
    let Some(mut intent) = of_invoice(store, invoice).cloned() else {
        return;
    };
    let id = intent["id"].as_str().unwrap_or_default().to_owned();
    intent["last_payment_error"] = Value::Null;
    intent["payment_method"] = json!(payment_method);
    intent["status"] = json!("requires_action");
    intent["next_action"] = json!({
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "three_d_secure_redirect",
            "stripe_js": format!("{}/_fake/payment_intents/{id}/authenticate", ctx.base_url),
            "source": payment_method,
        }
    });
    changes.event("payment_intent.requires_action", &intent);
    save(store, intent);
}

/// The invoice was paid: the PaymentIntent `succeeded` (`payment_intent.succeeded`) and the
/// invoice payment `paid` (`invoice_payment.paid`, basil 2025-05-28+ [S18]).
pub fn succeeded(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    invoice: &str,
    payment_method: Option<&str>,
) {
    let Some(mut intent) = of_invoice(store, invoice).cloned() else {
        return;
    };
    intent["amount_received"] = intent["amount"].clone();
    intent["last_payment_error"] = Value::Null;
    intent["next_action"] = Value::Null;
    if payment_method.is_some() {
        intent["payment_method"] = json!(payment_method);
    }
    intent["status"] = json!("succeeded");
    changes.event("payment_intent.succeeded", &intent);
    if let Some(payment) = store.billing.invoice_payments.get_mut(invoice) {
        payment["amount_paid"] = payment["amount_requested"].clone();
        payment["status"] = json!("paid");
        payment["status_transitions"]["paid_at"] = json!(ctx.now);
        changes.event("invoice_payment.paid", payment);
    }
    save(store, intent);
}

/// The invoice was voided: the PaymentIntent is `canceled` (`void_invoice`,
/// `payment_intent.canceled`) and the invoice payment `canceled`.
pub fn canceled(store: &mut Store, changes: &mut Changes, ctx: &Ctx, invoice: &str) {
    let Some(mut intent) = of_invoice(store, invoice).cloned() else {
        return;
    };
    intent["canceled_at"] = json!(ctx.now);
    intent["cancellation_reason"] = json!("void_invoice");
    intent["next_action"] = Value::Null;
    intent["status"] = json!("canceled");
    changes.event("payment_intent.canceled", &intent);
    if let Some(payment) = store.billing.invoice_payments.get_mut(invoice) {
        payment["status"] = json!("canceled");
        payment["status_transitions"]["canceled_at"] = json!(ctx.now);
    }
    save(store, intent);
}

/// Only a PaymentIntent still waiting for its payment can be confirmed (`CONFIRMABLE`).
pub fn check_confirmable(intent: &Value) -> Result<(), ApiError> {
    let status = intent["status"].as_str().unwrap_or_default();
    if CONFIRMABLE.contains(&status) {
        return Ok(());
    }
    let message = if status == "succeeded" {
        "You cannot confirm this PaymentIntent because it has already succeeded after being \
         previously confirmed."
            .to_owned()
    } else {
        format!(
            "You cannot confirm this PaymentIntent because it has a status of {status}. Only a \
             PaymentIntent with one of the following statuses may be confirmed: \
             requires_payment_method, requires_confirmation, requires_action."
        )
    };
    Err(ApiError::unexpected_state(UNEXPECTED_STATE, message).object("payment_intent", intent))
}

pub fn missing_payment_method() -> ApiError {
    ApiError::unexpected_state(
        UNEXPECTED_STATE,
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can \
         either update the PaymentIntent with a payment method and then confirm it again, or \
         confirm it again directly with a payment method.",
    )
    .param("payment_method")
}
