//! Catalogue, subscriptions, prorations, invoice previews, schedules and the clock over raw HTTP.

use serde_json::{Value, json};
use stripe_fake::Catalogue;

use crate::support::{Fake, Reply, fixture_keys, keys};

mod catalogue;
mod lifecycle;
mod payments;
mod prorations;
mod schedule_changes;
mod schedules;

const DAY: i64 = 86_400;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../../../fixtures/stripe-fixtures.json")).unwrap()
}

fn id(object: &Value) -> &str {
    object["id"].as_str().unwrap()
}

fn ok(reply: &Reply) -> &Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    &reply.body
}

/// `round(amount × quantity × (end − t) / (end − start))`, half away from zero, computed here
/// independently of the fake.
fn prorated(amount: i64, quantity: i64, (start, end): (i64, i64), t: i64) -> i64 {
    let numerator = i128::from(amount * quantity) * i128::from(end - t);
    let length = i128::from(end - start);
    i64::try_from((2 * numerator + length) / (2 * length)).unwrap()
}

fn period(subscription: &Value) -> (i64, i64) {
    let item = &subscription["items"]["data"][0];
    (
        item["current_period_start"].as_i64().unwrap(),
        item["current_period_end"].as_i64().unwrap(),
    )
}

fn amounts(lines: &[Value]) -> Vec<i64> {
    lines
        .iter()
        .map(|l| l["amount"].as_i64().unwrap())
        .collect()
}

fn proration_lines(invoice: &Value) -> Vec<Value> {
    invoice["lines"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["parent"]["subscription_item_details"]["proration"] == true)
        .cloned()
        .collect()
}

/// A customer paying with `pm_card_visa` by default, subscribed to the price with `lookup_key`:
/// the customer id, the price id and the subscription.
async fn subscribed(fake: &Fake, lookup_key: &str) -> (String, String, Value) {
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let price = fake.price_id(lookup_key).await;
    let subscription = ok(&fake.subscribe(&customer, &price, &[]).await).clone();
    (customer, price, subscription)
}

/// `POST /v1/invoices/create_preview` for the subscription, with `extra` parameters.
async fn create_preview(fake: &Fake, subscription: &str, extra: &[(&str, &str)]) -> Reply {
    let mut pairs = vec![("subscription", subscription)];
    pairs.extend_from_slice(extra);
    fake.post("/v1/invoices/create_preview", &pairs, None).await
}

async fn subscription(fake: &Fake, id: &str, expand: &[&str]) -> Value {
    let pairs: Vec<(&str, &str)> = expand.iter().map(|e| ("expand[]", *e)).collect();
    ok(&fake.get(&format!("/v1/subscriptions/{id}"), &pairs).await).clone()
}

async fn customer_balance(fake: &Fake, customer: &str) -> i64 {
    ok(&fake.get(&format!("/v1/customers/{customer}"), &[]).await)["balance"]
        .as_i64()
        .unwrap()
}
