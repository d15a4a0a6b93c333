//! The HTTP endpoints, one per Lambda function: request shape in, use case, response shape out.

use crate::app::App;
use crate::auth::Access;
use crate::error::BillingError;
use crate::http::{ApiRequest, ApiResponse, Endpoint};
use crate::service::{self, Ensured};
use crate::store::CustomerRecord;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The org's billing customer as the API shows it.
#[derive(Debug, Serialize)]
pub struct CustomerView {
    pub org_id: String,
    pub stripe_customer_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<CustomerRecord> for CustomerView {
    fn from(record: CustomerRecord) -> Self {
        Self {
            org_id: record.org_id.into(),
            stripe_customer_id: record.stripe_customer_id.into(),
            created_at: record.created_at,
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
            service::get_customer(app.customers.as_ref(), &request.principal.org_id).await?;
        ApiResponse::ok(CustomerView::from(record))
    }
}

/// `POST /billing/customer` takes no fields today; unknown ones are refused, not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsureCustomerBody {}

/// `POST /billing/customer` — admin, owner: 201 when this call linked the customer, else 200.
pub struct EnsureCustomer;

#[async_trait]
impl Endpoint for EnsureCustomer {
    const ACCESS: Access = Access::Manage;

    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError> {
        let EnsureCustomerBody {} = request.optional_json()?;
        let ensured = service::ensure_customer(
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
