//! All API objects, kept as the JSON Stripe would return, in insertion order.

use std::collections::HashMap;

use serde_json::Value;

use crate::cards::TestCard;
use crate::search::SearchIndex;

/// What the fake knows about a payment method beyond its JSON.
#[derive(Debug, Clone, Copy)]
pub struct CardState {
    /// The test card it was made from (decides setup and charge outcomes).
    pub card: &'static TestCard,
    /// Detached payment methods stay stored (retrievable) but can never be attached again.
    pub detached: bool,
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
        if all {
            self.webhook_endpoints.clear();
            self.webhook_secrets.clear();
        }
    }

    /// Finds an object by id for `expand[]`: the id prefix names the collection. Each resource
    /// that an expandable field can point to adds its prefix here.
    pub fn lookup(&self, id: &str) -> Option<&Value> {
        let (prefix, _) = id.split_once('_')?;
        match prefix {
            "cus" => self
                .customers
                .get(id)
                .filter(|c| c.get("deleted").is_none()),
            "pm" => self.payment_methods.get(id),
            "seti" => self.setup_intents.get(id),
            _ => None,
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
