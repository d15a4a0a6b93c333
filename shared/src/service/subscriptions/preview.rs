//! Invoice previews: the upcoming invoice, or the one a plan change would produce.

use super::{SubscriptionPorts, Timing, item_change, latest, live};
use crate::domain::{OrgId, PlanKey, Quantity};
use crate::error::BillingError;
use crate::service::plans::price_of;
use crate::stripe::{InvoicePreview, PreviewLine, ProrationBehavior, SubscriptionState};
use serde::Serialize;

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

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewView {
    pub currency: String,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub amount_due: i64,
    pub next_payment_attempt: Option<i64>,
    /// Pass this to the plan change so the charge equals this preview.
    pub proration_date: Option<i64>,
    pub lines: Vec<PreviewLine>,
}

fn preview_view(preview: InvoicePreview, proration_date: Option<i64>) -> PreviewView {
    PreviewView {
        currency: preview.currency,
        subtotal: preview.subtotal,
        tax: preview.tax,
        total: preview.total,
        amount_due: preview.amount_due,
        next_payment_attempt: preview.next_payment_attempt,
        proration_date,
        lines: preview.lines,
    }
}

/// Without a plan: the org's upcoming invoice. With one: the invoice that change would produce,
/// and the `proration_date` it used.
pub async fn preview_invoice(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
    request: Preview,
) -> Result<PreviewView, BillingError> {
    let (customer, state) = latest(ports, org_id).await?;
    let state = live(state).map_err(|_| BillingError::SubscriptionNotFound)?;
    let (plan, quantity, timing, proration_behavior) = match request {
        Preview::Upcoming => {
            let preview = ports
                .stripe
                .preview_invoice(&customer, &state.id, None)
                .await?;
            return Ok(preview_view(preview, None));
        }
        Preview::Change {
            plan,
            quantity,
            timing,
            proration_behavior,
        } => (plan, quantity.get(), timing, proration_behavior),
    };
    let catalogue = ports.plans.prices().await?;
    let price = price_of(&catalogue, &plan)?;
    let now = clamp_into_period(&state, ports.now.unix_timestamp());
    let change = item_change(
        &state,
        &price,
        quantity,
        timing,
        proration_behavior,
        Some(now),
    );
    let preview = ports
        .stripe
        .preview_invoice(&customer, &state.id, Some(&change))
        .await?;
    Ok(preview_view(preview, change.proration_date))
}

fn clamp_into_period(state: &SubscriptionState, at: i64) -> i64 {
    at.clamp(
        state.current_period_start,
        state.current_period_end.saturating_sub(1),
    )
}
