//! Invoices, their lines and invoice items: drafts (also the preview's), finalization with the
//! customer balance, and payment outcomes with their events.

use serde_json::{Value, json};

use super::proration::Proration;
use super::{Ctx, Item, money, payment_intents, test_clocks};
use crate::model::behaviours::{Behaviours, OffSessionAuthentication, SetUpCardOnSession};
use crate::model::calendar::DAY;
use crate::model::cards::{self, AUTHENTICATION_REQUIRED, Decline, GENERIC_DECLINE};
use crate::model::catalogue::{self, Recurrence};
use crate::model::customers;
use crate::model::error::ApiError;
use crate::model::events::Changes;
use crate::model::ids;
use crate::model::store::Store;

/// How many lines an invoice embeds (the rest via `GET /v1/invoices/:id/lines`).
pub const LINES_PAGE: usize = 10;

/// Id prefix of invoice previews (`upcoming_in_…`, per async-stripe's `Invoice.id` docs).
pub const PREVIEW_PREFIX: &str = "upcoming_in";

pub fn is_preview(invoice_id: &str) -> bool {
    invoice_id.starts_with(PREVIEW_PREFIX)
}

fn decimal(amount: i64, quantity: u64) -> String {
    let quantity = i64::try_from(quantity.max(1)).unwrap_or(1);
    if amount % quantity == 0 {
        return (amount / quantity).to_string();
    }
    let text = format!("{:.12}", amount as f64 / quantity as f64);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn pricing(price: &Value, unit_amount_decimal: String) -> Value {
    json!({
        "price_details": { "price": price["id"], "product": price["product"] },
        "type": "price_details",
        "unit_amount_decimal": unit_amount_decimal
    })
}

/// A pending proration invoice item (`ii_…`; the preview builds the same object with a null id).
/// A credit links to what debited the item's period (`proration_details.credited_items`).
pub fn invoice_item(
    store: &Store,
    proration: &Proration,
    id: Value,
    customer: &str,
    subscription: &str,
    date: i64,
) -> Value {
    let credited = if proration.credit {
        store
            .billing
            .item_debits
            .get(&proration.item_id)
            .cloned()
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    json!({
        "id": id,
        "object": "invoiceitem",
        "amount": proration.amount,
        "currency": proration.price["currency"],
        "customer": customer,
        "customer_account": null,
        "date": date,
        "description": proration.description,
        "discountable": false,
        "discounts": [],
        "invoice": null,
        "livemode": false,
        "metadata": {},
        "net_amount": proration.amount,
        "parent": {
            "subscription_details": {
                "subscription": subscription,
                "subscription_item": proration.item_id
            },
            "type": "subscription_details"
        },
        "period": { "end": proration.period.1, "start": proration.period.0 },
        "pricing": pricing(&proration.price, decimal(proration.amount, proration.quantity)),
        "proration": true,
        "proration_details": { "credited_items": credited, "discount_amounts": [] },
        "quantity": proration.quantity,
        "quantity_decimal": proration.quantity.to_string(),
        "tax_rates": [],
        "test_clock": test_clocks::field_for(store, customer)
    })
}

/// An invoice line from a pending invoice item. Prorations of a subscription item are
/// `subscription_item_details` lines (SEMANTICS §6), other items `invoice_item_details`.
pub fn line_from_item(item: &Value, line_id: &str, invoice_id: &str) -> Value {
    let subscription = &item["parent"]["subscription_details"]["subscription"];
    let subscription_item = &item["parent"]["subscription_details"]["subscription_item"];
    let credited = &item["proration_details"]["credited_items"];
    let line_credited = match credited["invoice_line_item_details"] {
        Value::Object(_) => credited["invoice_line_item_details"].clone(),
        _ => Value::Null,
    };
    let proration_details = json!({ "credited_items": line_credited });
    let parent = if subscription_item.is_string() {
        json!({
            "invoice_item_details": null,
            "subscription_item_details": {
                "invoice_item": item["id"],
                "proration": item["proration"],
                "proration_details": proration_details,
                "subscription": subscription,
                "subscription_item": subscription_item
            },
            "type": "subscription_item_details"
        })
    } else {
        json!({
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": item["proration"],
                "proration_details": proration_details,
                "subscription": subscription
            },
            "subscription_item_details": null,
            "type": "invoice_item_details"
        })
    };
    line(
        line_id,
        invoice_id,
        item["amount"].as_i64().unwrap_or(0),
        &item["currency"],
        &item["description"],
        item["period"].clone(),
        parent,
        item["pricing"].clone(),
        item["quantity"].as_u64().unwrap_or(1),
    )
}

#[allow(clippy::too_many_arguments)]
fn line(
    id: &str,
    invoice_id: &str,
    amount: i64,
    currency: &Value,
    description: &Value,
    period: Value,
    parent: Value,
    pricing: Value,
    quantity: u64,
) -> Value {
    json!({
        "id": id,
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": false,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": false,
        "metadata": {},
        "parent": parent,
        "period": period,
        "pretax_credit_amounts": [],
        "pricing": pricing,
        "quantity": quantity,
        "quantity_decimal": quantity.to_string(),
        "subscription": null,
        "subtotal": amount,
        "taxes": []
    })
}

/// A subscription item's charge for `period` (zero during a trial).
pub fn recurring_line(
    store: &Store,
    item: &Item,
    subscription: &Value,
    period: (i64, i64),
    line_id: &str,
    invoice_id: &str,
    trial: bool,
) -> Value {
    let name = catalogue::product_name(store, &item.price);
    let currency = item.price["currency"].as_str().unwrap_or("usd");
    let (amount, description) = if trial {
        (0, format!("Trial period for {name}"))
    } else {
        let every = match item.recurrence() {
            Some(Recurrence { interval, count: 1 }) => interval.as_str().to_owned(),
            Some(Recurrence { interval, count }) => format!("every {count} {}s", interval.as_str()),
            None => "once".to_owned(),
        };
        let amount = item.unit_amount() * i64::try_from(item.quantity).unwrap_or(0);
        let unit = money(item.unit_amount(), currency);
        (
            amount,
            format!("{} × {name} (at {unit} / {every})", item.quantity),
        )
    };
    let parent = json!({
        "invoice_item_details": null,
        "subscription_item_details": {
            "invoice_item": null,
            "proration": false,
            "proration_details": { "credited_items": null },
            "subscription": subscription,
            "subscription_item": item.id
        },
        "type": "subscription_item_details"
    });
    let unit_decimal = item.price["unit_amount_decimal"]
        .as_str()
        .map_or_else(|| item.unit_amount().to_string(), str::to_owned);
    line(
        line_id,
        invoice_id,
        amount,
        &item.price["currency"],
        &json!(description),
        json!({ "end": period.1, "start": period.0 }),
        parent,
        pricing(&item.price, if trial { "0".into() } else { unit_decimal }),
        item.quantity,
    )
}

/// The subscription's invoice items not yet on an invoice, newest first (ties in creation order),
/// as Stripe lists pending items on an invoice.
pub fn pending_items(store: &Store, subscription: &str) -> Vec<Value> {
    let mut items: Vec<Value> = store
        .invoice_items
        .oldest_first()
        .filter(|ii| {
            ii["invoice"].is_null()
                && ii["parent"]["subscription_details"]["subscription"] == subscription
        })
        .cloned()
        .collect();
    items.sort_by_key(|ii| std::cmp::Reverse(ii["date"].as_i64().unwrap_or(0)));
    items
}

/// What an invoice charges for: pending invoice items, then the items' charges for a period.
pub struct Contents<'a> {
    pub pending: &'a [Value],
    pub recurring: &'a [Item],
    pub period: (i64, i64),
    pub trial: bool,
}

/// The lines of a subscription invoice (`il_tmp_…` ids for previews): pending items first, then
/// one line per subscription item (newest item first). `subscription` is its id (null in the
/// preview of a subscription not created yet).
pub fn compose(
    store: &Store,
    invoice_id: &str,
    subscription: &Value,
    contents: &Contents<'_>,
) -> Vec<Value> {
    let prefix = if is_preview(invoice_id) {
        "il_tmp"
    } else {
        "il"
    };
    let line_id = || ids::generate(prefix, ids::LONG);
    let mut lines: Vec<Value> = contents
        .pending
        .iter()
        .map(|ii| line_from_item(ii, &line_id(), invoice_id))
        .collect();
    lines.extend(contents.recurring.iter().rev().map(|item| {
        recurring_line(
            store,
            item,
            subscription,
            contents.period,
            &line_id(),
            invoice_id,
            contents.trial,
        )
    }));
    lines
}

/// Everything a new invoice needs.
pub struct Draft<'a> {
    pub id: String,
    pub customer: &'a Value,
    pub subscription: Option<&'a Value>,
    pub billing_reason: &'static str,
    /// `period_start` / `period_end`.
    pub period: (i64, i64),
    pub created: i64,
    pub currency: &'a str,
    pub lines: Vec<Value>,
    /// Only previews that compute prorations show it (`parent.subscription_details`).
    pub proration_date: Option<i64>,
    pub next_payment_attempt: Option<i64>,
}

/// Totals from a draft's lines (it holds all of them), with the customer balance applied: a credit (negative balance) lowers
/// `amount_due`, a debt raises it; `amount_due` never goes below zero.
fn apply_totals(invoice: &mut Value, balance: i64) {
    let total: i64 = invoice["lines"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|line| line["amount"].as_i64())
        .sum();
    let due = (total + balance).max(0);
    for key in [
        "subtotal",
        "subtotal_excluding_tax",
        "total",
        "total_excluding_tax",
    ] {
        invoice[key] = json!(total);
    }
    invoice["amount_due"] = json!(due);
    invoice["amount_remaining"] = json!(due);
    invoice["starting_balance"] = json!(balance);
}

/// A draft invoice (status `draft`) holding all its lines, totals computed.
pub fn draft(draft: Draft<'_>) -> Value {
    let customer = draft.customer;
    let subscription = draft.subscription;
    let collection_method = subscription
        .and_then(|s| s["collection_method"].as_str())
        .unwrap_or("charge_automatically");
    // Stripe's spec makes `parent.subscription_details.subscription` required and not
    // nullable, so a preview of a subscription that does not exist yet (a new schedule) has no
    // parent (UNCONFIRMED: Stripe's own answer is not documented; README "Guesses").
    let parent = subscription
        .filter(|s| s["id"].is_string())
        .map_or(Value::Null, |s| {
            json!({
                "quote_details": null,
                "subscription_details": {
                    "metadata": s["metadata"],
                    "subscription": s["id"],
                    "subscription_proration_date": draft.proration_date
                },
                "type": "subscription_details"
            })
        });
    let mut invoice = json!({
        "id": draft.id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "stripe-fake",
        "account_tax_ids": null,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": null,
        "attempt_count": 0,
        "attempted": false,
        "auto_advance": true,
        "automatic_tax": {
            "disabled_reason": null, "enabled": false, "liability": null, "provider": null,
            "status": null
        },
        "automatically_finalizes_at": null,
        "billing_reason": draft.billing_reason,
        "collection_method": collection_method,
        "created": draft.created,
        "currency": draft.currency,
        "custom_fields": null,
        "customer": customer["id"],
        "customer_account": null,
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": customer["shipping"],
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": null,
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "due_date": null,
        "effective_at": null,
        "ending_balance": null,
        "footer": null,
        "from_invoice": null,
        "hosted_invoice_url": null,
        "invoice_pdf": null,
        "issuer": { "type": "self" },
        "last_finalization_error": null,
        "latest_revision": null,
        "lines": {
            "object": "list",
            "data": draft.lines,
            "has_more": false,
            "url": format!("/v1/invoices/{}/lines", draft.id)
        },
        "livemode": false,
        "metadata": {},
        "next_payment_attempt": draft.next_payment_attempt,
        "number": null,
        "on_behalf_of": null,
        "parent": parent,
        "payment_settings": {
            "default_mandate": null, "payment_method_options": null, "payment_method_types": null
        },
        "period_end": draft.period.1,
        "period_start": draft.period.0,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": null,
        "rendering": {
            "amount_tax_display": null, "pdf": { "page_size": "auto" }, "template": null,
            "template_version": null
        },
        "shipping_cost": null,
        "shipping_details": null,
        "starting_balance": 0,
        "statement_descriptor": null,
        "status": "draft",
        "status_transitions": {
            "finalized_at": null, "marked_uncollectible_at": null, "paid_at": null,
            "voided_at": null
        },
        "subscription": null,
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": customer["test_clock"],
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": null
    });
    apply_totals(&mut invoice, customer["balance"].as_i64().unwrap_or(0));
    invoice
}

/// Stores a draft: its lines (all of them in `billing`, the first page embedded), marks the
/// pending items it holds as invoiced, remembers which lines debited each subscription item's
/// period, and records `invoice.created`.
pub fn commit(store: &mut Store, changes: &mut Changes, mut invoice: Value) -> String {
    let id = invoice["id"].as_str().unwrap_or_default().to_owned();
    let lines: Vec<Value> = match invoice["lines"]["data"].take() {
        Value::Array(lines) => lines,
        _ => Vec::new(),
    };
    for line in &lines {
        let details = &line["parent"]["subscription_item_details"];
        let item_id = match line["parent"]["type"].as_str() {
            Some("subscription_item_details") => details["invoice_item"].as_str(),
            _ => line["parent"]["invoice_item_details"]["invoice_item"].as_str(),
        };
        if let Some(ii) = item_id.and_then(|ii| store.invoice_items.get_mut(ii)) {
            ii["invoice"] = json!(id);
        }
        if details["proration"] == false
            && let Some(si) = details["subscription_item"].as_str()
        {
            store.billing.item_debits.insert(
                si.to_owned(),
                json!({
                    "invoice_item": null,
                    "invoice_line_item_details": { "invoice": id, "invoice_line_items": [line["id"]] },
                    "type": "invoice_line_items"
                }),
            );
        }
    }
    embed_page(&mut invoice, &lines);
    store.billing.invoice_lines.insert(id.clone(), lines);
    changes.created("invoice.created", &invoice);
    store.invoices.insert(invoice);
    id
}

fn embed_page(invoice: &mut Value, lines: &[Value]) {
    invoice["lines"]["data"] = json!(lines.iter().take(LINES_PAGE).collect::<Vec<_>>());
    invoice["lines"]["has_more"] = json!(lines.len() > LINES_PAGE);
}

fn total_of(store: &Store, invoice: &Value) -> i64 {
    let id = invoice["id"].as_str().unwrap_or_default();
    store
        .billing
        .invoice_lines
        .get(id)
        .into_iter()
        .flatten()
        .filter_map(|line| line["amount"].as_i64())
        .sum()
}

/// Finalizes a draft: number, customer balance applied (a net credit goes to the balance),
/// hosted page and PDF links, a PaymentIntent when there is something to charge,
/// `invoice.finalized`; an invoice with nothing due is paid at once.
pub fn finalize(store: &mut Store, changes: &mut Changes, ctx: &Ctx, id: &str) {
    let Some(mut invoice) = store.invoices.get(id).cloned() else {
        return;
    };
    let customer_id = invoice["customer"].as_str().unwrap_or_default().to_owned();
    let Some(customer) = store.customers.get(&customer_id).cloned() else {
        return;
    };
    let balance = customer["balance"].as_i64().unwrap_or(0);
    let total = total_of(store, &invoice);
    let due = (total + balance).max(0);
    let ending = (total + balance).min(0);
    let sequence = customer["next_invoice_sequence"].as_i64().unwrap_or(1);
    invoice["number"] = json!(format!(
        "{}-{sequence:04}",
        customer["invoice_prefix"].as_str().unwrap_or("INV")
    ));
    invoice["amount_due"] = json!(due);
    invoice["amount_remaining"] = json!(due);
    invoice["starting_balance"] = json!(balance);
    invoice["ending_balance"] = json!(ending);
    invoice["status"] = json!("open");
    invoice["status_transitions"]["finalized_at"] = json!(ctx.now);
    invoice["effective_at"] = json!(ctx.now);
    invoice["webhooks_delivered_at"] = json!(ctx.now);
    invoice["hosted_invoice_url"] = json!(format!("{}/_fake/invoices/{id}", ctx.base_url));
    invoice["invoice_pdf"] = json!(format!("{}/_fake/invoices/{id}/pdf", ctx.base_url));
    let automatic = invoice["collection_method"] == "charge_automatically";
    invoice["next_payment_attempt"] = if automatic && due > 0 {
        json!(ctx.now)
    } else {
        Value::Null
    };
    if !automatic {
        let days = store
            .subscriptions
            .get(
                invoice["parent"]["subscription_details"]["subscription"]
                    .as_str()
                    .unwrap_or(""),
            )
            .and_then(|s| s["days_until_due"].as_i64())
            .unwrap_or(30);
        invoice["due_date"] = json!(ctx.now + days * DAY);
    }
    changes.event("invoice.finalized", &invoice);
    if automatic && due > 0 {
        payment_intents::create(store, changes, ctx, &invoice);
    }
    store.invoices.insert(invoice);

    let mut after = customer.clone();
    after["next_invoice_sequence"] = json!(sequence + 1);
    if ending != balance {
        after["balance"] = json!(ending);
        changes.updated("customer.updated", &customer, &after);
    }
    customers::save(store, after, ctx.now_ms);
    if due == 0 {
        mark_paid(store, changes, ctx, id, None, None);
    }
}

/// What charging an invoice's payment method does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    Paid,
    Declined(&'static Decline),
    /// The card needs 3D Secure: the customer must confirm the PaymentIntent (Stripe.js).
    RequiresAction,
    NoPaymentMethod,
    /// Not tried (`default_incomplete`, `send_invoice`, an `unpaid` subscription's renewal).
    NotAttempted,
}

impl Charge {
    /// The error `payment_behavior=error_if_incomplete` answers with.
    pub fn error(self) -> Option<ApiError> {
        match self {
            Self::Paid | Self::NotAttempted => None,
            Self::Declined(decline) => Some(ApiError::card_declined(decline)),
            Self::RequiresAction => Some(ApiError::card_declined(&AUTHENTICATION_REQUIRED)),
            Self::NoPaymentMethod => Some(no_payment_method()),
        }
    }
}

/// A payment attempt's outcome and the payment method it charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub charge: Charge,
    pub method: Option<String>,
}

/// Who makes a payment attempt, which decides what a card needing 3D Secure does and whether a
/// failure joins the retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The customer is present: subscription create and update (`off_session` is not modelled
    /// there and defaults to false), PaymentIntent confirm, `/pay` with `off_session=false`.
    OnSession,
    /// A request without the customer: `POST /v1/invoices/:id/pay` (default `off_session=true`).
    OffSession,
    /// Stripe's own: renewals and scheduled retries (off-session; failures are retried).
    Automatic,
}

impl Attempt {
    fn off_session(self) -> bool {
        self != Self::OnSession
    }
}

/// Stripe's answer when a subscription invoice needs a payment method and the customer has none
/// (OBS: quoted in stripe-java #1612 and elsewhere).
pub fn no_payment_method() -> ApiError {
    ApiError::unexpected_state(
        "resource_missing",
        "This customer has no attached payment source or default payment method. Please consider \
         adding a default payment method. For more information, visit \
         https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.",
    )
}

/// The payment method a subscription charges: its own default, else the customer's invoice
/// default; detached ones do not count (SEMANTICS §4, and the retry order of S64).
pub fn payment_method_for(store: &Store, subscription: &Value) -> Option<String> {
    let own = match &subscription["default_payment_method"] {
        Value::String(id) => Some(id.clone()),
        Value::Object(pm) => pm["id"].as_str().map(str::to_owned),
        _ => None,
    };
    own.or_else(|| customer_default(store, subscription["customer"].as_str()?))
        .filter(|id| usable(store, id))
}

fn customer_default(store: &Store, customer: &str) -> Option<String> {
    store.customers.get(customer)?["invoice_settings"]["default_payment_method"]
        .as_str()
        .map(str::to_owned)
}

fn usable(store: &Store, payment_method: &str) -> bool {
    store
        .cards
        .get(payment_method)
        .is_some_and(|state| !state.detached)
}

/// The payment method an invoice charges by default: its subscription's, else its customer's
/// invoice default.
pub fn payment_method_for_invoice(store: &Store, invoice: &Value) -> Option<String> {
    match subscription_of(store, invoice) {
        Some(subscription) => payment_method_for(store, subscription),
        None => {
            customer_default(store, invoice["customer"].as_str()?).filter(|id| usable(store, id))
        }
    }
}

/// The subscription an invoice bills, if any.
pub fn subscription_of<'a>(store: &'a Store, invoice: &Value) -> Option<&'a Value> {
    store
        .subscriptions
        .get(invoice["parent"]["subscription_details"]["subscription"].as_str()?)
}

/// What charging `amount_due` to `payment_method` would do (`fail`: the control API's
/// fail-next-payment switch). A card needing 3D Secure off-session follows the
/// `off_session_authentication` switch.
pub fn predict(
    store: &Store,
    payment_method: Option<&str>,
    amount_due: i64,
    fail: bool,
    attempt: Attempt,
    behaviours: &Behaviours,
) -> Payment {
    let method = payment_method.map(str::to_owned);
    let charge = |charge| Payment {
        charge,
        method: method.clone(),
    };
    if amount_due <= 0 {
        return charge(Charge::Paid);
    }
    if fail {
        return charge(Charge::Declined(&GENERIC_DECLINE));
    }
    let Some(state) = payment_method.and_then(|pm| store.cards.get(pm)) else {
        return charge(Charge::NoPaymentMethod);
    };
    let on_session = attempt == Attempt::OnSession;
    let needs_authentication = match &state.card.charge {
        cards::Charge::Succeeds => false,
        cards::Charge::Declines(decline) => return charge(Charge::Declined(decline)),
        cards::Charge::RequiresAuthentication => true,
        cards::Charge::RequiresAuthenticationUnlessSetUp => {
            !state.set_up
                || (on_session
                    && behaviours.set_up_card_on_session
                        == SetUpCardOnSession::RequiresAuthentication)
        }
        cards::Charge::RequiresAuthenticationOnSession => on_session,
    };
    charge(match needs_authentication {
        false => Charge::Paid,
        true if attempt.off_session()
            && behaviours.off_session_authentication == OffSessionAuthentication::Declines =>
        {
            Charge::Declined(&AUTHENTICATION_REQUIRED)
        }
        true => Charge::RequiresAction,
    })
}

/// Stripe's `attempt_count`: "Any payment attempt counts as the first attempt, and subsequently
/// only automatic retries increment the attempt count" (the invoice object's description, S10).
fn count_attempt(invoice: &mut Value, attempt: Attempt) {
    let count = invoice["attempt_count"].as_i64().unwrap_or(0);
    if count == 0 || attempt == Attempt::Automatic {
        invoice["attempt_count"] = json!(count + 1);
    }
    invoice["attempted"] = json!(true);
}

/// Records a payment attempt's outcome on an open (or uncollectible) invoice and its
/// PaymentIntent. An automatic attempt that declines joins the retry schedule
/// (`retry_schedule_days` after the first automatic failure); 3D Secure and a missing payment
/// method are not retried (S64, S65). Other attempts leave the schedule as it is. Returns true
/// when an automatic attempt declined and no retry is left (the dunning ends).
pub fn settle(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    id: &str,
    payment: &Payment,
    attempt: Attempt,
) -> bool {
    let Some(mut invoice) = store.invoices.get(id).cloned() else {
        return false;
    };
    if !is_payable(&invoice) {
        return false;
    }
    let method = payment.method.as_deref();
    let automatic = attempt == Attempt::Automatic;
    let mut exhausted = false;
    match payment.charge {
        Charge::Paid => {
            mark_paid(store, changes, ctx, id, method, Some(attempt));
            return false;
        }
        Charge::NotAttempted => invoice["next_payment_attempt"] = Value::Null,
        Charge::NoPaymentMethod if automatic => {
            count_attempt(&mut invoice, attempt);
            stop_retries(store, &mut invoice);
            changes.event("invoice.payment_failed", &invoice);
        }
        Charge::NoPaymentMethod => {
            if !store.billing.retries.contains_key(id) {
                invoice["next_payment_attempt"] = Value::Null;
            }
        }
        Charge::Declined(decline) => {
            count_attempt(&mut invoice, attempt);
            if automatic {
                exhausted = schedule_retry(store, ctx, &mut invoice);
            } else if !store.billing.retries.contains_key(id) {
                invoice["next_payment_attempt"] = Value::Null;
            }
            payment_intents::declined(store, changes, id, method, decline);
            changes.event("invoice.payment_failed", &invoice);
        }
        Charge::RequiresAction => {
            count_attempt(&mut invoice, attempt);
            stop_retries(store, &mut invoice);
            payment_intents::requires_action(store, changes, ctx, id, method);
            if attempt.off_session() {
                changes.event("invoice.payment_failed", &invoice);
            }
            changes.event("invoice.payment_action_required", &invoice);
        }
    }
    store.invoices.insert(invoice);
    exhausted
}

/// Open invoices take payments; so do uncollectible ones (Stripe lets them be paid later).
pub fn is_payable(invoice: &Value) -> bool {
    matches!(invoice["status"].as_str(), Some("open" | "uncollectible"))
}

/// After an automatic failure: the next retry day of the schedule, counted from the first
/// automatic failure; true when none is left.
fn schedule_retry(store: &mut Store, ctx: &Ctx, invoice: &mut Value) -> bool {
    let id = invoice["id"].as_str().unwrap_or_default().to_owned();
    let first = *store.billing.retries.entry(id.clone()).or_insert(ctx.now);
    let retried = invoice["attempt_count"].as_i64().unwrap_or(1) - 1;
    let next = usize::try_from(retried)
        .ok()
        .and_then(|n| ctx.behaviours.retry_schedule_days.get(n))
        .map(|days| first + days * DAY);
    invoice["next_payment_attempt"] = json!(next);
    if next.is_none() {
        store.billing.retries.remove(&id);
    }
    next.is_none()
}

fn stop_retries(store: &mut Store, invoice: &mut Value) {
    if let Some(id) = invoice["id"].as_str() {
        store.billing.retries.remove(id);
    }
    invoice["next_payment_attempt"] = Value::Null;
}

/// Marks an invoice paid in full (`attempt`: the payment attempt that paid it; none when
/// nothing was due): its PaymentIntent succeeds, `invoice.paid` and `invoice.payment_succeeded`.
pub fn mark_paid(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    id: &str,
    method: Option<&str>,
    attempt: Option<Attempt>,
) {
    let Some(mut invoice) = store.invoices.get(id).cloned() else {
        return;
    };
    invoice["amount_paid"] = invoice["amount_due"].clone();
    invoice["amount_remaining"] = json!(0);
    invoice["status"] = json!("paid");
    invoice["status_transitions"]["paid_at"] = json!(ctx.now);
    if let Some(attempt) = attempt {
        count_attempt(&mut invoice, attempt);
    }
    stop_retries(store, &mut invoice);
    payment_intents::succeeded(store, changes, ctx, id, method);
    changes.event("invoice.paid", &invoice);
    changes.event("invoice.payment_succeeded", &invoice);
    store.invoices.insert(invoice);
}

/// Voids an open invoice (an expired incomplete subscription's first invoice, an expired
/// pending update's): its PaymentIntent is canceled, `invoice.voided`.
pub fn void(store: &mut Store, changes: &mut Changes, ctx: &Ctx, id: &str) {
    let Some(mut invoice) = store.invoices.get(id).cloned() else {
        return;
    };
    if !is_payable(&invoice) {
        return;
    }
    invoice["status"] = json!("void");
    invoice["amount_remaining"] = json!(0);
    invoice["status_transitions"]["voided_at"] = json!(ctx.now);
    stop_retries(store, &mut invoice);
    payment_intents::canceled(store, changes, ctx, id);
    changes.event("invoice.voided", &invoice);
    store.invoices.insert(invoice);
}

/// Marks an open invoice uncollectible (the dunning setting after the last retry):
/// `invoice.marked_uncollectible`.
pub fn mark_uncollectible(store: &mut Store, changes: &mut Changes, ctx: &Ctx, id: &str) {
    let Some(mut invoice) = store.invoices.get(id).cloned() else {
        return;
    };
    if invoice["status"] != "open" {
        return;
    }
    invoice["status"] = json!("uncollectible");
    invoice["status_transitions"]["marked_uncollectible_at"] = json!(ctx.now);
    stop_retries(store, &mut invoice);
    changes.event("invoice.marked_uncollectible", &invoice);
    store.invoices.insert(invoice);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_amount_decimals() {
        assert_eq!(decimal(-1500, 3), "-500");
        assert_eq!(decimal(1000, 3), "333.333333333333");
        assert_eq!(decimal(5, 2), "2.5");
    }

    #[test]
    fn totals_apply_the_balance() {
        let mut invoice = json!({"lines": {"data": [{"amount": 1500}, {"amount": -500}]}});
        apply_totals(&mut invoice, -300);
        assert_eq!(invoice["total"], 1000);
        assert_eq!(invoice["amount_due"], 700);
        apply_totals(&mut invoice, -3000);
        assert_eq!(invoice["amount_due"], 0);
        apply_totals(&mut invoice, 200);
        assert_eq!(invoice["amount_due"], 1200);
    }
}
