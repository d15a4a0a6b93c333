//! Stripe's webhook signature, checked over the raw body and nothing else.
//!
//! async-stripe's `Webhook::construct_event` verifies and then parses the whole event into its
//! endive types, so an endpoint rendering another API version fails after a good signature.
//! The handler needs only the envelope, so the check is done here with the same primitives
//! (`hmac` + `sha2`, constant-time compare), per Stripe's scheme: `Stripe-Signature:
//! t=<unix>,v1=<hex>[,v1=…]`, `v1 = HMAC-SHA256(secret, "<t>.<body>")`, any `v1` may match
//! (secret rotation), other schemes ignored, 300 s tolerance.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Stripe's default tolerance between the signature's timestamp and now.
pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `t=` or no `v1=` in the header.
    Malformed,
    /// No `v1` matches the body under the secret.
    Mismatch,
    /// A matching signature, but outside the tolerance.
    Stale,
}

/// Verifies `header` for `payload` under `secret` at `now` (unix seconds).
pub fn verify(payload: &str, header: &str, secret: &str, now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v1)) => candidates.push(v1),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    let matches = candidates.iter().any(|candidate| {
        hex::decode(candidate).is_ok_and(|sig| mac.clone().verify_slice(&sig).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &str = r#"{"id":"evt_1","object":"event"}"#;
    const AT: i64 = 1_795_000_000;

    /// Headers made by async-stripe's own generator: the two implementations agree.
    fn header(body: &str, secret: &str, at: i64) -> String {
        stripe_webhook::Webhook::generate_test_header(body, secret, Some(at))
    }

    #[test]
    fn a_header_from_async_stripe_verifies() {
        assert_eq!(
            verify(BODY, &header(BODY, SECRET, AT), SECRET, AT + 10),
            Ok(())
        );
    }

    #[test]
    fn any_v1_may_match_and_other_schemes_are_ignored() {
        let good = header(BODY, SECRET, AT);
        let v1 = good.split_once("v1=").unwrap().1;
        let rotated = format!("t={AT},v0=abc,v1={},v1={v1}", "00".repeat(32));
        assert_eq!(verify(BODY, &rotated, SECRET, AT), Ok(()));
        let only_v0 = format!("t={AT},v0={v1}");
        assert_eq!(
            verify(BODY, &only_v0, SECRET, AT),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn wrong_secret_tampered_body_and_bad_hex_are_mismatches() {
        let good = header(BODY, SECRET, AT);
        assert_eq!(
            verify(BODY, &good, "whsec_other", AT),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("{}", &good, SECRET, AT),
            Err(SignatureError::Mismatch)
        );
        let bad_hex = format!("t={AT},v1=zz");
        assert_eq!(
            verify(BODY, &bad_hex, SECRET, AT),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed too: moving it breaks the signature.
        let moved = good.replace(&format!("t={AT}"), &format!("t={}", AT + 1));
        assert_eq!(
            verify(BODY, &moved, SECRET, AT),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_tolerance_is_300_seconds_either_way() {
        let good = header(BODY, SECRET, AT);
        assert_eq!(verify(BODY, &good, SECRET, AT + 300), Ok(()));
        assert_eq!(verify(BODY, &good, SECRET, AT - 300), Ok(()));
        assert_eq!(
            verify(BODY, &good, SECRET, AT + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(BODY, &good, SECRET, AT - 301),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn a_header_without_timestamp_or_signature_is_malformed() {
        assert_eq!(
            verify(BODY, "v1=00", SECRET, AT),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(BODY, &format!("t={AT}"), SECRET, AT),
            Err(SignatureError::Malformed)
        );
        assert_eq!(verify(BODY, "", SECRET, AT), Err(SignatureError::Malformed));
    }
}
