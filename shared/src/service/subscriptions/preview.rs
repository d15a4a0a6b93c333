//! Invoice previews: the upcoming invoice, or the one a plan change would produce.

use super::{SubscriptionPorts, item_change, latest, live};
use crate::domain::{OrgId, PlanKey, ProrationBehavior, Quantity, Timing};
use crate::error::BillingError;
use crate::service::plans::price_of;
use crate::stripe::{InvoicePreview, PreviewOf};

/// What to preview, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preview {
    /// The org's upcoming invoice.
    Upcoming,
    /// The invoice this change would produce.
    Change {
        plan: PlanKey,
        quantity: Quantity,
        timing: Timing,
        proration_behavior: Option<ProrationBehavior>,
    },
}

/// A previewed invoice, and the `proration_date` Stripe used for it: the plan change that
/// passes it on is charged exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewedInvoice {
    pub invoice: InvoicePreview,
    pub proration_date: Option<i64>,
}

/// Without a plan: the org's upcoming invoice. With one: the invoice that change would produce,
/// and the `proration_date` it used.
pub async fn preview_invoice(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
    request: Preview,
) -> Result<PreviewedInvoice, BillingError> {
    let (customer, state) = latest(ports, org_id).await?;
    let state = live(state).map_err(|_| BillingError::SubscriptionNotFound)?;
    let Preview::Change {
        plan,
        quantity,
        timing,
        proration_behavior,
    } = request
    else {
        let invoice = ports
            .stripe
            .preview_invoice(&customer, &state, PreviewOf::Upcoming)
            .await?;
        return Ok(PreviewedInvoice {
            invoice,
            proration_date: None,
        });
    };
    if timing == Timing::PeriodEnd && state.cancel_at_period_end {
        return Err(BillingError::CancellationPending);
    }
    let quantity = quantity.get();
    let catalogue = ports.plans.prices().await?;
    let price = price_of(&catalogue, &plan)?;
    // Only a change now prorates. Stripe picks the moment (its clock: a test clock's in test
    // mode) and reports it; the change sends it back so the charge equals this preview.
    let change = (timing == Timing::Immediate)
        .then(|| item_change(&state, &price, quantity, proration_behavior, None));
    let what = match &change {
        Some(change) => PreviewOf::ChangeNow(change),
        None => PreviewOf::ChangeAtPeriodEnd {
            price: &price,
            quantity,
        },
    };
    let invoice = ports
        .stripe
        .preview_invoice(&customer, &state, what)
        .await?;
    let proration_date = invoice.proration_date.filter(|_| change.is_some());
    Ok(PreviewedInvoice {
        invoice,
        proration_date,
    })
}
