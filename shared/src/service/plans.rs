//! The plan catalogue: the configured plans' Stripe prices, behind the [`PlanPrices`] port, with
//! a per-container cache ([`PlanCatalogue`]) in front of Stripe.

use crate::domain::PlanKey;
use crate::error::BillingError;
use crate::stripe::{CatalogPrice, SubscriptionGateway};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The configured plans' prices, in the configured order (the order the UI shows).
#[async_trait]
pub trait PlanPrices: Send + Sync {
    async fn prices(&self) -> Result<Vec<CatalogPrice>, BillingError>;
}

/// [`PlanPrices`] read from Stripe and cached per container for a short time.
pub struct PlanCatalogue {
    stripe: Arc<dyn SubscriptionGateway>,
    plans: Vec<PlanKey>,
    cached: Mutex<Option<(Instant, Vec<CatalogPrice>)>>,
}

impl PlanCatalogue {
    const TTL: Duration = Duration::from_secs(300);

    pub fn new(stripe: Arc<dyn SubscriptionGateway>, plans: Vec<PlanKey>) -> Self {
        Self {
            stripe,
            plans,
            cached: Mutex::new(None),
        }
    }
}

#[async_trait]
impl PlanPrices for PlanCatalogue {
    async fn prices(&self) -> Result<Vec<CatalogPrice>, BillingError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, prices)) = cached.as_ref()
            && at.elapsed() < Self::TTL
        {
            return Ok(prices.clone());
        }
        let keys: Vec<String> = self.plans.iter().map(|p| p.to_string()).collect();
        let mut prices = self.stripe.catalog_prices(&keys).await?;
        prices.sort_by_key(|price| keys.iter().position(|k| *k == price.lookup_key));
        *cached = Some((Instant::now(), prices.clone()));
        Ok(prices)
    }
}

/// The price of a configured plan, or `unknown_plan`.
pub(crate) fn price_of(
    catalogue: &[CatalogPrice],
    plan: &PlanKey,
) -> Result<CatalogPrice, BillingError> {
    catalogue
        .iter()
        .find(|p| p.lookup_key == plan.as_str())
        .cloned()
        .ok_or(BillingError::UnknownPlan)
}

/// The configured plan a price belongs to (`None` for a price outside the catalogue).
pub(crate) fn plan_of(catalogue: &[CatalogPrice], price_id: &str) -> Option<PlanKey> {
    catalogue
        .iter()
        .find(|p| p.id == price_id)
        .and_then(|p| PlanKey::parse(p.lookup_key.clone()).ok())
}

/// The plans on sale, in the configured order.
pub async fn list_plans(plans: &dyn PlanPrices) -> Result<Vec<CatalogPrice>, BillingError> {
    plans.prices().await
}
