//! Typed settings read from the environment once per container. A bad or missing variable
//! fails the cold start with a message naming it, instead of failing requests later.

use crate::domain::{AccessPolicy, PlanKey};
use url::Url;

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

pub(crate) fn config_error(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// Reads variables; the process environment in Lambda, a map in tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        lookup(self, name)
    }
}

impl Env for Vec<(&str, &str)> {
    fn get(&self, name: &str) -> Option<String> {
        lookup(self, name)
    }
}

fn lookup(pairs: &[(&str, &str)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| (*v).to_owned())
}

pub(crate) fn optional(env: &dyn Env, name: &'static str) -> Option<String> {
    env.get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub(crate) fn required(env: &dyn Env, name: &'static str) -> Result<String, ConfigError> {
    optional(env, name).ok_or_else(|| config_error(name, "is not set"))
}

fn flag(env: &dyn Env, name: &'static str) -> Result<bool, ConfigError> {
    match optional(env, name)
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(config_error(
            name,
            format!("must be true or false, not {other:?}"),
        )),
    }
}

fn absolute_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| config_error(name, format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(config_error(name, "must be an absolute http(s) URL"));
    }
    Ok(url)
}

/// Settings of the billing endpoint functions.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `ENABLE_BILLING`: when false or unset every billing route answers 404 `billing_disabled`.
    pub billing_enabled: bool,
    /// `APP_PUBLIC_URL`: the web app's origin; return URLs must stay on it.
    pub app_public_url: Url,
    /// `STRIPE_PORTAL_RETURN_URL`, defaulting to `APP_PUBLIC_URL` + `/billing`.
    pub portal_return_url: Url,
    /// `BILLING_CUSTOMERS_TABLE`: the DynamoDB table of org → Stripe customer links.
    pub customers_table: String,
    /// `WEBHOOK_EVENTS_TABLE`: processed Stripe event ids (with a TTL), for deduplication.
    pub webhook_events_table: String,
    /// `STRIPE_SECRET_ID`: name or ARN of the Secrets Manager secret holding the Stripe keys.
    pub stripe_secret_id: String,
    /// `STRIPE_API_BASE`: only for the local emulator; unset in AWS.
    pub stripe_api_base: Option<Url>,
    /// `BILLING_PLANS`: the lookup keys of the prices clients may choose, comma-separated.
    pub plans: Vec<PlanKey>,
    /// `STRIPE_TEST_CLOCKS`: test mode only — each org's customer is created on its own Stripe
    /// test clock, so renewals, trial ends and failed payments can be simulated per org. A live
    /// key is refused when it is read.
    pub stripe_test_clocks: bool,
    /// `BILLING_PAST_DUE_GRACE_DAYS` (default 7, 0–90): how long a past-due subscription keeps
    /// access after its renewal failed.
    pub access: AccessPolicy,
}

/// The grace period used when `BILLING_PAST_DUE_GRACE_DAYS` is unset.
pub const DEFAULT_PAST_DUE_GRACE_DAYS: u32 = 7;

fn grace_days(env: &dyn Env) -> Result<u32, ConfigError> {
    const NAME: &str = "BILLING_PAST_DUE_GRACE_DAYS";
    match optional(env, NAME) {
        None => Ok(DEFAULT_PAST_DUE_GRACE_DAYS),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|days| *days <= 90)
            .ok_or_else(|| {
                config_error(
                    NAME,
                    format!("must be a whole number of days, 0 to 90, not {raw:?}"),
                )
            }),
    }
}

/// The plan catalogue used when `BILLING_PLANS` is unset.
pub const DEFAULT_PLANS: &str = "starter_monthly,pro_monthly,pro_yearly";

fn plans(env: &dyn Env) -> Result<Vec<PlanKey>, ConfigError> {
    let list = optional(env, "BILLING_PLANS").unwrap_or_else(|| DEFAULT_PLANS.to_owned());
    let plans = list
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| PlanKey::parse(p).map_err(|e| config_error("BILLING_PLANS", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    if plans.is_empty() {
        return Err(config_error("BILLING_PLANS", "names no plan"));
    }
    Ok(plans)
}

impl Settings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let app_public_url = absolute_url("APP_PUBLIC_URL", &required(env, "APP_PUBLIC_URL")?)?;
        let portal_return_url = match optional(env, "STRIPE_PORTAL_RETURN_URL") {
            Some(value) => absolute_url("STRIPE_PORTAL_RETURN_URL", &value)?,
            None => app_public_url
                .join("/billing")
                .map_err(|e| config_error("APP_PUBLIC_URL", e.to_string()))?,
        };
        let stripe_api_base = optional(env, "STRIPE_API_BASE")
            .map(|v| absolute_url("STRIPE_API_BASE", &v))
            .transpose()?;
        Ok(Self {
            billing_enabled: flag(env, "ENABLE_BILLING")?,
            app_public_url,
            portal_return_url,
            customers_table: required(env, "BILLING_CUSTOMERS_TABLE")?,
            webhook_events_table: required(env, "WEBHOOK_EVENTS_TABLE")?,
            stripe_secret_id: required(env, "STRIPE_SECRET_ID")?,
            stripe_api_base,
            plans: plans(env)?,
            stripe_test_clocks: flag(env, "STRIPE_TEST_CLOCKS")?,
            access: AccessPolicy {
                past_due_grace_days: grace_days(env)?,
            },
        })
    }
}

/// Where the authorizer gets the keys that sign tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKeySource {
    /// RS256/ES256 keys published at a JWKS URL (production).
    Jwks(Url),
    /// HS256 with a shared secret kept in Secrets Manager under this name (local development).
    Hs256SecretId(String),
}

/// Names of the claims that carry the principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    pub user_id: String,
    pub org_id: String,
    pub role: String,
}

/// Settings of the authorizer function.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    pub keys: TokenKeySource,
    pub claims: ClaimNames,
}

impl AuthSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let keys = match (
            optional(env, "JWT_JWKS_URL"),
            optional(env, "JWT_HS256_SECRET_ID"),
        ) {
            (Some(url), None) => TokenKeySource::Jwks(absolute_url("JWT_JWKS_URL", &url)?),
            (None, Some(secret_id)) => TokenKeySource::Hs256SecretId(secret_id),
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "JWT_JWKS_URL",
                    "and JWT_HS256_SECRET_ID are both set; set exactly one",
                ));
            }
            (None, None) => {
                return Err(config_error(
                    "JWT_JWKS_URL",
                    "is not set (set it, or JWT_HS256_SECRET_ID for local HS256 tokens)",
                ));
            }
        };
        Ok(Self {
            issuer: required(env, "JWT_ISSUER")?,
            audience: required(env, "JWT_AUDIENCE")?,
            keys,
            claims: ClaimNames {
                user_id: optional(env, "JWT_CLAIM_USER_ID").unwrap_or_else(|| "sub".into()),
                org_id: optional(env, "JWT_CLAIM_ORG_ID").unwrap_or_else(|| "org_id".into()),
                role: optional(env, "JWT_CLAIM_ROLE").unwrap_or_else(|| "role".into()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 5] = [
        ("APP_PUBLIC_URL", "https://app.example.com"),
        ("BILLING_CUSTOMERS_TABLE", "billing_customers"),
        ("WEBHOOK_EVENTS_TABLE", "billing_webhook_events"),
        ("STRIPE_SECRET_ID", "billing/stripe"),
        ("ENABLE_BILLING", "true"),
    ];

    #[test]
    fn portal_return_url_defaults_to_the_app_billing_page() {
        let settings = Settings::from_env(&BASE).unwrap();
        assert!(settings.billing_enabled);
        assert_eq!(
            settings.portal_return_url.as_str(),
            "https://app.example.com/billing"
        );
        assert_eq!(settings.stripe_api_base, None);
    }

    #[test]
    fn billing_is_disabled_when_the_flag_is_unset() {
        let env = [
            ("APP_PUBLIC_URL", "https://app.example.com"),
            ("BILLING_CUSTOMERS_TABLE", "t"),
            ("WEBHOOK_EVENTS_TABLE", "e"),
            ("STRIPE_SECRET_ID", "s"),
        ];
        assert!(!Settings::from_env(&env).unwrap().billing_enabled);
    }

    #[test]
    fn a_bad_flag_names_the_variable() {
        let mut env = BASE;
        env[4] = ("ENABLE_BILLING", "maybe");
        let err = Settings::from_env(&env).unwrap_err();
        assert_eq!(err.variable, "ENABLE_BILLING");
    }

    #[test]
    fn a_missing_table_names_the_variable() {
        let env = [
            ("APP_PUBLIC_URL", "https://app.example.com"),
            ("STRIPE_SECRET_ID", "s"),
        ];
        let err = Settings::from_env(&env).unwrap_err();
        assert_eq!(err.variable, "BILLING_CUSTOMERS_TABLE");
        assert!(
            err.to_string()
                .contains("BILLING_CUSTOMERS_TABLE is not set")
        );
    }

    #[test]
    fn the_grace_period_defaults_to_7_days_and_a_bad_one_names_the_variable() {
        let settings = Settings::from_env(&BASE).unwrap();
        assert_eq!(settings.access.past_due_grace_days, 7);
        let mut env = BASE.to_vec();
        env.push(("BILLING_PAST_DUE_GRACE_DAYS", "0"));
        assert_eq!(
            Settings::from_env(&env).unwrap().access.past_due_grace_days,
            0
        );
        for bad in ["91", "-1", "a week"] {
            let mut env = BASE.to_vec();
            env.push(("BILLING_PAST_DUE_GRACE_DAYS", bad));
            let err = Settings::from_env(&env).unwrap_err();
            assert_eq!(err.variable, "BILLING_PAST_DUE_GRACE_DAYS", "{bad}");
        }
    }

    #[test]
    fn a_relative_public_url_is_refused() {
        let mut env = BASE;
        env[0] = ("APP_PUBLIC_URL", "/billing");
        assert_eq!(
            Settings::from_env(&env).unwrap_err().variable,
            "APP_PUBLIC_URL"
        );
    }

    #[test]
    fn auth_needs_exactly_one_key_source() {
        let both = [
            ("JWT_ISSUER", "i"),
            ("JWT_AUDIENCE", "a"),
            (
                "JWT_JWKS_URL",
                "https://idp.example.com/.well-known/jwks.json",
            ),
            ("JWT_HS256_SECRET_ID", "billing/local-jwt"),
        ];
        assert!(AuthSettings::from_env(&both).is_err());
        let none = [("JWT_ISSUER", "i"), ("JWT_AUDIENCE", "a")];
        assert_eq!(
            AuthSettings::from_env(&none).unwrap_err().variable,
            "JWT_JWKS_URL"
        );
    }

    #[test]
    fn claim_names_default_and_can_be_renamed() {
        let env = [
            ("JWT_ISSUER", "i"),
            ("JWT_AUDIENCE", "a"),
            ("JWT_HS256_SECRET_ID", "billing/local-jwt"),
            ("JWT_CLAIM_ORG_ID", "https://example.com/org"),
        ];
        let settings = AuthSettings::from_env(&env).unwrap();
        assert_eq!(settings.claims.user_id, "sub");
        assert_eq!(settings.claims.org_id, "https://example.com/org");
        assert_eq!(
            settings.keys,
            TokenKeySource::Hs256SecretId("billing/local-jwt".into())
        );
    }
}
