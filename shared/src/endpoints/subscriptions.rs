//! Plans, the subscription (start, read, change plan, cancel, resume) and invoice previews.

use super::{stripe_errors, with_stripe};
use crate::app::App;
use crate::auth::{Access, Principal};
use crate::domain::{
    AccessDecision, AccessPolicy, OpenInvoice, PaymentMethodId, PaymentState, PendingChange,
    PendingPayment, PlanKey, ProrationBehavior, Quantity, Subscription, SubscriptionStatus, Timing,
};
use crate::error::BillingError;
use crate::http::{ApiRequest, EmptyBody, Endpoint, NoBody, Reply, Route};
use crate::json_request_body;
use crate::service::plans;
use crate::service::subscriptions::{
    self, PlanChange, Preview, PreviewedInvoice, Start, StartedSubscription,
};
use crate::stripe::CatalogPrice;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The longest trial a start may ask for.
const MAX_TRIAL_DAYS: u32 = 730;

fn quantity(requested: Option<i64>) -> Result<Quantity, BillingError> {
    requested
        .map_or(Ok(Quantity::ONE), Quantity::new)
        .map_err(|error| BillingError::InvalidRequest(error.to_string()))
}

/// What every change of an existing subscription can also answer.
fn change_errors() -> Vec<BillingError> {
    with_stripe(vec![
        BillingError::SubscriptionNotFound,
        BillingError::SubscriptionEnded,
        BillingError::IdempotencyConflict,
    ])
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanView {
    pub plan: String,
    pub product: String,
    /// Minor units of `currency` per `interval_count` `interval`s.
    pub amount: i64,
    pub currency: String,
    pub interval: String,
    pub interval_count: i64,
}

impl From<CatalogPrice> for PlanView {
    fn from(price: CatalogPrice) -> Self {
        Self {
            plan: price.lookup_key,
            product: price.product_name,
            amount: price.unit_amount.minor_units,
            currency: price.unit_amount.currency.to_string(),
            interval: price.interval,
            interval_count: price.interval_count,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledChangeView {
    pub plan: Option<String>,
    pub quantity: i64,
    pub effective_at: i64,
}

impl From<PendingChange> for ScheduledChangeView {
    fn from(change: PendingChange) -> Self {
        Self {
            plan: change.plan.map(String::from),
            quantity: change.quantity,
            effective_at: change.effective_at,
        }
    }
}

/// A plan change made now that waits for its invoice to be paid: the old plan stays in force
/// until then; paying invoice `invoice_id` applies it, and it lapses at `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingPaymentView {
    pub plan: Option<String>,
    pub quantity: i64,
    pub expires_at: i64,
    pub invoice_id: Option<String>,
}

impl From<PendingPayment> for PendingPaymentView {
    fn from(pending: PendingPayment) -> Self {
        Self {
            plan: pending.plan.map(String::from),
            quantity: pending.quantity,
            expires_at: pending.expires_at,
            invoice_id: pending.invoice_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionView {
    pub id: String,
    pub plan: Option<String>,
    pub status: SubscriptionStatus,
    pub quantity: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub scheduled_change: Option<ScheduledChangeView>,
    pub pending_payment: Option<PendingPaymentView>,
    /// Whether a plan change, a preview of one, or a cancellation can be asked for now (active,
    /// trialing or past due): the app offers them only then.
    pub can_change_plan: bool,
    /// Whether an upcoming invoice exists to preview (billing and not cancelling).
    pub has_upcoming_invoice: bool,
    pub payment_state: PaymentState,
    /// What the app should let the org use now (`BILLING_PAST_DUE_GRACE_DAYS`, see the README).
    pub access: AccessView,
    /// The latest invoice while it is unpaid: a failed renewal, a first payment or a plan change
    /// waiting for payment. Pay it with `POST /billing/invoices/{id}/pay`; null once paid.
    pub open_invoice: Option<OpenInvoiceView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenInvoiceView {
    pub id: String,
    /// The number the customer sees on the invoice.
    pub number: Option<String>,
    /// `open`, or `uncollectible` when Stripe's retries ended so (it can still be paid).
    pub status: &'static str,
    /// Minor units of `currency`.
    pub amount_due: i64,
    pub currency: String,
    /// Unix seconds of Stripe's next automatic attempt (a retry of a failed renewal); null when
    /// Stripe plans none.
    pub next_payment_attempt: Option<i64>,
    pub hosted_invoice_url: Option<String>,
}

impl From<OpenInvoice> for OpenInvoiceView {
    fn from(invoice: OpenInvoice) -> Self {
        Self {
            id: invoice.id,
            number: invoice.number,
            status: if invoice.uncollectible {
                "uncollectible"
            } else {
                "open"
            },
            amount_due: invoice.amount_due.minor_units,
            currency: invoice.amount_due.currency.to_string(),
            next_payment_attempt: invoice.next_payment_attempt,
            hosted_invoice_url: invoice.hosted_invoice_url,
        }
    }
}

/// `full`, `grace` (usable until `grace_until`, Unix seconds) or `blocked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessView {
    pub decision: &'static str,
    pub grace_until: Option<i64>,
}

impl From<AccessDecision> for AccessView {
    fn from(decision: AccessDecision) -> Self {
        let (decision, grace_until) = match decision {
            AccessDecision::Full => ("full", None),
            AccessDecision::Grace { until } => ("grace", Some(until)),
            AccessDecision::Blocked => ("blocked", None),
        };
        Self {
            decision,
            grace_until,
        }
    }
}

/// The subscription as answered now, with the configured access policy's decision.
fn view(app: &App, subscription: Subscription) -> SubscriptionView {
    SubscriptionView::new(
        subscription,
        app.settings.access,
        OffsetDateTime::now_utc().unix_timestamp(),
    )
}

impl SubscriptionView {
    pub fn new(subscription: Subscription, policy: AccessPolicy, now: i64) -> Self {
        Self {
            payment_state: subscription.payment_state(),
            access: subscription.access(policy, now).into(),
            can_change_plan: subscription.can_change_plan(),
            has_upcoming_invoice: subscription.has_upcoming_invoice(),
            id: subscription.id.into(),
            plan: subscription.plan.map(String::from),
            status: subscription.status,
            quantity: subscription.quantity,
            current_period_start: subscription.current_period_start,
            current_period_end: subscription.current_period_end,
            cancel_at_period_end: subscription.cancel_at_period_end,
            scheduled_change: subscription.scheduled_change.map(Into::into),
            pending_payment: subscription.pending_payment.map(Into::into),
            open_invoice: subscription.open_invoice.map(Into::into),
        }
    }
}

/// The subscription after a plan change. `requires_action`: the bank asks the customer to
/// authenticate the charge; confirm `client_secret` with Stripe.js and the change applies once
/// paid (until then `plan` is the old one and `pending_payment` shows the change).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanChangedView {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    pub requires_action: bool,
    pub client_secret: Option<String>,
}

impl PlanChangedView {
    fn new(app: &App, changed: subscriptions::PlanChanged) -> Self {
        Self {
            subscription: view(app, changed.subscription),
            requires_action: changed.client_secret.is_some(),
            client_secret: changed.client_secret,
        }
    }
}

/// A started subscription; `client_secret` is set while the first payment needs the customer
/// (status `incomplete`): confirm it with Stripe.js, then the subscription turns `active`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Started {
    pub subscription: SubscriptionView,
    pub requires_payment: bool,
    pub client_secret: Option<String>,
}

impl Started {
    fn new(app: &App, started: StartedSubscription) -> Self {
        Self {
            subscription: view(app, started.subscription),
            requires_payment: started.client_secret.is_some(),
            client_secret: started.client_secret,
        }
    }
}

/// One invoice line; `amount` in minor units, periods in Unix seconds.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewLine {
    pub description: Option<String>,
    pub amount: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub proration: bool,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl From<PreviewedInvoice> for PreviewView {
    fn from(
        PreviewedInvoice {
            invoice,
            proration_date,
        }: PreviewedInvoice,
    ) -> Self {
        Self {
            currency: invoice.currency.to_string(),
            subtotal: invoice.subtotal,
            tax: invoice.tax,
            total: invoice.total,
            amount_due: invoice.amount_due,
            next_payment_attempt: invoice.next_payment_attempt,
            proration_date,
            lines: invoice
                .lines
                .into_iter()
                .map(|line| PreviewLine {
                    description: line.description,
                    amount: line.amount,
                    period_start: line.period_start,
                    period_end: line.period_end,
                    proration: line.proration,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanList {
    pub plans: Vec<PlanView>,
}

/// `GET /billing/plans` — any member: `{"plans": [...]}`.
pub struct ListPlans;

#[async_trait]
impl Endpoint for ListPlans {
    const ROUTE: Route = Route {
        function: "list-plans",
        method: http::Method::GET,
        path: "/billing/plans",
        summary: "The plans on sale (BILLING_PLANS), with their Stripe prices",
        access: Some(Access::View),
    };
    type Caller = Principal;
    type Body = NoBody;
    type Response = PlanList;

    fn errors() -> Vec<BillingError> {
        stripe_errors()
    }

    async fn handle(
        &self,
        app: &App,
        _request: ApiRequest<Principal, NoBody>,
    ) -> Result<Reply<PlanList>, BillingError> {
        Ok(Reply::ok(PlanList {
            plans: plans::list_plans(app.plans.as_ref())
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        }))
    }
}

/// `GET /billing/subscription` — any member.
pub struct GetSubscription;

#[async_trait]
impl Endpoint for GetSubscription {
    const ROUTE: Route = Route {
        function: "get-subscription",
        method: http::Method::GET,
        path: "/billing/subscription",
        summary: "The org's latest subscription, read from Stripe, with any scheduled change",
        access: Some(Access::View),
    };
    type Caller = Principal;
    type Body = NoBody;
    type Response = SubscriptionView;

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![BillingError::SubscriptionNotFound])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, NoBody>,
    ) -> Result<Reply<SubscriptionView>, BillingError> {
        let ports = app.subscription_ports(OffsetDateTime::now_utc());
        let subscription = subscriptions::get_subscription(ports, request.org_id()).await?;
        Ok(Reply::ok(view(app, subscription)))
    }
}

/// `POST /billing/subscription` `{plan, quantity?, payment_method_id?, trial_days?}`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartSubscription {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub plan: PlanKey,
    pub quantity: Option<i64>,
    pub payment_method_id: Option<String>,
    pub trial_days: Option<u32>,
}

json_request_body!(StartSubscription);

impl TryFrom<StartSubscription> for Start {
    type Error = BillingError;

    fn try_from(body: StartSubscription) -> Result<Self, BillingError> {
        let quantity = quantity(body.quantity)?;
        if body.trial_days.is_some_and(|days| days > MAX_TRIAL_DAYS) {
            return Err(BillingError::InvalidRequest(format!(
                "trial_days must be at most {MAX_TRIAL_DAYS}"
            )));
        }
        let payment_method = body
            .payment_method_id
            .map(|id| PaymentMethodId::parse(id).map_err(|_| BillingError::InvalidPaymentMethodId))
            .transpose()?;
        Ok(Self {
            plan: body.plan,
            quantity,
            payment_method,
            trial_days: body.trial_days,
        })
    }
}

/// `POST /billing/subscription` — admin, owner.
pub struct StartSubscriptionEndpoint;

#[async_trait]
impl Endpoint for StartSubscriptionEndpoint {
    const ROUTE: Route = Route {
        function: "start-subscription",
        method: http::Method::POST,
        path: "/billing/subscription",
        summary: "Starts a subscription; `client_secret` is set while the first payment needs the customer",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = StartSubscription;
    type Response = Started;
    const SUCCESS: &'static [u16] = &[201];

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![
            BillingError::UnknownPlan,
            BillingError::SubscriptionExists,
            BillingError::InvalidPaymentMethodId,
            BillingError::PaymentMethodNotFound,
            BillingError::IdempotencyConflict,
            BillingError::PaymentFailed { decline_code: None },
        ])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, StartSubscription>,
    ) -> Result<Reply<Started>, BillingError> {
        let start = Start::try_from(request.body)?;
        let ports = app.subscription_ports(OffsetDateTime::now_utc());
        let started = subscriptions::start_subscription(
            ports,
            app.payments.as_ref(),
            &request.caller.org_id,
            start,
        )
        .await?;
        Ok(Reply::created(Started::new(app, started)))
    }
}

/// `POST /billing/invoice-preview`: no body (or no `plan`) for the upcoming invoice.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub plan: Option<PlanKey>,
    pub quantity: Option<i64>,
    pub timing: Option<Timing>,
    pub proration_behavior: Option<ProrationBehavior>,
}

json_request_body!(PreviewRequest);

impl TryFrom<PreviewRequest> for Preview {
    type Error = BillingError;

    fn try_from(body: PreviewRequest) -> Result<Self, BillingError> {
        let Some(plan) = body.plan else {
            return Ok(Self::Upcoming);
        };
        Ok(Self::Change {
            plan,
            quantity: quantity(body.quantity)?,
            timing: body.timing.unwrap_or_default(),
            proration_behavior: body.proration_behavior,
        })
    }
}

/// `POST /billing/invoice-preview` — any member.
pub struct PreviewInvoice;

#[async_trait]
impl Endpoint for PreviewInvoice {
    const ROUTE: Route = Route {
        function: "preview-invoice",
        method: http::Method::POST,
        path: "/billing/invoice-preview",
        summary: "No body: the upcoming invoice. With a plan: the invoice that change would produce, and its proration_date",
        access: Some(Access::View),
    };
    type Caller = Principal;
    type Body = PreviewRequest;
    type Response = PreviewView;

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![
            BillingError::SubscriptionNotFound,
            BillingError::UnknownPlan,
            BillingError::PlanUnchanged,
            BillingError::CancellationPending,
        ])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, PreviewRequest>,
    ) -> Result<Reply<PreviewView>, BillingError> {
        let preview = Preview::try_from(request.body)?;
        let ports = app.subscription_ports(OffsetDateTime::now_utc());
        let previewed =
            subscriptions::preview_invoice(ports, &request.caller.org_id, preview).await?;
        Ok(Reply::ok(previewed.into()))
    }
}

/// `POST /billing/subscription/plan-change`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanChangeRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub plan: PlanKey,
    pub quantity: Option<i64>,
    pub timing: Timing,
    pub proration_behavior: Option<ProrationBehavior>,
    pub proration_date: Option<i64>,
}

json_request_body!(PlanChangeRequest);

impl TryFrom<PlanChangeRequest> for PlanChange {
    type Error = BillingError;

    fn try_from(body: PlanChangeRequest) -> Result<Self, BillingError> {
        Ok(Self {
            plan: body.plan,
            quantity: quantity(body.quantity)?,
            timing: body.timing,
            proration_behavior: body.proration_behavior,
            proration_date: body.proration_date,
        })
    }
}

/// `POST /billing/subscription/plan-change` — admin, owner.
pub struct ChangePlan;

#[async_trait]
impl Endpoint for ChangePlan {
    const ROUTE: Route = Route {
        function: "change-plan",
        method: http::Method::POST,
        path: "/billing/subscription/plan-change",
        summary: "Changes plan now (prorated at the preview's proration_date) or at period end; the current plan at period end withdraws a pending change",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = PlanChangeRequest;
    type Response = PlanChangedView;

    fn errors() -> Vec<BillingError> {
        let mut errors = change_errors();
        errors.extend([
            BillingError::UnknownPlan,
            BillingError::PlanUnchanged,
            BillingError::CancellationPending,
            BillingError::InvalidProrationDate,
            BillingError::PaymentFailed { decline_code: None },
            BillingError::PaymentPending,
        ]);
        errors
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, PlanChangeRequest>,
    ) -> Result<Reply<PlanChangedView>, BillingError> {
        let key = request.idempotency_key("plan-change");
        let change = PlanChange::try_from(request.body)?;
        let ports = app.subscription_ports(OffsetDateTime::now_utc());
        let changed =
            subscriptions::change_plan(ports, &request.caller.org_id, change, &key).await?;
        Ok(Reply::ok(PlanChangedView::new(app, changed)))
    }
}

/// `{"at_period_end": true}`: the only cancellation offered here.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub at_period_end: bool,
}

json_request_body!(CancelBody);

/// `POST /billing/subscription/cancel` `{"at_period_end": true}` — admin, owner. Immediate
/// cancellation is not offered: it forfeits paid time (use the Customer Portal for that).
pub struct CancelSubscription;

#[async_trait]
impl Endpoint for CancelSubscription {
    const ROUTE: Route = Route {
        function: "cancel-subscription",
        method: http::Method::POST,
        path: "/billing/subscription/cancel",
        summary: "Cancels at the end of the paid period",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = CancelBody;
    type Response = SubscriptionView;

    fn errors() -> Vec<BillingError> {
        change_errors()
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, CancelBody>,
    ) -> Result<Reply<SubscriptionView>, BillingError> {
        if !request.body.at_period_end {
            return Err(BillingError::InvalidRequest(
                "invalid request body: `at_period_end` must be true".into(),
            ));
        }
        let key = request.idempotency_key("cancel");
        let ports = app.subscription_ports(OffsetDateTime::now_utc());
        let canceling =
            subscriptions::set_cancel_at_period_end(ports, request.org_id(), true, &key).await?;
        Ok(Reply::ok(view(app, canceling)))
    }
}

/// `POST /billing/subscription/resume` — admin, owner: undoes a cancellation at period end.
pub struct ResumeSubscription;

#[async_trait]
impl Endpoint for ResumeSubscription {
    const ROUTE: Route = Route {
        function: "resume-subscription",
        method: http::Method::POST,
        path: "/billing/subscription/resume",
        summary: "Undoes a cancellation at period end",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = EmptyBody;
    type Response = SubscriptionView;

    fn errors() -> Vec<BillingError> {
        change_errors()
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, EmptyBody>,
    ) -> Result<Reply<SubscriptionView>, BillingError> {
        let key = request.idempotency_key("resume");
        let ports = app.subscription_ports(OffsetDateTime::now_utc());
        let resumed =
            subscriptions::set_cancel_at_period_end(ports, request.org_id(), false, &key).await?;
        Ok(Reply::ok(view(app, resumed)))
    }
}

#[cfg(test)]
mod tests {
    //! Requests are parsed at the edge: bad input is refused before any use case runs.

    use super::*;
    use crate::http::RequestBody;

    fn parsed<B: RequestBody>(json: &str) -> Result<B, BillingError> {
        B::parse(json.as_bytes()).map_err(<Principal as crate::http::Caller>::refuse_body)
    }

    fn invalid_request(result: Result<impl std::fmt::Debug, BillingError>) -> String {
        match result {
            Err(BillingError::InvalidRequest(message)) => message,
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn a_past_due_subscription_shows_its_grace_and_the_open_invoice_with_the_next_retry() {
        let renewal = 1_780_000_000;
        let past_due = Subscription {
            id: crate::domain::SubscriptionId::parse("sub_1").unwrap(),
            plan: None,
            status: SubscriptionStatus::PastDue,
            quantity: 1,
            current_period_start: renewal,
            current_period_end: renewal + 30 * 86_400,
            cancel_at_period_end: false,
            scheduled_change: None,
            pending_payment: None,
            open_invoice: Some(OpenInvoice {
                id: "in_1".into(),
                number: Some("ABC-0002".into()),
                amount_due: crate::domain::Money {
                    minor_units: 1000,
                    currency: crate::domain::Currency::parse("usd").unwrap(),
                },
                uncollectible: false,
                next_payment_attempt: Some(renewal + 3 * 86_400),
                hosted_invoice_url: None,
            }),
        };
        let policy = AccessPolicy {
            past_due_grace_days: 7,
        };
        let shown = serde_json::to_value(SubscriptionView::new(past_due, policy, renewal + 60));
        let shown = shown.unwrap();
        assert_eq!(shown["payment_state"], "past_due");
        assert_eq!(
            shown["access"],
            serde_json::json!({"decision": "grace", "grace_until": renewal + 7 * 86_400})
        );
        assert_eq!(
            shown["open_invoice"],
            serde_json::json!({"id": "in_1", "number": "ABC-0002", "status": "open", "amount_due": 1000, "currency": "usd",
                "next_payment_attempt": renewal + 3 * 86_400, "hosted_invoice_url": null})
        );
    }

    #[test]
    fn a_start_needs_a_plan_and_a_sane_quantity_trial_and_card() {
        let missing = parsed::<StartSubscription>("");
        assert!(invalid_request(missing).contains("missing field `plan`"));
        for body in [
            r#"{"plan":"pro_monthly","quantity":0}"#,
            r#"{"plan":"pro_monthly","quantity":10001}"#,
            r#"{"plan":"pro_monthly","trial_days":731}"#,
        ] {
            let body = parsed::<StartSubscription>(body).unwrap();
            invalid_request(Start::try_from(body));
        }
        let foreign =
            parsed::<StartSubscription>(r#"{"plan":"pro_monthly","payment_method_id":"card_1"}"#);
        assert!(matches!(
            Start::try_from(foreign.unwrap()),
            Err(BillingError::InvalidPaymentMethodId)
        ));
        let start = Start::try_from(
            parsed::<StartSubscription>(r#"{"plan":"pro_monthly","quantity":3,"trial_days":14}"#)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(start.quantity.get(), 3);
        assert_eq!(start.trial_days, Some(14));
    }

    #[test]
    fn a_plan_change_needs_a_plan_and_a_timing() {
        assert!(invalid_request(parsed::<PlanChangeRequest>("{}")).contains("`plan`"));
        let no_timing = parsed::<PlanChangeRequest>(r#"{"plan":"pro_monthly"}"#);
        assert!(invalid_request(no_timing).contains("missing field `timing`"));
        let change = PlanChange::try_from(
            parsed::<PlanChangeRequest>(r#"{"plan":"pro_monthly","timing":"period_end"}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (change.timing, change.quantity),
            (Timing::PeriodEnd, Quantity::ONE)
        );
    }

    #[test]
    fn a_preview_without_a_plan_is_the_upcoming_invoice() {
        for body in ["", "{}", r#"{"quantity":0}"#] {
            let preview = Preview::try_from(parsed::<PreviewRequest>(body).unwrap()).unwrap();
            assert_eq!(preview, Preview::Upcoming, "{body}");
        }
        let bad_quantity = parsed::<PreviewRequest>(r#"{"plan":"pro_monthly","quantity":-1}"#);
        invalid_request(Preview::try_from(bad_quantity.unwrap()));
    }

    #[test]
    fn unknown_fields_and_non_json_are_refused_with_their_own_codes() {
        invalid_request(parsed::<CancelBody>(r#"{"at_period_end":true,"now":true}"#));
        assert!(invalid_request(parsed::<CancelBody>("{}")).contains("`at_period_end`"));
        assert!(matches!(
            parsed::<CancelBody>("not json"),
            Err(BillingError::InvalidJson)
        ));
    }
}
