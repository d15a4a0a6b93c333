//! Injected faults: before (nothing happens), after (the change happens, the client sees an
//! error, and the idempotency key replays that error), `times`, timeouts and dropped connections.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::customer::CreateCustomer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Fake, form};

async fn add_fault(fake: &Fake, fault: Value) {
    let reply = fake.control("POST", "/_fake/faults", Some(fault)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn status_fault_before_changes_nothing_and_saves_nothing() {
    let fake = Fake::start().await;
    add_fault(
        &fake,
        json!({"route": "POST /v1/customers", "kind": "status", "status": 500, "times": 1}),
    )
    .await;
    let failed = fake
        .post(
            "/v1/customers",
            &[("email", "a@example.com")],
            Some("k-before"),
        )
        .await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.body["error"]["type"], "api_error");
    assert!(fake.stored_customers().await.is_empty());
    let retried = fake
        .post(
            "/v1/customers",
            &[("email", "a@example.com")],
            Some("k-before"),
        )
        .await;
    assert_eq!(retried.status, 200, "the retry executes: nothing was saved");
    assert_eq!(retried.header("idempotent-replayed"), None);
    assert_eq!(fake.stored_customers().await.len(), 1);
}

#[tokio::test]
async fn status_fault_after_creates_and_the_key_replays_the_500() {
    let fake = Fake::start().await;
    add_fault(&fake, json!({"route": "POST /v1/customers", "kind": "status", "status": 503, "when": "after", "times": 1}))
        .await;
    let failed = fake
        .post(
            "/v1/customers",
            &[("email", "a@example.com")],
            Some("k-after"),
        )
        .await;
    assert_eq!(failed.status, 503);
    assert_eq!(
        fake.stored_customers().await.len(),
        1,
        "the customer exists despite the error"
    );
    let replay = fake
        .post(
            "/v1/customers",
            &[("email", "a@example.com")],
            Some("k-after"),
        )
        .await;
    assert_eq!(
        (replay.status, replay.header("idempotent-replayed")),
        (503, Some("true"))
    );
    assert_eq!(replay.body, failed.body);
    let fresh = fake
        .post(
            "/v1/customers",
            &[("email", "a@example.com")],
            Some("k-other"),
        )
        .await;
    assert_eq!(fresh.status, 200, "the fault was used up");
    assert_eq!(fake.stored_customers().await.len(), 2);
}

#[tokio::test]
async fn times_routes_rate_limits_and_clearing() {
    let fake = Fake::start().await;
    add_fault(&fake, json!({"route": "GET /v1/customers/:id", "kind": "status", "status": 429, "times": 2, "should_retry": true}))
        .await;
    let listed = fake.control("GET", "/_fake/faults", None).await.body;
    assert_eq!(listed["data"][0]["times"], 2);
    for _ in 0..2 {
        let limited = fake.get("/v1/customers/cus_x", &[]).await;
        assert_eq!(limited.status, 429);
        assert_eq!(limited.error_code(), "rate_limit");
        assert_eq!(limited.header("stripe-should-retry"), Some("true"));
        assert_eq!(
            limited.header("retry-after"),
            None,
            "Stripe sends no Retry-After"
        );
    }
    assert_eq!(fake.get("/v1/customers/cus_x", &[]).await.status, 404);
    assert_eq!(
        fake.get("/v1/customers", &[]).await.status,
        200,
        "other routes are unaffected"
    );

    add_fault(
        &fake,
        json!({"route": "*", "kind": "status", "status": 502}),
    )
    .await;
    assert_eq!(fake.get("/v1/customers", &[]).await.status, 502);
    assert_eq!(fake.get("/v1/events", &[]).await.status, 502);
    let cleared = fake.control("DELETE", "/_fake/faults", None).await;
    assert_eq!(cleared.body["cleared"], 1);
    assert_eq!(fake.get("/v1/customers", &[]).await.status, 200);
    let bad = fake
        .control(
            "POST",
            "/_fake/faults",
            Some(json!({"route": "*", "kind": "status", "status": 404})),
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn timeout_fault_holds_then_answers_500() {
    let fake = Fake::start().await;
    add_fault(
        &fake,
        json!({"route": "GET /v1/customers", "kind": "timeout", "delay_ms": 300, "times": 1}),
    )
    .await;
    let started = Instant::now();
    let reply = fake.get("/v1/customers", &[]).await;
    assert_eq!(reply.status, 500);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// Sends one raw request and returns every byte the server wrote before closing.
async fn raw_exchange(fake: &Fake, body: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(fake.server.addr)
        .await
        .unwrap();
    let request = format!(
        "POST /v1/customers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nIdempotency-Key: k-reset\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        crate::support::KEY,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    // A reset may surface as an error instead of end-of-stream; either way nothing was answered.
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .unwrap();
    received
}

#[tokio::test]
async fn reset_fault_drops_the_connection_without_a_response() {
    let fake = Fake::start().await;
    let body = form(&[("email", "reset@example.com")]);
    add_fault(
        &fake,
        json!({"route": "POST /v1/customers", "kind": "reset", "times": 1}),
    )
    .await;
    assert!(
        raw_exchange(&fake, &body).await.is_empty(),
        "no HTTP response at all"
    );
    assert!(fake.stored_customers().await.is_empty());

    add_fault(
        &fake,
        json!({"route": "POST /v1/customers", "kind": "reset", "when": "after", "times": 1}),
    )
    .await;
    assert!(raw_exchange(&fake, &body).await.is_empty());
    assert_eq!(
        fake.stored_customers().await.len(),
        1,
        "the customer was created before the drop"
    );
    let retry = fake
        .post(
            "/v1/customers",
            &[("email", "reset@example.com")],
            Some("k-reset"),
        )
        .await;
    assert_eq!(
        (retry.status, retry.header("idempotent-replayed")),
        (200, Some("true"))
    );
    assert_eq!(retry.body["id"], fake.stored_customers().await[0]["id"]);

    add_fault(
        &fake,
        json!({"route": "POST /v1/customers", "kind": "reset", "times": 1}),
    )
    .await;
    let client = fake.client();
    let dropped = CreateCustomer::new().send(&client).await;
    assert!(
        matches!(dropped, Err(StripeError::ClientError(_))),
        "{dropped:?}"
    );
}

#[tokio::test]
async fn async_stripe_retries_through_an_injected_outage() {
    let fake = Fake::start().await;
    add_fault(&fake, json!({"route": "POST /v1/customers", "kind": "status", "status": 500, "when": "after", "times": 1}))
        .await;
    let client = fake.client();
    // A fixed key with one attempt, then the same key again: the product's ensure-customer loop.
    let strategy = || RequestStrategy::Idempotent(IdempotencyKey::new("ensure-x").unwrap());
    let first = CreateCustomer::new()
        .email("x@example.com")
        .customize()
        .request_strategy(strategy())
        .send(&client)
        .await;
    assert!(matches!(first, Err(StripeError::Stripe(_, 500))));
    let second = CreateCustomer::new()
        .email("x@example.com")
        .customize()
        .request_strategy(strategy())
        .send(&client)
        .await;
    assert!(
        matches!(second, Err(StripeError::Stripe(_, 500))),
        "Stripe replays the saved 500 for this key"
    );

    // Retry(n) draws one random key per logical call and retries 5xx with it.
    add_fault(
        &fake,
        json!({"route": "POST /v1/customers", "kind": "status", "status": 500, "times": 1}),
    )
    .await;
    let created = CreateCustomer::new()
        .email("y@example.com")
        .customize()
        .request_strategy(RequestStrategy::Retry(3))
        .send(&client)
        .await
        .unwrap();
    assert_eq!(created.email.as_deref(), Some("y@example.com"));
    assert_eq!(fake.stored_customers().await.len(), 2);
}
