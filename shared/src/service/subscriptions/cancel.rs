//! Cancel at period end, and resume.

use super::{SubscriptionPorts, latest, live, sync};
use crate::domain::{IdempotencyKey, OrgId, Subscription};
use crate::error::BillingError;

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
    let (_, state) = latest(ports, org_id).await?;
    let state = live(state)?;
    let state = if state.cancel_at_period_end == cancel {
        state
    } else {
        if let Some(schedule) = &state.schedule_id {
            ports
                .stripe
                .release_schedule(schedule, &idempotency_key.derive("release"))
                .await?;
        }
        ports
            .stripe
            .set_cancel_at_period_end(&state.id, cancel, idempotency_key)
            .await?
    };
    sync(ports, org_id, &state).await
}
