//! Idempotency keys (SEMANTICS §1): replay, mismatch, concurrency, what is not saved.

use std::time::Duration;

use serde_json::json;

use crate::support::Fake;

const CREATE: &[(&str, &str)] = &[("email", "idem@example.com"), ("metadata[org_id]", "o1")];

#[tokio::test]
async fn same_key_same_params_replays_the_saved_response() {
    let fake = Fake::start().await;
    let first = fake.post("/v1/customers", CREATE, Some("k-replay")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = fake.post("/v1/customers", CREATE, Some("k-replay")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("original-request"), first.header("request-id"));
    assert_eq!(fake.stored_customers().await.len(), 1);
    let events = fake.get("/v1/events", &[]).await.body;
    assert_eq!(
        events["data"].as_array().unwrap().len(),
        1,
        "a replay records no event"
    );
}

#[tokio::test]
async fn same_key_other_params_is_an_idempotency_error() {
    let fake = Fake::start().await;
    fake.post("/v1/customers", CREATE, Some("k-mismatch")).await;
    let other = fake
        .post(
            "/v1/customers",
            &[("email", "other@example.com")],
            Some("k-mismatch"),
        )
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.body["error"]["type"], "idempotency_error");
    assert!(other.error_message().contains("same parameters"));
    assert_eq!(fake.stored_customers().await.len(), 1);
}

#[tokio::test]
async fn validation_failures_are_not_saved() {
    let fake = Fake::start().await;
    let refused = fake
        .post(
            "/v1/customers",
            &[("emial", "typo@example.com")],
            Some("k-fix"),
        )
        .await;
    assert_eq!(refused.status, 400);
    // Had the 400 been saved, other parameters under the same key would be a mismatch.
    let fixed = fake
        .post(
            "/v1/customers",
            &[("email", "typo@example.com")],
            Some("k-fix"),
        )
        .await;
    assert_eq!(fixed.status, 200, "{}", fixed.body);
}

#[tokio::test]
async fn keys_have_no_effect_on_get() {
    let fake = Fake::start().await;
    let customer = fake.create_customer(&[]).await;
    let path = format!("/v1/customers/{}", customer["id"].as_str().unwrap());
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let response = http
            .get(fake.url(&path))
            .bearer_auth(crate::support::KEY)
            .header("idempotency-key", "k-get")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("idempotent-replayed").is_none());
    }
}

#[tokio::test]
async fn a_key_in_use_gets_409_while_the_first_request_runs() {
    let fake = Fake::start().await;
    // The body's `type` is a guess behind a switch; check both settings.
    for (round, error_type) in ["idempotency_error", "invalid_request_error"]
        .iter()
        .enumerate()
    {
        let switch = json!({"idempotency_in_use_type": error_type});
        let set = fake
            .control("POST", "/_fake/behaviours", Some(switch))
            .await;
        assert_eq!(set.body["idempotency_in_use_type"], *error_type);
        // Hold the first request after it executed, so the second one overlaps it for sure.
        let fault = json!({"route": "POST /v1/customers", "kind": "timeout",
                           "when": "after", "delay_ms": 400, "times": 1});
        assert_eq!(
            fake.control("POST", "/_fake/faults", Some(fault))
                .await
                .status,
            200
        );
        let key = format!("k-busy-{round}");
        let (first, second) = tokio::join!(fake.post("/v1/customers", CREATE, Some(&key)), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            fake.post("/v1/customers", CREATE, Some(&key)).await
        });
        assert_eq!(
            first.status, 500,
            "the held request ends in the injected 500"
        );
        assert_eq!(second.status, 409);
        assert_eq!(second.error_code(), "idempotency_key_in_use");
        assert_eq!(second.body["error"]["type"], *error_type);
        assert_eq!(fake.stored_customers().await.len(), round + 1);
    }
    fake.control("POST", "/_fake/reset", None).await;
    let reset = fake.control("GET", "/_fake/behaviours", None).await;
    assert_eq!(reset.body["idempotency_in_use_type"], "idempotency_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_never_create_two_customers() {
    let fake = Fake::start().await;
    for round in 0..10 {
        let key = format!("k-race-{round}");
        let (a, b) = tokio::join!(
            fake.post("/v1/customers", CREATE, Some(&key)),
            fake.post("/v1/customers", CREATE, Some(&key))
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        match statuses {
            [200, 200] => assert_eq!(a.body, b.body, "the second is a replay"),
            [200, 409] => {}
            other => panic!("unexpected statuses {other:?}"),
        }
        assert_eq!(fake.stored_customers().await.len(), round + 1);
    }
}

/// Stripe saves a result once execution began, whatever happens to the connection: a client that
/// gives up while the answer is held must not free the key (a retry would create a second customer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_giving_up_after_execution_leaves_the_result_saved() {
    let fake = Fake::start().await;
    let fault = json!({"route": "POST /v1/customers", "kind": "timeout",
                       "when": "after", "delay_ms": 3000, "times": 1});
    assert_eq!(
        fake.control("POST", "/_fake/faults", Some(fault))
            .await
            .status,
        200
    );
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        fake.post("/v1/customers", CREATE, Some("k-gave-up")),
    )
    .await;
    assert!(gave_up.is_err(), "the answer is held");
    // Until the fake notices the closed connection the key is still in use (409); then it replays.
    let mut retry = fake.post("/v1/customers", CREATE, Some("k-gave-up")).await;
    for _ in 0..50 {
        if retry.status != 409 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        retry = fake.post("/v1/customers", CREATE, Some("k-gave-up")).await;
    }
    assert_eq!(
        retry.status, 500,
        "the saved (injected) answer: {:?}",
        retry.body
    );
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(fake.stored_customers().await.len(), 1);
}

/// Keys expire on real time (24 h since first use), not on the fake clock; tests shorten the
/// lifetime through `/_fake/idempotency`.
#[tokio::test]
async fn keys_expire_on_wall_time_not_on_the_fake_clock() {
    let fake = Fake::start().await;
    let first = fake.post("/v1/customers", CREATE, Some("k-life")).await;
    assert_eq!(first.status, 200);
    fake.advance(3 * 86_400).await;
    let replay = fake.post("/v1/customers", CREATE, Some("k-life")).await;
    assert_eq!(
        replay.header("idempotent-replayed"),
        Some("true"),
        "three fake days later the key still replays"
    );
    let default = fake.control("GET", "/_fake/idempotency", None).await;
    assert_eq!(default.body, json!({"lifetime_seconds": 86_400.0}));
    let set = fake
        .control(
            "POST",
            "/_fake/idempotency",
            Some(json!({"lifetime_seconds": 0.2})),
        )
        .await;
    assert_eq!(set.body, json!({"lifetime_seconds": 0.2}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let other = fake
        .post(
            "/v1/customers",
            &[("email", "new@example.com")],
            Some("k-life"),
        )
        .await;
    assert_eq!(other.status, 200, "an expired key starts a new request");
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_eq!(fake.stored_customers().await.len(), 2);
    let bad = fake
        .control(
            "POST",
            "/_fake/idempotency",
            Some(json!({"lifetime_seconds": -1})),
        )
        .await;
    assert_eq!(bad.status, 400);
    fake.control("POST", "/_fake/reset", None).await;
    let reset = fake.control("GET", "/_fake/idempotency", None).await;
    assert_eq!(reset.body["lifetime_seconds"], 86_400.0);
}
