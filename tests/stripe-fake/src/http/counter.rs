//! Counts /v1 requests by route template, for tests that assert how often the product called.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::app::lock;

#[derive(Debug, Default)]
pub struct RequestCounter {
    by_route: Mutex<BTreeMap<String, u64>>,
}

impl RequestCounter {
    pub fn hit(&self, route: &str) {
        *lock(&self.by_route).entry(route.to_owned()).or_default() += 1;
    }

    pub fn snapshot(&self) -> Value {
        let by_route = lock(&self.by_route);
        json!({ "total": by_route.values().sum::<u64>(), "by_route": *by_route })
    }

    pub fn reset(&self) {
        lock(&self.by_route).clear();
    }
}
