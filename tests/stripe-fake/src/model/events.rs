//! Turns state changes into Stripe `event` objects and the webhook deliveries they cause.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::ids;
use super::store::Store;
use super::versions;
use crate::API_VERSION;

/// What caused an event: an API request, or nothing (automatic events such as a 3D Secure
/// challenge completing, whose `request.id` is null).
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    pub request_id: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

struct Change {
    event_type: &'static str,
    object: Value,
    previous_attributes: Option<Value>,
}

/// The events one request causes, collected while the store is locked.
#[derive(Default)]
pub struct Changes {
    pending: Vec<Change>,
}

impl Changes {
    pub fn created(&mut self, event_type: &'static str, object: &Value) {
        self.push(event_type, object, None);
    }

    /// Records `*.updated` with the old values of changed fields; an update that changes nothing
    /// produces no event.
    pub fn updated(&mut self, event_type: &'static str, before: &Value, after: &Value) {
        if let Some(previous) = previous_attributes(before, after) {
            self.push(event_type, after, Some(previous));
        }
    }

    /// A state event with the object as it is now (`setup_intent.succeeded`,
    /// `payment_method.attached`).
    pub fn event(&mut self, event_type: &'static str, object: &Value) {
        self.push(event_type, object, None);
    }

    pub fn deleted(&mut self, event_type: &'static str, object: &Value) {
        self.push(event_type, object, None);
    }

    fn push(
        &mut self,
        event_type: &'static str,
        object: &Value,
        previous_attributes: Option<Value>,
    ) {
        self.pending.push(Change {
            event_type,
            object: object.clone(),
            previous_attributes,
        });
    }
}

/// Old values of what changed between two versions of an object. Hashes recurse so only changed
/// keys appear (a key that did not exist before shows as null); arrays, lists and scalars appear
/// whole.
pub fn previous_attributes(before: &Value, after: &Value) -> Option<Value> {
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let mut changed = Map::new();
            for key in old
                .keys()
                .chain(new.keys().filter(|k| !old.contains_key(*k)))
            {
                let (old_value, new_value) = (old.get(key), new.get(key));
                if old_value == new_value {
                    continue;
                }
                let previous = match (old_value, new_value) {
                    // Lists (a subscription's `items`) appear whole, like arrays.
                    (Some(o @ Value::Object(_)), Some(n @ Value::Object(_)))
                        if o["object"] != "list" =>
                    {
                        previous_attributes(o, n)
                    }
                    (Some(o), _) => Some(o.clone()),
                    (None, _) => Some(Value::Null),
                };
                if let Some(previous) = previous {
                    changed.insert(key.clone(), previous);
                }
            }
            (!changed.is_empty()).then_some(Value::Object(changed))
        }
        _ => (before != after).then(|| before.clone()),
    }
}

/// One event to POST to one endpoint.
#[derive(Debug)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub payload: Arc<str>,
    pub endpoint_id: String,
    pub url: String,
    pub secret: String,
}

fn subscribed(endpoint: &Value, event_type: &str) -> bool {
    endpoint["status"] == "enabled"
        && endpoint["enabled_events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e == "*" || e == event_type))
}

/// An endpoint an event goes to: id, URL and, when it is not the fake's, its API version.
struct Target {
    id: String,
    url: String,
    version: Option<String>,
}

/// Stores an event per change and returns the deliveries to make; an endpoint pinned to another
/// API version gets the event rendered in that version (`versions::render`).
pub fn record(store: &mut Store, changes: Changes, origin: Origin<'_>, now: i64) -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    for change in changes.pending {
        let endpoints: Vec<Target> = store
            .webhook_endpoints
            .oldest_first()
            .filter(|endpoint| subscribed(endpoint, change.event_type))
            .filter_map(|endpoint| {
                Some(Target {
                    id: endpoint["id"].as_str()?.to_owned(),
                    url: endpoint["url"].as_str()?.to_owned(),
                    version: endpoint["api_version"]
                        .as_str()
                        .filter(|v| *v != API_VERSION)
                        .map(str::to_owned),
                })
            })
            .collect();
        let mut data = json!({ "object": change.object });
        if let Some(previous) = change.previous_attributes {
            data["previous_attributes"] = previous;
        }
        let event = json!({
            "id": ids::generate("evt", ids::LONG),
            "object": "event",
            "api_version": API_VERSION,
            "created": now,
            "data": data,
            "livemode": false,
            "pending_webhooks": endpoints.len(),
            "request": { "id": origin.request_id, "idempotency_key": origin.idempotency_key },
            "type": change.event_type,
        });
        let event_id = event["id"].as_str().unwrap_or_default().to_owned();
        let payload: Arc<str> = Arc::from(event.to_string());
        for target in endpoints {
            let Some(secret) = store.webhook_secrets.get(&target.id) else {
                continue;
            };
            let payload = match &target.version {
                None => Arc::clone(&payload),
                Some(version) => Arc::from(versions::render(store, &event, version).to_string()),
            };
            deliveries.push(Delivery {
                event_id: event_id.clone(),
                event_type: change.event_type.to_owned(),
                payload,
                secret: secret.clone(),
                endpoint_id: target.id,
                url: target.url,
            });
        }
        store.events.insert(event);
    }
    deliveries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_attributes_hold_old_values_of_changed_fields() {
        let before = json!({"email": "a", "name": "n", "metadata": {"k": "1", "gone": "x"},
                            "invoice_settings": {"default_payment_method": null, "footer": null},
                            "preferred_locales": ["en"]});
        let after = json!({"email": "b", "name": "n", "metadata": {"k": "1", "new": "y"},
                           "invoice_settings": {"default_payment_method": "pm_1", "footer": null},
                           "preferred_locales": ["en", "fr"]});
        assert_eq!(
            previous_attributes(&before, &after),
            Some(json!({"email": "a", "metadata": {"gone": "x", "new": null},
                        "invoice_settings": {"default_payment_method": null},
                        "preferred_locales": ["en"]}))
        );
        assert_eq!(previous_attributes(&before, &before), None);
    }

    #[test]
    fn subscription_matches_star_or_type_when_enabled() {
        let endpoint = json!({"status": "enabled", "enabled_events": ["customer.created"]});
        assert!(subscribed(&endpoint, "customer.created"));
        assert!(!subscribed(&endpoint, "customer.updated"));
        assert!(subscribed(
            &json!({"status": "enabled", "enabled_events": ["*"]}),
            "x"
        ));
        assert!(!subscribed(
            &json!({"status": "disabled", "enabled_events": ["*"]}),
            "x"
        ));
    }
}
