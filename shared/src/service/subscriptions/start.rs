//! Starting the org's one live subscription.

use super::{SubscriptionPorts, SubscriptionView, quantity, remember, view};
use crate::domain::{OrgId, PaymentMethodId, PlanKey};
use crate::error::BillingError;
use crate::service::customers::ensure_customer;
use crate::service::plans::price_of;
use crate::stripe::{NewSubscription, PaymentGateway};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSubscription {
    #[schema(value_type = Option<String>)]
    pub plan: Option<PlanKey>,
    pub quantity: Option<i64>,
    pub payment_method_id: Option<String>,
    pub trial_days: Option<u32>,
}

/// A started subscription; `client_secret` is set while the first payment needs the customer
/// (status `incomplete`): confirm it with Stripe.js, then the subscription turns `active`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Started {
    pub subscription: SubscriptionView,
    pub requires_payment: bool,
    pub client_secret: Option<String>,
}

const MAX_TRIAL_DAYS: u32 = 730;

/// Starts the org's subscription on its (one) customer. One live subscription per org: the
/// idempotency key is `<org>:subscription-start:<starts>`, so concurrent or retried starts make
/// one subscription, and only after it has ended can the next start make another.
pub async fn start_subscription(
    ports: SubscriptionPorts<'_>,
    payments: &dyn PaymentGateway,
    org_id: &OrgId,
    request: StartSubscription,
) -> Result<Started, BillingError> {
    let plan = request.plan.ok_or_else(|| {
        BillingError::InvalidRequest("invalid request body: missing field `plan`".into())
    })?;
    let quantity = quantity(request.quantity)?;
    if request.trial_days.is_some_and(|d| d > MAX_TRIAL_DAYS) {
        return Err(BillingError::InvalidRequest(format!(
            "trial_days must be at most {MAX_TRIAL_DAYS}"
        )));
    }
    let payment_method = request
        .payment_method_id
        .map(|id| PaymentMethodId::parse(id).map_err(|_| BillingError::InvalidPaymentMethodId))
        .transpose()?;
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
    let key = format!("{org_id}:subscription-start:{}", record.subscription_starts);
    let live = ports
        .stripe
        .latest_subscription(customer)
        .await?
        .filter(|existing| !existing.has_ended());
    let state = match live {
        // This start's own subscription: an earlier attempt created it, then failed before
        // recording it. Answer as that attempt would have; an `incomplete` one (under 23 h old,
        // so inside Stripe's 24 h key window) is replayed to get its payment secret back.
        Some(own)
            if own.start_key.as_deref() == Some(key.as_str()) && own.status != "incomplete" =>
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
                quantity,
                payment_method: payment_method.as_ref(),
                trial_days: request.trial_days,
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
    remember(
        ports,
        org_id,
        &state,
        None,
        &catalogue,
        Some(record.subscription_starts),
    )
    .await?;
    Ok(Started {
        requires_payment: state.payment_client_secret.is_some(),
        client_secret: state.payment_client_secret.clone(),
        subscription: view(&state, None, &catalogue),
    })
}
