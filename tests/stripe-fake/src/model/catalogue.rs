//! Products and prices: their JSON (key sets of Stripe's fixtures), and the seed catalogue a fake
//! starts with and keeps across `/_fake/reset`.

use std::collections::HashSet;
use std::path::Path;
use std::{fs, io};

use serde::Deserialize;
use serde_json::{Value, json};

use super::calendar::Interval;
use super::ids;
use super::store::Store;

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

/// The products and prices a fake starts with and gets back, with the same ids, on every
/// `/_fake/reset`. It is data the caller passes in (`--seed-catalogue PATH`, [`Catalogue::load`]);
/// the default is empty. The JSON format is in the README ("Seed catalogue").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "CatalogueFile")]
pub struct Catalogue {
    products: Vec<SeedProduct>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    products: Vec<SeedProduct>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedProduct {
    name: String,
    /// The first one is the product's `default_price`.
    prices: Vec<SeedPrice>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedPrice {
    #[serde(default)]
    lookup_key: Option<String>,
    currency: String,
    unit_amount: i64,
    /// Absent: a one-time price.
    #[serde(default)]
    recurring: Option<SeedRecurring>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRecurring {
    interval: Interval,
    #[serde(default = "one")]
    interval_count: i64,
}

fn one() -> i64 {
    1
}

/// The checks `POST /v1/prices` would make, so a seed holds only prices Stripe could have.
impl TryFrom<CatalogueFile> for Catalogue {
    type Error = String;

    fn try_from(file: CatalogueFile) -> Result<Self, String> {
        let mut lookup_keys = HashSet::new();
        for price in file.products.iter().flat_map(|p| &p.prices) {
            if let Some(key) = &price.lookup_key
                && !lookup_keys.insert(key)
            {
                return Err(format!("lookup_key {key:?} is used twice"));
            }
            let currency = &price.currency;
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(format!(
                    "currency {currency:?} is not a lower-case ISO code"
                ));
            }
            if price.unit_amount < 0 {
                return Err(format!("unit_amount {} is negative", price.unit_amount));
            }
            if let Some(r) = price.recurring
                && !(1..=r.interval.max_count()).contains(&r.interval_count)
            {
                return Err(format!(
                    "interval_count {} is outside 1..={} for {}",
                    r.interval_count,
                    r.interval.max_count(),
                    r.interval.as_str()
                ));
            }
        }
        Ok(Self {
            products: file.products,
        })
    }
}

impl Catalogue {
    /// Reads a seed file (JSON); the error names the file.
    pub fn load(path: &Path) -> io::Result<Self> {
        let named = |kind, e: &dyn std::fmt::Display| {
            io::Error::new(kind, format!("{}: {e}", path.display()))
        };
        let text = fs::read_to_string(path).map_err(|e| named(e.kind(), &e))?;
        serde_json::from_str(&text).map_err(|e| named(io::ErrorKind::InvalidData, &e))
    }

    /// The catalogue as Stripe objects with fresh ids: products first, then prices, each in file
    /// order (the order they are inserted in).
    pub fn objects(&self, now: i64) -> Vec<Value> {
        let mut products = Vec::with_capacity(self.products.len());
        let mut prices = Vec::new();
        for seed in &self.products {
            let id = ids::generate("prod", ids::SHORT);
            let mut product = product_json(&NewProduct {
                id: id.clone(),
                name: &seed.name,
                created: now,
            });
            for price in &seed.prices {
                let price = price_json(&NewPrice {
                    id: ids::generate("price", ids::LONG),
                    product: &id,
                    currency: &price.currency,
                    unit_amount: price.unit_amount,
                    recurring: price.recurring.map(|r| Recurrence {
                        interval: r.interval,
                        count: r.interval_count,
                    }),
                    lookup_key: price.lookup_key.as_deref(),
                    created: now,
                });
                if product["default_price"].is_null() {
                    product["default_price"] = price["id"].clone();
                }
                prices.push(price);
            }
            products.push(product);
        }
        products.into_iter().chain(prices).collect()
    }
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

    fn project_catalogue() -> Catalogue {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/catalogue.json");
        Catalogue::load(&path).unwrap_or_default()
    }

    #[test]
    fn seed_has_the_lookup_keys() {
        let objects = project_catalogue().objects(1_700_000_000);
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

    #[test]
    fn the_default_catalogue_is_empty() {
        assert!(Catalogue::default().objects(1_700_000_000).is_empty());
    }

    #[test]
    fn seeds_stripe_would_refuse_are_refused() {
        // One product with these prices.
        let parse = |prices: Value| {
            let file = json!({"products": [{"name": "P", "prices": prices}]});
            serde_json::from_value::<Catalogue>(file).map_err(|e| e.to_string())
        };
        let usd = |extra: Value| {
            let mut price = json!({"currency": "usd", "unit_amount": 1});
            if let (Value::Object(price), Value::Object(extra)) = (&mut price, extra) {
                price.extend(extra);
            }
            json!([price])
        };
        assert!(parse(usd(json!({}))).is_ok());
        let quarterly = json!({"recurring": {"interval": "month", "interval_count": 3}});
        assert!(parse(usd(quarterly)).is_ok());
        let twice = json!([
            {"lookup_key": "k", "currency": "usd", "unit_amount": 1},
            {"lookup_key": "k", "currency": "usd", "unit_amount": 2}
        ]);
        assert!(parse(twice).is_err_and(|e| e.contains("used twice")));
        assert!(parse(usd(json!({"recurring": {"interval": "fortnight"}}))).is_err());
        let four_years = json!({"recurring": {"interval": "year", "interval_count": 4}});
        assert!(parse(usd(four_years)).is_err());
        assert!(parse(usd(json!({"colour": "red"}))).is_err());
        assert!(parse(usd(json!({"currency": "USD"}))).is_err());
        assert!(parse(usd(json!({"unit_amount": -1}))).is_err());
    }
}
