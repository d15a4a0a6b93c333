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
use crate::model::intents::{self, PAYMENT_INTENT};
use crate::model::store::Store;

/// Stripe's spelling in `No such payment_intent: 'pi_…'`.
pub const RESOURCE: &str = "payment_intent";
const SECRET_LEN: usize = 24;

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

/// Moves the invoice's PaymentIntent to a new state: `change` it, record `event`, store it. False
/// when the invoice has no PaymentIntent (nothing happens then).
fn transition(
    store: &mut Store,
    changes: &mut Changes,
    invoice: &str,
    event: &'static str,
    change: impl FnOnce(&mut Value),
) -> bool {
    let Some(mut intent) = of_invoice(store, invoice).cloned() else {
        return false;
    };
    change(&mut intent);
    changes.event(event, &intent);
    store.payment_intents.insert(intent);
    true
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
    let error = ApiError::card_declined(decline).body()["error"].take();
    failed(store, changes, invoice, payment_method, error);
}

/// The customer failed the 3D Secure challenge (`payment_intent_authentication_failure`, type
/// and text as the SetupIntent's).
pub fn authentication_failed(store: &mut Store, changes: &mut Changes, invoice: &str) {
    let method = of_invoice(store, invoice).and_then(|pi| pi["payment_method"].as_str());
    let method = method.map(str::to_owned);
    let error = PAYMENT_INTENT.authentication_failure();
    failed(store, changes, invoice, method.as_deref(), error);
}

fn failed(
    store: &mut Store,
    changes: &mut Changes,
    invoice: &str,
    payment_method: Option<&str>,
    error: Value,
) {
    let method = payment_method.and_then(|pm| store.payment_methods.get(pm).cloned());
    transition(
        store,
        changes,
        invoice,
        "payment_intent.payment_failed",
        |intent| {
            intent["last_payment_error"] = intents::last_error(error, method.as_ref());
            intent["next_action"] = Value::Null;
            intent["payment_method"] = Value::Null;
            intent["status"] = json!("requires_payment_method");
        },
    );
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
    transition(
        store,
        changes,
        invoice,
        "payment_intent.requires_action",
        |intent| {
            let id = intent["id"].as_str().unwrap_or_default().to_owned();
            intent["last_payment_error"] = Value::Null;
            intent["payment_method"] = json!(payment_method);
            intent["status"] = json!("requires_action");
            intent["next_action"] =
                PAYMENT_INTENT.three_d_secure(&ctx.base_url, &id, payment_method);
        },
    );
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
    let moved = transition(
        store,
        changes,
        invoice,
        "payment_intent.succeeded",
        |intent| {
            intent["amount_received"] = intent["amount"].clone();
            intent["last_payment_error"] = Value::Null;
            intent["next_action"] = Value::Null;
            if payment_method.is_some() {
                intent["payment_method"] = json!(payment_method);
            }
            intent["status"] = json!("succeeded");
        },
    );
    if moved && let Some(payment) = store.billing.invoice_payments.get_mut(invoice) {
        payment["amount_paid"] = payment["amount_requested"].clone();
        payment["status"] = json!("paid");
        payment["status_transitions"]["paid_at"] = json!(ctx.now);
        changes.event("invoice_payment.paid", payment);
    }
}

/// The invoice was voided: the PaymentIntent is `canceled` (`void_invoice`,
/// `payment_intent.canceled`) and the invoice payment `canceled`.
pub fn canceled(store: &mut Store, changes: &mut Changes, ctx: &Ctx, invoice: &str) {
    let moved = transition(
        store,
        changes,
        invoice,
        "payment_intent.canceled",
        |intent| {
            intent["canceled_at"] = json!(ctx.now);
            intent["cancellation_reason"] = json!("void_invoice");
            intent["next_action"] = Value::Null;
            intent["status"] = json!("canceled");
        },
    );
    if moved && let Some(payment) = store.billing.invoice_payments.get_mut(invoice) {
        payment["status"] = json!("canceled");
        payment["status_transitions"]["canceled_at"] = json!(ctx.now);
    }
}
