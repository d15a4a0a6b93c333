//! The org's invoices and paying an open one.

use super::with_stripe;
use crate::app::App;
use crate::auth::{Access, Principal};
use crate::error::BillingError;
use crate::http::{ApiRequest, EmptyBody, Endpoint, NoBody, Parameter, Reply, Route};
use crate::service::invoices::{
    self, DEFAULT_PAGE, InvoiceListing, MAX_PAGE, PaidInvoice, is_invoice_id,
};
use crate::stripe::InvoiceSummary;
use async_trait::async_trait;
use serde::Serialize;

/// An invoice as the API returns it: amounts in minor units of `currency`, times in Unix seconds;
/// `hosted_invoice_url` is Stripe's page where the customer can pay it, `invoice_pdf` its PDF.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceView {
    pub id: String,
    pub number: Option<String>,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`.
    pub status: String,
    pub total: i64,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    pub currency: String,
    pub created: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
}

impl From<InvoiceSummary> for InvoiceView {
    fn from(invoice: InvoiceSummary) -> Self {
        Self {
            id: invoice.id,
            number: invoice.number,
            status: invoice.status,
            total: invoice.total,
            amount_due: invoice.amount_due,
            amount_paid: invoice.amount_paid,
            amount_remaining: invoice.amount_remaining,
            currency: invoice.currency.as_str().to_owned(),
            created: invoice.created,
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            hosted_invoice_url: invoice.hosted_invoice_url,
            invoice_pdf: invoice.invoice_pdf,
        }
    }
}

/// A page of invoices, newest first; pass `next_cursor` as `starting_after` for the next one.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceList {
    pub invoices: Vec<InvoiceView>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl From<InvoiceListing> for InvoiceList {
    fn from(listing: InvoiceListing) -> Self {
        Self {
            invoices: listing.invoices.into_iter().map(Into::into).collect(),
            has_more: listing.has_more,
            next_cursor: listing.next_cursor,
        }
    }
}

/// `GET /billing/invoices?limit&starting_after` — any member.
pub struct ListInvoices;

#[async_trait]
impl Endpoint for ListInvoices {
    const ROUTE: Route = Route {
        function: "list-invoices",
        method: http::Method::GET,
        path: "/billing/invoices",
        summary: "The org's invoices, newest first, in cursor pages (empty without a customer)",
        access: Some(Access::View),
    };
    type Caller = Principal;
    type Body = NoBody;
    type Response = InvoiceList;
    const PARAMETERS: &'static [Parameter] = &[
        Parameter {
            name: "limit",
            in_path: false,
            description: "Invoices per page (default 10)",
            integer_range: Some((1, MAX_PAGE as i64)),
        },
        Parameter {
            name: "starting_after",
            in_path: false,
            description: "The previous page's `next_cursor` (an invoice id, `in_…`)",
            integer_range: None,
        },
    ];

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![BillingError::InvalidRequest(String::new())])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, NoBody>,
    ) -> Result<Reply<InvoiceList>, BillingError> {
        let limit = match request.query_parameter("limit") {
            None => DEFAULT_PAGE,
            Some(raw) => raw
                .parse::<u8>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    BillingError::InvalidRequest(format!("limit must be 1 to {MAX_PAGE}"))
                })?,
        };
        let starting_after = request.query_parameter("starting_after");
        if starting_after.is_some_and(|cursor| !is_invoice_id(cursor)) {
            return Err(BillingError::InvalidRequest(
                "starting_after must be a next_cursor (an invoice id)".into(),
            ));
        }
        let listing = invoices::list_invoices(
            app.customers.as_ref(),
            app.invoices.as_ref(),
            request.org_id(),
            limit,
            starting_after,
        )
        .await?;
        Ok(Reply::ok(listing.into()))
    }
}

/// The invoice after a payment attempt. `requires_action`: the bank asks the customer to
/// authenticate; confirm `client_secret` with Stripe.js and the invoice is paid then.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoicePayment {
    pub invoice: InvoiceView,
    pub requires_action: bool,
    pub client_secret: Option<String>,
}

impl From<PaidInvoice> for InvoicePayment {
    fn from(paid: PaidInvoice) -> Self {
        Self {
            invoice: paid.invoice.into(),
            requires_action: paid.client_secret.is_some(),
            client_secret: paid.client_secret,
        }
    }
}

/// `POST /billing/invoices/{id}/pay` — admin, owner.
pub struct PayInvoice;

#[async_trait]
impl Endpoint for PayInvoice {
    const ROUTE: Route = Route {
        function: "pay-invoice",
        method: http::Method::POST,
        path: "/billing/invoices/{id}/pay",
        summary: "Pays one of the org's open invoices with the default card",
        access: Some(Access::Manage),
    };
    type Caller = Principal;
    type Body = EmptyBody;
    type Response = InvoicePayment;
    const PARAMETERS: &'static [Parameter] = &[Parameter {
        name: "id",
        in_path: true,
        description: "An invoice id (`in_…`)",
        integer_range: None,
    }];

    fn errors() -> Vec<BillingError> {
        with_stripe(vec![
            BillingError::InvoiceNotFound,
            BillingError::InvoiceNotPayable,
            BillingError::PaymentFailed { decline_code: None },
            BillingError::IdempotencyConflict,
        ])
    }

    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Principal, EmptyBody>,
    ) -> Result<Reply<InvoicePayment>, BillingError> {
        let invoice_id = request.path_parameter("id").unwrap_or("");
        let paid = invoices::pay_invoice(
            app.customers.as_ref(),
            app.invoices.as_ref(),
            request.org_id(),
            invoice_id,
            &request.idempotency_key("pay-invoice"),
        )
        .await?;
        Ok(Reply::ok(paid.into()))
    }
}
