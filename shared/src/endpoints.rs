//! The HTTP endpoints, one per Lambda function: request shape in, use case, response shape out.

use crate::app::App;
use crate::auth::Access;
use crate::domain::PaymentMethodId;
use crate::error::BillingError;
use crate::http::{ApiRequest, ApiResponse, Endpoint};
use crate::service::customers::{self, Ensured};
use crate::service::payment_methods::{self, PaymentMethodView};
use crate::service::plans::{self, PlanView};
use crate::service::subscriptions::{
    self, PlanChangeRequest, PreviewRequest, ScheduledChangeView, StartSubscription,
};
use crate::store::CustomerRecord;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The org's billing customer as the API shows it, with the synced copy of its subscription
/// (`null` when there is none) — read from DynamoDB, no Stripe call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub org_id: String,
    pub stripe_customer_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub subscription: Option<SubscriptionSnapshotView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionSnapshotView {
    pub id: String,
    pub status: String,
    pub plan: Option<String>,
    pub quantity: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub scheduled_change: Option<ScheduledChangeView>,
}

impl From<CustomerRecord> for CustomerView {
    fn from(record: CustomerRecord) -> Self {
        Self {
            org_id: record.org_id.into(),
            stripe_customer_id: record.stripe_customer_id.into(),
            created_at: record.created_at,
            subscription: record.subscription.map(|s| SubscriptionSnapshotView {
                id: s.id.into(),
                status: s.status,
                plan: s.plan.map(String::from),
                quantity: s.quantity,
                current_period_end: s.current_period_end,
                cancel_at_period_end: s.cancel_at_period_end,
                scheduled_change: s.pending_plan_change.map(|p| ScheduledChangeView {
                    plan: p.plan.map(String::from),
                    quantity: p.quantity,
                    effective_at: p.effective_at,
                }),
            }),
        }
    }
}

/// `GET /billing/customer` — any member.
pub struct GetCustomer;

#[async_trait]
impl Endpoint for GetCustomer {
    const ACCESS: Access = Access::View;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let record =
            customers::get_customer(app.customers.as_ref(), &request.principal.org_id).await?;
        ApiResponse::ok(CustomerView::from(record))
    }
}

/// `POST /billing/customer` takes no fields today; unknown ones are refused, not ignored.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnsureCustomerBody {}

/// `POST /billing/customer` — admin, owner: 201 when this call linked the customer, else 200.
pub struct EnsureCustomer;

#[async_trait]
impl Endpoint for EnsureCustomer {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let EnsureCustomerBody {} = request.optional_json()?;
        let ensured = customers::ensure_customer(
            app.customers.as_ref(),
            app.payments.as_ref(),
            &request.principal.org_id,
            OffsetDateTime::now_utc(),
        )
        .await?;
        match ensured {
            Ensured::Created(record) => ApiResponse::created(CustomerView::from(record)),
            Ensured::Existing(record) => ApiResponse::ok(CustomerView::from(record)),
        }
    }
}

fn payment_method_id(raw: Option<&str>) -> Result<PaymentMethodId, BillingError> {
    raw.and_then(|id| PaymentMethodId::parse(id).ok())
        .ok_or(BillingError::InvalidPaymentMethodId)
}

/// `{"payment_methods": [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentMethodList {
    pub payment_methods: Vec<PaymentMethodView>,
}

/// `GET /billing/payment-methods` — any member.
pub struct ListPaymentMethods;

#[async_trait]
impl Endpoint for ListPaymentMethods {
    const ACCESS: Access = Access::View;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let payment_methods = payment_methods::list_payment_methods(
            app.customers.as_ref(),
            app.payments.as_ref(),
            &request.principal.org_id,
        )
        .await?;
        ApiResponse::ok(PaymentMethodList { payment_methods })
    }
}

/// `POST /billing/setup-intents` takes no fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSetupIntentBody {}

/// `{"id", "client_secret"}` for Stripe Elements.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SetupIntentView {
    pub id: String,
    pub client_secret: String,
}

/// `POST /billing/setup-intents` — admin, owner.
pub struct CreateSetupIntent;

#[async_trait]
impl Endpoint for CreateSetupIntent {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let CreateSetupIntentBody {} = request.optional_json()?;
        let intent = payment_methods::create_setup_intent(
            app.customers.as_ref(),
            app.payments.as_ref(),
            &request.principal.org_id,
            OffsetDateTime::now_utc(),
            &request.idempotency_key("setup-intent"),
        )
        .await?;
        ApiResponse::created(SetupIntentView {
            id: intent.id,
            client_secret: intent.client_secret,
        })
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDefaultPaymentMethodBody {
    pub payment_method_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DefaultPaymentMethodView {
    pub default_payment_method: String,
}

/// `PUT /billing/payment-methods/default` `{payment_method_id}` — admin, owner.
pub struct SetDefaultPaymentMethod;

#[async_trait]
impl Endpoint for SetDefaultPaymentMethod {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let body: SetDefaultPaymentMethodBody = request.optional_json()?;
        let Some(raw) = body.payment_method_id else {
            return Err(BillingError::InvalidRequest(
                "invalid request body: missing field `payment_method_id`".into(),
            ));
        };
        let payment_method = payment_method_id(Some(&raw))?;
        payment_methods::set_default_payment_method(
            app.customers.as_ref(),
            app.payments.as_ref(),
            app.subscriptions.as_ref(),
            &request.principal.org_id,
            &payment_method,
            &request.idempotency_key("default-payment-method"),
        )
        .await?;
        ApiResponse::ok(DefaultPaymentMethodView {
            default_payment_method: payment_method.into(),
        })
    }
}

/// `DELETE /billing/payment-methods/{id}` — admin, owner.
pub struct DetachPaymentMethod;

#[async_trait]
impl Endpoint for DetachPaymentMethod {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let payment_method = payment_method_id(request.path_parameter("id"))?;
        let detached = payment_methods::detach_payment_method(
            app.customers.as_ref(),
            app.payments.as_ref(),
            app.subscriptions.as_ref(),
            &request.principal.org_id,
            &payment_method,
            &request.idempotency_key("detach-payment-method"),
        )
        .await?;
        ApiResponse::ok(detached)
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSessionBody {
    pub return_url: Option<String>,
}

/// Where to send the browser: the Customer Portal session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PortalSessionView {
    pub url: String,
}

/// `POST /billing/portal-session` `{return_url?}` — admin, owner: `{"url"}`.
pub struct CreatePortalSession;

#[async_trait]
impl Endpoint for CreatePortalSession {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let body: PortalSessionBody = request.optional_json()?;
        let return_url =
            payment_methods::resolve_return_url(&app.settings, body.return_url.as_deref())?;
        let url = payment_methods::create_portal_session(
            app.customers.as_ref(),
            app.payments.as_ref(),
            &request.principal.org_id,
            &return_url,
            OffsetDateTime::now_utc(),
            &request.idempotency_key("portal-session"),
        )
        .await?;
        ApiResponse::created(PortalSessionView { url: url.into() })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanList {
    pub plans: Vec<PlanView>,
}

/// `GET /billing/plans` — any member: `{"plans": [...]}`.
pub struct ListPlans;

#[async_trait]
impl Endpoint for ListPlans {
    const ACCESS: Access = Access::View;

    async fn handle(&self, app: &App, _request: ApiRequest) -> Result<ApiResponse, BillingError> {
        ApiResponse::ok(PlanList {
            plans: plans::list_plans(app.plans.as_ref()).await?,
        })
    }
}

/// `GET /billing/subscription` — any member.
pub struct GetSubscription;

#[async_trait]
impl Endpoint for GetSubscription {
    const ACCESS: Access = Access::View;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        ApiResponse::ok(
            subscriptions::get_subscription(
                app.subscription_ports(OffsetDateTime::now_utc()),
                &request.principal.org_id,
            )
            .await?,
        )
    }
}

/// `POST /billing/subscription` `{plan, quantity?, payment_method_id?, trial_days?}` — admin, owner.
pub struct StartSubscriptionEndpoint;

#[async_trait]
impl Endpoint for StartSubscriptionEndpoint {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let body: StartSubscription = request.optional_json()?;
        ApiResponse::created(
            subscriptions::start_subscription(
                app.subscription_ports(OffsetDateTime::now_utc()),
                app.payments.as_ref(),
                &request.principal.org_id,
                body,
            )
            .await?,
        )
    }
}

/// `POST /billing/invoice-preview` `{plan?, quantity?, timing?, proration_behavior?}` — any member.
pub struct PreviewInvoice;

#[async_trait]
impl Endpoint for PreviewInvoice {
    const ACCESS: Access = Access::View;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let body: PreviewRequest = request.optional_json()?;
        ApiResponse::ok(
            subscriptions::preview_invoice(
                app.subscription_ports(OffsetDateTime::now_utc()),
                &request.principal.org_id,
                body,
            )
            .await?,
        )
    }
}

/// `POST /billing/subscription/plan-change` — admin, owner.
pub struct ChangePlan;

#[async_trait]
impl Endpoint for ChangePlan {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let body: PlanChangeRequest = request.optional_json()?;
        let key = request.idempotency_key("plan-change");
        ApiResponse::ok(
            subscriptions::change_plan(
                app.subscription_ports(OffsetDateTime::now_utc()),
                &request.principal.org_id,
                body,
                &key,
                request.has_client_idempotency_key(),
            )
            .await?,
        )
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub at_period_end: Option<bool>,
}

/// `POST /billing/subscription/cancel` `{"at_period_end": true}` — admin, owner. Immediate
/// cancellation is not offered: it forfeits paid time (use the Customer Portal for that).
pub struct CancelSubscription;

#[async_trait]
impl Endpoint for CancelSubscription {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let body: CancelBody = request.optional_json()?;
        if body.at_period_end != Some(true) {
            return Err(BillingError::InvalidRequest(
                "invalid request body: `at_period_end` must be true".into(),
            ));
        }
        let key = request.idempotency_key("cancel");
        let view = subscriptions::set_cancel_at_period_end(
            app.subscription_ports(OffsetDateTime::now_utc()),
            &request.principal.org_id,
            true,
            &key,
        )
        .await?;
        ApiResponse::ok(view)
    }
}

/// `POST /billing/subscription/resume` — admin, owner: undoes a cancellation at period end.
pub struct ResumeSubscription;

#[async_trait]
impl Endpoint for ResumeSubscription {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let EnsureCustomerBody {} = request.optional_json()?;
        let key = request.idempotency_key("resume");
        let view = subscriptions::set_cancel_at_period_end(
            app.subscription_ports(OffsetDateTime::now_utc()),
            &request.principal.org_id,
            false,
            &key,
        )
        .await?;
        ApiResponse::ok(view)
    }
}
