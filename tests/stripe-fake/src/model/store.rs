//! All API objects, kept as the JSON Stripe would return, in insertion order.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::cards::TestCard;
use super::search::SearchIndex;

/// What the fake knows about a payment method beyond its JSON.
#[derive(Debug, Clone, Copy)]
pub struct CardState {
    /// The test card it was made from (decides setup and charge outcomes).
    pub card: &'static TestCard,
    /// Detached payment methods stay stored (retrievable) but can never be attached again.
    pub detached: bool,
    /// Set up for future use by a succeeded SetupIntent (cards that need 3D Secure "unless set
    /// up" then charge without it).
    pub set_up: bool,
}

/// Objects of one type by id, remembering creation order (lists are newest first).
#[derive(Debug, Default)]
pub struct Collection {
    order: Vec<String>,
    by_id: HashMap<String, Value>,
}

impl Collection {
    /// Inserts a new object; its `id` field is the key.
    pub fn insert(&mut self, object: Value) {
        let id = object["id"].as_str().unwrap_or_default().to_owned();
        if self.by_id.insert(id.clone(), object).is_none() {
            self.order.push(id);
        }
    }

    pub fn get(&self, id: &str) -> Option<&Value> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.by_id.get_mut(id)
    }

    pub fn remove(&mut self, id: &str) -> Option<Value> {
        let removed = self.by_id.remove(id);
        if removed.is_some() {
            self.order.retain(|other| other != id);
        }
        removed
    }

    pub fn oldest_first(&self) -> impl DoubleEndedIterator<Item = &Value> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }

    pub fn newest_first(&self) -> impl Iterator<Item = &Value> {
        self.oldest_first().rev()
    }

    pub fn clear(&mut self) {
        self.order.clear();
        self.by_id.clear();
    }
}

#[derive(Debug, Default)]
pub struct Store {
    /// Deleted customers stay, carrying `"deleted": true` (Stripe can still retrieve them).
    pub customers: Collection,
    pub customer_search: SearchIndex,
    pub webhook_endpoints: Collection,
    /// Signing secrets by endpoint id: Stripe shows a secret only in the create response.
    pub webhook_secrets: HashMap<String, String>,
    pub events: Collection,
    /// Every payment method, detached ones included (`customer: null`).
    pub payment_methods: Collection,
    pub cards: HashMap<String, CardState>,
    pub setup_intents: Collection,
    /// Portal sessions: not retrievable through the API, only shown by the fake's portal page.
    pub portal_sessions: Collection,
    /// How long a write takes to become visible to search (real search is not read-after-write).
    pub search_delay_ms: i64,
    pub products: Collection,
    pub prices: Collection,
    pub subscriptions: Collection,
    pub subscription_schedules: Collection,
    /// Invoices as returned (`lines` holds the first page); all lines are in `billing`.
    pub invoices: Collection,
    pub invoice_items: Collection,
    /// The PaymentIntents of finalized invoices with something to charge.
    pub payment_intents: Collection,
    pub test_clocks: Collection,
    pub billing: BillingState,
}

/// What the billing engine knows beyond the JSON Stripe shows.
#[derive(Debug, Default)]
pub struct BillingState {
    /// Every line of each invoice, in invoice order.
    pub invoice_lines: HashMap<String, Vec<Value>>,
    /// Each invoice's PaymentIntent id (Stripe's invoice shows it only through the includable
    /// `confirmation_secret` and `payments` since basil).
    pub invoice_intents: HashMap<String, String>,
    /// Each invoice's default `invoice_payment` (includable `payments`).
    pub invoice_payments: HashMap<String, Value>,
    /// Invoices on the automatic retry schedule: when their first automatic attempt failed.
    pub retries: HashMap<String, i64>,
    /// Pending updates by subscription id (the hash the subscription shows is the public part).
    pub pending_updates: HashMap<String, PendingUpdate>,
    /// Subscriptions whose next payment attempt must fail (control API).
    pub fail_next_payment: HashSet<String>,
    /// Subscriptions whose `customer.subscription.trial_will_end` was sent.
    pub trial_will_end_sent: HashSet<String>,
    /// Per subscription item, what debited its current period (a credit proration's
    /// `proration_details.credited_items`).
    pub item_debits: HashMap<String, Value>,
}

/// A subscription change waiting for its invoice to be paid (`pending_if_incomplete`).
#[derive(Debug, Clone)]
pub struct PendingUpdate {
    pub invoice: String,
    /// The subscription as it will be once the change applies.
    pub after: Value,
    /// What debited each changed item's period (`BillingState::item_debits`), recorded when the
    /// change applies.
    pub debits: Vec<(String, Value)>,
}

impl Store {
    /// Clears the state a test builds up; webhook endpoints survive unless `all`.
    pub fn reset(&mut self, all: bool) {
        self.customers.clear();
        self.customer_search.clear();
        self.events.clear();
        self.payment_methods.clear();
        self.cards.clear();
        self.setup_intents.clear();
        self.portal_sessions.clear();
        self.search_delay_ms = 0;
        self.products.clear();
        self.prices.clear();
        self.subscriptions.clear();
        self.subscription_schedules.clear();
        self.invoices.clear();
        self.invoice_items.clear();
        self.payment_intents.clear();
        self.test_clocks.clear();
        self.billing = BillingState::default();
        if all {
            self.webhook_endpoints.clear();
            self.webhook_secrets.clear();
        }
    }

    /// Finds an object by id for `expand[]`: the id prefix names the collection. Each resource
    /// that an expandable field can point to adds its prefix here.
    pub fn lookup(&self, id: &str) -> Option<&Value> {
        if id.starts_with("sub_sched_") {
            return self.subscription_schedules.get(id);
        }
        let Some((prefix, _)) = id.split_once('_') else {
            return self.products.get(id);
        };
        match prefix {
            "cus" => self
                .customers
                .get(id)
                .filter(|c| c.get("deleted").is_none()),
            "pm" => self.payment_methods.get(id),
            "seti" => self.setup_intents.get(id),
            "prod" => self.products.get(id),
            "price" => self.prices.get(id),
            "sub" => self.subscriptions.get(id),
            "in" => self.invoices.get(id),
            "ii" => self.invoice_items.get(id),
            "pi" => self.payment_intents.get(id),
            "clock" => self.test_clocks.get(id),
            // Products may have custom ids: any other id may name one.
            _ => self.products.get(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collection_keeps_order_and_replaces_in_place() {
        let mut c = Collection::default();
        c.insert(json!({"id": "a", "v": 1}));
        c.insert(json!({"id": "b"}));
        c.insert(json!({"id": "a", "v": 2}));
        let ids: Vec<_> = c.newest_first().map(|o| o["id"].clone()).collect();
        assert_eq!(ids, vec![json!("b"), json!("a")]);
        assert_eq!(c.get("a").map(|o| o["v"].clone()), Some(json!(2)));
        assert!(c.remove("a").is_some());
        assert_eq!(c.oldest_first().count(), 1);
    }
}
