//! Payment methods and the Customer Portal. Stripe is the source of truth: nothing here is
//! copied into DynamoDB, and ownership is always checked against Stripe's answer.

use super::customers::ensure_customer;
use super::reconcile::write_reconciled;
use crate::config::Settings;
use crate::domain::{IdempotencyKey, OpenInvoice, OrgId, PaymentMethodId, StripeCustomerId};
use crate::error::BillingError;
use crate::store::CustomerStore;
use crate::stripe::SubscriptionGateway;
use crate::stripe::{Card, GatewayError, PaymentGateway, SetupIntentCreated};
use time::OffsetDateTime;
use url::Url;

/// One of the org's cards, and whether it is the customer's invoice default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCard {
    pub card: Card,
    pub is_default: bool,
}

/// The org's cards, the default first; an org without a customer has none.
pub async fn list_payment_methods(
    store: &dyn CustomerStore,
    gateway: &dyn PaymentGateway,
    org_id: &OrgId,
) -> Result<Vec<SavedCard>, BillingError> {
    let Some(record) = store.get(org_id).await? else {
        return Ok(Vec::new());
    };
    let customer = &record.stripe_customer_id;
    let (cards, default) = tokio::try_join!(
        gateway.list_cards(customer),
        gateway.default_payment_method(customer)
    )?;
    let mut saved: Vec<SavedCard> = cards
        .into_iter()
        .map(|card| SavedCard {
            is_default: default.as_ref() == Some(&card.id),
            card,
        })
        .collect();
    // Stable sort: default first, Stripe's newest-first order otherwise.
    saved.sort_by_key(|saved| !saved.is_default);
    Ok(saved)
}

/// A SetupIntent on the org's customer (created first if needed).
pub async fn create_setup_intent(
    store: &dyn CustomerStore,
    gateway: &dyn PaymentGateway,
    org_id: &OrgId,
    now: OffsetDateTime,
    idempotency_key: &IdempotencyKey,
) -> Result<SetupIntentCreated, BillingError> {
    let customer = ensure_customer(store, gateway, org_id, now)
        .await?
        .into_record()
        .stripe_customer_id;
    // The intent carries its request key: a retry after an unknown outcome finds the one the
    // first attempt made instead of leaving a second.
    let customer = &customer;
    write_reconciled(
        idempotency_key,
        |key| async move {
            gateway
                .create_setup_intent(customer, idempotency_key, &key)
                .await
        },
        || async { Ok(gateway.find_setup_intent(customer, idempotency_key).await?) },
    )
    .await
}

/// The org's customer, provided the payment method is attached to it — else
/// `payment_method_not_found`, whoever owns it (no other org's objects are revealed).
async fn owned_payment_method(
    store: &dyn CustomerStore,
    gateway: &dyn PaymentGateway,
    org_id: &OrgId,
    payment_method: &PaymentMethodId,
) -> Result<StripeCustomerId, BillingError> {
    let record = store
        .get(org_id)
        .await?
        .ok_or(BillingError::PaymentMethodNotFound)?;
    match gateway.payment_method_owner(payment_method).await? {
        Some(owner) if owner == record.stripe_customer_id => Ok(owner),
        _ => Err(BillingError::PaymentMethodNotFound),
    }
}

/// Sets the customer's invoice default, and the live subscription's own default (which would
/// otherwise take precedence), so the next invoice is charged to the chosen card. Returns the
/// live subscription's unpaid invoice, which the card can now pay (the app offers to).
pub async fn set_default_payment_method(
    store: &dyn CustomerStore,
    gateway: &dyn PaymentGateway,
    subscriptions: &dyn SubscriptionGateway,
    org_id: &OrgId,
    payment_method: &PaymentMethodId,
    idempotency_key: &IdempotencyKey,
) -> Result<Option<OpenInvoice>, BillingError> {
    let customer = &owned_payment_method(store, gateway, org_id, payment_method).await?;
    write_reconciled(
        idempotency_key,
        |key| async move {
            gateway
                .set_default_payment_method(customer, payment_method, &key)
                .await
        },
        || async {
            let now = gateway.default_payment_method(customer).await?;
            Ok((now.as_ref() == Some(payment_method)).then_some(()))
        },
    )
    .await?;
    if let Some(subscription) = subscriptions.latest_subscription(customer).await?
        && !subscription.status.has_ended()
    {
        let id = &subscription.id;
        write_reconciled(
            &idempotency_key.derive("subscription"),
            |key| async move {
                subscriptions
                    .set_default_payment_method(id, payment_method, &key)
                    .await
            },
            || async {
                let now = subscriptions.latest_subscription(customer).await?;
                Ok(now
                    .filter(|s| s.default_payment_method.as_ref() == Some(payment_method))
                    .map(|_| ()))
            },
        )
        .await?;
        return Ok(subscription.open_invoice);
    }
    Ok(None)
}

/// What a detach left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    pub detached: PaymentMethodId,
    /// The customer's default payment method afterwards (`None` when none is left).
    pub default_payment_method: Option<PaymentMethodId>,
}

/// Detaches one of the org's cards. Detaching the default (the customer's or the live
/// subscription's) promotes the customer's other default, else the newest other card, to both
/// *before* the detach, so invoices never lack a payment method while others exist;
/// the only card of an active or trialing subscription cannot be detached (409).
pub async fn detach_payment_method(
    store: &dyn CustomerStore,
    gateway: &dyn PaymentGateway,
    subscriptions: &dyn SubscriptionGateway,
    org_id: &OrgId,
    payment_method: &PaymentMethodId,
    idempotency_key: &IdempotencyKey,
) -> Result<Detached, BillingError> {
    let record = store
        .get(org_id)
        .await?
        .ok_or(BillingError::PaymentMethodNotFound)?;
    let customer = record.stripe_customer_id;
    match gateway.payment_method_owner(payment_method).await? {
        Some(owner) if owner == customer => {}
        // Attached to nobody: perhaps detached by an earlier attempt under this very key.
        None => return replayed_detach(gateway, &customer, payment_method, idempotency_key).await,
        Some(_) => return Err(BillingError::PaymentMethodNotFound),
    }
    let mut default = gateway.default_payment_method(&customer).await?;
    let others: Vec<PaymentMethodId> = gateway
        .list_cards(&customer)
        .await?
        .into_iter()
        .map(|card| card.id)
        .filter(|id| id != payment_method)
        .collect();
    let live = subscriptions
        .latest_subscription(&customer)
        .await?
        .filter(|s| s.status.is_billing());
    if others.is_empty() && live.is_some() {
        return Err(BillingError::DefaultPaymentMethodRequired);
    }
    // The subscription's own default outranks the customer's: left on the detached card, the
    // next renewal would try it. Either default on this card moves to a remaining one first.
    let subscription_default = live.and_then(|s| s.default_payment_method);
    if default.as_ref() == Some(payment_method)
        || subscription_default.as_ref() == Some(payment_method)
    {
        default = default
            .filter(|d| d != payment_method)
            .or_else(|| others.first().cloned());
        if let Some(successor) = &default {
            let key = idempotency_key.derive("promote");
            set_default_payment_method(store, gateway, subscriptions, org_id, successor, &key)
                .await?;
        }
    }
    write_reconciled(
        idempotency_key,
        |key| async move { gateway.detach_payment_method(payment_method, &key).await },
        || async {
            let owner = gateway.payment_method_owner(payment_method).await?;
            Ok(owner.is_none().then_some(()))
        },
    )
    .await?;
    Ok(Detached {
        detached: payment_method.clone(),
        default_payment_method: default,
    })
}

/// The retry of a detach whose first attempt detached the card (its answer lost or a 500): the
/// card is attached to nobody, so the ownership check cannot pass again. The same request is
/// sent under the same key — keys are scoped to the org, so Stripe answers with what *this org's*
/// earlier request did (its saved success, or its saved 5xx: the card is detached either way);
/// a key never used for it gets Stripe's refusal of detaching an unattached card → 404, as before.
async fn replayed_detach(
    gateway: &dyn PaymentGateway,
    customer: &StripeCustomerId,
    payment_method: &PaymentMethodId,
    idempotency_key: &IdempotencyKey,
) -> Result<Detached, BillingError> {
    match gateway
        .detach_payment_method(payment_method, idempotency_key)
        .await
    {
        Ok(()) | Err(GatewayError::ServerError(_)) => Ok(Detached {
            detached: payment_method.clone(),
            default_payment_method: gateway.default_payment_method(customer).await?,
        }),
        Err(_) => Err(BillingError::PaymentMethodNotFound),
    }
}

/// The portal's return URL: the configured default, or the caller's if it stays on the app's
/// origin (no open redirect). `https` only, except `http` on localhost when the app itself is
/// served over http (the local stack). A path like `/billing/plans` is taken relative to the app.
pub fn resolve_return_url(
    settings: &Settings,
    requested: Option<&str>,
) -> Result<Url, BillingError> {
    let Some(requested) = requested else {
        return Ok(settings.portal_return_url.clone());
    };
    let app = &settings.app_public_url;
    let url = if requested.starts_with('/') && !requested.starts_with("//") {
        app.join(requested)
    } else {
        Url::parse(requested)
    }
    .map_err(|_| BillingError::InvalidReturnUrl)?;
    let local_http = url.scheme() == "http"
        && app.scheme() == "http"
        && matches!(url.host_str(), Some("localhost" | "127.0.0.1"));
    let same_origin = url.origin() == app.origin();
    if (url.scheme() == "https" || local_http) && same_origin {
        Ok(url)
    } else {
        Err(BillingError::InvalidReturnUrl)
    }
}

/// A Customer Portal session for the org's customer (created first if needed).
pub async fn create_portal_session(
    store: &dyn CustomerStore,
    gateway: &dyn PaymentGateway,
    org_id: &OrgId,
    return_url: &Url,
    now: OffsetDateTime,
    idempotency_key: &IdempotencyKey,
) -> Result<Url, BillingError> {
    let customer = ensure_customer(store, gateway, org_id, now)
        .await?
        .into_record()
        .stripe_customer_id;
    // A session cannot be read back, and a second one is harmless (short-lived, no side
    // effect): after an unknown outcome a new one is made.
    let customer = &customer;
    write_reconciled(
        idempotency_key,
        |key| async move {
            gateway
                .create_portal_session(customer, return_url, &key)
                .await
        },
        || async { Ok(None) },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> IdempotencyKey {
        IdempotencyKey::for_request(&OrgId::parse("o1").unwrap(), "test", Some(value))
    }
    use crate::store::{CustomerStore, InMemoryCustomerStore};
    use crate::testing::{FakeGateway, FakeSubscriptions};

    fn settings(app: &str) -> Settings {
        let env = [
            ("APP_PUBLIC_URL", app),
            ("BILLING_CUSTOMERS_TABLE", "t"),
            ("WEBHOOK_EVENTS_TABLE", "billing_webhook_events"),
            ("STRIPE_SECRET_ID", "s"),
        ];
        Settings::from_env(&env).unwrap()
    }

    #[test]
    fn return_urls_must_stay_on_the_app_origin() {
        let prod = settings("https://app.example.com");
        assert_eq!(
            resolve_return_url(&prod, None).unwrap().as_str(),
            "https://app.example.com/billing"
        );
        assert!(resolve_return_url(&prod, Some("https://app.example.com/settings?tab=2")).is_ok());
        assert_eq!(
            resolve_return_url(&prod, Some("/billing/done"))
                .unwrap()
                .as_str(),
            "https://app.example.com/billing/done"
        );
        for bad in [
            "https://evil.example/billing",
            "//evil.example/billing",
            "javascript:alert(1)",
            "http://app.example.com/billing",
            "https://app.example.com.evil.example/",
            "https://app.example.com:8443/billing",
            "not a url",
            "",
        ] {
            assert!(
                matches!(
                    resolve_return_url(&prod, Some(bad)),
                    Err(BillingError::InvalidReturnUrl)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn http_return_urls_are_allowed_only_for_a_local_app() {
        let local = settings("http://localhost:3001");
        assert!(resolve_return_url(&local, Some("http://localhost:3001/billing")).is_ok());
        assert!(resolve_return_url(&local, Some("http://evil.example:3001/billing")).is_err());
    }

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    fn pm(id: &str) -> PaymentMethodId {
        PaymentMethodId::parse(id).unwrap()
    }

    async fn org_with_cards(
        gateway: &FakeGateway,
        store: &InMemoryCustomerStore,
        org_id: &str,
        cards: &[&str],
    ) {
        let now = OffsetDateTime::now_utc();
        let customer = ensure_customer(store, gateway, &org(org_id), now)
            .await
            .unwrap()
            .into_record()
            .stripe_customer_id;
        for card in cards {
            gateway.attach(&customer, pm(card));
        }
    }

    #[tokio::test]
    async fn an_org_without_a_customer_has_an_empty_list() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        assert!(
            list_payment_methods(&store, &gateway, &org("none"))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn the_default_card_is_listed_first_and_marked() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        org_with_cards(&gateway, &store, "o1", &["pm_a", "pm_b", "pm_c"]).await;
        set_default_payment_method(
            &store,
            &gateway,
            &FakeSubscriptions::default(),
            &org("o1"),
            &pm("pm_b"),
            &key("k"),
        )
        .await
        .unwrap();
        let listed = list_payment_methods(&store, &gateway, &org("o1"))
            .await
            .unwrap();
        let ids: Vec<_> = listed
            .iter()
            .map(|v| (v.card.id.as_str(), v.is_default))
            .collect();
        assert_eq!(ids, [("pm_b", true), ("pm_c", false), ("pm_a", false)]);
    }

    #[tokio::test]
    async fn another_orgs_payment_method_is_not_found_for_default_and_detach() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        org_with_cards(&gateway, &store, "victim", &["pm_victim"]).await;
        org_with_cards(&gateway, &store, "attacker", &["pm_mine"]).await;
        let theirs = pm("pm_victim");
        let error = set_default_payment_method(
            &store,
            &gateway,
            &FakeSubscriptions::default(),
            &org("attacker"),
            &theirs,
            &key("k"),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BillingError::PaymentMethodNotFound));
        let error = detach_payment_method(
            &store,
            &gateway,
            &FakeSubscriptions::default(),
            &org("attacker"),
            &theirs,
            &key("k"),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BillingError::PaymentMethodNotFound));
        assert_eq!(gateway.cards_of("victim").len(), 1, "nothing was touched");
        let unknown = pm("pm_nobody");
        let error = detach_payment_method(
            &store,
            &gateway,
            &FakeSubscriptions::default(),
            &org("attacker"),
            &unknown,
            &key("k"),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BillingError::PaymentMethodNotFound));
    }

    #[tokio::test]
    async fn detaching_the_default_promotes_the_newest_other_card_first() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        org_with_cards(&gateway, &store, "o1", &["pm_a", "pm_b", "pm_c"]).await;
        set_default_payment_method(
            &store,
            &gateway,
            &FakeSubscriptions::default(),
            &org("o1"),
            &pm("pm_a"),
            &key("k1"),
        )
        .await
        .unwrap();
        let detached = detach_payment_method(
            &store,
            &gateway,
            &FakeSubscriptions::default(),
            &org("o1"),
            &pm("pm_a"),
            &key("k2"),
        )
        .await
        .unwrap();
        assert_eq!(detached.default_payment_method, Some(pm("pm_c")));
        let listed = list_payment_methods(&store, &gateway, &org("o1"))
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].is_default && listed[0].card.id == pm("pm_c"));
    }

    #[tokio::test]
    async fn detaching_the_last_card_leaves_no_default() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        org_with_cards(&gateway, &store, "o1", &["pm_only"]).await;
        set_default_payment_method(
            &store,
            &gateway,
            &FakeSubscriptions::default(),
            &org("o1"),
            &pm("pm_only"),
            &key("k1"),
        )
        .await
        .unwrap();
        let detached = detach_payment_method(
            &store,
            &gateway,
            &FakeSubscriptions::default(),
            &org("o1"),
            &pm("pm_only"),
            &key("k2"),
        )
        .await
        .unwrap();
        assert_eq!(detached.default_payment_method, None);
    }

    #[tokio::test]
    async fn the_only_card_of_a_billing_subscription_cannot_be_detached() {
        let (store, gateway, subscriptions) = (
            InMemoryCustomerStore::default(),
            FakeGateway::default(),
            FakeSubscriptions::default(),
        );
        org_with_cards(&gateway, &store, "o1", &["pm_only"]).await;
        let customer = store
            .get(&org("o1"))
            .await
            .unwrap()
            .unwrap()
            .stripe_customer_id;
        subscriptions.add_active(&customer);
        let error = detach_payment_method(
            &store,
            &gateway,
            &subscriptions,
            &org("o1"),
            &pm("pm_only"),
            &key("k"),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BillingError::DefaultPaymentMethodRequired));
        assert_eq!(error.status().as_u16(), 409);
        assert_eq!(gateway.cards_of("o1").len(), 1);
    }

    /// Org "o1" with these cards and an active subscription.
    async fn subscribed_org_with_cards(
        cards: &[&str],
    ) -> (
        InMemoryCustomerStore,
        FakeGateway,
        FakeSubscriptions,
        crate::domain::SubscriptionId,
    ) {
        let (store, gateway, subscriptions) = (
            InMemoryCustomerStore::default(),
            FakeGateway::default(),
            FakeSubscriptions::default(),
        );
        org_with_cards(&gateway, &store, "o1", cards).await;
        let customer = store
            .get(&org("o1"))
            .await
            .unwrap()
            .unwrap()
            .stripe_customer_id;
        let subscription = subscriptions.add_active(&customer);
        (store, gateway, subscriptions, subscription)
    }

    /// Makes `card` the default of org o1 under the key `k`.
    async fn default_in_o1(
        store: &InMemoryCustomerStore,
        gateway: &FakeGateway,
        subscriptions: &FakeSubscriptions,
        card: &str,
        k: &str,
    ) -> Result<Option<OpenInvoice>, BillingError> {
        set_default_payment_method(
            store,
            gateway,
            subscriptions,
            &org("o1"),
            &pm(card),
            &key(k),
        )
        .await
    }

    #[tokio::test]
    async fn a_new_default_offers_the_open_invoice_of_a_failed_renewal_and_nothing_when_paid_up() {
        let (store, gateway, subscriptions, subscription) =
            subscribed_org_with_cards(&["pm_a", "pm_b"]).await;
        let paid_up = default_in_o1(&store, &gateway, &subscriptions, "pm_a", "k1")
            .await
            .unwrap();
        assert_eq!(paid_up, None, "nothing is owed");
        let owed = subscriptions.fail_renewal(&subscription);
        let offered = default_in_o1(&store, &gateway, &subscriptions, "pm_b", "k2")
            .await
            .unwrap();
        assert_eq!(offered, Some(owed));
        assert_eq!(
            subscriptions.state(&subscription).default_payment_method,
            Some(pm("pm_b")),
            "Stripe's retries charge the new card"
        );
    }

    #[tokio::test]
    async fn with_a_subscription_the_default_moves_to_the_subscription_too() {
        let (store, gateway, subscriptions, subscription) =
            subscribed_org_with_cards(&["pm_a", "pm_b"]).await;
        default_in_o1(&store, &gateway, &subscriptions, "pm_a", "k1")
            .await
            .unwrap();
        let detached = detach_payment_method(
            &store,
            &gateway,
            &subscriptions,
            &org("o1"),
            &pm("pm_a"),
            &key("k2"),
        )
        .await
        .unwrap();
        assert_eq!(detached.default_payment_method, Some(pm("pm_b")));
        assert_eq!(
            subscriptions.state(&subscription).default_payment_method,
            Some(pm("pm_b"))
        );
    }

    #[tokio::test]
    async fn detaching_the_subscriptions_own_card_moves_it_to_the_customers_default() {
        let (store, gateway, subscriptions, subscription) =
            subscribed_org_with_cards(&["pm_a", "pm_b", "pm_c"]).await;
        // Started with card A while the customer's default is B.
        default_in_o1(&store, &gateway, &subscriptions, "pm_b", "k1")
            .await
            .unwrap();
        subscriptions
            .set_default_payment_method(&subscription, &pm("pm_a"), &key("k2"))
            .await
            .unwrap();
        let detached = detach_payment_method(
            &store,
            &gateway,
            &subscriptions,
            &org("o1"),
            &pm("pm_a"),
            &key("k3"),
        )
        .await
        .unwrap();
        assert_eq!(detached.default_payment_method, Some(pm("pm_b")));
        assert_eq!(
            subscriptions.state(&subscription).default_payment_method,
            Some(pm("pm_b")),
            "the renewal must not try the detached card"
        );
    }

    #[tokio::test]
    async fn setup_intents_and_portal_sessions_reuse_the_one_customer() {
        let (store, gateway) = (InMemoryCustomerStore::default(), FakeGateway::default());
        let now = OffsetDateTime::now_utc();
        let intent = create_setup_intent(&store, &gateway, &org("o1"), now, &key("k1"))
            .await
            .unwrap();
        assert!(intent.client_secret.starts_with(&intent.id));
        let url = Url::parse("https://app.example.com/billing").unwrap();
        create_portal_session(&store, &gateway, &org("o1"), &url, now, &key("k2"))
            .await
            .unwrap();
        assert_eq!(gateway.customers_for("o1"), 1);
    }
}
