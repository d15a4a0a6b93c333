//! Payment methods, SetupIntents and portal sessions driven by async-stripe's request builders:
//! every response deserializes into its generated types.

use std::pin::pin;

use futures_util::{Stream, StreamExt};
use stripe::{ApiErrorsCode, StripeError};
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_core::customer::{
    ListPaymentMethodsCustomer, RetrieveCustomer, RetrieveCustomerReturned, UpdateCustomer,
    UpdateCustomerInvoiceSettings,
};
use stripe_core::setup_intent::{
    CancelSetupIntent, ConfirmSetupIntent, CreateSetupIntent, CreateSetupIntentUsage,
    RetrieveSetupIntent,
};
use stripe_core::{Customer, SetupIntent};
use stripe_core::{SetupIntentCancellationReason, SetupIntentStatus};
use stripe_payment::payment_method::{
    AttachPaymentMethod, DetachPaymentMethod, ListPaymentMethod, RetrievePaymentMethod,
};
use stripe_shared::PaymentMethod;

use crate::support::Fake;

const RETURN_URL: &str = "http://127.0.0.1:5173/billing";

async fn create_setup_intent(client: &stripe::Client, customer: &str) -> SetupIntent {
    CreateSetupIntent::new()
        .customer(customer)
        .send(client)
        .await
        .unwrap()
}

/// What a retrieve of a live customer answers.
async fn live_customer(client: &stripe::Client, retrieve: RetrieveCustomer) -> Customer {
    let RetrieveCustomerReturned::Customer(customer) = retrieve.send(client).await.unwrap() else {
        panic!("customer exists")
    };
    customer
}

/// The ids a paginated list yields, in order.
async fn ids(stream: impl Stream<Item = Result<PaymentMethod, StripeError>>) -> Vec<String> {
    let mut stream = pin!(stream);
    let mut ids = Vec::new();
    while let Some(pm) = stream.next().await {
        ids.push(pm.unwrap().id.to_string());
    }
    ids
}

async fn customer_payment_methods(client: &stripe::Client, customer: &str) -> Vec<PaymentMethod> {
    ListPaymentMethodsCustomer::new(customer)
        .send(client)
        .await
        .unwrap()
        .data
}

#[tokio::test]
async fn setup_intent_saves_a_card_that_becomes_the_default_and_is_detached() {
    let fake = Fake::start().await;
    let client = fake.client();
    let customer = fake.customer_id().await;

    let intent = CreateSetupIntent::new()
        .customer(customer.as_str())
        .usage(CreateSetupIntentUsage::OffSession)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(intent.status, SetupIntentStatus::RequiresPaymentMethod);
    assert_eq!(intent.usage, "off_session");
    assert_eq!(intent.payment_method_types, ["card"]);
    let secret = intent.client_secret.clone().unwrap();
    assert!(secret.starts_with(&format!("{}_secret_", intent.id)));

    let confirmed = ConfirmSetupIntent::new(intent.id.clone())
        .payment_method("pm_card_visa")
        .return_url(RETURN_URL)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(confirmed.status, SetupIntentStatus::Succeeded);
    let pm_id = confirmed.payment_method.as_ref().unwrap().id().clone();
    assert!(pm_id.as_str().starts_with("pm_") && pm_id.as_str() != "pm_card_visa");

    let pm = RetrievePaymentMethod::new(pm_id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(
        pm.customer.as_ref().map(|c| c.id().as_str()),
        Some(customer.as_str()),
        "a successful setup attaches the card to the intent's customer"
    );
    let card = pm.card.as_ref().unwrap();
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("visa", "4242"));
    assert_eq!(card.exp_month, 12);

    // Not made the default by the setup itself.
    let before = live_customer(&client, RetrieveCustomer::new(customer.as_str())).await;
    let settings = before.invoice_settings.unwrap();
    assert!(settings.default_payment_method.is_none());

    let mut settings = UpdateCustomerInvoiceSettings::new();
    settings.default_payment_method = Some(pm_id.to_string());
    UpdateCustomer::new(customer.as_str())
        .invoice_settings(settings)
        .send(&client)
        .await
        .unwrap();
    let expanded = live_customer(
        &client,
        RetrieveCustomer::new(customer.as_str())
            .expand(vec!["invoice_settings.default_payment_method".to_owned()]),
    )
    .await;
    let default = expanded
        .invoice_settings
        .and_then(|s| s.default_payment_method)
        .unwrap();
    let default = default
        .into_object()
        .expect("expanded into the payment method");
    assert_eq!(default.id, pm_id);
    assert_eq!(default.card.unwrap().last4, "4242");

    let detached = DetachPaymentMethod::new(pm_id.clone())
        .send(&client)
        .await
        .unwrap();
    assert!(detached.customer.is_none());
    let after = live_customer(&client, RetrieveCustomer::new(customer.as_str())).await;
    assert!(
        after
            .invoice_settings
            .unwrap()
            .default_payment_method
            .is_none(),
        "detaching the default clears it (default switch setting)"
    );
    let again = AttachPaymentMethod::new(pm_id.clone())
        .customer(customer.as_str())
        .send(&client)
        .await;
    let Err(StripeError::Stripe(error, 400)) = again else {
        panic!("a detached payment method cannot be attached again")
    };
    assert_eq!(
        error.code,
        Some(ApiErrorsCode::PaymentMethodUnexpectedState)
    );

    let other = create_setup_intent(&client, &customer).await;
    let canceled = CancelSetupIntent::new(other.id.clone())
        .cancellation_reason(SetupIntentCancellationReason::Abandoned)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(canceled.status, SetupIntentStatus::Canceled);
}

#[tokio::test]
async fn payment_methods_attach_list_and_paginate_with_async_stripe() {
    let fake = Fake::start().await;
    let client = fake.client();
    let customer = fake.customer_id().await;
    let mut attached = fake.attach_cards(&customer, "pm_card_visa", 24).await;

    let amex = AttachPaymentMethod::new("pm_card_amex")
        .customer(customer.as_str())
        .send(&client)
        .await
        .unwrap();
    let card = amex.card.as_ref().unwrap();
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("amex", "8431"));
    assert_eq!(
        amex.customer.as_ref().map(|c| c.id().as_str()),
        Some(customer.as_str())
    );
    attached.push(amex.id.to_string());
    attached.reverse(); // Stripe lists newest first.

    let listed = ids(ListPaymentMethodsCustomer::new(customer.as_str())
        .limit(10)
        .paginate()
        .stream(&client))
    .await;
    assert_eq!(listed, attached);

    let listed = ids(ListPaymentMethod::new()
        .customer(customer.as_str())
        .limit(10)
        .paginate()
        .stream(&client))
    .await;
    assert_eq!(listed, attached);

    let first_page = ListPaymentMethodsCustomer::new(customer.as_str())
        .limit(10)
        .send(&client)
        .await
        .unwrap();
    assert!(first_page.has_more);
    assert_eq!(first_page.data.len(), 10);
    assert_eq!(
        first_page.url,
        format!("/v1/customers/{customer}/payment_methods")
    );
}

#[tokio::test]
async fn declines_and_three_d_secure_through_async_stripe() {
    let fake = Fake::start().await;
    let client = fake.client();
    let customer = fake.customer_id().await;

    let intent = create_setup_intent(&client, &customer).await;
    let declined = ConfirmSetupIntent::new(intent.id.clone())
        .payment_method("pm_card_visa_chargeDeclinedInsufficientFunds")
        .return_url(RETURN_URL)
        .send(&client)
        .await;
    let Err(StripeError::Stripe(error, 402)) = declined else {
        panic!("a declined card is a 402")
    };
    assert_eq!(error.code, Some(ApiErrorsCode::CardDeclined));
    assert_eq!(error.decline_code.as_deref(), Some("insufficient_funds"));
    assert_eq!(
        error.setup_intent.map(|i| i.status),
        Some(SetupIntentStatus::RequiresPaymentMethod)
    );
    let failed = RetrieveSetupIntent::new(intent.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(failed.status, SetupIntentStatus::RequiresPaymentMethod);
    assert!(failed.payment_method.is_none());
    let last_error = failed.last_setup_error.unwrap();
    assert_eq!(
        last_error.decline_code.as_deref(),
        Some("insufficient_funds")
    );
    assert!(last_error.payment_method.is_some());

    let action = ConfirmSetupIntent::new(intent.id.clone())
        .payment_method("pm_card_authenticationRequiredOnSetup")
        .return_url(RETURN_URL)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(action.status, SetupIntentStatus::RequiresAction);
    assert_eq!(action.next_action.as_ref().unwrap().type_, "use_stripe_sdk");
    assert!(action.last_setup_error.is_none());
    let pm = action.payment_method.as_ref().unwrap().id().clone();
    let listed = customer_payment_methods(&client, &customer).await;
    assert!(listed.is_empty(), "not attached before authentication");

    let done = fake
        .control(
            "POST",
            &format!("/_fake/setup_intents/{}/authenticate", intent.id),
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let succeeded = RetrieveSetupIntent::new(intent.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(succeeded.status, SetupIntentStatus::Succeeded);
    assert!(succeeded.next_action.is_none());
    let listed = customer_payment_methods(&client, &customer).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, pm);
}

#[tokio::test]
async fn portal_session_through_async_stripe() {
    let fake = Fake::start().await;
    let client = fake.client();
    let customer = fake.customer_id().await;
    let session = CreateBillingPortalSession::new()
        .customer(customer.as_str())
        .return_url(RETURN_URL)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(session.customer, customer);
    assert_eq!(session.return_url.as_deref(), Some(RETURN_URL));
    assert!(session.id.as_str().starts_with("bps_"));
    assert_eq!(
        session.url,
        format!("{}/_fake/portal/{}", fake.server.url(), session.id)
    );
    assert!(session.configuration.id().as_str().starts_with("bpc_"));

    let missing = CreateBillingPortalSession::new()
        .customer("cus_missing")
        .send(&client)
        .await;
    let Err(StripeError::Stripe(error, 400)) = missing else {
        panic!("unknown customer refused")
    };
    assert_eq!(error.param.as_deref(), Some("customer"));
}
