//! In-memory twins of the store ports, with the same conditional semantics, for tests and
//! benchmarks.

use super::{
    ClaimedEvent, CustomerRecord, CustomerStore, EVENT_CLAIM_LEASE_SECONDS, EventClaim, EventLog,
    InsertOutcome, StoreError, SubscriptionSnapshot,
};
use crate::domain::{OrgId, StripeCustomerId};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// In-memory event log for tests, with the DynamoDB log's claim semantics.
#[derive(Default)]
pub struct InMemoryEventLog {
    /// Event id → the claim's time while processing, `None` once done.
    entries: Mutex<HashMap<String, Option<i64>>>,
}

#[async_trait]
impl EventLog for InMemoryEventLog {
    async fn claim(
        &self,
        event_id: &str,
        _event_type: &str,
        now: OffsetDateTime,
    ) -> Result<EventClaim, StoreError> {
        let claimed_at_ms =
            i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let mut entries = self.entries.lock().map_err(poisoned)?;
        match entries.get(event_id) {
            Some(None) => return Ok(EventClaim::Done),
            Some(Some(at)) if claimed_at_ms - at < EVENT_CLAIM_LEASE_SECONDS * 1000 => {
                return Ok(EventClaim::InProgress);
            }
            _ => {}
        }
        entries.insert(event_id.to_owned(), Some(claimed_at_ms));
        Ok(EventClaim::Claimed(ClaimedEvent {
            event_id: event_id.to_owned(),
            claimed_at_ms,
        }))
    }

    async fn complete(&self, claim: &ClaimedEvent) -> Result<(), StoreError> {
        self.entries
            .lock()
            .map_err(poisoned)?
            .insert(claim.event_id.clone(), None);
        Ok(())
    }

    async fn release(&self, claim: &ClaimedEvent) -> Result<(), StoreError> {
        let mut entries = self.entries.lock().map_err(poisoned)?;
        if entries.get(&claim.event_id) == Some(&Some(claim.claimed_at_ms)) {
            entries.remove(&claim.event_id);
        }
        Ok(())
    }
}

/// In-memory store with the same create-if-absent semantics, for tests and benchmarks.
#[derive(Default)]
pub struct InMemoryCustomerStore {
    records: Mutex<HashMap<OrgId, CustomerRecord>>,
}

impl InMemoryCustomerStore {
    pub fn len(&self) -> usize {
        self.records.lock().map(|r| r.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Failed("in-memory store lock poisoned".into())
}

#[async_trait]
impl CustomerStore for InMemoryCustomerStore {
    async fn load(&self, org_id: &OrgId) -> Result<Option<CustomerRecord>, StoreError> {
        Ok(self.records.lock().map_err(poisoned)?.get(org_id).cloned())
    }

    async fn relink(
        &self,
        record: &CustomerRecord,
        deleted: &StripeCustomerId,
    ) -> Result<InsertOutcome, StoreError> {
        let mut records = self.records.lock().map_err(poisoned)?;
        match records.get(&record.org_id) {
            Some(old) if !old.is_linked() && &old.stripe_customer_id == deleted => {
                records.insert(record.org_id.clone(), record.clone());
                Ok(InsertOutcome::Inserted)
            }
            _ => Ok(InsertOutcome::AlreadyExists),
        }
    }

    async fn unlink(
        &self,
        org_id: &OrgId,
        customer: &StripeCustomerId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut records = self.records.lock().map_err(poisoned)?;
        match records.get_mut(org_id) {
            Some(record) if record.is_linked() && &record.stripe_customer_id == customer => {
                record.unlinked_at = Some(at);
                record.updated_at = at;
                record.subscription = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn insert_new(&self, record: &CustomerRecord) -> Result<InsertOutcome, StoreError> {
        let mut records = self.records.lock().map_err(poisoned)?;
        if records.contains_key(&record.org_id) {
            return Ok(InsertOutcome::AlreadyExists);
        }
        records.insert(record.org_id.clone(), record.clone());
        Ok(InsertOutcome::Inserted)
    }

    async fn save_subscription(
        &self,
        org_id: &OrgId,
        snapshot: &SubscriptionSnapshot,
        started_from: Option<u32>,
    ) -> Result<(), StoreError> {
        let mut records = self.records.lock().map_err(poisoned)?;
        let Some(record) = records.get_mut(org_id) else {
            return Ok(());
        };
        if record
            .subscription
            .as_ref()
            .is_some_and(|s| s.synced_at > snapshot.synced_at)
        {
            return Ok(());
        }
        if let Some(from) = started_from {
            if record.subscription_starts != from {
                return Ok(());
            }
            record.subscription_starts = from + 1;
        }
        record.subscription = Some(snapshot.clone());
        Ok(())
    }

    async fn find_org(&self, customer: &StripeCustomerId) -> Result<Option<OrgId>, StoreError> {
        let records = self.records.lock().map_err(poisoned)?;
        Ok(records
            .values()
            .find(|r| r.is_linked() && &r.stripe_customer_id == customer)
            .map(|r| r.org_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CustomerRecord {
        let now = OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
        CustomerRecord {
            org_id: OrgId::parse("org_1").unwrap(),
            stripe_customer_id: StripeCustomerId::parse("cus_1").unwrap(),
            created_at: now,
            updated_at: now,
            subscription_starts: 0,
            subscription: None,
            unlinked_at: None,
        }
    }

    #[tokio::test]
    async fn in_memory_store_refuses_a_second_record_for_an_org() {
        let memory = InMemoryCustomerStore::default();
        assert_eq!(
            memory.insert_new(&record()).await.unwrap(),
            InsertOutcome::Inserted
        );
        assert_eq!(
            memory.insert_new(&record()).await.unwrap(),
            InsertOutcome::AlreadyExists
        );
        assert_eq!(memory.len(), 1);
    }
}
