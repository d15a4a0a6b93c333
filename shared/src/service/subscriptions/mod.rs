//! Subscriptions: start, read, change plan (now or at period end), cancel/resume, and invoice
//! previews.
//!
//! Stripe is the source of truth: every read asks Stripe, and every change writes Stripe's
//! answer into the org's record (`subscription`), newer-wins, for reads that avoid Stripe.

use crate::domain::{
    IdempotencyKey, OrgId, PendingChange, PendingPayment, ProrationBehavior, StripeCustomerId,
    Subscription,
};
use crate::error::BillingError;
use crate::service::plans::{PlanPrices, plan_of};
use crate::service::reconcile::write_reconciled;
use crate::store::{CustomerStore, SubscriptionSnapshot};
use crate::stripe::{
    CatalogPrice, ItemChange, ScheduledPrice, SubscriptionGateway, SubscriptionState,
};
use time::OffsetDateTime;

mod cancel;
mod change;
mod preview;
mod start;
#[cfg(test)]
mod tests;

pub use cancel::set_cancel_at_period_end;
pub use change::{PlanChange, PlanChanged, change_plan};
pub use preview::{Preview, PreviewedInvoice, preview_invoice};
pub use start::{Start, StartedSubscription, start_subscription};

/// What the subscription use cases work with: the org's record, Stripe's subscriptions, the
/// plan prices, and the request's time (read once, at the edge).
#[derive(Clone, Copy)]
pub struct SubscriptionPorts<'a> {
    pub customers: &'a dyn CustomerStore,
    pub stripe: &'a dyn SubscriptionGateway,
    pub plans: &'a dyn PlanPrices,
    pub now: OffsetDateTime,
}

/// The API's view of Stripe's subscription: the plan named, the pending change resolved.
fn subscription_of(
    state: &SubscriptionState,
    scheduled: Option<&ScheduledPrice>,
    catalogue: &[CatalogPrice],
) -> Subscription {
    Subscription {
        id: state.id.clone(),
        plan: plan_of(catalogue, &state.price_id),
        status: state.status,
        quantity: state.quantity,
        current_period_start: state.current_period_start,
        current_period_end: state.current_period_end,
        cancel_at_period_end: state.cancel_at_period_end,
        scheduled_change: scheduled.map(|p| PendingChange {
            plan: plan_of(catalogue, &p.price_id),
            quantity: p.quantity,
            effective_at: p.effective_at,
        }),
        pending_payment: state.pending_update.as_ref().map(|p| PendingPayment {
            plan: plan_of(catalogue, &p.price_id),
            quantity: p.quantity,
            expires_at: p.expires_at,
            invoice_id: p.invoice_id.clone(),
        }),
        open_invoice: state.open_invoice.clone(),
    }
}

/// Stores the subscription in the org's record (newer wins) and returns it.
pub(crate) async fn remember(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
    subscription: Subscription,
    started_from: Option<u32>,
) -> Result<Subscription, BillingError> {
    let read_at_ms =
        i64::try_from(ports.now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let snapshot = SubscriptionSnapshot::of(&subscription, read_at_ms);
    ports
        .customers
        .save_subscription(org_id, &snapshot, started_from)
        .await?;
    Ok(subscription)
}

/// Reads what the schedule and the catalogue say of `state`, stores it, and returns it.
pub(crate) async fn sync(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
    state: &SubscriptionState,
) -> Result<Subscription, BillingError> {
    let (scheduled, catalogue) =
        tokio::try_join!(scheduled_of(ports, state), ports.plans.prices())?;
    let subscription = subscription_of(state, scheduled.as_ref(), &catalogue);
    remember(ports, org_id, subscription, None).await
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

/// Releases the subscription's schedule (which withdraws its pending change), reading Stripe's
/// state back when the outcome is unknown.
pub(crate) async fn release_reconciled(
    ports: SubscriptionPorts<'_>,
    customer: &StripeCustomerId,
    schedule: &str,
    idempotency_key: &IdempotencyKey,
) -> Result<(), BillingError> {
    write_reconciled(
        idempotency_key,
        |key| async move { ports.stripe.release_schedule(schedule, &key).await },
        || async {
            let now = ports.stripe.latest_subscription(customer).await?;
            Ok(now
                .filter(|s| s.schedule_id.as_deref() != Some(schedule))
                .map(|_| ()))
        },
    )
    .await
}

/// The change the subscription's schedule (if any) holds for the period end.
pub(crate) async fn scheduled_of(
    ports: SubscriptionPorts<'_>,
    state: &SubscriptionState,
) -> Result<Option<ScheduledPrice>, BillingError> {
    match &state.schedule_id {
        Some(schedule) => Ok(ports.stripe.pending_change(schedule).await?),
        None => Ok(None),
    }
}

/// The org's latest subscription, read from Stripe (no write: a read leaves the copy alone).
pub async fn get_subscription(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
) -> Result<Subscription, BillingError> {
    let (_, state) = latest(ports, org_id).await?;
    let (scheduled, catalogue) =
        tokio::try_join!(scheduled_of(ports, &state), ports.plans.prices())?;
    Ok(subscription_of(&state, scheduled.as_ref(), &catalogue))
}

fn live(state: SubscriptionState) -> Result<SubscriptionState, BillingError> {
    if state.status.has_ended() {
        Err(BillingError::SubscriptionEnded)
    } else {
        Ok(state)
    }
}

/// The item change a plan change now, or its preview, sends to Stripe (`create_prorations`
/// unless asked otherwise; no `proration_date` when nothing is prorated).
fn item_change(
    state: &SubscriptionState,
    price: &CatalogPrice,
    quantity: i64,
    behavior: Option<ProrationBehavior>,
    proration_date: Option<i64>,
) -> ItemChange {
    let proration_behavior = behavior.unwrap_or(ProrationBehavior::CreateProrations);
    ItemChange {
        item_id: state.item_id.clone(),
        price_id: price.id.clone(),
        quantity,
        proration_behavior,
        proration_date: proration_date.filter(|_| proration_behavior != ProrationBehavior::None),
    }
}
