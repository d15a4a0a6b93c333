//! Customers in the store: their JSON, the live/deleted distinction, and the search index that
//! every write goes through.

use serde_json::{Value, json};

use super::error::ApiError;
use super::events::Changes;
use super::ids;
use super::store::Store;

pub const RESOURCE: &str = "customer";

/// A new customer as Stripe returns it (key set of the published fixture, fresh-object values).
pub fn blank(id: &str, created: i64) -> Value {
    json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "discount": null,
        "email": null,
        "invoice_prefix": ids::upper(8),
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": null,
            "footer": null,
            "rendering_options": null
        },
        "livemode": false,
        "metadata": {},
        "name": null,
        "next_invoice_sequence": 1,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null
    })
}

pub fn is_deleted(customer: &Value) -> bool {
    customer.get("deleted").is_some()
}

/// What Stripe shows for a deleted customer (retrieve and the delete response).
pub fn deleted_stub(id: &str) -> Value {
    json!({ "id": id, "object": "customer", "deleted": true })
}

/// A customer that exists and is not deleted (Stripe refuses changes to deleted ones).
pub fn live<'a>(store: &'a Store, id: &str) -> Result<&'a Value, ApiError> {
    store
        .customers
        .get(id)
        .filter(|c| !is_deleted(c))
        .ok_or_else(|| ApiError::no_such(RESOURCE, id))
}

/// [`live`] for a customer named by the `customer` parameter: a 400 naming it, not a 404.
pub fn live_param<'a>(store: &'a Store, id: &str) -> Result<&'a Value, ApiError> {
    live(store, id).map_err(|_| ApiError::no_such_param(RESOURCE, id, "customer"))
}

/// Stores a customer and queues it for the search index at fake time `now_ms`.
pub fn save(store: &mut Store, customer: Value, now_ms: i64) {
    let id = customer["id"].as_str().unwrap_or_default().to_owned();
    let delay = store.search_delay_ms;
    store
        .customer_search
        .record(&id, Some(customer.clone()), now_ms, delay);
    store.customers.insert(customer);
}

/// Marks a live customer deleted: the event carries the whole customer, the store keeps it (Stripe
/// can still retrieve it) and search drops it.
pub fn delete(store: &mut Store, changes: &mut Changes, mut customer: Value, now_ms: i64) {
    changes.deleted("customer.deleted", &customer);
    let id = customer["id"].as_str().unwrap_or_default().to_owned();
    customer["deleted"] = json!(true);
    store.customers.insert(customer);
    store
        .customer_search
        .record(&id, None, now_ms, store.search_delay_ms);
}

/// Nulls the customer's `invoice_settings.default_payment_method` if it names `pm`.
pub fn clear_default_payment_method(
    store: &mut Store,
    changes: &mut Changes,
    customer: &str,
    pm: &str,
    now_ms: i64,
) {
    let Ok(before) = live(store, customer).cloned() else {
        return;
    };
    if before["invoice_settings"]["default_payment_method"] != pm {
        return;
    }
    let mut after = before.clone();
    after["invoice_settings"]["default_payment_method"] = Value::Null;
    changes.updated("customer.updated", &before, &after);
    save(store, after, now_ms);
}
