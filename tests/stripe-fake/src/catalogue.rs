//! Products and prices: their JSON (key sets of Stripe's fixtures) and the catalogue every fake
//! starts with (kept across `/_fake/reset`, skipped with `--no-seed`).

use serde_json::{Value, json};

use crate::calendar::Interval;
use crate::ids;
use crate::store::Store;

/// A recurring price's billing cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurrence {
    pub interval: Interval,
    pub count: i64,
}

impl Recurrence {
    pub fn of(price: &Value) -> Option<Self> {
        let recurring = price.get("recurring")?;
        Some(Self {
            interval: Interval::parse(recurring["interval"].as_str()?)?,
            count: recurring["interval_count"].as_i64().unwrap_or(1),
        })
    }
}

pub struct NewProduct<'a> {
    pub id: String,
    pub name: &'a str,
    pub created: i64,
}

pub fn product_json(product: &NewProduct<'_>) -> Value {
    json!({
        "id": product.id,
        "object": "product",
        "active": true,
        "created": product.created,
        "default_price": null,
        "description": null,
        "images": [],
        "livemode": false,
        "marketing_features": [],
        "metadata": {},
        "name": product.name,
        "package_dimensions": null,
        "shippable": null,
        "statement_descriptor": null,
        "tax_code": null,
        "type": "service",
        "unit_label": null,
        "updated": product.created,
        "url": null
    })
}

pub struct NewPrice<'a> {
    pub id: String,
    pub product: &'a str,
    pub currency: &'a str,
    pub unit_amount: i64,
    pub recurring: Option<Recurrence>,
    pub lookup_key: Option<&'a str>,
    pub created: i64,
}

pub fn price_json(price: &NewPrice<'_>) -> Value {
    let recurring = price.recurring.map_or(Value::Null, |r| {
        json!({
            "interval": r.interval.as_str(),
            "interval_count": r.count,
            "meter": null,
            "trial_period_days": null,
            "usage_type": "licensed"
        })
    });
    json!({
        "id": price.id,
        "object": "price",
        "active": true,
        "billing_scheme": "per_unit",
        "created": price.created,
        "currency": price.currency,
        "custom_unit_amount": null,
        "livemode": false,
        "lookup_key": price.lookup_key,
        "metadata": {},
        "nickname": null,
        "product": price.product,
        "recurring": recurring,
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": if price.recurring.is_some() { "recurring" } else { "one_time" },
        "unit_amount": price.unit_amount,
        "unit_amount_decimal": price.unit_amount.to_string()
    })
}

/// The product's name for descriptions ("Pro"); the price id if the product is gone.
pub fn product_name(store: &Store, price: &Value) -> String {
    let product = match &price["product"] {
        Value::String(id) => store.products.get(id),
        object @ Value::Object(_) => Some(object),
        _ => None,
    };
    product
        .and_then(|p| p["name"].as_str())
        .or_else(|| price["id"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The seeded catalogue: products "Starter" and "Pro" and their monthly/yearly prices, by lookup
/// key. Products first, then prices (the order they are inserted in).
pub fn seed(now: i64) -> Vec<Value> {
    let starter = ids::generate("prod", ids::SHORT);
    let pro = ids::generate("prod", ids::SHORT);
    let monthly = Some(Recurrence {
        interval: Interval::Month,
        count: 1,
    });
    let yearly = Some(Recurrence {
        interval: Interval::Year,
        count: 1,
    });
    let prices = [
        ("starter_monthly", starter.as_str(), 1000, monthly),
        ("pro_monthly", pro.as_str(), 3000, monthly),
        ("pro_yearly", pro.as_str(), 30000, yearly),
    ]
    .map(|(key, product, amount, recurring)| {
        price_json(&NewPrice {
            id: ids::generate("price", ids::LONG),
            product,
            currency: "usd",
            unit_amount: amount,
            recurring,
            lookup_key: Some(key),
            created: now,
        })
    });
    let mut products = [(starter.clone(), "Starter"), (pro.clone(), "Pro")].map(|(id, name)| {
        product_json(&NewProduct {
            id,
            name,
            created: now,
        })
    });
    products[0]["default_price"] = prices[0]["id"].clone();
    products[1]["default_price"] = prices[1]["id"].clone();
    products.into_iter().chain(prices).collect()
}

/// Puts seeded (or any saved) catalogue objects back into the store.
pub fn restore(store: &mut Store, objects: &[Value]) {
    for object in objects {
        match object["object"].as_str() {
            Some("product") => store.products.insert(object.clone()),
            Some("price") => store.prices.insert(object.clone()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_has_the_lookup_keys() {
        let objects = seed(1_700_000_000);
        let keys: Vec<&str> = objects
            .iter()
            .filter_map(|o| o["lookup_key"].as_str())
            .collect();
        assert_eq!(keys, ["starter_monthly", "pro_monthly", "pro_yearly"]);
        let yearly = &objects[4];
        assert_eq!(yearly["unit_amount"], 30000);
        assert_eq!(yearly["recurring"]["interval"], "year");
        assert_eq!(yearly["product"], objects[1]["id"]);
        assert_eq!(objects[1]["default_price"], objects[3]["id"]);
    }
}
