//! Billing use cases, written against the ports only.

use crate::domain::{OrgId, StripeCustomerId};
use crate::error::BillingError;
use crate::secrets::SecretError;
use crate::store::{CustomerRecord, CustomerStore, InsertOutcome, StoreError};
use crate::stripe::{GatewayError, PaymentGateway};
use time::OffsetDateTime;

pub mod payment_methods;
pub mod subscriptions;
pub mod webhooks;

impl From<StoreError> for BillingError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::StoreUnavailable(Box::new(error)),
            StoreError::Failed(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl From<GatewayError> for BillingError {
    fn from(error: GatewayError) -> Self {
        match &error {
            GatewayError::Unavailable(_) => Self::StripeUnavailable(Box::new(error)),
            GatewayError::Credentials(secret) if secret.is_transient() => {
                Self::StripeUnavailable(Box::new(error))
            }
            GatewayError::Rejected { .. } => Self::StripeRejected(Box::new(error)),
            GatewayError::IdempotencyConflict => Self::IdempotencyConflict,
            GatewayError::Credentials(
                SecretError::Unreadable { .. } | SecretError::Malformed { .. },
            ) => Self::Internal(Box::new(error)),
        }
    }
}

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

/// The idempotency key of an org's customer creation. Derived from the org (and, after a
/// deletion, the deleted customer it replaces) alone, so every attempt for the org — concurrent,
/// retried, or after a crash — is one request to Stripe, and a re-link is a new request rather
/// than a replay of the deleted customer.
pub fn customer_creation_key(org_id: &OrgId, replacing: Option<&StripeCustomerId>) -> String {
    match replacing {
        None => format!("billing-customer:{org_id}"),
        Some(deleted) => format!("billing-customer:{org_id}:after:{deleted}"),
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
                .create_customer(org_id, &customer_creation_key(org_id, replacing))
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
pub(crate) mod fakes {
    //! An in-memory payment provider with Stripe's idempotency semantics, and failure switches.

    pub use super::subscription_fakes::FakeSubscriptions;

    use super::*;
    use crate::domain::{PaymentMethodId, StripeCustomerId};
    use crate::stripe::{Card, SetupIntentCreated};
    use async_trait::async_trait;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
    use url::Url;

    #[derive(Default)]
    pub struct FakeGateway {
        /// org → customers created for it (more than one would be a duplicate).
        pub customers: Mutex<HashMap<String, Vec<StripeCustomerId>>>,
        /// idempotency key → customer, like Stripe's 24 h key store.
        pub keys: Mutex<HashMap<String, StripeCustomerId>>,
        /// customers the search index has caught up with.
        pub searchable: Mutex<Vec<(String, StripeCustomerId)>>,
        pub create_calls: AtomicUsize,
        /// the next N calls fail as unavailable.
        pub fail_next: AtomicU32,
        /// attached cards in attach order, with their customer.
        pub cards: Mutex<Vec<(StripeCustomerId, PaymentMethodId)>>,
        pub defaults: Mutex<HashMap<StripeCustomerId, PaymentMethodId>>,
    }

    impl FakeGateway {
        pub fn customers_for(&self, org: &str) -> usize {
            self.customers.lock().unwrap().get(org).map_or(0, Vec::len)
        }

        pub fn forget_idempotency_keys(&self) {
            self.keys.lock().unwrap().clear();
        }

        pub fn index_everything(&self) {
            let all = self.customers.lock().unwrap().clone();
            let mut searchable = self.searchable.lock().unwrap();
            for (org, ids) in all {
                for id in ids {
                    searchable.push((org.clone(), id));
                }
            }
        }

        pub fn attach(&self, customer: &StripeCustomerId, card: PaymentMethodId) {
            self.cards.lock().unwrap().push((customer.clone(), card));
        }

        pub fn cards_of(&self, org: &str) -> Vec<PaymentMethodId> {
            let customers = self
                .customers
                .lock()
                .unwrap()
                .get(org)
                .cloned()
                .unwrap_or_default();
            let cards = self.cards.lock().unwrap();
            cards
                .iter()
                .filter(|(c, _)| customers.contains(c))
                .map(|(_, id)| id.clone())
                .collect()
        }

        fn maybe_fail(&self) -> Result<(), GatewayError> {
            let left = self.fail_next.load(Ordering::SeqCst);
            if left > 0 {
                self.fail_next.store(left - 1, Ordering::SeqCst);
                return Err(GatewayError::Unavailable("injected".into()));
            }
            Ok(())
        }
    }

    #[async_trait]
    impl PaymentGateway for FakeGateway {
        async fn find_customer_for_org(
            &self,
            org_id: &OrgId,
            excluding: Option<&StripeCustomerId>,
        ) -> Result<Option<StripeCustomerId>, GatewayError> {
            self.maybe_fail()?;
            let searchable = self.searchable.lock().unwrap();
            Ok(searchable
                .iter()
                .find(|(org, id)| org == org_id.as_str() && excluding != Some(id))
                .map(|(_, id)| id.clone()))
        }

        async fn create_customer(
            &self,
            org_id: &OrgId,
            idempotency_key: &str,
        ) -> Result<StripeCustomerId, GatewayError> {
            self.maybe_fail()?;
            self.create_calls.fetch_add(1, Ordering::SeqCst);
            let mut keys = self.keys.lock().unwrap();
            if let Some(id) = keys.get(idempotency_key) {
                return Ok(id.clone());
            }
            let mut customers = self.customers.lock().unwrap();
            let list = customers.entry(org_id.to_string()).or_default();
            let id = StripeCustomerId::parse(format!("cus_{}_{}", org_id, list.len() + 1)).unwrap();
            list.push(id.clone());
            keys.insert(idempotency_key.to_owned(), id.clone());
            Ok(id)
        }

        async fn list_cards(&self, customer: &StripeCustomerId) -> Result<Vec<Card>, GatewayError> {
            self.maybe_fail()?;
            let cards = self.cards.lock().unwrap();
            Ok(cards
                .iter()
                .rev()
                .filter(|(owner, _)| owner == customer)
                .map(|(_, id)| Card {
                    id: id.clone(),
                    brand: "visa".into(),
                    last4: "4242".into(),
                    exp_month: 12,
                    exp_year: 2030,
                })
                .collect())
        }

        async fn default_payment_method(
            &self,
            customer: &StripeCustomerId,
        ) -> Result<Option<PaymentMethodId>, GatewayError> {
            self.maybe_fail()?;
            Ok(self.defaults.lock().unwrap().get(customer).cloned())
        }

        async fn payment_method_owner(
            &self,
            payment_method: &PaymentMethodId,
        ) -> Result<Option<StripeCustomerId>, GatewayError> {
            self.maybe_fail()?;
            let cards = self.cards.lock().unwrap();
            Ok(cards
                .iter()
                .find(|(_, id)| id == payment_method)
                .map(|(owner, _)| owner.clone()))
        }

        async fn set_default_payment_method(
            &self,
            customer: &StripeCustomerId,
            payment_method: &PaymentMethodId,
            _idempotency_key: &str,
        ) -> Result<(), GatewayError> {
            self.maybe_fail()?;
            self.defaults
                .lock()
                .unwrap()
                .insert(customer.clone(), payment_method.clone());
            Ok(())
        }

        async fn detach_payment_method(
            &self,
            payment_method: &PaymentMethodId,
            _idempotency_key: &str,
        ) -> Result<(), GatewayError> {
            self.maybe_fail()?;
            self.cards
                .lock()
                .unwrap()
                .retain(|(_, id)| id != payment_method);
            // Stripe clears a detached default (the fake Stripe's default behaviour).
            self.defaults
                .lock()
                .unwrap()
                .retain(|_, id| id != payment_method);
            Ok(())
        }

        async fn create_setup_intent(
            &self,
            customer: &StripeCustomerId,
            _idempotency_key: &str,
        ) -> Result<SetupIntentCreated, GatewayError> {
            self.maybe_fail()?;
            let id = format!("seti_{customer}");
            Ok(SetupIntentCreated {
                client_secret: format!("{id}_secret_x"),
                id,
            })
        }

        async fn create_portal_session(
            &self,
            customer: &StripeCustomerId,
            return_url: &Url,
            _idempotency_key: &str,
        ) -> Result<Url, GatewayError> {
            self.maybe_fail()?;
            Ok(Url::parse(&format!(
                "https://billing.stripe.test/p/{customer}?return={return_url}"
            ))
            .unwrap())
        }
    }
}

#[cfg(test)]
pub(crate) mod subscription_fakes {
    //! In-memory subscriptions with a three-plan catalogue; enough to drive every branch.

    use crate::domain::{StripeCustomerId, SubscriptionId};
    use crate::stripe::GatewayError;
    use crate::stripe::subscriptions::*;
    use async_trait::async_trait;
    use std::collections::HashMap;
    use std::sync::Mutex;

    pub const PERIOD_START: i64 = 1_780_000_000;
    pub const PERIOD_END: i64 = PERIOD_START + 30 * 86_400;

    #[derive(Default)]
    pub struct FakeSubscriptions {
        pub subscriptions: Mutex<Vec<(StripeCustomerId, SubscriptionState)>>,
        pub keys: Mutex<HashMap<String, SubscriptionId>>,
        pub schedules: Mutex<HashMap<String, PendingChange>>,
        pub released: Mutex<Vec<String>>,
        pub previews: Mutex<Vec<Option<ItemChange>>>,
        /// subscription id → its own default payment method.
        pub defaults: Mutex<HashMap<String, String>>,
    }

    impl FakeSubscriptions {
        /// A billing subscription for `customer`, as if started elsewhere.
        pub fn add_active(&self, customer: &StripeCustomerId) -> SubscriptionId {
            let mut subs = self.subscriptions.lock().unwrap();
            let id = SubscriptionId::parse(format!("sub_{}", subs.len() + 1)).unwrap();
            subs.push((
                customer.clone(),
                SubscriptionState {
                    id: id.clone(),
                    status: "active".into(),
                    item_id: "si_x".into(),
                    price_id: "price_starter".into(),
                    quantity: 1,
                    current_period_start: PERIOD_START,
                    current_period_end: PERIOD_END,
                    cancel_at_period_end: false,
                    schedule_id: None,
                    start_key: None,
                    payment_client_secret: None,
                },
            ));
            id
        }

        pub fn end_all(&self) {
            for (_, s) in self.subscriptions.lock().unwrap().iter_mut() {
                s.status = "canceled".into();
            }
        }

        fn update(
            &self,
            id: &SubscriptionId,
            edit: impl FnOnce(&mut SubscriptionState),
        ) -> Result<SubscriptionState, GatewayError> {
            let mut subs = self.subscriptions.lock().unwrap();
            let (_, state) =
                subs.iter_mut()
                    .find(|(_, s)| &s.id == id)
                    .ok_or(GatewayError::Rejected {
                        status: 404,
                        code: "resource_missing".into(),
                    })?;
            edit(state);
            Ok(state.clone())
        }
    }

    fn price(id: &str, key: &str, amount: i64, interval: &str) -> CatalogPrice {
        CatalogPrice {
            id: id.into(),
            lookup_key: key.into(),
            product_name: key.split('_').next().unwrap_or_default().into(),
            unit_amount: amount,
            currency: "usd".into(),
            interval: interval.into(),
            interval_count: 1,
        }
    }

    #[async_trait]
    impl SubscriptionGateway for FakeSubscriptions {
        async fn catalog_prices(&self, keys: &[String]) -> Result<Vec<CatalogPrice>, GatewayError> {
            Ok([
                price("price_starter", "starter_monthly", 1000, "month"),
                price("price_pro", "pro_monthly", 3000, "month"),
                price("price_pro_yearly", "pro_yearly", 30000, "year"),
            ]
            .into_iter()
            .filter(|p| keys.contains(&p.lookup_key))
            .collect())
        }

        async fn latest_subscription(
            &self,
            customer: &StripeCustomerId,
        ) -> Result<Option<SubscriptionState>, GatewayError> {
            let subs = self.subscriptions.lock().unwrap();
            Ok(subs
                .iter()
                .rev()
                .find(|(c, _)| c == customer)
                .map(|(_, s)| s.clone()))
        }

        async fn create_subscription(
            &self,
            new: NewSubscription<'_>,
            key: &str,
        ) -> Result<SubscriptionState, GatewayError> {
            let mut keys = self.keys.lock().unwrap();
            let mut subs = self.subscriptions.lock().unwrap();
            if let Some(id) = keys.get(key) {
                return Ok(subs.iter().find(|(_, s)| &s.id == id).unwrap().1.clone());
            }
            let id = SubscriptionId::parse(format!("sub_{}", subs.len() + 1)).unwrap();
            let state = SubscriptionState {
                id: id.clone(),
                status: if new.payment_method.is_some() {
                    "active"
                } else {
                    "incomplete"
                }
                .into(),
                item_id: format!("si_{}", subs.len() + 1),
                price_id: new.price_id.into(),
                quantity: new.quantity,
                current_period_start: PERIOD_START,
                current_period_end: PERIOD_END,
                cancel_at_period_end: false,
                schedule_id: None,
                start_key: Some(key.into()),
                payment_client_secret: (!new.charge_now).then(|| "pi_1_secret_x".into()),
            };
            keys.insert(key.into(), id);
            subs.push((new.customer.clone(), state.clone()));
            Ok(state)
        }

        async fn change_item(
            &self,
            id: &SubscriptionId,
            change: &ItemChange,
            _key: &str,
        ) -> Result<SubscriptionState, GatewayError> {
            self.update(id, |s| {
                s.price_id = change.price_id.clone();
                s.quantity = change.quantity;
            })
        }

        async fn pending_change(
            &self,
            schedule_id: &str,
        ) -> Result<Option<PendingChange>, GatewayError> {
            Ok(self.schedules.lock().unwrap().get(schedule_id).cloned())
        }

        async fn schedule_change(
            &self,
            subscription: &SubscriptionState,
            price: &CatalogPrice,
            quantity: i64,
            _key: &str,
        ) -> Result<PendingChange, GatewayError> {
            let schedule = format!("sub_sched_{}", subscription.id);
            let pending = PendingChange {
                price_id: price.id.clone(),
                quantity,
                effective_at: subscription.current_period_end,
            };
            self.schedules
                .lock()
                .unwrap()
                .insert(schedule.clone(), pending.clone());
            self.update(&subscription.id, |s| s.schedule_id = Some(schedule))?;
            Ok(pending)
        }

        async fn release_schedule(
            &self,
            schedule_id: &str,
            _key: &str,
        ) -> Result<(), GatewayError> {
            self.schedules.lock().unwrap().remove(schedule_id);
            self.released.lock().unwrap().push(schedule_id.into());
            for (_, s) in self.subscriptions.lock().unwrap().iter_mut() {
                if s.schedule_id.as_deref() == Some(schedule_id) {
                    s.schedule_id = None;
                }
            }
            Ok(())
        }

        async fn set_cancel_at_period_end(
            &self,
            id: &SubscriptionId,
            cancel: bool,
            _key: &str,
        ) -> Result<SubscriptionState, GatewayError> {
            self.update(id, |s| s.cancel_at_period_end = cancel)
        }

        async fn set_default_payment_method(
            &self,
            id: &SubscriptionId,
            payment_method: &crate::domain::PaymentMethodId,
            _key: &str,
        ) -> Result<(), GatewayError> {
            self.defaults
                .lock()
                .unwrap()
                .insert(id.to_string(), payment_method.to_string());
            Ok(())
        }

        async fn preview_invoice(
            &self,
            _customer: &StripeCustomerId,
            _subscription: &SubscriptionId,
            change: Option<&ItemChange>,
        ) -> Result<InvoicePreview, GatewayError> {
            self.previews.lock().unwrap().push(change.cloned());
            Ok(InvoicePreview {
                currency: "usd".into(),
                subtotal: 2000,
                tax: 0,
                total: 2000,
                amount_due: 2000,
                next_payment_attempt: Some(PERIOD_END),
                lines: vec![PreviewLine {
                    description: Some("Remaining time".into()),
                    amount: 2000,
                    period_start: PERIOD_START,
                    period_end: PERIOD_END,
                    proration: change.is_some(),
                }],
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fakes::FakeGateway;
    use super::*;
    use crate::store::InMemoryCustomerStore;
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
            customer_creation_key(&org("o1"), Some(&first.stripe_customer_id)),
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
