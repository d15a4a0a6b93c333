//! Subscriptions: the object and its items, creation with the first invoice, renewals,
//! cancellation and payment-driven status changes. Item changes are in `super::item_changes`.

use serde_json::{Value, json};

use super::invoices::{self, Attempt, Charge, Contents, Draft, Payment};
use super::{Ctx, Item, PaymentBehavior, payments, schedules, test_clocks};
use crate::model::calendar;
use crate::model::error::ApiError;
use crate::model::events::Changes;
use crate::model::ids;
use crate::model::metadata::MetadataUpdate;
use crate::model::store::Store;

pub const RESOURCE: &str = "subscription";
/// An `incomplete` subscription whose first invoice stays unpaid this long expires (SEMANTICS §5).
pub const INCOMPLETE_EXPIRY: i64 = 23 * 3600;
/// `customer.subscription.trial_will_end` goes out this long before a trial ends.
pub const TRIAL_WILL_END_NOTICE: i64 = 3 * calendar::DAY;

/// Statuses after which nothing happens to a subscription any more.
pub fn is_ended(subscription: &Value) -> bool {
    matches!(
        subscription["status"].as_str(),
        Some("canceled" | "incomplete_expired")
    )
}

pub fn id_of(object: &Value) -> &str {
    object["id"].as_str().unwrap_or_default()
}

/// The subscription's items, as the engine sees them.
pub fn items_of(subscription: &Value) -> Vec<Item> {
    subscription["items"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| Item {
            id: item["id"].as_str().unwrap_or_default().to_owned(),
            price: item["price"].clone(),
            quantity: item["quantity"].as_u64().unwrap_or(1),
            metadata: item["metadata"].clone(),
            created: item["created"].as_i64().unwrap_or(0),
        })
        .collect()
}

/// The current period `[start, end)` (on the items since basil; all items share it here).
pub fn period_of(subscription: &Value) -> (i64, i64) {
    let item = &subscription["items"]["data"][0];
    (
        item["current_period_start"].as_i64().unwrap_or(0),
        item["current_period_end"].as_i64().unwrap_or(0),
    )
}

/// The legacy `plan` view of a price that subscription items still carry.
fn plan_json(price: &Value) -> Value {
    json!({
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": price["recurring"]["interval"],
        "interval_count": price["recurring"]["interval_count"],
        "livemode": false,
        "metadata": price["metadata"],
        "meter": null,
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": null,
        "transform_usage": null,
        "trial_period_days": null,
        "usage_type": price["recurring"]["usage_type"]
    })
}

fn item_json(item: &Item, subscription: &str, period: (i64, i64)) -> Value {
    json!({
        "id": item.id,
        "object": "subscription_item",
        "billing_thresholds": null,
        "created": item.created,
        "current_period_end": period.1,
        "current_period_start": period.0,
        "discounts": [],
        "metadata": item.metadata,
        "plan": plan_json(&item.price),
        "price": item.price,
        "quantity": item.quantity,
        "subscription": subscription,
        "tax_rates": []
    })
}

/// Replaces the subscription's items (all with the period `period`).
pub fn set_items(subscription: &mut Value, items: &[Item], period: (i64, i64)) {
    let id = id_of(subscription).to_owned();
    let data: Vec<Value> = items.iter().map(|i| item_json(i, &id, period)).collect();
    subscription["items"] = json!({
        "object": "list",
        "data": data,
        "has_more": false,
        "url": format!("/v1/subscription_items?subscription={id}")
    });
    if subscription["cancel_at_period_end"] == true && subscription["cancel_at"].is_i64() {
        subscription["cancel_at"] = json!(period.1);
    }
}

/// A new subscription item (`si_…`).
pub fn new_item(price: Value, quantity: u64, metadata: Value, now: i64) -> Item {
    Item {
        id: ids::generate("si", ids::SHORT),
        price,
        quantity,
        metadata,
        created: now,
    }
}

/// A price a subscription item may use: it exists, is active and recurring.
pub fn subscribable_price(store: &Store, id: &str, param: &str) -> Result<Value, ApiError> {
    let price = store
        .prices
        .get(id)
        .ok_or_else(|| ApiError::no_such_param("price", id, param))?;
    if price["active"] != true {
        return Err(ApiError::invalid(
            param,
            "The price specified is inactive. This field only accepts active prices.",
        ));
    }
    if price["type"] != "recurring" {
        return Err(ApiError::invalid(
            param,
            "The price specified is set to `type=one_time` but this field only accepts prices \
             with `type=recurring`.",
        ));
    }
    Ok(price.clone())
}

/// Items must not repeat a price and must share the currency and the billing interval (mixed
/// intervals, which flexible billing allows, are not modelled).
pub fn check_items(items: &[Item], param: &str) -> Result<(), ApiError> {
    let Some(first) = items.first() else {
        return Err(ApiError::invalid(
            param,
            "A subscription needs at least one item.",
        ));
    };
    for (i, item) in items.iter().enumerate() {
        if items[..i].iter().any(|o| o.price_id() == item.price_id()) {
            return Err(ApiError::invalid(
                param,
                format!(
                    "Cannot add multiple subscription items with the same price: {}",
                    item.price_id()
                ),
            ));
        }
        if item.price["currency"] != first.price["currency"] {
            return Err(ApiError::invalid(
                param,
                "All prices on a subscription must have the same currency.",
            ));
        }
        if item.recurrence() != first.recurrence() {
            return Err(ApiError::not_implemented(&format!(
                "{param} with prices of different billing intervals"
            )));
        }
        if item.quantity == 0 {
            return Err(ApiError::not_implemented(&format!(
                "{param} with quantity 0"
            )));
        }
    }
    Ok(())
}

/// `cancel_at_period_end`: `canceled_at` is the request time (SEMANTICS §5); `cancel_at` is the
/// period end under the `cancel_at_period_end_sets_cancel_at` switch (UNCONFIRMED).
pub fn set_cancel_at_period_end(subscription: &mut Value, cancel: bool, ctx: &Ctx) {
    if subscription["cancel_at_period_end"] == cancel {
        return;
    }
    subscription["cancel_at_period_end"] = json!(cancel);
    if cancel {
        subscription["canceled_at"] = json!(ctx.now);
        subscription["cancellation_details"]["reason"] = json!("cancellation_requested");
        if ctx.behaviours.cancel_at_period_end_sets_cancel_at {
            subscription["cancel_at"] = json!(period_of(subscription).1);
        }
    } else {
        subscription["canceled_at"] = Value::Null;
        subscription["cancel_at"] = Value::Null;
        subscription["cancellation_details"]["reason"] = Value::Null;
    }
}

/// `billing_mode` as shown on subscriptions and schedules (`flexible` is the default since
/// clover).
pub fn billing_mode(kind: &str, proration_discounts: Option<&str>, now: i64) -> Value {
    if kind == "classic" {
        json!({ "flexible": null, "type": "classic", "updated_at": now })
    } else {
        json!({
            "flexible": { "proration_discounts": proration_discounts.unwrap_or("included") },
            "type": "flexible",
            "updated_at": now
        })
    }
}

/// What a new subscription is made of (validated by the caller).
pub struct NewSubscription {
    pub customer: String,
    pub items: Vec<Item>,
    pub default_payment_method: Option<String>,
    pub payment_behavior: PaymentBehavior,
    pub trial_end: Option<i64>,
    pub metadata: Option<MetadataUpdate>,
    pub description: Option<String>,
    pub cancel_at_period_end: bool,
    pub collection_method: String,
    pub days_until_due: Option<i64>,
    pub billing_mode: Value,
    pub save_default_payment_method: String,
    pub schedule: Option<String>,
}

fn blank(id: &str, new: &NewSubscription, currency: &Value, now: i64) -> Value {
    json!({
        "id": id,
        "object": "subscription",
        "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": null,
        "billing_mode": new.billing_mode,
        "billing_schedules": [],
        "billing_thresholds": null,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": null,
        "cancellation_details": { "comment": null, "feedback": null, "reason": null },
        "collection_method": new.collection_method,
        "created": now,
        "currency": currency,
        "customer": new.customer,
        "customer_account": null,
        "days_until_due": new.days_until_due,
        "default_payment_method": new.default_payment_method,
        "default_source": null,
        "default_tax_rates": [],
        "description": new.description,
        "discounts": [],
        "ended_at": null,
        "invoice_settings": {
            "account_tax_ids": null, "custom_fields": null, "description": null, "footer": null,
            "issuer": { "type": "self" }
        },
        "items": null,
        "latest_invoice": null,
        "livemode": false,
        "managed_payments": null,
        "metadata": {},
        "next_pending_invoice_item_invoice": null,
        "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": {
            "payment_method_options": null,
            "payment_method_types": null,
            "save_default_payment_method": new.save_default_payment_method
        },
        "pending_invoice_item_interval": null,
        "pending_setup_intent": null,
        "pending_update": null,
        "schedule": new.schedule,
        "start_date": now,
        "status": "incomplete",
        "test_clock": null,
        "transfer_data": null,
        "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null
    })
}

/// Everything one subscription invoice (or its preview) is built from.
pub struct InvoiceSpec<'a> {
    pub id: String,
    pub subscription: &'a Value,
    pub pending: Vec<Value>,
    pub recurring: &'a [Item],
    pub recurring_period: (i64, i64),
    pub trial: bool,
    pub billing_reason: &'static str,
    pub period: (i64, i64),
    pub created: i64,
    pub proration_date: Option<i64>,
    pub next_payment_attempt: Option<i64>,
}

/// The draft of a subscription invoice: the same function for first invoices, immediate change
/// invoices, renewals and all their previews.
pub fn subscription_invoice(store: &Store, spec: InvoiceSpec<'_>) -> Result<Value, ApiError> {
    let subscription = spec.subscription;
    let customer_id = subscription["customer"].as_str().unwrap_or_default();
    let customer = store
        .customers
        .get(customer_id)
        .ok_or_else(|| ApiError::no_such_param("customer", customer_id, "customer"))?;
    let lines = invoices::compose(
        store,
        &spec.id,
        &subscription["id"],
        &Contents {
            pending: &spec.pending,
            recurring: spec.recurring,
            period: spec.recurring_period,
            trial: spec.trial,
        },
    );
    Ok(invoices::draft(Draft {
        id: spec.id,
        customer,
        subscription: Some(subscription),
        billing_reason: spec.billing_reason,
        period: spec.period,
        created: spec.created,
        currency: subscription["currency"].as_str().unwrap_or("usd"),
        lines,
        proration_date: spec.proration_date,
        next_payment_attempt: spec.next_payment_attempt,
    }))
}

pub(super) fn amount_due(invoice: &Value) -> i64 {
    invoice["amount_due"].as_i64().unwrap_or(0)
}

/// How a subscription's invoice is charged: `send_invoice`, `default_incomplete` (when
/// something is due) and an `unpaid` subscription's renewals do not charge; otherwise the
/// payment method decides.
pub(super) fn decide_charge(
    store: &Store,
    ctx: &Ctx,
    subscription: &Value,
    invoice: &Value,
    behavior: PaymentBehavior,
    attempt: Attempt,
) -> Payment {
    let due = amount_due(invoice);
    let not_attempted = Payment {
        charge: Charge::NotAttempted,
        method: None,
    };
    // In `unpaid`, "invoices are created and then closed without attempts" (SEMANTICS §13).
    if due > 0
        && (subscription["collection_method"] != "charge_automatically"
            || behavior == PaymentBehavior::DefaultIncomplete
            || subscription["status"] == "unpaid")
    {
        return not_attempted;
    }
    let fail = store
        .billing
        .fail_next_payment
        .contains(id_of(subscription));
    invoices::predict(
        store,
        invoices::payment_method_for(store, subscription).as_deref(),
        due,
        fail,
        attempt,
        &ctx.behaviours,
    )
}

/// Refuses a charge the request's `payment_behavior` (or the missing-payment-method switch) does
/// not allow: nothing is changed then.
pub(super) fn refuse(charge: Charge, behavior: PaymentBehavior, ctx: &Ctx) -> Result<(), ApiError> {
    if behavior == PaymentBehavior::ErrorIfIncomplete
        && let Some(error) = charge.error()
    {
        return Err(error);
    }
    if charge == Charge::NoPaymentMethod && ctx.behaviours.missing_payment_method_fails_request {
        return Err(invoices::no_payment_method());
    }
    Ok(())
}

/// Uses up the control API's fail-next-payment switch when a payment was attempted.
pub(super) fn consume_failure_switch(
    store: &mut Store,
    subscription: &str,
    invoice: &Value,
    charge: Charge,
) {
    if charge != Charge::NotAttempted && amount_due(invoice) > 0 {
        store.billing.fail_next_payment.remove(subscription);
    }
}

/// Creates a subscription and its first invoice, finalized at once and charged per
/// `payment_behavior` (SEMANTICS §5). Events: `customer.subscription.created`, then the invoice's.
pub fn create(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    new: NewSubscription,
) -> Result<Value, ApiError> {
    let now = ctx.now;
    let first = new
        .items
        .first()
        .ok_or_else(|| ApiError::missing_parameter("items"))?;
    let recurrence = first
        .recurrence()
        .ok_or_else(|| ApiError::invalid("items", "The price is not recurring."))?;
    let currency = first.price["currency"].clone();
    let id = ids::generate("sub", ids::LONG);
    let mut subscription = blank(&id, &new, &currency, now);
    subscription["test_clock"] = test_clocks::field_for(store, &new.customer);
    if let Some(update) = &new.metadata {
        update.apply(&mut subscription["metadata"])?;
    }
    let (period, trial) = match new.trial_end {
        Some(end) => ((now, end), true),
        None => (
            (
                now,
                calendar::add(now, recurrence.interval, recurrence.count),
            ),
            false,
        ),
    };
    subscription["billing_cycle_anchor"] = json!(if trial { period.1 } else { now });
    if trial {
        subscription["trial_start"] = json!(now);
        subscription["trial_end"] = json!(period.1);
    }
    set_items(&mut subscription, &new.items, period);
    set_cancel_at_period_end(&mut subscription, new.cancel_at_period_end, ctx);
    let invoice_id = ids::generate("in", ids::LONG);
    let invoice = subscription_invoice(
        store,
        InvoiceSpec {
            id: invoice_id.clone(),
            subscription: &subscription,
            pending: Vec::new(),
            recurring: &new.items,
            recurring_period: period,
            trial,
            billing_reason: "subscription_create",
            period: (now, now),
            created: now,
            proration_date: None,
            next_payment_attempt: None,
        },
    )?;
    let payment = decide_charge(
        store,
        ctx,
        &subscription,
        &invoice,
        new.payment_behavior,
        Attempt::OnSession,
    );
    refuse(payment.charge, new.payment_behavior, ctx)?;
    let charged_now = subscription["collection_method"] == "charge_automatically";
    subscription["status"] = json!(match payment.charge {
        Charge::Paid if trial => "trialing",
        Charge::Paid => "active",
        Charge::NotAttempted if !charged_now => "active",
        _ => "incomplete",
    });
    subscription["latest_invoice"] = json!(invoice_id);
    changes.created("customer.subscription.created", &subscription);
    store.subscriptions.insert(subscription.clone());
    invoices::commit(store, changes, invoice);
    invoices::finalize(store, changes, ctx, &invoice_id);
    invoices::settle(
        store,
        changes,
        ctx,
        &invoice_id,
        &payment,
        Attempt::OnSession,
    );
    Ok(subscription)
}

/// The period after `period_end` for the subscription's cycle.
pub fn next_period(subscription: &Value, items: &[Item], period_end: i64) -> (i64, i64) {
    let anchor = subscription["billing_cycle_anchor"]
        .as_i64()
        .unwrap_or(period_end);
    match items.first().and_then(Item::recurrence) {
        Some(r) => (
            period_end,
            calendar::next_boundary(anchor, r.interval, r.count, period_end),
        ),
        None => (period_end, period_end),
    }
}

/// Renews at the current period's end (`ctx.now`): new item periods, an invoice with the pending
/// items and the new period's charges, charged off-session. A failed payment makes the
/// subscription `past_due` and is retried on the schedule; an `unpaid` subscription's invoice is
/// not attempted. Ends a trial the same way.
pub fn renew(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    id: &str,
) -> Result<(), ApiError> {
    let Some(before) = store.subscriptions.get(id).cloned() else {
        return Ok(());
    };
    let items = items_of(&before);
    let current = period_of(&before);
    let next = next_period(&before, &items, current.1);
    let mut after = before.clone();
    set_items(&mut after, &items, next);
    let invoice_id = ids::generate("in", ids::LONG);
    let draft = subscription_invoice(
        store,
        InvoiceSpec {
            id: invoice_id.clone(),
            subscription: &after,
            pending: invoices::pending_items(store, id),
            recurring: &items,
            recurring_period: next,
            trial: false,
            billing_reason: "subscription_cycle",
            period: current,
            created: ctx.now,
            proration_date: None,
            next_payment_attempt: None,
        },
    )?;
    let payment = decide_charge(
        store,
        ctx,
        &after,
        &draft,
        PaymentBehavior::AllowIncomplete,
        Attempt::Automatic,
    );
    after["status"] = json!(match payment.charge {
        _ if before["status"] == "unpaid" => "unpaid",
        Charge::Paid | Charge::NotAttempted => "active",
        _ => "past_due",
    });
    after["latest_invoice"] = json!(invoice_id);
    changes.updated("customer.subscription.updated", &before, &after);
    store.subscriptions.insert(after);
    consume_failure_switch(store, id, &draft, payment.charge);
    invoices::commit(store, changes, draft);
    invoices::finalize(store, changes, ctx, &invoice_id);
    if invoices::settle(
        store,
        changes,
        ctx,
        &invoice_id,
        &payment,
        Attempt::Automatic,
    ) {
        payments::end_dunning(store, changes, ctx, &invoice_id);
    }
    Ok(())
}

/// Cancels now (`ctx.now`): `canceled`, `ended_at`, `customer.subscription.deleted`; an attached
/// schedule is canceled too. Pending invoice items stay pending (no final invoice).
pub fn cancel(store: &mut Store, changes: &mut Changes, ctx: &Ctx, id: &str) -> Option<Value> {
    let mut subscription = store.subscriptions.get(id).cloned()?;
    subscription["status"] = json!("canceled");
    subscription["ended_at"] = json!(ctx.now);
    if subscription["canceled_at"].is_null() {
        subscription["canceled_at"] = json!(ctx.now);
    }
    if subscription["cancellation_details"]["reason"].is_null() {
        subscription["cancellation_details"]["reason"] = json!("cancellation_requested");
    }
    changes.deleted("customer.subscription.deleted", &subscription);
    store.subscriptions.insert(subscription.clone());
    store.billing.fail_next_payment.remove(id);
    if let Some(schedule) = subscription["schedule"].as_str() {
        schedules::cancel_schedule_only(store, changes, ctx, schedule);
    }
    Some(subscription)
}

/// Deleting a customer cancels its live subscriptions at once (Stripe's documented behaviour).
pub fn cancel_all_of(store: &mut Store, changes: &mut Changes, ctx: &Ctx, customer: &str) {
    let live: Vec<String> = store
        .subscriptions
        .oldest_first()
        .filter(|s| s["customer"] == customer && !is_ended(s))
        .map(|s| id_of(s).to_owned())
        .collect();
    for id in live {
        if let Some(mut subscription) = store.subscriptions.get(&id).cloned() {
            subscription["canceled_at"] = json!(ctx.now);
            store.subscriptions.insert(subscription);
        }
        cancel(store, changes, ctx, &id);
    }
}

/// An `incomplete` subscription whose first invoice went unpaid for 23 hours: `incomplete_expired`,
/// the invoice voided.
pub fn expire(store: &mut Store, changes: &mut Changes, ctx: &Ctx, id: &str) {
    let Some(before) = store.subscriptions.get(id).cloned() else {
        return;
    };
    let mut after = before.clone();
    after["status"] = json!("incomplete_expired");
    after["ended_at"] = json!(ctx.now);
    changes.updated("customer.subscription.updated", &before, &after);
    store.subscriptions.insert(after);
    if let Some(invoice) = before["latest_invoice"].as_str() {
        invoices::void(store, changes, ctx, invoice);
    }
}

/// Detaching a payment method (switch `detach_clears_default`) nulls it as the default of the
/// customer's live subscriptions: `customer.subscription.updated` each.
pub fn clear_default_payment_method(
    store: &mut Store,
    changes: &mut Changes,
    customer: &str,
    payment_method: &str,
) {
    let affected: Vec<Value> = store
        .subscriptions
        .oldest_first()
        .filter(|s| {
            s["customer"] == customer
                && s["default_payment_method"] == payment_method
                && !is_ended(s)
        })
        .cloned()
        .collect();
    for before in affected {
        let mut after = before.clone();
        after["default_payment_method"] = Value::Null;
        changes.updated("customer.subscription.updated", &before, &after);
        store.subscriptions.insert(after);
    }
}
