//! Stripe's test PaymentMethod tokens (`pm_card_visa`, …): the card behind each one and how it
//! behaves when set up (SetupIntent confirm, attach) and, for later phases, when charged.
//! Source: docs.stripe.com/testing ("Cards by brand", "Declined payments", "Authentication and
//! setup"); see SEMANTICS §3. Every use of a token makes a new `pm_…` object.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// How a card answers a decline: the error Stripe returns (402 `card_error`).
#[derive(Debug, PartialEq, Eq)]
pub struct Decline {
    pub code: &'static str,
    pub decline_code: &'static str,
    pub message: &'static str,
    pub param: Option<&'static str>,
}

const fn card_declined(decline_code: &'static str, message: &'static str) -> Decline {
    Decline {
        code: "card_declined",
        decline_code,
        message,
        param: None,
    }
}

pub const GENERIC_DECLINE: Decline = card_declined("generic_decline", "Your card was declined.");
pub const INSUFFICIENT_FUNDS: Decline =
    card_declined("insufficient_funds", "Your card has insufficient funds.");
/// An off-session or server-side charge of a card that needs 3D Secure (Stripe's decline text).
pub const AUTHENTICATION_REQUIRED: Decline = Decline {
    code: "authentication_required",
    decline_code: "authentication_required",
    message: "Your card was declined. This transaction requires authentication.",
    param: None,
};
const LOST_CARD: Decline = card_declined("lost_card", "Your card was declined.");
const STOLEN_CARD: Decline = card_declined("stolen_card", "Your card was declined.");
const VELOCITY: Decline = card_declined(
    "card_velocity_exceeded",
    "Your card was declined for making repeated attempts too frequently or exceeding its amount \
     limit.",
);
const EXPIRED_CARD: Decline = Decline {
    code: "expired_card",
    decline_code: "expired_card",
    message: "Your card has expired.",
    param: Some("exp_month"),
};
const INCORRECT_CVC: Decline = Decline {
    code: "incorrect_cvc",
    decline_code: "incorrect_cvc",
    message: "Your card's security code is incorrect.",
    param: Some("cvc"),
};
const PROCESSING_ERROR: Decline = Decline {
    code: "processing_error",
    decline_code: "processing_error",
    message: "An error occurred while processing your card. Try again in a little bit.",
    param: None,
};

/// What setting the card up (SetupIntent confirm or attach) does.
#[derive(Debug, PartialEq, Eq)]
pub enum Setup {
    Succeeds,
    /// The card cannot be attached; a SetupIntent confirm fails with this decline.
    Declines(&'static Decline),
    /// A SetupIntent confirm needs 3D Secure (`requires_action`); attach itself succeeds.
    RequiresAction,
}

/// What charging the card later does (used from phase 3 on; shown by `GET /_fake/payment_methods`).
#[derive(Debug, PartialEq, Eq)]
pub enum Charge {
    Succeeds,
    Declines(&'static Decline),
    /// Every payment needs 3D Secure, off-session ones fail with `authentication_required`.
    RequiresAuthentication,
    /// Needs 3D Secure unless the card was set up first (`pm_card_authenticationRequiredOnSetup`).
    RequiresAuthenticationUnlessSetUp,
    /// Needs 3D Secure on-session only; off-session payments succeed "as if the card has been
    /// previously set up" (`pm_card_authenticationRequiredSetupForOffSession`).
    RequiresAuthenticationOnSession,
}

impl Charge {
    pub fn describe(&self) -> String {
        match self {
            Self::Succeeds => "succeeds".into(),
            Self::Declines(decline) => format!("declines:{}", decline.decline_code),
            Self::RequiresAuthentication => "requires_authentication".into(),
            Self::RequiresAuthenticationUnlessSetUp => {
                "requires_authentication_unless_set_up".into()
            }
            Self::RequiresAuthenticationOnSession => "requires_authentication_on_session".into(),
        }
    }
}

#[derive(Debug)]
pub struct TestCard {
    /// The token without the `pm_card_` prefix, as Stripe's docs spell it.
    pub name: &'static str,
    pub number: &'static str,
    pub brand: &'static str,
    pub display_brand: &'static str,
    pub funding: &'static str,
    pub country: &'static str,
    pub setup: Setup,
    pub charge: Charge,
}

const fn good(
    name: &'static str,
    number: &'static str,
    brand: &'static str,
    display_brand: &'static str,
    funding: &'static str,
    country: &'static str,
) -> TestCard {
    TestCard {
        name,
        number,
        brand,
        display_brand,
        funding,
        country,
        setup: Setup::Succeeds,
        charge: Charge::Succeeds,
    }
}

const fn visa(name: &'static str, number: &'static str, setup: Setup, charge: Charge) -> TestCard {
    TestCard {
        name,
        number,
        brand: "visa",
        display_brand: "visa",
        funding: "credit",
        country: "US",
        setup,
        charge,
    }
}

const fn declined(name: &'static str, number: &'static str, decline: &'static Decline) -> TestCard {
    visa(
        name,
        number,
        Setup::Declines(decline),
        Charge::Declines(decline),
    )
}

/// Tokens are `pm_card_<name>`. The decline cards answer to both `pm_card_visa_chargeDeclined…`
/// (Stripe's table) and `pm_card_chargeDeclined…` (seen in the wild), see [`lookup`].
static CARDS: &[TestCard] = &[
    good("visa", "4242424242424242", "visa", "visa", "credit", "US"),
    good(
        "visa_debit",
        "4000056655665556",
        "visa",
        "visa",
        "debit",
        "US",
    ),
    good(
        "mastercard",
        "5555555555554444",
        "mastercard",
        "mastercard",
        "credit",
        "US",
    ),
    good(
        "mastercard_debit",
        "5200828282828210",
        "mastercard",
        "mastercard",
        "debit",
        "US",
    ),
    good(
        "mastercard_prepaid",
        "5105105105105100",
        "mastercard",
        "mastercard",
        "prepaid",
        "US",
    ),
    // Stripe's table lists 378282246310005 for Amex; test-mode objects made from the token show
    // last4 8431 (371449635398431).
    good(
        "amex",
        "371449635398431",
        "amex",
        "american_express",
        "credit",
        "US",
    ),
    good(
        "discover",
        "6011111111111117",
        "discover",
        "discover",
        "credit",
        "US",
    ),
    good(
        "diners",
        "3056930009020004",
        "diners",
        "diners",
        "credit",
        "US",
    ),
    good("jcb", "3566002020360505", "jcb", "jcb", "credit", "JP"),
    good(
        "unionpay",
        "6200000000000005",
        "unionpay",
        "unionpay",
        "credit",
        "CN",
    ),
    declined("chargeDeclined", "4000000000000002", &GENERIC_DECLINE),
    declined(
        "chargeDeclinedInsufficientFunds",
        "4000000000009995",
        &INSUFFICIENT_FUNDS,
    ),
    declined("chargeDeclinedLostCard", "4000000000009987", &LOST_CARD),
    declined("chargeDeclinedStolenCard", "4000000000009979", &STOLEN_CARD),
    declined(
        "chargeDeclinedVelocityLimitExceeded",
        "4000000000006975",
        &VELOCITY,
    ),
    declined(
        "chargeDeclinedExpiredCard",
        "4000000000000069",
        &EXPIRED_CARD,
    ),
    declined(
        "chargeDeclinedIncorrectCvc",
        "4000000000000127",
        &INCORRECT_CVC,
    ),
    declined(
        "chargeDeclinedProcessingError",
        "4000000000000119",
        &PROCESSING_ERROR,
    ),
    visa(
        "chargeCustomerFail",
        "4000000000000341",
        Setup::Succeeds,
        Charge::Declines(&GENERIC_DECLINE),
    ),
    visa(
        "authenticationRequiredOnSetup",
        "4000002500003155",
        Setup::RequiresAction,
        Charge::RequiresAuthenticationUnlessSetUp,
    ),
    visa(
        "authenticationRequired",
        "4000002760003184",
        Setup::RequiresAction,
        Charge::RequiresAuthentication,
    ),
    visa(
        "authenticationRequiredSetupForOffSession",
        "4000003800000446",
        Setup::Succeeds,
        Charge::RequiresAuthenticationOnSession,
    ),
    visa(
        "authenticationRequiredChargeDeclinedInsufficientFunds",
        "4000008260003178",
        Setup::RequiresAction,
        Charge::Declines(&INSUFFICIENT_FUNDS),
    ),
];

pub const TOKEN_PREFIX: &str = "pm_card_";

/// The test card behind a token, if `token` is one.
pub fn lookup(token: &str) -> Option<&'static TestCard> {
    let name = token.strip_prefix(TOKEN_PREFIX)?;
    // `pm_card_visa_chargeDeclined…` and `pm_card_chargeDeclined…` name the same cards.
    let name = match name.strip_prefix("visa_") {
        Some(rest) if rest.starts_with("chargeDeclined") => rest,
        _ => name,
    };
    CARDS.iter().find(|card| card.name == name)
}

impl TestCard {
    pub fn token(&self) -> String {
        format!("{TOKEN_PREFIX}{}", self.name)
    }

    pub fn last4(&self) -> &'static str {
        self.number
            .get(self.number.len().saturating_sub(4)..)
            .unwrap_or_default()
    }

    /// Same card, same fingerprint (Stripe's fingerprints are per account and stable).
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(format!("stripe-fake card {}", self.number).as_bytes());
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        digest
            .iter()
            .take(16)
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect()
    }

    /// The `card` hash of a payment method, expiring in December three years after `now`.
    pub fn card_hash(&self, now: i64) -> Value {
        json!({
            "brand": self.brand,
            "checks": {
                "address_line1_check": null,
                "address_postal_code_check": null,
                "cvc_check": "unchecked"
            },
            "country": self.country,
            "display_brand": self.display_brand,
            "exp_month": 12,
            "exp_year": super::calendar::year_of(now) + 3,
            "fingerprint": self.fingerprint(),
            "funding": self.funding,
            "generated_from": null,
            "last4": self.last4(),
            "networks": { "available": [self.brand], "preferred": null },
            "regulated_status": "unregulated",
            "three_d_secure_usage": { "supported": true },
            "wallet": null
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_resolve_to_their_cards() {
        let visa = lookup("pm_card_visa").map(|c| c.last4());
        assert_eq!(visa, Some("4242"));
        assert_eq!(lookup("pm_card_amex").map(|c| c.last4()), Some("8431"));
        assert_eq!(
            lookup("pm_card_mastercard").map(|c| c.last4()),
            Some("4444")
        );
        assert!(lookup("pm_card_nope").is_none());
        assert!(lookup("pm_1abc").is_none());
        let both = [
            "pm_card_chargeDeclinedInsufficientFunds",
            "pm_card_visa_chargeDeclinedInsufficientFunds",
        ]
        .map(|t| lookup(t).map(|c| &c.setup));
        assert_eq!(both[0], Some(&Setup::Declines(&INSUFFICIENT_FUNDS)));
        assert_eq!(both[0], both[1]);
        assert_eq!(
            lookup("pm_card_chargeCustomerFail").map(|c| &c.setup),
            Some(&Setup::Succeeds)
        );
    }

    #[test]
    fn fingerprints_are_stable_per_card() {
        let (a, b) = (lookup("pm_card_visa"), lookup("pm_card_mastercard"));
        let fingerprint = |c: Option<&TestCard>| c.map(TestCard::fingerprint);
        assert_eq!(fingerprint(a), fingerprint(lookup("pm_card_visa")));
        assert_ne!(fingerprint(a), fingerprint(b));
        assert_eq!(fingerprint(a).map(|f| f.len()), Some(16));
    }
}
