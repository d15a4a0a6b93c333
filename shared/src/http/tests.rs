use super::*;
use crate::endpoints::{EnsureCustomer, GetCustomer, StripeWebhook};
use crate::testing::{TEST_WEBHOOK_SECRET, World};
use serde_json::Value;
use std::sync::atomic::Ordering;

fn app() -> App {
    World::new().app
}

/// A whole event: async-stripe parses `data.object` into its typed Subscription.
pub(crate) fn stripe_event(id: &str) -> String {
    let subscription: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/stripe-subscription.json"
    ))
    .unwrap();
    serde_json::json!({
        "id": id, "object": "event", "api_version": "2026-09-30.endive", "created": 1_795_000_000,
        "data": {"object": subscription},
        "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": "customer.subscription.updated"
    })
    .to_string()
}

fn delivery(payload: &str, signature: Option<String>) -> Request {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/stripe-webhook.json")).unwrap();
    event["body"] = payload.into();
    match signature {
        Some(signature) => event["headers"]["stripe-signature"] = signature.into(),
        None => {
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("stripe-signature");
        }
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

pub(crate) fn signed(payload: &str, secret: &str, at: i64) -> Option<String> {
    Some(stripe_webhook::Webhook::generate_test_header(
        payload,
        secret,
        Some(at),
    ))
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_signed_event_is_acknowledged_and_a_redelivery_is_a_duplicate() {
    let app = app();
    let payload = stripe_event("evt_ok");
    let first = serve(
        &app,
        &StripeWebhook,
        delivery(&payload, signed(&payload, TEST_WEBHOOK_SECRET, now())),
    )
    .await;
    assert_eq!(first.status(), 200, "{:?}", first.body());
    let again = serve(
        &app,
        &StripeWebhook,
        delivery(&payload, signed(&payload, TEST_WEBHOOK_SECRET, now())),
    )
    .await;
    let Body::Text(text) = again.body() else {
        panic!("text body")
    };
    assert!(text.contains("duplicate"), "{text}");
}

/// The same event as an endpoint pinned to an older (pre-basil) or newer version renders it:
/// periods at the top of the subscription, not on its items; an unknown version string.
fn event_in_version(id: &str, version: &str) -> String {
    let mut event: Value = serde_json::from_str(&stripe_event(id)).unwrap();
    event["api_version"] = version.into();
    let subscription = &mut event["data"]["object"];
    let item = subscription["items"]["data"][0].as_object_mut().unwrap();
    let start = item.remove("current_period_start").unwrap();
    let end = item.remove("current_period_end").unwrap();
    subscription["current_period_start"] = start;
    subscription["current_period_end"] = end;
    subscription["plan"] = subscription["items"]["data"][0]["price"].clone();
    event.to_string()
}

#[tokio::test]
async fn events_in_any_api_version_are_accepted_on_their_envelope() {
    let app = app();
    for (id, version) in [
        ("evt_acacia", "2024-06-20"),
        ("evt_future", "2099-01-01.zeta"),
    ] {
        let payload = event_in_version(id, version);
        let response = serve(
            &app,
            &StripeWebhook,
            delivery(&payload, signed(&payload, TEST_WEBHOOK_SECRET, now())),
        )
        .await;
        assert_eq!(response.status(), 200, "{version}: {:?}", response.body());
        assert!(is_done(&app, id).await, "{version}");
    }
}

/// Whether the event log holds the event as done (probing claims an unknown id, so last).
async fn is_done(app: &App, event_id: &str) -> bool {
    let now = time::OffsetDateTime::now_utc();
    let claim = app.events.claim(event_id, "probe", now).await.unwrap();
    claim == crate::store::EventClaim::Done
}

#[tokio::test]
async fn bad_signatures_are_400_and_record_nothing() {
    let app = app();
    let payload = stripe_event("evt_bad");
    let tampered = payload.replace("\"livemode\":false", "\"livemode\":true");
    for (name, request) in [
        ("missing", delivery(&payload, None)),
        (
            "wrong secret",
            delivery(&payload, signed(&payload, "whsec_other", now())),
        ),
        (
            "tampered body",
            delivery(&tampered, signed(&payload, TEST_WEBHOOK_SECRET, now())),
        ),
        (
            "stale",
            delivery(&payload, signed(&payload, TEST_WEBHOOK_SECRET, now() - 301)),
        ),
        (
            "garbage header",
            delivery(&payload, Some("t=1,v1=zz".into())),
        ),
    ] {
        let response = serve(&app, &StripeWebhook, request).await;
        assert_eq!(response.status(), 400, "{name}");
    }
    assert!(!is_done(&app, "evt_bad").await);
}

#[tokio::test]
async fn a_signed_non_event_is_invalid_payload() {
    let app = app();
    let payload = "{\"hello\": 1}";
    let response = serve(
        &app,
        &StripeWebhook,
        delivery(payload, signed(payload, TEST_WEBHOOK_SECRET, now())),
    )
    .await;
    assert_eq!(response.status(), 400);
    let Body::Text(text) = response.body() else {
        panic!("text body")
    };
    assert!(text.contains("invalid_payload"), "{text}");
}

fn event(file: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let text = match file {
        "get" => include_str!("../../../events/get-customer.json"),
        _ => include_str!("../../../events/ensure-customer.json"),
    };
    let mut json: Value = serde_json::from_str(text).unwrap();
    edit(&mut json);
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

fn as_role(role: &'static str) -> impl FnOnce(&mut Value) {
    move |e| e["requestContext"]["authorizer"]["lambda"]["role"] = role.into()
}

fn with_body(body: &'static str) -> impl FnOnce(&mut Value) {
    move |e| e["body"] = body.into()
}

async fn call<E: Endpoint>(app: &App, endpoint: E, request: Request) -> (u16, Value) {
    let response = serve(app, &endpoint, request).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

#[test]
fn every_sample_event_is_a_valid_api_gateway_event_with_a_principal() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "authorizer.json" {
            continue; // an authorizer request, not an HTTP event
        }
        let request = lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if name != "stripe-webhook.json" {
            assert!(
                caller::principal(&request).is_ok(),
                "{name} carries the authorizer context"
            );
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} events");
}

#[tokio::test]
async fn get_before_ensure_is_customer_not_found_with_the_request_id() {
    let (status, body) = call(&app(), GetCustomer, event("get", |_| {})).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "customer_not_found");
    assert_eq!(body["error"]["request_id"], "sample-get-billing-customer");
}

#[tokio::test]
async fn ensure_creates_then_returns_the_same_customer_and_get_reads_it() {
    let app = app();
    let (first_status, first) = call(&app, EnsureCustomer, event("ensure", |_| {})).await;
    let (second_status, second) = call(&app, EnsureCustomer, event("ensure", |_| {})).await;
    let (get_status, got) = call(&app, GetCustomer, event("get", |_| {})).await;
    assert_eq!((first_status, second_status, get_status), (201, 200, 200));
    assert_eq!(first, second);
    assert_eq!(first, got);
    assert_eq!(first["org_id"], "org_demo");
    assert!(
        first["stripe_customer_id"]
            .as_str()
            .unwrap()
            .starts_with("cus_")
    );
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn ensure_accepts_no_body_and_an_empty_object() {
    let app = app();
    let (status, _) = call(
        &app,
        EnsureCustomer,
        event("ensure", |e| {
            e.as_object_mut().unwrap().remove("body");
        }),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn viewers_cannot_ensure_but_can_read() {
    let app = app();
    let (status, body) = call(&app, EnsureCustomer, event("ensure", as_role("viewer"))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = call(&app, GetCustomer, event("get", as_role("viewer"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn admins_and_owners_can_ensure() {
    for role in ["admin", "owner"] {
        let (status, _) = call(&app(), EnsureCustomer, event("ensure", as_role(role))).await;
        assert_eq!(status, 201, "{role}");
    }
}

#[tokio::test]
async fn a_missing_or_malformed_principal_is_401() {
    let edits: [fn(&mut Value); 3] = [
        |e| {
            e["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        },
        |e| e["requestContext"]["authorizer"]["lambda"]["org_id"] = Value::Null,
        |e| e["requestContext"]["authorizer"]["lambda"]["role"] = "root".into(),
    ];
    for edit in edits {
        let (status, body) = call(&app(), GetCustomer, event("get", edit)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthenticated"))
        );
    }
}

#[tokio::test]
async fn disabled_billing_is_404_on_every_route_before_anything_else() {
    let app = World::with_billing("false").app;
    for request in [event("get", |_| {}), event("ensure", as_role("viewer"))] {
        let response = serve(&app, &EnsureCustomer, request).await;
        assert_eq!(response.status(), 404);
    }
    let (_, body) = call(&app, GetCustomer, event("get", |_| {})).await;
    assert_eq!(body["error"]["code"], "billing_disabled");
}

#[tokio::test]
async fn malformed_json_and_unknown_fields_are_400_with_distinct_codes() {
    let app = app();
    let (status, body) = call(
        &app,
        EnsureCustomer,
        event("ensure", with_body("{\"email\":")),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (status, body) = call(
        &app,
        EnsureCustomer,
        event("ensure", with_body("{\"org_id\":\"other\"}")),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("org_id")
    );
    let (status, _) = call(&app, EnsureCustomer, event("ensure", with_body("[1,2]"))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn oversized_and_deeply_nested_bodies_are_refused() {
    let app = app();
    let big: &'static str =
        Box::leak(format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES)).into_boxed_str());
    let (status, body) = call(&app, EnsureCustomer, event("ensure", with_body(big))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let deep: &'static str =
        Box::leak(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_boxed_str());
    let (status, _) = call(&app, EnsureCustomer, event("ensure", with_body(deep))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_stripe_outage_is_503_with_retry_after_and_no_record() {
    let world = World::new();
    world.gateway.fail_next.store(1, Ordering::SeqCst);
    let app = world.app;
    let response = serve(&app, &EnsureCustomer, event("ensure", |_| {})).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let (status, _) = call(&app, GetCustomer, event("get", |_| {})).await;
    assert_eq!(status, 404);
}
