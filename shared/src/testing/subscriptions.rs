//! In-memory subscriptions with a three-plan catalogue; enough to drive every branch.

use crate::domain::{
    Currency, IdempotencyKey, Money, OpenInvoice, StripeCustomerId, SubscriptionId,
    SubscriptionStatus,
};
use crate::stripe::GatewayError;
use crate::stripe::*;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

pub const PERIOD_START: i64 = 1_780_000_000;
pub const PERIOD_END: i64 = PERIOD_START + 30 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedPreview {
    Upcoming,
    ChangeNow(ItemChange),
    ChangeAtPeriodEnd { price_id: String, quantity: i64 },
}

#[derive(Default)]
pub struct FakeSubscriptions {
    pub subscriptions: Mutex<Vec<(StripeCustomerId, SubscriptionState)>>,
    pub keys: Mutex<HashMap<String, SubscriptionId>>,
    pub schedules: Mutex<HashMap<String, ScheduledPrice>>,
    pub released: Mutex<Vec<String>>,
    /// What each preview asked for: the change now, or the price at period end.
    pub previews: Mutex<Vec<RecordedPreview>>,
    /// This many next reads of the latest subscription fail as if Stripe were down.
    pub failing_reads: AtomicU32,
    /// How the next change's charge goes; `None`: paid (or nothing to charge).
    pub next_charge: Mutex<Option<PaymentAttempt>>,
    /// Each open invoice's payment, as `payment_attempt` reports it.
    pub invoice_payments: Mutex<HashMap<String, PaymentAttempt>>,
}

impl FakeSubscriptions {
    /// A billing subscription for `customer`, as if started elsewhere.
    pub fn add_active(&self, customer: &StripeCustomerId) -> SubscriptionId {
        let mut subs = self.subscriptions.lock().unwrap();
        let id = SubscriptionId::parse(format!("sub_{}", subs.len() + 1)).unwrap();
        subs.push((
            customer.clone(),
            SubscriptionState {
                id: id.clone(),
                status: SubscriptionStatus::Active,
                item_id: "si_x".into(),
                price_id: "price_starter".into(),
                quantity: 1,
                current_period_start: PERIOD_START,
                current_period_end: PERIOD_END,
                cancel_at_period_end: false,
                trial_end: None,
                schedule_id: None,
                default_payment_method: None,
                start_key: None,
                payment_client_secret: None,
                pending_update: None,
                latest_invoice_id: None,
                open_invoice: None,
            },
        ));
        id
    }

    /// The renewal of `id` declined: `past_due`, its invoice open with a retry planned.
    pub fn fail_renewal(&self, id: &SubscriptionId) -> OpenInvoice {
        let invoice = OpenInvoice {
            next_payment_attempt: Some(PERIOD_END + 86_400),
            ..open_invoice(&format!("in_renewal_{id}"))
        };
        let failed = invoice.clone();
        self.update(id, |s| {
            s.status = SubscriptionStatus::PastDue;
            s.latest_invoice_id = Some(failed.id.clone());
            s.open_invoice = Some(failed);
        })
        .unwrap();
        invoice
    }

    /// The subscription as Stripe holds it now.
    pub fn state(&self, id: &SubscriptionId) -> SubscriptionState {
        let subs = self.subscriptions.lock().unwrap();
        subs.iter().find(|(_, s)| &s.id == id).unwrap().1.clone()
    }

    fn schedule_of(&self, id: &SubscriptionId) -> Option<String> {
        self.state(id).schedule_id
    }

    pub fn end_all(&self) {
        for (_, s) in self.subscriptions.lock().unwrap().iter_mut() {
            s.status = SubscriptionStatus::Canceled;
        }
    }

    fn update(
        &self,
        id: &SubscriptionId,
        edit: impl FnOnce(&mut SubscriptionState),
    ) -> Result<SubscriptionState, GatewayError> {
        let mut subs = self.subscriptions.lock().unwrap();
        let (_, state) =
            subs.iter_mut()
                .find(|(_, s)| &s.id == id)
                .ok_or(GatewayError::Rejected {
                    status: 404,
                    code: "resource_missing".into(),
                })?;
        edit(state);
        Ok(state.clone())
    }
}

/// An unpaid invoice of $20 with no automatic attempt planned (it waits for the customer).
fn open_invoice(id: &str) -> OpenInvoice {
    OpenInvoice {
        id: id.into(),
        number: Some(format!("{}-0001", id.to_uppercase())),
        amount_due: Money {
            minor_units: 2000,
            currency: usd(),
        },
        uncollectible: false,
        next_payment_attempt: None,
        hosted_invoice_url: Some(format!("https://invoice.stripe.test/{id}")),
    }
}

fn usd() -> Currency {
    Currency::parse("usd").unwrap()
}

fn price(id: &str, key: &str, amount: i64, interval: &str) -> CatalogPrice {
    CatalogPrice {
        id: id.into(),
        lookup_key: key.into(),
        product_name: key.split('_').next().unwrap_or_default().into(),
        unit_amount: Money {
            minor_units: amount,
            currency: usd(),
        },
        interval: interval.into(),
        interval_count: 1,
    }
}

#[async_trait]
impl SubscriptionGateway for FakeSubscriptions {
    async fn catalog_prices(&self, keys: &[String]) -> Result<Vec<CatalogPrice>, GatewayError> {
        Ok([
            price("price_starter", "starter_monthly", 1000, "month"),
            price("price_pro", "pro_monthly", 3000, "month"),
            price("price_pro_yearly", "pro_yearly", 30000, "year"),
        ]
        .into_iter()
        .filter(|p| keys.contains(&p.lookup_key))
        .collect())
    }

    async fn latest_subscription(
        &self,
        customer: &StripeCustomerId,
    ) -> Result<Option<SubscriptionState>, GatewayError> {
        if self
            .failing_reads
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
        {
            return Err(GatewayError::Unavailable("injected".into()));
        }
        let subs = self.subscriptions.lock().unwrap();
        Ok(subs
            .iter()
            .rev()
            .find(|(c, _)| c == customer)
            .map(|(_, s)| s.clone()))
    }

    async fn create_subscription(
        &self,
        new: NewSubscription<'_>,
        key: &IdempotencyKey,
    ) -> Result<SubscriptionState, GatewayError> {
        let mut keys = self.keys.lock().unwrap();
        let mut subs = self.subscriptions.lock().unwrap();
        if let Some(id) = keys.get(key.as_str()) {
            return Ok(subs.iter().find(|(_, s)| &s.id == id).unwrap().1.clone());
        }
        let id = SubscriptionId::parse(format!("sub_{}", subs.len() + 1)).unwrap();
        let first_invoice = format!("in_first_{id}");
        // A first charge that does not go through leaves the subscription `incomplete`.
        let failed_charge = new
            .charge_now
            .then(|| self.next_charge.lock().unwrap().take())
            .flatten();
        let status = match &failed_charge {
            Some(attempt) => {
                self.invoice_payments
                    .lock()
                    .unwrap()
                    .insert(first_invoice.clone(), attempt.clone());
                SubscriptionStatus::Incomplete
            }
            None if new.payment_method.is_some() => SubscriptionStatus::Active,
            None => SubscriptionStatus::Incomplete,
        };
        let open_invoice =
            (status == SubscriptionStatus::Incomplete).then(|| open_invoice(&first_invoice));
        let state = SubscriptionState {
            id: id.clone(),
            status,
            item_id: format!("si_{}", subs.len() + 1),
            price_id: new.price_id.into(),
            quantity: new.quantity,
            current_period_start: PERIOD_START,
            current_period_end: PERIOD_END,
            cancel_at_period_end: false,
            trial_end: None,
            schedule_id: None,
            default_payment_method: new.payment_method.cloned(),
            start_key: Some(key.to_string()),
            payment_client_secret: (!new.charge_now).then(|| "pi_1_secret_x".into()),
            pending_update: None,
            latest_invoice_id: Some(first_invoice),
            open_invoice,
        };
        keys.insert(key.to_string(), id);
        subs.push((new.customer.clone(), state.clone()));
        Ok(state)
    }

    async fn change_item(
        &self,
        id: &SubscriptionId,
        change: &ItemChange,
        _key: &IdempotencyKey,
    ) -> Result<SubscriptionState, GatewayError> {
        let Some(attempt) = self.next_charge.lock().unwrap().take() else {
            return self.update(id, |s| {
                s.price_id = change.price_id.clone();
                s.quantity = change.quantity;
            });
        };
        // Not paid: Stripe keeps the old items and describes the change as a pending update.
        let invoice = format!("in_pending_{id}");
        self.invoice_payments
            .lock()
            .unwrap()
            .insert(invoice.clone(), attempt);
        self.update(id, |s| {
            s.open_invoice = Some(open_invoice(&invoice));
            s.latest_invoice_id = Some(invoice.clone());
            s.pending_update = Some(PendingUpdate {
                price_id: change.price_id.clone(),
                quantity: change.quantity,
                expires_at: s.current_period_start + 23 * 3600,
                invoice_id: Some(invoice),
            });
        })
    }

    async fn payment_attempt(&self, invoice_id: &str) -> Result<PaymentAttempt, GatewayError> {
        Ok(self
            .invoice_payments
            .lock()
            .unwrap()
            .get(invoice_id)
            .cloned()
            .unwrap_or(PaymentAttempt::Succeeded))
    }

    async fn pending_change(
        &self,
        schedule_id: &str,
    ) -> Result<Option<ScheduledPrice>, GatewayError> {
        Ok(self.schedules.lock().unwrap().get(schedule_id).cloned())
    }

    async fn schedule_change(
        &self,
        subscription: &SubscriptionState,
        price: &CatalogPrice,
        quantity: i64,
        _key: &IdempotencyKey,
    ) -> Result<ScheduledPrice, GatewayError> {
        let schedule = format!("sub_sched_{}", subscription.id);
        let pending = ScheduledPrice {
            price_id: price.id.clone(),
            quantity,
            effective_at: subscription.current_period_end,
        };
        self.schedules
            .lock()
            .unwrap()
            .insert(schedule.clone(), pending.clone());
        self.update(&subscription.id, |s| s.schedule_id = Some(schedule))?;
        Ok(pending)
    }

    async fn release_schedule(
        &self,
        schedule_id: &str,
        _key: &IdempotencyKey,
    ) -> Result<(), GatewayError> {
        self.schedules.lock().unwrap().remove(schedule_id);
        self.released.lock().unwrap().push(schedule_id.into());
        for (_, s) in self.subscriptions.lock().unwrap().iter_mut() {
            if s.schedule_id.as_deref() == Some(schedule_id) {
                s.schedule_id = None;
            }
        }
        Ok(())
    }

    async fn set_cancel_at_period_end(
        &self,
        id: &SubscriptionId,
        cancel: bool,
        _key: &IdempotencyKey,
    ) -> Result<SubscriptionState, GatewayError> {
        // Stripe: a schedule owns the cancellation of its subscription.
        if self.schedule_of(id).is_some() {
            return Err(GatewayError::Rejected {
                status: 400,
                code: "schedule_owns_cancellation".into(),
            });
        }
        self.update(id, |s| s.cancel_at_period_end = cancel)
    }

    async fn set_default_payment_method(
        &self,
        id: &SubscriptionId,
        payment_method: &crate::domain::PaymentMethodId,
        _key: &IdempotencyKey,
    ) -> Result<(), GatewayError> {
        self.update(id, |s| {
            s.default_payment_method = Some(payment_method.clone())
        })
        .map(|_| ())
    }

    async fn preview_invoice(
        &self,
        _customer: &StripeCustomerId,
        _subscription: &SubscriptionState,
        what: PreviewOf<'_>,
    ) -> Result<InvoicePreview, GatewayError> {
        let recorded = match what {
            PreviewOf::Upcoming => RecordedPreview::Upcoming,
            PreviewOf::ChangeNow(change) => RecordedPreview::ChangeNow(change.clone()),
            PreviewOf::ChangeAtPeriodEnd { price, quantity } => {
                RecordedPreview::ChangeAtPeriodEnd {
                    price_id: price.id.clone(),
                    quantity,
                }
            }
        };
        // Stripe reports the moment it prorated at when the preview prorates.
        let proration_date = match &recorded {
            RecordedPreview::ChangeNow(change)
                if change.proration_behavior != crate::domain::ProrationBehavior::None =>
            {
                Some(PERIOD_START + 86_400)
            }
            _ => None,
        };
        let proration = matches!(recorded, RecordedPreview::ChangeNow(_));
        self.previews.lock().unwrap().push(recorded);
        Ok(InvoicePreview {
            currency: usd(),
            subtotal: 2000,
            tax: 0,
            total: 2000,
            amount_due: 2000,
            next_payment_attempt: Some(PERIOD_END),
            proration_date,
            lines: vec![PreviewLine {
                description: Some("Remaining time".into()),
                amount: 2000,
                period_start: PERIOD_START,
                period_end: PERIOD_END,
                proration,
            }],
        })
    }
}
