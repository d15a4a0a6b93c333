//! Stripe webhooks: verified, deduplicated, order-safe sync of the subscription copy.
//!
//! Order-safety by re-fetching: an event only says *that* the org's subscription changed; the
//! handler reads the current state from Stripe and stores it (newer-wins on the fetch time).
//! An old event delivered late therefore writes today's state, never yesterday's, and events in
//! any order, any number of times, leave the record equal to Stripe.

use super::subscriptions::{SubscriptionPorts, sync};
use crate::domain::{OrgId, StripeCustomerId};
use crate::error::BillingError;
use crate::store::{EventClaim, EventLog};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

/// What the webhook handler works with: the processed-event log and the subscription ports.
#[derive(Clone, Copy)]
pub struct WebhookPorts<'a> {
    pub events: &'a dyn EventLog,
    pub subscriptions: SubscriptionPorts<'a>,
}

/// What the handler needs of a verified event: Stripe's envelope, the same in every API version
/// (an endpoint renders events in its own version; everything else is re-read from Stripe).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    /// The version `data.object` is rendered in (logged; absent on very old events).
    #[serde(default)]
    pub api_version: Option<String>,
    pub data: WebhookEventData,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEventData {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
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
            "invoice.paid"
                | "invoice.payment_failed"
                | "invoice.payment_succeeded"
                | "invoice.payment_action_required"
                | "invoice.voided"
        )
}

/// Applies one verified event, once: the delivery that claims it applies it; a copy arriving
/// meanwhile gets `EventInProgress` (Stripe retries it and then finds it done). Errors release
/// the claim, so Stripe's retry applies the event.
pub async fn handle_event(
    ports: WebhookPorts<'_>,
    event: &WebhookEvent,
) -> Result<WebhookOutcome, BillingError> {
    let claim = match ports
        .events
        .claim(&event.id, &event.event_type, ports.subscriptions.now)
        .await?
    {
        EventClaim::Claimed(claim) => claim,
        EventClaim::Done => return Ok(WebhookOutcome::Duplicate),
        EventClaim::InProgress => return Err(BillingError::EventInProgress),
    };
    match apply(ports, event).await {
        Ok(outcome) => {
            ports.events.complete(&claim).await?;
            Ok(outcome)
        }
        Err(error) => {
            if let Err(release) = ports.events.release(&claim).await {
                // The lease runs out instead: a redelivery after it takes the claim over.
                tracing::warn!(event_id = %event.id, error = %release, "event claim not released");
            }
            Err(error)
        }
    }
}

async fn apply(
    ports: WebhookPorts<'_>,
    event: &WebhookEvent,
) -> Result<WebhookOutcome, BillingError> {
    Ok(match event.event_type.as_str() {
        "customer.deleted" => unlink_customer(ports, event).await?,
        other if changes_subscription(other) => sync_subscription(ports, event).await?,
        other => {
            // Includes `customer.updated`: payment methods and the default are always read
            // from Stripe, so there is no copy to refresh.
            tracing::debug!(event_type = other, "unhandled event type");
            WebhookOutcome::Ignored
        }
    })
}

/// The event's customer and the org linked to it; `None` (logged) when the event names no
/// customer or no org is linked to it.
async fn linked_org(
    ports: WebhookPorts<'_>,
    event: &WebhookEvent,
) -> Result<Option<(StripeCustomerId, OrgId)>, BillingError> {
    let Some(customer) = event.customer() else {
        tracing::warn!(event_id = %event.id, event_type = %event.event_type, "event without a customer");
        return Ok(None);
    };
    let org_id = ports.subscriptions.customers.find_org(&customer).await?;
    if org_id.is_none() {
        tracing::info!(event_id = %event.id, event_type = %event.event_type, %customer,
            "event for a customer no org is linked to");
    }
    Ok(org_id.map(|org_id| (customer, org_id)))
}

/// A deleted Stripe customer is final, so the event itself is the truth (no re-fetch): the
/// org's record becomes a tombstone, reads answer "no customer", and the next ensure links a
/// new one. A record already linked to another customer is left alone.
async fn unlink_customer(
    ports: WebhookPorts<'_>,
    event: &WebhookEvent,
) -> Result<WebhookOutcome, BillingError> {
    let Some((customer, org_id)) = linked_org(ports, event).await? else {
        return Ok(WebhookOutcome::Ignored);
    };
    if ports
        .subscriptions
        .customers
        .unlink(&org_id, &customer, ports.subscriptions.now)
        .await?
    {
        tracing::warn!(%org_id, %customer, "Stripe customer deleted; org unlinked");
        Ok(WebhookOutcome::Applied)
    } else {
        Ok(WebhookOutcome::Ignored)
    }
}

async fn sync_subscription(
    ports: WebhookPorts<'_>,
    event: &WebhookEvent,
) -> Result<WebhookOutcome, BillingError> {
    let Some((customer, org_id)) = linked_org(ports, event).await? else {
        return Ok(WebhookOutcome::Ignored);
    };
    // The copy is stamped with the moment just before this read: a read started later sees
    // Stripe's state at least as new, so newer-wins orders concurrent deliveries by their reads.
    let ports = SubscriptionPorts {
        now: OffsetDateTime::now_utc(),
        ..ports.subscriptions
    };
    let Some(state) = ports.stripe.latest_subscription(&customer).await? else {
        return Ok(WebhookOutcome::Ignored);
    };
    sync(ports, &org_id, &state).await?;
    Ok(WebhookOutcome::Applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SubscriptionStatus;
    use crate::service::customers::{Ensured, ensure_customer};
    use crate::store::{CustomerStore, EVENT_CLAIM_LEASE_SECONDS};
    use crate::testing::World;
    use serde_json::json;
    use std::sync::atomic::Ordering;
    use time::OffsetDateTime;

    fn event(id: &str, event_type: &str, customer: &str) -> WebhookEvent {
        serde_json::from_value(json!({
            "id": id, "type": event_type, "created": 1,
            "data": {"object": {"object": "subscription", "id": "sub_1", "customer": customer}}
        }))
        .unwrap()
    }

    async fn linked_org(w: &World) -> (OrgId, StripeCustomerId) {
        let org = OrgId::parse("org_1").unwrap();
        let now = time::OffsetDateTime::now_utc();
        let Ensured::Created(record) =
            ensure_customer(w.store.as_ref(), w.gateway.as_ref(), &org, now)
                .await
                .unwrap()
        else {
            panic!("created")
        };
        (org, record.stripe_customer_id)
    }

    #[tokio::test]
    async fn a_subscription_event_stores_stripes_current_state_once() {
        let w = World::new();
        let (subscriptions, store) = (&w.subscriptions, &w.store);
        let (org, customer) = linked_org(&w).await;
        subscriptions.add_active(&customer);
        let updated = event("evt_1", "customer.subscription.updated", customer.as_str());
        assert_eq!(
            handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &updated)
                .await
                .unwrap(),
            WebhookOutcome::Applied
        );
        assert_eq!(
            handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &updated)
                .await
                .unwrap(),
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
    async fn a_copy_arriving_while_the_event_is_applied_is_refused_until_it_is_done() {
        let w = World::new();
        let (_, customer) = linked_org(&w).await;
        w.subscriptions.add_active(&customer);
        let updated = event("evt_1", "customer.subscription.updated", customer.as_str());
        let now = OffsetDateTime::now_utc();
        // Another delivery of the same event holds the claim.
        let EventClaim::Claimed(held) = w.app.events.claim("evt_1", "x", now).await.unwrap() else {
            panic!("claimed")
        };
        let copy = handle_event(w.app.webhook_ports(now), &updated).await;
        assert!(
            matches!(copy, Err(BillingError::EventInProgress)),
            "{copy:?}"
        );
        w.app.events.complete(&held).await.unwrap();
        assert_eq!(
            handle_event(w.app.webhook_ports(now), &updated)
                .await
                .unwrap(),
            WebhookOutcome::Duplicate
        );
    }

    #[tokio::test]
    async fn a_failed_application_releases_the_claim_and_a_dead_ones_lease_runs_out() {
        let w = World::new();
        let (org, customer) = linked_org(&w).await;
        w.subscriptions.add_active(&customer);
        let updated = event("evt_1", "customer.subscription.updated", customer.as_str());
        let now = OffsetDateTime::now_utc();
        w.subscriptions.failing_reads.store(1, Ordering::SeqCst);
        let failed = handle_event(w.app.webhook_ports(now), &updated).await;
        assert!(
            matches!(failed, Err(BillingError::StripeUnavailable(_))),
            "{failed:?}"
        );
        assert!(
            w.store
                .get(&org)
                .await
                .unwrap()
                .unwrap()
                .subscription
                .is_none()
        );
        assert_eq!(
            handle_event(w.app.webhook_ports(now), &updated)
                .await
                .unwrap(),
            WebhookOutcome::Applied,
            "the redelivery applies it"
        );

        // A delivery that died holding its claim: within the lease a copy is refused, after it
        // the copy takes the claim over and applies the event.
        let orphan = event("evt_2", "customer.subscription.updated", customer.as_str());
        w.app.events.claim("evt_2", "x", now).await.unwrap();
        let soon = now + time::Duration::seconds(EVENT_CLAIM_LEASE_SECONDS - 1);
        assert!(matches!(
            handle_event(w.app.webhook_ports(soon), &orphan).await,
            Err(BillingError::EventInProgress)
        ));
        let later = now + time::Duration::seconds(EVENT_CLAIM_LEASE_SECONDS + 1);
        assert_eq!(
            handle_event(w.app.webhook_ports(later), &orphan)
                .await
                .unwrap(),
            WebhookOutcome::Applied
        );
    }

    #[tokio::test]
    async fn a_late_old_event_still_leaves_the_current_state() {
        let w = World::new();
        let (subscriptions, store) = (&w.subscriptions, &w.store);
        let (org, customer) = linked_org(&w).await;
        subscriptions.add_active(&customer);
        handle_event(
            w.app.webhook_ports(OffsetDateTime::now_utc()),
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
            w.app.webhook_ports(OffsetDateTime::now_utc()),
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
        assert_eq!(stored.status, SubscriptionStatus::Canceled);
    }

    #[tokio::test]
    async fn unknown_customers_and_unhandled_types_are_acknowledged() {
        let w = World::new();
        let stranger = event("evt_2", "customer.subscription.updated", "cus_Nobody");
        assert_eq!(
            handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &stranger)
                .await
                .unwrap(),
            WebhookOutcome::Ignored
        );
        let other = event("evt_3", "charge.refunded", "cus_Nobody");
        assert_eq!(
            handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &other)
                .await
                .unwrap(),
            WebhookOutcome::Ignored
        );
        assert_eq!(
            handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &other)
                .await
                .unwrap(),
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
        let w = World::new();
        let (subscriptions, store) = (&w.subscriptions, &w.store);
        let (org, deleted) = linked_org(&w).await;
        subscriptions.add_active(&deleted);
        let sync = event("evt_s", "customer.subscription.updated", deleted.as_str());
        handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &sync)
            .await
            .unwrap();

        let gone = customer_deleted("evt_d", deleted.as_str());
        assert_eq!(
            handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &gone)
                .await
                .unwrap(),
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
            handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &late)
                .await
                .unwrap(),
            WebhookOutcome::Ignored
        );

        let now = time::OffsetDateTime::now_utc();
        let Ensured::Created(relinked) =
            ensure_customer(w.store.as_ref(), w.gateway.as_ref(), &org, now)
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
            handle_event(w.app.webhook_ports(OffsetDateTime::now_utc()), &again)
                .await
                .unwrap(),
            WebhookOutcome::Ignored
        );
        assert_eq!(store.get(&org).await.unwrap(), Some(relinked));
    }
}
