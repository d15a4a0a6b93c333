//! Schedule-managed subscriptions: the cancelation refusal, trials in phases and previews of
//! schedules (`create_preview` with `schedule` / `schedule_details`).

use super::*;

/// `from_subscription` for the subscription: the schedule.
async fn schedule_for(fake: &Fake, subscription: &str) -> Value {
    ok(&fake
        .post(
            "/v1/subscription_schedules",
            &[("from_subscription", subscription)],
            None,
        )
        .await)
    .clone()
}

/// The product's update of a schedule: the current phase (`old` × `quantity` over `[start, end)`,
/// with `trial_end` if given), then `new` × `quantity` for one `interval`, released at the end.
/// `prefix` is `phases` (update) or `schedule_details[phases]` (preview).
fn phase_pairs(
    prefix: &str,
    old: &str,
    new: &str,
    quantity: &str,
    (start, end): (i64, i64),
    trial_end: Option<i64>,
    interval: &str,
) -> Vec<(String, String)> {
    let mut pairs = vec![
        (format!("{prefix}[0][items][0][price]"), old.to_owned()),
        (
            format!("{prefix}[0][items][0][quantity]"),
            quantity.to_owned(),
        ),
        (format!("{prefix}[0][start_date]"), start.to_string()),
        (format!("{prefix}[0][end_date]"), end.to_string()),
        (format!("{prefix}[1][items][0][price]"), new.to_owned()),
        (
            format!("{prefix}[1][items][0][quantity]"),
            quantity.to_owned(),
        ),
        (
            format!("{prefix}[1][duration][interval]"),
            interval.to_owned(),
        ),
        (
            format!("{prefix}[1][duration][interval_count]"),
            "1".to_owned(),
        ),
    ];
    if let Some(at) = trial_end {
        pairs.push((format!("{prefix}[0][trial_end]"), at.to_string()));
    }
    let behavior = if prefix == "phases" {
        "end_behavior".to_owned()
    } else {
        "schedule_details[end_behavior]".to_owned()
    };
    pairs.push((behavior, "release".to_owned()));
    pairs
}

fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn post_owned(fake: &Fake, path: &str, pairs: &[(String, String)]) -> Reply {
    fake.post(path, &borrowed(pairs), None).await
}

async fn invoice_count(fake: &Fake, customer: &str) -> usize {
    ok(&fake.get("/v1/invoices", &[("customer", customer)]).await)["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_schedule_owned_subscription_refuses_direct_cancelation_until_released() {
    let fake = Fake::start().await;
    let (_, _, sub) = subscribed(&fake, "pro_monthly").await;
    let sub_path = format!("/v1/subscriptions/{}", id(&sub));
    let schedule = schedule_for(&fake, id(&sub)).await;
    let expected = format!(
        "The subscription is managed by the subscription schedule `{}`, and updating any \
         cancelation behavior directly is not allowed. Please update the schedule instead.",
        id(&schedule)
    );
    let end = period(&sub).1.to_string();
    for pairs in [
        [("cancel_at_period_end", "true")],
        [("cancel_at_period_end", "false")],
        [("cancel_at", end.as_str())],
    ] {
        let refused = fake.post(&sub_path, &pairs, Some(pairs[0].1)).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(refused.body["error"]["type"], "invalid_request_error");
        assert_eq!(refused.body["error"]["message"], expected.as_str());
        assert_eq!(
            refused.body["error"]["code"],
            Value::Null,
            "no code is known"
        );
        // The endpoint ran: the refusal is saved under the key and replayed.
        let again = fake.post(&sub_path, &pairs, Some(pairs[0].1)).await;
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body, refused.body);
    }
    assert_eq!(
        subscription(&fake, id(&sub), &[]).await["cancel_at_period_end"],
        false
    );
    // Item changes stay accepted (SEMANTICS §13).
    let quantity = fake
        .post(
            &sub_path,
            &[
                (
                    "items[0][id]",
                    sub["items"]["data"][0]["id"].as_str().unwrap(),
                ),
                ("items[0][quantity]", "2"),
            ],
            None,
        )
        .await;
    ok(&quantity);

    // The product's way: release, then cancel at period end.
    let released = fake
        .post(
            &format!("/v1/subscription_schedules/{}/release", id(&schedule)),
            &[],
            None,
        )
        .await;
    assert_eq!(ok(&released)["status"], "released");
    let canceled = fake
        .post(&sub_path, &[("cancel_at_period_end", "true")], None)
        .await;
    assert_eq!(ok(&canceled)["cancel_at_period_end"], true);
    assert_eq!(ok(&canceled)["schedule"], Value::Null);
    let cancel_at = fake
        .post(&sub_path, &[("cancel_at", end.as_str())], None)
        .await;
    assert_eq!(cancel_at.status, 400);
    assert!(cancel_at.error_message().contains("does not implement"));
}

#[tokio::test]
async fn a_trial_kept_through_a_schedule_update_ends_with_the_new_plan() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let (monthly, yearly) = (
        fake.price_id("pro_monthly").await,
        fake.price_id("pro_yearly").await,
    );
    let sub = ok(&fake
        .subscribe(
            &customer,
            &monthly,
            &[("items[0][quantity]", "2"), ("trial_period_days", "14")],
        )
        .await)
    .clone();
    assert_eq!(sub["status"], "trialing");
    let (start, trial_end) = period(&sub);
    assert_eq!(sub["trial_end"], trial_end);
    let schedule = schedule_for(&fake, id(&sub)).await;
    assert_eq!(schedule["phases"][0]["trial_end"], trial_end);
    let path = format!("/v1/subscription_schedules/{}", id(&schedule));

    // The update's phases (also previewed): the trial kept, then the yearly plan.
    let phases = |prefix| {
        phase_pairs(
            prefix,
            &monthly,
            &yearly,
            "2",
            (start, trial_end),
            Some(trial_end),
            "year",
        )
    };
    // The preview of the update: the first paid invoice, at the trial end, for the new plan.
    let mut preview_pairs = vec![("schedule".to_owned(), id(&schedule).to_owned())];
    preview_pairs.extend(phases("schedule_details[phases]"));
    let preview =
        ok(&post_owned(&fake, "/v1/invoices/create_preview", &preview_pairs).await).clone();
    let lines = preview["lines"]["data"].as_array().unwrap();
    assert_eq!(amounts(lines), [60_000]);
    assert_eq!(
        lines[0]["pricing"]["price_details"]["price"],
        yearly.as_str()
    );
    assert_eq!(lines[0]["period"]["start"], trial_end);
    let year_later = lines[0]["period"]["end"].as_i64().unwrap();
    assert!((365 * DAY..=366 * DAY).contains(&(year_later - trial_end)));
    assert_eq!(preview["created"], trial_end);
    assert_eq!(preview["next_payment_attempt"], trial_end);
    assert_eq!(preview["amount_due"], 60_000);
    assert_eq!(
        lines[0]["parent"]["subscription_item_details"]["subscription"],
        id(&sub)
    );

    let updated = post_owned(&fake, &path, &phases("phases")).await;
    let updated = ok(&updated).clone();
    assert_eq!(updated["phases"][0]["trial_end"], trial_end);
    assert_eq!(updated["phases"][1]["start_date"], trial_end);
    let still = subscription(&fake, id(&sub), &[]).await;
    assert_eq!(still["status"], "trialing");
    assert_eq!(still["trial_end"], trial_end);
    assert_eq!(
        invoice_count(&fake, &customer).await,
        1,
        "nothing billed yet"
    );

    let now = fake.now().await;
    fake.advance(trial_end - now - 60).await;
    assert_eq!(
        subscription(&fake, id(&sub), &[]).await["status"],
        "trialing"
    );
    assert_eq!(
        invoice_count(&fake, &customer).await,
        1,
        "nothing before the end"
    );
    fake.advance(60).await;
    let after = subscription(&fake, id(&sub), &["latest_invoice"]).await;
    assert_eq!(after["status"], "active");
    assert_eq!(after["items"]["data"][0]["price"]["id"], yearly.as_str());
    assert_eq!(after["items"]["data"][0]["quantity"], 2);
    assert_eq!(period(&after), (trial_end, year_later));
    let invoice = &after["latest_invoice"];
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["total"], preview["total"], "preview == charge");
    assert_eq!(invoice["created"], trial_end);
}

#[tokio::test]
async fn omitting_trial_end_ends_the_trial_unless_switched() {
    let fake = Fake::start().await;
    let monthly = fake.price_id("pro_monthly").await;
    let yearly = fake.price_id("pro_yearly").await;
    for keeps in [false, true] {
        if keeps {
            let switched = fake
                .control(
                    "POST",
                    "/_fake/behaviours",
                    Some(json!({"schedule_update_without_trial_end": "keeps_trial"})),
                )
                .await;
            assert_eq!(switched.status, 200, "{}", switched.body);
        }
        let (customer, _) = fake.paying_customer("pm_card_visa").await;
        let sub = ok(&fake
            .subscribe(&customer, &monthly, &[("trial_period_days", "14")])
            .await)
        .clone();
        let (start, trial_end) = period(&sub);
        let schedule = schedule_for(&fake, id(&sub)).await;
        // The update's phases (also previewed), without `trial_end`.
        let phases = |prefix| {
            phase_pairs(
                prefix,
                &monthly,
                &yearly,
                "1",
                (start, trial_end),
                None,
                "year",
            )
        };
        let pairs = phases("phases");
        // The preview of an update that ends the trial now is not modelled.
        let mut preview_pairs = vec![("schedule".to_owned(), id(&schedule).to_owned())];
        preview_pairs.extend(phases("schedule_details[phases]"));
        let preview = post_owned(&fake, "/v1/invoices/create_preview", &preview_pairs).await;
        assert_eq!(
            preview.status,
            if keeps { 200 } else { 400 },
            "{}",
            preview.body
        );
        ok(&post_owned(
            &fake,
            &format!("/v1/subscription_schedules/{}", id(&schedule)),
            &pairs,
        )
        .await);
        let after = subscription(&fake, id(&sub), &["latest_invoice"]).await;
        if keeps {
            assert_eq!(after["status"], "trialing");
            assert_eq!(invoice_count(&fake, &customer).await, 1);
            continue;
        }
        let now = fake.now().await;
        assert_eq!(after["status"], "active");
        assert!((after["trial_end"].as_i64().unwrap() - now).abs() <= 1);
        let (new_start, new_end) = period(&after);
        assert!((new_start - now).abs() <= 1);
        assert!((28 * DAY..=31 * DAY).contains(&(new_end - new_start)));
        assert_eq!(
            after["latest_invoice"]["billing_reason"],
            "subscription_update"
        );
        assert_eq!(after["latest_invoice"]["total"], 3000);
        assert_eq!(after["latest_invoice"]["status"], "paid");
    }
}

#[tokio::test]
async fn schedules_created_with_a_trial_and_trial_refusals() {
    let fake = Fake::start().await;
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let pro = fake.price_id("pro_monthly").await;
    let now = fake.now().await;
    let trial_end = (now + 7 * DAY).to_string();
    let created = fake
        .post(
            "/v1/subscription_schedules",
            &[
                ("customer", customer.as_str()),
                ("phases[0][items][0][price]", pro.as_str()),
                ("phases[0][trial_end]", trial_end.as_str()),
                ("phases[0][duration][interval]", "month"),
            ],
            None,
        )
        .await;
    let created = ok(&created).clone();
    assert_eq!(created["phases"][0]["trial_end"], now + 7 * DAY);
    let sub = subscription(
        &fake,
        created["subscription"].as_str().unwrap(),
        &["latest_invoice"],
    )
    .await;
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["trial_end"], now + 7 * DAY);
    assert_eq!(sub["latest_invoice"]["total"], 0);

    let late = (now + 60 * DAY).to_string();
    let refusals: [&[(&str, &str)]; 3] = [
        // `trial` and `trial_end` together on create.
        &[
            ("phases[0][trial]", "true"),
            ("phases[0][trial_end]", trial_end.as_str()),
        ],
        // After the phase's end.
        &[("phases[0][trial_end]", late.as_str())],
        // A trial in a later phase is not modelled.
        &[
            ("phases[1][items][0][price]", pro.as_str()),
            ("phases[1][trial]", "true"),
        ],
    ];
    for extra in refusals {
        let mut pairs = vec![
            ("customer", customer.as_str()),
            ("phases[0][items][0][price]", pro.as_str()),
            ("phases[0][duration][interval]", "month"),
        ];
        pairs.extend_from_slice(extra);
        let refused = fake.post("/v1/subscription_schedules", &pairs, None).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.body["error"]["param"]
                .as_str()
                .unwrap()
                .contains("trial")
        );
    }
}

#[tokio::test]
async fn previewing_a_new_schedule_at_the_period_end() {
    let fake = Fake::start().await;
    let (customer, _, sub) = subscribed(&fake, "pro_monthly").await;
    let yearly = fake.price_id("pro_yearly").await;
    let end = period(&sub).1;
    let end_text = end.to_string();
    let pairs = [
        ("customer", customer.as_str()),
        ("schedule_details[end_behavior]", "release"),
        ("schedule_details[phases][0][start_date]", end_text.as_str()),
        (
            "schedule_details[phases][0][items][0][price]",
            yearly.as_str(),
        ),
        ("schedule_details[phases][0][items][0][quantity]", "2"),
        ("schedule_details[phases][0][duration][interval]", "year"),
        ("schedule_details[phases][0][duration][interval_count]", "1"),
    ];
    let preview = ok(&fake.post("/v1/invoices/create_preview", &pairs, None).await).clone();
    assert!(preview["id"].as_str().unwrap().starts_with("upcoming_in_"));
    let lines = preview["lines"]["data"].as_array().unwrap();
    assert_eq!(amounts(lines), [60_000]);
    assert!(proration_lines(&preview).is_empty());
    assert_eq!(lines[0]["quantity"], 2);
    assert_eq!(lines[0]["period"]["start"], end);
    let year = lines[0]["period"]["end"].as_i64().unwrap() - end;
    assert!((365 * DAY..=366 * DAY).contains(&year));
    for key in [
        "created",
        "period_start",
        "period_end",
        "next_payment_attempt",
    ] {
        assert_eq!(preview[key], end, "{key}");
    }
    assert_eq!(
        (preview["total"].clone(), preview["amount_due"].clone()),
        (json!(60_000), json!(60_000))
    );
    assert_eq!(
        preview["parent"]["subscription_details"]["subscription"],
        Value::Null,
        "no subscription exists yet"
    );
    assert!(fixture_keys("invoice").is_subset(&keys(&preview)));
    // Nothing was stored.
    let schedules = fake
        .get(
            "/v1/subscription_schedules",
            &[("customer", customer.as_str())],
        )
        .await;
    assert_eq!(ok(&schedules)["data"], json!([]));

    // Refusals: with subscription fields, a backdated start, no start, a deleted customer.
    let mut with_subscription = pairs.to_vec();
    with_subscription.push(("subscription", id(&sub)));
    let refused = fake
        .post("/v1/invoices/create_preview", &with_subscription, None)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["error"]["param"], "subscription");
    let past = (fake.now().await - DAY).to_string();
    let mut backdated = pairs.to_vec();
    backdated[2] = ("schedule_details[phases][0][start_date]", past.as_str());
    let refused = fake
        .post("/v1/invoices/create_preview", &backdated, None)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let no_start: Vec<_> = pairs
        .iter()
        .copied()
        .filter(|(k, _)| !k.ends_with("[start_date]"))
        .collect();
    let refused = fake
        .post("/v1/invoices/create_preview", &no_start, None)
        .await;
    assert_eq!(refused.error_code(), "parameter_missing");
    let gone = fake.customer_id().await;
    fake.delete(&format!("/v1/customers/{gone}")).await;
    let mut deleted = pairs.to_vec();
    deleted[0] = ("customer", gone.as_str());
    let refused = fake
        .post("/v1/invoices/create_preview", &deleted, None)
        .await;
    assert_eq!(refused.error_code(), "resource_missing");
}

#[tokio::test]
async fn previewing_a_schedule_update_bills_the_next_phase_at_its_start() {
    let fake = Fake::start().await;
    for (from, to, months) in [
        ("pro_monthly", "pro_yearly", 12),
        ("pro_yearly", "pro_monthly", 1),
    ] {
        let (customer, old, sub) = subscribed(&fake, from).await;
        let new = fake.price_id(to).await;
        let (start, end) = period(&sub);
        let item = sub["items"]["data"][0]["id"].as_str().unwrap().to_owned();
        // A pending proration the next invoice sweeps in.
        ok(&fake
            .post(
                &format!("/v1/subscriptions/{}", id(&sub)),
                &[("items[0][id]", item.as_str()), ("items[0][quantity]", "2")],
                None,
            )
            .await);
        let pending: i64 = ok(&fake
            .get(
                "/v1/invoiceitems",
                &[("customer", customer.as_str()), ("pending", "true")],
            )
            .await)["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ii| ii["amount"].as_i64().unwrap())
            .sum();
        assert!(pending > 0);
        let schedule = schedule_for(&fake, id(&sub)).await;
        let interval = if to == "pro_yearly" { "year" } else { "month" };
        let mut pairs = vec![("schedule".to_owned(), id(&schedule).to_owned())];
        pairs.extend(phase_pairs(
            "schedule_details[phases]",
            &old,
            &new,
            "2",
            (start, end),
            None,
            interval,
        ));
        let preview = ok(&post_owned(&fake, "/v1/invoices/create_preview", &pairs).await).clone();
        let recurring: Vec<Value> = preview["lines"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["parent"]["subscription_item_details"]["proration"] == false)
            .cloned()
            .collect();
        let unit = fake.price(to).await["unit_amount"].as_i64().unwrap();
        assert_eq!(amounts(&recurring), [2 * unit], "{from} → {to}");
        assert_eq!(recurring[0]["period"]["start"], end);
        let length = recurring[0]["period"]["end"].as_i64().unwrap() - end;
        assert!((months * 28 * DAY..=months * 31 * DAY).contains(&length));
        assert_eq!(preview["created"], end, "at the phase start, nothing now");
        assert_eq!(preview["total"], 2 * unit + pending);
        // The stored schedule is unchanged.
        let stored = ok(&fake
            .get(
                &format!("/v1/subscription_schedules/{}", id(&schedule)),
                &[],
            )
            .await)
        .clone();
        assert_eq!(stored["phases"].as_array().unwrap().len(), 1);

        // Contrast: an interval change through subscription_details is an immediate invoice.
        let immediate = create_preview(
            &fake,
            id(&sub),
            &[
                ("subscription_details[items][0][id]", item.as_str()),
                ("subscription_details[items][0][price]", new.as_str()),
            ],
        )
        .await;
        let refused = immediate.status;
        assert_eq!(refused, 200, "{}", immediate.body);
        assert!(immediate.body["period_end"].as_i64().unwrap() < end);

        // Applying the same update and reaching the boundary charges what was previewed.
        let applied = post_owned(
            &fake,
            &format!("/v1/subscription_schedules/{}", id(&schedule)),
            &phase_pairs("phases", &old, &new, "2", (start, end), None, interval),
        )
        .await;
        ok(&applied);
        let now = fake.now().await;
        fake.advance(end - now).await;
        let after = subscription(&fake, id(&sub), &["latest_invoice"]).await;
        assert_eq!(after["items"]["data"][0]["price"]["id"], new.as_str());
        assert_eq!(
            after["latest_invoice"]["total"], preview["total"],
            "preview == charge"
        );
        assert_eq!(after["latest_invoice"]["status"], "paid");
        assert_eq!(period(&after).0, end);
        fake.control("POST", "/_fake/reset", None).await;
    }
}

#[tokio::test]
async fn schedule_previews_refuse_what_the_schedule_api_refuses() {
    let fake = Fake::start().await;
    let (_, pro, sub) = subscribed(&fake, "pro_monthly").await;
    let starter = fake.price_id("starter_monthly").await;
    let (start, end) = period(&sub);
    let schedule = schedule_for(&fake, id(&sub)).await;
    let (s, e, late) = (start.to_string(), end.to_string(), (end + 60).to_string());
    let base = [
        ("schedule", id(&schedule)),
        ("schedule_details[phases][0][items][0][price]", pro.as_str()),
        ("schedule_details[phases][0][start_date]", s.as_str()),
        ("schedule_details[phases][0][end_date]", e.as_str()),
        (
            "schedule_details[phases][1][items][0][price]",
            starter.as_str(),
        ),
    ];
    // The schedule alone previews its next invoice (the renewal).
    let plain = create_preview_schedule(&fake, &base[..1]).await;
    assert_eq!(
        amounts(ok(&plain)["lines"]["data"].as_array().unwrap()),
        [3000]
    );
    let good = create_preview_schedule(&fake, &base).await;
    assert_eq!(
        amounts(ok(&good)["lines"]["data"].as_array().unwrap()),
        [1000]
    );
    let mut mismatch = base.to_vec();
    mismatch.push(("schedule_details[phases][1][start_date]", late.as_str()));
    let refused = create_preview_schedule(&fake, &mismatch).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body["error"]["param"],
        "schedule_details[phases][1][start_date]"
    );
    let mut moved = base.to_vec();
    moved[2] = ("schedule_details[phases][0][start_date]", late.as_str());
    let refused = create_preview_schedule(&fake, &moved).await;
    assert_eq!(
        refused.body["error"]["param"],
        "schedule_details[phases][0][start_date]"
    );
    let mut with_details = base.to_vec();
    with_details.push(("subscription_details[proration_behavior]", "none"));
    let refused = create_preview_schedule(&fake, &with_details).await;
    assert_eq!(refused.body["error"]["param"], "subscription_details");
    let mut unknown = base.to_vec();
    unknown.push(("schedule_details[phases][0][iterations]", "1"));
    let refused = create_preview_schedule(&fake, &unknown).await;
    assert_eq!(refused.error_code(), "parameter_unknown");
    let missing = create_preview_schedule(&fake, &[("schedule", "sub_sched_nope")]).await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (400, "resource_missing")
    );
    // end_behavior=cancel after the current phase: nothing upcoming.
    let mut cancels = base[..4].to_vec();
    cancels.push(("schedule_details[end_behavior]", "cancel"));
    let none = create_preview_schedule(&fake, &cancels).await;
    assert_eq!(
        (none.status, none.error_code()),
        (404, "invoice_upcoming_none")
    );
    // A released schedule cannot be previewed.
    fake.post(
        &format!("/v1/subscription_schedules/{}/release", id(&schedule)),
        &[],
        None,
    )
    .await;
    let released = create_preview_schedule(&fake, &base).await;
    assert_eq!(released.status, 400, "{}", released.body);
}

async fn create_preview_schedule(fake: &Fake, pairs: &[(&str, &str)]) -> Reply {
    fake.post("/v1/invoices/create_preview", pairs, None).await
}
