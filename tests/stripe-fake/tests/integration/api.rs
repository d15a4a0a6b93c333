//! Raw HTTP checks: object shapes against Stripe's fixtures, parameter checking, errors, lists,
//! search and the control API.

use serde_json::json;

use crate::support::{Fake, fixture_keys, keys};

#[tokio::test]
async fn objects_have_the_fixture_key_sets() {
    let fake = Fake::start().await;
    let customer = fake.create_customer(&[("email", "a@example.com")]).await;
    assert_eq!(keys(&customer), fixture_keys("customer"));
    let fixture_settings = keys(
        &serde_json::from_str::<serde_json::Value>(include_str!(
            "../../fixtures/stripe-fixtures.json"
        ))
        .unwrap()["resources"]["customer"]["invoice_settings"],
    );
    assert_eq!(keys(&customer["invoice_settings"]), fixture_settings);
    let id = customer["id"].as_str().unwrap();
    assert_eq!(id.len(), "cus_".len() + 14);

    let deleted = fake.delete(&format!("/v1/customers/{id}")).await;
    assert_eq!(keys(&deleted.body), fixture_keys("deleted_customer"));
    let retrieved = fake.get(&format!("/v1/customers/{id}"), &[]).await;
    assert_eq!(retrieved.status, 200);
    assert_eq!(
        retrieved.body,
        json!({"id": id, "object": "customer", "deleted": true})
    );

    let endpoint = fake
        .post(
            "/v1/webhook_endpoints",
            &[("url", "http://127.0.0.1:9/h"), ("enabled_events[]", "*")],
            None,
        )
        .await
        .body;
    let mut with_secret = fixture_keys("webhook_endpoint");
    with_secret.insert("secret".into());
    assert_eq!(keys(&endpoint), with_secret);
    let endpoint_id = endpoint["id"].as_str().unwrap();
    let retrieved = fake
        .get(&format!("/v1/webhook_endpoints/{endpoint_id}"), &[])
        .await;
    assert_eq!(keys(&retrieved.body), fixture_keys("webhook_endpoint"));
    let deleted = fake
        .delete(&format!("/v1/webhook_endpoints/{endpoint_id}"))
        .await;
    assert_eq!(
        keys(&deleted.body),
        fixture_keys("deleted_webhook_endpoint")
    );

    let events = fake.get("/v1/events", &[]).await.body;
    let event = &events["data"][0];
    assert_eq!(keys(event), fixture_keys("event"));
    assert_eq!(event["type"], "customer.deleted");
    assert_eq!(
        keys(&event["data"]["object"]),
        fixture_keys("customer"),
        "events carry the whole customer"
    );
}

#[tokio::test]
async fn unknown_and_bad_parameters_are_refused() {
    let fake = Fake::start().await;
    let unknown = fake
        .post(
            "/v1/customers",
            &[("email", "a@example.com"), ("coupon", "x")],
            None,
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error"]["type"], "invalid_request_error");
    assert_eq!(unknown.error_code(), "parameter_unknown");
    assert_eq!(
        unknown.body["error"]["message"],
        "Received unknown parameter: coupon"
    );
    assert_eq!(unknown.body["error"]["param"], "coupon");

    let nested = fake
        .post("/v1/customers", &[("invoice_settings[bogus]", "1")], None)
        .await;
    assert_eq!(nested.body["error"]["param"], "invoice_settings[bogus]");

    let on_get = fake.get("/v1/customers", &[("query", "x")]).await;
    assert_eq!(on_get.error_code(), "parameter_unknown");
    let on_delete = fake.get("/v1/customers/search", &[]).await;
    assert_eq!(on_delete.error_code(), "parameter_missing");

    let unsupported = fake
        .post("/v1/customers", &[("tax_id_data[0][type]", "eu_vat")], None)
        .await;
    assert_eq!(unsupported.status, 400);
    assert!(unsupported.error_message().contains("does not implement"));

    let bad_email = fake
        .post("/v1/customers", &[("email", "not-an-email")], None)
        .await;
    assert_eq!(bad_email.error_code(), "email_invalid");
    let bad_int = fake
        .post("/v1/customers", &[("balance", "ten")], None)
        .await;
    assert_eq!(bad_int.error_code(), "parameter_invalid_integer");
    assert!(
        fake.stored_customers().await.is_empty(),
        "nothing is created by refused requests"
    );
}

#[tokio::test]
async fn auth_and_not_found() {
    let fake = Fake::start().await;
    let http = reqwest::Client::new();
    let no_key = http.get(fake.url("/v1/customers")).send().await.unwrap();
    assert_eq!(no_key.status(), 401);
    let body = json_of(no_key).await;
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let live_key = http
        .get(fake.url("/v1/customers"))
        .bearer_auth("sk_live_abcdef1234")
        .send()
        .await
        .unwrap();
    assert_eq!(live_key.status(), 401);
    let body = json_of(live_key).await;
    assert_eq!(
        body["error"]["message"],
        "Invalid API Key provided: ****1234"
    );
    let versioned = http
        .get(fake.url("/v1/customers"))
        .bearer_auth("sk_test_x")
        .header("stripe-version", "2026-09-30.endive")
        .send()
        .await
        .unwrap();
    assert_eq!(versioned.status(), 200);
    assert_eq!(versioned.headers()["stripe-version"], "2026-09-30.endive");
    assert!(
        versioned.headers()["request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );

    let missing = fake.get("/v1/customers/cus_nope", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "resource_missing");
    assert_eq!(
        missing.body["error"]["message"],
        "No such customer: 'cus_nope'"
    );
    assert_eq!(
        fake.post("/v1/customers/cus_nope", &[("name", "x")], None)
            .await
            .status,
        404
    );
    assert_eq!(fake.delete("/v1/customers/cus_nope").await.status, 404);
    assert_eq!(fake.get("/v1/events/evt_nope", &[]).await.status, 404);
    let unknown_url = fake.get("/v1/charges", &[]).await;
    assert_eq!(unknown_url.status, 404);
    assert!(
        unknown_url
            .error_message()
            .contains("Unrecognized request URL (GET: /v1/charges)")
    );
}

async fn json_of(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn updates_merge_metadata_unset_fields_and_record_previous_attributes() {
    let fake = Fake::start().await;
    let customer = fake
        .create_customer(&[
            ("email", "a@example.com"),
            ("name", "A"),
            ("metadata[org_id]", "o1"),
            ("metadata[tmp]", "x"),
        ])
        .await;
    let path = format!("/v1/customers/{}", customer["id"].as_str().unwrap());
    let pm = fake
        .attach_cards(customer["id"].as_str().unwrap(), "pm_card_visa", 1)
        .await
        .remove(0);
    let updated = fake
        .post(
            &path,
            &[
                ("metadata[tmp]", ""),
                ("metadata[plan]", "pro"),
                ("name", ""),
                ("invoice_settings[default_payment_method]", pm.as_str()),
                ("preferred_locales[]", "en"),
            ],
            Some("upd-1"),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        updated.body["metadata"],
        json!({"org_id": "o1", "plan": "pro"})
    );
    assert_eq!(updated.body["name"], serde_json::Value::Null);
    assert_eq!(updated.body["email"], "a@example.com");
    assert_eq!(
        updated.body["invoice_settings"]["default_payment_method"],
        pm.as_str()
    );

    let events = fake
        .get("/v1/events", &[("type", "customer.updated")])
        .await
        .body;
    let event = &events["data"][0];
    assert_eq!(
        event["data"]["previous_attributes"],
        json!({"metadata": {"tmp": "x", "plan": null}, "name": "A",
               "invoice_settings": {"default_payment_method": null}, "preferred_locales": []})
    );
    assert_eq!(event["request"]["idempotency_key"], "upd-1");
    assert_eq!(
        event["request"]["id"],
        updated.header("request-id").unwrap()
    );

    // An update that changes nothing records no event.
    fake.post(&path, &[("email", "a@example.com")], None).await;
    let updates = fake.get("/v1/events", &[("type", "customer.*")]).await.body;
    assert_eq!(updates["data"].as_array().unwrap().len(), 2);

    let cleared = fake.post(&path, &[("metadata", "")], None).await;
    assert_eq!(cleared.body["metadata"], json!({}));
    let bad_pm = fake
        .post(
            &path,
            &[("invoice_settings[default_payment_method]", "card_1")],
            None,
        )
        .await;
    assert_eq!(bad_pm.status, 400);
    assert_eq!(
        bad_pm.body["error"]["param"],
        "invoice_settings[default_payment_method]"
    );
}

#[tokio::test]
async fn list_filters_and_cursors() {
    let fake = Fake::start().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            fake.create_customer(&[("email", &format!("u{i}@example.com"))])
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    fake.delete(&format!("/v1/customers/{}", ids[1])).await;
    let page = fake.get("/v1/customers", &[("limit", "2")]).await.body;
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[3].as_str(), ids[2].as_str()]);
    assert_eq!(page["has_more"], true);
    assert_eq!(page["url"], "/v1/customers");
    let rest = fake
        .get(
            "/v1/customers",
            &[("limit", "2"), ("starting_after", &ids[2])],
        )
        .await
        .body;
    let got: Vec<&str> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[0].as_str()], "deleted customers are not listed");
    assert_eq!(rest["has_more"], false);
    let by_email = fake
        .get("/v1/customers", &[("email", "u2@example.com")])
        .await
        .body;
    assert_eq!(by_email["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        fake.get("/v1/customers", &[("limit", "101")]).await.status,
        400
    );
    assert_eq!(
        fake.get("/v1/customers", &[("starting_after", "cus_nope")])
            .await
            .status,
        400
    );
    assert_eq!(
        fake.stored_customers().await.len(),
        4,
        "the control API shows deleted ones too"
    );
}

async fn search(fake: &Fake, query: &str) -> crate::support::Reply {
    fake.get("/v1/customers/search", &[("query", query)]).await
}

#[tokio::test]
async fn search_language_and_results() {
    let fake = Fake::start().await;
    fake.create_customer(&[
        ("email", "Ann@Example.com"),
        ("name", "Ann"),
        ("metadata[org_id]", "o1"),
    ])
    .await;
    fake.create_customer(&[
        ("email", "bob@example.com"),
        ("name", "Bob"),
        ("metadata[org_id]", "o2"),
    ])
    .await;
    let one = search(&fake, "metadata[\"org_id\"]:\"o1\"").await.body;
    assert_eq!(one["object"], "search_result");
    assert_eq!(one["url"], "/v1/customers/search");
    assert_eq!(one["data"][0]["name"], "Ann");
    assert_eq!(one["next_page"], serde_json::Value::Null);
    assert!(one.get("total_count").is_none());
    assert_eq!(
        search(&fake, "email:'ann@example.com'").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        search(&fake, "name:'Ann' AND metadata['org_id']:'o2'")
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        search(&fake, "name:'Ann' OR name:'Bob'").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let counted = fake
        .get(
            "/v1/customers/search",
            &[("query", "email~'example'"), ("expand[]", "total_count")],
        )
        .await;
    assert_eq!(counted.body["total_count"], 2);
    let bad = search(&fake, "colour:'red'").await;
    assert_eq!(
        (bad.status, bad.body["error"]["param"].as_str()),
        (400, Some("query"))
    );
}

#[tokio::test]
async fn search_lags_writes_by_the_configured_delay_on_the_fake_clock() {
    let fake = Fake::start().await;
    let delay = fake
        .control("POST", "/_fake/search/delay", Some(json!({"seconds": 60})))
        .await;
    assert_eq!(delay.body["seconds"], 60.0);
    let customer = fake.create_customer(&[("metadata[org_id]", "late")]).await;
    let query = [("query", "metadata['org_id']:'late'")];
    assert_eq!(
        fake.get("/v1/customers/search", &query).await.body["data"],
        json!([]),
        "not indexed yet"
    );
    let listed = fake.get("/v1/customers", &[]).await.body;
    assert_eq!(
        listed["data"][0]["id"], customer["id"],
        "lists read their writes"
    );
    fake.control("POST", "/_fake/clock/advance", Some(json!({"seconds": 61})))
        .await;
    let found = fake.get("/v1/customers/search", &query).await.body;
    assert_eq!(found["data"][0]["id"], customer["id"]);
}

#[tokio::test]
async fn clock_counters_and_reset() {
    let fake = Fake::start().await;
    let before = fake.control("GET", "/_fake/clock", None).await.body["now"]
        .as_i64()
        .unwrap();
    let advanced = fake
        .control(
            "POST",
            "/_fake/clock/advance",
            Some(json!({"seconds": 86_400})),
        )
        .await;
    assert!(advanced.body["now"].as_i64().unwrap() >= before + 86_400);
    assert_eq!(
        fake.control("POST", "/_fake/clock/advance", Some(json!({"seconds": -1})))
            .await
            .status,
        400
    );
    let customer = fake.create_customer(&[]).await;
    assert!(
        customer["created"].as_i64().unwrap() >= before + 86_400,
        "created follows the fake clock"
    );

    let id = customer["id"].as_str().unwrap();
    fake.get(&format!("/v1/customers/{id}"), &[]).await;
    fake.get("/v1/customers/cus_other", &[]).await;
    let counts = fake.control("GET", "/_fake/requests", None).await.body;
    assert_eq!(
        counts,
        json!({"total": 3, "by_route": {"POST /v1/customers": 1, "GET /v1/customers/:id": 2}})
    );
    fake.control("POST", "/_fake/requests/reset", None).await;
    assert_eq!(
        fake.control("GET", "/_fake/requests", None).await.body["total"],
        0
    );

    fake.post(
        "/v1/webhook_endpoints",
        &[("url", "http://127.0.0.1:9/h"), ("enabled_events[]", "*")],
        None,
    )
    .await;
    fake.control("POST", "/_fake/reset", None).await;
    assert!(fake.stored_customers().await.is_empty());
    assert_eq!(fake.get("/v1/events", &[]).await.body["data"], json!([]));
    assert_eq!(
        fake.get("/v1/webhook_endpoints", &[]).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let now = fake.control("GET", "/_fake/clock", None).await.body["offset_seconds"].as_i64();
    assert_eq!(now, Some(0));
    fake.control("POST", "/_fake/reset?all=true", None).await;
    assert_eq!(
        fake.get("/v1/webhook_endpoints", &[]).await.body["data"],
        json!([])
    );
    assert_eq!(
        fake.control("GET", "/_fake/health", None).await.body,
        json!({"ok": true})
    );
}
