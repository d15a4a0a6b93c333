//! `/v1/invoices`: retrieve, list, lines, and `create_preview` (not stored), which runs the same
//! planning and invoice-building functions as the subscription update and the renewal.

use axum::extract::{Path, State};
use serde_json::Value;

use super::subscription_schedules::{UPDATE_PHASE, check_phase_items, end_behavior, phase_inputs};
use super::subscriptions::{
    ItemInput, item_inputs, proration_behavior, resolve_items, restarts_cycle,
};
use crate::app::App;
use crate::billing::invoices::{Attempt, Charge, PREVIEW_PREFIX};
use crate::billing::item_changes::{self, ChangePlan};
use crate::billing::payments::{self, Method};
use crate::billing::schedules::{Phase, PhaseRules};
use crate::billing::subscriptions::{self, InvoiceSpec};
use crate::billing::{Ctx, Item, ProrationBehavior, payment_intents, schedules, test_clocks};
use crate::http::list;
use crate::http::params::{Change, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::customers;
use crate::model::error::ApiError;
use crate::model::ids;
use crate::model::store::{Collection, Store};

const LINES: Spec = Spec::list(&[], &[]);
const PAY: Spec = Spec::new(
    &["expand", "off_session", "payment_method"],
    &["forgive", "mandate", "paid_out_of_band", "source"],
);
/// `/pay`'s answer when the card needs 3D Secure (OBS: stripe-node #628, SEMANTICS §13).
const REQUIRES_ACTION: &str = "This payment requires additional user action before it can be     completed successfully. Payment can be completed using the PaymentIntent associated with the     invoice. For more information see:     https://stripe.com/docs/billing/subscriptions/overview#requires-action";
const PREVIEW: Spec = Spec::new(
    &[
        "automatic_tax",
        "customer",
        "expand",
        "preview_mode",
        "schedule",
        "schedule_details",
        "subscription",
        "subscription_details",
    ],
    &[
        "currency",
        "customer_account",
        "customer_details",
        "discounts",
        "invoice_items",
        "issuer",
        "on_behalf_of",
    ],
);
const SCHEDULE_DETAILS: Spec = Spec::new(
    &["end_behavior", "phases", "proration_behavior"],
    &["billing_mode"],
);
/// How errors name the preview's phases.
const PHASES: &str = "schedule_details[phases]";
const PREVIEW_DETAILS: Spec = Spec::new(
    &[
        "billing_cycle_anchor",
        "cancel_at_period_end",
        "items",
        "metadata",
        "proration_behavior",
        "proration_date",
    ],
    &[
        "billing_mode",
        "billing_schedules",
        "cancel_at",
        "cancel_now",
        "default_tax_rates",
        "pause",
        "resume_at",
        "start_date",
        "trial_end",
    ],
);
const AUTOMATIC_TAX: Spec = Spec::new(&["enabled"], &["liability"]);
const STATUSES: &[&str] = &["draft", "open", "paid", "uncollectible", "void"];

pub struct Invoices;

impl Resource for Invoices {
    const NAME: &'static str = "invoice";

    fn collection(store: &Store) -> &Collection {
        &store.invoices
    }
}

impl Listed for Invoices {
    const URL: &'static str = "/v1/invoices";
    const LIST: Spec = Spec::list(
        &["created", "customer", "status", "subscription"],
        &["collection_method", "customer_account", "due_date"],
    );

    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        let customer = params.string("customer")?.filter(|c| !c.is_empty());
        let subscription = params.string("subscription")?.filter(|s| !s.is_empty());
        let status = params.one_of("status", STATUSES)?;
        Ok(move |invoice: &Value| {
            customer.is_none_or(|c| invoice["customer"] == c)
                && subscription
                    .is_none_or(|s| invoice["parent"]["subscription_details"]["subscription"] == s)
                && status.is_none_or(|s| invoice["status"] == s)
        })
    }
}

pub async fn lines(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&LINES)?;
    app.read(|store| {
        Invoices::get(store, &id)?;
        let lines = store
            .billing
            .invoice_lines
            .get(&id)
            .cloned()
            .unwrap_or_default();
        let page = list::page(
            params,
            lines.iter(),
            |_| true,
            &format!("/v1/invoices/{id}/lines"),
            "line_item",
        )?;
        request.render(store, page)
    })
}

/// `POST /v1/invoices/:id/pay` (SEMANTICS §13 "`POST /v1/invoices/{id}/pay`"): charges
/// `payment_method` (which must belong to the invoice's customer), else the subscription's
/// default, else the customer's invoice default, `off_session` (default true). A decline is 402
/// `card_error` with the card's code; a card needing 3D Secure is 402
/// `invoice_payment_intent_requires_action` (the PaymentIntent waits in `requires_action`).
/// Both errors embed the PaymentIntent.
pub async fn pay(State(app): State<App>, Path(id): Path<String>, request: ApiRequest) -> ApiResult {
    let params = request.params(&PAY)?;
    let off_session = params.boolean("off_session")?.unwrap_or(true);
    let payment_method = params.string("payment_method")?.filter(|p| !p.is_empty());
    let ctx = app.ctx();
    app.write(&request, |store, changes| {
        let invoice = Invoices::get(store, &id)?;
        let ctx = test_clocks::ctx_of(store, &ctx, Some(&invoice));
        let attempt = payments::Request {
            method: payment_method.map_or(Method::Default, Method::Attached),
            attempt: if off_session {
                Attempt::OffSession
            } else {
                Attempt::OnSession
            },
            authenticated: false,
        };
        let payment = payments::pay(store, changes, &ctx, &id, attempt)?;
        let intent = payment_intents::of_invoice(store, &id)
            .cloned()
            .unwrap_or_default();
        Ok(match payment.charge {
            Charge::Declined(decline) => {
                Err(ApiError::card_declined(decline).object("payment_intent", &intent))
            }
            Charge::RequiresAction => Err(ApiError::card(
                "invoice_payment_intent_requires_action",
                REQUIRES_ACTION,
            )
            .object("payment_intent", &intent)),
            _ => request.render(store, Invoices::get(store, &id)?),
        })
    })?
}

/// What `subscription_details` asks the preview to change.
struct Details {
    inputs: Option<Vec<ItemInput>>,
    behavior: ProrationBehavior,
    proration_date: Option<i64>,
    cancel_at_period_end: Option<bool>,
    restart: bool,
}

fn details(params: &Params) -> Result<Details, ApiError> {
    let empty = Params::default();
    let details = match params.hash("subscription_details")? {
        Change::Set(details) => details,
        Change::Keep | Change::Clear => empty,
    };
    details.check(&PREVIEW_DETAILS)?;
    details.metadata()?;
    Ok(Details {
        inputs: item_inputs(&details)?,
        behavior: proration_behavior(&details)?,
        proration_date: details.integer("proration_date")?,
        cancel_at_period_end: details.boolean("cancel_at_period_end")?,
        restart: restarts_cycle(&details)?,
    })
}

const DETAILS_ITEMS: &str = "subscription_details[items]";

/// `POST /v1/invoices/create_preview` for an existing subscription (`subscription`). Not stored;
/// its id is `upcoming_in_…`. The proration time it used is
/// `parent.subscription_details.subscription_proration_date` (and each proration line's
/// `period.start`).
pub async fn create_preview(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&PREVIEW)?;
    let ctx = app.ctx();
    if let Change::Set(tax) = params.hash("automatic_tax")? {
        tax.check(&AUTOMATIC_TAX)?;
        if tax.boolean("enabled")? == Some(true) {
            return Err(ApiError::not_implemented("automatic_tax[enabled]=true"));
        }
    }
    let recurring_only = match params.string("preview_mode")? {
        None | Some("next") => false,
        Some("recurring") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "preview_mode",
                format!("Invalid preview_mode: must be one of next or recurring (got {other})"),
            ));
        }
    };
    let customer = params.string("customer")?.filter(|c| !c.is_empty());
    if params.contains("schedule") || params.is_hash("schedule_details") {
        return schedule_preview(&app, &request, params, customer, recurring_only);
    }
    let details = details(params)?;
    let Some(subscription_id) = params.string("subscription")?.filter(|s| !s.is_empty()) else {
        if details.inputs.is_some() {
            return Err(ApiError::not_implemented(
                "create_preview for a new subscription (subscription_details without subscription)",
            ));
        }
        return Err(ApiError::invalid(
            "subscription",
            "You must specify one of `subscription`, `subscription_details[items]`, `schedule`, \
             `schedule_details` or `invoice_items` (with `customer`).",
        ));
    };
    app.read(|store| {
        let subscription = store
            .subscriptions
            .get(subscription_id)
            .cloned()
            .ok_or_else(|| {
                ApiError::no_such_param("subscription", subscription_id, "subscription")
            })?;
        let ctx = test_clocks::ctx_of(store, &ctx, Some(&subscription));
        let owner = subscription["customer"].as_str().unwrap_or_default();
        if customer.is_some_and(|c| c != owner) {
            return Err(ApiError::invalid(
                "customer",
                format!(
                    "The subscription {subscription_id} does not belong to customer {}.",
                    customer.unwrap_or_default()
                ),
            ));
        }
        if subscriptions::is_ended(&subscription) {
            return Err(ApiError::upcoming_none(owner));
        }
        let mut view = subscription.clone();
        if let Some(cancel) = details.cancel_at_period_end {
            subscriptions::set_cancel_at_period_end(&mut view, cancel, &ctx);
        }
        let plan = if details.inputs.is_some() || details.restart {
            let items = resolve_items(
                store,
                &subscription,
                details.inputs.as_deref().unwrap_or(&[]),
                DETAILS_ITEMS,
                ctx.now,
            )?;
            if let Some(t) = details.proration_date {
                item_changes::check_proration_date(
                    &subscription,
                    t,
                    "subscription_details[proration_date]",
                )?;
            }
            let t = details.proration_date.unwrap_or(ctx.now);
            Some(item_changes::plan_change(
                store,
                &view,
                items,
                details.behavior,
                t,
                details.restart,
            ))
        } else {
            None
        };
        let invoice = preview(store, &ctx, &view, plan.as_ref(), recurring_only, None)?;
        request.render(store, invoice)
    })
}

/// `create_preview` with `schedule` and/or `schedule_details` (SEMANTICS §13 "Previewing
/// schedules"): without `schedule`, the first invoice of a new schedule for `customer`; with it,
/// the schedule's next invoice after the update `schedule_details` describes (all current and
/// future phases, as the update takes them). The phases are checked as the schedule API checks
/// them. A preview whose update would change the subscription now (the current phase's items,
/// or ending its trial) is not modelled.
fn schedule_preview(
    app: &App,
    request: &ApiRequest,
    params: &Params,
    customer: Option<&str>,
    recurring_only: bool,
) -> ApiResult {
    // "Cannot be used with `subscription` or `subscription_` prefixed fields" (Stripe's OpenAPI
    // description of `schedule_details`, in async-stripe's CreatePreviewInvoiceScheduleDetails).
    if let Some(key) = ["subscription", "subscription_details"]
        .into_iter()
        .find(|key| params.contains(key))
    {
        return Err(ApiError::invalid(
            key,
            "`schedule` and `schedule_details` cannot be used with `subscription` or \
             `subscription_` prefixed fields.",
        ));
    }
    let ctx = app.ctx();
    let details = match params.hash("schedule_details")? {
        Change::Set(details) => details,
        Change::Keep | Change::Clear => Params::default(),
    };
    details.check(&SCHEDULE_DETAILS)?;
    let end_behavior = end_behavior(&details)?;
    let behavior = proration_behavior(&details)?;
    let schedule_id = params.string("schedule")?.filter(|s| !s.is_empty());
    app.read(|store| {
        let id = ids::generate(PREVIEW_PREFIX, ids::LONG);
        let Some(schedule_id) = schedule_id else {
            let customer = customer.ok_or_else(|| ApiError::missing_parameter("customer"))?;
            customers::live_param(store, customer)?;
            let ctx = test_clocks::ctx_for(store, &ctx, customer);
            let inputs = phase_inputs(store, &details, &UPDATE_PHASE, ctx.now)?
                .ok_or_else(|| ApiError::missing_parameter(PHASES))?;
            let start = inputs
                .first()
                .and_then(|p| p.start)
                .ok_or_else(|| ApiError::missing_parameter(&format!("{PHASES}[0][start_date]")))?;
            if start < ctx.now {
                return Err(schedules::backdating());
            }
            let phases = schedules::resolve_phases(inputs, start, PHASES, PhaseRules::Update)?;
            check_phase_items(&phases, PHASES, ctx.now)?;
            let invoice = schedules::first_invoice_preview(store, customer, &phases, id)?;
            return request.render(store, invoice);
        };
        if store.subscription_schedules.get(schedule_id).is_none() {
            return Err(ApiError::no_such_param(
                schedules::RESOURCE,
                schedule_id,
                "schedule",
            ));
        }
        let schedule = schedules::live_schedule(store, schedule_id, "preview")?;
        let ctx = test_clocks::ctx_of(store, &ctx, Some(&schedule));
        let inputs = phase_inputs(store, &details, &UPDATE_PHASE, ctx.now)?;
        let owner = schedule["customer"].as_str().unwrap_or_default();
        if customer.is_some_and(|c| c != owner) {
            return Err(ApiError::invalid(
                "customer",
                format!(
                    "The subscription schedule {schedule_id} does not belong to customer {}.",
                    customer.unwrap_or_default()
                ),
            ));
        }
        let phases = match inputs {
            Some(inputs) => {
                let requested = inputs.first().and_then(|p| p.start);
                let start = schedules::first_start(&schedule, requested, ctx.now)?;
                let phases = schedules::resolve_phases(inputs, start, PHASES, PhaseRules::Update)?;
                check_phase_items(&phases, PHASES, ctx.now)?;
                schedules::check_current_phase(&schedule, &phases, ctx.now)?;
                phases
            }
            None => schedules::phases_of(store, &schedule),
        };
        let Some(subscription) = schedule["subscription"]
            .as_str()
            .and_then(|s| store.subscriptions.get(s))
        else {
            let invoice = schedules::first_invoice_preview(store, owner, &phases, id)?;
            return request.render(store, invoice);
        };
        let (view, immediate) =
            schedules::current_phase_change(store, subscription, &phases, behavior, &ctx)?;
        if immediate.is_some() {
            return Err(ApiError::not_implemented(
                "schedule_details that change the subscription now (the current phase's items, \
                 or the end of its trial)",
            ));
        }
        let period_end = subscriptions::period_of(subscription).1;
        if phases
            .iter()
            .any(|p| ctx.now < p.start && p.start < period_end)
        {
            return Err(ApiError::not_implemented(
                "schedule_details with a phase starting inside the current period",
            ));
        }
        let cancels = end_behavior
            .as_deref()
            .unwrap_or_else(|| schedule["end_behavior"].as_str().unwrap_or("release"))
            == "cancel";
        if cancels && phases.last().is_some_and(|p| p.end <= period_end) {
            return Err(ApiError::upcoming_none(owner));
        }
        let invoice = preview(store, &ctx, &view, None, recurring_only, Some(&phases))?;
        request.render(store, invoice)
    })
}

/// The preview invoice: the immediate invoice of a change that invoices now, else the next
/// renewal (pending items, the change's prorations, the next period at the new prices; a
/// schedule phase starting then wins, and one with another billing interval restarts the cycle
/// there), or with `preview_mode=recurring` only the next period's charges. `phases` replace the
/// subscription's schedule's (a schedule preview).
fn preview(
    store: &Store,
    ctx: &Ctx,
    subscription: &Value,
    plan: Option<&ChangePlan>,
    recurring_only: bool,
    phases: Option<&[Phase]>,
) -> Result<Value, ApiError> {
    let id = ids::generate(PREVIEW_PREFIX, ids::LONG);
    let subscription_id = subscriptions::id_of(subscription);
    let customer = subscription["customer"].as_str().unwrap_or_default();
    let current_items = subscriptions::items_of(subscription);
    let (period, items, anchor) = match plan {
        Some(plan) => (plan.period, plan.after.clone(), plan.anchor),
        None => (
            subscriptions::period_of(subscription),
            current_items,
            subscription["billing_cycle_anchor"].as_i64().unwrap_or(0),
        ),
    };
    let virtual_items = match plan {
        Some(plan) if !recurring_only => {
            item_changes::proration_items(store, subscription, plan, false, ctx.now)
        }
        _ => Vec::new(),
    };
    let pending = if recurring_only {
        Vec::new()
    } else {
        item_changes::with_pending(store, subscription_id, &virtual_items)
    };
    if let Some(plan) = plan.filter(|p| p.immediate.is_some() && !recurring_only) {
        let mut after = subscription.clone();
        subscriptions::set_items(&mut after, &plan.after, plan.period);
        return item_changes::immediate_invoice(store, &after, plan, pending, id, true, ctx.now);
    }
    let end = period.1;
    if subscription["cancel_at_period_end"] == true
        || subscription["cancel_at"]
            .as_i64()
            .is_some_and(|at| at <= end)
    {
        return Err(ApiError::upcoming_none(customer));
    }
    let phases = phases.map_or_else(
        || schedules::active_phases(store, subscription),
        |p| Some(p.to_vec()),
    );
    let scheduled = phases
        .as_deref()
        .and_then(|phases| schedules::items_at(phases, subscription, end));
    let recurrence = |items: &[Item]| items.first().and_then(Item::recurrence);
    let anchor = match &scheduled {
        Some(next) if recurrence(next) != recurrence(&items) => end,
        _ => anchor,
    };
    let items = scheduled.unwrap_or(items);
    let mut view = subscription.clone();
    view["billing_cycle_anchor"] = anchor.into();
    let next = subscriptions::next_period(&view, &items, end);
    subscriptions::subscription_invoice(
        store,
        InvoiceSpec {
            id,
            subscription,
            pending,
            recurring: &items,
            recurring_period: next,
            trial: false,
            billing_reason: "upcoming",
            period,
            created: end,
            proration_date: plan.filter(|_| !recurring_only).map(|p| p.t),
            next_payment_attempt: Some(end),
        },
    )
    .map(|mut invoice| {
        if subscription["collection_method"] != "charge_automatically" {
            invoice["next_payment_attempt"] = Value::Null;
        }
        invoice
    })
}
