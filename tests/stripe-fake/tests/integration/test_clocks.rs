//! Stripe's Test Clocks API (SEMANTICS §13 "Test clocks"): clocks, customers on them, and their
//! objects following the clock's frozen time.

use serde_json::{Value, json};

use crate::support::{Fake, Reply};

const DAY: i64 = 86_400;
/// 2023-11-14T22:13:20Z: clocks may be frozen at any time.
const T0: i64 = 1_700_000_000;
const CLOCKS: &str = "/v1/test_helpers/test_clocks";

fn ok(reply: &Reply) -> &Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    &reply.body
}

async fn new_clock(fake: &Fake, frozen_time: i64) -> String {
    let frozen = frozen_time.to_string();
    let reply = fake
        .post(
            CLOCKS,
            &[("frozen_time", frozen.as_str()), ("name", "sim")],
            None,
        )
        .await;
    ok(&reply)["id"].as_str().unwrap().to_owned()
}

async fn advance(fake: &Fake, clock: &str, to: i64) -> Reply {
    let to = to.to_string();
    fake.post(
        &format!("{CLOCKS}/{clock}/advance"),
        &[("frozen_time", to.as_str())],
        None,
    )
    .await
}

async fn clock_customer(fake: &Fake, clock: &str) -> String {
    let customer = fake
        .create_customer(&[("email", "clock@example.com"), ("test_clock", clock)])
        .await;
    customer["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn clocks_are_created_listed_joined_at_customer_creation_and_deleted() {
    let fake = Fake::start().await;
    let now = fake.now().await;
    let clock = new_clock(&fake, T0).await;
    let retrieved = ok(&fake.get(&format!("{CLOCKS}/{clock}"), &[]).await).clone();
    assert!(clock.starts_with("clock_"));
    assert_eq!(retrieved["object"], "test_helpers.test_clock");
    assert_eq!(retrieved["frozen_time"], T0);
    assert_eq!(retrieved["name"], "sim");
    assert_eq!(retrieved["status"], "ready");
    assert_eq!(retrieved["status_details"], json!({}));
    assert_eq!(retrieved["livemode"], false);
    let created = retrieved["created"].as_i64().unwrap();
    assert!((created - now).abs() <= 1);
    assert_eq!(retrieved["deletes_after"], created + 30 * DAY);
    let listed = ok(&fake.get(CLOCKS, &[]).await).clone();
    assert_eq!(listed["data"][0]["id"], clock.as_str());
    assert_eq!(listed["url"], CLOCKS);
    let missing = fake.get(&format!("{CLOCKS}/clock_nope"), &[]).await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (404, "resource_missing")
    );
    let no_time = fake.post(CLOCKS, &[("name", "x")], None).await;
    assert_eq!(no_time.error_code(), "parameter_missing");

    // Customers join at creation, at the clock's time; lists leave them out unless asked.
    let plain = fake.customer_id().await;
    let on_clock = clock_customer(&fake, &clock).await;
    let customer = ok(&fake
        .get(
            &format!("/v1/customers/{on_clock}"),
            &[("expand[]", "test_clock")],
        )
        .await)
    .clone();
    assert_eq!(customer["created"], T0);
    assert_eq!(customer["test_clock"]["id"], clock.as_str());
    let ids = |reply: &Reply| -> Vec<String> {
        reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&fake.get("/v1/customers", &[]).await), [plain.as_str()]);
    assert_eq!(
        ids(&fake
            .get("/v1/customers", &[("test_clock", clock.as_str())])
            .await),
        [on_clock.as_str()]
    );
    let moved = fake
        .post(
            &format!("/v1/customers/{plain}"),
            &[("test_clock", clock.as_str())],
            None,
        )
        .await;
    assert_eq!(moved.error_code(), "parameter_unknown");
    let unknown = fake
        .post("/v1/customers", &[("test_clock", "clock_nope")], None)
        .await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (400, "resource_missing")
    );
    assert_eq!(unknown.body["error"]["param"], "test_clock");
    clock_customer(&fake, &clock).await;
    clock_customer(&fake, &clock).await;
    let fourth = fake
        .post("/v1/customers", &[("test_clock", clock.as_str())], None)
        .await;
    assert_eq!(fourth.status, 400, "three customers per clock");

    // Deleting the clock deletes its customers.
    let deleted = ok(&fake.delete(&format!("{CLOCKS}/{clock}")).await).clone();
    assert_eq!(
        deleted,
        json!({"id": clock, "object": "test_helpers.test_clock", "deleted": true})
    );
    let gone = ok(&fake.get(&format!("/v1/customers/{on_clock}"), &[]).await).clone();
    assert_eq!(gone["deleted"], true);
    assert_eq!(
        fake.get(&format!("{CLOCKS}/{clock}"), &[]).await.status,
        404
    );
    let types = fake.event_types("test_helpers.").await;
    assert_eq!(
        types,
        [
            "test_helpers.test_clock.created",
            "test_helpers.test_clock.deleted"
        ]
    );
}

#[tokio::test]
async fn a_clock_customers_subscription_follows_the_clock() {
    let fake = Fake::start().await;
    let clock = new_clock(&fake, T0).await;
    let customer = clock_customer(&fake, &clock).await;
    let pm = fake
        .attach_cards(&customer, "pm_card_visa", 1)
        .await
        .remove(0);
    ok(&fake
        .post(
            &format!("/v1/customers/{customer}"),
            &[("invoice_settings[default_payment_method]", pm.as_str())],
            None,
        )
        .await);
    let pro = fake.price_id("pro_monthly").await;
    let sub = ok(&fake
        .subscribe(
            &customer,
            &pro,
            &[("trial_period_days", "7"), ("expand[]", "latest_invoice")],
        )
        .await)
    .clone();
    let sub_path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
    assert_eq!(sub["created"], T0);
    assert_eq!(sub["trial_end"], T0 + 7 * DAY);
    assert_eq!(sub["test_clock"], clock.as_str());
    assert_eq!(sub["latest_invoice"]["created"], T0);
    assert_eq!(sub["latest_invoice"]["test_clock"], clock.as_str());
    let listed = fake.get("/v1/subscriptions", &[]).await;
    assert_eq!(
        ok(&listed)["data"],
        json!([]),
        "clock subscriptions left out"
    );
    let by_clock = fake
        .get("/v1/subscriptions", &[("test_clock", clock.as_str())])
        .await;
    assert_eq!(ok(&by_clock)["data"].as_array().unwrap().len(), 1);
    let by_customer = fake
        .get(
            "/v1/subscriptions",
            &[
                ("customer", customer.as_str()),
                ("status", "all"),
                ("limit", "1"),
            ],
        )
        .await;
    assert_eq!(ok(&by_customer)["data"].as_array().unwrap().len(), 1);

    // The fake clock does not move clock objects.
    fake.advance(30 * DAY).await;
    assert_eq!(ok(&fake.get(&sub_path, &[]).await)["status"], "trialing");

    // Forward only, and at most two intervals of the shortest subscription (two months).
    assert_eq!(advance(&fake, &clock, T0).await.status, 400);
    let too_far = advance(&fake, &clock, T0 + 70 * DAY).await;
    assert_eq!(too_far.body["error"]["param"], "frozen_time");

    let trial_end = T0 + 7 * DAY;
    let advancing = ok(&advance(&fake, &clock, trial_end + 3600).await).clone();
    assert_eq!(advancing["status"], "advancing");
    assert_eq!(
        advancing["status_details"]["advancing"]["target_frozen_time"],
        trial_end + 3600
    );
    let ready = ok(&fake.get(&format!("{CLOCKS}/{clock}"), &[]).await).clone();
    assert_eq!(
        (ready["status"].clone(), ready["frozen_time"].clone()),
        (json!("ready"), json!(trial_end + 3600))
    );
    let after = ok(&fake.get(&sub_path, &[("expand[]", "latest_invoice")]).await).clone();
    assert_eq!(after["status"], "active");
    assert_eq!(
        after["latest_invoice"]["created"], trial_end,
        "at the trial end, clock time"
    );
    assert_eq!(after["latest_invoice"]["total"], 3000);
    assert_eq!(after["latest_invoice"]["status"], "paid");
    let period_end = after["items"]["data"][0]["current_period_end"]
        .as_i64()
        .unwrap();

    // A schedule on the clock switches the price at the clock's boundary.
    let starter = fake.price_id("starter_monthly").await;
    let schedule = ok(&fake
        .post(
            "/v1/subscription_schedules",
            &[("from_subscription", after["id"].as_str().unwrap())],
            None,
        )
        .await)
    .clone();
    assert_eq!(schedule["test_clock"], clock.as_str());
    let (start, end) = (trial_end.to_string(), period_end.to_string());
    ok(&fake
        .post(
            &format!(
                "/v1/subscription_schedules/{}",
                schedule["id"].as_str().unwrap()
            ),
            &[
                ("phases[0][items][0][price]", pro.as_str()),
                ("phases[0][start_date]", start.as_str()),
                ("phases[0][end_date]", end.as_str()),
                ("phases[1][items][0][price]", starter.as_str()),
                ("phases[1][duration][interval]", "month"),
            ],
            None,
        )
        .await);
    ok(&advance(&fake, &clock, period_end).await);
    let switched = ok(&fake.get(&sub_path, &[("expand[]", "latest_invoice")]).await).clone();
    assert_eq!(
        switched["items"]["data"][0]["price"]["id"],
        starter.as_str()
    );
    assert_eq!(switched["latest_invoice"]["created"], period_end);
    assert_eq!(switched["latest_invoice"]["total"], 1000);
    let types = fake.event_types("test_helpers.").await;
    assert_eq!(
        types,
        [
            "test_helpers.test_clock.created",
            "test_helpers.test_clock.advancing",
            "test_helpers.test_clock.ready",
            "test_helpers.test_clock.advancing",
            "test_helpers.test_clock.ready",
        ]
    );
}

#[tokio::test]
async fn an_account_holds_at_most_a_hundred_clocks() {
    let fake = Fake::start().await;
    for _ in 0..100 {
        new_clock(&fake, T0).await;
    }
    let refused = fake
        .post(CLOCKS, &[("frozen_time", "1700000000")], None)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let attach = fake
        .post(
            CLOCKS,
            &[("frozen_time", "1700000000"), ("customer", "cus_x")],
            None,
        )
        .await;
    assert!(attach.error_message().contains("does not implement"));
}
