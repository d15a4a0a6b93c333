//! State-based refusals of the calls the product makes (README "Refusals") that other modules do
//! not already cover.

use serde_json::{Value, json};

use crate::support::{Fake, Reply};

fn refused(reply: &Reply, status: u16, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["error"]["type"], "invalid_request_error");
    let text = reply.error_message();
    assert!(text.contains(message), "{text}");
}

#[tokio::test]
async fn ended_subscriptions_refuse_changes() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let pro = fake.price_id("pro_monthly").await;
    let starter = fake.price_id("starter_monthly").await;
    let sub = fake.subscribe(&customer, &pro, &[]).await.body;
    let id = sub["id"].as_str().unwrap();
    let path = format!("/v1/subscriptions/{id}");
    assert_eq!(fake.delete(&path).await.status, 200);
    let item = sub["items"]["data"][0]["id"].as_str().unwrap();
    let canceled = "A canceled subscription can only update its cancellation_details and metadata.";
    for pairs in [
        vec![
            ("items[0][id]", item),
            ("items[0][price]", starter.as_str()),
        ],
        vec![("cancel_at_period_end", "true")],
        vec![("default_payment_method", "")],
    ] {
        refused(&fake.post(&path, &pairs, None).await, 400, canceled);
    }
    let metadata = fake.post(&path, &[("metadata[k]", "v")], None).await;
    assert_eq!(metadata.status, 200, "{}", metadata.body);
    refused(&fake.delete(&path).await, 400, "already canceled");
    refused(
        &fake
            .post(
                "/v1/subscription_schedules",
                &[("from_subscription", id)],
                None,
            )
            .await,
        400,
        "You cannot migrate a subscription that is currently in the `canceled` status.",
    );
    let preview = fake
        .post("/v1/invoices/create_preview", &[("subscription", id)], None)
        .await;
    assert_eq!(preview.error_code(), "invoice_upcoming_none");

    // incomplete_expired is terminal too.
    let nobody = fake.customer_id().await;
    let incomplete = fake
        .subscribe(&nobody, &pro, &[("payment_behavior", "default_incomplete")])
        .await
        .body;
    fake.advance(23 * 3600).await;
    let expired_path = format!("/v1/subscriptions/{}", incomplete["id"].as_str().unwrap());
    let expired = fake.get(&expired_path, &[]).await.body;
    assert_eq!(expired["status"], "incomplete_expired");
    refused(
        &fake
            .post(&expired_path, &[("cancel_at_period_end", "true")], None)
            .await,
        400,
        canceled,
    );
}

#[tokio::test]
async fn deleted_customers_refuse_new_objects() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let pro = fake.price_id("pro_monthly").await;
    assert_eq!(
        fake.delete(&format!("/v1/customers/{customer}"))
            .await
            .status,
        200
    );
    for reply in [
        fake.subscribe(&customer, &pro, &[]).await,
        fake.post(
            "/v1/setup_intents",
            &[("customer", customer.as_str())],
            None,
        )
        .await,
        fake.post(
            "/v1/billing_portal/sessions",
            &[("customer", customer.as_str())],
            None,
        )
        .await,
    ] {
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.error_code(), "resource_missing");
        assert_eq!(reply.body["error"]["param"], "customer");
    }
    let update = fake
        .post(&format!("/v1/customers/{customer}"), &[("name", "x")], None)
        .await;
    assert_eq!(update.status, 404);
}

#[tokio::test]
async fn a_fresh_account_without_a_portal_configuration_refuses_sessions() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let pairs = [("customer", customer.as_str())];
    fake.control(
        "POST",
        "/_fake/behaviours",
        Some(json!({"portal_default_configuration": false})),
    )
    .await;
    let reply = fake.post("/v1/billing_portal/sessions", &pairs, None).await;
    refused(
        &reply,
        400,
        "No configuration provided and your test mode default configuration has not been created.",
    );
    assert_eq!(reply.body["error"]["code"], Value::Null);
    let explicit = fake
        .post(
            "/v1/billing_portal/sessions",
            &[
                ("customer", customer.as_str()),
                ("configuration", "bpc_123"),
            ],
            None,
        )
        .await;
    assert_eq!(explicit.status, 200, "{}", explicit.body);
}

#[tokio::test]
async fn an_account_holds_at_most_sixteen_webhook_endpoints() {
    let fake = Fake::start().await;
    let create = || {
        fake.post(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://example.com/hook"),
                ("enabled_events[]", "*"),
            ],
            None,
        )
    };
    let mut first = String::new();
    for i in 0..16 {
        let reply = create().await;
        assert_eq!(reply.status, 200, "{i}: {}", reply.body);
        if i == 0 {
            first = reply.body["id"].as_str().unwrap().to_owned();
        }
    }
    refused(&create().await, 400, "maximum of 16 webhook endpoints");
    let bad_version = fake
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://example.com/hook"),
                ("enabled_events[]", "*"),
                ("api_version", "acacia"),
            ],
            None,
        )
        .await;
    assert_eq!(bad_version.body["error"]["param"], "api_version");
    assert_eq!(
        fake.delete(&format!("/v1/webhook_endpoints/{first}"))
            .await
            .status,
        200
    );
    assert_eq!(create().await.status, 200);
}

#[tokio::test]
async fn idempotency_keys_over_255_characters_are_refused() {
    let fake = Fake::start().await;
    let long = "k".repeat(256);
    let reply = fake.post("/v1/customers", &[], Some(&long)).await;
    refused(&reply, 400, "1 to 255 characters");
    let ok = fake.post("/v1/customers", &[], Some(&long[..255])).await;
    assert_eq!(ok.status, 200);
}
