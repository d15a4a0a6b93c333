//! [`InvoiceGateway`] on Stripe: the customer's invoices, and paying one.

use super::client::customer_id;
use super::{GatewayError, InvoiceGateway, InvoicePage, InvoiceSummary, StripeGateway};
use crate::domain::{Currency, IdempotencyKey, StripeCustomerId};
use async_trait::async_trait;
use stripe_billing::invoice::{ListInvoice, PayInvoice, RetrieveInvoice};

const EXPAND_CONFIRMATION_SECRET: &str = "confirmation_secret";

fn summary_of(invoice: &stripe_shared::Invoice) -> Result<InvoiceSummary, GatewayError> {
    let unexpected = |what: String| GatewayError::Rejected {
        status: 200,
        code: what,
    };
    Ok(InvoiceSummary {
        id: invoice
            .id
            .as_ref()
            .ok_or_else(|| unexpected("invoice without id".into()))?
            .as_str()
            .to_owned(),
        customer: invoice
            .customer
            .as_ref()
            .map(|c| customer_id(c.id()))
            .transpose()?,
        number: invoice.number.clone(),
        status: invoice
            .status
            .as_ref()
            .map_or("draft", |s| s.as_str())
            .to_owned(),
        total: invoice.total,
        amount_due: invoice.amount_due,
        amount_paid: invoice.amount_paid,
        amount_remaining: invoice.amount_remaining,
        currency: Currency::parse(&invoice.currency.to_string())
            .map_err(|e| unexpected(e.to_string()))?,
        created: invoice.created,
        period_start: invoice.period_start,
        period_end: invoice.period_end,
        hosted_invoice_url: invoice.hosted_invoice_url.clone(),
        invoice_pdf: invoice.invoice_pdf.clone(),
        payment_client_secret: invoice
            .confirmation_secret
            .as_ref()
            .map(|secret| secret.client_secret.clone()),
    })
}

#[async_trait]
impl InvoiceGateway for StripeGateway {
    async fn list_invoices(
        &self,
        customer: &StripeCustomerId,
        limit: u8,
        starting_after: Option<&str>,
    ) -> Result<InvoicePage, GatewayError> {
        let mut list = ListInvoice::new()
            .customer(customer.as_str())
            .limit(i64::from(limit));
        if let Some(after) = starting_after {
            list = list.starting_after(after);
        }
        let page = self.read(&list).await?;
        Ok(InvoicePage {
            invoices: page.data.iter().map(summary_of).collect::<Result<_, _>>()?,
            has_more: page.has_more,
        })
    }

    async fn invoice(&self, id: &str) -> Result<Option<InvoiceSummary>, GatewayError> {
        let retrieve = RetrieveInvoice::new(id).expand(vec![EXPAND_CONFIRMATION_SECRET.to_owned()]);
        match self.read(&retrieve).await {
            Ok(invoice) => summary_of(&invoice).map(Some),
            Err(GatewayError::Rejected { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn pay_invoice(
        &self,
        id: &str,
        idempotency_key: &IdempotencyKey,
    ) -> Result<InvoiceSummary, GatewayError> {
        let pay = PayInvoice::new(id).expand(vec![EXPAND_CONFIRMATION_SECRET.to_owned()]);
        summary_of(&self.write(&pay, idempotency_key).await?)
    }
}
