//! Subscription schedules (SEMANTICS §8): phases that switch a subscription's items at their
//! boundaries, release, cancel, and completion at the last phase's end.

use serde_json::{Value, json};

use super::item_changes::{self, ChangePlan};
use super::subscriptions::{self, InvoiceSpec, NewSubscription};
use super::{Ctx, Item, PaymentBehavior, ProrationBehavior, test_clocks};
use crate::model::behaviours::TrialOmitted;
use crate::model::calendar::{self, Interval};
use crate::model::catalogue::Recurrence;
use crate::model::error::ApiError;
use crate::model::events::Changes;
use crate::model::ids;
use crate::model::metadata::MetadataUpdate;
use crate::model::store::Store;

pub const RESOURCE: &str = "subscription schedule";
pub const MAX_PHASES: usize = 10;

/// One price in a phase.
#[derive(Debug, Clone)]
pub struct PhaseItem {
    pub price: Value,
    pub quantity: u64,
    pub metadata: Value,
}

/// A phase with its dates resolved.
#[derive(Debug, Clone)]
pub struct Phase {
    pub start: i64,
    pub end: i64,
    pub items: Vec<PhaseItem>,
    pub proration_behavior: ProrationBehavior,
    pub metadata: Value,
    /// The subscription trials until then (first phase only).
    pub trial_end: Option<i64>,
}

/// How a requested phase ends.
#[derive(Debug, Clone, Copy)]
pub enum PhaseEnd {
    At(i64),
    Duration(Interval, i64),
}

/// One phase as a request gives it.
#[derive(Debug, Clone)]
pub struct PhaseInput {
    pub start: Option<i64>,
    pub end: Option<PhaseEnd>,
    pub items: Vec<PhaseItem>,
    pub proration_behavior: Option<ProrationBehavior>,
    pub metadata: Value,
    /// `trial=true`: the whole phase is a trial.
    pub trial: bool,
    pub trial_end: Option<i64>,
}

/// Whether phases come from a create (`trial_end` must be before the phase's end and cannot be
/// combined with `trial`) or an update / preview (`trial_end` within the phase, equal to its end
/// when combined with `trial=true`): Stripe's parameter descriptions (SEMANTICS §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseRules {
    Create,
    Update,
}

fn live(status: &Value) -> bool {
    matches!(status.as_str(), Some("not_started" | "active"))
}

/// A phase's trial end from `trial` / `trial_end`. Only the first phase may have a trial (a trial
/// starting at a later phase is not modelled).
fn trial_end(
    input: &PhaseInput,
    i: usize,
    (start, end): (i64, i64),
    prefix: &str,
    rules: PhaseRules,
) -> Result<Option<i64>, ApiError> {
    let param = format!("{prefix}[{i}][trial_end]");
    let at = match (input.trial, input.trial_end) {
        (false, None) => return Ok(None),
        (true, None) => end,
        (true, Some(_)) if rules == PhaseRules::Create => {
            return Err(ApiError::invalid(
                param,
                "You may only specify one of these parameters: trial, trial_end.",
            ));
        }
        (true, Some(at)) if at != end => {
            return Err(ApiError::invalid(
                param,
                "When `trial` is true, `trial_end` must equal the phase's end_date.",
            ));
        }
        (_, Some(at)) => at,
    };
    if i > 0 {
        // A trial starting at a later phase is not modelled.
        let key = if input.trial_end.is_some() {
            param
        } else {
            format!("{prefix}[{i}][trial]")
        };
        return Err(ApiError::not_implemented(&key));
    }
    let within = match rules {
        PhaseRules::Create => start < at && at < end,
        PhaseRules::Update => start < at && at <= end,
    };
    if !within {
        return Err(ApiError::invalid(
            param,
            "The trial_end must be within the phase: after its start_date and not after its \
             end_date.",
        ));
    }
    Ok(Some(at))
}

/// Dates for each phase: the first starts at `first_start` (an active schedule's current phase
/// must keep its start), each later one where the previous ended; an end is `end_date`, a
/// `duration`, or (last phase only) one billing interval of its first price. `prefix` names the
/// phases in errors (`phases`, `schedule_details[phases]`).
pub fn resolve_phases(
    inputs: Vec<PhaseInput>,
    first_start: i64,
    prefix: &str,
    rules: PhaseRules,
) -> Result<Vec<Phase>, ApiError> {
    if inputs.is_empty() {
        return Err(ApiError::missing_parameter(prefix));
    }
    if inputs.len() > MAX_PHASES {
        return Err(ApiError::invalid(
            prefix,
            format!(
                "A subscription schedule can have at most {MAX_PHASES} current or future phases."
            ),
        ));
    }
    let count = inputs.len();
    let mut phases: Vec<Phase> = Vec::with_capacity(count);
    for (i, input) in inputs.into_iter().enumerate() {
        let expected = phases.last().map_or(first_start, |p| p.end);
        let start = input.start.unwrap_or(expected);
        if start != expected {
            let message = if i == 0 {
                format!("The start_date of the current phase cannot be changed (it is {expected}).")
            } else {
                format!(
                    "The end_date of phase {} ({expected}) must equal the start_date of phase {i} \
                     ({start}).",
                    i - 1
                )
            };
            return Err(ApiError::invalid(
                format!("{prefix}[{i}][start_date]"),
                message,
            ));
        }
        if input.items.is_empty() {
            return Err(ApiError::missing_parameter(&format!(
                "{prefix}[{i}][items]"
            )));
        }
        let end = match input.end {
            Some(PhaseEnd::At(end)) => end,
            Some(PhaseEnd::Duration(interval, n)) => calendar::add(start, interval, n),
            None if i + 1 == count => {
                let recurrence = Recurrence::of(&input.items[0].price).unwrap_or(Recurrence {
                    interval: Interval::Month,
                    count: 1,
                });
                calendar::add(start, recurrence.interval, recurrence.count)
            }
            None => {
                return Err(ApiError::missing_parameter(&format!(
                    "{prefix}[{i}][end_date]"
                )));
            }
        };
        if end <= start {
            return Err(ApiError::invalid(
                format!("{prefix}[{i}][end_date]"),
                "The end_date of a phase must be after its start_date.",
            ));
        }
        let trial_end = trial_end(&input, i, (start, end), prefix, rules)?;
        phases.push(Phase {
            start,
            end,
            items: input.items,
            proration_behavior: input
                .proration_behavior
                .unwrap_or(ProrationBehavior::CreateProrations),
            metadata: input.metadata,
            trial_end,
        });
    }
    Ok(phases)
}

fn phase_json(phase: &Phase) -> Value {
    let items: Vec<Value> = phase
        .items
        .iter()
        .map(|item| {
            json!({
                "billing_thresholds": null,
                "discounts": [],
                "metadata": item.metadata,
                "plan": item.price["id"],
                "price": item.price["id"],
                "quantity": item.quantity,
                "tax_rates": []
            })
        })
        .collect();
    json!({
        "add_invoice_items": [],
        "application_fee_percent": null,
        "billing_cycle_anchor": null,
        "billing_thresholds": null,
        "collection_method": null,
        "currency": phase.items.first().map_or(Value::Null, |i| i.price["currency"].clone()),
        "default_payment_method": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "end_date": phase.end,
        "invoice_settings": null,
        "items": items,
        "metadata": phase.metadata,
        "on_behalf_of": null,
        "proration_behavior": phase.proration_behavior.as_str(),
        "start_date": phase.start,
        "transfer_data": null,
        "trial_end": phase.trial_end
    })
}

/// The schedule's phases back from its JSON (prices from the store).
pub fn phases_of(store: &Store, schedule: &Value) -> Vec<Phase> {
    schedule["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|phase| Phase {
            start: phase["start_date"].as_i64().unwrap_or(0),
            end: phase["end_date"].as_i64().unwrap_or(0),
            items: phase["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| PhaseItem {
                    price: item["price"]
                        .as_str()
                        .and_then(|id| store.prices.get(id))
                        .cloned()
                        .unwrap_or(Value::Null),
                    quantity: item["quantity"].as_u64().unwrap_or(1),
                    metadata: item["metadata"].clone(),
                })
                .collect(),
            proration_behavior: ProrationBehavior::parse(
                phase["proration_behavior"].as_str().unwrap_or_default(),
                "proration_behavior",
            )
            .unwrap_or(ProrationBehavior::CreateProrations),
            metadata: phase["metadata"].clone(),
            trial_end: phase["trial_end"].as_i64(),
        })
        .collect()
}

fn set_phases(schedule: &mut Value, phases: &[Phase], now: i64) {
    schedule["phases"] = json!(phases.iter().map(phase_json).collect::<Vec<_>>());
    if schedule["status"] == "active" {
        schedule["current_phase"] = phases
            .iter()
            .find(|p| p.start <= now && now < p.end)
            .or_else(|| phases.first())
            .map_or(
                Value::Null,
                |p| json!({ "end_date": p.end, "start_date": p.start }),
            );
    }
}

/// A phase's items as subscription items: an existing item keeps its id for the same price, or
/// (by position) for a new price (UNCONFIRMED: Stripe may replace the item).
pub fn items_for_phase(current: &[Item], phase: &Phase, now: i64) -> Vec<Item> {
    let mut used: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(phase.items.len());
    for (i, wanted) in phase.items.iter().enumerate() {
        let price_id = wanted.price["id"].as_str().unwrap_or_default();
        let same_price = current
            .iter()
            .find(|c| c.price_id() == price_id && !used.contains(&c.id));
        let by_position = current.get(i).filter(|c| {
            !used.contains(&c.id) && phase.items.iter().all(|p| p.price["id"] != c.price_id())
        });
        let item = match same_price.or(by_position) {
            Some(existing) => Item {
                id: existing.id.clone(),
                price: wanted.price.clone(),
                quantity: wanted.quantity,
                metadata: wanted.metadata.clone(),
                created: existing.created,
            },
            None => subscriptions::new_item(
                wanted.price.clone(),
                wanted.quantity,
                wanted.metadata.clone(),
                now,
            ),
        };
        used.push(item.id.clone());
        out.push(item);
    }
    out
}

fn default_settings() -> Value {
    json!({
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": "automatic",
        "billing_thresholds": null,
        "collection_method": "charge_automatically",
        "default_payment_method": null,
        "description": null,
        "invoice_settings": {
            "account_tax_ids": null, "custom_fields": null, "days_until_due": null,
            "description": null, "footer": null, "issuer": { "type": "self" }
        },
        "on_behalf_of": null,
        "transfer_data": null
    })
}

fn blank(customer: &str, billing_mode: Value, end_behavior: &str, now: i64) -> Value {
    json!({
        "id": ids::generate("sub_sched", ids::LONG),
        "object": "subscription_schedule",
        "application": null,
        "billing_mode": billing_mode,
        "canceled_at": null,
        "completed_at": null,
        "created": now,
        "current_phase": null,
        "customer": customer,
        "customer_account": null,
        "default_settings": default_settings(),
        "end_behavior": end_behavior,
        "livemode": false,
        "metadata": {},
        "phases": [],
        "released_at": null,
        "released_subscription": null,
        "status": "not_started",
        "subscription": null,
        "test_clock": null
    })
}

/// The live schedule (`not_started` / `active`) that manages `subscription`, if any.
pub fn managing<'a>(store: &'a Store, subscription: &Value) -> Option<&'a str> {
    let schedule = store
        .subscription_schedules
        .get(subscription["schedule"].as_str()?)?;
    live(&schedule["status"])
        .then(|| schedule["id"].as_str())
        .flatten()
}

/// A subscription a live schedule manages refuses direct `cancel_at_period_end` / `cancel_at`
/// updates (OBS, SEMANTICS §13 "Schedule attached to a subscription": the message is quoted from
/// real responses; the `code`, if any, is unknown).
pub fn refuse_direct_cancelation(store: &Store, subscription: &Value) -> Result<(), ApiError> {
    match managing(store, subscription) {
        Some(schedule) => Err(ApiError::state_refused(format!(
            "The subscription is managed by the subscription schedule `{schedule}`, and updating \
             any cancelation behavior directly is not allowed. Please update the schedule \
             instead."
        ))),
        None => Ok(()),
    }
}

/// `cancel_at` a schedule puts on its subscription: the last phase's end with
/// `end_behavior=cancel`.
fn schedule_cancel_at(schedule: &Value, phases: &[Phase]) -> Option<i64> {
    (schedule["end_behavior"] == "cancel")
        .then(|| phases.last().map(|p| p.end))
        .flatten()
}

/// `from_subscription`: one phase with the subscription's items for its current period, released
/// at the end. Events `subscription_schedule.created`, `customer.subscription.updated`
/// (`schedule`).
pub fn from_subscription(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    subscription_id: &str,
) -> Result<Value, ApiError> {
    let before = store
        .subscriptions
        .get(subscription_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::no_such_param("subscription", subscription_id, "from_subscription")
        })?;
    if subscriptions::is_ended(&before) {
        // OBS: "cannot migrate a subscription that is currently in the canceled status" (quoted
        // in third-party code); the rest of the sentence follows the schedule's own refusals.
        return Err(ApiError::refused(
            "from_subscription",
            format!(
                "You cannot migrate a subscription that is currently in the `{}` status.",
                before["status"].as_str().unwrap_or_default()
            ),
        ));
    }
    if let Some(existing) = before["schedule"].as_str() {
        return Err(ApiError::refused(
            "from_subscription",
            format!(
                "You cannot migrate a subscription that is already attached to a schedule: \
                 `{existing}`."
            ),
        ));
    }
    let (start, end) = subscriptions::period_of(&before);
    let phase = Phase {
        start,
        end,
        items: subscriptions::items_of(&before)
            .into_iter()
            .map(|item| PhaseItem {
                price: item.price,
                quantity: item.quantity,
                metadata: item.metadata,
            })
            .collect(),
        proration_behavior: ProrationBehavior::CreateProrations,
        metadata: json!({}),
        trial_end: (before["status"] == "trialing")
            .then(|| before["trial_end"].as_i64())
            .flatten(),
    };
    let customer = before["customer"].as_str().unwrap_or_default();
    let mut schedule = blank(customer, before["billing_mode"].clone(), "release", ctx.now);
    schedule["test_clock"] = test_clocks::field_for(store, customer);
    schedule["status"] = json!("active");
    schedule["subscription"] = json!(subscription_id);
    set_phases(&mut schedule, &[phase], ctx.now);
    changes.created("subscription_schedule.created", &schedule);
    store.subscription_schedules.insert(schedule.clone());
    let mut after = before.clone();
    after["schedule"] = schedule["id"].clone();
    changes.updated("customer.subscription.updated", &before, &after);
    store.subscriptions.insert(after);
    Ok(schedule)
}

/// A new schedule with phases for `customer`, starting at `start`: now (the subscription is made
/// at once, like `POST /v1/subscriptions` with `allow_incomplete`) or later (`not_started`; the
/// clock starts it).
pub struct NewSchedule {
    pub customer: String,
    pub phases: Vec<Phase>,
    pub end_behavior: String,
    pub metadata: Value,
    pub billing_mode: Value,
}

pub fn create(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    new: NewSchedule,
) -> Result<Value, ApiError> {
    let mut schedule = blank(&new.customer, new.billing_mode, &new.end_behavior, ctx.now);
    schedule["test_clock"] = test_clocks::field_for(store, &new.customer);
    schedule["metadata"] = new.metadata;
    set_phases(&mut schedule, &new.phases, ctx.now);
    let starts_now = new.phases.first().is_some_and(|p| p.start <= ctx.now);
    if starts_now {
        let subscription = start_subscription(store, changes, ctx, &schedule, &new.phases)?;
        schedule["status"] = json!("active");
        schedule["subscription"] = subscription["id"].clone();
        set_phases(&mut schedule, &new.phases, ctx.now);
        // The subscription's events come first; the schedule's follows.
        changes.created("subscription_schedule.created", &schedule);
    } else {
        changes.created("subscription_schedule.created", &schedule);
    }
    store.subscription_schedules.insert(schedule.clone());
    Ok(schedule)
}

/// The preview of the first invoice of the subscription a schedule starting with `phases` would
/// create, at the first phase's start: its items for one interval of the first price (or the
/// trial), nothing prorated. Not stored.
pub fn first_invoice_preview(
    store: &Store,
    customer: &str,
    phases: &[Phase],
    id: String,
) -> Result<Value, ApiError> {
    let first = phases
        .first()
        .ok_or_else(|| ApiError::missing_parameter("schedule_details[phases]"))?;
    let start = first.start;
    let items = items_for_phase(&[], first, start);
    let recurrence = items
        .first()
        .and_then(Item::recurrence)
        .unwrap_or(Recurrence {
            interval: Interval::Month,
            count: 1,
        });
    let (period, trial) = match first.trial_end {
        Some(end) => ((start, end), true),
        None => (
            (
                start,
                calendar::add(start, recurrence.interval, recurrence.count),
            ),
            false,
        ),
    };
    // The subscription does not exist yet: no id.
    let subscription = json!({
        "id": null,
        "customer": customer,
        "currency": items.first().map_or(Value::Null, |i| i.price["currency"].clone()),
        "collection_method": "charge_automatically",
        "metadata": {}
    });
    subscriptions::subscription_invoice(
        store,
        InvoiceSpec {
            id,
            subscription: &subscription,
            pending: Vec::new(),
            recurring: &items,
            recurring_period: period,
            trial,
            billing_reason: "upcoming",
            period: (start, start),
            created: start,
            proration_date: None,
            next_payment_attempt: Some(start),
        },
    )
}

fn start_subscription(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    schedule: &Value,
    phases: &[Phase],
) -> Result<Value, ApiError> {
    let first = phases
        .first()
        .ok_or_else(|| ApiError::missing_parameter("phases"))?;
    let items = items_for_phase(&[], first, ctx.now);
    subscriptions::check_items(&items, "phases[0][items]")?;
    let subscription = subscriptions::create(
        store,
        changes,
        ctx,
        NewSubscription {
            customer: schedule["customer"].as_str().unwrap_or_default().to_owned(),
            items,
            default_payment_method: None,
            payment_behavior: PaymentBehavior::AllowIncomplete,
            trial_end: first.trial_end.filter(|end| *end > ctx.now),
            metadata: None,
            description: None,
            cancel_at_period_end: false,
            collection_method: "charge_automatically".into(),
            days_until_due: None,
            billing_mode: schedule["billing_mode"].clone(),
            save_default_payment_method: "off".into(),
            schedule: schedule["id"].as_str().map(str::to_owned),
        },
    )?;
    match schedule_cancel_at(schedule, phases) {
        Some(cancel_at) => {
            let mut after = subscription.clone();
            after["cancel_at"] = json!(cancel_at);
            changes.updated("customer.subscription.updated", &subscription, &after);
            store.subscriptions.insert(after.clone());
            Ok(after)
        }
        None => Ok(subscription),
    }
}

/// A schedule that may still change (`not_started` / `active`); others refuse `action`.
pub fn live_schedule(store: &Store, id: &str, action: &str) -> Result<Value, ApiError> {
    let schedule = store
        .subscription_schedules
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(RESOURCE, id))?;
    if !live(&schedule["status"]) {
        return Err(ApiError::refused(
            "id",
            format!(
                "You cannot {action} a subscription schedule that is currently in the `{}` \
                 status. It must be in `not_started` or `active`.",
                schedule["status"].as_str().unwrap_or_default()
            ),
        ));
    }
    Ok(schedule)
}

/// A start before now: backdating is not modelled.
pub fn backdating() -> ApiError {
    ApiError::not_implemented("start_date in the past (backdating)")
}

/// The start an update's (or a preview's) first phase gets: an active schedule's current phase
/// keeps its start; a schedule not started yet takes the requested one (else its old one), which
/// must not be in the past.
pub fn first_start(schedule: &Value, requested: Option<i64>, now: i64) -> Result<i64, ApiError> {
    if schedule["status"] == "active" {
        return Ok(schedule["current_phase"]["start_date"]
            .as_i64()
            .unwrap_or(now));
    }
    let start = requested
        .or_else(|| schedule["phases"][0]["start_date"].as_i64())
        .unwrap_or(now);
    if start < now {
        return Err(backdating());
    }
    Ok(start)
}

/// An active schedule's current phase must end in the future.
pub fn check_current_phase(schedule: &Value, phases: &[Phase], now: i64) -> Result<(), ApiError> {
    if schedule["status"] == "active" && phases.first().is_some_and(|p| p.end <= now) {
        return Err(ApiError::invalid(
            "phases[0][end_date]",
            "The current phase must end in the future.",
        ));
    }
    Ok(())
}

/// What an update request changes.
pub struct ScheduleUpdate {
    pub phases: Option<Vec<Phase>>,
    pub end_behavior: Option<String>,
    pub metadata: Option<MetadataUpdate>,
    pub proration_behavior: ProrationBehavior,
}

/// Replaces phases (all current and future ones must be sent: anything not re-sent is dropped),
/// `end_behavior`, `metadata`. If the current phase's items change, the subscription changes now
/// with `proration_behavior`. Events `subscription_schedule.updated`, then the subscription's.
pub fn update(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    id: &str,
    update: ScheduleUpdate,
) -> Result<Value, ApiError> {
    let before = live_schedule(store, id, "update")?;
    let mut schedule = before.clone();
    if let Some(metadata) = &update.metadata {
        metadata.apply(&mut schedule["metadata"])?;
    }
    if let Some(end_behavior) = &update.end_behavior {
        schedule["end_behavior"] = json!(end_behavior);
    }
    let phases = match update.phases {
        Some(phases) => {
            check_current_phase(&schedule, &phases, ctx.now)?;
            phases
        }
        None => phases_of(store, &schedule),
    };
    set_phases(&mut schedule, &phases, ctx.now);
    let subscription_change = schedule["subscription"]
        .as_str()
        .and_then(|s| store.subscriptions.get(s))
        .map(|sub_before| {
            let (after, plan) =
                current_phase_change(store, sub_before, &phases, update.proration_behavior, ctx)?;
            Ok::<_, ApiError>((sub_before.clone(), after, plan))
        })
        .transpose()?;
    changes.updated("subscription_schedule.updated", &before, &schedule);
    store.subscription_schedules.insert(schedule.clone());
    if let Some((sub_before, mut sub_after, plan)) = subscription_change {
        let old_cancel_at = schedule_cancel_at(&before, &phases_of(store, &before));
        match schedule_cancel_at(&schedule, &phases) {
            Some(at) => sub_after["cancel_at"] = json!(at),
            None if old_cancel_at.is_some() && sub_after["cancel_at"].as_i64() == old_cancel_at => {
                sub_after["cancel_at"] = Value::Null;
            }
            None => {}
        }
        item_changes::apply_update(
            store,
            changes,
            ctx,
            &sub_before,
            sub_after,
            plan,
            PaymentBehavior::AllowIncomplete,
        )?;
    }
    Ok(schedule)
}

/// Whether two item lists differ in prices or quantities.
fn differs(current: &[Item], wanted: &[Item]) -> bool {
    wanted.len() != current.len() || wanted.iter().zip(current).any(|(w, c)| !w.same_terms(c))
}

/// Whether updated phases end the subscription's trial now: the current phase's `trial_end` is
/// now or past, or it is omitted while the subscription trials and the switch
/// `schedule_update_without_trial_end` says the trial ends (SEMANTICS §13: UNCONFIRMED). Moving
/// a trial's end, or starting one on a subscription that is not trialing, is not modelled.
fn ends_trial(subscription: &Value, phase: Option<&Phase>, ctx: &Ctx) -> Result<bool, ApiError> {
    let trialing = subscription["status"] == "trialing";
    match phase.and_then(|p| p.trial_end) {
        Some(at) if trialing && subscription["trial_end"].as_i64() == Some(at) => Ok(false),
        Some(at) if at <= ctx.now => Ok(trialing),
        Some(_) if trialing => Err(ApiError::not_implemented(
            "phases[0][trial_end] other than the subscription's trial_end (moving a trial's end)",
        )),
        Some(_) => Err(ApiError::not_implemented(
            "phases[0][trial_end] on a subscription that is not trialing",
        )),
        None => {
            Ok(trialing
                && ctx.behaviours.schedule_update_without_trial_end == TrialOmitted::EndsTrial)
        }
    }
}

/// What updated `phases` do to the subscription now, without changing anything: the
/// subscription with its new simple fields, and the item change (its current phase's items
/// differ, prorated with `behavior`) or the end of its trial (invoiced at once).
pub fn current_phase_change(
    store: &Store,
    subscription: &Value,
    phases: &[Phase],
    behavior: ProrationBehavior,
    ctx: &Ctx,
) -> Result<(Value, Option<ChangePlan>), ApiError> {
    let current = phases
        .iter()
        .find(|p| p.start <= ctx.now && ctx.now < p.end);
    let items = subscriptions::items_of(subscription);
    let wanted = current.map(|phase| items_for_phase(&items, phase, ctx.now));
    let mut after = subscription.clone();
    if ends_trial(subscription, current, ctx)? {
        after["status"] = json!("active");
        after["trial_end"] = json!(ctx.now);
        let plan = item_changes::end_trial(wanted.unwrap_or(items), ctx.now);
        return Ok((after, Some(plan)));
    }
    let plan = wanted
        .filter(|wanted| differs(&items, wanted))
        .map(|wanted| {
            subscriptions::check_items(&wanted, "phases[0][items]")?;
            Ok::<_, ApiError>(item_changes::plan_change(
                store,
                subscription,
                wanted,
                behavior,
                ctx.now,
                false,
            ))
        })
        .transpose()?;
    Ok((after, plan))
}

/// Release: the subscription stays, without the schedule (`preserve_cancel_date` keeps a
/// `cancel_at` the schedule set). Events `subscription_schedule.released`,
/// `customer.subscription.updated`.
pub fn release(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    id: &str,
    preserve_cancel_date: bool,
) -> Result<Value, ApiError> {
    let mut schedule = live_schedule(store, id, "release")?;
    let subscription_id = schedule["subscription"].as_str().map(str::to_owned);
    let cancel_at = schedule_cancel_at(&schedule, &phases_of(store, &schedule));
    schedule["status"] = json!("released");
    schedule["released_at"] = json!(ctx.now);
    schedule["released_subscription"] = json!(subscription_id);
    schedule["subscription"] = Value::Null;
    schedule["current_phase"] = Value::Null;
    changes.event("subscription_schedule.released", &schedule);
    store.subscription_schedules.insert(schedule.clone());
    if let Some(before) = subscription_id.and_then(|s| store.subscriptions.get(&s).cloned()) {
        let mut after = before.clone();
        after["schedule"] = Value::Null;
        if !preserve_cancel_date && cancel_at.is_some() && after["cancel_at"].as_i64() == cancel_at
        {
            after["cancel_at"] = Value::Null;
        }
        changes.updated("customer.subscription.updated", &before, &after);
        store.subscriptions.insert(after);
    }
    Ok(schedule)
}

/// Cancel: the schedule and its subscription end now. Events `subscription_schedule.canceled`,
/// `customer.subscription.deleted`.
pub fn cancel(
    store: &mut Store,
    changes: &mut Changes,
    ctx: &Ctx,
    id: &str,
) -> Result<Value, ApiError> {
    let schedule = live_schedule(store, id, "cancel")?;
    cancel_schedule_only(store, changes, ctx, id);
    if let Some(subscription) = schedule["subscription"].as_str() {
        subscriptions::cancel(store, changes, ctx, subscription);
    }
    Ok(store
        .subscription_schedules
        .get(id)
        .cloned()
        .unwrap_or(schedule))
}

/// Marks a live schedule canceled (its subscription is being canceled).
pub fn cancel_schedule_only(store: &mut Store, changes: &mut Changes, ctx: &Ctx, id: &str) {
    let Some(mut schedule) = store.subscription_schedules.get(id).cloned() else {
        return;
    };
    if !live(&schedule["status"]) {
        return;
    }
    schedule["status"] = json!("canceled");
    schedule["canceled_at"] = json!(ctx.now);
    schedule["current_phase"] = Value::Null;
    changes.event("subscription_schedule.canceled", &schedule);
    store.subscription_schedules.insert(schedule);
}

/// When the clock must act on a schedule next: its start or its current phase's end.
pub fn due_at(schedule: &Value) -> Option<i64> {
    match schedule["status"].as_str()? {
        "not_started" => schedule["phases"][0]["start_date"].as_i64(),
        "active" => schedule["current_phase"]["end_date"].as_i64(),
        _ => None,
    }
}

/// Clock: starts a `not_started` schedule or moves an active one to its next phase (the
/// subscription's items switch at the boundary, prorated per the phase's `proration_behavior`,
/// which at a period boundary prorates nothing) or completes it after the last phase
/// (`end_behavior` release keeps the subscription, cancel ends it).
pub fn advance(store: &mut Store, changes: &mut Changes, ctx: &Ctx, id: &str) {
    let Some(before) = store.subscription_schedules.get(id).cloned() else {
        return;
    };
    let phases = phases_of(store, &before);
    if before["status"] == "not_started" {
        let mut schedule = before.clone();
        match start_subscription(store, changes, ctx, &before, &phases) {
            Ok(subscription) => {
                schedule["status"] = json!("active");
                schedule["subscription"] = subscription["id"].clone();
                set_phases(&mut schedule, &phases, ctx.now);
            }
            Err(_) => {
                schedule["status"] = json!("canceled");
                schedule["canceled_at"] = json!(ctx.now);
            }
        }
        changes.updated("subscription_schedule.updated", &before, &schedule);
        store.subscription_schedules.insert(schedule);
        return;
    }
    let end = before["current_phase"]["end_date"].as_i64().unwrap_or(0);
    let subscription_id = before["subscription"].as_str().map(str::to_owned);
    let next = phases.iter().find(|p| p.start == end && p.end > end);
    let mut schedule = before.clone();
    match next {
        Some(phase) => {
            schedule["current_phase"] = json!({ "end_date": phase.end, "start_date": phase.start });
            changes.updated("subscription_schedule.updated", &before, &schedule);
            store.subscription_schedules.insert(schedule);
            let Some(sub_before) =
                subscription_id.and_then(|s| store.subscriptions.get(&s).cloned())
            else {
                return;
            };
            let current = subscriptions::items_of(&sub_before);
            let wanted = items_for_phase(&current, phase, ctx.now);
            if differs(&current, &wanted) && subscriptions::check_items(&wanted, "phases").is_ok() {
                let plan = item_changes::plan_change(
                    store,
                    &sub_before,
                    wanted,
                    phase.proration_behavior,
                    ctx.now,
                    false,
                );
                let after = sub_before.clone();
                let _ = item_changes::apply_update(
                    store,
                    changes,
                    ctx,
                    &sub_before,
                    after,
                    Some(plan),
                    PaymentBehavior::AllowIncomplete,
                );
            }
        }
        None => {
            schedule["status"] = json!("completed");
            schedule["completed_at"] = json!(ctx.now);
            schedule["current_phase"] = Value::Null;
            changes.event("subscription_schedule.completed", &schedule);
            store.subscription_schedules.insert(schedule);
            let Some(sub_before) =
                subscription_id.and_then(|s| store.subscriptions.get(&s).cloned())
            else {
                return;
            };
            let mut after = sub_before.clone();
            after["schedule"] = Value::Null;
            if before["end_behavior"] == "cancel" {
                store.subscriptions.insert(after);
                subscriptions::cancel(store, changes, ctx, subscriptions::id_of(&sub_before));
            } else {
                changes.updated("customer.subscription.updated", &sub_before, &after);
                store.subscriptions.insert(after);
            }
        }
    }
}

/// The phases of the active schedule managing `subscription`, if any.
pub fn active_phases(store: &Store, subscription: &Value) -> Option<Vec<Phase>> {
    let schedule = store
        .subscription_schedules
        .get(subscription["schedule"].as_str()?)?;
    (schedule["status"] == "active").then(|| phases_of(store, schedule))
}

/// The items a subscription will have at `t` if one of `phases` starts then (the renewal
/// preview bills them).
pub fn items_at(phases: &[Phase], subscription: &Value, t: i64) -> Option<Vec<Item>> {
    let phase = phases.iter().find(|p| p.start == t)?;
    Some(items_for_phase(
        &subscriptions::items_of(subscription),
        phase,
        t,
    ))
}
