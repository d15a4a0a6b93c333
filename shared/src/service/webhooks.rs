//! Stripe webhooks: verified, deduplicated, order-safe sync of the subscription copy.
//!
//! Order-safety by re-fetching: an event only says *that* the org's subscription changed; the
//! handler reads the current state from Stripe and stores it (newer-wins on the fetch time).
//! An old event delivered late therefore writes today's state, never yesterday's, and events in
//! any order, any number of times, leave the record equal to Stripe.

use super::subscriptions::{catalogue, pending_of, remember};
use crate::app::App;
use crate::domain::StripeCustomerId;
use crate::error::BillingError;
use serde::Deserialize;
use serde_json::Value;

/// What the handler needs of a verified event.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    pub data: WebhookEventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEventData {
    pub object: Value,
}

impl WebhookEvent {
    /// The Stripe customer the event's object belongs to.
    fn customer(&self) -> Option<StripeCustomerId> {
        let object = &self.data.object;
        let id = match object.get("object").and_then(Value::as_str) {
            Some("customer") => object.get("id"),
            _ => object.get("customer"),
        };
        // `customer` may be expanded into an object.
        let id = id.and_then(|v| v.as_str().or_else(|| v.get("id").and_then(Value::as_str)))?;
        StripeCustomerId::parse(id).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied,
    Duplicate,
    /// Acknowledged without a change: an unhandled type or a customer no org is linked to.
    Ignored,
}

impl WebhookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
        }
    }
}

/// Events that change what the org's subscription copy shows.
fn changes_subscription(event_type: &str) -> bool {
    event_type.starts_with("customer.subscription.")
        || event_type.starts_with("subscription_schedule.")
        || matches!(
            event_type,
            "invoice.paid" | "invoice.payment_failed" | "invoice.payment_succeeded"
        )
}

/// Applies one verified event. Errors leave the event unrecorded, so Stripe's retry applies it.
pub async fn handle_event(app: &App, event: &WebhookEvent) -> Result<WebhookOutcome, BillingError> {
    if app.events.is_processed(&event.id).await? {
        return Ok(WebhookOutcome::Duplicate);
    }
    let outcome = match event.event_type.as_str() {
        "customer.deleted" => unlink_customer(app, event).await?,
        other if changes_subscription(other) => sync_subscription(app, event).await?,
        other => {
            // Includes `customer.updated`: payment methods and the default are always read
            // from Stripe, so there is no copy to refresh.
            tracing::debug!(event_type = other, "unhandled event type");
            WebhookOutcome::Ignored
        }
    };
    app.events
        .mark_processed(&event.id, &event.event_type)
        .await?;
    Ok(outcome)
}

/// A deleted Stripe customer is final, so the event itself is the truth (no re-fetch): the
/// org's record becomes a tombstone, reads answer "no customer", and the next ensure links a
/// new one. A record already linked to another customer is left alone.
async fn unlink_customer(app: &App, event: &WebhookEvent) -> Result<WebhookOutcome, BillingError> {
    let Some(customer) = event.customer() else {
        tracing::warn!(event_id = %event.id, "customer.deleted without a customer id");
        return Ok(WebhookOutcome::Ignored);
    };
    let Some(org_id) = app.customers.find_org(&customer).await? else {
        tracing::info!(event_id = %event.id, %customer, "deleted customer no org is linked to");
        return Ok(WebhookOutcome::Ignored);
    };
    let now = time::OffsetDateTime::now_utc();
    if app.customers.unlink(&org_id, &customer, now).await? {
        tracing::warn!(%org_id, %customer, "Stripe customer deleted; org unlinked");
        Ok(WebhookOutcome::Applied)
    } else {
        Ok(WebhookOutcome::Ignored)
    }
}

async fn sync_subscription(
    app: &App,
    event: &WebhookEvent,
) -> Result<WebhookOutcome, BillingError> {
    let Some(customer) = event.customer() else {
        tracing::warn!(event_id = %event.id, "event without a customer");
        return Ok(WebhookOutcome::Ignored);
    };
    let Some(org_id) = app.customers.find_org(&customer).await? else {
        tracing::info!(event_id = %event.id, %customer, "event for a customer no org is linked to");
        return Ok(WebhookOutcome::Ignored);
    };
    let Some(state) = app.subscriptions.latest_subscription(&customer).await? else {
        return Ok(WebhookOutcome::Ignored);
    };
    let (pending, catalogue) = tokio::try_join!(pending_of(app, &state), catalogue(app))?;
    remember(app, &org_id, &state, pending.as_ref(), &catalogue, None).await?;
    Ok(WebhookOutcome::Applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::domain::OrgId;
    use crate::service::fakes::{FakeGateway, FakeSubscriptions};
    use crate::service::{Ensured, ensure_customer};
    use crate::store::{CustomerStore, InMemoryCustomerStore, InMemoryEventLog};
    use serde_json::json;
    use std::sync::Arc;

    fn app(subscriptions: Arc<FakeSubscriptions>, store: Arc<InMemoryCustomerStore>) -> App {
        let env = [
            ("APP_PUBLIC_URL", "https://app.example.com"),
            ("BILLING_CUSTOMERS_TABLE", "t"),
            ("WEBHOOK_EVENTS_TABLE", "e"),
            ("STRIPE_SECRET_ID", "s"),
        ];
        App {
            settings: Settings::from_env(&env).unwrap(),
            customers: store,
            payments: Arc::new(FakeGateway::default()),
            subscriptions,
            plan_catalogue: Default::default(),
            events: Arc::new(InMemoryEventLog::default()),
            signing: Arc::new(crate::app::FixedSigningSecret(None)),
        }
    }

    fn event(id: &str, event_type: &str, customer: &str) -> WebhookEvent {
        serde_json::from_value(json!({
            "id": id, "type": event_type, "created": 1,
            "data": {"object": {"object": "subscription", "id": "sub_1", "customer": customer}}
        }))
        .unwrap()
    }

    async fn linked_org(app: &App) -> (OrgId, StripeCustomerId) {
        let org = OrgId::parse("org_1").unwrap();
        let now = time::OffsetDateTime::now_utc();
        let Ensured::Created(record) =
            ensure_customer(app.customers.as_ref(), app.payments.as_ref(), &org, now)
                .await
                .unwrap()
        else {
            panic!("created")
        };
        (org, record.stripe_customer_id)
    }

    #[tokio::test]
    async fn a_subscription_event_stores_stripes_current_state_once() {
        let subscriptions = Arc::new(FakeSubscriptions::default());
        let store = Arc::new(InMemoryCustomerStore::default());
        let app = app(subscriptions.clone(), store.clone());
        let (org, customer) = linked_org(&app).await;
        subscriptions.add_active(&customer);
        let updated = event("evt_1", "customer.subscription.updated", customer.as_str());
        assert_eq!(
            handle_event(&app, &updated).await.unwrap(),
            WebhookOutcome::Applied
        );
        assert_eq!(
            handle_event(&app, &updated).await.unwrap(),
            WebhookOutcome::Duplicate
        );
        let stored = store
            .get(&org)
            .await
            .unwrap()
            .unwrap()
            .subscription
            .unwrap();
        assert_eq!(
            (stored.id.as_str(), stored.status.as_str()),
            ("sub_1", "active")
        );
    }

    #[tokio::test]
    async fn a_late_old_event_still_leaves_the_current_state() {
        let subscriptions = Arc::new(FakeSubscriptions::default());
        let store = Arc::new(InMemoryCustomerStore::default());
        let app = app(subscriptions.clone(), store.clone());
        let (org, customer) = linked_org(&app).await;
        subscriptions.add_active(&customer);
        handle_event(
            &app,
            &event(
                "evt_new",
                "customer.subscription.updated",
                customer.as_str(),
            ),
        )
        .await
        .unwrap();
        subscriptions.end_all();
        // The "created" event arrives last, after the subscription has since been canceled.
        handle_event(
            &app,
            &event(
                "evt_old",
                "customer.subscription.created",
                customer.as_str(),
            ),
        )
        .await
        .unwrap();
        let stored = store
            .get(&org)
            .await
            .unwrap()
            .unwrap()
            .subscription
            .unwrap();
        assert_eq!(stored.status, "canceled");
    }

    #[tokio::test]
    async fn unknown_customers_and_unhandled_types_are_acknowledged() {
        let app = app(
            Arc::new(FakeSubscriptions::default()),
            Arc::new(InMemoryCustomerStore::default()),
        );
        let stranger = event("evt_2", "customer.subscription.updated", "cus_Nobody");
        assert_eq!(
            handle_event(&app, &stranger).await.unwrap(),
            WebhookOutcome::Ignored
        );
        let other = event("evt_3", "charge.refunded", "cus_Nobody");
        assert_eq!(
            handle_event(&app, &other).await.unwrap(),
            WebhookOutcome::Ignored
        );
        assert_eq!(
            handle_event(&app, &other).await.unwrap(),
            WebhookOutcome::Duplicate
        );
    }

    fn customer_deleted(id: &str, customer: &str) -> WebhookEvent {
        serde_json::from_value(json!({
            "id": id, "type": "customer.deleted", "created": 2,
            "data": {"object": {"object": "customer", "id": customer, "deleted": true}}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_deleted_customer_unlinks_the_org_and_the_next_ensure_links_a_new_one() {
        let subscriptions = Arc::new(FakeSubscriptions::default());
        let store = Arc::new(InMemoryCustomerStore::default());
        let app = app(subscriptions.clone(), store.clone());
        let (org, deleted) = linked_org(&app).await;
        subscriptions.add_active(&deleted);
        let sync = event("evt_s", "customer.subscription.updated", deleted.as_str());
        handle_event(&app, &sync).await.unwrap();

        let gone = customer_deleted("evt_d", deleted.as_str());
        assert_eq!(
            handle_event(&app, &gone).await.unwrap(),
            WebhookOutcome::Applied
        );
        assert_eq!(store.get(&org).await.unwrap(), None);
        let tombstone = store.load(&org).await.unwrap().unwrap();
        assert_eq!(
            (
                &tombstone.stripe_customer_id,
                tombstone.subscription.as_ref()
            ),
            (&deleted, None)
        );
        // Later events for the deleted customer find no org.
        let late = event(
            "evt_late",
            "customer.subscription.deleted",
            deleted.as_str(),
        );
        assert_eq!(
            handle_event(&app, &late).await.unwrap(),
            WebhookOutcome::Ignored
        );

        let now = time::OffsetDateTime::now_utc();
        let Ensured::Created(relinked) =
            ensure_customer(app.customers.as_ref(), app.payments.as_ref(), &org, now)
                .await
                .unwrap()
        else {
            panic!("a new customer is linked")
        };
        assert_ne!(relinked.stripe_customer_id, deleted);
        assert!(relinked.is_linked());
        assert_eq!(
            relinked.subscription_starts, tombstone.subscription_starts,
            "start keys must not repeat"
        );
        assert_eq!(store.get(&org).await.unwrap(), Some(relinked.clone()));
        // A redelivered or late deletion of the old customer leaves the new link alone.
        let again = customer_deleted("evt_d2", deleted.as_str());
        assert_eq!(
            handle_event(&app, &again).await.unwrap(),
            WebhookOutcome::Ignored
        );
        assert_eq!(store.get(&org).await.unwrap(), Some(relinked));
    }
}
