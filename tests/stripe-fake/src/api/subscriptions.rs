//! `/v1/subscriptions`: create (with the first invoice), retrieve, list, update (item changes with
//! prorations) and cancel. The billing itself is in `crate::billing`.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::app::App;
use crate::billing::subscriptions::{self, NewSubscription, RESOURCE};
use crate::billing::{
    Item, PaymentBehavior, ProrationBehavior, item_changes, pending_updates, schedules, test_clocks,
};
use crate::http::params::{Change, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::calendar::DAY;
use crate::model::customers;
use crate::model::error::ApiError;
use crate::model::metadata::MetadataUpdate;
use crate::model::payment_methods;
use crate::model::store::{Collection, Store};

const CREATE: Spec = Spec::new(
    &[
        "billing_mode",
        "cancel_at_period_end",
        "collection_method",
        "customer",
        "days_until_due",
        "default_payment_method",
        "description",
        "expand",
        "items",
        "metadata",
        "payment_behavior",
        "payment_settings",
        "proration_behavior",
        "trial_end",
        "trial_period_days",
    ],
    &[
        "add_invoice_items",
        "application_fee_percent",
        "automatic_tax",
        "backdate_start_date",
        "billing_cycle_anchor",
        "billing_cycle_anchor_config",
        "billing_schedules",
        "billing_thresholds",
        "cancel_at",
        "currency",
        "customer_account",
        "default_source",
        "default_tax_rates",
        "discounts",
        "invoice_settings",
        "off_session",
        "on_behalf_of",
        "pending_invoice_item_interval",
        "transfer_data",
        "trial_from_plan",
        "trial_settings",
    ],
);
const CREATE_ITEM: Spec = Spec::new(
    &["metadata", "price", "quantity"],
    &[
        "billing_thresholds",
        "current_trial",
        "discounts",
        "plan",
        "price_data",
        "tax_rates",
    ],
);
/// `cancel_at` is taken only to give a schedule-managed subscription Stripe's refusal; otherwise
/// it is refused as not implemented.
const UPDATE: Spec = Spec::new(
    &[
        "billing_cycle_anchor",
        "cancel_at",
        "cancel_at_period_end",
        "default_payment_method",
        "description",
        "expand",
        "items",
        "metadata",
        "payment_behavior",
        "payment_settings",
        "proration_behavior",
        "proration_date",
    ],
    &[
        "add_invoice_items",
        "application_fee_percent",
        "automatic_tax",
        "billing_schedules",
        "billing_thresholds",
        "cancellation_details",
        "collection_method",
        "days_until_due",
        "default_source",
        "default_tax_rates",
        "discounts",
        "invoice_settings",
        "off_session",
        "on_behalf_of",
        "pause_collection",
        "pending_invoice_item_interval",
        "transfer_data",
        "trial_end",
        "trial_from_plan",
        "trial_settings",
    ],
);
/// Items on update and on the invoice preview's `subscription_details[items]`.
pub const UPDATE_ITEM: Spec = Spec::new(
    &["deleted", "id", "metadata", "price", "quantity"],
    &[
        "billing_thresholds",
        "clear_usage",
        "current_trial",
        "discounts",
        "plan",
        "price_data",
        "tax_rates",
    ],
);
const PAYMENT_SETTINGS: Spec = Spec::new(
    &["save_default_payment_method"],
    &["payment_method_options", "payment_method_types"],
);
pub const BILLING_MODE: Spec = Spec::new(&["flexible", "type"], &[]);
const FLEXIBLE: Spec = Spec::new(&["proration_discounts"], &[]);
const CANCEL: Spec = Spec::new(
    &["cancellation_details", "expand"],
    &["invoice_now", "prorate"],
);
const CANCELLATION_DETAILS: Spec = Spec::new(&["comment", "feedback"], &[]);
/// What an update with `payment_behavior=pending_if_incomplete` may send: the pending-updates
/// reference's list [S54] (`items[n][id]` names the item to change) plus endive's
/// `cancel_at_period_end` [S55].
const PENDING_PARAMS: &[&str] = &[
    "add_invoice_items",
    "billing_cycle_anchor",
    "cancel_at_period_end",
    "expand",
    "items",
    "payment_behavior",
    "proration_behavior",
    "proration_date",
    "trial_end",
    "trial_from_plan",
];
const PENDING_ITEM_PARAMS: &[&str] = &["id", "price", "quantity"];

const STATUSES: &[&str] = &[
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
];
const FEEDBACK: &[&str] = &[
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
];
/// Stripe caps trials at two years.
const MAX_TRIAL_DAYS: i64 = 730;

pub struct Subscriptions;

impl Resource for Subscriptions {
    const NAME: &'static str = RESOURCE;

    fn collection(store: &Store) -> &Collection {
        &store.subscriptions
    }
}

impl Listed for Subscriptions {
    const URL: &'static str = "/v1/subscriptions";
    const LIST: Spec = Spec::list(
        &["created", "customer", "price", "status", "test_clock"],
        &[
            "automatic_tax",
            "collection_method",
            "current_period_end",
            "current_period_start",
            "customer_account",
            "plan",
        ],
    );

    /// `status` defaults to everything but `canceled`; `all` and `ended` are Stripe's groups.
    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        let customer = params.string("customer")?.filter(|c| !c.is_empty());
        let price = params.string("price")?.filter(|p| !p.is_empty());
        let status = params.one_of("status", STATUSES)?;
        let clock = params.string("test_clock")?.filter(|c| !c.is_empty());
        Ok(move |s: &Value| {
            let matches_status = match status {
                None => s["status"] != "canceled",
                Some("all") => true,
                Some("ended") => subscriptions::is_ended(s),
                Some(wanted) => s["status"] == wanted,
            };
            // Without `test_clock` or `customer`, test clock subscriptions are left out [S10].
            let matches_clock = match clock {
                Some(clock) => s["test_clock"] == clock,
                None => customer.is_some() || s["test_clock"].is_null(),
            };
            matches_status
                && matches_clock
                && customer.is_none_or(|c| s["customer"] == c)
                && price.is_none_or(|p| {
                    subscriptions::items_of(s)
                        .iter()
                        .any(|item| item.price_id() == p)
                })
        })
    }
}

/// `billing_mode[type]` (default `flexible`, SEMANTICS §5) and
/// `billing_mode[flexible][proration_discounts]`.
pub fn billing_mode(params: &Params, now: i64) -> Result<Value, ApiError> {
    let Change::Set(mode) = params.hash("billing_mode")? else {
        return Ok(subscriptions::billing_mode("flexible", None, now));
    };
    mode.check(&BILLING_MODE)?;
    let kind = mode.required_string("type")?;
    if !["classic", "flexible"].contains(&kind) {
        return Err(ApiError::invalid(
            mode.name("type"),
            format!("Invalid billing_mode[type]: must be one of classic or flexible (got {kind})"),
        ));
    }
    let discounts = match mode.hash("flexible")? {
        Change::Set(flexible) => {
            flexible.check(&FLEXIBLE)?;
            let value = flexible.string("proration_discounts")?;
            if let Some(bad) = value.filter(|v| !["included", "itemized"].contains(v)) {
                return Err(ApiError::invalid(
                    flexible.name("proration_discounts"),
                    format!(
                        "Invalid proration_discounts: must be one of included or itemized (got \
                         {bad})"
                    ),
                ));
            }
            value.map(str::to_owned)
        }
        _ => None,
    };
    Ok(subscriptions::billing_mode(kind, discounts.as_deref(), now))
}

fn save_default_payment_method(params: &Params) -> Result<Option<String>, ApiError> {
    let Change::Set(settings) = params.hash("payment_settings")? else {
        return Ok(None);
    };
    settings.check(&PAYMENT_SETTINGS)?;
    match settings.string("save_default_payment_method")? {
        None => Ok(None),
        Some(value @ ("off" | "on_subscription")) => Ok(Some(value.to_owned())),
        Some(other) => Err(ApiError::invalid(
            settings.name("save_default_payment_method"),
            format!(
                "Invalid save_default_payment_method: must be one of off or on_subscription (got \
                 {other})"
            ),
        )),
    }
}

/// One `items[n]` entry of an update or preview.
pub struct ItemInput {
    id: Option<String>,
    price: Option<String>,
    quantity: Option<u64>,
    deleted: bool,
    metadata: Option<MetadataUpdate>,
}

fn quantity(item: &Params) -> Result<Option<u64>, ApiError> {
    item.integer("quantity")?
        .map(|q| {
            u64::try_from(q).map_err(|_| {
                ApiError::invalid(
                    item.name("quantity"),
                    "This value must be greater than or equal to 0.",
                )
            })
        })
        .transpose()
}

/// `items` of an update (also `subscription_details[items]` of a preview).
pub fn item_inputs(params: &Params) -> Result<Option<Vec<ItemInput>>, ApiError> {
    let Change::Set(items) = params.hash_list("items")? else {
        return Ok(None);
    };
    items
        .iter()
        .map(|item| {
            item.check(&UPDATE_ITEM)?;
            Ok(ItemInput {
                id: item
                    .string("id")?
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                price: item
                    .string("price")?
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                quantity: quantity(item)?,
                deleted: item.boolean("deleted")?.unwrap_or(false),
                metadata: item.metadata()?,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The subscription's items after an update's `items` (matched by `id`; without one, a new item).
pub fn resolve_items(
    store: &Store,
    subscription: &Value,
    inputs: &[ItemInput],
    prefix: &str,
    now: i64,
) -> Result<Vec<Item>, ApiError> {
    let mut items = subscriptions::items_of(subscription);
    for (i, input) in inputs.iter().enumerate() {
        let param = |key: &str| format!("{prefix}[{i}][{key}]");
        let price = input
            .price
            .as_deref()
            .map(|id| subscriptions::subscribable_price(store, id, &param("price")))
            .transpose()?;
        match &input.id {
            Some(id) => {
                let position = items
                    .iter()
                    .position(|item| item.id == *id)
                    .ok_or_else(|| ApiError::no_such_param("subscription item", id, param("id")))?;
                if input.deleted {
                    items.remove(position);
                    continue;
                }
                let item = &mut items[position];
                if let Some(price) = price {
                    item.price = price;
                }
                if let Some(quantity) = input.quantity {
                    item.quantity = quantity;
                }
                if let Some(update) = &input.metadata {
                    update.apply(&mut item.metadata)?;
                }
            }
            None if input.deleted => return Err(ApiError::missing_parameter(&param("id"))),
            None => {
                let price = price.ok_or_else(|| ApiError::missing_parameter(&param("price")))?;
                let mut metadata = json!({});
                if let Some(update) = &input.metadata {
                    update.apply(&mut metadata)?;
                }
                items.push(subscriptions::new_item(
                    price,
                    input.quantity.unwrap_or(1),
                    metadata,
                    now,
                ));
            }
        }
    }
    subscriptions::check_items(&items, prefix)?;
    Ok(items)
}

/// `proration_behavior` (default `create_prorations`).
pub fn proration_behavior(params: &Params) -> Result<ProrationBehavior, ApiError> {
    params
        .string("proration_behavior")?
        .map_or(Ok(ProrationBehavior::CreateProrations), |value| {
            ProrationBehavior::parse(value, &params.name("proration_behavior"))
        })
}

/// `billing_cycle_anchor` on update / preview: `now` restarts the cycle, `unchanged` does not.
pub fn restarts_cycle(params: &Params) -> Result<bool, ApiError> {
    match params.string("billing_cycle_anchor")? {
        None | Some("unchanged") => Ok(false),
        Some("now") => Ok(true),
        Some(value) if value.parse::<i64>().is_ok() => Err(ApiError::not_implemented(&format!(
            "{}=<timestamp>",
            params.name("billing_cycle_anchor")
        ))),
        Some(other) => Err(ApiError::invalid(
            params.name("billing_cycle_anchor"),
            format!("Invalid billing_cycle_anchor: must be one of now or unchanged (got {other})"),
        )),
    }
}

/// Refuses what a pending update cannot carry (the error is UNCONFIRMED: the message is the
/// fake's own, README "Refusals").
fn check_pending_params(params: &Params) -> Result<(), ApiError> {
    let refuse = |name: String| {
        ApiError::invalid(
            name.clone(),
            format!(
                "`{name}` cannot be used with payment_behavior=pending_if_incomplete. Pending \
                 updates support only: {}, items[n][{}].",
                PENDING_PARAMS.join(", "),
                PENDING_ITEM_PARAMS.join("|")
            ),
        )
    };
    let sent = params.to_value();
    if let Some(key) = sent
        .as_object()
        .into_iter()
        .flat_map(|all| all.keys())
        .find(|key| !PENDING_PARAMS.contains(&key.as_str()))
    {
        return Err(refuse(key.clone()));
    }
    if let Change::Set(items) = params.hash_list("items")? {
        for item in &items {
            let sent = item.to_value();
            if let Some(key) = sent
                .as_object()
                .into_iter()
                .flat_map(|all| all.keys())
                .find(|key| !PENDING_ITEM_PARAMS.contains(&key.as_str()))
            {
                return Err(refuse(item.name(key)));
            }
        }
    }
    Ok(())
}

/// The trial's end from `trial_end` (`now` = no trial) or `trial_period_days`.
fn trial_end(params: &Params, now: i64) -> Result<Option<i64>, ApiError> {
    let days = params.integer("trial_period_days")?;
    let end = params.string("trial_end")?;
    match (days, end) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "trial_end",
            "You may only specify one of these parameters: trial_end, trial_period_days.",
        )),
        (Some(days), None) if (0..=MAX_TRIAL_DAYS).contains(&days) => {
            Ok((days > 0).then_some(now + days * DAY))
        }
        (Some(_), None) => Err(ApiError::invalid(
            "trial_period_days",
            format!("trial_period_days must be between 0 and {MAX_TRIAL_DAYS}."),
        )),
        (None, Some("now")) => Ok(None),
        (None, Some(value)) => match value.parse::<i64>() {
            Ok(end) if end > now && end <= now + MAX_TRIAL_DAYS * DAY => Ok(Some(end)),
            Ok(_) => Err(ApiError::invalid(
                "trial_end",
                "Invalid timestamp: must be an integer Unix timestamp in the future (and at \
                 most two years away).",
            )),
            Err(_) => Err(ApiError::invalid(
                "trial_end",
                format!("Invalid trial_end: must be `now` or a timestamp (got {value})"),
            )),
        },
        (None, None) => Ok(None),
    }
}

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&CREATE)?;
    let ctx = app.ctx();
    let customer = params.required_string("customer")?.to_owned();
    let payment_behavior = PaymentBehavior::parse(params.string("payment_behavior")?)?;
    if payment_behavior == PaymentBehavior::PendingIfIncomplete {
        // Pending updates exist for updates only (SEMANTICS §5).
        return Err(ApiError::not_implemented(
            "payment_behavior=pending_if_incomplete",
        ));
    }
    proration_behavior(params)?;
    let collection_method = match params.string("collection_method")? {
        None | Some("charge_automatically") => "charge_automatically",
        Some("send_invoice") => "send_invoice",
        Some(other) => {
            return Err(ApiError::invalid(
                "collection_method",
                format!(
                    "Invalid collection_method: must be one of charge_automatically or \
                     send_invoice (got {other})"
                ),
            ));
        }
    };
    let days_until_due = params.integer("days_until_due")?;
    match (collection_method, days_until_due) {
        ("send_invoice", None) => return Err(ApiError::missing_parameter("days_until_due")),
        ("charge_automatically", Some(_)) => {
            return Err(ApiError::invalid(
                "days_until_due",
                "days_until_due can only be set when collection_method is send_invoice.",
            ));
        }
        _ => {}
    }
    let Change::Set(item_params) = params.hash_list("items")? else {
        return Err(ApiError::missing_parameter("items"));
    };
    let mut inputs = Vec::with_capacity(item_params.len());
    for item in &item_params {
        item.check(&CREATE_ITEM)?;
        let price = item.required_string("price")?.to_owned();
        inputs.push((price, quantity(item)?.unwrap_or(1), item.metadata()?));
    }
    let cancel_at_period_end = params.boolean("cancel_at_period_end")?.unwrap_or(false);
    let description = params
        .string("description")?
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    let metadata = params.metadata()?;
    let save_default = save_default_payment_method(params)?.unwrap_or_else(|| "off".into());
    let default_payment_method = params
        .string("default_payment_method")?
        .filter(|pm| !pm.is_empty())
        .map(str::to_owned);
    app.write(&request, |store, changes| {
        let live = customers::live_param(store, &customer)?;
        // A test clock customer's subscription starts at the clock's time.
        let ctx = test_clocks::ctx_for(store, &ctx, &customer);
        let trial_end = trial_end(params, ctx.now)?;
        let billing_mode = billing_mode(params, ctx.now)?;
        if let Some(pm) = &default_payment_method {
            payment_methods::check_attached(store, pm, &live["id"], "default_payment_method")?;
        }
        let mut items = Vec::with_capacity(inputs.len());
        for (i, (price, quantity, metadata)) in inputs.iter().enumerate() {
            let price =
                subscriptions::subscribable_price(store, price, &format!("items[{i}][price]"))?;
            let mut item_metadata = json!({});
            if let Some(update) = metadata {
                update.apply(&mut item_metadata)?;
            }
            items.push(subscriptions::new_item(
                price,
                *quantity,
                item_metadata,
                ctx.now,
            ));
        }
        subscriptions::check_items(&items, "items")?;
        let subscription = subscriptions::create(
            store,
            changes,
            &ctx,
            NewSubscription {
                customer: customer.clone(),
                items,
                default_payment_method: default_payment_method.clone(),
                payment_behavior,
                trial_end,
                metadata,
                description,
                cancel_at_period_end,
                collection_method: collection_method.to_owned(),
                days_until_due,
                billing_mode,
                save_default_payment_method: save_default,
                schedule: None,
            },
        )?;
        request.render(store, subscription)
    })
}

pub async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&UPDATE)?;
    let ctx = app.ctx();
    let payment_behavior = PaymentBehavior::parse(params.string("payment_behavior")?)?;
    let pending = payment_behavior == PaymentBehavior::PendingIfIncomplete;
    if pending {
        check_pending_params(params)?;
    }
    let behavior = proration_behavior(params)?;
    let proration_date = params.integer("proration_date")?;
    let cancel_at_period_end = params.boolean("cancel_at_period_end")?;
    let cancel_at = params.contains("cancel_at");
    let default_payment_method = params.text("default_payment_method")?;
    let description = params.text("description")?;
    let metadata = params.metadata()?;
    let save_default = save_default_payment_method(params)?;
    let restart = restarts_cycle(params)?;
    let inputs = item_inputs(params)?;
    let only_metadata = params
        .to_value()
        .as_object()
        .is_some_and(|p| p.keys().all(|k| k == "metadata" || k == "expand"));
    app.write(&request, |store, changes| {
        let before = Subscriptions::get(store, &id)?;
        let ctx = test_clocks::ctx_of(store, &ctx, Some(&before));
        if pending && before["collection_method"] != "charge_automatically" {
            return Err(ApiError::refused(
                "payment_behavior",
                "Pending updates are not supported when the subscription's collection_method \
                 is send_invoice.",
            ));
        }
        let changes_items = inputs.is_some() || restart;
        pending_updates::before_update(
            store,
            changes,
            &ctx,
            &before,
            changes_items,
            cancel_at_period_end,
        )?;
        // A conflicting `cancel_at_period_end` may just have dropped a pending update.
        let before = Subscriptions::get(store, &id)?;
        if cancel_at_period_end.is_some() || cancel_at {
            schedules::refuse_direct_cancelation(store, &before)?;
        }
        if cancel_at {
            return Err(ApiError::not_implemented("cancel_at"));
        }
        if subscriptions::is_ended(&before) && !only_metadata {
            return Err(ApiError::refused(
                "id",
                "A canceled subscription can only update its cancellation_details and metadata.",
            ));
        }
        let mut after = before.clone();
        if let Some(update) = &metadata {
            update.apply(&mut after["metadata"])?;
        }
        match description {
            Change::Keep => {}
            Change::Clear => after["description"] = Value::Null,
            Change::Set(ref text) => after["description"] = json!(text),
        }
        match default_payment_method {
            Change::Keep => {}
            Change::Clear => after["default_payment_method"] = Value::Null,
            Change::Set(ref pm) => {
                payment_methods::check_attached(
                    store,
                    pm,
                    &before["customer"],
                    "default_payment_method",
                )?;
                after["default_payment_method"] = json!(pm);
            }
        }
        if let Some(save) = &save_default {
            after["payment_settings"]["save_default_payment_method"] = json!(save);
        }
        if let Some(cancel) = cancel_at_period_end {
            subscriptions::set_cancel_at_period_end(&mut after, cancel, &ctx);
        }
        let plan = if changes_items {
            let items = resolve_items(
                store,
                &before,
                inputs.as_deref().unwrap_or(&[]),
                "items",
                ctx.now,
            )?;
            if let Some(t) = proration_date {
                item_changes::check_proration_date(&before, t, "proration_date")?;
            }
            let t = proration_date.unwrap_or(ctx.now);
            Some(item_changes::plan_change(
                store, &after, items, behavior, t, restart,
            ))
        } else {
            None
        };
        let subscription = item_changes::apply_update(
            store,
            changes,
            &ctx,
            &before,
            after,
            plan,
            payment_behavior,
        )?;
        request.render(store, subscription)
    })
}

/// `DELETE /v1/subscriptions/:id`: cancels now.
pub async fn cancel(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&CANCEL)?;
    let ctx = app.ctx();
    let mut details = (None, None);
    if let Change::Set(hash) = params.hash("cancellation_details")? {
        hash.check(&CANCELLATION_DETAILS)?;
        let feedback = hash.string("feedback")?.filter(|f| !f.is_empty());
        if let Some(bad) = feedback.filter(|f| !FEEDBACK.contains(f)) {
            return Err(ApiError::invalid(
                hash.name("feedback"),
                format!(
                    "Invalid feedback: must be one of {} (got {bad})",
                    FEEDBACK.join(", ")
                ),
            ));
        }
        details = (
            hash.string("comment")?
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            feedback.map(str::to_owned),
        );
    }
    app.write(&request, |store, changes| {
        let mut subscription = Subscriptions::get(store, &id)?;
        let ctx = test_clocks::ctx_of(store, &ctx, Some(&subscription));
        if subscriptions::is_ended(&subscription) {
            return Err(ApiError::unexpected_state(
                "resource_missing",
                format!("No such subscription: '{id}' (it is already canceled)."),
            ));
        }
        subscription["canceled_at"] = json!(ctx.now);
        if let Some(comment) = &details.0 {
            subscription["cancellation_details"]["comment"] = json!(comment);
        }
        if let Some(feedback) = &details.1 {
            subscription["cancellation_details"]["feedback"] = json!(feedback);
        }
        store.subscriptions.insert(subscription);
        let canceled = subscriptions::cancel(store, changes, &ctx, &id)
            .ok_or_else(|| ApiError::no_such(RESOURCE, &id))?;
        request.render(store, canceled)
    })
}
