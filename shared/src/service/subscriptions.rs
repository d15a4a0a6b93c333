//! Plans, subscriptions, plan changes (now or at period end) and invoice previews.
//!
//! Stripe is the source of truth: every read asks Stripe, and every change writes Stripe's
//! answer into the org's record (`subscription`), newer-wins, for reads that avoid Stripe.

use super::{Ensured, ensure_customer};
use crate::app::App;
use crate::domain::{OrgId, PaymentMethodId, PlanKey, StripeCustomerId};
use crate::error::BillingError;
use crate::store::{PendingPlanChange, SubscriptionSnapshot};
use crate::stripe::subscriptions::{
    CatalogPrice, InvoicePreview, ItemChange, NewSubscription, PendingChange, PreviewLine,
    ProrationBehavior, SubscriptionGateway, SubscriptionState,
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// The configured plans' prices, read from Stripe and cached per container for a short time.
pub struct PlanCatalogue {
    cached: Mutex<Option<(Instant, Vec<CatalogPrice>)>>,
}

impl Default for PlanCatalogue {
    fn default() -> Self {
        Self {
            cached: Mutex::new(None),
        }
    }
}

impl PlanCatalogue {
    const TTL: Duration = Duration::from_secs(300);

    pub async fn prices(
        &self,
        gateway: &dyn SubscriptionGateway,
        plans: &[PlanKey],
    ) -> Result<Vec<CatalogPrice>, BillingError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, prices)) = cached.as_ref()
            && at.elapsed() < Self::TTL
        {
            return Ok(prices.clone());
        }
        let keys: Vec<String> = plans.iter().map(|p| p.to_string()).collect();
        let mut prices = gateway.catalog_prices(&keys).await?;
        // The configured order, which is the order the UI shows.
        prices.sort_by_key(|price| keys.iter().position(|k| *k == price.lookup_key));
        *cached = Some((Instant::now(), prices.clone()));
        Ok(prices)
    }
}

pub(crate) async fn catalogue(app: &App) -> Result<Vec<CatalogPrice>, BillingError> {
    app.plan_catalogue
        .prices(app.subscriptions.as_ref(), &app.settings.plans)
        .await
}

fn price_of(catalogue: &[CatalogPrice], plan: &PlanKey) -> Result<CatalogPrice, BillingError> {
    catalogue
        .iter()
        .find(|p| p.lookup_key == plan.as_str())
        .cloned()
        .ok_or(BillingError::UnknownPlan)
}

fn plan_of(catalogue: &[CatalogPrice], price_id: &str) -> Option<PlanKey> {
    catalogue
        .iter()
        .find(|p| p.id == price_id)
        .and_then(|p| PlanKey::parse(p.lookup_key.clone()).ok())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub plan: String,
    pub product: String,
    /// Minor units of `currency` per `interval_count` `interval`s.
    pub amount: i64,
    pub currency: String,
    pub interval: String,
    pub interval_count: i64,
}

pub async fn list_plans(app: &App) -> Result<Vec<PlanView>, BillingError> {
    Ok(catalogue(app)
        .await?
        .into_iter()
        .map(|p| PlanView {
            plan: p.lookup_key,
            product: p.product_name,
            amount: p.unit_amount,
            currency: p.currency,
            interval: p.interval,
            interval_count: p.interval_count,
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScheduledChangeView {
    pub plan: Option<String>,
    pub quantity: i64,
    pub effective_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub plan: Option<String>,
    pub status: String,
    pub quantity: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub scheduled_change: Option<ScheduledChangeView>,
    /// Whether a plan change, a preview of one, or a cancellation can be asked for now (active,
    /// trialing or past due): the app offers them only then.
    pub can_change_plan: bool,
    /// Whether an upcoming invoice exists to preview (billing and not cancelling).
    pub has_upcoming_invoice: bool,
}

fn view(
    state: &SubscriptionState,
    pending: Option<&PendingChange>,
    catalogue: &[CatalogPrice],
) -> SubscriptionView {
    SubscriptionView {
        id: state.id.to_string(),
        plan: plan_of(catalogue, &state.price_id).map(String::from),
        status: state.status.clone(),
        quantity: state.quantity,
        current_period_start: state.current_period_start,
        current_period_end: state.current_period_end,
        cancel_at_period_end: state.cancel_at_period_end,
        scheduled_change: pending.map(|p| ScheduledChangeView {
            plan: plan_of(catalogue, &p.price_id).map(String::from),
            quantity: p.quantity,
            effective_at: p.effective_at,
        }),
        can_change_plan: state.is_billing(),
        has_upcoming_invoice: state.is_billing() && !state.cancel_at_period_end,
    }
}

/// Stores Stripe's answer in the org's record (newer wins).
pub(crate) async fn remember(
    app: &App,
    org_id: &OrgId,
    state: &SubscriptionState,
    pending: Option<&PendingChange>,
    catalogue: &[CatalogPrice],
    started_from: Option<u32>,
) -> Result<(), BillingError> {
    let snapshot = SubscriptionSnapshot {
        id: state.id.clone(),
        status: state.status.clone(),
        plan: plan_of(catalogue, &state.price_id),
        quantity: state.quantity,
        current_period_end: state.current_period_end,
        cancel_at_period_end: state.cancel_at_period_end,
        pending_plan_change: pending.map(|p| PendingPlanChange {
            plan: plan_of(catalogue, &p.price_id),
            quantity: p.quantity,
            effective_at: p.effective_at,
        }),
        synced_at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    Ok(app
        .customers
        .save_subscription(org_id, &snapshot, started_from)
        .await?)
}

/// The org's customer and its latest subscription, or `subscription_not_found`.
async fn latest(
    app: &App,
    org_id: &OrgId,
) -> Result<(StripeCustomerId, SubscriptionState), BillingError> {
    let record = app
        .customers
        .get(org_id)
        .await?
        .ok_or(BillingError::SubscriptionNotFound)?;
    let state = app
        .subscriptions
        .latest_subscription(&record.stripe_customer_id)
        .await?
        .ok_or(BillingError::SubscriptionNotFound)?;
    Ok((record.stripe_customer_id, state))
}

pub(crate) async fn pending_of(
    app: &App,
    state: &SubscriptionState,
) -> Result<Option<PendingChange>, BillingError> {
    match &state.schedule_id {
        Some(schedule) => Ok(app.subscriptions.pending_change(schedule).await?),
        None => Ok(None),
    }
}

pub async fn get_subscription(app: &App, org_id: &OrgId) -> Result<SubscriptionView, BillingError> {
    let (_, state) = latest(app, org_id).await?;
    let (pending, catalogue) = tokio::try_join!(pending_of(app, &state), catalogue(app))?;
    Ok(view(&state, pending.as_ref(), &catalogue))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSubscription {
    #[schema(value_type = Option<String>)]
    pub plan: Option<PlanKey>,
    pub quantity: Option<i64>,
    pub payment_method_id: Option<String>,
    pub trial_days: Option<u32>,
}

/// A started subscription; `client_secret` is set while the first payment needs the customer
/// (status `incomplete`): confirm it with Stripe.js, then the subscription turns `active`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Started {
    pub subscription: SubscriptionView,
    pub requires_payment: bool,
    pub client_secret: Option<String>,
}

const MAX_QUANTITY: i64 = 10_000;
const MAX_TRIAL_DAYS: u32 = 730;

fn quantity(requested: Option<i64>) -> Result<i64, BillingError> {
    match requested.unwrap_or(1) {
        q @ 1..=MAX_QUANTITY => Ok(q),
        _ => Err(BillingError::InvalidRequest(format!(
            "quantity must be 1 to {MAX_QUANTITY}"
        ))),
    }
}

fn customer_of(ensured: Ensured) -> crate::store::CustomerRecord {
    match ensured {
        Ensured::Created(record) | Ensured::Existing(record) => record,
    }
}

/// Starts the org's subscription on its (one) customer. One live subscription per org: the
/// idempotency key is `<org>:subscription-start:<starts>`, so concurrent or retried starts make
/// one subscription, and only after it has ended can the next start make another.
pub async fn start_subscription(
    app: &App,
    org_id: &OrgId,
    request: StartSubscription,
) -> Result<Started, BillingError> {
    let plan = request.plan.ok_or_else(|| {
        BillingError::InvalidRequest("invalid request body: missing field `plan`".into())
    })?;
    let quantity = quantity(request.quantity)?;
    if request.trial_days.is_some_and(|d| d > MAX_TRIAL_DAYS) {
        return Err(BillingError::InvalidRequest(format!(
            "trial_days must be at most {MAX_TRIAL_DAYS}"
        )));
    }
    let payment_method = request
        .payment_method_id
        .map(|id| PaymentMethodId::parse(id).map_err(|_| BillingError::InvalidPaymentMethodId))
        .transpose()?;
    let catalogue = catalogue(app).await?;
    let price = price_of(&catalogue, &plan)?;

    let record = customer_of(
        ensure_customer(
            app.customers.as_ref(),
            app.payments.as_ref(),
            org_id,
            OffsetDateTime::now_utc(),
        )
        .await?,
    );
    let customer = &record.stripe_customer_id;
    if let Some(method) = &payment_method
        && app.payments.payment_method_owner(method).await?.as_ref() != Some(customer)
    {
        return Err(BillingError::PaymentMethodNotFound);
    }
    let key = format!("{org_id}:subscription-start:{}", record.subscription_starts);
    let live = app
        .subscriptions
        .latest_subscription(customer)
        .await?
        .filter(|existing| !existing.has_ended());
    let state = match live {
        // This start's own subscription: an earlier attempt created it, then failed before
        // recording it. Answer as that attempt would have; an `incomplete` one (under 23 h old,
        // so inside Stripe's 24 h key window) is replayed to get its payment secret back.
        Some(own)
            if own.start_key.as_deref() == Some(key.as_str()) && own.status != "incomplete" =>
        {
            own
        }
        Some(other) if other.start_key.as_deref() != Some(key.as_str()) => {
            return Err(BillingError::SubscriptionExists);
        }
        _ => {
            let charge_now = payment_method.is_some()
                || app
                    .payments
                    .default_payment_method(customer)
                    .await?
                    .is_some();
            let new = NewSubscription {
                customer,
                price_id: &price.id,
                quantity,
                payment_method: payment_method.as_ref(),
                trial_days: request.trial_days,
                charge_now,
            };
            match app.subscriptions.create_subscription(new, &key).await {
                Ok(state) => state,
                // Another start for this org with other parameters holds the key.
                Err(crate::stripe::GatewayError::IdempotencyConflict) => {
                    return Err(BillingError::SubscriptionExists);
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    remember(
        app,
        org_id,
        &state,
        None,
        &catalogue,
        Some(record.subscription_starts),
    )
    .await?;
    Ok(Started {
        requires_payment: state.payment_client_secret.is_some(),
        client_secret: state.payment_client_secret.clone(),
        subscription: view(&state, None, &catalogue),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    #[default]
    Immediate,
    PeriodEnd,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(value_type = Option<String>)]
    pub plan: Option<PlanKey>,
    pub quantity: Option<i64>,
    pub timing: Option<Timing>,
    pub proration_behavior: Option<ProrationBehavior>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    pub currency: String,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub amount_due: i64,
    pub next_payment_attempt: Option<i64>,
    /// Pass this to the plan change so the charge equals this preview.
    pub proration_date: Option<i64>,
    pub lines: Vec<PreviewLine>,
}

fn preview_view(preview: InvoicePreview, proration_date: Option<i64>) -> PreviewView {
    PreviewView {
        currency: preview.currency,
        subtotal: preview.subtotal,
        tax: preview.tax,
        total: preview.total,
        amount_due: preview.amount_due,
        next_payment_attempt: preview.next_payment_attempt,
        proration_date,
        lines: preview.lines,
    }
}

fn live(state: SubscriptionState) -> Result<SubscriptionState, BillingError> {
    if state.has_ended() {
        Err(BillingError::SubscriptionEnded)
    } else {
        Ok(state)
    }
}

/// The item change a plan change or its preview sends to Stripe.
fn item_change(
    state: &SubscriptionState,
    price: &CatalogPrice,
    quantity: i64,
    timing: Timing,
    behavior: Option<ProrationBehavior>,
    proration_date: Option<i64>,
) -> ItemChange {
    let (proration_behavior, proration_date) = match timing {
        Timing::Immediate => (
            behavior.unwrap_or(ProrationBehavior::CreateProrations),
            proration_date,
        ),
        // At period end nothing is prorated: the next invoice simply bills the new price.
        Timing::PeriodEnd => (ProrationBehavior::None, None),
    };
    ItemChange {
        item_id: state.item_id.clone(),
        price_id: price.id.clone(),
        quantity,
        proration_behavior,
        proration_date: proration_date.filter(|_| proration_behavior != ProrationBehavior::None),
    }
}

/// Without a plan: the org's upcoming invoice. With one: the invoice that change would produce,
/// and the `proration_date` it used.
pub async fn preview_invoice(
    app: &App,
    org_id: &OrgId,
    request: PreviewRequest,
) -> Result<PreviewView, BillingError> {
    let (customer, state) = latest(app, org_id).await?;
    let state = live(state).map_err(|_| BillingError::SubscriptionNotFound)?;
    let Some(plan) = request.plan else {
        let preview = app
            .subscriptions
            .preview_invoice(&customer, &state.id, None)
            .await?;
        return Ok(preview_view(preview, None));
    };
    let catalogue = catalogue(app).await?;
    let price = price_of(&catalogue, &plan)?;
    let quantity = quantity(request.quantity)?;
    let timing = request.timing.unwrap_or_default();
    let now = clamp_into_period(&state, OffsetDateTime::now_utc().unix_timestamp());
    let change = item_change(
        &state,
        &price,
        quantity,
        timing,
        request.proration_behavior,
        Some(now),
    );
    let preview = app
        .subscriptions
        .preview_invoice(&customer, &state.id, Some(&change))
        .await?;
    Ok(preview_view(preview, change.proration_date))
}

fn clamp_into_period(state: &SubscriptionState, at: i64) -> i64 {
    at.clamp(
        state.current_period_start,
        state.current_period_end.saturating_sub(1),
    )
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChangeRequest {
    #[schema(value_type = Option<String>)]
    pub plan: Option<PlanKey>,
    pub quantity: Option<i64>,
    pub timing: Option<Timing>,
    pub proration_behavior: Option<ProrationBehavior>,
    pub proration_date: Option<i64>,
}

/// Changes plan now (prorated as asked, at the preview's `proration_date` when given) or at the
/// period end (a subscription schedule, replacing any pending change). Asking for the current
/// plan at period end while a change is pending withdraws that change.
pub async fn change_plan(
    app: &App,
    org_id: &OrgId,
    request: PlanChangeRequest,
    idempotency_key: &str,
    replayable: bool,
) -> Result<SubscriptionView, BillingError> {
    let plan = request.plan.ok_or_else(|| {
        BillingError::InvalidRequest("invalid request body: missing field `plan`".into())
    })?;
    let timing = request.timing.ok_or_else(|| {
        BillingError::InvalidRequest("invalid request body: missing field `timing`".into())
    })?;
    let quantity = quantity(request.quantity)?;
    let catalogue = catalogue(app).await?;
    let price = price_of(&catalogue, &plan)?;
    let (_, state) = latest(app, org_id).await?;
    let state = live(state)?;
    let pending = pending_of(app, &state).await?;
    let unchanged = state.price_id == price.id && state.quantity == quantity;

    let (state, pending) = match timing {
        Timing::Immediate => {
            // Already on it: a retry under the client's key after a partial failure is sent
            // again, so Stripe replays the first answer (or makes a no-op change); without a
            // client key it is a mistake worth telling.
            if unchanged && !replayable {
                return Err(BillingError::PlanUnchanged);
            }
            if let Some(date) = request.proration_date
                && !(state.current_period_start..state.current_period_end).contains(&date)
            {
                return Err(BillingError::InvalidProrationDate);
            }
            // A change now supersedes one that was waiting for the period end.
            if let Some(schedule) = &state.schedule_id {
                app.subscriptions
                    .release_schedule(schedule, &format!("{idempotency_key}:release"))
                    .await?;
            }
            let change = item_change(
                &state,
                &price,
                quantity,
                timing,
                request.proration_behavior,
                request.proration_date,
            );
            (
                app.subscriptions
                    .change_item(&state.id, &change, idempotency_key)
                    .await?,
                None,
            )
        }
        Timing::PeriodEnd if unchanged => match (&state.schedule_id, pending) {
            (Some(schedule), Some(_)) => {
                app.subscriptions
                    .release_schedule(schedule, idempotency_key)
                    .await?;
                let mut released = state.clone();
                released.schedule_id = None;
                (released, None)
            }
            _ => return Err(BillingError::PlanUnchanged),
        },
        Timing::PeriodEnd => {
            let scheduled = app
                .subscriptions
                .schedule_change(&state, &price, quantity, idempotency_key)
                .await?;
            (state, Some(scheduled))
        }
    };
    remember(app, org_id, &state, pending.as_ref(), &catalogue, None).await?;
    Ok(view(&state, pending.as_ref(), &catalogue))
}

/// Cancels at period end (`cancel = true`) or undoes that (`cancel = false`); both idempotent.
pub async fn set_cancel_at_period_end(
    app: &App,
    org_id: &OrgId,
    cancel: bool,
    idempotency_key: &str,
) -> Result<SubscriptionView, BillingError> {
    let (_, state) = latest(app, org_id).await?;
    let state = live(state)?;
    let state = if state.cancel_at_period_end == cancel {
        state
    } else {
        app.subscriptions
            .set_cancel_at_period_end(&state.id, cancel, idempotency_key)
            .await?
    };
    let (pending, catalogue) = tokio::try_join!(pending_of(app, &state), catalogue(app))?;
    remember(app, org_id, &state, pending.as_ref(), &catalogue, None).await?;
    Ok(view(&state, pending.as_ref(), &catalogue))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::service::fakes::{FakeGateway, FakeSubscriptions};
    use crate::service::subscription_fakes::{PERIOD_END, PERIOD_START};
    use crate::store::{CustomerStore, InMemoryCustomerStore};
    use std::sync::Arc;

    /// An app over in-memory ports, with handles on the fakes behind it.
    pub(crate) struct World {
        pub(crate) app: App,
        pub(crate) gateway: Arc<FakeGateway>,
        pub(crate) subscriptions: Arc<FakeSubscriptions>,
        pub(crate) store: Arc<InMemoryCustomerStore>,
    }

    impl World {
        /// The Stripe customer the fake made for `org` (the latest, after a re-link).
        pub(crate) fn customer_of(&self, org: &str) -> StripeCustomerId {
            self.gateway.customers.lock().unwrap()[org]
                .last()
                .unwrap()
                .clone()
        }
    }

    pub(crate) fn world() -> World {
        let env = [
            ("ENABLE_BILLING", "true"),
            ("APP_PUBLIC_URL", "https://app.example.com"),
            ("BILLING_CUSTOMERS_TABLE", "t"),
            ("WEBHOOK_EVENTS_TABLE", "billing_webhook_events"),
            ("STRIPE_SECRET_ID", "s"),
        ];
        let gateway = Arc::new(FakeGateway::default());
        let subscriptions = Arc::new(FakeSubscriptions::default());
        let store = Arc::new(InMemoryCustomerStore::default());
        let app = App {
            settings: Settings::from_env(&env).unwrap(),
            customers: store.clone(),
            payments: gateway.clone(),
            subscriptions: subscriptions.clone(),
            plan_catalogue: PlanCatalogue::default(),
            events: Arc::new(crate::store::InMemoryEventLog::default()),
            signing: Arc::new(crate::app::FixedSigningSecret(None)),
        };
        World {
            app,
            gateway,
            subscriptions,
            store,
        }
    }

    fn org() -> OrgId {
        OrgId::parse("org_1").unwrap()
    }

    fn plan(key: &str) -> Option<PlanKey> {
        Some(PlanKey::parse(key).unwrap())
    }

    fn start(key: &str) -> StartSubscription {
        StartSubscription {
            plan: plan(key),
            ..Default::default()
        }
    }

    fn change(key: &str, timing: Timing) -> PlanChangeRequest {
        PlanChangeRequest {
            plan: plan(key),
            timing: Some(timing),
            ..Default::default()
        }
    }

    async fn started(w: &World) -> Started {
        start_subscription(&w.app, &org(), start("starter_monthly"))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn plans_come_from_the_configured_catalogue_in_order() {
        let w = world();
        let plans = list_plans(&w.app).await.unwrap();
        let keys: Vec<_> = plans.iter().map(|p| (p.plan.as_str(), p.amount)).collect();
        assert_eq!(
            keys,
            [
                ("starter_monthly", 1000),
                ("pro_monthly", 3000),
                ("pro_yearly", 30000)
            ]
        );
    }

    #[tokio::test]
    async fn a_start_without_a_card_reports_the_payment_the_customer_must_confirm() {
        let w = world();
        let started = started(&w).await;
        assert!(started.requires_payment);
        assert!(started.client_secret.is_some());
        assert_eq!(started.subscription.status, "incomplete");
        assert_eq!(
            started.subscription.plan.as_deref(),
            Some("starter_monthly")
        );
        assert_eq!(
            w.gateway.customers_for("org_1"),
            1,
            "the org's one customer is reused"
        );
        let record = w.store.get(&org()).await.unwrap().unwrap();
        assert_eq!(record.subscription_starts, 1);
        assert_eq!(record.subscription.unwrap().status, "incomplete");
    }

    #[tokio::test]
    async fn a_start_retried_after_its_record_write_failed_answers_with_its_own_subscription() {
        let w = world();
        let record = customer_of(
            ensure_customer(
                w.app.customers.as_ref(),
                w.app.payments.as_ref(),
                &org(),
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap(),
        );
        // An earlier attempt: Stripe created the subscription, the answer never got recorded.
        let new = NewSubscription {
            customer: &record.stripe_customer_id,
            price_id: "price_starter",
            quantity: 1,
            payment_method: None,
            trial_days: None,
            charge_now: false,
        };
        let first = w
            .subscriptions
            .create_subscription(new, "org_1:subscription-start:0")
            .await
            .unwrap();
        let retried = start_subscription(&w.app, &org(), start("starter_monthly"))
            .await
            .unwrap();
        assert_eq!(retried.subscription.id, first.id.as_str());
        assert!(
            retried.client_secret.is_some(),
            "the payment secret comes back"
        );
        let stored = w.store.get(&org()).await.unwrap().unwrap();
        assert_eq!(stored.subscription_starts, 1);
        // A subscription this start did not make still blocks a start.
        let error = start_subscription(&w.app, &org(), start("starter_monthly"))
            .await
            .unwrap_err();
        assert!(matches!(error, BillingError::SubscriptionExists));
    }

    #[tokio::test]
    async fn a_plan_change_retried_under_the_clients_key_replays_instead_of_plan_unchanged() {
        let w = world();
        started(&w).await;
        let change_now = || change("pro_monthly", Timing::Immediate);
        let first = change_plan(&w.app, &org(), change_now(), "k", true)
            .await
            .unwrap();
        let retried = change_plan(&w.app, &org(), change_now(), "k", true)
            .await
            .unwrap();
        assert_eq!(retried, first);
        let error = change_plan(&w.app, &org(), change_now(), "k2", false)
            .await
            .unwrap_err();
        assert!(matches!(error, BillingError::PlanUnchanged));
    }

    #[tokio::test]
    async fn a_second_start_is_subscription_exists_until_the_first_has_ended() {
        let w = world();
        started(&w).await;
        let error = start_subscription(&w.app, &org(), start("pro_monthly"))
            .await
            .unwrap_err();
        assert!(matches!(error, BillingError::SubscriptionExists));
        w.subscriptions.end_all();
        let again = start_subscription(&w.app, &org(), start("pro_monthly"))
            .await
            .unwrap();
        assert_eq!(
            again.subscription.id, "sub_2",
            "a new start key after the first ended"
        );
    }

    #[tokio::test]
    async fn bad_starts_are_refused_before_anything_is_created() {
        let w = world();
        let unknown = start_subscription(&w.app, &org(), start("gold_monthly"))
            .await
            .unwrap_err();
        assert!(matches!(unknown, BillingError::UnknownPlan));
        let missing = start_subscription(&w.app, &org(), StartSubscription::default())
            .await
            .unwrap_err();
        assert!(matches!(missing, BillingError::InvalidRequest(_)));
        let zero = StartSubscription {
            quantity: Some(0),
            ..start("starter_monthly")
        };
        assert!(start_subscription(&w.app, &org(), zero).await.is_err());
        let foreign = StartSubscription {
            payment_method_id: Some("pm_foreign".into()),
            ..start("starter_monthly")
        };
        let error = start_subscription(&w.app, &org(), foreign)
            .await
            .unwrap_err();
        assert!(matches!(error, BillingError::PaymentMethodNotFound));
        assert!(w.subscriptions.subscriptions.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn changing_to_the_same_plan_now_is_plan_unchanged() {
        let w = world();
        started(&w).await;
        let error = change_plan(
            &w.app,
            &org(),
            change("starter_monthly", Timing::Immediate),
            "k",
            false,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BillingError::PlanUnchanged));
    }

    #[tokio::test]
    async fn an_immediate_change_updates_stripe_and_the_stored_copy() {
        let w = world();
        started(&w).await;
        let request = PlanChangeRequest {
            proration_date: Some(PERIOD_START + 100),
            ..change("pro_monthly", Timing::Immediate)
        };
        let changed = change_plan(&w.app, &org(), request, "k", false)
            .await
            .unwrap();
        assert_eq!(changed.plan.as_deref(), Some("pro_monthly"));
        let stored = w
            .store
            .get(&org())
            .await
            .unwrap()
            .unwrap()
            .subscription
            .unwrap();
        assert_eq!(stored.plan, plan("pro_monthly"));
    }

    #[tokio::test]
    async fn a_proration_date_outside_the_period_is_refused() {
        let w = world();
        started(&w).await;
        for date in [PERIOD_START - 1, PERIOD_END] {
            let request = PlanChangeRequest {
                proration_date: Some(date),
                ..change("pro_monthly", Timing::Immediate)
            };
            let error = change_plan(&w.app, &org(), request, "k", false)
                .await
                .unwrap_err();
            assert!(
                matches!(error, BillingError::InvalidProrationDate),
                "{date}"
            );
        }
    }

    #[tokio::test]
    async fn a_period_end_change_is_scheduled_visible_and_withdrawable() {
        let w = world();
        started(&w).await;
        let scheduled = change_plan(
            &w.app,
            &org(),
            change("pro_yearly", Timing::PeriodEnd),
            "k1",
            false,
        )
        .await
        .unwrap();
        assert_eq!(
            scheduled.plan.as_deref(),
            Some("starter_monthly"),
            "the current plan is untouched"
        );
        let pending = scheduled.scheduled_change.unwrap();
        assert_eq!(
            (pending.plan.as_deref(), pending.effective_at),
            (Some("pro_yearly"), PERIOD_END)
        );
        let read = get_subscription(&w.app, &org()).await.unwrap();
        assert_eq!(
            read.scheduled_change.unwrap().plan.as_deref(),
            Some("pro_yearly")
        );

        let withdrawn = change_plan(
            &w.app,
            &org(),
            change("starter_monthly", Timing::PeriodEnd),
            "k2",
            false,
        )
        .await
        .unwrap();
        assert_eq!(withdrawn.scheduled_change, None);
        assert_eq!(
            get_subscription(&w.app, &org())
                .await
                .unwrap()
                .scheduled_change,
            None
        );
    }

    #[tokio::test]
    async fn a_change_now_supersedes_a_pending_one() {
        let w = world();
        started(&w).await;
        change_plan(
            &w.app,
            &org(),
            change("pro_yearly", Timing::PeriodEnd),
            "k1",
            false,
        )
        .await
        .unwrap();
        let now = change_plan(
            &w.app,
            &org(),
            change("pro_monthly", Timing::Immediate),
            "k2",
            false,
        )
        .await
        .unwrap();
        assert_eq!(now.scheduled_change, None);
        assert_eq!(w.subscriptions.released.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn ended_subscriptions_cannot_be_changed_cancelled_or_resumed() {
        let w = world();
        started(&w).await;
        w.subscriptions.end_all();
        let error = change_plan(
            &w.app,
            &org(),
            change("pro_monthly", Timing::Immediate),
            "k",
            false,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BillingError::SubscriptionEnded));
        let error = set_cancel_at_period_end(&w.app, &org(), true, "k")
            .await
            .unwrap_err();
        assert_eq!(error.code(), "subscription_canceled");
    }

    #[tokio::test]
    async fn cancel_and_resume_are_idempotent() {
        let w = world();
        started(&w).await;
        for _ in 0..2 {
            assert!(
                set_cancel_at_period_end(&w.app, &org(), true, "k")
                    .await
                    .unwrap()
                    .cancel_at_period_end
            );
        }
        for _ in 0..2 {
            assert!(
                !set_cancel_at_period_end(&w.app, &org(), false, "k")
                    .await
                    .unwrap()
                    .cancel_at_period_end
            );
        }
    }

    #[tokio::test]
    async fn no_subscription_is_subscription_not_found_everywhere() {
        let w = world();
        assert!(matches!(
            get_subscription(&w.app, &org()).await,
            Err(BillingError::SubscriptionNotFound)
        ));
        let preview = preview_invoice(&w.app, &org(), PreviewRequest::default()).await;
        assert!(matches!(preview, Err(BillingError::SubscriptionNotFound)));
        let error = change_plan(
            &w.app,
            &org(),
            change("pro_monthly", Timing::Immediate),
            "k",
            false,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BillingError::SubscriptionNotFound));
    }

    #[tokio::test]
    async fn a_change_preview_reports_the_proration_date_it_used() {
        let w = world();
        started(&w).await;
        let request = PreviewRequest {
            plan: plan("pro_monthly"),
            ..Default::default()
        };
        let preview = preview_invoice(&w.app, &org(), request).await.unwrap();
        let date = preview.proration_date.unwrap();
        assert!((PERIOD_START..PERIOD_END).contains(&date));
        let sent = w
            .subscriptions
            .previews
            .lock()
            .unwrap()
            .last()
            .cloned()
            .flatten()
            .unwrap();
        assert_eq!(sent.proration_date, Some(date));
        assert_eq!(sent.proration_behavior, ProrationBehavior::CreateProrations);

        let at_end = PreviewRequest {
            plan: plan("pro_monthly"),
            timing: Some(Timing::PeriodEnd),
            ..Default::default()
        };
        assert_eq!(
            preview_invoice(&w.app, &org(), at_end)
                .await
                .unwrap()
                .proration_date,
            None
        );
        let upcoming = preview_invoice(&w.app, &org(), PreviewRequest::default())
            .await
            .unwrap();
        assert_eq!(upcoming.proration_date, None);
    }
}
