//! Prices, subscriptions, previews and schedules driven by async-stripe's request builders: every
//! response deserializes into its generated types.

use stripe::{ApiErrorsCode, StripeError};
use stripe_billing::invoice::{
    CreatePreviewInvoice, CreatePreviewInvoiceSubscriptionDetails,
    CreatePreviewInvoiceSubscriptionDetailsItems,
    CreatePreviewInvoiceSubscriptionDetailsProrationBehavior, ListInvoice, PayInvoice,
    RetrieveInvoice,
};
use stripe_billing::invoice_item::{ListInvoiceItem, RetrieveInvoiceItem};
use stripe_billing::subscription::{
    CancelSubscription, CreateSubscription, CreateSubscriptionItems,
    CreateSubscriptionPaymentBehavior, ListSubscription, RetrieveSubscription, UpdateSubscription,
    UpdateSubscriptionItems, UpdateSubscriptionProrationBehavior,
};
use stripe_billing::subscription_schedule::{
    CreateSubscriptionSchedule, ReleaseSubscriptionSchedule, RetrieveSubscriptionSchedule,
    UpdateSubscriptionSchedule, UpdateSubscriptionSchedulePhases,
    UpdateSubscriptionSchedulePhasesDuration, UpdateSubscriptionSchedulePhasesDurationInterval,
    UpdateSubscriptionSchedulePhasesEndDate, UpdateSubscriptionSchedulePhasesItems,
    UpdateSubscriptionSchedulePhasesStartDate,
};
use stripe_product::price::ListPrice;
use stripe_product::product::RetrieveProduct;
use stripe_shared::{
    InvoiceStatus, PaymentIntentStatus, SubscriptionScheduleStatus, SubscriptionStatus,
};

use crate::support::Fake;

const DAY: i64 = 86_400;

#[tokio::test]
async fn prices_by_lookup_key_with_their_products() {
    let fake = Fake::start().await;
    let client = fake.client();
    let prices = ListPrice::new()
        .lookup_keys(vec!["starter_monthly".to_owned(), "pro_yearly".to_owned()])
        .active(true)
        .expand(vec!["data.product".to_owned()])
        .send(&client)
        .await
        .unwrap();
    assert_eq!(prices.data.len(), 2);
    let yearly = prices
        .data
        .iter()
        .find(|p| p.lookup_key.as_deref() == Some("pro_yearly"))
        .unwrap();
    assert_eq!(yearly.unit_amount, Some(30000));
    assert_eq!(yearly.currency.to_string(), "usd");
    let recurring = yearly.recurring.as_ref().unwrap();
    assert_eq!(recurring.interval.as_str(), "year");
    let product = yearly.product.as_object().expect("expanded");
    assert_eq!(product.name, "Pro");
    let retrieved = RetrieveProduct::new(product.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(retrieved.id, product.id);
}

#[tokio::test]
async fn subscribe_change_plan_with_a_preview_and_schedule_a_downgrade() {
    let fake = Fake::start().await;
    let client = fake.client();
    let (customer, _) = fake.paying_customer("pm_card_visa").await;
    let starter = fake.price_id("starter_monthly").await;
    let pro = fake.price_id("pro_monthly").await;

    // Create with the confirmation secret expanded (default_incomplete: the client confirms).
    let mut item = CreateSubscriptionItems::new();
    item.price = Some(starter.clone());
    item.quantity = Some(2);
    let created = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item])
        .payment_behavior(CreateSubscriptionPaymentBehavior::DefaultIncomplete)
        .expand(vec!["latest_invoice.confirmation_secret".to_owned()])
        .send(&client)
        .await
        .unwrap();
    assert_eq!(created.status, SubscriptionStatus::Incomplete);
    let invoice = created
        .latest_invoice
        .as_ref()
        .unwrap()
        .as_object()
        .unwrap();
    assert_eq!(invoice.status, Some(InvoiceStatus::Open));
    assert_eq!(invoice.total, 2000);
    let secret = invoice.confirmation_secret.as_ref().unwrap();
    assert_eq!(secret.type_, "payment_intent");
    let invoice_id = invoice.id.clone().unwrap();
    let paid = fake
        .control("POST", &format!("/_fake/invoices/{invoice_id}/pay"), None)
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);

    let sub = RetrieveSubscription::new(created.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Active);
    let item = &sub.items.data[0];
    assert_eq!(item.quantity, Some(2));
    assert_eq!(item.price.id.as_str(), starter);
    let (start, end) = (item.current_period_start, item.current_period_end);

    // Preview an upgrade with a proration date, then make it with the same date.
    fake.advance(12 * DAY).await;
    let t = fake.now().await;
    let mut change = CreatePreviewInvoiceSubscriptionDetailsItems::new();
    change.id = Some(item.id.to_string());
    change.price = Some(pro.clone());
    let mut details = CreatePreviewInvoiceSubscriptionDetails::new();
    details.items = Some(vec![change]);
    details.proration_behavior =
        Some(CreatePreviewInvoiceSubscriptionDetailsProrationBehavior::AlwaysInvoice);
    details.proration_date = Some(t);
    let preview = CreatePreviewInvoice::new()
        .subscription(sub.id.as_str())
        .subscription_details(details)
        .send(&client)
        .await
        .unwrap();
    assert!(
        preview
            .id
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("upcoming_in_")
    );
    let proration_date = preview
        .parent
        .as_ref()
        .and_then(|p| p.subscription_details.as_ref())
        .and_then(|d| d.subscription_proration_date);
    assert_eq!(
        proration_date,
        Some(t),
        "how a client reads the preview's proration date"
    );
    let credit = -((2 * 1000 * 2 * (end - t) + (end - start)) / (2 * (end - start)));
    let debit = (2 * 3000 * 2 * (end - t) + (end - start)) / (2 * (end - start));
    let line_amounts: Vec<i64> = preview.lines.data.iter().map(|l| l.amount).collect();
    assert_eq!(line_amounts, [credit, debit]);
    assert!(preview.lines.data.iter().all(|l| {
        l.parent
            .as_ref()
            .and_then(|p| p.subscription_item_details.as_ref())
            .is_some_and(|d| d.proration)
            && l.period.start == t
    }));

    let mut update = UpdateSubscriptionItems::new();
    update.id = Some(item.id.to_string());
    update.price = Some(pro.clone());
    let updated = UpdateSubscription::new(sub.id.clone())
        .items(vec![update])
        .proration_behavior(UpdateSubscriptionProrationBehavior::AlwaysInvoice)
        .proration_date(proration_date.unwrap())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(updated.items.data[0].price.id.as_str(), pro);
    let latest = updated.latest_invoice.unwrap().id().clone().unwrap();
    let charged = RetrieveInvoice::new(latest).send(&client).await.unwrap();
    assert_eq!(charged.total, preview.total);
    assert_eq!(charged.status, Some(InvoiceStatus::Paid));
    let invoices = ListInvoice::new()
        .subscription(sub.id.as_str())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(invoices.data.len(), 2);

    // A create_prorations change leaves pending invoice items.
    let mut back = UpdateSubscriptionItems::new();
    back.id = Some(item.id.to_string());
    back.quantity = Some(3);
    UpdateSubscription::new(sub.id.clone())
        .items(vec![back])
        .proration_behavior(UpdateSubscriptionProrationBehavior::CreateProrations)
        .send(&client)
        .await
        .unwrap();
    let pending = ListInvoiceItem::new()
        .customer(customer.as_str())
        .pending(true)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(pending.data.len(), 2);
    assert!(pending.data.iter().all(|ii| ii.proration));
    let one = RetrieveInvoiceItem::new(pending.data[0].id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(one.amount, pending.data[0].amount);

    // Schedule a downgrade at the period end, then drop it.
    let schedule = CreateSubscriptionSchedule::new()
        .from_subscription(sub.id.as_str())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(schedule.status, SubscriptionScheduleStatus::Active);
    let phase = &schedule.phases[0];
    let mut current = UpdateSubscriptionSchedulePhasesItems::new();
    current.price = Some(pro.clone());
    current.quantity = Some(3);
    let mut first = UpdateSubscriptionSchedulePhases::new(vec![current]);
    first.start_date = Some(UpdateSubscriptionSchedulePhasesStartDate::Timestamp(
        phase.start_date,
    ));
    first.end_date = Some(UpdateSubscriptionSchedulePhasesEndDate::Timestamp(
        phase.end_date,
    ));
    let mut cheaper = UpdateSubscriptionSchedulePhasesItems::new();
    cheaper.price = Some(starter.clone());
    let mut second = UpdateSubscriptionSchedulePhases::new(vec![cheaper]);
    let mut duration = UpdateSubscriptionSchedulePhasesDuration::new(
        UpdateSubscriptionSchedulePhasesDurationInterval::Month,
    );
    duration.interval_count = Some(1);
    second.duration = Some(duration);
    let updated = UpdateSubscriptionSchedule::new(schedule.id.clone())
        .phases(vec![first, second])
        .send(&client)
        .await
        .unwrap();
    assert_eq!(updated.phases.len(), 2);
    assert_eq!(updated.phases[1].start_date, phase.end_date);
    assert_eq!(
        updated.phases[1].items[0].price.id().as_str(),
        starter.as_str()
    );
    let retrieved = RetrieveSubscriptionSchedule::new(schedule.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(retrieved.phases.len(), 2);
    let released = ReleaseSubscriptionSchedule::new(schedule.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(released.status, SubscriptionScheduleStatus::Released);
    assert_eq!(
        released.released_subscription.as_deref(),
        Some(sub.id.as_str())
    );
    let after = RetrieveSubscription::new(sub.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert!(after.schedule.is_none());

    let listed = ListSubscription::new()
        .customer(customer.as_str())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(listed.data.len(), 1);
    let canceled = CancelSubscription::new(sub.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);
    assert!(end > t);
}

/// `PayInvoice` on a failed renewal: the 402 deserializes into async-stripe's error with its
/// PaymentIntent, the success into an `Invoice` whose `payments` list is expanded.
#[tokio::test]
async fn paying_an_invoice_through_async_stripe() {
    let fake = Fake::start().await;
    let client = fake.client();
    let (customer, _) = fake.paying_customer("pm_card_chargeCustomerFail").await;
    let starter = fake.price_id("starter_monthly").await;
    let created = fake
        .subscribe(
            &customer,
            &starter,
            &[("payment_behavior", "default_incomplete")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let invoice = created.body["latest_invoice"].as_str().unwrap().to_owned();

    let declined = PayInvoice::new(invoice.as_str()).send(&client).await;
    let Err(StripeError::Stripe(error, 402)) = declined else {
        panic!("expected a 402, got {declined:?}")
    };
    assert_eq!(error.code, Some(ApiErrorsCode::CardDeclined));
    assert_eq!(error.decline_code.as_deref(), Some("generic_decline"));
    let intent = error.payment_intent.expect("the PaymentIntent");
    assert_eq!(intent.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert!(intent.last_payment_error.is_some());

    let visa = fake
        .attach_cards(&customer, "pm_card_visa", 1)
        .await
        .remove(0);
    let paid = PayInvoice::new(invoice.as_str())
        .payment_method(visa.as_str())
        .off_session(true)
        .expand(vec!["payments".to_owned()])
        .send(&client)
        .await
        .unwrap();
    assert_eq!(paid.status, Some(InvoiceStatus::Paid));
    let payments = paid.payments.expect("expanded");
    assert_eq!(payments.data[0].status, "paid");
    assert_eq!(payments.data[0].amount_paid, Some(1000));
    let retrieved = RetrieveInvoice::new(invoice.as_str())
        .expand(vec!["confirmation_secret".to_owned()])
        .send(&client)
        .await
        .unwrap();
    let secret = retrieved.confirmation_secret.expect("includable");
    assert!(secret.client_secret.starts_with(&format!(
        "{}_secret_",
        payments.data[0].payment.payment_intent.as_ref().unwrap().id()
    )));
}
