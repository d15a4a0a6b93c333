//! `/v1/subscription_schedules`: create (`from_subscription`, or a customer with phases),
//! retrieve, update (phases with `duration` or `end_date`), release, cancel and list.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::subscriptions::{billing_mode, proration_behavior};
use crate::app::App;
use crate::billing::schedules::{
    self, NewSchedule, PhaseEnd, PhaseInput, PhaseItem, PhaseRules, RESOURCE,
};
use crate::billing::{subscriptions, test_clocks};
use crate::http::params::{Change, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::calendar::Interval;
use crate::model::customers;
use crate::model::error::ApiError;
use crate::model::store::{Collection, Store};

const CREATE: Spec = Spec::new(
    &[
        "billing_mode",
        "customer",
        "end_behavior",
        "expand",
        "from_subscription",
        "metadata",
        "phases",
        "start_date",
    ],
    &["customer_account", "default_settings", "pause_schedules"],
);
const UPDATE: Spec = Spec::new(
    &[
        "end_behavior",
        "expand",
        "metadata",
        "phases",
        "proration_behavior",
    ],
    &["default_settings", "pause_schedules"],
);
/// Phase parameters Stripe takes that the fake does not model.
const PHASE_UNSUPPORTED: &[&str] = &[
    "add_invoice_items",
    "application_fee_percent",
    "automatic_tax",
    "billing_cycle_anchor",
    "billing_thresholds",
    "collection_method",
    "currency",
    "default_payment_method",
    "default_tax_rates",
    "description",
    "discounts",
    "invoice_settings",
    "on_behalf_of",
    "transfer_data",
];
/// Create's phases have no `start_date` (the schedule's `start_date` gives it). `iterations` was
/// removed in clover: it is an unknown parameter now.
const CREATE_PHASE: Spec = Spec::new(
    &[
        "duration",
        "end_date",
        "items",
        "metadata",
        "proration_behavior",
        "trial",
        "trial_end",
    ],
    PHASE_UNSUPPORTED,
);
/// Update's phases, also those of the invoice preview's `schedule_details[phases]`.
pub const UPDATE_PHASE: Spec = Spec::new(
    &[
        "duration",
        "end_date",
        "items",
        "metadata",
        "proration_behavior",
        "start_date",
        "trial",
        "trial_end",
    ],
    PHASE_UNSUPPORTED,
);
const PHASE_ITEM: Spec = Spec::new(
    &["metadata", "price", "quantity"],
    &[
        "billing_thresholds",
        "discounts",
        "plan",
        "price_data",
        "tax_rates",
    ],
);
const DURATION: Spec = Spec::new(&["interval", "interval_count"], &[]);
const RELEASE: Spec = Spec::new(&["expand", "preserve_cancel_date"], &[]);
const CANCEL: Spec = Spec::new(&["expand"], &["invoice_now", "prorate"]);

pub struct SubscriptionSchedules;

impl Resource for SubscriptionSchedules {
    const NAME: &'static str = RESOURCE;

    fn collection(store: &Store) -> &Collection {
        &store.subscription_schedules
    }
}

impl Listed for SubscriptionSchedules {
    const URL: &'static str = "/v1/subscription_schedules";
    const LIST: Spec = Spec::list(
        &["created", "customer", "scheduled"],
        &[
            "canceled_at",
            "completed_at",
            "customer_account",
            "released_at",
        ],
    );

    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        let customer = params.string("customer")?.filter(|c| !c.is_empty());
        let scheduled = params.boolean("scheduled")?;
        Ok(move |schedule: &Value| {
            customer.is_none_or(|c| schedule["customer"] == c)
                && scheduled.is_none_or(|s| (schedule["status"] == "not_started") == s)
        })
    }
}

/// `now` or a unix timestamp.
pub fn timestamp(params: &Params, key: &str, now: i64) -> Result<Option<i64>, ApiError> {
    params
        .string(key)?
        .map(|value| match value {
            "now" => Ok(now),
            other => other.parse::<i64>().map_err(|_| {
                ApiError::invalid(
                    params.name(key),
                    format!("Invalid timestamp: must be `now` or a unix timestamp (got {other})"),
                )
            }),
        })
        .transpose()
}

pub fn end_behavior(params: &Params) -> Result<Option<String>, ApiError> {
    match params.string("end_behavior")? {
        None => Ok(None),
        Some(value @ ("release" | "cancel")) => Ok(Some(value.to_owned())),
        Some(other) => Err(ApiError::invalid(
            "end_behavior",
            format!("Invalid end_behavior: must be one of release or cancel (got {other})"),
        )),
    }
}

/// The requested phases (prices resolved; dates resolved later against the schedule).
pub fn phase_inputs(
    store: &Store,
    params: &Params,
    spec: &Spec,
    now: i64,
) -> Result<Option<Vec<PhaseInput>>, ApiError> {
    let Change::Set(phases) = params.hash_list("phases")? else {
        return Ok(None);
    };
    let mut inputs = Vec::with_capacity(phases.len());
    for phase in &phases {
        phase.check(spec)?;
        let Change::Set(items) = phase.hash_list("items")? else {
            return Err(ApiError::missing_parameter(&phase.name("items")));
        };
        let mut phase_items = Vec::with_capacity(items.len());
        for item in &items {
            item.check(&PHASE_ITEM)?;
            let price = subscriptions::subscribable_price(
                store,
                item.required_string("price")?,
                &item.name("price"),
            )?;
            let quantity = match item.integer("quantity")? {
                None => 1,
                Some(q) if q >= 1 => q.unsigned_abs(),
                Some(_) => {
                    return Err(ApiError::not_implemented(&item.name("quantity=0")));
                }
            };
            let mut metadata = json!({});
            if let Some(update) = item.metadata()? {
                update.apply(&mut metadata)?;
            }
            phase_items.push(PhaseItem {
                price,
                quantity,
                metadata,
            });
        }
        let end_date = timestamp(phase, "end_date", now)?;
        let duration = match phase.hash("duration")? {
            Change::Set(duration) => {
                duration.check(&DURATION)?;
                let interval = duration.required_string("interval")?;
                let interval = Interval::parse(interval).ok_or_else(|| {
                    ApiError::invalid(
                        duration.name("interval"),
                        format!(
                            "Invalid interval: must be one of day, week, month, or year (got \
                             {interval})"
                        ),
                    )
                })?;
                let count = duration.integer("interval_count")?.unwrap_or(1);
                if count < 1 {
                    return Err(ApiError::invalid(
                        duration.name("interval_count"),
                        "This value must be greater than or equal to 1.",
                    ));
                }
                Some(PhaseEnd::Duration(interval, count))
            }
            _ => None,
        };
        let end = match (end_date, duration) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    phase.name("duration"),
                    "You may only specify one of these parameters: duration, end_date.",
                ));
            }
            (Some(at), None) => Some(PhaseEnd::At(at)),
            (None, duration) => duration,
        };
        let proration_behavior = phase
            .string("proration_behavior")?
            .map(|_| proration_behavior(phase))
            .transpose()?;
        let mut metadata = json!({});
        if let Some(update) = phase.metadata()? {
            update.apply(&mut metadata)?;
        }
        inputs.push(PhaseInput {
            start: timestamp(phase, "start_date", now)?,
            end,
            items: phase_items,
            proration_behavior,
            metadata,
            trial: phase.boolean("trial")?.unwrap_or(false),
            trial_end: timestamp(phase, "trial_end", now)?,
        });
    }
    Ok(Some(inputs))
}

/// Each phase's items must make a valid subscription (`prefix` names the phases in errors).
pub fn check_phase_items(
    phases: &[schedules::Phase],
    prefix: &str,
    now: i64,
) -> Result<(), ApiError> {
    for (i, phase) in phases.iter().enumerate() {
        let items = schedules::items_for_phase(&[], phase, now);
        subscriptions::check_items(&items, &format!("{prefix}[{i}][items]"))?;
    }
    Ok(())
}

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&CREATE)?;
    let ctx = app.ctx();
    if let Some(subscription) = params
        .string("from_subscription")?
        .filter(|s| !s.is_empty())
    {
        if let Some(other) = [
            "customer",
            "end_behavior",
            "metadata",
            "phases",
            "start_date",
            "billing_mode",
        ]
        .into_iter()
        .find(|key| params.contains(key))
        {
            return Err(ApiError::invalid(
                other,
                format!("You cannot set `{other}` if `from_subscription` is set."),
            ));
        }
        let subscription = subscription.to_owned();
        return app.write(&request, |store, changes| {
            let ctx = test_clocks::ctx_of(store, &ctx, store.subscriptions.get(&subscription));
            let schedule = schedules::from_subscription(store, changes, &ctx, &subscription)?;
            request.render(store, schedule)
        });
    }
    let customer = params.required_string("customer")?.to_owned();
    let end_behavior = end_behavior(params)?.unwrap_or_else(|| "release".into());
    let metadata_update = params.metadata()?;
    app.write(&request, |store, changes| {
        customers::live_param(store, &customer)?;
        let ctx = test_clocks::ctx_for(store, &ctx, &customer);
        let start = timestamp(params, "start_date", ctx.now)?.unwrap_or(ctx.now);
        if start < ctx.now {
            return Err(schedules::backdating());
        }
        let billing_mode = billing_mode(params, ctx.now)?;
        let inputs = phase_inputs(store, params, &CREATE_PHASE, ctx.now)?
            .ok_or_else(|| ApiError::missing_parameter("phases"))?;
        let phases = schedules::resolve_phases(inputs, start, "phases", PhaseRules::Create)?;
        check_phase_items(&phases, "phases", ctx.now)?;
        let mut metadata = json!({});
        if let Some(update) = &metadata_update {
            update.apply(&mut metadata)?;
        }
        let schedule = schedules::create(
            store,
            changes,
            &ctx,
            NewSchedule {
                customer: customer.clone(),
                phases,
                end_behavior,
                metadata,
                billing_mode,
            },
        )?;
        request.render(store, schedule)
    })
}

pub async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&UPDATE)?;
    let ctx = app.ctx();
    let end_behavior = end_behavior(params)?;
    let metadata = params.metadata()?;
    let behavior = proration_behavior(params)?;
    app.write(&request, |store, changes| {
        let schedule = schedules::live_schedule(store, &id, "update")?;
        let ctx = test_clocks::ctx_of(store, &ctx, Some(&schedule));
        let phases = match phase_inputs(store, params, &UPDATE_PHASE, ctx.now)? {
            Some(inputs) => {
                let requested = inputs.first().and_then(|p| p.start);
                let first_start = schedules::first_start(&schedule, requested, ctx.now)?;
                let phases =
                    schedules::resolve_phases(inputs, first_start, "phases", PhaseRules::Update)?;
                check_phase_items(&phases, "phases", ctx.now)?;
                Some(phases)
            }
            None => None,
        };
        let schedule = schedules::update(
            store,
            changes,
            &ctx,
            &id,
            schedules::ScheduleUpdate {
                phases,
                end_behavior,
                metadata,
                proration_behavior: behavior,
            },
        )?;
        request.render(store, schedule)
    })
}

pub async fn release(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&RELEASE)?;
    let ctx = app.ctx();
    let preserve = params.boolean("preserve_cancel_date")?.unwrap_or(false);
    app.write(&request, |store, changes| {
        let ctx = test_clocks::ctx_of(store, &ctx, store.subscription_schedules.get(&id));
        let schedule = schedules::release(store, changes, &ctx, &id, preserve)?;
        request.render(store, schedule)
    })
}

pub async fn cancel(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&CANCEL)?;
    let ctx = app.ctx();
    app.write(&request, |store, changes| {
        let ctx = test_clocks::ctx_of(store, &ctx, store.subscription_schedules.get(&id));
        let schedule = schedules::cancel(store, changes, &ctx, &id)?;
        request.render(store, schedule)
    })
}
