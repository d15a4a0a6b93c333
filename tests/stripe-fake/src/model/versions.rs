//! Events rendered for a webhook endpoint pinned to an older API version (SEMANTICS §13
//! "Webhooks and versions": events use the endpoint's `api_version`). The fake speaks endive; for
//! an endpoint on another version it sets the event's `api_version` to that version and, for
//! versions before basil (`2025-03-31`), moves back the fields basil moved (README "Events and
//! webhooks" lists what is and is not transformed). The envelope (`id`, `type`, `created`,
//! `data.object.id`, `data.object.customer`) never changes.

use serde_json::{Map, Value, json};

use super::store::Store;

/// The first version with basil's shapes (subscription periods on items, invoice `parent`).
const BASIL: &str = "2025-03-31";

/// Versions are `YYYY-MM-DD[.name]`; their dates order them.
fn before_basil(version: &str) -> bool {
    version.get(..10).is_some_and(|date| date < BASIL)
}

/// The event as an endpoint on `version` receives it.
pub fn render(store: &Store, event: &Value, version: &str) -> Value {
    let mut event = event.clone();
    event["api_version"] = json!(version);
    if before_basil(version) {
        let data = &mut event["data"];
        if let Some(previous) = data.get("previous_attributes").cloned() {
            data["previous_attributes"] = previous_of(&data["object"], previous);
        }
        pre_basil(store, &mut data["object"]);
    }
    event
}

fn pre_basil(store: &Store, object: &mut Value) {
    match object["object"].as_str() {
        Some("subscription") => subscription(object),
        Some("invoice") => invoice(store, object),
        Some("invoiceitem") => invoice_item(object),
        _ => {}
    }
}

/// `current_period_start/end` back at the top level, off the items (basil moved them, S15).
fn subscription(subscription: &mut Value) {
    let item = &subscription["items"]["data"][0];
    let period = (
        item["current_period_start"].clone(),
        item["current_period_end"].clone(),
    );
    strip_item_periods(&mut subscription["items"]);
    subscription["current_period_start"] = period.0;
    subscription["current_period_end"] = period.1;
}

fn strip_item_periods(items: &mut Value) {
    for item in items["data"].as_array_mut().into_iter().flatten() {
        if let Some(item) = item.as_object_mut() {
            item.remove("current_period_start");
            item.remove("current_period_end");
        }
    }
}

/// `previous_attributes` of a subscription: changed item periods become the top-level ones.
fn previous_of(object: &Value, mut previous: Value) -> Value {
    if object["object"] == "subscription" && previous["items"].is_object() {
        let item = previous["items"]["data"][0].clone();
        for key in ["current_period_start", "current_period_end"] {
            let old = item[key].clone();
            if old != object["items"]["data"][0][key] {
                previous[key] = old;
            }
        }
        strip_item_periods(&mut previous["items"]);
    }
    previous
}

/// Takes `parent` off an object.
fn take_parent(object: &mut Value) -> Value {
    object
        .as_object_mut()
        .and_then(|o| o.remove("parent"))
        .unwrap_or(Value::Null)
}

/// An invoice before basil: top-level `subscription`, `subscription_details`,
/// `subscription_proration_date` instead of `parent` (S17); `payment_intent` (removed with
/// partial payments, S18); lines with top-level `type`, `proration`, `subscription`, … (S17, §6).
fn invoice(store: &Store, invoice: &mut Value) {
    let parent = take_parent(invoice);
    let details = &parent["subscription_details"];
    invoice["subscription"] = details["subscription"].clone();
    invoice["subscription_details"] = if details.is_object() {
        json!({ "metadata": details["metadata"] })
    } else {
        Value::Null
    };
    invoice["subscription_proration_date"] = details["subscription_proration_date"].clone();
    let id = invoice["id"].as_str().unwrap_or_default();
    // A draft has no PaymentIntent yet (the event may be rendered after its finalization).
    let finalized = invoice["status"] != "draft";
    invoice["payment_intent"] = store
        .billing
        .invoice_intents
        .get(id)
        .filter(|_| finalized)
        .map_or(Value::Null, |intent| json!(intent));
    for line in invoice["lines"]["data"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        line_item(line);
    }
}

fn line_item(line: &mut Value) {
    let parent = take_parent(line);
    let kind = parent["type"].as_str().unwrap_or_default();
    let details = &parent[kind];
    let from_item = details["invoice_item"].is_string();
    let mut fields = Map::new();
    fields.insert(
        "type".into(),
        json!(if from_item {
            "invoiceitem"
        } else {
            "subscription"
        }),
    );
    for key in [
        "invoice_item",
        "proration",
        "proration_details",
        "subscription",
        "subscription_item",
    ] {
        fields.insert(key.into(), details.get(key).cloned().unwrap_or(Value::Null));
    }
    if let Some(line) = line.as_object_mut() {
        line.extend(fields);
    }
}

/// An invoice item before basil: top-level `subscription` and `subscription_item` (S17).
fn invoice_item(item: &mut Value) {
    let parent = take_parent(item);
    let details = &parent["subscription_details"];
    item["subscription"] = details["subscription"].clone();
    item["subscription_item"] = details["subscription_item"].clone();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_versions_before_basil_move_fields() {
        assert!(before_basil("2024-06-20"));
        assert!(before_basil("2025-02-24.acacia"));
        assert!(!before_basil("2025-03-31.basil"));
        assert!(!before_basil("2026-09-30.endive"));
    }

    #[test]
    fn subscriptions_get_top_level_periods() {
        let store = Store::default();
        let event = json!({
            "api_version": "2026-09-30.endive",
            "data": {
                "object": {"object": "subscription", "id": "sub_1", "customer": "cus_1",
                           "items": {"data": [{"id": "si_1", "current_period_start": 10,
                                               "current_period_end": 20}]}},
                "previous_attributes": {"items": {"data": [{"id": "si_1",
                    "current_period_start": 0, "current_period_end": 10}]}}
            }
        });
        let old = render(&store, &event, "2024-06-20");
        assert_eq!(old["api_version"], "2024-06-20");
        let object = &old["data"]["object"];
        assert_eq!(
            (
                object["current_period_start"].clone(),
                object["current_period_end"].clone()
            ),
            (json!(10), json!(20))
        );
        assert_eq!(object["items"]["data"][0].get("current_period_end"), None);
        assert_eq!(object["customer"], "cus_1");
        let previous = &old["data"]["previous_attributes"];
        assert_eq!(previous["current_period_start"], 0);
        assert_eq!(
            previous["items"]["data"][0].get("current_period_start"),
            None
        );
        let same = render(&store, &event, "2025-06-30.basil");
        assert_eq!(same["data"], event["data"]);
    }
}
