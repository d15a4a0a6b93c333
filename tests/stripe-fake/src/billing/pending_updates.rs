//! Pending updates (`payment_behavior=pending_if_incomplete`, SEMANTICS §13 "Pending updates"
//! [S54][S55]): an update whose invoice does not pay at once leaves the subscription as it was,
//! with a `pending_update` hash and the open invoice as `latest_invoice`. Paying that invoice
//! applies the change; at `expires_at` the invoice is voided and the change dropped.

use serde_json::{Value, json};

use super::subscriptions::{id_of, period_of};
use super::{Ctx, invoices};
use crate::model::error::ApiError;
use crate::model::events::Changes;
use crate::model::store::{PendingUpdate, Store};

/// A pending update lives at most this long after the update call [S54].
const MAX_LIFETIME: i64 = 23 * 3600;

/// What a pending update changes when it applies.
const APPLIED_FIELDS: &[&str] = &[
    "items",
    "billing_cycle_anchor",
    "cancel_at_period_end",
    "cancel_at",
    "canceled_at",
    "cancellation_details",
];

/// "The trial end time or the current period end, whichever comes first", at most 23 hours
/// after the update [S54].
fn expires_at(subscription: &Value, now: i64) -> i64 {
    let period_end = period_of(subscription).1;
    let trial_end = subscription["trial_end"]
        .as_i64()
        .filter(|_| subscription["status"] == "trialing");
    trial_end
        .map_or(period_end, |end| end.min(period_end))
        .min(now + MAX_LIFETIME)
}

/// Holds the change from `before` to `after` (the subscription as the paid update would leave
/// it) until `invoice` is paid: the subscription shows only `pending_update` (the would-be items,
/// the new `billing_cycle_anchor` when the cycle restarts, endive's `cancel_at_period_end` [S55])
/// and the new `latest_invoice`; its status does not change. Returns the subscription as kept.
pub fn hold(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    before: &Value,
    mut after: Value,
    restarts: bool,
    invoice: &str,
) -> Value {
    let changed = |key: &str| {
        if before[key] == after[key] {
            Value::Null
        } else {
            after[key].clone()
        }
    };
    let hash = json!({
        "billing_cycle_anchor": if restarts { after["billing_cycle_anchor"].clone() } else { Value::Null },
        "cancel_at_period_end": changed("cancel_at_period_end"),
        "discount": null,
        "discounts": null,
        "expires_at": expires_at(before, ctx.now),
        "metadata": null,
        "subscription_items": after["items"]["data"],
        "trial_end": null,
        "trial_from_plan": null
    });
    let mut kept = before.clone();
    kept["pending_update"] = hash;
    kept["latest_invoice"] = json!(invoice);
    changes.updated("customer.subscription.updated", before, &kept);
    store.subscriptions.insert(kept.clone());
    after["latest_invoice"] = json!(invoice);
    store.billing.pending_updates.insert(
        id_of(before).to_owned(),
        PendingUpdate {
            invoice: invoice.to_owned(),
            after,
            debits: Vec::new(),
        },
    );
    kept
}

/// Records what the held change's invoice debited, to take effect when it applies.
pub fn add_debits(store: &mut Store, subscription: &str, debits: Vec<(String, Value)>) {
    if let Some(pending) = store.billing.pending_updates.get_mut(subscription) {
        pending.debits.extend(debits);
    }
}

/// The invoice `invoice` was paid: if the subscription's pending update waited for it, the
/// change applies and `pending_update` is cleared (`customer.subscription.updated`,
/// `customer.subscription.pending_update_applied`).
pub fn apply(store: &mut Store, changes: &mut Changes, subscription: &str, invoice: &str) {
    if store
        .billing
        .pending_updates
        .get(subscription)
        .is_none_or(|p| p.invoice != invoice)
    {
        return;
    }
    let Some(pending) = store.billing.pending_updates.remove(subscription) else {
        return;
    };
    let Some(before) = store.subscriptions.get(subscription).cloned() else {
        return;
    };
    let mut after = before.clone();
    for key in APPLIED_FIELDS {
        after[*key] = pending.after[*key].clone();
    }
    after["pending_update"] = Value::Null;
    store.billing.item_debits.extend(pending.debits);
    changes.updated("customer.subscription.updated", &before, &after);
    changes.event("customer.subscription.pending_update_applied", &after);
    store.subscriptions.insert(after);
}

/// Drops a pending update (clock-driven at `expires_at`, or a later conflicting update [S55]):
/// its invoice is voided, `pending_update` cleared (`customer.subscription.updated`,
/// `customer.subscription.pending_update_expired`); the subscription keeps its items.
pub fn expire(store: &mut Store, changes: &mut Changes, ctx: &Ctx, subscription: &str) {
    let Some(pending) = store.billing.pending_updates.remove(subscription) else {
        return;
    };
    invoices::void(store, changes, ctx, &pending.invoice);
    let Some(before) = store.subscriptions.get(subscription).cloned() else {
        return;
    };
    let mut after = before.clone();
    after["pending_update"] = Value::Null;
    changes.updated("customer.subscription.updated", &before, &after);
    changes.event("customer.subscription.pending_update_expired", &after);
    store.subscriptions.insert(after);
}

/// Pending updates by subscription with when they expire (for the clock).
pub fn expiries(store: &Store) -> impl Iterator<Item = (&str, i64)> {
    store.billing.pending_updates.keys().filter_map(|id| {
        let at = store.subscriptions.get(id)?["pending_update"]["expires_at"].as_i64()?;
        Some((id.as_str(), at))
    })
}

/// A further update while a change is pending. Stripe's pending-updates reference does not say
/// what happens to an update that would invoice again, so the fake refuses item and billing
/// cycle changes (README "Refusals"); a `cancel_at_period_end` that conflicts with the pending
/// one expires the pending update first (endive changelog [S55]); anything else goes through.
pub fn before_update(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    subscription: &Value,
    changes_items: bool,
    cancel_at_period_end: Option<bool>,
) -> Result<(), ApiError> {
    let hash = &subscription["pending_update"];
    if !hash.is_object() {
        return Ok(());
    }
    if changes_items {
        return Err(ApiError::state_refused(format!(
            "The subscription {} has a pending update (its invoice {} is unpaid). Pay that \
             invoice or let the pending update expire at {} before changing items or the \
             billing cycle.",
            id_of(subscription),
            subscription["latest_invoice"].as_str().unwrap_or_default(),
            hash["expires_at"]
        )));
    }
    let pending = hash["cancel_at_period_end"].as_bool();
    if cancel_at_period_end.is_some_and(|wanted| pending.is_some_and(|p| p != wanted)) {
        expire(store, changes, ctx, id_of(subscription));
    }
    Ok(())
}
