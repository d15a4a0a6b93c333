use super::*;
use crate::domain::{
    IdempotencyKey, PaymentMethodId, PlanKey, Quantity, SubscriptionStatus, Timing,
};
use crate::service::customers::ensure_customer;
use crate::service::plans::list_plans;
use crate::store::CustomerStore;
use crate::stripe::{NewSubscription, PaymentAttempt, SubscriptionGateway};
use crate::testing::{PERIOD_END, PERIOD_START, RecordedPreview, World};

pub(crate) fn world() -> World {
    World::new()
}

fn org() -> OrgId {
    OrgId::parse("org_1").unwrap()
}

fn plan(key: &str) -> Option<PlanKey> {
    Some(PlanKey::parse(key).unwrap())
}

fn plan_key(key: &str) -> PlanKey {
    PlanKey::parse(key).unwrap()
}

/// A request's idempotency key: `from_client` as if the client sent `value`.
fn key(value: &str, from_client: bool) -> IdempotencyKey {
    IdempotencyKey::for_request(&org(), value, from_client.then_some(value))
}

fn start(key: &str) -> Start {
    Start {
        plan: plan_key(key),
        quantity: Quantity::ONE,
        payment_method: None,
        trial_days: None,
    }
}

fn change(key: &str, timing: Timing) -> PlanChange {
    PlanChange {
        plan: plan_key(key),
        quantity: Quantity::ONE,
        timing,
        proration_behavior: None,
        proration_date: None,
    }
}

fn preview_change(key: &str, timing: Timing) -> Preview {
    Preview::Change {
        plan: plan_key(key),
        quantity: Quantity::ONE,
        timing,
        proration_behavior: None,
    }
}

/// Asks for a plan change of the started subscription.
async fn change_to(
    w: &World,
    key_plan: &str,
    timing: Timing,
    idempotency_key: IdempotencyKey,
) -> Result<PlanChanged, BillingError> {
    change_plan(
        w.ports(),
        &org(),
        change(key_plan, timing),
        &idempotency_key,
    )
    .await
}

async fn started(w: &World) -> StartedSubscription {
    start_subscription(
        w.ports(),
        w.gateway.as_ref(),
        &org(),
        start("starter_monthly"),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn plans_come_from_the_configured_catalogue_in_order() {
    let w = world();
    let plans = list_plans(w.app.plans.as_ref()).await.unwrap();
    let keys: Vec<_> = plans
        .iter()
        .map(|p| (p.lookup_key.as_str(), p.unit_amount.minor_units))
        .collect();
    assert_eq!(
        keys,
        [
            ("starter_monthly", 1000),
            ("pro_monthly", 3000),
            ("pro_yearly", 30000)
        ]
    );
}

#[tokio::test]
async fn a_start_without_a_card_reports_the_payment_the_customer_must_confirm() {
    let w = world();
    let started = started(&w).await;
    assert!(started.client_secret.is_some());
    assert_eq!(started.subscription.status, SubscriptionStatus::Incomplete);
    assert_eq!(started.subscription.plan, plan("starter_monthly"));
    assert_eq!(
        w.gateway.customers_for("org_1"),
        1,
        "the org's one customer is reused"
    );
    let record = w.store.get(&org()).await.unwrap().unwrap();
    assert_eq!(record.subscription_starts, 1);
    assert_eq!(
        record.subscription.unwrap().status,
        SubscriptionStatus::Incomplete
    );
}

#[tokio::test]
async fn a_start_retried_after_its_record_write_failed_answers_with_its_own_subscription() {
    let w = world();
    let record = ensure_customer(
        w.app.customers.as_ref(),
        w.app.payments.as_ref(),
        &org(),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
    .into_record();
    // An earlier attempt: Stripe created the subscription, the answer never got recorded.
    let new = NewSubscription {
        customer: &record.stripe_customer_id,
        price_id: "price_starter",
        quantity: 1,
        payment_method: None,
        trial_days: None,
        charge_now: false,
    };
    let first = w
        .subscriptions
        .create_subscription(new, &IdempotencyKey::raw("org_1:subscription-start:0"))
        .await
        .unwrap();
    let retried = start_subscription(
        w.ports(),
        w.gateway.as_ref(),
        &org(),
        start("starter_monthly"),
    )
    .await
    .unwrap();
    assert_eq!(retried.subscription.id, first.id);
    assert!(
        retried.client_secret.is_some(),
        "the payment secret comes back"
    );
    let stored = w.store.get(&org()).await.unwrap().unwrap();
    assert_eq!(stored.subscription_starts, 1);
    // A subscription this start did not make still blocks a start.
    let error = start_subscription(
        w.ports(),
        w.gateway.as_ref(),
        &org(),
        start("starter_monthly"),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, BillingError::SubscriptionExists));
}

#[tokio::test]
async fn a_plan_change_retried_under_the_clients_key_replays_instead_of_plan_unchanged() {
    let w = world();
    started(&w).await;
    let change_now = || change("pro_monthly", Timing::Immediate);
    let first = change_plan(w.ports(), &org(), change_now(), &key("k", true))
        .await
        .unwrap();
    let retried = change_plan(w.ports(), &org(), change_now(), &key("k", true))
        .await
        .unwrap();
    assert_eq!(retried, first);
    let error = change_plan(w.ports(), &org(), change_now(), &key("k2", false))
        .await
        .unwrap_err();
    assert!(matches!(error, BillingError::PlanUnchanged));
}

#[tokio::test]
async fn a_second_start_is_subscription_exists_until_the_first_has_ended() {
    let w = world();
    started(&w).await;
    let error = start_subscription(w.ports(), w.gateway.as_ref(), &org(), start("pro_monthly"))
        .await
        .unwrap_err();
    assert!(matches!(error, BillingError::SubscriptionExists));
    w.subscriptions.end_all();
    let again = start_subscription(w.ports(), w.gateway.as_ref(), &org(), start("pro_monthly"))
        .await
        .unwrap();
    assert_eq!(
        again.subscription.id.as_str(),
        "sub_2",
        "a new start key after the first ended"
    );
}

#[tokio::test]
async fn bad_starts_are_refused_before_anything_is_created() {
    let w = world();
    let unknown = start_subscription(w.ports(), w.gateway.as_ref(), &org(), start("gold_monthly"))
        .await
        .unwrap_err();
    assert!(matches!(unknown, BillingError::UnknownPlan));
    let foreign = Start {
        payment_method: Some(PaymentMethodId::parse("pm_foreign").unwrap()),
        ..start("starter_monthly")
    };
    let error = start_subscription(w.ports(), w.gateway.as_ref(), &org(), foreign)
        .await
        .unwrap_err();
    assert!(matches!(error, BillingError::PaymentMethodNotFound));
    assert!(w.subscriptions.subscriptions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn changing_to_the_same_plan_now_is_plan_unchanged() {
    let w = world();
    started(&w).await;
    let error = change_to(&w, "starter_monthly", Timing::Immediate, key("k", false))
        .await
        .unwrap_err();
    assert!(matches!(error, BillingError::PlanUnchanged));
}

#[tokio::test]
async fn an_immediate_change_updates_stripe_and_the_stored_copy() {
    let w = world();
    started(&w).await;
    let request = PlanChange {
        proration_date: Some(PERIOD_START + 100),
        ..change("pro_monthly", Timing::Immediate)
    };
    let changed = change_plan(w.ports(), &org(), request, &key("k", false))
        .await
        .unwrap();
    assert_eq!(changed.subscription.plan, plan("pro_monthly"));
    let stored = w
        .store
        .get(&org())
        .await
        .unwrap()
        .unwrap()
        .subscription
        .unwrap();
    assert_eq!(stored.plan, plan("pro_monthly"));
}

#[tokio::test]
async fn a_proration_date_outside_the_period_is_refused() {
    let w = world();
    started(&w).await;
    for date in [PERIOD_START - 1, PERIOD_END] {
        let request = PlanChange {
            proration_date: Some(date),
            ..change("pro_monthly", Timing::Immediate)
        };
        let error = change_plan(w.ports(), &org(), request, &key("k", false))
            .await
            .unwrap_err();
        assert!(
            matches!(error, BillingError::InvalidProrationDate),
            "{date}"
        );
    }
}

#[tokio::test]
async fn a_period_end_change_is_scheduled_visible_and_withdrawable() {
    let w = world();
    started(&w).await;
    let scheduled = change_to(&w, "pro_yearly", Timing::PeriodEnd, key("k1", false))
        .await
        .unwrap();
    assert_eq!(
        scheduled.subscription.plan,
        plan("starter_monthly"),
        "the current plan is untouched"
    );
    let pending = scheduled.subscription.scheduled_change.unwrap();
    assert_eq!(
        (pending.plan, pending.effective_at),
        (plan("pro_yearly"), PERIOD_END)
    );
    let read = get_subscription(w.ports(), &org()).await.unwrap();
    assert_eq!(read.scheduled_change.unwrap().plan, plan("pro_yearly"));

    let withdrawn = change_to(&w, "starter_monthly", Timing::PeriodEnd, key("k2", false))
        .await
        .unwrap();
    assert_eq!(withdrawn.subscription.scheduled_change, None);
    assert_eq!(
        get_subscription(w.ports(), &org())
            .await
            .unwrap()
            .scheduled_change,
        None
    );
}

#[tokio::test]
async fn a_change_now_supersedes_a_pending_one() {
    let w = world();
    started(&w).await;
    change_to(&w, "pro_yearly", Timing::PeriodEnd, key("k1", false))
        .await
        .unwrap();
    let now = change_to(&w, "pro_monthly", Timing::Immediate, key("k2", false))
        .await
        .unwrap();
    assert_eq!(now.subscription.scheduled_change, None);
    assert_eq!(w.subscriptions.released.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn ended_subscriptions_cannot_be_changed_cancelled_or_resumed() {
    let w = world();
    started(&w).await;
    w.subscriptions.end_all();
    let error = change_to(&w, "pro_monthly", Timing::Immediate, key("k", false))
        .await
        .unwrap_err();
    assert!(matches!(error, BillingError::SubscriptionEnded));
    let error = set_cancel_at_period_end(w.ports(), &org(), true, &key("k", false))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "subscription_canceled");
}

#[tokio::test]
async fn cancel_and_resume_are_idempotent() {
    let w = world();
    started(&w).await;
    for _ in 0..2 {
        assert!(
            set_cancel_at_period_end(w.ports(), &org(), true, &key("k", false))
                .await
                .unwrap()
                .cancel_at_period_end
        );
    }
    for _ in 0..2 {
        assert!(
            !set_cancel_at_period_end(w.ports(), &org(), false, &key("k", false))
                .await
                .unwrap()
                .cancel_at_period_end
        );
    }
}

#[tokio::test]
async fn no_subscription_is_subscription_not_found_everywhere() {
    let w = world();
    assert!(matches!(
        get_subscription(w.ports(), &org()).await,
        Err(BillingError::SubscriptionNotFound)
    ));
    let preview = preview_invoice(w.ports(), &org(), Preview::Upcoming).await;
    assert!(matches!(preview, Err(BillingError::SubscriptionNotFound)));
    let error = change_to(&w, "pro_monthly", Timing::Immediate, key("k", false))
        .await
        .unwrap_err();
    assert!(matches!(error, BillingError::SubscriptionNotFound));
}

#[tokio::test]
async fn a_change_preview_reports_the_proration_date_it_used() {
    let w = world();
    started(&w).await;
    let request = preview_change("pro_monthly", Timing::Immediate);
    let preview = preview_invoice(w.ports(), &org(), request).await.unwrap();
    // Stripe's moment (its clock, a test clock's in test mode), not the Lambda's.
    assert_eq!(preview.proration_date, Some(PERIOD_START + 86_400));
    let last_preview = || w.subscriptions.previews.lock().unwrap().last().cloned();
    let Some(RecordedPreview::ChangeNow(sent)) = last_preview() else {
        panic!("a change now is previewed with subscription_details")
    };
    assert_eq!(sent.proration_date, None, "Stripe picks the moment");
    assert_eq!(sent.proration_behavior, ProrationBehavior::CreateProrations);

    let at_end = preview_change("pro_monthly", Timing::PeriodEnd);
    assert_eq!(
        preview_invoice(w.ports(), &org(), at_end)
            .await
            .unwrap()
            .proration_date,
        None
    );
    assert_eq!(
        last_preview(),
        Some(RecordedPreview::ChangeAtPeriodEnd {
            price_id: "price_pro".into(),
            quantity: 1
        }),
        "a period-end change is previewed as the schedule would bill it"
    );
    let upcoming = preview_invoice(w.ports(), &org(), Preview::Upcoming)
        .await
        .unwrap();
    assert_eq!(upcoming.proration_date, None);
}

#[tokio::test]
async fn cancelling_withdraws_a_pending_change_through_its_schedule() {
    let w = world();
    started(&w).await;
    change_to(&w, "pro_yearly", Timing::PeriodEnd, key("k1", false))
        .await
        .unwrap();
    // The fake, like Stripe, refuses a direct cancellation while the schedule owns it.
    let cancelled = set_cancel_at_period_end(w.ports(), &org(), true, &key("k2", false))
        .await
        .unwrap();
    assert!(cancelled.cancel_at_period_end);
    assert_eq!(cancelled.scheduled_change, None);
    assert_eq!(w.subscriptions.released.lock().unwrap().len(), 1);
    let resumed = set_cancel_at_period_end(w.ports(), &org(), false, &key("k3", false))
        .await
        .unwrap();
    assert!(!resumed.cancel_at_period_end);
}

#[tokio::test]
async fn a_period_end_change_while_cancelling_is_refused_until_resumed() {
    let w = world();
    started(&w).await;
    set_cancel_at_period_end(w.ports(), &org(), true, &key("k1", false))
        .await
        .unwrap();
    let error = change_to(&w, "pro_yearly", Timing::PeriodEnd, key("k2", false))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), error.status().as_u16()),
        ("cancellation_pending", 409)
    );
    let preview = preview_invoice(
        w.ports(),
        &org(),
        preview_change("pro_yearly", Timing::PeriodEnd),
    )
    .await
    .unwrap_err();
    assert_eq!(preview.code(), "cancellation_pending");
    assert!(w.subscriptions.schedules.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_declined_change_keeps_the_old_plan_shows_the_pending_one_and_blocks_another() {
    let w = world();
    started(&w).await;
    *w.subscriptions.next_charge.lock().unwrap() = Some(PaymentAttempt::Declined {
        decline_code: Some("stolen_card".into()),
    });
    let error = change_to(&w, "pro_monthly", Timing::Immediate, key("k", false))
        .await
        .unwrap_err();
    let BillingError::PaymentFailed { decline_code } = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        decline_code.as_deref(),
        Some("generic_decline"),
        "card-security codes are not shown"
    );
    let stored = w.store.get(&org()).await.unwrap().unwrap().subscription;
    let stored = stored.unwrap();
    assert_eq!(stored.plan, plan("starter_monthly"));
    let pending = stored.pending_payment.unwrap();
    assert_eq!(
        (pending.plan, pending.invoice_id.is_some()),
        (plan("pro_monthly"), true)
    );

    let another = change_to(&w, "pro_yearly", Timing::PeriodEnd, key("k2", false))
        .await
        .unwrap_err();
    assert!(
        matches!(another, BillingError::PaymentPending),
        "{another:?}"
    );
}

#[tokio::test]
async fn a_change_needing_authentication_answers_the_client_secret_and_the_old_plan() {
    let w = world();
    started(&w).await;
    *w.subscriptions.next_charge.lock().unwrap() = Some(PaymentAttempt::RequiresAction {
        client_secret: "pi_1_secret_2".into(),
    });
    let changed = change_to(&w, "pro_monthly", Timing::Immediate, key("k", true))
        .await
        .unwrap();
    assert_eq!(changed.client_secret.as_deref(), Some("pi_1_secret_2"));
    assert_eq!(changed.subscription.plan, plan("starter_monthly"));
    let waiting = changed.subscription.pending_payment.clone().unwrap();
    assert_eq!(
        changed.subscription.open_invoice.map(|i| i.id),
        waiting.invoice_id,
        "the open invoice is the one whose payment applies the change"
    );
    assert_eq!(
        changed.subscription.pending_payment.unwrap().plan,
        plan("pro_monthly")
    );
    // The same change retried under the client's key is sent again (Stripe replays it).
    let retried = change_to(&w, "pro_monthly", Timing::Immediate, key("k", true)).await;
    assert!(retried.is_ok(), "{retried:?}");
}

#[tokio::test]
async fn a_start_whose_first_payment_is_declined_is_payment_failed_and_stays_incomplete() {
    let w = world();
    *w.subscriptions.next_charge.lock().unwrap() = Some(PaymentAttempt::Declined {
        decline_code: Some("insufficient_funds".into()),
    });
    ensure_customer(
        w.store.as_ref(),
        w.gateway.as_ref(),
        &org(),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let card = PaymentMethodId::parse("pm_declines").unwrap();
    w.gateway.attach(&w.customer_of("org_1"), card.clone());
    let with_card = Start {
        payment_method: Some(card),
        ..start("starter_monthly")
    };
    let error = start_subscription(w.ports(), w.gateway.as_ref(), &org(), with_card)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BillingError::PaymentFailed { decline_code: Some(code) } if code == "insufficient_funds"),
        "{error:?}"
    );
    let stored = w.store.get(&org()).await.unwrap().unwrap().subscription;
    assert_eq!(stored.unwrap().status, SubscriptionStatus::Incomplete);
}
