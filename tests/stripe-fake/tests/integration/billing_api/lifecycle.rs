//! Cancel at period end, renewals, trials, incomplete first invoices, detaching the default card
//! and deleting.

use super::*;

#[tokio::test]
async fn cancel_at_period_end_then_resume_then_cancel() {
    let fake = Fake::start().await;
    let (customer, _, sub) = subscribed(&fake, "pro_monthly").await;
    let sub_id = id(&sub).to_owned();
    let (_, end) = period(&sub);
    let path = format!("/v1/subscriptions/{sub_id}");
    fake.advance(DAY).await;
    let canceling = ok(&fake
        .post(&path, &[("cancel_at_period_end", "true")], None)
        .await)
    .clone();
    assert_eq!(canceling["status"], "active");
    assert_eq!(canceling["cancel_at_period_end"], true);
    assert_eq!(canceling["cancel_at"], end);
    let canceled_at = canceling["canceled_at"].as_i64().unwrap();
    assert!(
        (fake.now().await - canceled_at).abs() <= 1,
        "the request time"
    );
    let none = create_preview(&fake, sub_id.as_str(), &[]).await;
    assert_eq!(none.status, 404, "{}", none.body);
    assert_eq!(none.error_code(), "invoice_upcoming_none");
    let updated = fake.events_of("customer.subscription.updated").await;
    assert_eq!(
        updated[0]["data"]["previous_attributes"]["cancel_at_period_end"],
        false
    );

    let resumed = ok(&fake
        .post(&path, &[("cancel_at_period_end", "false")], None)
        .await)
    .clone();
    assert_eq!(resumed["cancel_at_period_end"], false);
    assert_eq!(resumed["cancel_at"], Value::Null);
    assert_eq!(resumed["canceled_at"], Value::Null);
    let preview = create_preview(&fake, sub_id.as_str(), &[]).await;
    assert_eq!(ok(&preview)["total"], 3000);

    ok(&fake
        .post(&path, &[("cancel_at_period_end", "true")], None)
        .await);
    let now = fake.now().await;
    fake.advance(end - now - 30).await;
    assert_eq!(subscription(&fake, &sub_id, &[]).await["status"], "active");
    fake.advance(30).await;
    let ended = subscription(&fake, &sub_id, &[]).await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["ended_at"], end);
    let deleted = fake.events_of("customer.subscription.deleted").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        deleted[0]["request"]["id"],
        Value::Null,
        "an automatic event"
    );
    let invoices = fake
        .get("/v1/invoices", &[("subscription", sub_id.as_str())])
        .await;
    assert_eq!(
        ok(&invoices)["data"].as_array().unwrap().len(),
        1,
        "no renewal"
    );
    let preview = create_preview(&fake, sub_id.as_str(), &[]).await;
    assert_eq!(preview.error_code(), "invoice_upcoming_none");
    let listed = fake
        .get("/v1/subscriptions", &[("customer", customer.as_str())])
        .await;
    assert_eq!(
        ok(&listed)["data"],
        json!([]),
        "canceled ones are not listed by default"
    );
    let all = fake
        .get(
            "/v1/subscriptions",
            &[("customer", customer.as_str()), ("status", "all")],
        )
        .await;
    assert_eq!(ok(&all)["data"].as_array().unwrap().len(), 1);
    let refused = fake
        .post(&path, &[("cancel_at_period_end", "false")], None)
        .await;
    assert_eq!(refused.status, 400);
    let metadata_ok = fake.post(&path, &[("metadata[k]", "v")], None).await;
    assert_eq!(metadata_ok.status, 200, "{}", metadata_ok.body);
}

#[tokio::test]
async fn renewals_follow_the_calendar_invoice_pending_items_and_fail_into_past_due() {
    let fake = Fake::start().await;
    let (customer, starter, sub) = subscribed(&fake, "starter_monthly").await;
    let sub_id = id(&sub).to_owned();
    let (start, end) = period(&sub);
    assert!(
        (28 * DAY..=31 * DAY).contains(&(end - start)),
        "a calendar month"
    );

    let now = fake.now().await;
    let advanced = fake.advance(end - now).await;
    assert!(advanced["processed"].as_i64().unwrap() >= 1);
    let renewed = subscription(&fake, &sub_id, &["latest_invoice"]).await;
    let (start2, end2) = period(&renewed);
    assert_eq!(start2, end);
    assert!((28 * DAY..=31 * DAY).contains(&(end2 - start2)));
    let invoice = &renewed["latest_invoice"];
    assert_eq!(invoice["billing_reason"], "subscription_cycle");
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["total"], 1000);
    assert_eq!(
        invoice["lines"]["data"][0]["period"],
        json!({"start": end, "end": end2})
    );
    assert_eq!(invoice["period_start"], start);
    assert_eq!(invoice["period_end"], end);

    // A failing payment makes it past_due; paying the invoice makes it active again.
    let failing = fake
        .control(
            "POST",
            &format!("/_fake/subscriptions/{sub_id}/fail_next_payment"),
            None,
        )
        .await;
    assert_eq!(failing.status, 200);
    fake.advance(end2 - end).await;
    let past_due = subscription(&fake, &sub_id, &["latest_invoice"]).await;
    assert_eq!(past_due["status"], "past_due");
    let open = &past_due["latest_invoice"];
    assert_eq!(open["status"], "open");
    assert_eq!(open["attempt_count"], 1);
    assert!(open["next_payment_attempt"].is_i64());
    assert_eq!(fake.events_of("invoice.payment_failed").await.len(), 1);
    let updated = fake.events_of("customer.subscription.updated").await;
    assert_eq!(
        updated[0]["data"]["previous_attributes"]["status"],
        "active"
    );
    let paid = fake
        .control("POST", &format!("/_fake/invoices/{}/pay", id(open)), None)
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(subscription(&fake, &sub_id, &[]).await["status"], "active");
    let again = fake
        .control("POST", &format!("/_fake/invoices/{}/pay", id(open)), None)
        .await;
    assert_eq!(again.status, 409);

    // A card that fails every charge.
    let (customer2, _) = fake.paying_customer("pm_card_chargeCustomerFail").await;
    let created = fake
        .subscribe(&customer2, &starter, &[("trial_period_days", "7")])
        .await;
    let trial = ok(&created).clone();
    assert_eq!(trial["status"], "trialing");
    fake.advance(7 * DAY).await;
    let after_trial = subscription(&fake, id(&trial), &["latest_invoice"]).await;
    assert_eq!(after_trial["status"], "past_due");
    assert_eq!(after_trial["latest_invoice"]["status"], "open");

    // Lists and lines.
    let invoices = fake
        .get(
            "/v1/invoices",
            &[("customer", customer.as_str()), ("status", "paid")],
        )
        .await;
    assert_eq!(ok(&invoices)["data"].as_array().unwrap().len(), 3);
    let lines = fake
        .get(
            &format!("/v1/invoices/{}/lines", id(open)),
            &[("limit", "1")],
        )
        .await;
    assert_eq!(ok(&lines)["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        ok(&lines)["url"],
        format!("/v1/invoices/{}/lines", id(open))
    );
}

#[tokio::test]
async fn trials_start_with_a_free_invoice_and_warn_before_they_end() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let pro = fake.price_id("pro_monthly").await;
    let created = fake
        .subscribe(
            &customer,
            &pro,
            &[("trial_period_days", "14"), ("expand[]", "latest_invoice")],
        )
        .await;
    let sub = ok(&created).clone();
    let now = sub["trial_start"].as_i64().unwrap();
    assert!((fake.now().await - now).abs() <= 1);
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["trial_end"], now + 14 * DAY);
    assert_eq!(period(&sub), (now, now + 14 * DAY));
    assert_eq!(sub["latest_invoice"]["total"], 0);
    assert_eq!(sub["latest_invoice"]["status"], "paid");
    assert!(
        sub["latest_invoice"]["lines"]["data"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Trial period for Pro")
    );
    fake.advance(10 * DAY).await;
    assert!(
        fake.events_of("customer.subscription.trial_will_end")
            .await
            .is_empty()
    );
    fake.advance(DAY + 1).await;
    assert_eq!(
        fake.events_of("customer.subscription.trial_will_end")
            .await
            .len(),
        1
    );
    fake.advance(3 * DAY).await;
    let active = subscription(&fake, id(&sub), &["latest_invoice"]).await;
    assert_eq!(active["status"], "active");
    assert_eq!(active["latest_invoice"]["total"], 3000);
    assert_eq!(period(&active).0, now + 14 * DAY);
}

#[tokio::test]
async fn incomplete_first_invoices_and_paying_them() {
    let fake = Fake::start().await;
    let pro = fake.price_id("pro_monthly").await;
    let expand = ("expand[]", "latest_invoice.confirmation_secret");

    // default_incomplete: not charged, the client confirms the PaymentIntent.
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let created = fake
        .subscribe(
            &customer,
            &pro,
            &[
                ("payment_behavior", "default_incomplete"),
                (
                    "payment_settings[save_default_payment_method]",
                    "on_subscription",
                ),
                expand,
            ],
        )
        .await;
    let sub = ok(&created).clone();
    assert_eq!(sub["status"], "incomplete");
    let invoice = &sub["latest_invoice"];
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["attempted"], false);
    let secret = &invoice["confirmation_secret"];
    assert_eq!(secret["type"], "payment_intent");
    assert!(secret["client_secret"].as_str().unwrap().starts_with("pi_"));
    assert!(fake.events_of("invoice.payment_failed").await.is_empty());
    let paid = fake
        .control(
            "POST",
            &format!("/_fake/invoices/{}/pay", id(invoice)),
            Some(json!({"payment_method": "pm_card_mastercard"})),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    let active = subscription(&fake, id(&sub), &[]).await;
    assert_eq!(active["status"], "active");
    assert!(
        active["default_payment_method"]
            .as_str()
            .unwrap()
            .starts_with("pm_"),
        "saved on the subscription"
    );
    let updated = fake.events_of("customer.subscription.updated").await;
    assert_eq!(
        updated[0]["data"]["previous_attributes"]["status"],
        "incomplete"
    );

    // 3D Secure: incomplete with a confirmation secret until the customer authenticates.
    let (customer3ds, _) = fake.paying_customer("pm_card_authenticationRequired").await;
    let created = fake.subscribe(&customer3ds, &pro, &[expand]).await;
    let sub3ds = ok(&created).clone();
    assert_eq!(sub3ds["status"], "incomplete");
    assert!(sub3ds["latest_invoice"]["confirmation_secret"]["client_secret"].is_string());
    assert_eq!(
        fake.events_of("invoice.payment_action_required")
            .await
            .len(),
        1
    );
    let paid = fake
        .control(
            "POST",
            &format!("/_fake/invoices/{}/pay", id(&sub3ds["latest_invoice"])),
            None,
        )
        .await;
    assert_eq!(paid.status, 200);
    assert_eq!(
        subscription(&fake, id(&sub3ds), &[]).await["status"],
        "active"
    );

    // allow_incomplete with a failing card: incomplete, invoice open after a failed attempt.
    let (failing, _) = fake.paying_customer("pm_card_chargeCustomerFail").await;
    let created = fake.subscribe(&failing, &pro, &[expand]).await;
    let incomplete = ok(&created).clone();
    assert_eq!(incomplete["status"], "incomplete");
    assert_eq!(incomplete["latest_invoice"]["attempt_count"], 1);
    assert_eq!(fake.events_of("invoice.payment_failed").await.len(), 1);
    // …and expires after 23 hours.
    fake.advance(23 * 3600).await;
    let expired = subscription(&fake, id(&incomplete), &["latest_invoice"]).await;
    assert_eq!(expired["status"], "incomplete_expired");
    assert_eq!(expired["latest_invoice"]["status"], "void");

    // error_if_incomplete: 402 and nothing is created.
    let refused = fake
        .subscribe(
            &failing,
            &pro,
            &[("payment_behavior", "error_if_incomplete")],
        )
        .await;
    assert_eq!(refused.status, 402, "{}", refused.body);
    assert_eq!(refused.body["error"]["type"], "card_error");
    assert_eq!(refused.body["error"]["decline_code"], "generic_decline");
    let listed = fake
        .get(
            "/v1/subscriptions",
            &[("customer", failing.as_str()), ("status", "all")],
        )
        .await;
    assert_eq!(
        ok(&listed)["data"].as_array().unwrap().len(),
        1,
        "only the expired one"
    );

    // No payment method at all: incomplete by default; refused under the switch.
    let nobody = fake.customer_id().await;
    let created = fake.subscribe(&nobody, &pro, &[]).await;
    assert_eq!(ok(&created)["status"], "incomplete");
    fake.control(
        "POST",
        "/_fake/behaviours",
        Some(json!({"missing_payment_method_fails_request": true})),
    )
    .await;
    let refused = fake.subscribe(&nobody, &pro, &[]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused
            .error_message()
            .contains("no attached payment source")
    );
    let still_incomplete = fake
        .subscribe(&nobody, &pro, &[("payment_behavior", "default_incomplete")])
        .await;
    assert_eq!(ok(&still_incomplete)["status"], "incomplete");
}

#[tokio::test]
async fn detaching_the_default_card_clears_the_subscription_default() {
    let fake = Fake::start().await;
    let customer = fake.customer_id().await;
    let pm = fake
        .attach_cards(&customer, "pm_card_visa", 1)
        .await
        .remove(0);
    let pro = fake.price_id("pro_monthly").await;
    let other = fake.customer_id().await;
    let foreign = fake.attach_cards(&other, "pm_card_visa", 1).await.remove(0);
    let refused = fake
        .subscribe(
            &customer,
            &pro,
            &[("default_payment_method", foreign.as_str())],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let sub = ok(&fake
        .subscribe(&customer, &pro, &[("default_payment_method", pm.as_str())])
        .await)
    .clone();
    assert_eq!(
        sub["status"], "active",
        "paid from the subscription's default"
    );
    ok(&fake
        .post(&format!("/v1/payment_methods/{pm}/detach"), &[], None)
        .await);
    let after = subscription(&fake, id(&sub), &[]).await;
    assert_eq!(after["default_payment_method"], Value::Null);
    let updated = fake.events_of("customer.subscription.updated").await;
    assert_eq!(
        updated[0]["data"]["previous_attributes"]["default_payment_method"],
        pm.as_str()
    );
}

/// With `detach_clears_default=false` the subscription keeps pointing at a detached card, which
/// cannot pay ("once detached, a PaymentMethod can no longer be used for payments", SEMANTICS
/// §4); `default_payment_method=` unsets it and the customer's default pays again.
#[tokio::test]
async fn a_detached_subscription_default_fails_and_unsetting_it_falls_back() {
    let fake = Fake::start().await;
    fake.control(
        "POST",
        "/_fake/behaviours",
        Some(json!({"detach_clears_default": false})),
    )
    .await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let own = fake
        .attach_cards(&customer, "pm_card_mastercard", 1)
        .await
        .remove(0);
    let pro = fake.price_id("pro_monthly").await;
    let sub = ok(&fake
        .subscribe(&customer, &pro, &[("default_payment_method", own.as_str())])
        .await)
    .clone();
    ok(&fake
        .post(&format!("/v1/payment_methods/{own}/detach"), &[], None)
        .await);
    assert_eq!(
        subscription(&fake, id(&sub), &[]).await["default_payment_method"],
        own.as_str(),
        "the reference stays under the switch"
    );
    let (_, end) = period(&sub);
    let now = fake.now().await;
    fake.advance(end - now).await;
    let failed = subscription(&fake, id(&sub), &["latest_invoice"]).await;
    assert_eq!(failed["status"], "past_due");
    assert_eq!(failed["latest_invoice"]["status"], "open");
    assert_eq!(failed["latest_invoice"]["attempt_count"], 1);
    assert!(!fake.events_of("invoice.payment_failed").await.is_empty());

    let unset = fake
        .post(
            &format!("/v1/subscriptions/{}", id(&sub)),
            &[("default_payment_method", "")],
            None,
        )
        .await;
    assert_eq!(ok(&unset)["default_payment_method"], Value::Null);
    let next_end = period(&failed).1;
    fake.advance(next_end - end).await;
    let renewed = subscription(&fake, id(&sub), &["latest_invoice"]).await;
    assert_eq!(renewed["latest_invoice"]["status"], "paid");
    assert_eq!(renewed["status"], "active");
}

#[tokio::test]
async fn delete_cancels_now_and_lists_filter() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let pro = fake.price_id("pro_monthly").await;
    let starter = fake.price_id("starter_monthly").await;
    let a = ok(&fake
        .subscribe(&customer, &pro, &[("metadata[org]", "o1")])
        .await)
    .clone();
    let b = ok(&fake.subscribe(&customer, &starter, &[]).await).clone();
    assert_eq!(a["metadata"], json!({"org": "o1"}));
    let by_price = fake
        .get("/v1/subscriptions", &[("price", starter.as_str())])
        .await;
    assert_eq!(ok(&by_price)["data"][0]["id"], id(&b));
    let canceled = fake.delete(&format!("/v1/subscriptions/{}", id(&a))).await;
    let canceled = ok(&canceled);
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["ended_at"], canceled["canceled_at"]);
    assert_eq!(
        canceled["cancellation_details"]["reason"],
        "cancellation_requested"
    );
    let twice = fake.delete(&format!("/v1/subscriptions/{}", id(&a))).await;
    assert_eq!(twice.status, 400);
    let active = fake
        .get(
            "/v1/subscriptions",
            &[("customer", customer.as_str()), ("status", "active")],
        )
        .await;
    assert_eq!(ok(&active)["data"].as_array().unwrap().len(), 1);
    let ended = fake.get("/v1/subscriptions", &[("status", "ended")]).await;
    assert_eq!(ok(&ended)["data"][0]["id"], id(&a));
    let missing = fake.get("/v1/subscriptions/sub_nope", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body["error"]["message"],
        "No such subscription: 'sub_nope'"
    );
    let expanded = fake
        .get(
            "/v1/subscriptions",
            &[
                ("customer", customer.as_str()),
                ("expand[]", "data.items.data.price.product"),
            ],
        )
        .await;
    assert_eq!(
        ok(&expanded)["data"][0]["items"]["data"][0]["price"]["product"]["name"],
        "Starter"
    );

    // Deleting the customer cancels what is left.
    ok(&fake.delete(&format!("/v1/customers/{customer}")).await);
    assert_eq!(subscription(&fake, id(&b), &[]).await["status"], "canceled");
    let types = fake.event_types("customer.").await;
    assert_eq!(
        types[types.len() - 2..],
        ["customer.subscription.deleted", "customer.deleted"]
    );
}
