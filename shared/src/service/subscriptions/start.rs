//! Starting the org's one live subscription.

use super::{SubscriptionPorts, remember, subscription_of};
use crate::domain::{
    IdempotencyKey, OrgId, PaymentMethodId, PlanKey, Quantity, Subscription, SubscriptionStatus,
};
use crate::error::BillingError;
use crate::service::customers::ensure_customer;
use crate::service::plans::price_of;
use crate::stripe::{NewSubscription, PaymentAttempt, PaymentGateway};

/// A start, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub plan: PlanKey,
    pub quantity: Quantity,
    /// The card to charge (it must be the org's); else the customer's default.
    pub payment_method: Option<PaymentMethodId>,
    pub trial_days: Option<u32>,
}

/// A started subscription; `client_secret` is set while the first payment needs the customer
/// (status `incomplete`): confirm it with Stripe.js, then the subscription turns `active`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedSubscription {
    pub subscription: Subscription,
    pub client_secret: Option<String>,
}

/// Starts the org's subscription on its (one) customer. One live subscription per org: the
/// idempotency key is `<org>:subscription-start:<starts>`, so concurrent or retried starts make
/// one subscription, and only after it has ended can the next start make another.
pub async fn start_subscription(
    ports: SubscriptionPorts<'_>,
    payments: &dyn PaymentGateway,
    org_id: &OrgId,
    request: Start,
) -> Result<StartedSubscription, BillingError> {
    let Start {
        plan,
        quantity,
        payment_method,
        trial_days,
    } = request;
    let catalogue = ports.plans.prices().await?;
    let price = price_of(&catalogue, &plan)?;

    let record = ensure_customer(ports.customers, payments, org_id, ports.now)
        .await?
        .into_record();
    let customer = &record.stripe_customer_id;
    if let Some(method) = &payment_method
        && payments.payment_method_owner(method).await?.as_ref() != Some(customer)
    {
        return Err(BillingError::PaymentMethodNotFound);
    }
    let key = IdempotencyKey::subscription_start(org_id, record.subscription_starts);
    let live = ports
        .stripe
        .latest_subscription(customer)
        .await?
        .filter(|existing| !existing.status.has_ended());
    let state = match live {
        // This start's own subscription: an earlier attempt created it, then failed before
        // recording it. Answer as that attempt would have; an `incomplete` one (under 23 h old,
        // so inside Stripe's 24 h key window) is replayed to get its payment secret back.
        Some(own)
            if own.start_key.as_deref() == Some(key.as_str())
                && own.status != SubscriptionStatus::Incomplete =>
        {
            own
        }
        Some(other) if other.start_key.as_deref() != Some(key.as_str()) => {
            return Err(BillingError::SubscriptionExists);
        }
        _ => {
            let charge_now = payment_method.is_some()
                || payments.default_payment_method(customer).await?.is_some();
            let new = NewSubscription {
                customer,
                price_id: &price.id,
                quantity: quantity.get(),
                payment_method: payment_method.as_ref(),
                trial_days,
                charge_now,
            };
            match ports.stripe.create_subscription(new, &key).await {
                Ok(state) => state,
                // Another start for this org with other parameters holds the key.
                Err(crate::stripe::GatewayError::IdempotencyConflict) => {
                    return Err(BillingError::SubscriptionExists);
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    // The first payment was tried and did not go through: say why. A declined card is a 402
    // (the `incomplete` subscription and its open invoice stay: pay it with another card, or
    // Stripe expires both after 23 h); the bank asking for authentication hands its secret.
    let attempt = match (&state.latest_invoice_id, state.status) {
        (Some(invoice), SubscriptionStatus::Incomplete) => {
            Some(ports.stripe.payment_attempt(invoice).await?)
        }
        _ => None,
    };
    let subscription = remember(
        ports,
        org_id,
        subscription_of(&state, None, &catalogue),
        Some(record.subscription_starts),
    )
    .await?;
    let client_secret = match attempt {
        Some(PaymentAttempt::Declined { decline_code }) => {
            return Err(BillingError::payment_failed(decline_code));
        }
        Some(PaymentAttempt::RequiresAction { client_secret }) => Some(client_secret),
        _ => state.payment_client_secret,
    };
    Ok(StartedSubscription {
        subscription,
        client_secret,
    })
}
