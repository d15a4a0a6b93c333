//! The org's invoices, newest first in cursor pages, and paying an open one with the default
//! card.

use crate::domain::{IdempotencyKey, OrgId};
use crate::error::BillingError;
use crate::service::reconcile::write_reconciled;
use crate::store::CustomerStore;
use crate::stripe::{GatewayError, InvoiceGateway, InvoiceSummary};

/// Invoices per page unless asked (1–[`MAX_PAGE`]).
pub const DEFAULT_PAGE: u8 = 10;
pub const MAX_PAGE: u8 = 100;

/// One page; `next_cursor` (the last invoice's id) asks for the next when `has_more`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceListing {
    pub invoices: Vec<InvoiceSummary>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// An invoice after a payment attempt; `client_secret` is set while the bank asks the customer
/// to authenticate (confirm it with Stripe.js; the invoice is paid once that succeeds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidInvoice {
    pub invoice: InvoiceSummary,
    pub client_secret: Option<String>,
}

/// Stripe invoice ids: `in_` and a short alphanumeric tail.
pub fn is_invoice_id(value: &str) -> bool {
    value.len() <= 255
        && value
            .strip_prefix("in_")
            .is_some_and(|tail| !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The org's invoices, newest first; an org without a customer has none.
pub async fn list_invoices(
    store: &dyn CustomerStore,
    gateway: &dyn InvoiceGateway,
    org_id: &OrgId,
    limit: u8,
    starting_after: Option<&str>,
) -> Result<InvoiceListing, BillingError> {
    let Some(record) = store.get(org_id).await? else {
        return Ok(InvoiceListing {
            invoices: Vec::new(),
            has_more: false,
            next_cursor: None,
        });
    };
    // Listed by customer, so a cursor naming another org's invoice shows nothing of it.
    let page = gateway
        .list_invoices(&record.stripe_customer_id, limit, starting_after)
        .await?;
    let next_cursor = page
        .has_more
        .then(|| page.invoices.last().map(|i| i.id.clone()))
        .flatten();
    Ok(InvoiceListing {
        invoices: page.invoices,
        has_more: page.has_more,
        next_cursor,
    })
}

/// What Stripe's `/pay` did: paid, or the bank wants the customer (3-D Secure).
enum PayOutcome {
    Paid(Box<InvoiceSummary>),
    NeedsCustomer,
}

/// Stripe's answers to an off-session payment the bank wants the customer to authenticate.
fn needs_customer(error: &GatewayError) -> bool {
    matches!(error, GatewayError::CardError { code, .. }
        if code == "invoice_payment_intent_requires_action" || code == "authentication_required")
}

/// Pays one of the org's open invoices with its default card. Another org's invoice, or an id
/// Stripe does not know, is `invoice_not_found` alike; paid, void or draft is
/// `invoice_not_payable`; a decline is `payment_failed` with the bank's code.
pub async fn pay_invoice(
    store: &dyn CustomerStore,
    gateway: &dyn InvoiceGateway,
    org_id: &OrgId,
    invoice_id: &str,
    idempotency_key: &IdempotencyKey,
) -> Result<PaidInvoice, BillingError> {
    if !is_invoice_id(invoice_id) {
        return Err(BillingError::InvoiceNotFound);
    }
    let record = store
        .get(org_id)
        .await?
        .ok_or(BillingError::InvoiceNotFound)?;
    let owned =
        |invoice: &InvoiceSummary| invoice.customer.as_ref() == Some(&record.stripe_customer_id);
    let invoice = gateway
        .invoice(invoice_id)
        .await?
        .filter(owned)
        .ok_or(BillingError::InvoiceNotFound)?;
    if !matches!(invoice.status.as_str(), "open" | "uncollectible") {
        return Err(BillingError::InvoiceNotPayable);
    }
    let outcome = write_reconciled(
        idempotency_key,
        |key| async move {
            match gateway.pay_invoice(invoice_id, &key).await {
                Ok(paid) => Ok(PayOutcome::Paid(Box::new(paid))),
                Err(error) if needs_customer(&error) => Ok(PayOutcome::NeedsCustomer),
                Err(error) => Err(error),
            }
        },
        || async {
            let now = gateway.invoice(invoice_id).await?;
            Ok(now
                .filter(|i| i.status == "paid")
                .map(|i| PayOutcome::Paid(Box::new(i))))
        },
    )
    .await?;
    match outcome {
        PayOutcome::Paid(invoice) => Ok(PaidInvoice {
            invoice: *invoice,
            client_secret: None,
        }),
        PayOutcome::NeedsCustomer => {
            let invoice = gateway
                .invoice(invoice_id)
                .await?
                .ok_or(BillingError::InvoiceNotFound)?;
            Ok(PaidInvoice {
                client_secret: invoice.payment_client_secret.clone(),
                invoice,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::customers::ensure_customer;
    use crate::testing::World;
    use time::OffsetDateTime;

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    fn key() -> IdempotencyKey {
        IdempotencyKey::for_request(&org("org_1"), "pay-invoice", Some("k"))
    }

    /// An org with a customer and one open invoice of 2000; returns the invoice id.
    async fn org_with_open_invoice(w: &World, id: &str) -> String {
        ensure_customer(
            w.store.as_ref(),
            w.gateway.as_ref(),
            &org(id),
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
        w.invoices.add_open(&w.customer_of(id), 2000)
    }

    async fn pay(w: &World, invoice: &str) -> Result<PaidInvoice, BillingError> {
        pay_invoice(
            w.store.as_ref(),
            w.invoices.as_ref(),
            &org("org_1"),
            invoice,
            &key(),
        )
        .await
    }

    #[tokio::test]
    async fn pages_are_newest_first_with_a_cursor_and_empty_without_a_customer() {
        let w = World::new();
        let none = list_invoices(
            w.store.as_ref(),
            w.invoices.as_ref(),
            &org("org_1"),
            10,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            (none.invoices.len(), none.has_more, none.next_cursor),
            (0, false, None)
        );
        let first = org_with_open_invoice(&w, "org_1").await;
        let second = w.invoices.add_open(&w.customer_of("org_1"), 500);
        let page = list_invoices(
            w.store.as_ref(),
            w.invoices.as_ref(),
            &org("org_1"),
            1,
            None,
        )
        .await
        .unwrap();
        assert_eq!(page.invoices[0].id, second);
        assert_eq!(page.next_cursor.as_deref(), Some(second.as_str()));
        let rest = list_invoices(
            w.store.as_ref(),
            w.invoices.as_ref(),
            &org("org_1"),
            1,
            Some(&second),
        )
        .await
        .unwrap();
        assert_eq!(rest.invoices[0].id, first);
        assert_eq!((rest.has_more, rest.next_cursor), (false, None));
    }

    #[tokio::test]
    async fn paying_answers_paid_then_not_payable() {
        let w = World::new();
        let invoice = org_with_open_invoice(&w, "org_1").await;
        let paid = pay(&w, &invoice).await.unwrap();
        assert_eq!(
            (paid.invoice.status.as_str(), paid.client_secret),
            ("paid", None)
        );
        assert!(matches!(
            pay(&w, &invoice).await,
            Err(BillingError::InvoiceNotPayable)
        ));
    }

    #[tokio::test]
    async fn another_orgs_invoice_or_a_malformed_id_is_not_found() {
        let w = World::new();
        org_with_open_invoice(&w, "org_1").await;
        let foreign = org_with_open_invoice(&w, "org_2").await;
        for id in [foreign.as_str(), "in_missing", "pm_1", ""] {
            assert!(
                matches!(pay(&w, id).await, Err(BillingError::InvoiceNotFound)),
                "{id}"
            );
        }
    }

    #[tokio::test]
    async fn a_decline_is_payment_failed_and_authentication_hands_the_client_secret() {
        let w = World::new();
        let invoice = org_with_open_invoice(&w, "org_1").await;
        *w.invoices.next_payment.lock().unwrap() = Some(GatewayError::CardError {
            code: "card_declined".into(),
            decline_code: Some("insufficient_funds".into()),
        });
        let declined = pay(&w, &invoice).await.unwrap_err();
        assert!(
            matches!(
                &declined,
                BillingError::PaymentFailed { decline_code: Some(code) } if code == "insufficient_funds"
            ),
            "{declined:?}"
        );
        *w.invoices.next_payment.lock().unwrap() = Some(GatewayError::CardError {
            code: "invoice_payment_intent_requires_action".into(),
            decline_code: None,
        });
        let needs_action = pay(&w, &invoice).await.unwrap();
        assert_eq!(needs_action.invoice.status, "open");
        assert!(needs_action.client_secret.unwrap().starts_with("pi_"));
    }
}
