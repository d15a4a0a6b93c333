//! Subscriptions: start, read, change plan (now or at period end), cancel/resume, and invoice
//! previews.
//!
//! Stripe is the source of truth: every read asks Stripe, and every change writes Stripe's
//! answer into the org's record (`subscription`), newer-wins, for reads that avoid Stripe.

use crate::domain::OrgId;
use crate::domain::StripeCustomerId;
use crate::error::BillingError;
use crate::service::plans::{PlanPrices, plan_of};
use crate::store::{CustomerStore, PendingPlanChange, SubscriptionSnapshot};
use crate::stripe::{
    CatalogPrice, ItemChange, PendingChange, ProrationBehavior, SubscriptionGateway,
    SubscriptionState,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

mod cancel;
mod change;
mod preview;
mod start;
#[cfg(test)]
mod tests;

pub use cancel::set_cancel_at_period_end;
pub use change::{PlanChange, change_plan};
pub use preview::{Preview, PreviewView, preview_invoice};
pub use start::{Start, Started, start_subscription};

/// What the subscription use cases work with: the org's record, Stripe's subscriptions, the
/// plan prices, and the request's time (read once, at the edge).
#[derive(Clone, Copy)]
pub struct SubscriptionPorts<'a> {
    pub customers: &'a dyn CustomerStore,
    pub stripe: &'a dyn SubscriptionGateway,
    pub plans: &'a dyn PlanPrices,
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledChangeView {
    pub plan: Option<String>,
    pub quantity: i64,
    pub effective_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionView {
    pub id: String,
    pub plan: Option<String>,
    pub status: String,
    pub quantity: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub scheduled_change: Option<ScheduledChangeView>,
    /// Whether a plan change, a preview of one, or a cancellation can be asked for now (active,
    /// trialing or past due): the app offers them only then.
    pub can_change_plan: bool,
    /// Whether an upcoming invoice exists to preview (billing and not cancelling).
    pub has_upcoming_invoice: bool,
}

fn view(
    state: &SubscriptionState,
    pending: Option<&PendingChange>,
    catalogue: &[CatalogPrice],
) -> SubscriptionView {
    SubscriptionView {
        id: state.id.to_string(),
        plan: plan_of(catalogue, &state.price_id).map(String::from),
        status: state.status.clone(),
        quantity: state.quantity,
        current_period_start: state.current_period_start,
        current_period_end: state.current_period_end,
        cancel_at_period_end: state.cancel_at_period_end,
        scheduled_change: pending.map(|p| ScheduledChangeView {
            plan: plan_of(catalogue, &p.price_id).map(String::from),
            quantity: p.quantity,
            effective_at: p.effective_at,
        }),
        can_change_plan: state.is_billing(),
        has_upcoming_invoice: state.is_billing() && !state.cancel_at_period_end,
    }
}

/// Stores Stripe's answer in the org's record (newer wins).
pub(crate) async fn remember(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
    state: &SubscriptionState,
    pending: Option<&PendingChange>,
    catalogue: &[CatalogPrice],
    started_from: Option<u32>,
) -> Result<(), BillingError> {
    let snapshot = SubscriptionSnapshot {
        id: state.id.clone(),
        status: state.status.clone(),
        plan: plan_of(catalogue, &state.price_id),
        quantity: state.quantity,
        current_period_end: state.current_period_end,
        cancel_at_period_end: state.cancel_at_period_end,
        pending_plan_change: pending.map(|p| PendingPlanChange {
            plan: plan_of(catalogue, &p.price_id),
            quantity: p.quantity,
            effective_at: p.effective_at,
        }),
        synced_at: ports.now.unix_timestamp(),
    };
    Ok(ports
        .customers
        .save_subscription(org_id, &snapshot, started_from)
        .await?)
}

/// The org's customer and its latest subscription, or `subscription_not_found`.
async fn latest(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
) -> Result<(StripeCustomerId, SubscriptionState), BillingError> {
    let record = ports
        .customers
        .get(org_id)
        .await?
        .ok_or(BillingError::SubscriptionNotFound)?;
    let state = ports
        .stripe
        .latest_subscription(&record.stripe_customer_id)
        .await?
        .ok_or(BillingError::SubscriptionNotFound)?;
    Ok((record.stripe_customer_id, state))
}

pub(crate) async fn pending_of(
    ports: SubscriptionPorts<'_>,
    state: &SubscriptionState,
) -> Result<Option<PendingChange>, BillingError> {
    match &state.schedule_id {
        Some(schedule) => Ok(ports.stripe.pending_change(schedule).await?),
        None => Ok(None),
    }
}

pub async fn get_subscription(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
) -> Result<SubscriptionView, BillingError> {
    let (_, state) = latest(ports, org_id).await?;
    let (pending, catalogue) = tokio::try_join!(pending_of(ports, &state), ports.plans.prices())?;
    Ok(view(&state, pending.as_ref(), &catalogue))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    #[default]
    Immediate,
    PeriodEnd,
}

fn live(state: SubscriptionState) -> Result<SubscriptionState, BillingError> {
    if state.has_ended() {
        Err(BillingError::SubscriptionEnded)
    } else {
        Ok(state)
    }
}

/// The item change a plan change or its preview sends to Stripe.
fn item_change(
    state: &SubscriptionState,
    price: &CatalogPrice,
    quantity: i64,
    timing: Timing,
    behavior: Option<ProrationBehavior>,
    proration_date: Option<i64>,
) -> ItemChange {
    let (proration_behavior, proration_date) = match timing {
        Timing::Immediate => (
            behavior.unwrap_or(ProrationBehavior::CreateProrations),
            proration_date,
        ),
        // At period end nothing is prorated: the next invoice simply bills the new price.
        Timing::PeriodEnd => (ProrationBehavior::None, None),
    };
    ItemChange {
        item_id: state.item_id.clone(),
        price_id: price.id.clone(),
        quantity,
        proration_behavior,
        proration_date: proration_date.filter(|_| proration_behavior != ProrationBehavior::None),
    }
}
