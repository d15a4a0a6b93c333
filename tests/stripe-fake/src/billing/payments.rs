//! Paying an invoice after its first attempt, one path for every way in: `POST
//! /v1/invoices/:id/pay`, a PaymentIntent confirm (Stripe.js), the 3D Secure challenge, the
//! control API's pay, and the clock's automatic retries. What follows from a payment (the
//! subscription `active` again, a pending update applied, the card saved) and the end of the
//! dunning are here too.

use serde_json::{Value, json};

use super::invoices::{self, Attempt, Charge, Payment};
use super::{Ctx, payment_intents, pending_updates, subscriptions};
use crate::model::behaviours::{AfterLastRetry, InvoiceAfterLastRetry};
use crate::model::error::ApiError;
use crate::model::events::Changes;
use crate::model::intents::{AuthenticateError, PAYMENT_INTENT};
use crate::model::payment_methods;
use crate::model::store::Store;

pub const INVOICE: &str = "invoice";

/// Which payment method pays.
#[derive(Debug, Clone, Copy)]
pub enum Method<'a> {
    /// The PaymentIntent's (waiting for 3D Secure), else the invoice's default: the
    /// subscription's default payment method, else the customer's invoice default.
    Default,
    /// `/pay`'s `payment_method`: it must already belong to the invoice's customer.
    Attached(&'a str),
    /// A card the customer enters (Stripe.js, the control API): a token or `pm_…`, attached to
    /// the customer once it pays.
    Entered(&'a str),
}

/// One payment attempt by request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: Method<'a>,
    pub attempt: Attempt,
    /// The customer passes any 3D Secure challenge (the control API's pay, the challenge page).
    pub authenticated: bool,
}

/// Refuses invoices that cannot take a payment (SEMANTICS §13 "`POST /v1/invoices/{id}/pay`":
/// the messages are OBS [S58]; no `code` is known).
fn check_payable(invoice: &Value) -> Result<(), ApiError> {
    match invoice["status"].as_str() {
        Some("paid") => Err(ApiError::state_refused("Invoice is already paid")),
        Some("void") => Err(ApiError::state_refused("Voided invoices cannot be paid.")),
        _ => Ok(()),
    }
}

/// The payment method a request pays with (None: the customer has none).
fn method_of(
    store: &mut Store,
    ctx: &Ctx,
    invoice: &Value,
    method: Method<'_>,
) -> Result<Option<String>, ApiError> {
    let customer = invoice["customer"].as_str().unwrap_or_default();
    match method {
        Method::Default => {
            let id = invoice["id"].as_str().unwrap_or_default();
            let waiting = payment_intents::of_invoice(store, id)
                .filter(|pi| pi["status"] == "requires_action")
                .and_then(|pi| pi["payment_method"].as_str());
            Ok(waiting
                .map(str::to_owned)
                .or_else(|| invoices::payment_method_for_invoice(store, invoice)))
        }
        Method::Attached(id) => {
            payment_methods::check_attached(store, id, &json!(customer), "payment_method")?;
            Ok(Some(id.to_owned()))
        }
        Method::Entered(id) => {
            let id = payment_methods::resolve(store, id, "payment_method", ctx.now)?;
            payment_methods::check_usable(store, &id, Some(customer))?;
            Ok(Some(id))
        }
    }
}

/// Attempts to pay an invoice: a draft is finalized first (UNCONFIRMED: README "Guesses"), a
/// paid or void one is refused, and no payment method at all is Stripe's 400 (nothing changes).
/// Otherwise the outcome is recorded on the invoice and its PaymentIntent and returned; a paid
/// invoice brings its subscription back (see [`after_paid`]).
pub fn pay(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    invoice_id: &str,
    request: Request<'_>,
) -> Result<Payment, ApiError> {
    let invoice = store
        .invoices
        .get(invoice_id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(INVOICE, invoice_id))?;
    check_payable(&invoice)?;
    let method = method_of(store, ctx, &invoice, request.method)?;
    if invoice["status"] == "draft" {
        invoices::finalize(store, changes, ctx, invoice_id);
    }
    let invoice = store.invoices.get(invoice_id).cloned().unwrap_or(invoice);
    if invoice["status"] == "paid" {
        return Ok(Payment {
            charge: Charge::Paid,
            method,
        });
    }
    let due = invoice["amount_remaining"].as_i64().unwrap_or(0);
    let mut payment = invoices::predict(
        store,
        method.as_deref(),
        due,
        false,
        request.attempt,
        &ctx.behaviours,
    );
    if request.authenticated
        && matches!(
            payment.charge,
            Charge::RequiresAction | Charge::NoPaymentMethod
        )
    {
        payment.charge = Charge::Paid;
    }
    if payment.charge == Charge::NoPaymentMethod {
        return Err(invoices::no_payment_method());
    }
    invoices::settle(store, changes, ctx, invoice_id, &payment, request.attempt);
    if payment.charge == Charge::Paid {
        let entered = match request.method {
            Method::Entered(_) => payment.method.as_deref(),
            _ => None,
        };
        if let Some(pm) = entered {
            payment_methods::attach(
                store,
                changes,
                pm,
                invoice["customer"].as_str().unwrap_or(""),
            )?;
        }
        after_paid(store, changes, ctx, invoice_id, entered);
    }
    Ok(payment)
}

/// After a later payment of a subscription invoice: a pending update waiting for this invoice is
/// applied; the subscription is `active` (or `trialing`) again if this, its latest invoice, kept
/// it `incomplete`, `past_due` or `unpaid`; a card the customer entered becomes its default
/// under `save_default_payment_method=on_subscription`.
pub fn after_paid(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    invoice_id: &str,
    entered: Option<&str>,
) {
    let Some(before) = store
        .invoices
        .get(invoice_id)
        .and_then(|invoice| invoices::subscription_of(store, invoice))
        .cloned()
    else {
        return;
    };
    let id = subscriptions::id_of(&before).to_owned();
    let mut after = before.clone();
    if before["latest_invoice"] == invoice_id
        && matches!(
            before["status"].as_str(),
            Some("incomplete" | "past_due" | "unpaid")
        )
    {
        let trialing = before["trial_end"]
            .as_i64()
            .is_some_and(|end| end > ctx.now);
        after["status"] = json!(if trialing { "trialing" } else { "active" });
    }
    if let Some(pm) = entered
        && before["payment_settings"]["save_default_payment_method"] == "on_subscription"
    {
        after["default_payment_method"] = json!(pm);
    }
    changes.updated("customer.subscription.updated", &before, &after);
    store.subscriptions.insert(after);
    pending_updates::apply(store, changes, &id, invoice_id);
}

/// A scheduled retry (clock-driven): charges the subscription's payment method of the moment
/// (its default, else the customer's invoice default, S64), off-session. Success brings the
/// subscription back; the last failure ends the dunning.
pub fn retry(store: &mut Store, changes: &mut Changes, ctx: &Ctx, invoice_id: &str) {
    let invoice = store.invoices.get(invoice_id).cloned().unwrap_or_default();
    let subscription = invoices::subscription_of(store, &invoice).cloned();
    let Some(subscription) = subscription.filter(|_| invoices::is_payable(&invoice)) else {
        store.billing.retries.remove(invoice_id);
        return;
    };
    let sub_id = subscriptions::id_of(&subscription);
    let fail = store.billing.fail_next_payment.remove(sub_id);
    let payment = invoices::predict(
        store,
        invoices::payment_method_for(store, &subscription).as_deref(),
        invoice["amount_remaining"].as_i64().unwrap_or(0),
        fail,
        Attempt::Automatic,
        &ctx.behaviours,
    );
    let exhausted = invoices::settle(
        store,
        changes,
        ctx,
        invoice_id,
        &payment,
        Attempt::Automatic,
    );
    if payment.charge == Charge::Paid {
        after_paid(store, changes, ctx, invoice_id, None);
    } else if exhausted {
        end_dunning(store, changes, ctx, invoice_id);
    }
}

/// The last retry failed: the subscription and the invoice follow the account's settings
/// (switches `after_last_retry`, `invoice_after_last_retry`).
pub fn end_dunning(store: &mut Store, changes: &mut Changes, ctx: &Ctx, invoice_id: &str) {
    if ctx.behaviours.invoice_after_last_retry == InvoiceAfterLastRetry::Uncollectible {
        invoices::mark_uncollectible(store, changes, ctx, invoice_id);
    }
    let Some(before) = store
        .invoices
        .get(invoice_id)
        .and_then(|invoice| invoices::subscription_of(store, invoice))
        .filter(|s| !subscriptions::is_ended(s))
        .cloned()
    else {
        return;
    };
    let id = subscriptions::id_of(&before).to_owned();
    match ctx.behaviours.after_last_retry {
        AfterLastRetry::Cancel => {
            let mut failing = before;
            failing["cancellation_details"]["reason"] = json!("payment_failed");
            store.subscriptions.insert(failing);
            subscriptions::cancel(store, changes, ctx, &id);
        }
        AfterLastRetry::Unpaid => {
            let mut after = before.clone();
            after["status"] = json!("unpaid");
            changes.updated("customer.subscription.updated", &before, &after);
            store.subscriptions.insert(after);
        }
        AfterLastRetry::PastDue => {}
    }
}

/// Stands in for the customer passing (or failing) the 3D Secure challenge of a PaymentIntent
/// in `requires_action`. Passing pays the invoice with the intent's card and, as the intent
/// saves the card for off-session use (`setup_future_usage`), sets the card up. Failing puts the
/// intent back to `requires_payment_method` and fails the invoice payment; such invoices are not
/// retried (S65).
pub fn authenticate(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    intent_id: &str,
    fail: bool,
) -> Result<Value, AuthenticateError> {
    let intent =
        PAYMENT_INTENT.awaiting_authentication(store.payment_intents.get(intent_id), intent_id)?;
    let invoice_id = payment_intents::invoice_of(store, intent_id).unwrap_or_default();
    let pm = intent["payment_method"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if fail {
        payment_intents::authentication_failed(store, changes, &invoice_id);
        if let Some(invoice) = store.invoices.get(&invoice_id) {
            changes.event("invoice.payment_failed", invoice);
        }
    } else {
        let request = Request {
            method: Method::Entered(&pm),
            attempt: Attempt::OnSession,
            authenticated: true,
        };
        pay(store, changes, ctx, &invoice_id, request)
            .map_err(|e| AuthenticateError::Conflict(e.message))?;
        payment_methods::mark_set_up(store, &pm);
    }
    Ok(store
        .payment_intents
        .get(intent_id)
        .cloned()
        .unwrap_or(intent))
}
