//! `GET /billing/customer` and `POST /billing/customer`.

use super::stripe_errors;
use super::subscriptions::{PendingPaymentView, ScheduledChangeView};
use crate::app::App;
use crate::auth::{Access, Principal};
use crate::domain::SubscriptionStatus;
use crate::error::BillingError;
use crate::http::{ApiRequest, EmptyBody, Endpoint, NoBody, Reply, Route};
use crate::service::customers::{self, Ensured};
use crate::store::CustomerRecord;
use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

/// The org's billing customer as the API shows it, with the synced copy of its subscription
/// (`null` when there is none) — read from DynamoDB, no Stripe call.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerView {
    pub org_id: String,
    pub stripe_customer_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    pub subscription: Option<SubscriptionSnapshotView>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionSnapshotView {
    pub id: String,
    pub status: SubscriptionStatus,
    pub plan: Option<String>,
    pub quantity: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub scheduled_change: Option<ScheduledChangeView>,
    pub pending_payment: Option<PendingPaymentView>,
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
                scheduled_change: s.pending_plan_change.map(ScheduledChangeView::from),
                pending_payment: s.pending_payment.map(PendingPaymentView::from),
            }),
        }
    }
}

/// `GET /billing/customer` — any member.
pub struct GetCustomer;

#[async_trait]
impl Endpoint for GetCustomer {
    const ROUTE: Route = Route {
        function: "get-customer",
        method: http::Method::GET,
        path: "/billing/customer",
        summary: "The org's billing customer and the synced copy of its subscription (no Stripe call)",
        access: Some(Access::View),
    };
    type Caller = Principal;
    type Body = NoBody;
    type Response = CustomerView;

    fn errors() -> Vec<BillingError> {
        vec![BillingError::CustomerNotFound]
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, NoBody>,
    ) -> Result<Reply<CustomerView>, BillingError> {
        let record = customers::get_customer(app.customers.as_ref(), request.org_id()).await?;
        Ok(Reply::ok(CustomerView::from(record)))
    }
}

/// `POST /billing/customer` — admin, owner: 201 when this call linked the customer, else 200.
pub struct EnsureCustomer;

#[async_trait]
impl Endpoint for EnsureCustomer {
    const ROUTE: Route = Route {
        function: "ensure-customer",
        method: http::Method::POST,
        path: "/billing/customer",
        summary: "Creates the org's Stripe customer once (201) or returns the existing one (200)",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = EmptyBody;
    type Response = CustomerView;
    const SUCCESS: &'static [u16] = &[201, 200];

    fn errors() -> Vec<BillingError> {
        stripe_errors()
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, EmptyBody>,
    ) -> Result<Reply<CustomerView>, BillingError> {
        let ensured = customers::ensure_customer(
            app.customers.as_ref(),
            app.payments.as_ref(),
            request.org_id(),
            OffsetDateTime::now_utc(),
        )
        .await?;
        Ok(match ensured {
            Ensured::Created(record) => Reply::created(CustomerView::from(record)),
            Ensured::Existing(record) => Reply::ok(CustomerView::from(record)),
        })
    }
}
