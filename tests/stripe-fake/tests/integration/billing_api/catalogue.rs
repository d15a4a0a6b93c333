//! The seed catalogue, fixture key sets and refused parameters.

use super::*;

#[tokio::test]
async fn without_a_seed_catalogue_there_are_no_prices_even_after_a_reset() {
    let fake = Fake::start_with(Catalogue::default()).await;
    let prices = fake.get("/v1/prices", &[]).await;
    assert_eq!(ok(&prices)["data"], json!([]));
    fake.control("POST", "/_fake/reset", None).await;
    assert_eq!(ok(&fake.get("/v1/prices", &[]).await)["data"], json!([]));
}

#[tokio::test]
async fn the_catalogue_is_seeded_listed_by_lookup_key_and_kept_across_resets() {
    let fake = Fake::start().await;
    let reply = fake
        .get(
            "/v1/prices",
            &[
                ("lookup_keys[]", "pro_monthly"),
                ("lookup_keys[]", "pro_yearly"),
                ("expand[]", "data.product"),
            ],
        )
        .await;
    let list = ok(&reply);
    let prices = list["data"].as_array().unwrap();
    assert_eq!(prices.len(), 2);
    let by_key = |key: &str| prices.iter().find(|p| p["lookup_key"] == key).unwrap();
    assert_eq!(by_key("pro_monthly")["unit_amount"], 3000);
    assert_eq!(by_key("pro_yearly")["unit_amount"], 30000);
    assert_eq!(by_key("pro_yearly")["recurring"]["interval"], "year");
    for price in prices {
        assert_eq!(keys(price), fixture_keys("price"));
        assert_eq!(price["currency"], "usd");
        assert_eq!(price["active"], true);
        assert_eq!(price["billing_scheme"], "per_unit");
        assert_eq!(price["recurring"]["usage_type"], "licensed");
        assert_eq!(price["product"]["name"], "Pro");
        assert_eq!(keys(&price["product"]), fixture_keys("product"));
    }
    let starter = fake.price("starter_monthly").await;
    assert_eq!(starter["unit_amount"], 1000);
    let product = ok(&fake
        .get(
            &format!("/v1/products/{}", starter["product"].as_str().unwrap()),
            &[],
        )
        .await)
    .clone();
    assert_eq!(product["name"], "Starter");
    assert_eq!(product["default_price"], starter["id"]);

    // Filters.
    let yearly = fake
        .get("/v1/prices", &[("recurring[interval]", "year")])
        .await;
    assert_eq!(ok(&yearly)["data"].as_array().unwrap().len(), 1);
    let of_pro = fake
        .get(
            "/v1/prices",
            &[
                (
                    "product",
                    by_key("pro_monthly")["product"]["id"].as_str().unwrap(),
                ),
                ("type", "recurring"),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(ok(&of_pro)["data"].as_array().unwrap().len(), 2);
    let paged = fake.get("/v1/prices", &[("limit", "2")]).await;
    assert_eq!(ok(&paged)["has_more"], true);

    // Basic create, lookup key clashes and transfers.
    let created = fake
        .post(
            "/v1/products",
            &[("name", "Team"), ("metadata[tier]", "3")],
            None,
        )
        .await;
    let team = ok(&created)["id"].as_str().unwrap().to_owned();
    let monthly_team_price = async |lookup_key: &str| {
        let pairs = [
            ("product", team.as_str()),
            ("currency", "usd"),
            ("unit_amount", "5000"),
            ("recurring[interval]", "month"),
            ("lookup_key", lookup_key),
        ];
        fake.post("/v1/prices", &pairs, None).await
    };
    let price = monthly_team_price("pro_monthly").await;
    assert_eq!(price.status, 400, "{}", price.body);
    assert!(price.error_message().contains("already uses"));
    let price = monthly_team_price("team_monthly").await;
    assert_eq!(keys(ok(&price)), fixture_keys("price"));
    assert_eq!(fake.price("team_monthly").await["unit_amount"], 5000);

    // Reset keeps the seeded catalogue (same ids) and drops what tests made.
    let before = fake.price_id("pro_monthly").await;
    fake.control("POST", "/_fake/reset", None).await;
    assert_eq!(fake.price_id("pro_monthly").await, before);
    assert_eq!(fake.price("team_monthly").await, Value::Null);
    let unknown = fake.get(&format!("/v1/products/{team}"), &[]).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn objects_have_the_fixture_key_sets() {
    let fake = Fake::start().await;
    let fixtures = fixtures();
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let starter = fake.price_id("starter_monthly").await;
    let pro = fake.price_id("pro_monthly").await;
    let created = fake
        .subscribe(&customer, &starter, &[("expand[]", "latest_invoice")])
        .await;
    let sub = ok(&created).clone();
    let mut expected = fixture_keys("subscription");
    assert_eq!(keys(&sub), expected);
    let item = &sub["items"]["data"][0];
    assert_eq!(keys(item), fixture_keys("subscription_item"));
    assert_eq!(
        keys(&item["plan"]),
        keys(&fixtures["resources"]["subscription_item"]["plan"])
    );
    assert_eq!(keys(&item["price"]), fixture_keys("price"));
    let invoice = &sub["latest_invoice"];
    assert_eq!(keys(invoice), fixture_keys("invoice"));
    assert_eq!(
        keys(&invoice["lines"]["data"][0]),
        fixture_keys("line_item")
    );
    assert_eq!(
        keys(&invoice["lines"]["data"][0]["parent"]),
        keys(&fixtures["resources"]["line_item"]["parent"])
    );
    assert_eq!(invoice["parent"]["type"], "subscription_details");
    // `confirmation_secret` is includable: present only when expanded.
    let expanded = subscription(&fake, id(&sub), &["latest_invoice.confirmation_secret"]).await;
    expected = fixture_keys("invoice");
    expected.insert("confirmation_secret".into());
    assert_eq!(keys(&expanded["latest_invoice"]), expected);

    fake.advance(5 * DAY).await;
    let item_id = item["id"].as_str().unwrap();
    let updated = fake
        .post(
            &format!("/v1/subscriptions/{}", id(&sub)),
            &[("items[0][id]", item_id), ("items[0][price]", pro.as_str())],
            None,
        )
        .await;
    ok(&updated);
    let items = fake
        .get(
            "/v1/invoiceitems",
            &[("customer", customer.as_str()), ("pending", "true")],
        )
        .await;
    let ii = &ok(&items)["data"][0];
    let mut expected = fixture_keys("invoiceitem");
    // endive: prorations link their credits (`proration_details`).
    expected.insert("proration_details".into());
    assert_eq!(keys(ii), expected);
    assert_eq!(ii["proration"], true);
    assert_eq!(ii["parent"]["type"], "subscription_details");

    let schedule = fake
        .post(
            "/v1/subscription_schedules",
            &[("from_subscription", id(&sub))],
            None,
        )
        .await;
    let schedule = ok(&schedule);
    assert_eq!(keys(schedule), fixture_keys("subscription_schedule"));
    let phase_fixture = &fixtures["resources"]["subscription_schedule"]["phases"][0];
    assert_eq!(keys(&schedule["phases"][0]), keys(phase_fixture));
    assert_eq!(
        keys(&schedule["phases"][0]["items"][0]),
        keys(&phase_fixture["items"][0])
    );
    assert_eq!(
        keys(&schedule["default_settings"]),
        keys(&fixtures["resources"]["subscription_schedule"]["default_settings"])
    );
}

#[tokio::test]
async fn unknown_and_unmodelled_parameters_are_refused() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let pro = fake.price_id("pro_monthly").await;
    let unknown = |reply: &Reply, param: &str| {
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.error_code(), "parameter_unknown", "{}", reply.body);
        assert_eq!(reply.body["error"]["param"], param);
    };
    let not_implemented = |reply: &Reply| {
        assert_eq!(reply.status, 400, "{}", reply.body);
        let message = reply.error_message();
        assert!(message.contains("does not implement"), "{message}");
    };
    unknown(
        &fake.subscribe(&customer, &pro, &[("bogus", "1")]).await,
        "bogus",
    );
    unknown(
        &fake
            .subscribe(&customer, &pro, &[("items[0][bogus]", "1")])
            .await,
        "items[0][bogus]",
    );
    unknown(
        &fake
            .subscribe(&customer, &pro, &[("payment_settings[nope]", "1")])
            .await,
        "payment_settings[nope]",
    );
    not_implemented(
        &fake
            .subscribe(
                &customer,
                &pro,
                &[("add_invoice_items[0][price]", pro.as_str())],
            )
            .await,
    );
    // `coupon` was removed from subscriptions in basil.
    unknown(
        &fake.subscribe(&customer, &pro, &[("coupon", "x")]).await,
        "coupon",
    );
    unknown(&fake.get("/v1/prices", &[("bogus", "1")]).await, "bogus");
    unknown(
        &fake.get("/v1/subscriptions", &[("nope", "1")]).await,
        "nope",
    );
    unknown(&fake.get("/v1/invoices", &[("nope", "1")]).await, "nope");

    let sub = ok(&fake.subscribe(&customer, &pro, &[]).await).clone();
    let sub_id = id(&sub);
    let item = sub["items"]["data"][0]["id"].as_str().unwrap();
    let path = format!("/v1/subscriptions/{sub_id}");
    unknown(
        &fake.post(&path, &[("trial_period_days", "3")], None).await,
        "trial_period_days",
    );
    not_implemented(
        &fake
            .post(
                &path,
                &[
                    ("items[0][id]", item),
                    ("items[0][price_data][currency]", "usd"),
                ],
                None,
            )
            .await,
    );
    // Pending updates exist for updates only.
    not_implemented(
        &fake
            .subscribe(
                &customer,
                &pro,
                &[("payment_behavior", "pending_if_incomplete")],
            )
            .await,
    );
    let preview = "/v1/invoices/create_preview";
    let with = |pair: (&'static str, &'static str)| [("subscription", sub_id), pair];
    unknown(
        &fake
            .post(preview, &with(("subscription_details[bogus]", "1")), None)
            .await,
        "subscription_details[bogus]",
    );
    not_implemented(
        &fake
            .post(preview, &with(("automatic_tax[enabled]", "true")), None)
            .await,
    );
    let combined = fake
        .post(preview, &with(("schedule", "sub_sched_x")), None)
        .await;
    assert_eq!(combined.status, 400, "{}", combined.body);
    assert_eq!(combined.body["error"]["param"], "subscription");
    not_implemented(
        &fake
            .post(
                preview,
                &[
                    ("customer", customer.as_str()),
                    ("schedule_details[billing_mode][type]", "classic"),
                ],
                None,
            )
            .await,
    );
    let with_tax_off = fake
        .post(preview, &with(("automatic_tax[enabled]", "false")), None)
        .await;
    assert_eq!(with_tax_off.status, 200, "{}", with_tax_off.body);

    let schedule = ok(&fake
        .post(
            "/v1/subscription_schedules",
            &[("from_subscription", sub_id)],
            None,
        )
        .await)
    .clone();
    let schedule_path = format!("/v1/subscription_schedules/{}", id(&schedule));
    let start = schedule["phases"][0]["start_date"].to_string();
    let end = schedule["phases"][0]["end_date"].to_string();
    // `iterations` was removed in clover: an unknown parameter now.
    let iterations = fake
        .post(
            &schedule_path,
            &[
                ("phases[0][items][0][price]", pro.as_str()),
                ("phases[0][start_date]", &start),
                ("phases[0][end_date]", &end),
                ("phases[1][items][0][price]", pro.as_str()),
                ("phases[1][iterations]", "2"),
            ],
            None,
        )
        .await;
    unknown(&iterations, "phases[1][iterations]");
    let with_other = fake
        .post(
            "/v1/subscription_schedules",
            &[("from_subscription", sub_id), ("end_behavior", "cancel")],
            None,
        )
        .await;
    assert_eq!(with_other.status, 400, "{}", with_other.body);
}
