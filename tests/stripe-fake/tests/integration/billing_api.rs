//! Catalogue, subscriptions, prorations, invoice previews, schedules and the clock over raw HTTP.

use serde_json::{Value, json};

use crate::support::{Fake, Reply, fixture_keys, keys};

const DAY: i64 = 86_400;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../../fixtures/stripe-fixtures.json")).unwrap()
}

fn id(object: &Value) -> &str {
    object["id"].as_str().unwrap()
}

fn ok(reply: &Reply) -> &Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    &reply.body
}

/// `round(amount × quantity × (end − t) / (end − start))`, half away from zero, computed here
/// independently of the fake.
fn prorated(amount: i64, quantity: i64, (start, end): (i64, i64), t: i64) -> i64 {
    let numerator = i128::from(amount * quantity) * i128::from(end - t);
    let length = i128::from(end - start);
    i64::try_from((2 * numerator + length) / (2 * length)).unwrap()
}

fn period(subscription: &Value) -> (i64, i64) {
    let item = &subscription["items"]["data"][0];
    (
        item["current_period_start"].as_i64().unwrap(),
        item["current_period_end"].as_i64().unwrap(),
    )
}

fn amounts(lines: &[Value]) -> Vec<i64> {
    lines
        .iter()
        .map(|l| l["amount"].as_i64().unwrap())
        .collect()
}

fn proration_lines(invoice: &Value) -> Vec<Value> {
    invoice["lines"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["parent"]["subscription_item_details"]["proration"] == true)
        .cloned()
        .collect()
}

async fn subscription(fake: &Fake, id: &str, expand: &[&str]) -> Value {
    let pairs: Vec<(&str, &str)> = expand.iter().map(|e| ("expand[]", *e)).collect();
    ok(&fake.get(&format!("/v1/subscriptions/{id}"), &pairs).await).clone()
}

async fn customer_balance(fake: &Fake, customer: &str) -> i64 {
    ok(&fake.get(&format!("/v1/customers/{customer}"), &[]).await)["balance"]
        .as_i64()
        .unwrap()
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
    let price = fake
        .post(
            "/v1/prices",
            &[
                ("product", team.as_str()),
                ("currency", "usd"),
                ("unit_amount", "5000"),
                ("recurring[interval]", "month"),
                ("lookup_key", "pro_monthly"),
            ],
            None,
        )
        .await;
    assert_eq!(price.status, 400, "{}", price.body);
    assert!(
        price.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already uses")
    );
    let price = fake
        .post(
            "/v1/prices",
            &[
                ("product", team.as_str()),
                ("currency", "usd"),
                ("unit_amount", "5000"),
                ("recurring[interval]", "month"),
                ("lookup_key", "team_monthly"),
            ],
            None,
        )
        .await;
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
        let message = reply.body["error"]["message"].as_str().unwrap();
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
    not_implemented(
        &fake
            .post(
                &path,
                &[("payment_behavior", "pending_if_incomplete")],
                None,
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
    not_implemented(
        &fake
            .post(preview, &with(("schedule", "sub_sched_x")), None)
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

/// Previews a price/quantity change with a `proration_date`, then makes the same update later
/// with that date: the charge must equal the preview to the cent.
async fn preview_then_update(from: &str, to: &str, quantities: (i64, i64), behavior: &str) {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let old = fake.price(from).await;
    let new = fake.price(to).await;
    let q0 = quantities.0.to_string();
    let sub = ok(&fake
        .subscribe(&customer, id(&old), &[("items[0][quantity]", q0.as_str())])
        .await)
    .clone();
    let sub_id = id(&sub).to_owned();
    let item = sub["items"]["data"][0]["id"].as_str().unwrap().to_owned();
    let first_invoice = sub["latest_invoice"].as_str().unwrap().to_owned();
    let (start, end) = period(&sub);
    fake.advance(9 * DAY + 4321).await;
    let t = fake.now().await;
    let t_text = t.to_string();
    let q1 = quantities.1.to_string();
    let preview = fake
        .post(
            "/v1/invoices/create_preview",
            &[
                ("subscription", sub_id.as_str()),
                ("subscription_details[items][0][id]", item.as_str()),
                ("subscription_details[items][0][price]", id(&new)),
                ("subscription_details[items][0][quantity]", q1.as_str()),
                ("subscription_details[proration_behavior]", behavior),
                ("subscription_details[proration_date]", t_text.as_str()),
            ],
            None,
        )
        .await;
    let preview = ok(&preview).clone();
    assert!(id(&preview).starts_with("upcoming_in_"));
    assert_eq!(preview["billing_reason"], "upcoming");
    assert_eq!(
        preview["parent"]["subscription_details"]["subscription_proration_date"], t,
        "the client reads the proration date the preview used here"
    );
    let old_amount = old["unit_amount"].as_i64().unwrap();
    let new_amount = new["unit_amount"].as_i64().unwrap();
    let credit = -prorated(old_amount, quantities.0, (start, end), t);
    let debit = prorated(new_amount, quantities.1, (start, end), t);
    let prorations = proration_lines(&preview);
    assert_eq!(amounts(&prorations), [credit, debit], "{preview}");
    for line in &prorations {
        assert_eq!(line["period"], json!({"start": t, "end": end}));
        assert_eq!(
            line["parent"]["subscription_item_details"]["subscription_item"],
            item.as_str()
        );
    }
    assert!(
        prorations[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Unused time on")
    );
    assert!(
        prorations[1]["description"]
            .as_str()
            .unwrap()
            .starts_with("Remaining time on")
    );
    let preview_total = preview["total"].as_i64().unwrap();

    // Time passes; the same proration_date reproduces the preview exactly.
    fake.advance(1800).await;
    let updated = fake
        .post(
            &format!("/v1/subscriptions/{sub_id}"),
            &[
                ("items[0][id]", item.as_str()),
                ("items[0][price]", id(&new)),
                ("items[0][quantity]", q1.as_str()),
                ("proration_behavior", behavior),
                ("proration_date", t_text.as_str()),
                ("expand[]", "latest_invoice"),
            ],
            None,
        )
        .await;
    let updated = ok(&updated).clone();
    assert_eq!(updated["items"]["data"][0]["price"]["id"], id(&new));
    assert_eq!(updated["items"]["data"][0]["quantity"], quantities.1);
    assert_eq!(updated["status"], "active");
    let pending = fake
        .get(
            "/v1/invoiceitems",
            &[("customer", customer.as_str()), ("pending", "true")],
        )
        .await;
    let mut pending = ok(&pending)["data"].as_array().unwrap().clone();
    pending.reverse();
    match behavior {
        "always_invoice" => {
            assert_eq!(
                amounts(preview["lines"]["data"].as_array().unwrap()),
                [credit, debit]
            );
            assert_eq!(preview_total, credit + debit);
            let charged = &updated["latest_invoice"];
            assert_ne!(charged["id"], first_invoice.as_str());
            assert_eq!(charged["billing_reason"], "subscription_update");
            assert_eq!(
                charged["total"], preview_total,
                "charged == previewed, to the cent"
            );
            assert_eq!(
                amounts(charged["lines"]["data"].as_array().unwrap()),
                amounts(preview["lines"]["data"].as_array().unwrap())
            );
            assert_eq!(charged["status"], "paid");
            assert!(pending.is_empty(), "invoiced at once: {pending:?}");
            if preview_total < 0 {
                assert_eq!(charged["amount_due"], 0);
                assert_eq!(customer_balance(&fake, &customer).await, preview_total);
            } else {
                assert_eq!(charged["amount_paid"], preview_total);
            }
        }
        "create_prorations" => {
            assert_eq!(updated["latest_invoice"]["id"], first_invoice.as_str());
            assert_eq!(
                amounts(&pending),
                [credit, debit],
                "pending == previewed prorations"
            );
            let credited = &pending[0]["proration_details"]["credited_items"];
            assert_eq!(credited["type"], "invoice_line_items", "{credited}");
            assert_eq!(
                credited["invoice_line_item_details"]["invoice"],
                first_invoice.as_str()
            );
            for (item_json, line) in pending.iter().zip(&prorations) {
                assert_eq!(item_json["description"], line["description"]);
                assert_eq!(item_json["period"], line["period"]);
                assert_eq!(item_json["proration"], true);
                assert_eq!(item_json["quantity"], line["quantity"]);
                assert_eq!(item_json["invoice"], Value::Null);
            }
            // The preview is the renewal: prorations plus the next period at the new price.
            let recurring: Vec<&Value> = preview["lines"]["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["parent"]["subscription_item_details"]["proration"] == false)
                .collect();
            assert_eq!(recurring.len(), 1);
            assert_eq!(recurring[0]["amount"], new_amount * quantities.1);
            assert_eq!(recurring[0]["period"]["start"], end);
            assert_eq!(preview_total, credit + debit + new_amount * quantities.1);
            assert_eq!(preview["next_payment_attempt"], end);
            // And the renewal charges exactly that.
            let now = fake.now().await;
            fake.advance(end - now).await;
            let renewed = subscription(&fake, &sub_id, &["latest_invoice"]).await;
            let renewal = &renewed["latest_invoice"];
            assert_eq!(renewal["billing_reason"], "subscription_cycle");
            assert_eq!(renewal["total"], preview_total);
            assert_eq!(
                amounts(renewal["lines"]["data"].as_array().unwrap()),
                amounts(preview["lines"]["data"].as_array().unwrap())
            );
            assert_eq!(period(&renewed).0, end);
            let after = fake
                .get(
                    "/v1/invoiceitems",
                    &[("customer", customer.as_str()), ("pending", "true")],
                )
                .await;
            assert_eq!(ok(&after)["data"], json!([]), "swept into the renewal");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn upgrade_preview_equals_charge() {
    preview_then_update("starter_monthly", "pro_monthly", (1, 1), "always_invoice").await;
    preview_then_update(
        "starter_monthly",
        "pro_monthly",
        (1, 1),
        "create_prorations",
    )
    .await;
}

#[tokio::test]
async fn downgrade_preview_equals_charge() {
    preview_then_update("pro_monthly", "starter_monthly", (1, 1), "always_invoice").await;
    preview_then_update(
        "pro_monthly",
        "starter_monthly",
        (1, 1),
        "create_prorations",
    )
    .await;
}

#[tokio::test]
async fn quantity_change_preview_equals_charge() {
    preview_then_update("pro_monthly", "pro_monthly", (1, 3), "always_invoice").await;
    preview_then_update("pro_monthly", "pro_monthly", (3, 2), "create_prorations").await;
}

#[tokio::test]
async fn proration_none_and_dates_outside_the_period() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let starter = fake.price_id("starter_monthly").await;
    let pro = fake.price_id("pro_monthly").await;
    let sub = ok(&fake.subscribe(&customer, &starter, &[]).await).clone();
    let (start, end) = period(&sub);
    let item = sub["items"]["data"][0]["id"].as_str().unwrap();
    let path = format!("/v1/subscriptions/{}", id(&sub));
    for bad in [start - 1, end, end + 100] {
        let bad = bad.to_string();
        let reply = fake
            .post(
                &path,
                &[
                    ("items[0][id]", item),
                    ("items[0][price]", pro.as_str()),
                    ("proration_date", bad.as_str()),
                ],
                None,
            )
            .await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.body["error"]["param"], "proration_date");
        let preview = fake
            .post(
                "/v1/invoices/create_preview",
                &[
                    ("subscription", id(&sub)),
                    ("subscription_details[items][0][id]", item),
                    ("subscription_details[items][0][price]", pro.as_str()),
                    ("subscription_details[proration_date]", bad.as_str()),
                ],
                None,
            )
            .await;
        assert_eq!(
            preview.body["error"]["param"],
            "subscription_details[proration_date]"
        );
    }
    let unchanged = subscription(&fake, id(&sub), &[]).await;
    assert_eq!(
        unchanged["items"]["data"][0]["price"]["id"],
        starter.as_str()
    );

    // proration_behavior=none: no lines; the renewal charges the new price in full.
    let preview = fake
        .post(
            "/v1/invoices/create_preview",
            &[
                ("subscription", id(&sub)),
                ("subscription_details[items][0][id]", item),
                ("subscription_details[items][0][price]", pro.as_str()),
                ("subscription_details[proration_behavior]", "none"),
            ],
            None,
        )
        .await;
    assert_eq!(
        amounts(ok(&preview)["lines"]["data"].as_array().unwrap()),
        [3000]
    );
    let updated = fake
        .post(
            &path,
            &[
                ("items[0][id]", item),
                ("items[0][price]", pro.as_str()),
                ("proration_behavior", "none"),
            ],
            None,
        )
        .await;
    ok(&updated);
    let pending = fake
        .get("/v1/invoiceitems", &[("customer", customer.as_str())])
        .await;
    assert_eq!(ok(&pending)["data"], json!([]));
}

#[tokio::test]
async fn monthly_to_yearly_restarts_the_cycle_and_charges_at_once() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let monthly = fake.price_id("pro_monthly").await;
    let yearly = fake.price_id("pro_yearly").await;
    let sub = ok(&fake.subscribe(&customer, &monthly, &[]).await).clone();
    let (start, end) = period(&sub);
    let item = sub["items"]["data"][0]["id"].as_str().unwrap().to_owned();
    fake.advance(10 * DAY).await;
    let t = fake.now().await;
    let t_text = t.to_string();
    let preview = fake
        .post(
            "/v1/invoices/create_preview",
            &[
                ("subscription", id(&sub)),
                ("subscription_details[items][0][id]", item.as_str()),
                ("subscription_details[items][0][price]", yearly.as_str()),
                ("subscription_details[proration_date]", t_text.as_str()),
            ],
            None,
        )
        .await;
    let preview = ok(&preview).clone();
    let credit = -prorated(3000, 1, (start, end), t);
    assert_eq!(
        amounts(preview["lines"]["data"].as_array().unwrap()),
        [credit, 30000]
    );
    let updated = fake
        .post(
            &format!("/v1/subscriptions/{}", id(&sub)),
            &[
                ("items[0][id]", item.as_str()),
                ("items[0][price]", yearly.as_str()),
                ("proration_date", t_text.as_str()),
                ("expand[]", "latest_invoice"),
            ],
            None,
        )
        .await;
    let updated = ok(&updated);
    assert_eq!(updated["billing_cycle_anchor"], t);
    let (new_start, new_end) = period(updated);
    assert_eq!(new_start, t);
    assert!(new_end - t >= 365 * DAY && new_end - t <= 366 * DAY);
    let charged = &updated["latest_invoice"];
    assert_eq!(charged["status"], "paid");
    assert_eq!(charged["total"], preview["total"]);
    assert_eq!(charged["total"], credit + 30000);
}

#[tokio::test]
async fn schedules_switch_the_price_exactly_at_the_boundary() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let pro = fake.price_id("pro_monthly").await;
    let starter = fake.price_id("starter_monthly").await;
    let sub = ok(&fake.subscribe(&customer, &pro, &[]).await).clone();
    let sub_id = id(&sub).to_owned();
    let (start, end) = period(&sub);
    let schedule = ok(&fake
        .post(
            "/v1/subscription_schedules",
            &[("from_subscription", sub_id.as_str())],
            None,
        )
        .await)
    .clone();
    let schedule_id = id(&schedule).to_owned();
    assert_eq!(schedule["status"], "active");
    assert_eq!(schedule["end_behavior"], "release");
    assert_eq!(schedule["phases"][0]["start_date"], start);
    assert_eq!(schedule["phases"][0]["end_date"], end);
    assert_eq!(
        schedule["current_phase"],
        json!({"start_date": start, "end_date": end})
    );
    assert_eq!(
        subscription(&fake, &sub_id, &[]).await["schedule"],
        schedule_id.as_str()
    );
    let again = fake
        .post(
            "/v1/subscription_schedules",
            &[("from_subscription", sub_id.as_str())],
            None,
        )
        .await;
    assert_eq!(again.status, 400, "already attached to a schedule");

    let (start_text, end_text) = (start.to_string(), end.to_string());
    let phases = [
        ("phases[0][items][0][price]", pro.as_str()),
        ("phases[0][start_date]", start_text.as_str()),
        ("phases[0][end_date]", end_text.as_str()),
        ("phases[1][items][0][price]", starter.as_str()),
        ("phases[1][duration][interval]", "month"),
        ("phases[1][duration][interval_count]", "1"),
        ("end_behavior", "release"),
    ];
    let mismatch = fake
        .post(
            &format!("/v1/subscription_schedules/{schedule_id}"),
            &[
                ("phases[0][items][0][price]", pro.as_str()),
                ("phases[0][end_date]", end_text.as_str()),
                ("phases[1][items][0][price]", starter.as_str()),
                ("phases[1][start_date]", &(end + 1).to_string()),
            ],
            None,
        )
        .await;
    assert_eq!(
        mismatch.status, 400,
        "end_date must equal the next start_date"
    );
    let updated = fake
        .post(
            &format!("/v1/subscription_schedules/{schedule_id}"),
            &phases,
            None,
        )
        .await;
    let updated = ok(&updated).clone();
    assert_eq!(updated["phases"].as_array().unwrap().len(), 2);
    assert_eq!(updated["phases"][1]["start_date"], end);
    let phase1_end = updated["phases"][1]["end_date"].as_i64().unwrap();
    assert!(phase1_end - end >= 28 * DAY);

    // The renewal preview already bills the next phase's price.
    let preview = fake
        .post(
            "/v1/invoices/create_preview",
            &[("subscription", sub_id.as_str())],
            None,
        )
        .await;
    assert_eq!(
        amounts(ok(&preview)["lines"]["data"].as_array().unwrap()),
        [1000]
    );

    // Not before the boundary…
    let now = fake.now().await;
    fake.advance(end - now - 60).await;
    let before = subscription(&fake, &sub_id, &[]).await;
    assert_eq!(before["items"]["data"][0]["price"]["id"], pro.as_str());
    // …exactly at it.
    fake.advance(60).await;
    let after = subscription(&fake, &sub_id, &["latest_invoice"]).await;
    assert_eq!(after["items"]["data"][0]["price"]["id"], starter.as_str());
    assert_eq!(period(&after), (end, phase1_end));
    assert_eq!(
        after["latest_invoice"]["total"], 1000,
        "renewal at the new price"
    );
    assert_eq!(after["latest_invoice"]["status"], "paid");
    let schedule_now = ok(&fake
        .get(&format!("/v1/subscription_schedules/{schedule_id}"), &[])
        .await)
    .clone();
    assert_eq!(schedule_now["current_phase"]["start_date"], end);
    let pending = fake
        .get("/v1/invoiceitems", &[("customer", customer.as_str())])
        .await;
    assert_eq!(
        ok(&pending)["data"],
        json!([]),
        "no proration at a period boundary"
    );

    // After the last phase the schedule completes and releases the subscription.
    fake.advance(phase1_end - end).await;
    let done = ok(&fake
        .get(&format!("/v1/subscription_schedules/{schedule_id}"), &[])
        .await)
    .clone();
    assert_eq!(done["status"], "completed");
    let sub_now = subscription(&fake, &sub_id, &[]).await;
    assert_eq!(sub_now["schedule"], Value::Null);
    assert_eq!(sub_now["status"], "active");
    assert_eq!(sub_now["items"]["data"][0]["price"]["id"], starter.as_str());
    let types = fake.event_types("subscription_schedule.").await;
    assert_eq!(
        types,
        [
            "subscription_schedule.created",
            "subscription_schedule.updated",
            "subscription_schedule.updated",
            "subscription_schedule.completed"
        ]
    );
}

#[tokio::test]
async fn releasing_a_schedule_drops_the_pending_change_and_cancel_ends_both() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let pro = fake.price_id("pro_monthly").await;
    let starter = fake.price_id("starter_monthly").await;
    let sub = ok(&fake.subscribe(&customer, &pro, &[]).await).clone();
    let (start, end) = period(&sub);
    let schedule = ok(&fake
        .post(
            "/v1/subscription_schedules",
            &[("from_subscription", id(&sub))],
            None,
        )
        .await)
    .clone();
    let path = format!("/v1/subscription_schedules/{}", id(&schedule));
    let (s, e) = (start.to_string(), end.to_string());
    ok(&fake
        .post(
            &path,
            &[
                ("phases[0][items][0][price]", pro.as_str()),
                ("phases[0][start_date]", s.as_str()),
                ("phases[0][end_date]", e.as_str()),
                ("phases[1][items][0][price]", starter.as_str()),
                ("phases[1][duration][interval]", "month"),
            ],
            None,
        )
        .await);
    let released = fake.post(&format!("{path}/release"), &[], None).await;
    let released = ok(&released);
    assert_eq!(released["status"], "released");
    assert_eq!(released["released_subscription"], id(&sub));
    assert_eq!(released["subscription"], Value::Null);
    assert!(released["released_at"].is_i64());
    let again = fake.post(&format!("{path}/release"), &[], None).await;
    assert_eq!(again.status, 400);
    let now = fake.now().await;
    fake.advance(end - now + 10).await;
    let renewed = subscription(&fake, id(&sub), &[]).await;
    assert_eq!(renewed["schedule"], Value::Null);
    assert_eq!(
        renewed["items"]["data"][0]["price"]["id"],
        pro.as_str(),
        "change dropped"
    );

    // A schedule with phases for a customer starts a subscription now; cancel ends both.
    let created = fake
        .post(
            "/v1/subscription_schedules",
            &[
                ("customer", customer.as_str()),
                ("start_date", "now"),
                ("end_behavior", "cancel"),
                ("phases[0][items][0][price]", starter.as_str()),
                ("phases[0][duration][interval]", "month"),
                ("phases[1][items][0][price]", pro.as_str()),
                ("phases[1][duration][interval]", "month"),
                ("phases[1][duration][interval_count]", "2"),
            ],
            None,
        )
        .await;
    let created = ok(&created).clone();
    assert_eq!(created["status"], "active");
    let started = subscription(&fake, created["subscription"].as_str().unwrap(), &[]).await;
    assert_eq!(started["status"], "active");
    assert_eq!(started["schedule"], id(&created));
    assert_eq!(
        started["cancel_at"], created["phases"][1]["end_date"],
        "end_behavior=cancel"
    );
    let listed = fake
        .get(
            "/v1/subscription_schedules",
            &[("customer", customer.as_str())],
        )
        .await;
    assert_eq!(ok(&listed)["data"].as_array().unwrap().len(), 2);
    let canceled = fake
        .post(
            &format!("/v1/subscription_schedules/{}/cancel", id(&created)),
            &[],
            None,
        )
        .await;
    assert_eq!(ok(&canceled)["status"], "canceled");
    let ended = subscription(&fake, id(&started), &[]).await;
    assert_eq!(ended["status"], "canceled");

    // Eleven phases are too many.
    let mut pairs: Vec<(String, String)> = vec![("customer".into(), customer.clone())];
    for i in 0..11 {
        pairs.push((format!("phases[{i}][items][0][price]"), pro.clone()));
        pairs.push((format!("phases[{i}][duration][interval]"), "month".into()));
    }
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let too_many = fake.post("/v1/subscription_schedules", &pairs, None).await;
    assert_eq!(too_many.status, 400, "{}", too_many.body);
}

#[tokio::test]
async fn cancel_at_period_end_then_resume_then_cancel() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let pro = fake.price_id("pro_monthly").await;
    let sub = ok(&fake.subscribe(&customer, &pro, &[]).await).clone();
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
    let none = fake
        .post(
            "/v1/invoices/create_preview",
            &[("subscription", sub_id.as_str())],
            None,
        )
        .await;
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
    let preview = fake
        .post(
            "/v1/invoices/create_preview",
            &[("subscription", sub_id.as_str())],
            None,
        )
        .await;
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
    let preview = fake
        .post(
            "/v1/invoices/create_preview",
            &[("subscription", sub_id.as_str())],
            None,
        )
        .await;
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
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let starter = fake.price_id("starter_monthly").await;
    let sub = ok(&fake.subscribe(&customer, &starter, &[]).await).clone();
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
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
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
