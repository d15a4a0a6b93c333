//! The billing engine behind subscriptions, schedules, invoices and previews: one set of
//! functions shared by the API handlers, the invoice preview and the clock, so a preview computes
//! exactly what the matching update or renewal will charge.

pub mod clock;
pub mod invoices;
pub mod item_changes;
pub mod payment_intents;
pub mod payments;
pub mod pending_updates;
pub mod proration;
pub mod schedules;
pub mod subscriptions;
pub mod test_clocks;

use serde_json::Value;

use crate::model::behaviours::Behaviours;
use crate::model::catalogue::Recurrence;
use crate::model::error::ApiError;

/// The moment and settings one change runs with.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Fake clock, seconds.
    pub now: i64,
    /// Fake clock, milliseconds (search index timestamps).
    pub now_ms: i64,
    pub behaviours: Behaviours,
    /// `http://127.0.0.1:<port>`: the fake's own pages (3D Secure challenge, hosted invoice).
    pub base_url: String,
}

impl Ctx {
    /// At fake time `now_ms`.
    pub fn new(now_ms: i64, behaviours: Behaviours, base_url: String) -> Self {
        Self {
            now: now_ms.div_euclid(1000),
            now_ms,
            behaviours,
            base_url,
        }
    }

    /// The same settings at another moment (clock-driven transitions run at their boundary). The
    /// search index never runs ahead of the fake clock (a test clock's time may).
    pub fn at(&self, now: i64) -> Self {
        Self {
            now,
            now_ms: (now * 1000).min(self.now_ms),
            ..self.clone()
        }
    }
}

/// `proration_behavior` on updates, previews and schedule phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProrationBehavior {
    CreateProrations,
    AlwaysInvoice,
    None,
}

impl ProrationBehavior {
    pub fn parse(value: &str, param: &str) -> Result<Self, ApiError> {
        match value {
            "create_prorations" => Ok(Self::CreateProrations),
            "always_invoice" => Ok(Self::AlwaysInvoice),
            "none" => Ok(Self::None),
            other => Err(ApiError::invalid(
                param,
                format!(
                    "Invalid {param}: must be one of create_prorations, none, or always_invoice \
                     (got {other})"
                ),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateProrations => "create_prorations",
            Self::AlwaysInvoice => "always_invoice",
            Self::None => "none",
        }
    }
}

/// `payment_behavior` on subscription create and update (Stripe's value names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum PaymentBehavior {
    AllowIncomplete,
    DefaultIncomplete,
    ErrorIfIncomplete,
    /// Update only: the change waits for its invoice to be paid (SEMANTICS §13 "Pending
    /// updates").
    PendingIfIncomplete,
}

impl PaymentBehavior {
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("" | "allow_incomplete") => Ok(Self::AllowIncomplete),
            Some("default_incomplete") => Ok(Self::DefaultIncomplete),
            Some("error_if_incomplete") => Ok(Self::ErrorIfIncomplete),
            Some("pending_if_incomplete") => Ok(Self::PendingIfIncomplete),
            Some(other) => Err(ApiError::invalid(
                "payment_behavior",
                format!(
                    "Invalid payment_behavior: must be one of allow_incomplete, \
                     default_incomplete, error_if_incomplete, or pending_if_incomplete (got \
                     {other})"
                ),
            )),
        }
    }
}

/// A subscription item as the engine sees it.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    /// The whole price object (subscription items embed it).
    pub price: Value,
    pub quantity: u64,
    pub metadata: Value,
    pub created: i64,
}

impl Item {
    pub fn price_id(&self) -> &str {
        self.price["id"].as_str().unwrap_or_default()
    }

    pub fn unit_amount(&self) -> i64 {
        self.price["unit_amount"].as_i64().unwrap_or(0)
    }

    pub fn recurrence(&self) -> Option<Recurrence> {
        Recurrence::of(&self.price)
    }

    /// Same price and quantity.
    pub fn same_terms(&self, other: &Self) -> bool {
        self.price_id() == other.price_id() && self.quantity == other.quantity
    }
}

/// `$30.00` (zero-decimal currencies without decimals; other currencies by code).
pub fn money(amount: i64, currency: &str) -> String {
    const ZERO_DECIMAL: &[&str] = &[
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let symbol = match currency {
        "usd" | "cad" | "aud" | "nzd" | "sgd" | "hkd" | "mxn" => "$",
        "eur" => "€",
        "gbp" => "£",
        "jpy" => "¥",
        _ => "",
    };
    let number = if ZERO_DECIMAL.contains(&currency) {
        abs.to_string()
    } else {
        format!("{}.{:02}", abs / 100, abs % 100)
    };
    if symbol.is_empty() {
        format!("{sign}{number} {}", currency.to_uppercase())
    } else {
        format!("{sign}{symbol}{number}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_labels() {
        assert_eq!(money(3000, "usd"), "$30.00");
        assert_eq!(money(-505, "eur"), "-€5.05");
        assert_eq!(money(500, "jpy"), "¥500");
        assert_eq!(money(1234, "chf"), "12.34 CHF");
    }
}
