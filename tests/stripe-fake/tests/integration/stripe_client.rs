//! The key check: the product's client library (async-stripe 1.0.0-rc.10) talks to the fake and
//! every response deserializes into its generated types.

use std::collections::HashMap;
use std::pin::pin;

use futures_util::StreamExt;
use stripe::{ApiErrorsCode, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::customer::{
    CreateCustomer, DeleteCustomer, ListCustomer, RetrieveCustomer, RetrieveCustomerReturned,
    SearchCustomer, UpdateCustomer, UpdateCustomerInvoiceSettings,
};
use stripe_core::event::{ListEvent, RetrieveEvent};
use stripe_misc::webhook_endpoint::{
    CreateWebhookEndpoint, CreateWebhookEndpointEnabledEvents, DeleteWebhookEndpoint,
    ListWebhookEndpoint, RetrieveWebhookEndpoint, UpdateWebhookEndpoint,
};

use crate::support::Fake;

fn idempotent(key: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(key).expect("valid key"))
}

#[tokio::test]
async fn customer_lifecycle_through_async_stripe() {
    let fake = Fake::start().await;
    let client = fake.client();
    let metadata = HashMap::from([("org_id".to_owned(), "org_42".to_owned())]);

    let create = CreateCustomer::new()
        .email("owner@example.com")
        .name("Org 42")
        .metadata(metadata.clone());
    let created = create
        .customize()
        .request_strategy(idempotent("ensure-org_42"))
        .send(&client)
        .await
        .unwrap();
    assert_eq!(created.email.as_deref(), Some("owner@example.com"));
    assert_eq!(
        created
            .metadata
            .as_ref()
            .and_then(|m| m.get("org_id"))
            .map(String::as_str),
        Some("org_42")
    );
    assert!(created.id.as_str().starts_with("cus_"));

    // The same call under the same key replays: same customer, no second object.
    let replayed = create
        .customize()
        .request_strategy(idempotent("ensure-org_42"))
        .send(&client)
        .await
        .unwrap();
    assert_eq!(replayed.id, created.id);
    assert_eq!(fake.stored_customers().await.len(), 1);

    let retrieved = RetrieveCustomer::new(created.id.clone())
        .send(&client)
        .await
        .unwrap();
    let RetrieveCustomerReturned::Customer(retrieved) = retrieved else {
        panic!("not deleted yet")
    };
    assert_eq!(retrieved.id, created.id);

    let pm = fake
        .attach_cards(created.id.as_str(), "pm_card_visa", 1)
        .await
        .remove(0);
    let mut settings = UpdateCustomerInvoiceSettings::new();
    settings.default_payment_method = Some(pm.clone());
    let updated = UpdateCustomer::new(created.id.clone())
        .name("Org 42 Ltd")
        .invoice_settings(settings)
        .metadata(HashMap::from([("plan".to_owned(), "pro".to_owned())]))
        .send(&client)
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Org 42 Ltd"));
    let default_pm = updated
        .invoice_settings
        .as_ref()
        .and_then(|s| s.default_payment_method.as_ref());
    assert_eq!(default_pm.map(|pm| pm.id().as_str()), Some(pm.as_str()));
    let metadata = updated.metadata.clone().unwrap_or_default();
    assert_eq!(
        (metadata["org_id"].as_str(), metadata["plan"].as_str()),
        ("org_42", "pro"),
        "metadata merges"
    );

    let found = SearchCustomer::new("metadata['org_id']:'org_42'")
        .send(&client)
        .await
        .unwrap();
    assert_eq!(found.data.len(), 1);
    assert_eq!(found.data[0].id, created.id);
    assert!(!found.has_more);
    let none = SearchCustomer::new("metadata['org_id']:'org_43'")
        .send(&client)
        .await
        .unwrap();
    assert!(none.data.is_empty());

    let deleted = DeleteCustomer::new(created.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(deleted.id, created.id);
    let after = RetrieveCustomer::new(created.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert!(matches!(after, RetrieveCustomerReturned::DeletedCustomer(d) if d.id == created.id));
}

#[tokio::test]
async fn fully_populated_customer_deserializes() {
    let fake = Fake::start().await;
    let pairs = [
        ("email", "full@example.com"),
        ("name", "Full"),
        ("phone", "+15555550100"),
        ("description", "every field"),
        ("balance", "-500"),
        ("business_name", "Full Ltd"),
        ("individual_name", "F. Ull"),
        ("invoice_prefix", "FULL01"),
        ("next_invoice_sequence", "7"),
        ("preferred_locales[]", "en"),
        ("preferred_locales[]", "fr"),
        ("tax_exempt", "exempt"),
        ("address[line1]", "1 Main St"),
        ("address[country]", "US"),
        ("shipping[name]", "Dock"),
        ("shipping[address][city]", "Springfield"),
        ("invoice_settings[footer]", "Thanks"),
        ("invoice_settings[custom_fields][0][name]", "PO"),
        ("invoice_settings[custom_fields][0][value]", "42"),
        (
            "invoice_settings[rendering_options][amount_tax_display]",
            "include_inclusive_tax",
        ),
    ];
    let id = fake.create_customer(&pairs).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let RetrieveCustomerReturned::Customer(customer) = RetrieveCustomer::new(id.as_str())
        .send(&fake.client())
        .await
        .unwrap()
    else {
        panic!("not deleted")
    };
    assert_eq!(customer.balance, Some(-500));
    assert_eq!(customer.business_name.as_deref(), Some("Full Ltd"));
    assert_eq!(
        customer.preferred_locales.as_deref(),
        Some(&["en".to_owned(), "fr".to_owned()][..])
    );
    assert_eq!(
        customer.address.and_then(|a| a.line1).as_deref(),
        Some("1 Main St")
    );
    let shipping = customer.shipping.expect("shipping");
    assert_eq!(shipping.name.as_deref(), Some("Dock"));
    assert_eq!(
        shipping.address.and_then(|a| a.city).as_deref(),
        Some("Springfield")
    );
    let settings = customer.invoice_settings.expect("invoice settings");
    assert_eq!(
        settings
            .custom_fields
            .map(|f| f[0].value.clone())
            .as_deref(),
        Some("42")
    );
    let rendering = settings.rendering_options.expect("rendering options");
    assert_eq!(
        rendering.amount_tax_display.as_deref(),
        Some("include_inclusive_tax")
    );
    assert_eq!(
        customer
            .tax_exempt
            .map(|t| t.as_str().to_owned())
            .as_deref(),
        Some("exempt")
    );
}

#[tokio::test]
async fn list_and_search_paginate_with_async_stripe() {
    let fake = Fake::start().await;
    let client = fake.client();
    for i in 0..5 {
        let metadata = HashMap::from([("batch".to_owned(), "b1".to_owned())]);
        CreateCustomer::new()
            .email(format!("c{i}@example.com"))
            .metadata(metadata)
            .send(&client)
            .await
            .unwrap();
    }
    let mut listed = Vec::new();
    let mut stream = pin!(ListCustomer::new().limit(2).paginate().stream(&client));
    while let Some(customer) = stream.next().await {
        listed.push(customer.unwrap().email.unwrap_or_default());
    }
    assert_eq!(
        listed,
        ["c4", "c3", "c2", "c1", "c0"].map(|c| format!("{c}@example.com")),
        "newest first"
    );

    let mut searched = Vec::new();
    let mut stream = pin!(
        SearchCustomer::new("metadata['batch']:'b1'")
            .limit(2)
            .paginate()
            .stream(&client)
    );
    while let Some(customer) = stream.next().await {
        searched.push(customer.unwrap().email.unwrap_or_default());
    }
    assert_eq!(searched, listed);

    let by_email = ListCustomer::new()
        .email("c3@example.com")
        .send(&client)
        .await
        .unwrap();
    assert_eq!(by_email.data.len(), 1);
}

#[tokio::test]
async fn errors_deserialize_into_async_stripe_errors() {
    let fake = Fake::start().await;
    let client = fake.client();
    let missing = RetrieveCustomer::new("cus_doesnotexist")
        .send(&client)
        .await;
    let Err(StripeError::Stripe(error, 404)) = missing else {
        panic!("expected a 404")
    };
    assert_eq!(error.code, Some(ApiErrorsCode::ResourceMissing));
    assert_eq!(
        error.message.as_deref(),
        Some("No such customer: 'cus_doesnotexist'")
    );

    let bad = stripe::ClientBuilder::new("sk_live_nope")
        .url(fake.server.url())
        .build()
        .unwrap();
    let unauthorized = ListCustomer::new().send(&bad).await;
    assert!(matches!(unauthorized, Err(StripeError::Stripe(_, 401))));

    let invalid = SearchCustomer::new("nonsense").send(&client).await;
    let Err(StripeError::Stripe(error, 400)) = invalid else {
        panic!("expected a 400")
    };
    assert_eq!(error.param.as_deref(), Some("query"));
}

#[tokio::test]
async fn webhook_endpoints_and_events_through_async_stripe() {
    let fake = Fake::start().await;
    let client = fake.client();
    let created = CreateWebhookEndpoint::new(
        vec![
            CreateWebhookEndpointEnabledEvents::CustomerCreated,
            CreateWebhookEndpointEnabledEvents::CustomerUpdated,
        ],
        "http://127.0.0.1:9/hook",
    )
    .description("local stack")
    .send(&client)
    .await
    .unwrap();
    assert!(
        created
            .secret
            .as_deref()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    assert_eq!(
        created.enabled_events,
        ["customer.created", "customer.updated"]
    );

    let retrieved = RetrieveWebhookEndpoint::new(created.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(retrieved.secret, None, "the secret is only shown on create");
    let disabled = UpdateWebhookEndpoint::new(created.id.clone())
        .disabled(true)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(disabled.status, "disabled");
    let listed = ListWebhookEndpoint::new().send(&client).await.unwrap();
    assert_eq!(listed.data.len(), 1);
    DeleteWebhookEndpoint::new(created.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert!(
        RetrieveWebhookEndpoint::new(created.id.clone())
            .send(&client)
            .await
            .is_err()
    );

    let customer = CreateCustomer::new()
        .email("e@example.com")
        .customize()
        .request_strategy(idempotent("evt-key"))
        .send(&client)
        .await
        .unwrap();
    UpdateCustomer::new(customer.id.clone())
        .email("f@example.com")
        .send(&client)
        .await
        .unwrap();
    let events = ListEvent::new().send(&client).await.unwrap();
    let types: Vec<&str> = events.data.iter().map(|e| e.type_.as_str()).collect();
    assert_eq!(types, ["customer.updated", "customer.created"]);
    let created_event = RetrieveEvent::new(events.data[1].id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(
        created_event.api_version.as_deref(),
        Some(stripe_fake::API_VERSION)
    );
    let request = created_event.request.expect("request info");
    assert_eq!(request.idempotency_key.as_deref(), Some("evt-key"));
    assert!(request.id.is_some_and(|id| id.starts_with("req_")));
    let only_updates = ListEvent::new()
        .type_("customer.updated")
        .send(&client)
        .await
        .unwrap();
    assert_eq!(only_updates.data.len(), 1);
}
