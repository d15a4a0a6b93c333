//! Clock-driven billing: after `POST /_fake/clock/advance`, everything that fell due runs in time
//! order, each at its own moment (object timestamps are the boundary, not "now"): schedule
//! starts and phase transitions, `customer.subscription.trial_will_end`, `cancel_at`, pending
//! update expiry, period ends (cancellation at period end, renewals, trial ends), payment
//! retries and incomplete expiry. At one instant a schedule acts first, so a renewal at a phase
//! boundary bills the new phase's price, and a pending update expiring at the period end is gone
//! before the renewal.

use super::{Ctx, payments, pending_updates, schedules, subscriptions, test_clocks};
use serde_json::Value;

use crate::model::events::Changes;
use crate::model::store::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Schedule,
    TrialWillEnd,
    CancelAt,
    PendingUpdateExpiry,
    PeriodEnd,
    /// `id` is the invoice.
    Retry,
    Expire,
}

#[derive(Debug)]
struct Due {
    at: i64,
    kind: Kind,
    id: String,
}

fn rank(kind: &Kind) -> u8 {
    match kind {
        Kind::Schedule => 0,
        Kind::TrialWillEnd => 1,
        Kind::CancelAt => 2,
        Kind::PendingUpdateExpiry => 3,
        Kind::PeriodEnd => 4,
        Kind::Retry => 5,
        Kind::Expire => 6,
    }
}

/// What is due by `now`; a test clock customer's objects are due by their clock's frozen time.
fn next_due(store: &Store, now: i64) -> Option<Due> {
    let now_of = |object: &Value| {
        test_clocks::now_for(store, object["customer"].as_str().unwrap_or_default(), now)
    };
    let mut due: Vec<Due> = Vec::new();
    for schedule in store.subscription_schedules.oldest_first() {
        let now = now_of(schedule);
        if let Some(at) = schedules::due_at(schedule).filter(|at| *at <= now) {
            due.push(Due {
                at,
                kind: Kind::Schedule,
                id: subscriptions::id_of(schedule).to_owned(),
            });
        }
    }
    for subscription in store.subscriptions.oldest_first() {
        if subscriptions::is_ended(subscription) {
            continue;
        }
        let id = subscriptions::id_of(subscription).to_owned();
        let now = now_of(subscription);
        let status = subscription["status"].as_str().unwrap_or_default();
        let mut push = |at: i64, kind: Kind| {
            if at <= now {
                due.push(Due {
                    at,
                    kind,
                    id: id.clone(),
                });
            }
        };
        if status == "trialing"
            && !store.billing.trial_will_end_sent.contains(&id)
            && let (Some(start), Some(end)) = (
                subscription["trial_start"].as_i64(),
                subscription["trial_end"].as_i64(),
            )
        {
            push(
                (end - subscriptions::TRIAL_WILL_END_NOTICE).max(start),
                Kind::TrialWillEnd,
            );
        }
        if let Some(at) = subscription["cancel_at"].as_i64() {
            push(at, Kind::CancelAt);
        }
        if matches!(status, "active" | "past_due" | "trialing" | "unpaid") {
            push(subscriptions::period_of(subscription).1, Kind::PeriodEnd);
        }
        if status == "incomplete"
            && let Some(created) = subscription["created"].as_i64()
        {
            push(created + subscriptions::INCOMPLETE_EXPIRY, Kind::Expire);
        }
    }
    for (id, at) in pending_updates::expiries(store) {
        let customer = store.subscriptions.get(id).cloned().unwrap_or_default();
        if at <= now_of(&customer) {
            due.push(Due {
                at,
                kind: Kind::PendingUpdateExpiry,
                id: id.to_owned(),
            });
        }
    }
    for invoice_id in store.billing.retries.keys() {
        let Some(invoice) = store.invoices.get(invoice_id) else {
            continue;
        };
        let live = store
            .subscriptions
            .get(
                invoice["parent"]["subscription_details"]["subscription"]
                    .as_str()
                    .unwrap_or(""),
            )
            .is_some_and(|s| !subscriptions::is_ended(s));
        if let Some(at) = invoice["next_payment_attempt"].as_i64()
            && live
            && at <= now_of(invoice)
        {
            due.push(Due {
                at,
                kind: Kind::Retry,
                id: invoice_id.clone(),
            });
        }
    }
    // Ids break ties so that the order does not depend on hash maps.
    due.into_iter()
        .min_by(|a, b| (a.at, rank(&a.kind), &a.id).cmp(&(b.at, rank(&b.kind), &b.id)))
}

fn apply(store: &mut Store, changes: &mut Changes, ctx: &Ctx, due: &Due) {
    let id = due.id.as_str();
    match due.kind {
        Kind::Schedule => schedules::advance(store, changes, ctx, id),
        Kind::TrialWillEnd => {
            store.billing.trial_will_end_sent.insert(id.to_owned());
            if let Some(subscription) = store.subscriptions.get(id) {
                changes.event("customer.subscription.trial_will_end", subscription);
            }
        }
        Kind::CancelAt => {
            subscriptions::cancel(store, changes, ctx, id);
        }
        Kind::PeriodEnd => {
            let cancel = store
                .subscriptions
                .get(id)
                .is_some_and(|s| s["cancel_at_period_end"] == true);
            if cancel {
                subscriptions::cancel(store, changes, ctx, id);
            } else if subscriptions::renew(store, changes, ctx, id).is_err() {
                // The customer is gone: nothing can be billed any more.
                subscriptions::cancel(store, changes, ctx, id);
            }
        }
        Kind::PendingUpdateExpiry => pending_updates::expire(store, changes, ctx, id),
        Kind::Retry => payments::retry(store, changes, ctx, id),
        Kind::Expire => subscriptions::expire(store, changes, ctx, id),
    }
}

/// Runs the earliest transition due at `ctx.now`, at its own moment; false when nothing is due.
/// The caller runs it until false, one store write (and its events) per transition.
pub fn run_next(store: &mut Store, changes: &mut Changes, ctx: &Ctx) -> bool {
    let Some(due) = next_due(store, ctx.now) else {
        return false;
    };
    apply(store, changes, &ctx.at(due.at), &due);
    true
}
