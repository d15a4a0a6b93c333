//! Cards (list, add through a SetupIntent, set default, detach) and the Customer Portal.

use super::subscriptions::OpenInvoiceView;
use super::{stripe_errors, with_stripe};
use crate::app::App;
use crate::auth::{Access, Principal};
use crate::domain::PaymentMethodId;
use crate::error::BillingError;
use crate::http::{ApiRequest, EmptyBody, Endpoint, NoBody, Parameter, Reply, Route};
use crate::json_request_body;
use crate::service::payment_methods::{self, SavedCard};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

fn payment_method_id(raw: &str) -> Result<PaymentMethodId, BillingError> {
    PaymentMethodId::parse(raw).map_err(|_| BillingError::InvalidPaymentMethodId)
}

/// A saved card as the API returns it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentMethodView {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub is_default: bool,
}

impl From<SavedCard> for PaymentMethodView {
    fn from(SavedCard { card, is_default }: SavedCard) -> Self {
        Self {
            id: card.id.into(),
            brand: card.brand,
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            is_default,
        }
    }
}

/// What a detach left behind.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Detached {
    pub detached: String,
    /// The customer's default payment method afterwards (`null` when none is left).
    pub default_payment_method: Option<String>,
}

impl From<payment_methods::Detached> for Detached {
    fn from(outcome: payment_methods::Detached) -> Self {
        Self {
            detached: outcome.detached.into(),
            default_payment_method: outcome.default_payment_method.map(String::from),
        }
    }
}

/// `{"payment_methods": [...]}`
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentMethodList {
    pub payment_methods: Vec<PaymentMethodView>,
}

/// `GET /billing/payment-methods` — any member.
pub struct ListPaymentMethods;

#[async_trait]
impl Endpoint for ListPaymentMethods {
    const ROUTE: Route = Route {
        function: "list-payment-methods",
        method: http::Method::GET,
        path: "/billing/payment-methods",
        summary: "The org's cards, default first (empty without a customer)",
        access: Some(Access::View),
    };
    type Caller = Principal;
    type Body = NoBody;
    type Response = PaymentMethodList;

    fn errors() -> Vec<BillingError> {
        stripe_errors()
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, NoBody>,
    ) -> Result<Reply<PaymentMethodList>, BillingError> {
        let payment_methods = payment_methods::list_payment_methods(
            app.customers.as_ref(),
            app.payments.as_ref(),
            request.org_id(),
        )
        .await?;
        Ok(Reply::ok(PaymentMethodList {
            payment_methods: payment_methods.into_iter().map(Into::into).collect(),
        }))
    }
}

/// `{"id", "client_secret"}` for Stripe Elements.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupIntentView {
    pub id: String,
    pub client_secret: String,
}

/// `POST /billing/setup-intents` — admin, owner.
pub struct CreateSetupIntent;

#[async_trait]
impl Endpoint for CreateSetupIntent {
    const ROUTE: Route = Route {
        function: "create-setup-intent",
        method: http::Method::POST,
        path: "/billing/setup-intents",
        summary: "A SetupIntent (off_session, card) for Stripe Elements; ensures the customer",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = EmptyBody;
    type Response = SetupIntentView;
    const SUCCESS: &'static [u16] = &[201];

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![BillingError::IdempotencyConflict])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, EmptyBody>,
    ) -> Result<Reply<SetupIntentView>, BillingError> {
        let intent = payment_methods::create_setup_intent(
            app.customers.as_ref(),
            app.payments.as_ref(),
            request.org_id(),
            OffsetDateTime::now_utc(),
            &request.idempotency_key("setup-intent"),
        )
        .await?;
        Ok(Reply::created(SetupIntentView {
            id: intent.id,
            client_secret: intent.client_secret,
        }))
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetDefaultPaymentMethodBody {
    pub payment_method_id: String,
}

json_request_body!(SetDefaultPaymentMethodBody);

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DefaultPaymentMethodView {
    pub default_payment_method: String,
    /// The live subscription's unpaid invoice (a failed renewal or first payment, a plan change
    /// waiting for payment), which this card can pay now with `POST /billing/invoices/{id}/pay`;
    /// null when nothing is owed. Stripe's automatic retries, if any are left, use the card too.
    pub open_invoice: Option<OpenInvoiceView>,
}

/// `PUT /billing/payment-methods/default` `{payment_method_id}` — admin, owner.
pub struct SetDefaultPaymentMethod;

#[async_trait]
impl Endpoint for SetDefaultPaymentMethod {
    const ROUTE: Route = Route {
        function: "set-default-payment-method",
        method: http::Method::PUT,
        path: "/billing/payment-methods/default",
        summary: "Makes one of the org's cards the default (also the live subscription's)",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = SetDefaultPaymentMethodBody;
    type Response = DefaultPaymentMethodView;

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![
            BillingError::InvalidPaymentMethodId,
            BillingError::PaymentMethodNotFound,
            BillingError::IdempotencyConflict,
        ])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, SetDefaultPaymentMethodBody>,
    ) -> Result<Reply<DefaultPaymentMethodView>, BillingError> {
        let payment_method = payment_method_id(&request.body.payment_method_id)?;
        let open_invoice = payment_methods::set_default_payment_method(
            app.customers.as_ref(),
            app.payments.as_ref(),
            app.subscriptions.as_ref(),
            request.org_id(),
            &payment_method,
            &request.idempotency_key("default-payment-method"),
        )
        .await?;
        Ok(Reply::ok(DefaultPaymentMethodView {
            default_payment_method: payment_method.into(),
            open_invoice: open_invoice.map(Into::into),
        }))
    }
}

/// `DELETE /billing/payment-methods/{id}` — admin, owner.
pub struct DetachPaymentMethod;

#[async_trait]
impl Endpoint for DetachPaymentMethod {
    const ROUTE: Route = Route {
        function: "detach-payment-method",
        method: http::Method::DELETE,
        path: "/billing/payment-methods/{id}",
        summary: "Removes a card; removing the default promotes the newest other card first",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = NoBody;
    type Response = Detached;
    const PARAMETERS: &'static [Parameter] = &[Parameter {
        name: "id",
        in_path: true,
        description: "A payment method id (`pm_…`)",
        integer_range: None,
    }];

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![
            BillingError::InvalidPaymentMethodId,
            BillingError::PaymentMethodNotFound,
            BillingError::DefaultPaymentMethodRequired,
            BillingError::IdempotencyConflict,
        ])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, NoBody>,
    ) -> Result<Reply<Detached>, BillingError> {
        let payment_method = payment_method_id(request.path_parameter("id").unwrap_or(""))?;
        let detached = payment_methods::detach_payment_method(
            app.customers.as_ref(),
            app.payments.as_ref(),
            app.subscriptions.as_ref(),
            request.org_id(),
            &payment_method,
            &request.idempotency_key("detach-payment-method"),
        )
        .await?;
        Ok(Reply::ok(detached.into()))
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PortalSessionBody {
    pub return_url: Option<String>,
}

json_request_body!(PortalSessionBody);

/// Where to send the browser: the Customer Portal session.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PortalSessionView {
    pub url: String,
}

/// `POST /billing/portal-session` `{return_url?}` — admin, owner: `{"url"}`.
pub struct CreatePortalSession;

#[async_trait]
impl Endpoint for CreatePortalSession {
    const ROUTE: Route = Route {
        function: "create-portal-session",
        method: http::Method::POST,
        path: "/billing/portal-session",
        summary: "A Stripe Customer Portal session; ensures the customer",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = PortalSessionBody;
    type Response = PortalSessionView;
    const SUCCESS: &'static [u16] = &[201];

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![
            BillingError::InvalidReturnUrl,
            BillingError::IdempotencyConflict,
        ])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, PortalSessionBody>,
    ) -> Result<Reply<PortalSessionView>, BillingError> {
        let return_url =
            payment_methods::resolve_return_url(&app.settings, request.body.return_url.as_deref())?;
        let url = payment_methods::create_portal_session(
            app.customers.as_ref(),
            app.payments.as_ref(),
            request.org_id(),
            &return_url,
            OffsetDateTime::now_utc(),
            &request.idempotency_key("portal-session"),
        )
        .await?;
        Ok(Reply::created(PortalSessionView { url: url.into() }))
    }
}
