//! Clock-driven billing: after `POST /_fake/clock/advance`, everything that fell due runs in time
//! order, each at its own moment (object timestamps are the boundary, not "now"): schedule
//! starts and phase transitions, `customer.subscription.trial_will_end`, `cancel_at`,
//! period ends (cancellation at period end, renewals, trial ends) and incomplete expiry. At one
//! instant a schedule acts first, so a renewal at a phase boundary bills the new phase's price.

use std::convert::Infallible;

use super::{Ctx, schedules, subscriptions};
use crate::app::App;
use crate::events::Changes;
use crate::store::Store;

/// A safety net against a transition that fails to move its object forward.
const MAX_STEPS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Schedule,
    TrialWillEnd,
    CancelAt,
    PeriodEnd,
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
        Kind::PeriodEnd => 3,
        Kind::Expire => 4,
    }
}

fn next_due(store: &Store, now: i64) -> Option<Due> {
    let mut due: Vec<Due> = Vec::new();
    for schedule in store.subscription_schedules.oldest_first() {
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
        if matches!(status, "active" | "past_due" | "trialing") {
            push(subscriptions::period_of(subscription).1, Kind::PeriodEnd);
        }
        if status == "incomplete"
            && let Some(created) = subscription["created"].as_i64()
        {
            push(created + subscriptions::INCOMPLETE_EXPIRY, Kind::Expire);
        }
    }
    due.into_iter().min_by_key(|d| (d.at, rank(&d.kind)))
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
        Kind::Expire => subscriptions::expire(store, changes, ctx, id),
    }
}

/// Runs every transition due at the fake clock's now; returns how many ran.
pub fn run_due(app: &App) -> usize {
    let mut processed = 0;
    while processed < MAX_STEPS {
        let ctx = Ctx::of(app);
        let ran = app.write_automatic(|store, changes| {
            let Some(due) = next_due(store, ctx.now) else {
                return Ok::<_, Infallible>(false);
            };
            apply(store, changes, &ctx.at(due.at), &due);
            Ok(true)
        });
        if ran != Ok(true) {
            break;
        }
        processed += 1;
    }
    processed
}
