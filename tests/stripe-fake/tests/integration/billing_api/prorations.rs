//! Item changes: previews equal charges, `proration_behavior`, `proration_date` and interval
//! changes.

use super::*;

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
    let preview = create_preview(
        &fake,
        sub_id.as_str(),
        &[
            ("subscription_details[items][0][id]", item.as_str()),
            ("subscription_details[items][0][price]", id(&new)),
            ("subscription_details[items][0][quantity]", q1.as_str()),
            ("subscription_details[proration_behavior]", behavior),
            ("subscription_details[proration_date]", t_text.as_str()),
        ],
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
    let (customer, starter, sub) = subscribed(&fake, "starter_monthly").await;
    let pro = fake.price_id("pro_monthly").await;
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
        let preview = create_preview(
            &fake,
            id(&sub),
            &[
                ("subscription_details[items][0][id]", item),
                ("subscription_details[items][0][price]", pro.as_str()),
                ("subscription_details[proration_date]", bad.as_str()),
            ],
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
    let preview = create_preview(
        &fake,
        id(&sub),
        &[
            ("subscription_details[items][0][id]", item),
            ("subscription_details[items][0][price]", pro.as_str()),
            ("subscription_details[proration_behavior]", "none"),
        ],
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
    let (_, _, sub) = subscribed(&fake, "pro_monthly").await;
    let yearly = fake.price_id("pro_yearly").await;
    let (start, end) = period(&sub);
    let item = sub["items"]["data"][0]["id"].as_str().unwrap().to_owned();
    fake.advance(10 * DAY).await;
    let t = fake.now().await;
    let t_text = t.to_string();
    let preview = create_preview(
        &fake,
        id(&sub),
        &[
            ("subscription_details[items][0][id]", item.as_str()),
            ("subscription_details[items][0][price]", yearly.as_str()),
            ("subscription_details[proration_date]", t_text.as_str()),
        ],
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
