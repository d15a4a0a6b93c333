//! Persistence ports (the org's customer record, the processed-event log) and their records.
//! `dynamo` implements them on DynamoDB; `memory` is the in-memory twin tests use.

use crate::domain::{
    OrgId, PendingChange, PendingPayment, PlanKey, StripeCustomerId, Subscription, SubscriptionId,
    SubscriptionStatus,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

mod dynamo;
#[cfg(test)]
mod memory;

pub use dynamo::{CUSTOMER_INDEX, DynamoCustomerStore, DynamoEventLog};
#[cfg(test)]
pub use memory::{InMemoryCustomerStore, InMemoryEventLog};

/// An organisation's link to its Stripe customer (`billing_customers`, key `org_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub org_id: OrgId,
    pub stripe_customer_id: StripeCustomerId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// How many subscriptions this org has started: part of the start's idempotency key, so
    /// concurrent or retried starts make one subscription, and a later restart a new one.
    #[serde(default)]
    pub subscription_starts: u32,
    /// The synced copy of the org's subscription (Stripe is the source of truth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionSnapshot>,
    /// Set when the Stripe customer was deleted (`customer.deleted`): the record is then a
    /// tombstone that reads as "no customer" and names the customer the next one replaces.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub unlinked_at: Option<OffsetDateTime>,
}

impl CustomerRecord {
    pub fn is_linked(&self) -> bool {
        self.unlinked_at.is_none()
    }
}

/// What the API keeps of the subscription, for reads that should not call Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    pub id: SubscriptionId,
    pub status: SubscriptionStatus,
    pub plan: Option<PlanKey>,
    pub quantity: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    /// The attribute keeps its first name, so records written before stay readable.
    pub pending_plan_change: Option<PendingChange>,
    /// Absent from records written before pending updates were used.
    #[serde(default)]
    pub pending_payment: Option<PendingPayment>,
    /// Unix milliseconds at which the Stripe state this copy reflects was read; older writes
    /// never replace newer. (Milliseconds since 2026-12: two reads within one second were a tie
    /// the later write won. Second values written before are all smaller, so they lose.)
    pub synced_at: i64,
}

impl SubscriptionSnapshot {
    /// The copy of `subscription` as Stripe showed it at `synced_at` (Unix milliseconds).
    pub fn of(subscription: &Subscription, synced_at: i64) -> Self {
        Self {
            id: subscription.id.clone(),
            status: subscription.status,
            plan: subscription.plan.clone(),
            quantity: subscription.quantity,
            current_period_end: subscription.current_period_end,
            cancel_at_period_end: subscription.cancel_at_period_end,
            pending_plan_change: subscription.scheduled_change.clone(),
            pending_payment: subscription.pending_payment.clone(),
            synced_at,
        }
    }
}

/// Result of a create-if-absent write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// Another writer got there first; read theirs.
    AlreadyExists,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, 5xx: worth retrying later.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug or a misconfiguration (wrong table, bad item).
    #[error("store request failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// The stored item as it is, tombstone included.
    async fn load(&self, org_id: &OrgId) -> Result<Option<CustomerRecord>, StoreError>;
    /// The org's linked customer; a tombstone reads as none.
    async fn get(&self, org_id: &OrgId) -> Result<Option<CustomerRecord>, StoreError> {
        Ok(self.load(org_id).await?.filter(CustomerRecord::is_linked))
    }
    /// Writes the record only if the org has none (conditional put).
    async fn insert_new(&self, record: &CustomerRecord) -> Result<InsertOutcome, StoreError>;
    /// Replaces the org's tombstone for `deleted` with a new link (conditional put), so of
    /// concurrent re-links exactly one is stored.
    async fn relink(
        &self,
        record: &CustomerRecord,
        deleted: &StripeCustomerId,
    ) -> Result<InsertOutcome, StoreError>;
    /// Turns the org's record into a tombstone if it still links `customer`; `false` when it
    /// no longer does (already unlinked or linked to another customer).
    async fn unlink(
        &self,
        org_id: &OrgId,
        customer: &StripeCustomerId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Stores the subscription copy unless a newer one (`synced_at`) is already there; with
    /// `started_from`, also moves `subscription_starts` from that value to the next.
    async fn save_subscription(
        &self,
        org_id: &OrgId,
        snapshot: &SubscriptionSnapshot,
        started_from: Option<u32>,
    ) -> Result<(), StoreError>;
    /// The org a Stripe customer is linked to (the `by_stripe_customer_id` index), for
    /// webhooks; tombstones do not count.
    async fn find_org(&self, customer: &StripeCustomerId) -> Result<Option<OrgId>, StoreError>;
}

/// Stripe event ids claimed and processed, so each event is applied by one delivery only, even
/// when copies arrive together.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Claims the event for this delivery (a lease of [`EVENT_CLAIM_LEASE_SECONDS`]): nobody
    /// else holds it and it is not done, or an earlier claim's lease ran out (its delivery died).
    async fn claim(
        &self,
        event_id: &str,
        event_type: &str,
        now: OffsetDateTime,
    ) -> Result<EventClaim, StoreError>;
    /// Marks a claimed event done; the entry expires (TTL) long after Stripe's retry window.
    async fn complete(&self, claim: &ClaimedEvent) -> Result<(), StoreError>;
    /// Gives a claim up after a failure, so Stripe's redelivery applies the event. A claim a
    /// later delivery took over, or an event already done, is left alone.
    async fn release(&self, claim: &ClaimedEvent) -> Result<(), StoreError>;
}

/// What claiming an event found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventClaim {
    /// This delivery holds the event: apply it, then complete or release the claim.
    Claimed(ClaimedEvent),
    /// Applied before: the delivery is a duplicate.
    Done,
    /// Another delivery is applying it right now.
    InProgress,
}

/// A held claim; `claimed_at_ms` tells it apart from a later takeover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedEvent {
    pub event_id: String,
    pub claimed_at_ms: i64,
}

/// Longer than the webhook function's timeout (template.yaml, 25 s): a claim this old belongs to
/// a delivery that can no longer be running, so a redelivery may take it over.
pub const EVENT_CLAIM_LEASE_SECONDS: i64 = 60;

/// Stripe retries for up to 3 days and keeps events 30; ids are kept a little longer.
pub const PROCESSED_EVENT_TTL_SECONDS: i64 = 35 * 24 * 3600;
