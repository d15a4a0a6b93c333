//! Per-container wiring: settings read and every port built once at cold start, then lent to
//! every request. No use-case logic lives here.

use crate::aws::sdk_config;
use crate::config::{ProcessEnv, Settings};
use crate::https::TlsSettings;
use crate::service::plans::{PlanCatalogue, PlanPrices};
use crate::service::subscriptions::SubscriptionPorts;
use crate::service::webhooks::WebhookPorts;
use crate::store::{CustomerStore, DynamoCustomerStore, DynamoEventLog, EventLog};
use crate::stripe::{
    InvoiceGateway, PaymentGateway, SigningSecret, StripeGateway, SubscriptionGateway,
};
use std::sync::Arc;
use time::OffsetDateTime;

pub use crate::error::InitError;

/// Everything an endpoint may use. Ports are trait objects so tests swap in fakes.
pub struct App {
    pub settings: Settings,
    pub customers: Arc<dyn CustomerStore>,
    pub payments: Arc<dyn PaymentGateway>,
    pub subscriptions: Arc<dyn SubscriptionGateway>,
    pub invoices: Arc<dyn InvoiceGateway>,
    /// The plan prices, cached per container in front of Stripe.
    pub plans: Arc<dyn PlanPrices>,
    pub events: Arc<dyn EventLog>,
    pub signing: Arc<dyn SigningSecret>,
}

impl App {
    /// Reads settings and builds clients. The Stripe key is not read here: the gateway reads it
    /// on its first call, so functions that never call Stripe never touch Secrets Manager.
    pub async fn load() -> Result<Self, InitError> {
        let settings = Settings::from_env(&ProcessEnv)?;
        let aws = sdk_config(&ProcessEnv, &TlsSettings::from_env(&ProcessEnv)?)?;
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let customers =
            DynamoCustomerStore::new(dynamodb.clone(), settings.customers_table.clone());
        let events = DynamoEventLog::new(dynamodb, settings.webhook_events_table.clone());
        // One Stripe client (and one secret read) serves every Stripe port.
        let stripe = Arc::new(StripeGateway::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            settings.stripe_secret_id.clone(),
            settings.stripe_api_base.clone(),
            settings.stripe_test_clocks,
        ));
        let plans = PlanCatalogue::new(stripe.clone(), settings.plans.clone());
        Ok(Self {
            settings,
            customers: Arc::new(customers),
            payments: stripe.clone(),
            subscriptions: stripe.clone(),
            invoices: stripe.clone(),
            plans: Arc::new(plans),
            events: Arc::new(events),
            signing: stripe,
        })
    }

    /// The ports the subscription use cases take, at the request's time.
    pub fn subscription_ports(&self, now: OffsetDateTime) -> SubscriptionPorts<'_> {
        SubscriptionPorts {
            customers: self.customers.as_ref(),
            stripe: self.subscriptions.as_ref(),
            plans: self.plans.as_ref(),
            now,
        }
    }

    /// The ports the webhook handler takes, at the delivery's time.
    pub fn webhook_ports(&self, now: OffsetDateTime) -> WebhookPorts<'_> {
        WebhookPorts {
            events: self.events.as_ref(),
            subscriptions: self.subscription_ports(now),
        }
    }
}
