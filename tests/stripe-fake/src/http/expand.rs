//! `expand[]`: replaces expandable id strings in a response by the objects they name.
//! Paths are dotted, `data.` steps into list items, and depth is capped at four like Stripe.

use serde_json::Value;

use crate::billing::payment_intents;
use crate::model::error::ApiError;
use crate::model::store::Store;

const MAX_DEPTH: usize = 4;

/// Expandable properties of each object type, as dotted paths inside the object.
fn expandable(object_type: &str) -> &'static [&'static str] {
    match object_type {
        "customer" => &[
            "default_source",
            "invoice_settings.default_payment_method",
            "test_clock",
        ],
        "payment_method" => &["customer"],
        "setup_intent" => &[
            "application",
            "customer",
            "latest_attempt",
            "mandate",
            "on_behalf_of",
            "payment_method",
            "single_use_mandate",
        ],
        "billing_portal.session" => &["configuration"],
        "price" => &["product"],
        "product" => &["default_price"],
        "subscription" => &[
            "application",
            "customer",
            "default_payment_method",
            "default_source",
            "latest_invoice",
            "on_behalf_of",
            "pending_setup_intent",
            "schedule",
            "test_clock",
        ],
        "subscription_schedule" => &["application", "customer", "subscription", "test_clock"],
        "invoice" => &[
            "application",
            "customer",
            "default_payment_method",
            "default_source",
            "latest_revision",
            "on_behalf_of",
            "parent.subscription_details.subscription",
            "subscription",
            "test_clock",
        ],
        "line_item" => &["pricing.price_details.price", "subscription"],
        "payment_intent" => &[
            "application",
            "customer",
            "latest_charge",
            "on_behalf_of",
            "payment_method",
            "review",
            "source",
        ],
        "invoiceitem" => &[
            "customer",
            "invoice",
            "pricing.price_details.price",
            "test_clock",
        ],
        _ => &[],
    }
}

/// Properties that are absent unless expanded ("includable"). `total_count` is added by the
/// search page itself; the others are not modelled yet.
fn includable(object_type: &str) -> &'static [&'static str] {
    match object_type {
        "customer" => &[
            "cash_balance",
            "invoice_credit_balance",
            "sources",
            "subscriptions",
            "tax",
            "tax_ids",
        ],
        "search_result" => &["total_count"],
        "invoice" => &["confirmation_secret", "payments"],
        "subscription_item" => &["billed_until"],
        "price" => &["currency_options", "tiers"],
        _ => &[],
    }
}

/// The value of an includable property the fake models, if any.
fn include(store: &Store, object: &Value, property: &str) -> Option<Value> {
    match (object["object"].as_str()?, property) {
        ("invoice", "confirmation_secret") => Some(payment_intents::confirmation_secret(
            store,
            object["id"].as_str()?,
        )),
        ("invoice", "payments") => Some(payment_intents::payments(store, object["id"].as_str()?)),
        _ => None,
    }
}

pub fn apply(store: &Store, value: &mut Value, paths: &[String]) -> Result<(), ApiError> {
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().filter(|s| **s != "data").count() > MAX_DEPTH {
            return Err(ApiError::invalid(
                "expand",
                format!(
                    "You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}"
                ),
            ));
        }
        expand_path(store, value, &segments, path)?;
    }
    Ok(())
}

fn expand_path(
    store: &Store,
    value: &mut Value,
    segments: &[&str],
    full: &str,
) -> Result<(), ApiError> {
    let Some(first) = segments.first() else {
        return Ok(());
    };
    let object_type = value["object"].as_str().unwrap_or_default().to_owned();
    if matches!(object_type.as_str(), "list" | "search_result") && *first == "data" {
        for item in value["data"].as_array_mut().into_iter().flatten() {
            expand_path(store, item, &segments[1..], full)?;
        }
        return Ok(());
    }
    let Some(prefix) = expandable(&object_type)
        .iter()
        .map(|p| p.split('.').collect::<Vec<_>>())
        .filter(|p| segments.starts_with(p))
        .max_by_key(Vec::len)
    else {
        // Embedded objects and lists (`items.data.price.product`): step inside.
        if segments.len() > 1 && value.get(*first).is_some_and(|v| v.get("object").is_some()) {
            return expand_path(store, &mut value[*first], &segments[1..], full);
        }
        if object_type == "search_result" && segments == ["total_count"] {
            return Ok(());
        }
        if includable(&object_type).contains(first) {
            if segments.len() == 1
                && let Some(included) = include(store, value, first)
            {
                value[*first] = included;
                return Ok(());
            }
            return Err(ApiError::not_implemented(&format!("expand[]={full}")));
        }
        return Err(ApiError::invalid(
            "expand",
            format!("This property cannot be expanded ({full})."),
        ));
    };
    let mut target = Some(value);
    for segment in &prefix {
        target = target.and_then(|t| t.get_mut(*segment));
    }
    let Some(target) = target else {
        return Ok(());
    };
    if let Some(object) = target.as_str().and_then(|id| store.lookup(id)) {
        *target = object.clone();
    }
    if target.is_object() {
        expand_path(store, target, &segments[prefix.len()..], full)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_paths() {
        let store = Store::default();
        let mut customer = json!({"object": "customer", "email": "a@b.c", "test_clock": null,
                                  "invoice_settings": {"default_payment_method": "pm_1"}});
        let ok = [
            "test_clock".to_owned(),
            "invoice_settings.default_payment_method".to_owned(),
        ];
        assert!(apply(&store, &mut customer, &ok).is_ok());
        assert_eq!(
            customer["invoice_settings"]["default_payment_method"],
            "pm_1"
        );
        assert!(apply(&store, &mut customer, &["email".to_owned()]).is_err());
        assert!(apply(&store, &mut customer, &["subscriptions".to_owned()]).is_err());
        assert!(apply(&store, &mut customer, &["a.b.c.d.e".to_owned()]).is_err());
        let mut list = json!({"object": "list", "data": [customer]});
        assert!(apply(&store, &mut list, &["data.test_clock".to_owned()]).is_ok());
    }

    #[test]
    fn replaces_ids_with_stored_objects() {
        let mut store = Store::default();
        store
            .customers
            .insert(json!({"id": "cus_1", "object": "customer", "test_clock": null}));
        // A made-up holder: a customer whose test_clock names another stored customer.
        let mut holder = json!({"object": "customer", "test_clock": "cus_1"});
        assert!(apply(&store, &mut holder, &["test_clock".to_owned()]).is_ok());
        assert_eq!(holder["test_clock"]["id"], "cus_1");
    }
}
