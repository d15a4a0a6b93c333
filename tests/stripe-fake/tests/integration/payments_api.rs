//! Raw HTTP checks for payment methods, SetupIntents and portal sessions: shapes against Stripe's
//! fixtures, parameter checking, decline tokens, attach/detach rules, the default payment method,
//! the publishable-key path, idempotency and the control API.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{Fake, Reply, fixture_keys, keys};

const RETURN_URL: &str = "http://127.0.0.1:5173/billing";
const PK: &str = "pk_test_stripe_fake";

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../../fixtures/stripe-fixtures.json")).unwrap()
}

fn id(object: &Value) -> String {
    object["id"].as_str().unwrap().to_owned()
}

async fn create_intent(fake: &Fake, pairs: &[(&str, &str)]) -> Value {
    let reply = fake.post("/v1/setup_intents", pairs, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

async fn confirm(fake: &Fake, intent: &str, pairs: &[(&str, &str)]) -> Reply {
    fake.post(&format!("/v1/setup_intents/{intent}/confirm"), pairs, None)
        .await
}

async fn attach(fake: &Fake, pm: &str, customer: &str) -> Reply {
    fake.post(
        &format!("/v1/payment_methods/{pm}/attach"),
        &[("customer", customer)],
        None,
    )
    .await
}

async fn event_types(fake: &Fake) -> Vec<String> {
    let events = fake.get("/v1/events", &[("limit", "100")]).await.body;
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// A request: method, path and form pairs.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

async fn behaviours(fake: &Fake, patch: Value) {
    let reply = fake.control("POST", "/_fake/behaviours", Some(patch)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn new_objects_have_the_fixture_key_sets() {
    let fake = Fake::start().await;
    let fixtures = fixtures();
    let customer = fake.customer_id().await;

    let intent = create_intent(&fake, &[("customer", &customer)]).await;
    let mut expected = fixture_keys("setup_intent");
    // endive adds `allowed_payment_method_types` (changelog 2026-07-29 / 2026-09-30).
    expected.insert("allowed_payment_method_types".into());
    assert_eq!(keys(&intent), expected);
    assert_eq!(intent["status"], "requires_payment_method");
    assert_eq!(intent["usage"], "off_session");
    assert_eq!(
        intent["automatic_payment_methods"],
        json!({"enabled": true})
    );
    assert_eq!(id(&intent).len(), "seti_".len() + 24);

    let pm = attach(&fake, "pm_card_visa", &customer).await.body;
    assert_eq!(keys(&pm), fixture_keys("payment_method"));
    let card_keys = keys(&fixtures["resources"]["payment_method"]["card"]);
    assert_eq!(keys(&pm["card"]), card_keys);
    assert_eq!(
        keys(&pm["billing_details"]),
        keys(&fixtures["resources"]["payment_method"]["billing_details"])
    );
    let clock = fake.control("GET", "/_fake/clock", None).await.body;
    let year = 1970 + clock["now"].as_i64().unwrap() / 31_556_952;
    assert_eq!(pm["card"]["exp_year"], year + 3);
    assert_eq!(pm["card"]["exp_month"], 12);
    assert_eq!(id(&pm).len(), "pm_".len() + 24);
    let again = attach(&fake, "pm_card_visa", &customer).await.body;
    assert_ne!(
        id(&again),
        id(&pm),
        "every use of a token makes a new object"
    );
    assert_eq!(again["card"]["fingerprint"], pm["card"]["fingerprint"]);

    let session = fake
        .post(
            "/v1/billing_portal/sessions",
            &[
                ("customer", &customer),
                ("return_url", RETURN_URL),
                ("flow_data[type]", "payment_method_update"),
            ],
            None,
        )
        .await
        .body;
    assert_eq!(keys(&session), fixture_keys("billing_portal.session"));
    let flow = &fixtures["resources"]["billing_portal.session"]["flow"];
    assert_eq!(keys(&session["flow"]), keys(flow));
    assert_eq!(
        keys(&session["flow"]["after_completion"]),
        keys(&flow["after_completion"])
    );
    assert_eq!(
        session["flow"]["after_completion"]["type"],
        "portal_homepage"
    );
    assert_eq!(session["livemode"], false);
}

#[tokio::test]
async fn unknown_removed_and_unmodelled_parameters_are_refused() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let intent = id(&create_intent(&fake, &[]).await);
    let pm = id(&attach(&fake, "pm_card_visa", &customer).await.body);
    let cases: Vec<Case> = vec![
        ("POST", "/v1/setup_intents".into(), vec![("bogus", "1")]),
        (
            "POST",
            "/v1/setup_intents".into(),
            vec![("automatic_payment_methods[bogus]", "1")],
        ),
        (
            "POST",
            format!("/v1/setup_intents/{intent}/confirm"),
            vec![("customer", &customer)],
        ),
        (
            "POST",
            format!("/v1/setup_intents/{intent}/cancel"),
            vec![("bogus", "1")],
        ),
        (
            "GET",
            format!("/v1/setup_intents/{intent}"),
            vec![("bogus", "1")],
        ),
        (
            "GET",
            format!("/v1/payment_methods/{pm}"),
            vec![("bogus", "1")],
        ),
        (
            "POST",
            format!("/v1/payment_methods/{pm}/detach"),
            vec![("customer", &customer)],
        ),
        (
            "POST",
            format!("/v1/payment_methods/{pm}/attach"),
            vec![("customer", &customer), ("bogus", "1")],
        ),
        (
            "GET",
            format!("/v1/customers/{customer}/payment_methods"),
            vec![("customer", &customer)],
        ),
        ("GET", "/v1/payment_methods".into(), vec![("created", "1")]),
        (
            "POST",
            "/v1/billing_portal/sessions".into(),
            vec![("customer", &customer), ("bogus", "1")],
        ),
        (
            "POST",
            "/v1/billing_portal/sessions".into(),
            vec![("customer", &customer), ("flow_data[bogus]", "1")],
        ),
    ];
    for (method, path, pairs) in &cases {
        let reply = if *method == "GET" {
            fake.get(path, pairs).await
        } else {
            fake.post(path, pairs, None).await
        };
        assert_eq!(reply.status, 400, "{method} {path}: {}", reply.body);
        assert_eq!(reply.error_code(), "parameter_unknown", "{method} {path}");
    }

    let removed = fake
        .post(
            "/v1/setup_intents",
            &[("payment_method_types[]", "card")],
            None,
        )
        .await;
    assert_eq!(removed.status, 400);
    assert_eq!(
        removed.error_code(),
        "payment_method_types_no_longer_supported"
    );
    assert_eq!(removed.body["error"]["param"], "payment_method_types");

    for (path, pairs) in [
        (
            "/v1/setup_intents",
            vec![(
                "payment_method_options[card][request_three_d_secure]",
                "any",
            )],
        ),
        (
            "/v1/billing_portal/sessions",
            vec![
                ("customer", customer.as_str()),
                ("flow_data[type]", "subscription_cancel"),
                ("flow_data[subscription_cancel][subscription]", "sub_1"),
            ],
        ),
        (
            "/v1/billing_portal/sessions",
            vec![("customer_account", "acct_1")],
        ),
    ] {
        let reply = fake.post(path, &pairs, None).await;
        assert_eq!(reply.status, 400, "{path}");
        let message = reply.error_message();
        assert!(message.contains("does not implement"), "{message}");
    }

    // Sessions cannot be retrieved or listed.
    for path in [
        "/v1/billing_portal/sessions".to_owned(),
        "/v1/billing_portal/sessions/bps_123".to_owned(),
    ] {
        let reply = fake.get(&path, &[]).await;
        assert_eq!(reply.status, 404);
        let message = reply.error_message();
        assert!(message.starts_with("Unrecognized request URL"), "{message}");
    }
}

#[tokio::test]
async fn declining_tokens_cannot_be_attached_or_set_up() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let cases = [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        (
            "pm_card_visa_chargeDeclined",
            "card_declined",
            "generic_decline",
        ),
        (
            "pm_card_visa_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
        ),
        (
            "pm_card_visa_chargeDeclinedLostCard",
            "card_declined",
            "lost_card",
        ),
        (
            "pm_card_chargeDeclinedExpiredCard",
            "expired_card",
            "expired_card",
        ),
        (
            "pm_card_chargeDeclinedIncorrectCvc",
            "incorrect_cvc",
            "incorrect_cvc",
        ),
        (
            "pm_card_chargeDeclinedProcessingError",
            "processing_error",
            "processing_error",
        ),
    ];
    for (token, code, decline_code) in cases {
        let reply = attach(&fake, token, &customer).await;
        assert_eq!(reply.status, 402, "{token}: {}", reply.body);
        assert_eq!(reply.body["error"]["type"], "card_error", "{token}");
        assert_eq!(reply.error_code(), code, "{token}");
        assert_eq!(reply.body["error"]["decline_code"], decline_code, "{token}");
    }
    let listed = fake
        .get(&format!("/v1/customers/{customer}/payment_methods"), &[])
        .await;
    assert_eq!(listed.body["data"], json!([]));

    let intent = id(&create_intent(&fake, &[("customer", &customer)]).await);
    let declined = confirm(
        &fake,
        &intent,
        &[
            ("payment_method", "pm_card_chargeDeclined"),
            ("return_url", RETURN_URL),
        ],
    )
    .await;
    assert_eq!(declined.status, 402);
    let error = &declined.body["error"];
    assert_eq!(error["setup_intent"]["status"], "requires_payment_method");
    assert_eq!(
        error["setup_intent"]["last_setup_error"]["decline_code"],
        "generic_decline"
    );
    assert_eq!(error["payment_method"]["card"]["last4"], "0002");
    let types = event_types(&fake).await;
    assert_eq!(types[0], "setup_intent.setup_failed");
    assert!(!types.contains(&"payment_method.attached".to_owned()));

    // This one attaches; its charges fail later (recorded for phase 3).
    let fails_later = attach(&fake, "pm_card_chargeCustomerFail", &customer).await;
    assert_eq!(fails_later.status, 200, "{}", fails_later.body);
    let all = fake
        .control("GET", "/_fake/payment_methods", None)
        .await
        .body;
    let stored = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pm| pm["id"] == fails_later.body["id"])
        .unwrap()
        .clone();
    assert_eq!(
        stored["_fake"]["charge_outcome"],
        "declines:generic_decline"
    );
    assert_eq!(stored["_fake"]["token"], "pm_card_chargeCustomerFail");
}

#[tokio::test]
async fn attach_and_detach_follow_stripes_rules() {
    let fake = Fake::start().await;
    let (a, b) = (fake.customer_id().await, fake.customer_id().await);
    let pm = id(&attach(&fake, "pm_card_visa", &a).await.body);

    let elsewhere = attach(&fake, &pm, &b).await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.body);
    assert_eq!(elsewhere.error_code(), "payment_method_unexpected_state");
    let same = attach(&fake, &pm, &a).await;
    assert_eq!(same.status, 200);
    assert_eq!(
        event_types(&fake)
            .await
            .iter()
            .filter(|t| *t == "payment_method.attached")
            .count(),
        1,
        "attaching to the same customer again changes nothing"
    );

    let missing_customer = fake
        .post(&format!("/v1/payment_methods/{pm}/attach"), &[], None)
        .await;
    assert_eq!(missing_customer.error_code(), "parameter_missing");
    let unknown_customer = attach(&fake, "pm_card_visa", "cus_nope").await;
    assert_eq!(unknown_customer.status, 400);
    assert_eq!(unknown_customer.error_code(), "resource_missing");
    assert_eq!(unknown_customer.body["error"]["param"], "customer");
    let unknown_pm = attach(&fake, "pm_nope", &a).await;
    assert_eq!(unknown_pm.status, 404);
    assert_eq!(
        unknown_pm.body["error"]["message"],
        "No such PaymentMethod: 'pm_nope'"
    );

    let by_customer = fake
        .get(&format!("/v1/customers/{a}/payment_methods/{pm}"), &[])
        .await;
    assert_eq!(by_customer.status, 200);
    let wrong_customer = fake
        .get(&format!("/v1/customers/{b}/payment_methods/{pm}"), &[])
        .await;
    assert_eq!(wrong_customer.status, 404);

    let detach_path = format!("/v1/payment_methods/{pm}/detach");
    let detached = fake.post(&detach_path, &[], None).await;
    assert_eq!(detached.status, 200);
    assert_eq!(detached.body["customer"], Value::Null);
    let events = fake
        .get("/v1/events", &[("type", "payment_method.detached")])
        .await
        .body;
    assert_eq!(
        events["data"][0]["data"]["previous_attributes"],
        json!({"customer": a})
    );
    let twice = fake.post(&detach_path, &[], None).await;
    assert_eq!(twice.status, 400);
    assert_eq!(twice.error_code(), "payment_method_unexpected_state");
    for customer in [&a, &b] {
        let reattach = attach(&fake, &pm, customer).await;
        assert_eq!(reattach.status, 400, "detachment is permanent");
    }
    let retrieved = fake.get(&format!("/v1/payment_methods/{pm}"), &[]).await;
    assert_eq!(retrieved.status, 200);
    let all = fake
        .control("GET", "/_fake/payment_methods", None)
        .await
        .body;
    assert_eq!(all["data"][0]["id"], pm.as_str());
    assert_eq!(all["data"][0]["_fake"]["detached"], true);

    // Lists: only attached ones, filters, url, and the customer must exist.
    fake.attach_cards(&a, "pm_card_mastercard", 3).await;
    let listed = fake
        .get(
            "/v1/payment_methods",
            &[("customer", &a), ("type", "card"), ("limit", "2")],
        )
        .await
        .body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert_eq!(listed["has_more"], true);
    assert_eq!(listed["url"], "/v1/payment_methods");
    let account_level = fake.get("/v1/payment_methods", &[]).await;
    assert_eq!(account_level.body["data"], json!([]), "no customer: none");
    let none = fake
        .get(
            &format!("/v1/customers/{a}/payment_methods"),
            &[("allow_redisplay", "always")],
        )
        .await;
    assert_eq!(none.body["data"], json!([]));
    let bad_limit = fake
        .get(
            &format!("/v1/customers/{a}/payment_methods"),
            &[("limit", "101")],
        )
        .await;
    assert_eq!(bad_limit.status, 400);
    let no_customer = fake
        .get("/v1/customers/cus_nope/payment_methods", &[])
        .await;
    assert_eq!(no_customer.status, 404);
}

#[tokio::test]
async fn detach_clears_the_default_as_the_switch_says() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let path = format!("/v1/customers/{customer}");
    let cards = fake.attach_cards(&customer, "pm_card_visa", 2).await;

    for (clears, pm) in [(true, &cards[0]), (false, &cards[1])] {
        behaviours(&fake, json!({"detach_clears_default": clears})).await;
        let set = fake
            .post(
                &path,
                &[("invoice_settings[default_payment_method]", pm)],
                None,
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.body);
        let detach = fake
            .post(&format!("/v1/payment_methods/{pm}/detach"), &[], None)
            .await;
        assert_eq!(detach.status, 200);
        let after = fake.get(&path, &[]).await.body;
        let default = &after["invoice_settings"]["default_payment_method"];
        let types = event_types(&fake).await;
        if clears {
            assert_eq!(*default, Value::Null);
            assert_eq!(types[..2], ["customer.updated", "payment_method.detached"]);
            let update = &fake
                .get("/v1/events", &[("type", "customer.updated")])
                .await
                .body["data"][0];
            assert_eq!(
                update["data"]["previous_attributes"],
                json!({"invoice_settings": {"default_payment_method": pm}})
            );
        } else {
            assert_eq!(default, pm.as_str());
            assert_eq!(types[0], "payment_method.detached");
        }
    }
}

#[tokio::test]
async fn the_default_payment_method_must_be_attached_to_the_customer() {
    let fake = Fake::start().await;
    let (a, b) = (fake.customer_id().await, fake.customer_id().await);
    let theirs = fake.attach_cards(&b, "pm_card_visa", 1).await.remove(0);
    let mine = fake.attach_cards(&a, "pm_card_visa", 1).await.remove(0);
    let path = format!("/v1/customers/{a}");
    let param = "invoice_settings[default_payment_method]";
    for (pm, message) in [
        ("pm_nope", "No such PaymentMethod: 'pm_nope'".to_owned()),
        (
            theirs.as_str(),
            format!(
                "The customer does not have a payment method with the ID {theirs}. The payment \
                 method must be attached to the customer."
            ),
        ),
    ] {
        let reply = fake.post(&path, &[(param, pm)], None).await;
        assert_eq!(reply.status, 400, "{pm}");
        assert_eq!(reply.error_code(), "resource_missing");
        assert_eq!(reply.body["error"]["param"], param);
        assert_eq!(reply.body["error"]["message"], message.as_str());
    }
    let set = fake.post(&path, &[(param, &mine)], None).await;
    assert_eq!(
        set.body["invoice_settings"]["default_payment_method"],
        mine.as_str()
    );
    let expanded = fake
        .get(
            &path,
            &[("expand[]", "invoice_settings.default_payment_method")],
        )
        .await;
    assert_eq!(
        expanded.body["invoice_settings"]["default_payment_method"]["card"]["last4"],
        "4242"
    );
    let cleared = fake.post(&path, &[(param, "")], None).await;
    assert_eq!(
        cleared.body["invoice_settings"]["default_payment_method"],
        Value::Null
    );
    let on_create = fake.post("/v1/customers", &[(param, &mine)], None).await;
    assert_eq!(on_create.status, 400);
}

#[tokio::test]
async fn setup_intent_statuses_and_state_rules() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;

    let with_pm = create_intent(
        &fake,
        &[
            ("customer", &customer),
            ("payment_method", "pm_card_mastercard"),
        ],
    )
    .await;
    assert_eq!(with_pm["status"], "requires_confirmation");
    let intent = id(&with_pm);

    // Automatic payment methods may redirect: a server-side confirm needs return_url.
    let no_return = confirm(&fake, &intent, &[]).await;
    assert_eq!(no_return.status, 400, "{}", no_return.body);
    assert_eq!(no_return.body["error"]["param"], "return_url");
    behaviours(&fake, json!({"confirm_requires_return_url": false})).await;
    let done = confirm(&fake, &intent, &[]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "succeeded");
    behaviours(&fake, json!({"confirm_requires_return_url": true})).await;

    let again = confirm(&fake, &intent, &[("return_url", RETURN_URL)]).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.error_code(), "setup_intent_unexpected_state");
    let cancel = fake
        .post(&format!("/v1/setup_intents/{intent}/cancel"), &[], None)
        .await;
    assert_eq!(cancel.error_code(), "setup_intent_unexpected_state");

    let never = create_intent(
        &fake,
        &[
            ("automatic_payment_methods[enabled]", "true"),
            ("automatic_payment_methods[allow_redirects]", "never"),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
        ],
    )
    .await;
    assert_eq!(never["status"], "succeeded");
    assert_eq!(never["customer"], Value::Null);
    let pm = never["payment_method"].as_str().unwrap();
    let unattached = fake.get(&format!("/v1/payment_methods/{pm}"), &[]).await;
    assert_eq!(unattached.body["customer"], Value::Null);

    let allowed = create_intent(
        &fake,
        &[
            ("allowed_payment_method_types[]", "card"),
            ("allowed_payment_method_types[]", "sepa_debit"),
            ("usage", "on_session"),
        ],
    )
    .await;
    assert_eq!(allowed["automatic_payment_methods"], Value::Null);
    assert_eq!(allowed["payment_method_types"], json!(["card"]));
    assert_eq!(allowed["usage"], "on_session");

    let bad = [
        vec![("confirm", "true")],
        vec![("return_url", RETURN_URL)],
        vec![("usage", "sometimes")],
        vec![("customer", "cus_nope")],
        vec![("payment_method", "pm_nope")],
        vec![
            ("allowed_payment_method_types[]", "card"),
            ("automatic_payment_methods[enabled]", "true"),
        ],
    ];
    for pairs in &bad {
        let reply = fake.post("/v1/setup_intents", pairs, None).await;
        assert_eq!(reply.status, 400, "{pairs:?}: {}", reply.body);
    }

    // 3D Secure: the challenge can fail too.
    let three_ds = id(&create_intent(&fake, &[("customer", &customer)]).await);
    let action = confirm(
        &fake,
        &three_ds,
        &[
            ("payment_method", "pm_card_authenticationRequiredOnSetup"),
            ("return_url", RETURN_URL),
        ],
    )
    .await
    .body;
    assert_eq!(action["status"], "requires_action");
    assert_eq!(action["next_action"]["type"], "use_stripe_sdk");
    let authenticate = format!("/_fake/setup_intents/{three_ds}/authenticate");
    let failed = fake
        .control("POST", &authenticate, Some(json!({"fail": true})))
        .await;
    assert_eq!(failed.status, 200);
    assert_eq!(failed.body["status"], "requires_payment_method");
    assert_eq!(
        failed.body["last_setup_error"]["code"],
        "setup_intent_authentication_failure"
    );
    let not_waiting = fake.control("POST", &authenticate, None).await;
    assert_eq!(not_waiting.status, 409);
    let unknown = fake
        .control("POST", "/_fake/setup_intents/seti_nope/authenticate", None)
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(event_types(&fake).await[0], "setup_intent.setup_failed");

    let canceled = fake
        .post(
            &format!("/v1/setup_intents/{three_ds}/cancel"),
            &[("cancellation_reason", "requested_by_customer")],
            None,
        )
        .await;
    assert_eq!(canceled.body["status"], "canceled");
    assert_eq!(
        canceled.body["cancellation_reason"],
        "requested_by_customer"
    );
    assert_eq!(event_types(&fake).await[0], "setup_intent.canceled");
    let missing = fake.get("/v1/setup_intents/seti_nope", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body["error"]["message"],
        "No such setupintent: 'seti_nope'"
    );
}

#[tokio::test]
async fn publishable_keys_only_reach_an_intent_with_its_client_secret() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let intent = create_intent(
        &fake,
        &[("customer", &customer), ("metadata[org_id]", "o1")],
    )
    .await;
    let (seti, secret) = (id(&intent), intent["client_secret"].as_str().unwrap());

    let forbidden = fake.post_as(PK, "/v1/customers", &[], None).await;
    assert_eq!(forbidden.status, 401);
    let message = forbidden.error_message();
    assert!(message.starts_with("This API call cannot be made with a publishable API key"));
    for path in [
        format!("/v1/setup_intents/{seti}/cancel"),
        "/v1/setup_intents".to_owned(),
        "/v1/payment_methods/pm_card_visa/attach".to_owned(),
    ] {
        let reply = fake
            .post_as(PK, &path, &[("client_secret", secret)], None)
            .await;
        assert_eq!(reply.status, 401, "{path}");
    }
    let live = fake
        .get_as("pk_live_nope", &format!("/v1/setup_intents/{seti}"), &[])
        .await;
    assert_eq!(live.status, 401);

    let path = format!("/v1/setup_intents/{seti}");
    let no_secret = fake.get_as(PK, &path, &[]).await;
    assert_eq!(no_secret.status, 400);
    assert_eq!(no_secret.error_code(), "parameter_missing");
    let wrong = fake
        .get_as(PK, &path, &[("client_secret", "seti_x_secret_y")])
        .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.body["error"]["param"], "client_secret");
    let visible = fake.get_as(PK, &path, &[("client_secret", secret)]).await;
    assert_eq!(visible.status, 200);
    let expected: BTreeSet<String> = [
        "id",
        "object",
        "cancellation_reason",
        "client_secret",
        "created",
        "description",
        "last_setup_error",
        "livemode",
        "next_action",
        "payment_method",
        "payment_method_types",
        "status",
        "usage",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(keys(&visible.body), expected, "no customer, no metadata");

    let with_secret_key = confirm(
        &fake,
        &seti,
        &[
            ("client_secret", "wrong"),
            ("payment_method", "pm_card_visa"),
        ],
    )
    .await;
    assert_eq!(
        with_secret_key.status, 400,
        "a wrong secret is refused with sk too"
    );

    let confirmed = fake
        .post_as(
            PK,
            &format!("{path}/confirm"),
            &[
                ("client_secret", secret),
                ("payment_method", "pm_card_visa"),
                ("return_url", RETURN_URL),
            ],
            None,
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["status"], "succeeded");
    assert!(confirmed.body.get("customer").is_none());
    let listed = fake
        .get(&format!("/v1/customers/{customer}/payment_methods"), &[])
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);

    // Browsers call cross-origin: preflights and response headers.
    let (status, headers, _) = fake
        .raw(
            fake.http()
                .request(
                    reqwest::Method::OPTIONS,
                    fake.url(&format!("{path}/confirm")),
                )
                .header("origin", "http://127.0.0.1:5173")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(
        headers["access-control-allow-headers"],
        "authorization, content-type"
    );
    let (status, headers, _) = fake
        .raw(
            fake.http()
                .get(format!("{}?client_secret={secret}", fake.url(&path)))
                .bearer_auth(PK)
                .header("origin", "http://127.0.0.1:5173"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn setup_intent_create_replays_under_its_idempotency_key() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let pairs = [
        ("customer", customer.as_str()),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
        ("return_url", RETURN_URL),
    ];
    let first = fake.post("/v1/setup_intents", &pairs, Some("si-1")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = fake.post("/v1/setup_intents", &pairs, Some("si-1")).await;
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.body, first.body);
    let types = event_types(&fake).await;
    for once in [
        "setup_intent.created",
        "payment_method.attached",
        "setup_intent.succeeded",
    ] {
        assert_eq!(types.iter().filter(|t| *t == once).count(), 1, "{once}");
    }
    let listed = fake
        .get(&format!("/v1/customers/{customer}/payment_methods"), &[])
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);

    // The replayed decline is the saved 402, not a second attempt.
    let decline = [
        ("customer", customer.as_str()),
        ("payment_method", "pm_card_chargeDeclined"),
        ("confirm", "true"),
        ("return_url", RETURN_URL),
    ];
    let first = fake.post("/v1/setup_intents", &decline, Some("si-2")).await;
    let second = fake.post("/v1/setup_intents", &decline, Some("si-2")).await;
    assert_eq!((first.status, second.status), (402, 402));
    assert_eq!(second.body, first.body);
    let failed = event_types(&fake).await;
    assert_eq!(
        failed
            .iter()
            .filter(|t| *t == "setup_intent.setup_failed")
            .count(),
        1
    );
}

#[tokio::test]
async fn portal_sessions_link_to_a_page_that_leads_back() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let return_url = "http://127.0.0.1:5173/billing?from=portal&x=1";
    let session = fake
        .post(
            "/v1/billing_portal/sessions",
            &[
                ("customer", &customer),
                ("return_url", return_url),
                ("locale", "en-GB"),
                ("flow_data[type]", "payment_method_update"),
                ("flow_data[after_completion][type]", "redirect"),
                (
                    "flow_data[after_completion][redirect][return_url]",
                    return_url,
                ),
            ],
            None,
        )
        .await;
    assert_eq!(session.status, 200, "{}", session.body);
    let body = &session.body;
    assert_eq!(body["locale"], "en-GB");
    assert_eq!(
        body["flow"]["after_completion"]["redirect"]["return_url"],
        return_url
    );
    let url = body["url"].as_str().unwrap();
    assert_eq!(url, fake.url(&format!("/_fake/portal/{}", id(body))));
    let (status, headers, html) = fake.raw(fake.http().get(url)).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.contains(&customer), "{html}");
    assert!(
        html.contains(r#"href="http://127.0.0.1:5173/billing?from=portal&amp;x=1""#),
        "{html}"
    );
    let (status, _, _) = fake
        .raw(fake.http().get(fake.url("/_fake/portal/bps_nope")))
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        event_types(&fake).await[0],
        "billing_portal.session.created"
    );

    let deleted = fake.customer_id().await;
    fake.delete(&format!("/v1/customers/{deleted}")).await;
    for pairs in [
        vec![("customer", deleted.as_str())],
        vec![],
        vec![("customer", customer.as_str()), ("locale", "xx")],
        vec![("customer", customer.as_str()), ("configuration", "cfg_1")],
        vec![("customer", customer.as_str()), ("return_url", "nope")],
        vec![
            ("customer", customer.as_str()),
            ("flow_data[type]", "payment_method_update"),
            ("flow_data[after_completion][type]", "redirect"),
        ],
    ] {
        let reply = fake.post("/v1/billing_portal/sessions", &pairs, None).await;
        assert_eq!(reply.status, 400, "{pairs:?}: {}", reply.body);
    }
}

#[tokio::test]
async fn reset_clears_payment_state() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    fake.attach_cards(&customer, "pm_card_visa", 2).await;
    let intent = id(&create_intent(&fake, &[("customer", &customer)]).await);
    fake.control("POST", "/_fake/reset", None).await;
    let all = fake.control("GET", "/_fake/payment_methods", None).await;
    assert_eq!(all.body["data"], json!([]));
    let gone = fake.get(&format!("/v1/setup_intents/{intent}"), &[]).await;
    assert_eq!(gone.status, 404);
    let declining = fake
        .control(
            "POST",
            &format!("/_fake/customers/{customer}/payment_methods"),
            Some(json!({"token": "pm_card_visa"})),
        )
        .await;
    assert_eq!(declining.status, 404, "the customer went with the reset");
}

#[tokio::test]
async fn setup_intents_are_listed_per_customer_newest_first_with_their_metadata() {
    let fake = Fake::start().await;
    let (first, second) = (fake.customer_id().await, fake.customer_id().await);
    let older = create_intent(
        &fake,
        &[
            ("customer", &first),
            ("metadata[billing_request_key]", "k1"),
        ],
    )
    .await;
    let newer = create_intent(
        &fake,
        &[
            ("customer", &first),
            ("metadata[billing_request_key]", "k2"),
        ],
    )
    .await;
    create_intent(&fake, &[("customer", &second)]).await;
    let listed = fake.get("/v1/setup_intents", &[("customer", &first)]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let data = listed.body["data"].as_array().unwrap();
    assert_eq!(
        data.iter().map(id).collect::<Vec<_>>(),
        [id(&newer), id(&older)]
    );
    assert_eq!(data[1]["metadata"]["billing_request_key"], "k1");
    assert!(
        data[0]["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(&id(&newer))
    );
    // A publishable key cannot list.
    let refused = fake
        .get_as(PK, "/v1/setup_intents", &[("customer", &first)])
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
}
