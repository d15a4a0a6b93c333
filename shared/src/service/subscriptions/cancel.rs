//! Cancel at period end, and resume.

use super::{SubscriptionPorts, latest, live, release_reconciled, sync};
use crate::domain::{IdempotencyKey, OrgId, Subscription};
use crate::error::BillingError;
use crate::service::reconcile::write_reconciled;

/// Cancels at period end (`cancel = true`) or undoes that (`cancel = false`); both idempotent.
/// Cancelling withdraws a pending period-end plan change: Stripe refuses a direct change of
/// the cancellation while a schedule owns the subscription, so the schedule is released first
/// (a retry after a failure in between finds it released and goes on).
pub async fn set_cancel_at_period_end(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
    cancel: bool,
    idempotency_key: &IdempotencyKey,
) -> Result<Subscription, BillingError> {
    let (customer, state) = latest(ports, org_id).await?;
    let customer = &customer;
    let state = live(state)?;
    let state = if state.cancel_at_period_end == cancel {
        state
    } else {
        if let Some(schedule) = &state.schedule_id {
            release_reconciled(
                ports,
                customer,
                schedule,
                &idempotency_key.derive("release"),
            )
            .await?;
        }
        let id = &state.id;
        write_reconciled(
            idempotency_key,
            |key| async move {
                ports
                    .stripe
                    .set_cancel_at_period_end(id, cancel, &key)
                    .await
            },
            || async {
                let now = ports.stripe.latest_subscription(customer).await?;
                Ok(now.filter(|s| s.id == *id && s.cancel_at_period_end == cancel))
            },
        )
        .await?
    };
    sync(ports, org_id, &state).await
}
