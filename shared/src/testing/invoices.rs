//! In-memory invoices: what Stripe lists for each customer, and how paying one goes.

use crate::domain::{Currency, IdempotencyKey, StripeCustomerId};
use crate::stripe::{GatewayError, InvoiceGateway, InvoicePage, InvoiceSummary};
use async_trait::async_trait;
use std::sync::Mutex;

#[derive(Default)]
pub struct FakeInvoices {
    /// Oldest first, as created.
    pub invoices: Mutex<Vec<InvoiceSummary>>,
    /// How the next payment goes: `None` pays; `Some(error)` is Stripe's refusal.
    pub next_payment: Mutex<Option<GatewayError>>,
}

impl FakeInvoices {
    /// An open invoice of `amount` for `customer`; returns its id.
    pub fn add_open(&self, customer: &StripeCustomerId, amount: i64) -> String {
        let mut invoices = self.invoices.lock().unwrap();
        let n = invoices.len() as i64 + 1;
        let id = format!("in_{n}");
        invoices.push(InvoiceSummary {
            id: id.clone(),
            customer: Some(customer.clone()),
            number: Some(format!("N-{n}")),
            status: "open".into(),
            total: amount,
            amount_due: amount,
            amount_paid: 0,
            amount_remaining: amount,
            currency: Currency::parse("usd").unwrap(),
            created: 1_780_000_000 + n,
            period_start: 1_780_000_000,
            period_end: 1_780_000_000,
            hosted_invoice_url: None,
            invoice_pdf: None,
            payment_client_secret: Some(format!("pi_{id}_secret_x")),
        });
        id
    }
}

#[async_trait]
impl InvoiceGateway for FakeInvoices {
    async fn list_invoices(
        &self,
        customer: &StripeCustomerId,
        limit: u8,
        starting_after: Option<&str>,
    ) -> Result<InvoicePage, GatewayError> {
        let invoices = self.invoices.lock().unwrap();
        let mut newest_first = invoices
            .iter()
            .rev()
            .filter(|i| i.customer.as_ref() == Some(customer))
            .skip_while(|i| starting_after.is_some_and(|after| i.id != after))
            .skip(usize::from(starting_after.is_some()));
        let page: Vec<InvoiceSummary> = newest_first
            .by_ref()
            .take(usize::from(limit))
            .cloned()
            .collect();
        Ok(InvoicePage {
            invoices: page,
            has_more: newest_first.next().is_some(),
        })
    }

    async fn invoice(&self, id: &str) -> Result<Option<InvoiceSummary>, GatewayError> {
        Ok(self
            .invoices
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.id == id)
            .cloned())
    }

    async fn pay_invoice(
        &self,
        id: &str,
        _key: &IdempotencyKey,
    ) -> Result<InvoiceSummary, GatewayError> {
        if let Some(refusal) = self.next_payment.lock().unwrap().take() {
            return Err(refusal);
        }
        let mut invoices = self.invoices.lock().unwrap();
        let invoice = invoices
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or(GatewayError::Rejected {
                status: 404,
                code: "resource_missing".into(),
            })?;
        invoice.status = "paid".into();
        invoice.amount_paid = invoice.amount_due;
        invoice.amount_remaining = 0;
        Ok(invoice.clone())
    }
}
