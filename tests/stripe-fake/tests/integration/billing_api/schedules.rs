//! Subscription schedules: phase switches at the boundary, release and cancel.

use super::*;

#[tokio::test]
async fn schedules_switch_the_price_exactly_at_the_boundary() {
    let fake = Fake::start().await;
    let (customer, pro, sub) = subscribed(&fake, "pro_monthly").await;
    let starter = fake.price_id("starter_monthly").await;
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
    let preview = create_preview(&fake, sub_id.as_str(), &[]).await;
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
    let (customer, pro, sub) = subscribed(&fake, "pro_monthly").await;
    let starter = fake.price_id("starter_monthly").await;
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
