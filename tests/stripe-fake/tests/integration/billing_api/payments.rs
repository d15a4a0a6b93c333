//! Payments after the first attempt: `POST /v1/invoices/:id/pay`, PaymentIntents confirmed
//! with a publishable key and their 3D Secure challenge, pending updates, automatic retries and
//! the test cards on each path.

use serde_json::{Value, json};

use super::{DAY, id, ok, period, subscribed, subscription};
use crate::support::{Fake, Reply};

const PK: &str = "pk_test_stripe_fake";

async fn switch(fake: &Fake, behaviours: Value) {
    let reply = fake
        .control("POST", "/_fake/behaviours", Some(behaviours))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn invoice(fake: &Fake, invoice: &str, expand: &[&str]) -> Value {
    let pairs: Vec<(&str, &str)> = expand.iter().map(|e| ("expand[]", *e)).collect();
    ok(&fake.get(&format!("/v1/invoices/{invoice}"), &pairs).await).clone()
}

async fn pay(fake: &Fake, invoice: &str, pairs: &[(&str, &str)]) -> Reply {
    fake.post(&format!("/v1/invoices/{invoice}/pay"), pairs, None)
        .await
}

/// The invoice's PaymentIntent (through the includable `payments`).
async fn intent_of(fake: &Fake, invoice_id: &str) -> Value {
    let invoice = invoice(fake, invoice_id, &["payments"]).await;
    let payment = &invoice["payments"]["data"][0];
    assert_eq!(payment["payment"]["type"], "payment_intent");
    let intent = payment["payment"]["payment_intent"].as_str().unwrap();
    ok(&fake
        .get(&format!("/v1/payment_intents/{intent}"), &[])
        .await)
    .clone()
}

async fn fail_next_payment(fake: &Fake, subscription: &str) {
    let path = format!("/_fake/subscriptions/{subscription}/fail_next_payment");
    assert_eq!(fake.control("POST", &path, None).await.status, 200);
}

/// Makes `token` the customer's invoice default (a new card attached through the control API).
async fn set_default(fake: &Fake, customer: &str, token: &str) -> String {
    let pm = fake.attach_cards(customer, token, 1).await.remove(0);
    let path = format!("/v1/customers/{customer}");
    let pairs = [("invoice_settings[default_payment_method]", pm.as_str())];
    ok(&fake.post(&path, &pairs, None).await);
    pm
}

/// A subscription whose renewal failed: its id and the open renewal invoice's id.
async fn failed_renewal(fake: &Fake, token: &str) -> (String, String, String) {
    let (customer, _, sub) = subscribed(fake, "starter_monthly").await;
    set_default(fake, &customer, token).await;
    let end = period(&sub).1;
    fake.advance(end - fake.now().await).await;
    let renewed = subscription(fake, id(&sub), &[]).await;
    assert_ne!(renewed["status"], "active");
    let invoice = renewed["latest_invoice"].as_str().unwrap().to_owned();
    (customer, id(&sub).to_owned(), invoice)
}

#[tokio::test]
async fn paying_an_invoice_charges_declines_or_asks_for_authentication() {
    let fake = Fake::start().await;
    let (customer, sub, open) = failed_renewal(&fake, "pm_card_chargeCustomerFail").await;
    assert_eq!(invoice(&fake, &open, &[]).await["attempt_count"], 1);

    // The failing default declines again: 402 with the card's codes and the PaymentIntent.
    let declined = pay(&fake, &open, &[]).await;
    assert_eq!(declined.status, 402, "{}", declined.body);
    let error = &declined.body["error"];
    assert_eq!(error["type"], "card_error");
    assert_eq!(error["code"], "card_declined");
    assert_eq!(error["decline_code"], "generic_decline");
    assert_eq!(error["payment_intent"]["status"], "requires_payment_method");
    let last = &error["payment_intent"]["last_payment_error"];
    assert_eq!(last["decline_code"], "generic_decline");
    assert!(last["payment_method"]["id"].is_string());
    let after = invoice(&fake, &open, &[]).await;
    assert_eq!(after["status"], "open");
    assert_eq!(
        after["attempt_count"], 1,
        "only the first and automatic attempts count"
    );
    assert_eq!(fake.events_of("invoice.payment_failed").await.len(), 2);

    // A payment method of another customer (or a token) is refused; the customer's own pays.
    let refused = pay(&fake, &open, &[("payment_method", "pm_card_visa")]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["error"]["param"], "payment_method");
    let visa = fake
        .attach_cards(&customer, "pm_card_visa", 1)
        .await
        .remove(0);
    let paid = pay(
        &fake,
        &open,
        &[("payment_method", visa.as_str()), ("expand[]", "payments")],
    )
    .await;
    assert_eq!(ok(&paid)["status"], "paid");
    assert_eq!(paid.body["amount_paid"], 1000);
    assert_eq!(paid.body["payments"]["data"][0]["status"], "paid");
    assert_eq!(subscription(&fake, &sub, &[]).await["status"], "active");
    let intent = intent_of(&fake, &open).await;
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["payment_method"], visa.as_str());
    assert_eq!(intent["amount_received"], 1000);
    assert_eq!(fake.events_of("payment_intent.succeeded").await.len(), 2);

    let again = pay(&fake, &open, &[]).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body["error"]["message"], "Invoice is already paid");

    // A card needing 3D Secure: 402 invoice_payment_intent_requires_action, the intent waits.
    let (_, _, action) = failed_renewal(&fake, "pm_card_authenticationRequired").await;
    let needs = invoice(&fake, &action, &[]).await;
    assert_eq!(
        needs["next_payment_attempt"],
        Value::Null,
        "3DS failures are not retried"
    );
    let reply = pay(&fake, &action, &[]).await;
    assert_eq!(reply.status, 402, "{}", reply.body);
    assert_eq!(reply.error_code(), "invoice_payment_intent_requires_action");
    assert!(
        reply
            .error_message()
            .starts_with("This payment requires additional user action")
    );
    let waiting = intent_of(&fake, &action).await;
    assert_eq!(waiting["status"], "requires_action");
    assert_eq!(waiting["next_action"]["type"], "use_stripe_sdk");
    // …or, under the other reading, an `authentication_required` decline.
    switch(&fake, json!({"off_session_authentication": "declines"})).await;
    let reply = pay(&fake, &action, &[]).await;
    assert_eq!(reply.status, 402);
    assert_eq!(reply.error_code(), "authentication_required");
    assert_eq!(
        intent_of(&fake, &action).await["status"],
        "requires_payment_method"
    );

    // No payment method at all, and a voided invoice.
    let nobody = fake.customer_id().await;
    let pro = fake.price_id("pro_monthly").await;
    let incomplete = ok(&fake.subscribe(&nobody, &pro, &[]).await).clone();
    let first = incomplete["latest_invoice"].as_str().unwrap();
    let reply = pay(&fake, first, &[]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.error_message().contains("no attached payment source"));
    fake.advance(23 * 3600).await;
    let reply = pay(&fake, first, &[]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["error"]["message"],
        "Voided invoices cannot be paid."
    );
    assert_eq!(intent_of(&fake, first).await["status"], "canceled");
}

#[tokio::test]
async fn payment_intents_are_confirmed_with_a_publishable_key_and_authenticated() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let pro = fake.price_id("pro_monthly").await;
    let created = fake
        .subscribe(
            &customer,
            &pro,
            &[
                ("payment_behavior", "default_incomplete"),
                ("expand[]", "latest_invoice.confirmation_secret"),
            ],
        )
        .await;
    let sub = ok(&created).clone();
    let invoice_id = id(&sub["latest_invoice"]).to_owned();
    let secret = sub["latest_invoice"]["confirmation_secret"]["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let intent_id = secret.split("_secret_").next().unwrap().to_owned();
    let path = format!("/v1/payment_intents/{intent_id}");
    let confirm = format!("{path}/confirm");

    // Stripe.js's view: the client secret is required and must match.
    let seen = fake
        .get_as(PK, &path, &[("client_secret", secret.as_str())])
        .await;
    assert_eq!(ok(&seen)["status"], "requires_payment_method");
    assert_eq!(seen.body["amount"], 3000);
    assert_eq!(
        seen.body.get("customer"),
        None,
        "not shown to a publishable key"
    );
    assert_eq!(
        fake.get_as(PK, &path, &[]).await.error_code(),
        "parameter_missing"
    );
    let wrong = fake
        .get_as(PK, &path, &[("client_secret", "pi_x_secret_y")])
        .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(
        ok(&fake.get(&path, &[]).await)["customer"],
        customer.as_str()
    );

    // A declining card: 402 with the intent back in requires_payment_method.
    let send = async |pm: &str| {
        let pairs = [("client_secret", secret.as_str()), ("payment_method", pm)];
        fake.post_as(PK, &confirm, &pairs, None).await
    };
    let declined = send("pm_card_chargeDeclinedInsufficientFunds").await;
    assert_eq!(declined.status, 402, "{}", declined.body);
    assert_eq!(declined.body["error"]["decline_code"], "insufficient_funds");
    let intent = &declined.body["error"]["payment_intent"];
    assert_eq!(intent["status"], "requires_payment_method");
    assert_eq!(intent["last_payment_error"]["code"], "card_declined");

    // 3D Secure: requires_action, then the challenge fails, then it passes.
    let action = send("pm_card_authenticationRequired").await;
    assert_eq!(ok(&action)["status"], "requires_action");
    let stripe_js = action.body["next_action"]["use_stripe_sdk"]["stripe_js"]
        .as_str()
        .unwrap();
    assert!(stripe_js.ends_with(&format!("/_fake/payment_intents/{intent_id}/authenticate")));
    let authenticate = format!("/_fake/payment_intents/{intent_id}/authenticate");
    let failed = fake
        .control("POST", &authenticate, Some(json!({"fail": true})))
        .await;
    assert_eq!(failed.body["status"], "requires_payment_method");
    assert_eq!(
        failed.body["last_payment_error"]["code"],
        "payment_intent_authentication_failure"
    );
    assert_eq!(
        ok(&send("pm_card_authenticationRequired").await)["status"],
        "requires_action"
    );
    let passed = fake.control("POST", &authenticate, None).await;
    assert_eq!(ok(&passed)["status"], "succeeded");
    assert_eq!(invoice(&fake, &invoice_id, &[]).await["status"], "paid");
    assert_eq!(subscription(&fake, id(&sub), &[]).await["status"], "active");
    assert_eq!(fake.control("POST", &authenticate, None).await.status, 409);
    let again = send("pm_card_visa").await;
    assert_eq!(again.error_code(), "payment_intent_unexpected_state");
    for event in [
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "invoice_payment.paid",
    ] {
        assert!(!fake.events_of(event).await.is_empty(), "{event}");
    }

    // Listing by customer, and reset forgets them.
    let listed = fake
        .get("/v1/payment_intents", &[("customer", customer.as_str())])
        .await;
    assert_eq!(ok(&listed)["data"][0]["id"], intent_id.as_str());
    assert_eq!(
        fake.get_as(PK, "/v1/payment_intents", &[]).await.status,
        401
    );
    fake.control("POST", "/_fake/reset", None).await;
    let listed = fake.get("/v1/payment_intents", &[]).await;
    assert_eq!(ok(&listed)["data"], json!([]));
}

#[tokio::test]
async fn pending_updates_wait_for_payment_and_expire() {
    let fake = Fake::start().await;
    let (customer, starter, sub) = subscribed(&fake, "starter_monthly").await;
    let sub_id = id(&sub).to_owned();
    let item = id(&sub["items"]["data"][0]).to_owned();
    let pro = fake.price_id("pro_monthly").await;
    let path = format!("/v1/subscriptions/{sub_id}");
    let upgrade = [
        ("items[0][id]", item.as_str()),
        ("items[0][price]", pro.as_str()),
        ("proration_behavior", "always_invoice"),
        ("payment_behavior", "pending_if_incomplete"),
    ];

    // Only the pending-update parameters are taken.
    let mut with_metadata = upgrade.to_vec();
    with_metadata.push(("metadata[k]", "v"));
    let refused = fake.post(&path, &with_metadata, None).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"]["param"], "metadata");
    let mut item_metadata = upgrade.to_vec();
    item_metadata.push(("items[0][metadata][k]", "v"));
    let refused = fake.post(&path, &item_metadata, None).await;
    assert_eq!(refused.body["error"]["param"], "items[0][metadata]");

    // The upgrade's invoice declines: 200, the subscription unchanged but for pending_update.
    fail_next_payment(&fake, &sub_id).await;
    let now = fake.now().await;
    let held = ok(&fake.post(&path, &upgrade, None).await).clone();
    assert_eq!(held["status"], "active");
    assert_eq!(held["items"]["data"][0]["price"]["id"], starter.as_str());
    let pending = &held["pending_update"];
    assert_eq!(
        pending["subscription_items"][0]["price"]["id"],
        pro.as_str()
    );
    assert_eq!(pending["expires_at"], now + 23 * 3600);
    assert_eq!(pending["billing_cycle_anchor"], Value::Null);
    let open = held["latest_invoice"].as_str().unwrap().to_owned();
    assert_eq!(invoice(&fake, &open, &[]).await["status"], "open");
    assert_eq!(
        intent_of(&fake, &open).await["status"],
        "requires_payment_method"
    );
    // Further item changes wait; other fields do not.
    let quantity = [("items[0][id]", item.as_str()), ("items[0][quantity]", "2")];
    assert_eq!(fake.post(&path, &quantity, None).await.status, 400);
    ok(&fake.post(&path, &[("metadata[k]", "v")], None).await);

    // Paying the invoice applies the change.
    let paid = pay(&fake, &open, &[]).await;
    assert_eq!(ok(&paid)["status"], "paid");
    let applied = subscription(&fake, &sub_id, &[]).await;
    assert_eq!(applied["items"]["data"][0]["price"]["id"], pro.as_str());
    assert_eq!(applied["pending_update"], Value::Null);
    assert_eq!(
        fake.events_of("customer.subscription.pending_update_applied")
            .await
            .len(),
        1
    );

    // A second held change expires after 23 hours: voided, items kept, nothing leaks into the
    // renewal.
    fail_next_payment(&fake, &sub_id).await;
    let more = [
        ("items[0][id]", item.as_str()),
        ("items[0][quantity]", "3"),
        ("proration_behavior", "always_invoice"),
        ("payment_behavior", "pending_if_incomplete"),
    ];
    let held = ok(&fake.post(&path, &more, None).await).clone();
    let voided = held["latest_invoice"].as_str().unwrap().to_owned();
    let failed_again = pay(&fake, &voided, &[("payment_method", "pm_card_visa")]).await;
    assert_eq!(failed_again.status, 400, "a token is not the customer's");
    assert_eq!(
        subscription(&fake, &sub_id, &[]).await["pending_update"]["expires_at"],
        held["pending_update"]["expires_at"]
    );
    fake.advance(23 * 3600).await;
    assert_eq!(invoice(&fake, &voided, &[]).await["status"], "void");
    let expired = subscription(&fake, &sub_id, &[]).await;
    assert_eq!(expired["pending_update"], Value::Null);
    assert_eq!(expired["items"]["data"][0]["quantity"], 1);
    assert_eq!(
        fake.events_of("customer.subscription.pending_update_expired")
            .await
            .len(),
        1
    );
    let end = period(&expired).1;
    fake.advance(end - fake.now().await).await;
    let renewed = subscription(&fake, &sub_id, &["latest_invoice"]).await;
    assert_eq!(
        renewed["latest_invoice"]["total"], 3000,
        "no proration leaks"
    );

    // 3D Secure holds the change too; authenticating applies it.
    set_default(&fake, &customer, "pm_card_authenticationRequired").await;
    let yearly = fake.price_id("pro_yearly").await;
    let switch_plan = [
        ("items[0][id]", item.as_str()),
        ("items[0][price]", yearly.as_str()),
        ("payment_behavior", "pending_if_incomplete"),
        ("cancel_at_period_end", "true"),
    ];
    let held = ok(&fake.post(&path, &switch_plan, None).await).clone();
    assert_eq!(held["cancel_at_period_end"], false);
    assert_eq!(held["pending_update"]["cancel_at_period_end"], true);
    assert!(held["pending_update"]["billing_cycle_anchor"].is_i64());
    let open = held["latest_invoice"].as_str().unwrap().to_owned();
    let intent = intent_of(&fake, &open).await;
    assert_eq!(intent["status"], "requires_action");
    let authenticate = format!("/_fake/payment_intents/{}/authenticate", id(&intent));
    ok(&fake.control("POST", &authenticate, None).await);
    let applied = subscription(&fake, &sub_id, &[]).await;
    assert_eq!(applied["items"]["data"][0]["price"]["id"], yearly.as_str());
    assert_eq!(applied["cancel_at_period_end"], true);

    // send_invoice subscriptions take no pending updates.
    let billed = fake
        .subscribe(
            &customer,
            &starter,
            &[
                ("collection_method", "send_invoice"),
                ("days_until_due", "7"),
            ],
        )
        .await;
    let billed_item = ok(&billed)["items"]["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = fake
        .post(
            &format!("/v1/subscriptions/{}", id(&billed.body)),
            &[
                ("items[0][id]", billed_item.as_str()),
                ("items[0][quantity]", "2"),
                ("payment_behavior", "pending_if_incomplete"),
            ],
            None,
        )
        .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn failed_renewals_are_retried_then_the_dunning_ends() {
    let fake = Fake::start().await;
    switch(&fake, json!({"retry_schedule_days": [1, 3]})).await;
    let (_, sub, open) = failed_renewal(&fake, "pm_card_chargeCustomerFail").await;
    assert_eq!(subscription(&fake, &sub, &[]).await["status"], "past_due");
    let first = invoice(&fake, &open, &[]).await;
    let failed_at = first["status_transitions"]["finalized_at"]
        .as_i64()
        .unwrap();
    assert_eq!(first["next_payment_attempt"], failed_at + DAY);
    fake.advance(DAY).await;
    let retried = invoice(&fake, &open, &[]).await;
    assert_eq!(retried["attempt_count"], 2);
    assert_eq!(retried["next_payment_attempt"], failed_at + 3 * DAY);
    fake.advance(2 * DAY).await;
    let last = invoice(&fake, &open, &[]).await;
    assert_eq!(last["attempt_count"], 3);
    assert_eq!(last["next_payment_attempt"], Value::Null);
    assert_eq!(last["status"], "open");
    assert_eq!(fake.events_of("invoice.payment_failed").await.len(), 3);
    let canceled = subscription(&fake, &sub, &[]).await;
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["cancellation_details"]["reason"], "payment_failed");

    // A retry charges the default of the moment: a new good card pays.
    let (customer2, sub2, open2) = failed_renewal(&fake, "pm_card_chargeCustomerFail").await;
    set_default(&fake, &customer2, "pm_card_visa").await;
    fake.advance(DAY).await;
    let paid = invoice(&fake, &open2, &[]).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["attempt_count"], 2);
    assert_eq!(subscription(&fake, &sub2, &[]).await["status"], "active");

    // The other settings: unpaid and an uncollectible invoice; later renewals are not charged.
    switch(
        &fake,
        json!({"after_last_retry": "unpaid", "invoice_after_last_retry": "uncollectible",
               "retry_schedule_days": []}),
    )
    .await;
    let (_, sub3, open3) = failed_renewal(&fake, "pm_card_chargeCustomerFail").await;
    let unpaid = subscription(&fake, &sub3, &[]).await;
    assert_eq!(unpaid["status"], "unpaid");
    assert_eq!(invoice(&fake, &open3, &[]).await["status"], "uncollectible");
    assert_eq!(
        fake.events_of("invoice.marked_uncollectible").await.len(),
        1
    );
    let failures = fake.events_of("invoice.payment_failed").await.len();
    fake.advance(period(&unpaid).1 - fake.now().await).await;
    let later = subscription(&fake, &sub3, &["latest_invoice"]).await;
    assert_eq!(later["status"], "unpaid");
    assert_eq!(later["latest_invoice"]["attempted"], false);
    assert_eq!(
        fake.events_of("invoice.payment_failed").await.len(),
        failures
    );
}

#[tokio::test]
async fn test_cards_follow_the_session_and_setup_rules() {
    let fake = Fake::start().await;
    let pro = fake.price_id("pro_monthly").await;

    // …3155 set up by a SetupIntent's 3D Secure: later payments need none, unless the switch
    // says on-session ones still do.
    let customer = fake.customer_id().await;
    let setup = fake
        .post(
            "/v1/setup_intents",
            &[
                ("customer", customer.as_str()),
                ("payment_method", "pm_card_authenticationRequiredOnSetup"),
                ("confirm", "true"),
                ("automatic_payment_methods[enabled]", "true"),
                ("automatic_payment_methods[allow_redirects]", "never"),
            ],
            None,
        )
        .await;
    assert_eq!(ok(&setup)["status"], "requires_action");
    let path = format!("/_fake/setup_intents/{}/authenticate", id(&setup.body));
    let done = fake.control("POST", &path, None).await;
    let pm = ok(&done)["payment_method"].as_str().unwrap().to_owned();
    let default = [("default_payment_method", pm.as_str())];
    assert_eq!(
        ok(&fake.subscribe(&customer, &pro, &default).await)["status"],
        "active"
    );
    switch(
        &fake,
        json!({"set_up_card_on_session": "requires_authentication"}),
    )
    .await;
    assert_eq!(
        ok(&fake.subscribe(&customer, &pro, &default).await)["status"],
        "incomplete"
    );

    // …0446: on-session payments need 3D Secure, off-session ones (renewals) succeed.
    let (customer, _) = fake
        .paying_customer("pm_card_authenticationRequiredSetupForOffSession")
        .await;
    let sub = ok(&fake.subscribe(&customer, &pro, &[]).await).clone();
    assert_eq!(sub["status"], "incomplete");
    let intent = intent_of(&fake, sub["latest_invoice"].as_str().unwrap()).await;
    assert_eq!(intent["status"], "requires_action");
    let authenticate = format!("/_fake/payment_intents/{}/authenticate", id(&intent));
    ok(&fake.control("POST", &authenticate, None).await);
    let active = subscription(&fake, id(&sub), &[]).await;
    assert_eq!(active["status"], "active");
    fake.advance(period(&active).1 - fake.now().await).await;
    assert_eq!(subscription(&fake, id(&sub), &[]).await["status"], "active");

    // Issuer declines cannot be attached; server-side attach of a good token works.
    let customer = fake.customer_id().await;
    let attach = async |token: &str| {
        let path = format!("/v1/payment_methods/{token}/attach");
        fake.post(&path, &[("customer", customer.as_str())], None)
            .await
    };
    let refused = attach("pm_card_visa_chargeDeclinedInsufficientFunds").await;
    assert_eq!(refused.status, 402);
    assert_eq!(refused.body["error"]["decline_code"], "insufficient_funds");
    assert_eq!(
        ok(&attach("pm_card_chargeCustomerFail").await)["customer"],
        customer.as_str()
    );
}

#[tokio::test]
async fn invoices_list_newest_first_with_hosted_pages() {
    let fake = Fake::start().await;
    let (customer, _, sub) = subscribed(&fake, "starter_monthly").await;
    fake.advance(period(&sub).1 - fake.now().await).await;
    let listed = fake
        .get(
            "/v1/invoices",
            &[("customer", customer.as_str()), ("limit", "1")],
        )
        .await;
    let newest = ok(&listed)["data"][0].clone();
    assert_eq!(listed.body["has_more"], true);
    assert_eq!(newest["billing_reason"], "subscription_cycle");
    for key in [
        "number",
        "hosted_invoice_url",
        "invoice_pdf",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "total",
        "period_start",
        "period_end",
        "status",
        "currency",
        "created",
    ] {
        assert!(!newest[key].is_null(), "{key}");
    }
    let older = fake
        .get(
            "/v1/invoices",
            &[
                ("customer", customer.as_str()),
                ("starting_after", id(&newest)),
            ],
        )
        .await;
    assert_eq!(
        ok(&older)["data"][0]["billing_reason"],
        "subscription_create"
    );
    let by_status = fake
        .get(
            "/v1/invoices",
            &[("subscription", id(&sub)), ("status", "open")],
        )
        .await;
    assert_eq!(ok(&by_status)["data"], json!([]));

    let page = fake
        .raw(
            fake.http()
                .get(newest["hosted_invoice_url"].as_str().unwrap()),
        )
        .await;
    assert_eq!(page.0, 200);
    assert!(page.2.contains(newest["number"].as_str().unwrap()));
    let pdf = fake
        .raw(fake.http().get(newest["invoice_pdf"].as_str().unwrap()))
        .await;
    assert_eq!(pdf.1["content-type"], "application/pdf");
    assert!(pdf.2.starts_with("%PDF-"));
}

#[tokio::test]
async fn test_clocks_expire_pending_updates_and_retry() {
    let fake = Fake::start().await;
    let now = fake.now().await;
    let clock = ok(&fake
        .post(
            "/v1/test_helpers/test_clocks",
            &[("frozen_time", now.to_string().as_str())],
            None,
        )
        .await)
    .clone();
    let customer = fake.create_customer(&[("test_clock", id(&clock))]).await;
    let customer = id(&customer).to_owned();
    set_default(&fake, &customer, "pm_card_visa").await;
    let starter = fake.price_id("starter_monthly").await;
    let sub = ok(&fake.subscribe(&customer, &starter, &[]).await).clone();
    let item = id(&sub["items"]["data"][0]).to_owned();
    fail_next_payment(&fake, id(&sub)).await;
    let held = fake
        .post(
            &format!("/v1/subscriptions/{}", id(&sub)),
            &[
                ("items[0][id]", item.as_str()),
                ("items[0][quantity]", "2"),
                ("proration_behavior", "always_invoice"),
                ("payment_behavior", "pending_if_incomplete"),
            ],
            None,
        )
        .await;
    let open = ok(&held)["latest_invoice"].as_str().unwrap().to_owned();
    // The fake clock does not move a test clock's objects; advancing the test clock does.
    fake.advance(DAY).await;
    assert_eq!(invoice(&fake, &open, &[]).await["status"], "open");
    let advance = format!("/v1/test_helpers/test_clocks/{}/advance", id(&clock));
    let target = (now + DAY).to_string();
    ok(&fake
        .post(&advance, &[("frozen_time", target.as_str())], None)
        .await);
    assert_eq!(invoice(&fake, &open, &[]).await["status"], "void");

    // A renewal failing on the clock is retried on the clock.
    set_default(&fake, &customer, "pm_card_chargeCustomerFail").await;
    let end = period(&sub).1;
    let target = end.to_string();
    ok(&fake
        .post(&advance, &[("frozen_time", target.as_str())], None)
        .await);
    let renewal = subscription(&fake, id(&sub), &[]).await["latest_invoice"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(invoice(&fake, &renewal, &[]).await["attempt_count"], 1);
    let target = (end + DAY).to_string();
    ok(&fake
        .post(&advance, &[("frozen_time", target.as_str())], None)
        .await);
    assert_eq!(invoice(&fake, &renewal, &[]).await["attempt_count"], 2);
}
