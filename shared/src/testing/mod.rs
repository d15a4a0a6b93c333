//! Test doubles for every port, and one [`World`] that wires them into an [`App`], so a test of
//! any layer (use case, endpoint, handler) starts from the same in-memory world.

mod invoices;
mod payments;
mod subscriptions;

pub use invoices::FakeInvoices;
pub use payments::FakeGateway;
pub use subscriptions::{FakeSubscriptions, PERIOD_END, PERIOD_START, RecordedPreview};

use crate::app::App;
use crate::config::Settings;
use crate::domain::StripeCustomerId;
use crate::service::plans::PlanCatalogue;
use crate::service::subscriptions::SubscriptionPorts;
use crate::store::{InMemoryCustomerStore, InMemoryEventLog};
use crate::stripe::{GatewayError, SigningSecret};
use std::sync::Arc;
use time::OffsetDateTime;

/// The webhook signing secret tests sign deliveries with.
pub const TEST_WEBHOOK_SECRET: &str = "whsec_unit_test_secret";

/// A fixed signing secret (`None`: the secret document has none).
pub struct FixedSigningSecret(pub Option<&'static str>);

#[async_trait::async_trait]
impl SigningSecret for FixedSigningSecret {
    async fn webhook_secret(&self) -> Result<Option<secrecy::SecretString>, GatewayError> {
        Ok(self.0.map(secrecy::SecretString::from))
    }
}

/// An app over in-memory ports, with handles on the fakes behind it.
pub struct World {
    pub app: App,
    pub gateway: Arc<FakeGateway>,
    pub subscriptions: Arc<FakeSubscriptions>,
    pub invoices: Arc<FakeInvoices>,
    pub store: Arc<InMemoryCustomerStore>,
}

impl World {
    /// Billing enabled, the default plans, and the test webhook secret.
    pub fn new() -> Self {
        Self::with_billing("true")
    }

    /// As [`World::new`], with `ENABLE_BILLING` set to `billing`.
    pub fn with_billing(billing: &str) -> Self {
        let env = [
            ("ENABLE_BILLING", billing),
            ("APP_PUBLIC_URL", "https://app.example.com"),
            ("BILLING_CUSTOMERS_TABLE", "billing_customers"),
            ("WEBHOOK_EVENTS_TABLE", "billing_webhook_events"),
            ("STRIPE_SECRET_ID", "billing/stripe"),
        ];
        let settings = Settings::from_env(&env).expect("test settings are valid");
        let gateway = Arc::new(FakeGateway::default());
        let subscriptions = Arc::new(FakeSubscriptions::default());
        let store = Arc::new(InMemoryCustomerStore::default());
        let invoices = Arc::new(FakeInvoices::default());
        let plans = PlanCatalogue::new(subscriptions.clone(), settings.plans.clone());
        let app = App {
            settings,
            customers: store.clone(),
            payments: gateway.clone(),
            subscriptions: subscriptions.clone(),
            invoices: invoices.clone(),
            plans: Arc::new(plans),
            events: Arc::new(InMemoryEventLog::default()),
            signing: Arc::new(FixedSigningSecret(Some(TEST_WEBHOOK_SECRET))),
        };
        Self {
            app,
            gateway,
            subscriptions,
            invoices,
            store,
        }
    }

    /// The subscription ports, now.
    pub fn ports(&self) -> SubscriptionPorts<'_> {
        self.app.subscription_ports(OffsetDateTime::now_utc())
    }

    /// The Stripe customer the fake made for `org` (the latest, after a re-link).
    pub fn customer_of(&self, org: &str) -> StripeCustomerId {
        self.gateway
            .customers
            .lock()
            .expect("fake lock")
            .get(org)
            .and_then(|customers| customers.last().cloned())
            .expect("the fake made a customer for the org")
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}
