//! Item changes of a subscription: planned by [`plan_change`] without changing anything (the
//! invoice preview and schedule phases run it too), then applied by [`apply_update`], so a preview
//! computes exactly what the update will charge.

use serde_json::{Value, json};

use super::invoices::{self, Attempt, Charge, Payment};
use super::proration::{self, Proration};
use super::subscriptions::{
    InvoiceSpec, amount_due, consume_failure_switch, decide_charge, id_of, items_of, period_of,
    refuse, set_items, subscription_invoice,
};
use super::{Ctx, Item, PaymentBehavior, ProrationBehavior, pending_updates};
use crate::model::calendar;
use crate::model::catalogue;
use crate::model::error::ApiError;
use crate::model::events::Changes;
use crate::model::ids;
use crate::model::store::Store;

/// Whether a change is invoiced at once, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Immediate {
    /// `always_invoice`: an invoice with the prorations (and other pending items) now.
    Prorations,
    /// The billing cycle restarts now (interval change, `billing_cycle_anchor=now`): the
    /// prorations plus the whole new period, invoiced now.
    NewPeriod,
}

/// What an item change does, computed without changing anything: the subscription update and
/// the invoice preview both run it.
#[derive(Debug, Clone)]
pub struct ChangePlan {
    pub after: Vec<Item>,
    pub prorations: Vec<Proration>,
    /// The items' period after the change.
    pub period: (i64, i64),
    pub anchor: i64,
    pub immediate: Option<Immediate>,
    /// The proration time.
    pub t: i64,
}

/// `proration_date` must fall inside the current period (Stripe refuses others: the message is
/// the fake's own).
pub fn check_proration_date(subscription: &Value, t: i64, param: &str) -> Result<(), ApiError> {
    let (start, end) = period_of(subscription);
    if (start..end).contains(&t) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            param,
            format!(
                "The proration date {t} must be within the subscription's current billing \
                 period ({start} to {end})."
            ),
        ))
    }
}

/// Plans moving `subscription` to the items `after` at time `t`. Prorations per
/// [`proration::prorations`] unless `behavior` is `none`; a trialing subscription prorates
/// nothing (trial time is free). A different billing interval, or `restart`
/// (`billing_cycle_anchor=now`), restarts the billing cycle at `t`.
pub fn plan_change(
    store: &Store,
    subscription: &Value,
    after: Vec<Item>,
    behavior: ProrationBehavior,
    t: i64,
    restart: bool,
) -> ChangePlan {
    let before = items_of(subscription);
    let period = period_of(subscription);
    let anchor = subscription["billing_cycle_anchor"]
        .as_i64()
        .unwrap_or(period.0);
    let old = before.first().and_then(Item::recurrence);
    let new = after.first().and_then(Item::recurrence);
    let name = |price: &Value| catalogue::product_name(store, price);
    let unchanged = |prorations| ChangePlan {
        after: after.clone(),
        prorations,
        period,
        anchor,
        immediate: None,
        t,
    };
    if subscription["status"] == "trialing" {
        return unchanged(Vec::new());
    }
    let restart = restart || old != new;
    // At (or past) the period's end there is no time left to prorate.
    let prorations = if behavior == ProrationBehavior::None || t >= period.1 {
        Vec::new()
    } else {
        proration::prorations(&before, &after, period, t, restart, name)
    };
    match new {
        Some(recurrence) if restart => ChangePlan {
            period: (t, calendar::add(t, recurrence.interval, recurrence.count)),
            anchor: t,
            immediate: Some(Immediate::NewPeriod),
            ..unchanged(prorations)
        },
        _ => {
            let immediate = (behavior == ProrationBehavior::AlwaysInvoice
                && !prorations.is_empty())
            .then_some(Immediate::Prorations);
            ChangePlan {
                immediate,
                ..unchanged(prorations)
            }
        }
    }
}

/// Ends a trial at `t`: the billing cycle restarts at `t` with the items `after`, whose first
/// period is invoiced at once. Nothing is prorated: trial time is free.
pub fn end_trial(after: Vec<Item>, t: i64) -> ChangePlan {
    let period = after
        .first()
        .and_then(Item::recurrence)
        .map_or((t, t), |r| (t, calendar::add(t, r.interval, r.count)));
    ChangePlan {
        after,
        prorations: Vec::new(),
        period,
        anchor: t,
        immediate: Some(Immediate::NewPeriod),
        t,
    }
}

/// The plan's prorations as invoice items: stored ones get `ii_…` ids, a preview's have none.
pub fn proration_items(
    store: &Store,
    subscription: &Value,
    plan: &ChangePlan,
    persist: bool,
    date: i64,
) -> Vec<Value> {
    let customer = subscription["customer"].as_str().unwrap_or_default();
    plan.prorations
        .iter()
        .map(|p| {
            let id = if persist {
                json!(ids::generate("ii", ids::LONG))
            } else {
                Value::Null
            };
            invoices::invoice_item(store, p, id, customer, id_of(subscription), date)
        })
        .collect()
}

/// The subscription's pending items with `new` ones added, in invoice order.
pub fn with_pending(store: &Store, subscription: &str, new: &[Value]) -> Vec<Value> {
    let mut pending = invoices::pending_items(store, subscription);
    pending.extend(new.iter().cloned());
    pending.sort_by_key(|ii| std::cmp::Reverse(ii["date"].as_i64().unwrap_or(0)));
    pending
}

/// The invoice an immediate change creates, or its preview: pending items (the change's
/// prorations included) and, when the cycle restarts, the new period in full. Its period is the
/// proration time.
pub fn immediate_invoice(
    store: &Store,
    subscription_after: &Value,
    plan: &ChangePlan,
    pending: Vec<Value>,
    id: String,
    preview: bool,
    created: i64,
) -> Result<Value, ApiError> {
    let restart = plan.immediate == Some(Immediate::NewPeriod);
    subscription_invoice(
        store,
        InvoiceSpec {
            id,
            subscription: subscription_after,
            pending,
            recurring: if restart { &plan.after } else { &[] },
            recurring_period: plan.period,
            trial: false,
            billing_reason: if preview {
                "upcoming"
            } else {
                "subscription_update"
            },
            period: (plan.t, plan.t),
            created,
            proration_date: preview.then_some(plan.t),
            next_payment_attempt: preview.then_some(plan.t),
        },
    )
}

/// Applies an update: `after` holds the simple field changes already; `plan` (if items
/// changed) adds proration items, new items and period, and maybe an immediate invoice charged
/// per `payment_behavior`. Under `pending_if_incomplete` an immediate invoice that does not pay
/// leaves the subscription unchanged with a pending update (`super::pending_updates`); its
/// proration items are on that invoice, so they never reach the next renewal. Events:
/// `invoiceitem.created` per proration, `customer.subscription.updated`, then the invoice's.
pub fn apply_update(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    before: &Value,
    mut after: Value,
    plan: Option<ChangePlan>,
    behavior: PaymentBehavior,
) -> Result<Value, ApiError> {
    let id = id_of(before).to_owned();
    let Some(plan) = plan else {
        changes.updated("customer.subscription.updated", before, &after);
        store.subscriptions.insert(after.clone());
        return Ok(after);
    };
    let new_items = proration_items(store, &after, &plan, true, ctx.now);
    after["billing_cycle_anchor"] = json!(plan.anchor);
    set_items(&mut after, &plan.after, plan.period);
    let mut invoice = None;
    let mut payment = Payment {
        charge: Charge::NotAttempted,
        method: None,
    };
    let mut held = false;
    if plan.immediate.is_some() {
        let invoice_id = ids::generate("in", ids::LONG);
        let pending = with_pending(store, &id, &new_items);
        let draft = immediate_invoice(
            store,
            &after,
            &plan,
            pending,
            invoice_id.clone(),
            false,
            ctx.now,
        )?;
        payment = decide_charge(store, ctx, &after, &draft, behavior, Attempt::OnSession);
        refuse(payment.charge, behavior, ctx)?;
        held = behavior == PaymentBehavior::PendingIfIncomplete && payment.charge != Charge::Paid;
        let owes = amount_due(&draft) > 0 && after["collection_method"] == "charge_automatically";
        if owes && payment.charge != Charge::Paid && !held {
            after["status"] = json!("past_due");
        }
        after["latest_invoice"] = json!(invoice_id);
        invoice = Some((invoice_id, draft));
    }
    let mut debits = Vec::new();
    for item in new_items {
        if item["amount"].as_i64().unwrap_or(0) > 0
            && let Some(si) = item["parent"]["subscription_details"]["subscription_item"].as_str()
        {
            debits.push((
                si.to_owned(),
                json!({
                    "invoice_item": item["id"],
                    "invoice_line_item_details": null,
                    "type": "invoice_item"
                }),
            ));
        }
        changes.created("invoiceitem.created", &item);
        store.invoice_items.insert(item);
    }
    let restarts = plan.immediate == Some(Immediate::NewPeriod);
    let result = match &invoice {
        Some((invoice_id, _)) if held => {
            pending_updates::hold(store, changes, ctx, before, after, restarts, invoice_id)
        }
        _ => {
            store.billing.item_debits.extend(debits.drain(..));
            changes.updated("customer.subscription.updated", before, &after);
            store.subscriptions.insert(after.clone());
            after
        }
    };
    if let Some((invoice_id, draft)) = invoice {
        consume_failure_switch(store, &id, &draft, payment.charge);
        if held {
            // The invoice's lines debit the new items only once the change applies.
            let saved: Vec<(String, Option<Value>)> = plan
                .after
                .iter()
                .map(|item| {
                    (
                        item.id.clone(),
                        store.billing.item_debits.get(&item.id).cloned(),
                    )
                })
                .collect();
            invoices::commit(store, changes, draft);
            for (item, old) in saved {
                let new = match old {
                    Some(old) => store.billing.item_debits.insert(item.clone(), old),
                    None => store.billing.item_debits.remove(&item),
                };
                debits.extend(new.map(|new| (item, new)));
            }
            pending_updates::add_debits(store, &id, debits);
        } else {
            invoices::commit(store, changes, draft);
        }
        invoices::finalize(store, changes, ctx, &invoice_id);
        invoices::settle(
            store,
            changes,
            ctx,
            &invoice_id,
            &payment,
            Attempt::OnSession,
        );
    }
    Ok(result)
}
