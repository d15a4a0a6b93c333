//! The payment provider's ports: what the use cases need of Stripe, in the API's own types.
//! No async-stripe type appears here; `client`, `payments` and `subscriptions` implement them.

use crate::domain::{
    Currency, IdempotencyKey, Money, OpenInvoice, OrgId, PaymentMethodId, ProrationBehavior,
    StripeCustomerId, SubscriptionId, SubscriptionStatus,
};
use crate::secrets::SecretError;
use async_trait::async_trait;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Timeouts, connection failures, 5xx, rate limits, a concurrent request holding the same
    /// idempotency key: the outcome may be unknown, so a retry must reuse the same key.
    #[error("stripe unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stripe answered 5xx (after the bounded retries): it may have executed the request, and it
    /// saves that answer under the idempotency key and replays it for 24 h, so only reading
    /// state tells what happened.
    #[error("stripe answered a server error")]
    ServerError(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stripe refused the request (4xx): retrying the same request will not help.
    #[error("stripe refused the request with status {status}, code {code}")]
    Rejected { status: u16, code: String },
    /// A payment was refused (402 `card_error`): Stripe's `code` (`card_declined`,
    /// `invoice_payment_intent_requires_action`, …) and the bank's `decline_code`.
    #[error("stripe refused the payment: {code}")]
    CardError {
        code: String,
        decline_code: Option<String>,
    },
    /// The idempotency key was already used with other parameters (Stripe's `idempotency_error`).
    #[error("idempotency key reused with other parameters")]
    IdempotencyConflict,
    /// The Stripe key could not be read from Secrets Manager.
    #[error("stripe credentials unavailable")]
    Credentials(#[source] SecretError),
}

/// A saved card as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub id: PaymentMethodId,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

/// A SetupIntent for Stripe Elements: the browser confirms it with the client secret.
/// The secret is handed to the caller and never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SetupIntentCreated {
    pub id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for SetupIntentCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupIntentCreated")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What the billing use cases need from the payment provider.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// The customer tagged `metadata.org_id = org_id`, if Stripe's search has indexed one,
    /// other than `excluding` (a deleted customer being replaced). Search lags writes by up to
    /// a minute; this finds orphans of older, interrupted runs.
    async fn find_customer_for_org(
        &self,
        org_id: &OrgId,
        excluding: Option<&StripeCustomerId>,
    ) -> Result<Option<StripeCustomerId>, GatewayError>;

    /// Creates the org's customer. The same `idempotency_key` always yields the same customer
    /// for 24 hours, however often and however concurrently it is retried.
    async fn create_customer(
        &self,
        org_id: &OrgId,
        idempotency_key: &IdempotencyKey,
    ) -> Result<StripeCustomerId, GatewayError>;

    /// Every card attached to the customer (all pages), newest first.
    async fn list_cards(&self, customer: &StripeCustomerId) -> Result<Vec<Card>, GatewayError>;

    /// The customer's `invoice_settings.default_payment_method`.
    async fn default_payment_method(
        &self,
        customer: &StripeCustomerId,
    ) -> Result<Option<PaymentMethodId>, GatewayError>;

    /// The customer a payment method is attached to, as Stripe says; `None` when it does not
    /// exist or is attached to nobody.
    async fn payment_method_owner(
        &self,
        payment_method: &PaymentMethodId,
    ) -> Result<Option<StripeCustomerId>, GatewayError>;

    async fn set_default_payment_method(
        &self,
        customer: &StripeCustomerId,
        payment_method: &PaymentMethodId,
        idempotency_key: &IdempotencyKey,
    ) -> Result<(), GatewayError>;

    async fn detach_payment_method(
        &self,
        payment_method: &PaymentMethodId,
        idempotency_key: &IdempotencyKey,
    ) -> Result<(), GatewayError>;

    /// A SetupIntent (`usage=off_session`) for adding a card, tagged with the API request's key
    /// (`metadata.billing_request_key`) so a retry can find it.
    async fn create_setup_intent(
        &self,
        customer: &StripeCustomerId,
        request_key: &IdempotencyKey,
        idempotency_key: &IdempotencyKey,
    ) -> Result<SetupIntentCreated, GatewayError>;

    /// The customer's SetupIntent tagged with this request key, if one was made.
    async fn find_setup_intent(
        &self,
        customer: &StripeCustomerId,
        request_key: &IdempotencyKey,
    ) -> Result<Option<SetupIntentCreated>, GatewayError>;

    /// A Customer Portal session; returns its short-lived URL.
    async fn create_portal_session(
        &self,
        customer: &StripeCustomerId,
        return_url: &Url,
        idempotency_key: &IdempotencyKey,
    ) -> Result<Url, GatewayError>;
}

/// A recurring price of the plan catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPrice {
    pub id: String,
    pub lookup_key: String,
    pub product_name: String,
    /// Per `interval_count` `interval`s.
    pub unit_amount: Money,
    pub interval: String,
    pub interval_count: i64,
}

/// What the API needs of a Stripe subscription (single-item subscriptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    pub id: SubscriptionId,
    pub status: SubscriptionStatus,
    pub item_id: String,
    pub price_id: String,
    pub quantity: i64,
    /// From the subscription item: Stripe moved periods off the subscription in 2025.
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    /// While `trialing`: when the trial ends (a schedule's current phase must keep it).
    pub trial_end: Option<i64>,
    pub schedule_id: Option<String>,
    /// The subscription's own default card; it takes precedence over the customer's.
    pub default_payment_method: Option<PaymentMethodId>,
    /// The idempotency key of the start that created it (`metadata.billing_start_key`), so a
    /// retried start can recognise its own subscription after a partial failure.
    pub start_key: Option<String>,
    /// The first invoice's payment client secret while it still needs the customer (3DS,
    /// no usable card): the frontend confirms it with Stripe.js.
    pub payment_client_secret: Option<String>,
    /// A change made with `pending_if_incomplete` whose invoice is not paid yet.
    pub pending_update: Option<PendingUpdate>,
    /// The subscription's latest invoice (the first one, right after a start).
    pub latest_invoice_id: Option<String>,
    /// That invoice while it is open, when the read expanded it.
    pub open_invoice: Option<OpenInvoice>,
}

/// Stripe's `pending_update`: what the subscription becomes once its open invoice is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpdate {
    pub price_id: String,
    pub quantity: i64,
    pub expires_at: i64,
    /// The subscription's latest invoice: the one whose payment applies the update.
    pub invoice_id: Option<String>,
}

/// Where an invoice's payment stands (its PaymentIntent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentAttempt {
    Succeeded,
    /// The bank asks the customer to authenticate (3-D Secure): Stripe.js confirms this secret.
    RequiresAction {
        client_secret: String,
    },
    /// Declined; Stripe's `decline_code` when it gave one.
    Declined {
        decline_code: Option<String>,
    },
    /// Not attempted: no payment method to charge.
    AwaitingPaymentMethod,
    /// Neither settled nor refused yet (e.g. `processing`).
    Pending,
}

pub struct NewSubscription<'a> {
    pub customer: &'a StripeCustomerId,
    pub price_id: &'a str,
    pub quantity: i64,
    pub payment_method: Option<&'a PaymentMethodId>,
    pub trial_days: Option<u32>,
    /// A card is on file: charge it now (`allow_incomplete`). Without one the first invoice waits
    /// for the customer (`default_incomplete`) instead of failing the request.
    pub charge_now: bool,
}

/// A change of the subscription's one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemChange {
    pub item_id: String,
    pub price_id: String,
    pub quantity: i64,
    pub proration_behavior: ProrationBehavior,
    pub proration_date: Option<i64>,
}

/// What an invoice preview shows.
#[derive(Debug, Clone, Copy)]
pub enum PreviewOf<'a> {
    /// The subscription's next invoice as things stand.
    Upcoming,
    /// The invoice this change, made now, produces.
    ChangeNow(&'a ItemChange),
    /// The invoice at the period end once the subscription moves to `price` then (the
    /// schedule the change would write; nothing is charged before).
    ChangeAtPeriodEnd {
        price: &'a CatalogPrice,
        quantity: i64,
    },
}

/// The price a subscription schedule moves to at the current period's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledPrice {
    pub price_id: String,
    pub quantity: i64,
    pub effective_at: i64,
}

/// One invoice line; `amount` in minor units, periods in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLine {
    pub description: Option<String>,
    pub amount: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub proration: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePreview {
    /// Every amount here is in minor units of this currency.
    pub currency: Currency,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub amount_due: i64,
    pub next_payment_attempt: Option<i64>,
    /// The moment Stripe prorated at (`parent.subscription_details.subscription_proration_date`:
    /// set when the preview prorates).
    pub proration_date: Option<i64>,
    pub lines: Vec<PreviewLine>,
}

#[async_trait]
pub trait SubscriptionGateway: Send + Sync {
    async fn catalog_prices(
        &self,
        lookup_keys: &[String],
    ) -> Result<Vec<CatalogPrice>, GatewayError>;
    /// The customer's most recent subscription, whatever its status.
    async fn latest_subscription(
        &self,
        customer: &StripeCustomerId,
    ) -> Result<Option<SubscriptionState>, GatewayError>;
    async fn create_subscription(
        &self,
        new: NewSubscription<'_>,
        idempotency_key: &IdempotencyKey,
    ) -> Result<SubscriptionState, GatewayError>;
    async fn change_item(
        &self,
        subscription: &SubscriptionId,
        change: &ItemChange,
        idempotency_key: &IdempotencyKey,
    ) -> Result<SubscriptionState, GatewayError>;
    async fn pending_change(
        &self,
        schedule_id: &str,
    ) -> Result<Option<ScheduledPrice>, GatewayError>;
    /// Moves the subscription to `price` at the end of its current period, replacing any
    /// earlier pending change; the current period is untouched.
    async fn schedule_change(
        &self,
        subscription: &SubscriptionState,
        price: &CatalogPrice,
        quantity: i64,
        idempotency_key: &IdempotencyKey,
    ) -> Result<ScheduledPrice, GatewayError>;
    async fn release_schedule(
        &self,
        schedule_id: &str,
        idempotency_key: &IdempotencyKey,
    ) -> Result<(), GatewayError>;
    async fn set_cancel_at_period_end(
        &self,
        subscription: &SubscriptionId,
        cancel: bool,
        idempotency_key: &IdempotencyKey,
    ) -> Result<SubscriptionState, GatewayError>;
    async fn preview_invoice(
        &self,
        customer: &StripeCustomerId,
        subscription: &SubscriptionState,
        what: PreviewOf<'_>,
    ) -> Result<InvoicePreview, GatewayError>;
    /// How the payment of `invoice` stands (its latest PaymentIntent).
    async fn payment_attempt(&self, invoice_id: &str) -> Result<PaymentAttempt, GatewayError>;
    /// Sets the subscription's own default payment method (it takes precedence over the
    /// customer's invoice default).
    async fn set_default_payment_method(
        &self,
        subscription: &SubscriptionId,
        payment_method: &PaymentMethodId,
        idempotency_key: &IdempotencyKey,
    ) -> Result<(), GatewayError>;
}

/// The webhook signing secret's source (the Stripe secret document).
#[async_trait]
pub trait SigningSecret: Send + Sync {
    async fn webhook_secret(&self) -> Result<Option<secrecy::SecretString>, GatewayError>;
}

/// One of the org's invoices; amounts in minor units of `currency`, times in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceSummary {
    pub id: String,
    pub customer: Option<StripeCustomerId>,
    pub number: Option<String>,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`.
    pub status: String,
    pub total: i64,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    pub currency: Currency,
    pub created: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
    /// The PaymentIntent's client secret, for Stripe.js when the payment needs the customer.
    pub payment_client_secret: Option<String>,
}

pub struct InvoicePage {
    pub invoices: Vec<InvoiceSummary>,
    pub has_more: bool,
}

#[async_trait]
pub trait InvoiceGateway: Send + Sync {
    /// The customer's invoices, newest first, `limit` (1–100) after the invoice `starting_after`.
    async fn list_invoices(
        &self,
        customer: &StripeCustomerId,
        limit: u8,
        starting_after: Option<&str>,
    ) -> Result<InvoicePage, GatewayError>;
    /// `None` when Stripe has no such invoice.
    async fn invoice(&self, id: &str) -> Result<Option<InvoiceSummary>, GatewayError>;
    /// Pays the invoice with its default payment method (off-session, as Stripe's default).
    async fn pay_invoice(
        &self,
        id: &str,
        idempotency_key: &IdempotencyKey,
    ) -> Result<InvoiceSummary, GatewayError>;
}
