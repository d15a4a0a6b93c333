//! The org's one Stripe customer: read it, or create it exactly once.

use crate::domain::{IdempotencyKey, OrgId};
use crate::error::BillingError;
#[cfg(test)]
use crate::store::StoreError;
use crate::store::{CustomerRecord, CustomerStore, InsertOutcome};
use crate::stripe::PaymentGateway;
use time::OffsetDateTime;

/// The org's billing customer, or `customer_not_found`.
pub async fn get_customer(
    store: &dyn CustomerStore,
    org_id: &OrgId,
) -> Result<CustomerRecord, BillingError> {
    store
        .get(org_id)
        .await?
        .ok_or(BillingError::CustomerNotFound)
}

/// Whether [`ensure_customer`] made the link or found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    Created(CustomerRecord),
    Existing(CustomerRecord),
}

impl Ensured {
    /// The org's record, however it came about.
    pub fn into_record(self) -> CustomerRecord {
        match self {
            Self::Created(record) | Self::Existing(record) => record,
        }
    }
}

/// Returns the org's Stripe customer, creating it (once) if the org has none.
///
/// Never creates a second customer for an org:
/// - concurrent first calls send the same idempotency key, so Stripe creates one customer and
///   replays it to the others; the conditional put lets exactly one record in, and the losers
///   read the winner's;
/// - if a run dies between the Stripe create and the put, a retry within 24 h gets the same
///   customer back from the idempotency key, and a later retry finds it with search (indexed
///   within about a minute) before creating anything.
///
/// After the customer was deleted in Stripe (a tombstone, see `customer.deleted`), the same
/// holds for the replacement, which keeps the org's subscription-start counter.
pub async fn ensure_customer(
    store: &dyn CustomerStore,
    gateway: &dyn PaymentGateway,
    org_id: &OrgId,
    now: OffsetDateTime,
) -> Result<Ensured, BillingError> {
    let tombstone = match store.load(org_id).await? {
        Some(existing) if existing.is_linked() => return Ok(Ensured::Existing(existing)),
        other => other,
    };
    let replacing = tombstone.as_ref().map(|t| &t.stripe_customer_id);
    let stripe_customer_id = match gateway.find_customer_for_org(org_id, replacing).await? {
        Some(orphan) => {
            tracing::warn!(%org_id, customer = %orphan, "re-linking a Stripe customer left by an interrupted run");
            orphan
        }
        None => {
            gateway
                .create_customer(
                    org_id,
                    &IdempotencyKey::customer_creation(org_id, replacing),
                )
                .await?
        }
    };
    let record = CustomerRecord {
        org_id: org_id.clone(),
        stripe_customer_id,
        created_at: now,
        updated_at: now,
        subscription_starts: tombstone.as_ref().map_or(0, |t| t.subscription_starts),
        subscription: None,
        unlinked_at: None,
    };
    let outcome = match replacing {
        None => store.insert_new(&record).await?,
        Some(deleted) => store.relink(&record, deleted).await?,
    };
    match outcome {
        InsertOutcome::Inserted => Ok(Ensured::Created(record)),
        InsertOutcome::AlreadyExists => {
            let winner = store.get(org_id).await?.ok_or_else(|| {
                BillingError::Internal("record vanished after a conditional-put conflict".into())
            })?;
            if winner.stripe_customer_id != record.stripe_customer_id {
                tracing::error!(%org_id, kept = %winner.stripe_customer_id, orphan = %record.stripe_customer_id,
                    "two Stripe customers for one org; the stored one is kept");
            }
            Ok(Ensured::Existing(winner))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::StripeCustomerId;
    use crate::store::InMemoryCustomerStore;
    use crate::testing::FakeGateway;
    use async_trait::async_trait;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap()
    }

    #[tokio::test]
    async fn ensure_twice_returns_the_same_customer() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        let first = ensure_customer(&store, &gateway, &org("o1"), now())
            .await
            .unwrap();
        let second = ensure_customer(&store, &gateway, &org("o1"), now())
            .await
            .unwrap();
        let Ensured::Created(created) = first else {
            panic!("first call must create")
        };
        assert_eq!(second, Ensured::Existing(created));
        assert_eq!(gateway.customers_for("o1"), 1);
    }

    #[tokio::test]
    async fn a_stored_customer_needs_no_stripe_call() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        ensure_customer(&store, &gateway, &org("o1"), now())
            .await
            .unwrap();
        gateway.fail_next.store(100, Ordering::SeqCst);
        assert!(
            ensure_customer(&store, &gateway, &org("o1"), now())
                .await
                .is_ok()
        );
        assert!(get_customer(&store, &org("o1")).await.is_ok());
    }

    #[tokio::test]
    async fn get_without_a_record_is_customer_not_found() {
        let store = InMemoryCustomerStore::default();
        let error = get_customer(&store, &org("nobody")).await.unwrap_err();
        assert!(matches!(error, BillingError::CustomerNotFound));
    }

    #[tokio::test]
    async fn concurrent_first_calls_create_one_customer_and_one_record() {
        let store = Arc::new(InMemoryCustomerStore::default());
        let gateway = Arc::new(FakeGateway::default());
        let calls = (0..50).map(|_| {
            let (store, gateway) = (store.clone(), gateway.clone());
            tokio::spawn(async move {
                ensure_customer(store.as_ref(), gateway.as_ref(), &org("race"), now()).await
            })
        });
        let mut created = 0;
        let mut ids = std::collections::HashSet::new();
        for call in calls {
            match call.await.unwrap().unwrap() {
                Ensured::Created(r) => {
                    created += 1;
                    ids.insert(r.stripe_customer_id);
                }
                Ensured::Existing(r) => {
                    ids.insert(r.stripe_customer_id);
                }
            }
        }
        assert_eq!(created, 1);
        assert_eq!(ids.len(), 1);
        assert_eq!(gateway.customers_for("race"), 1);
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn a_relink_uses_a_new_creation_key_and_concurrent_relinks_make_one_customer() {
        let store = Arc::new(InMemoryCustomerStore::default());
        let gateway = Arc::new(FakeGateway::default());
        let Ensured::Created(first) =
            ensure_customer(store.as_ref(), gateway.as_ref(), &org("o1"), now())
                .await
                .unwrap()
        else {
            panic!("created")
        };
        assert!(
            store
                .unlink(&org("o1"), &first.stripe_customer_id, now())
                .await
                .unwrap()
        );
        let racers = (0..8).map(|_| {
            let (store, gateway) = (store.clone(), gateway.clone());
            tokio::spawn(async move {
                ensure_customer(store.as_ref(), gateway.as_ref(), &org("o1"), now()).await
            })
        });
        let mut linked = std::collections::HashSet::new();
        for racer in racers {
            let (Ensured::Created(r) | Ensured::Existing(r)) = racer.await.unwrap().unwrap();
            linked.insert(r.stripe_customer_id);
        }
        assert_eq!(linked.len(), 1);
        assert!(!linked.contains(&first.stripe_customer_id));
        assert_eq!(
            gateway.customers_for("o1"),
            2,
            "the deleted one and its replacement"
        );
        assert_eq!(
            IdempotencyKey::customer_creation(&org("o1"), Some(&first.stripe_customer_id)).as_str(),
            format!("billing-customer:o1:after:{}", first.stripe_customer_id)
        );
    }

    /// A store whose first insert fails after Stripe already created the customer.
    struct FailingFirstInsert {
        inner: InMemoryCustomerStore,
        failed: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl CustomerStore for FailingFirstInsert {
        async fn load(&self, org_id: &OrgId) -> Result<Option<CustomerRecord>, StoreError> {
            self.inner.load(org_id).await
        }
        async fn relink(
            &self,
            record: &CustomerRecord,
            deleted: &StripeCustomerId,
        ) -> Result<InsertOutcome, StoreError> {
            self.inner.relink(record, deleted).await
        }
        async fn unlink(
            &self,
            org_id: &OrgId,
            customer: &StripeCustomerId,
            at: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            self.inner.unlink(org_id, customer, at).await
        }
        async fn insert_new(&self, record: &CustomerRecord) -> Result<InsertOutcome, StoreError> {
            if !self.failed.swap(true, Ordering::SeqCst) {
                return Err(StoreError::Unavailable("throttled".into()));
            }
            self.inner.insert_new(record).await
        }
        async fn save_subscription(
            &self,
            org_id: &OrgId,
            snapshot: &crate::store::SubscriptionSnapshot,
            started_from: Option<u32>,
        ) -> Result<(), StoreError> {
            self.inner
                .save_subscription(org_id, snapshot, started_from)
                .await
        }
        async fn find_org(
            &self,
            customer: &crate::domain::StripeCustomerId,
        ) -> Result<Option<OrgId>, StoreError> {
            self.inner.find_org(customer).await
        }
    }

    #[tokio::test]
    async fn a_failed_put_after_the_stripe_create_does_not_duplicate_on_retry() {
        let store = FailingFirstInsert {
            inner: Default::default(),
            failed: Default::default(),
        };
        let gateway = FakeGateway::default();
        let error = ensure_customer(&store, &gateway, &org("o1"), now())
            .await
            .unwrap_err();
        assert!(matches!(error, BillingError::StoreUnavailable(_)));
        assert_eq!(gateway.customers_for("o1"), 1);

        let retried = ensure_customer(&store, &gateway, &org("o1"), now())
            .await
            .unwrap();
        assert!(matches!(retried, Ensured::Created(_)));
        assert_eq!(
            gateway.customers_for("o1"),
            1,
            "the idempotency key replays the first customer"
        );
    }

    #[tokio::test]
    async fn an_orphan_older_than_the_idempotency_window_is_found_by_search() {
        let store = FailingFirstInsert {
            inner: Default::default(),
            failed: Default::default(),
        };
        let gateway = FakeGateway::default();
        ensure_customer(&store, &gateway, &org("o1"), now())
            .await
            .unwrap_err();
        // A day later: Stripe has pruned the key, and search has long indexed the customer.
        gateway.forget_idempotency_keys();
        gateway.index_everything();

        let retried = ensure_customer(&store, &gateway, &org("o1"), now())
            .await
            .unwrap();
        let Ensured::Created(record) = retried else {
            panic!("the retry links the orphan")
        };
        assert_eq!(record.stripe_customer_id.as_str(), "cus_o1_1");
        assert_eq!(gateway.customers_for("o1"), 1);
    }

    #[tokio::test]
    async fn stripe_outage_is_stripe_unavailable_and_writes_nothing() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        gateway.fail_next.store(1, Ordering::SeqCst);
        let error = ensure_customer(&store, &gateway, &org("o1"), now())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "stripe_unavailable");
        assert!(store.is_empty());
    }
}
