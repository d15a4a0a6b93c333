//! Stripe-looking object ids: a prefix, an underscore and random alphanumerics.

/// Random part lengths seen on real Stripe ids.
pub const SHORT: usize = 14;
pub const LONG: usize = 24;

pub fn generate(prefix: &str, len: usize) -> String {
    let mut id = String::with_capacity(prefix.len() + 1 + len);
    id.push_str(prefix);
    id.push('_');
    id.push_str(&alphanumeric(len));
    id
}

/// Random alphanumerics (the random part of ids and client secrets).
pub fn alphanumeric(len: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(len)
        .collect()
}

/// Upper-case alphanumerics, as in `invoice_prefix`.
pub fn upper(len: usize) -> String {
    std::iter::repeat_with(|| fastrand::alphanumeric().to_ascii_uppercase())
        .take(len)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_length() {
        let id = generate("cus", SHORT);
        assert!(id.starts_with("cus_"));
        assert_eq!(id.len(), 4 + SHORT);
        assert!(id[4..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(generate("cus", SHORT), id);
        assert!(
            upper(8)
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }
}
