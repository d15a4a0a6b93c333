//! An in-memory payment provider with Stripe's idempotency semantics, and failure switches.

use crate::domain::{IdempotencyKey, OrgId, PaymentMethodId, StripeCustomerId};
use crate::stripe::{Card, GatewayError, PaymentGateway, SetupIntentCreated};
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
    /// request key → the SetupIntent made for it (its `metadata.billing_request_key`).
    pub setup_intents: Mutex<HashMap<String, SetupIntentCreated>>,
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
        idempotency_key: &IdempotencyKey,
    ) -> Result<StripeCustomerId, GatewayError> {
        self.maybe_fail()?;
        self.create_calls.fetch_add(1, Ordering::SeqCst);
        let mut keys = self.keys.lock().unwrap();
        if let Some(id) = keys.get(idempotency_key.as_str()) {
            return Ok(id.clone());
        }
        let mut customers = self.customers.lock().unwrap();
        let list = customers.entry(org_id.to_string()).or_default();
        let id = StripeCustomerId::parse(format!("cus_{}_{}", org_id, list.len() + 1)).unwrap();
        list.push(id.clone());
        keys.insert(idempotency_key.to_string(), id.clone());
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
        _idempotency_key: &IdempotencyKey,
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
        _idempotency_key: &IdempotencyKey,
    ) -> Result<(), GatewayError> {
        self.maybe_fail()?;
        let mut cards = self.cards.lock().unwrap();
        if !cards.iter().any(|(_, id)| id == payment_method) {
            // Stripe: detaching a card attached to nobody is refused.
            return Err(GatewayError::Rejected {
                status: 400,
                code: "payment_method_unexpected_state".into(),
            });
        }
        cards.retain(|(_, id)| id != payment_method);
        drop(cards);
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
        request_key: &IdempotencyKey,
        _idempotency_key: &IdempotencyKey,
    ) -> Result<SetupIntentCreated, GatewayError> {
        self.maybe_fail()?;
        let mut intents = self.setup_intents.lock().unwrap();
        let id = format!("seti_{customer}_{}", intents.len() + 1);
        let intent = SetupIntentCreated {
            client_secret: format!("{id}_secret_x"),
            id,
        };
        intents.insert(request_key.to_string(), intent.clone());
        Ok(intent)
    }

    async fn find_setup_intent(
        &self,
        _customer: &StripeCustomerId,
        request_key: &IdempotencyKey,
    ) -> Result<Option<SetupIntentCreated>, GatewayError> {
        self.maybe_fail()?;
        Ok(self
            .setup_intents
            .lock()
            .unwrap()
            .get(request_key.as_str())
            .cloned())
    }

    async fn create_portal_session(
        &self,
        customer: &StripeCustomerId,
        return_url: &Url,
        _idempotency_key: &IdempotencyKey,
    ) -> Result<Url, GatewayError> {
        self.maybe_fail()?;
        Ok(Url::parse(&format!(
            "https://billing.stripe.test/p/{customer}?return={return_url}"
        ))
        .unwrap())
    }
}
