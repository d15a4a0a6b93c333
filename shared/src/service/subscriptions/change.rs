//! Plan changes: now (prorated as asked) or at the period end (a subscription schedule).

use super::{
    SubscriptionPorts, SubscriptionView, Timing, item_change, latest, live, pending_of, quantity,
    remember, view,
};
use crate::domain::{OrgId, PlanKey};
use crate::error::BillingError;
use crate::service::plans::price_of;
use crate::stripe::ProrationBehavior;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChangeRequest {
    #[schema(value_type = Option<String>)]
    pub plan: Option<PlanKey>,
    pub quantity: Option<i64>,
    pub timing: Option<Timing>,
    pub proration_behavior: Option<ProrationBehavior>,
    pub proration_date: Option<i64>,
}

/// Changes plan now (prorated as asked, at the preview's `proration_date` when given) or at the
/// period end (a subscription schedule, replacing any pending change). Asking for the current
/// plan at period end while a change is pending withdraws that change.
pub async fn change_plan(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
    request: PlanChangeRequest,
    idempotency_key: &str,
    replayable: bool,
) -> Result<SubscriptionView, BillingError> {
    let plan = request.plan.ok_or_else(|| {
        BillingError::InvalidRequest("invalid request body: missing field `plan`".into())
    })?;
    let timing = request.timing.ok_or_else(|| {
        BillingError::InvalidRequest("invalid request body: missing field `timing`".into())
    })?;
    let quantity = quantity(request.quantity)?;
    let catalogue = ports.plans.prices().await?;
    let price = price_of(&catalogue, &plan)?;
    let (_, state) = latest(ports, org_id).await?;
    let state = live(state)?;
    let pending = pending_of(ports, &state).await?;
    let unchanged = state.price_id == price.id && state.quantity == quantity;

    let (state, pending) = match timing {
        Timing::Immediate => {
            // Already on it: a retry under the client's key after a partial failure is sent
            // again, so Stripe replays the first answer (or makes a no-op change); without a
            // client key it is a mistake worth telling.
            if unchanged && !replayable {
                return Err(BillingError::PlanUnchanged);
            }
            if let Some(date) = request.proration_date
                && !(state.current_period_start..state.current_period_end).contains(&date)
            {
                return Err(BillingError::InvalidProrationDate);
            }
            // A change now supersedes one that was waiting for the period end.
            if let Some(schedule) = &state.schedule_id {
                ports
                    .stripe
                    .release_schedule(schedule, &format!("{idempotency_key}:release"))
                    .await?;
            }
            let change = item_change(
                &state,
                &price,
                quantity,
                timing,
                request.proration_behavior,
                request.proration_date,
            );
            (
                ports
                    .stripe
                    .change_item(&state.id, &change, idempotency_key)
                    .await?,
                None,
            )
        }
        Timing::PeriodEnd if unchanged => match (&state.schedule_id, pending) {
            (Some(schedule), Some(_)) => {
                ports
                    .stripe
                    .release_schedule(schedule, idempotency_key)
                    .await?;
                let mut released = state.clone();
                released.schedule_id = None;
                (released, None)
            }
            _ => return Err(BillingError::PlanUnchanged),
        },
        Timing::PeriodEnd => {
            let scheduled = ports
                .stripe
                .schedule_change(&state, &price, quantity, idempotency_key)
                .await?;
            (state, Some(scheduled))
        }
    };
    remember(ports, org_id, &state, pending.as_ref(), &catalogue, None).await?;
    Ok(view(&state, pending.as_ref(), &catalogue))
}
