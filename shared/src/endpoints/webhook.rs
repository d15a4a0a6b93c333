//! `POST /billing/webhooks/stripe`: Stripe's deliveries, authenticated by their signature.

use super::with_stripe;
use crate::app::App;
use crate::error::BillingError;
use crate::http::{ApiRequest, Endpoint, Reply, Route, StripeSignature};
use crate::json_request_body;
use crate::service::webhooks::{WebhookEvent, handle_event};
use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

/// The answer to a delivery Stripe accepted as received.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAck {
    pub received: bool,
    /// `applied`, `duplicate` (already processed) or `ignored` (unhandled type, unknown customer).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub outcome: &'static str,
}

json_request_body!(WebhookEvent);

/// 2xx only when the event is applied (or known); 4xx for a bad signature or body (nothing
/// written) and 409 while another copy of the event is being applied; 5xx on transient failures.
/// Stripe retries every non-2xx answer.
pub struct StripeWebhook;

#[async_trait]
impl Endpoint for StripeWebhook {
    const ROUTE: Route = Route {
        function: "stripe-webhook",
        method: http::Method::POST,
        path: "/billing/webhooks/stripe",
        summary: "Stripe's event deliveries, authenticated by the Stripe-Signature header (no bearer token)",
        access: None,
    };
    type Caller = StripeSignature;
    type Body = WebhookEvent;
    type Response = WebhookAck;

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![
            BillingError::BillingDisabled,
            BillingError::InvalidSignature,
            BillingError::InvalidPayload,
            BillingError::EventInProgress,
            BillingError::StoreUnavailable("upstream".into()),
            BillingError::Internal("upstream".into()),
        ])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<StripeSignature, WebhookEvent>,
    ) -> Result<Reply<WebhookAck>, BillingError> {
        let event = request.body;
        let ports = app.webhook_ports(OffsetDateTime::now_utc());
        let outcome = handle_event(ports, &event).await?;
        tracing::info!(request_id = %request.request_id, event_id = %event.id,
            event_type = %event.event_type, api_version = event.api_version.as_deref().unwrap_or("none"),
            outcome = outcome.as_str(), "stripe event");
        Ok(Reply::ok(WebhookAck {
            received: true,
            outcome: outcome.as_str(),
        }))
    }
}
