//! Plan changes: now (prorated as asked) or at the period end (a subscription schedule).

use super::{
    SubscriptionPorts, item_change, latest, live, release_reconciled, remember, scheduled_of,
    subscription_of,
};
use crate::domain::{
    IdempotencyKey, OrgId, PlanKey, ProrationBehavior, Quantity, Subscription, Timing,
};
use crate::error::BillingError;
use crate::service::plans::price_of;
use crate::service::reconcile::write_reconciled;
use crate::stripe::PaymentAttempt;

/// A plan change, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChange {
    pub plan: PlanKey,
    pub quantity: Quantity,
    pub timing: Timing,
    /// Only for a change now; `create_prorations` when not given.
    pub proration_behavior: Option<ProrationBehavior>,
    /// The preview's `proration_date`, so the charge equals the preview.
    pub proration_date: Option<i64>,
}

/// A plan change's answer: the subscription and, while the bank asks the customer to
/// authenticate the charge, the PaymentIntent's client secret for Stripe.js.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChanged {
    pub subscription: Subscription,
    pub client_secret: Option<String>,
}

/// Changes plan now (prorated as asked, at the preview's `proration_date` when given) or at the
/// period end (a subscription schedule, replacing any pending change). Asking for the current
/// plan at period end while a change is pending withdraws that change.
///
/// A change now that charges now applies only when its invoice is paid (Stripe's pending
/// update): declined → `payment_failed` with the old plan in force and the change waiting in
/// `pending_payment`; authentication needed → the client secret to confirm with Stripe.js.
pub async fn change_plan(
    ports: SubscriptionPorts<'_>,
    org_id: &OrgId,
    request: PlanChange,
    idempotency_key: &IdempotencyKey,
) -> Result<PlanChanged, BillingError> {
    let PlanChange {
        plan,
        quantity,
        timing,
        proration_behavior,
        proration_date,
    } = request;
    let quantity = quantity.get();
    let catalogue = ports.plans.prices().await?;
    let price = price_of(&catalogue, &plan)?;
    let (customer, state) = latest(ports, org_id).await?;
    let customer = &customer;
    let state = live(state)?;
    let scheduled = scheduled_of(ports, &state).await?;
    let unchanged = state.price_id == price.id && state.quantity == quantity;

    // A change waiting for payment blocks another (Stripe refuses item changes meanwhile); the
    // same change retried under the client's key goes through, so Stripe replays its answer.
    if let Some(pending) = &state.pending_update {
        let replay = idempotency_key.is_from_client()
            && timing == Timing::Immediate
            && pending.price_id == price.id
            && pending.quantity == quantity;
        if !replay {
            return Err(BillingError::PaymentPending);
        }
    }

    let (state, scheduled) = match timing {
        Timing::Immediate => {
            // Already on it: a retry under the client's key after a partial failure is sent
            // again, so Stripe replays the first answer (or makes a no-op change); without a
            // client key it is a mistake worth telling.
            if unchanged && !idempotency_key.is_from_client() {
                return Err(BillingError::PlanUnchanged);
            }
            if let Some(date) = proration_date
                && !(state.current_period_start..state.current_period_end).contains(&date)
            {
                return Err(BillingError::InvalidProrationDate);
            }
            // A change now supersedes one that was waiting for the period end.
            if let Some(schedule) = &state.schedule_id {
                let key = idempotency_key.derive("release");
                release_reconciled(ports, customer, schedule, &key).await?;
            }
            let change = &item_change(&state, &price, quantity, proration_behavior, proration_date);
            let id = &state.id;
            let changed = write_reconciled(
                idempotency_key,
                |key| async move { ports.stripe.change_item(id, change, &key).await },
                || async {
                    let now = ports.stripe.latest_subscription(customer).await?;
                    // In effect, or made and waiting for its invoice's payment.
                    Ok(now.filter(|s| {
                        let pending = s.pending_update.as_ref();
                        s.id == *id
                            && ((s.price_id == change.price_id && s.quantity == change.quantity)
                                || pending.is_some_and(|p| {
                                    p.price_id == change.price_id && p.quantity == change.quantity
                                }))
                    }))
                },
            )
            .await?;
            (changed, None)
        }
        Timing::PeriodEnd if unchanged => match (&state.schedule_id, scheduled) {
            (Some(schedule), Some(_)) => {
                release_reconciled(ports, customer, schedule, idempotency_key).await?;
                let mut released = state.clone();
                released.schedule_id = None;
                (released, None)
            }
            _ => return Err(BillingError::PlanUnchanged),
        },
        // The subscription ends at the period end: a change then would silently undo the
        // cancellation (the schedule takes over the end), so the caller resumes first.
        Timing::PeriodEnd if state.cancel_at_period_end => {
            return Err(BillingError::CancellationPending);
        }
        Timing::PeriodEnd => {
            let (state, price) = (&state, &price);
            let scheduled = write_reconciled(
                idempotency_key,
                |key| async move {
                    // Sent again, it works from Stripe's state now: the first attempt may have
                    // made the schedule already.
                    let current = if key == *idempotency_key {
                        state.clone()
                    } else {
                        ports
                            .stripe
                            .latest_subscription(customer)
                            .await?
                            .unwrap_or_else(|| state.clone())
                    };
                    ports
                        .stripe
                        .schedule_change(&current, price, quantity, &key)
                        .await
                },
                || async {
                    let now = ports.stripe.latest_subscription(customer).await?;
                    let Some(now) = now else { return Ok(None) };
                    Ok(scheduled_of(ports, &now)
                        .await?
                        .filter(|p| p.price_id == price.id && p.quantity == quantity))
                },
            )
            .await?;
            (state.clone(), Some(scheduled))
        }
    };
    let subscription = subscription_of(&state, scheduled.as_ref(), &catalogue);
    let attempt = match state
        .pending_update
        .as_ref()
        .map(|p| p.invoice_id.as_deref())
    {
        None => None,
        Some(Some(invoice)) => Some(ports.stripe.payment_attempt(invoice).await?),
        Some(None) => Some(PaymentAttempt::AwaitingPaymentMethod),
    };
    let subscription = remember(ports, org_id, subscription, None).await?;
    let client_secret = match attempt {
        Some(PaymentAttempt::Declined { decline_code }) => {
            return Err(BillingError::payment_failed(decline_code));
        }
        // Nothing to charge it to: as good as declined (add a card, then pay the invoice).
        Some(PaymentAttempt::AwaitingPaymentMethod) => {
            return Err(BillingError::payment_failed(None));
        }
        Some(PaymentAttempt::RequiresAction { client_secret }) => Some(client_secret),
        // Paid since, or still settling: the webhook brings the applied change.
        Some(PaymentAttempt::Succeeded | PaymentAttempt::Pending) | None => None,
    };
    Ok(PlanChanged {
        subscription,
        client_secret,
    })
}
