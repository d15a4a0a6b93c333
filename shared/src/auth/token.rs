//! Bearer token verification: signature, algorithm, issuer, audience, expiry and not-before.

use super::jwks::{HttpJwksSource, JwksCache};
use crate::config::{AuthSettings, ClaimNames, ConfigError, ProcessEnv, TokenKeySource};
use crate::https::TlsSettings;
use crate::secrets::read_secret;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

/// Why a token was refused. Never shown to the caller (they get a bare 401); logged at info.
#[derive(Debug, thiserror::Error)]
pub enum TokenRejected {
    #[error("token is malformed or uses an unsupported algorithm: {0}")]
    Malformed(String),
    #[error("algorithm {0:?} is not accepted for this key source")]
    AlgorithmNotAllowed(Algorithm),
    #[error("no signing key matches the token's key id")]
    UnknownKey,
    #[error("signing keys are unavailable: {0}")]
    KeysUnavailable(String),
    #[error("token failed validation: {0}")]
    Invalid(String),
    #[error("claim {0} is missing or not a string")]
    MissingClaim(String),
}

/// The keys tokens are checked against.
pub enum TokenKeys {
    /// One shared HS256 secret (local development).
    Hs256(DecodingKey),
    /// RS256/ES256 keys from a JWKS, selected by `kid`.
    Jwks(JwksCache),
}

/// The principal's claims, as strings; the authorizer decides what they mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub user_id: String,
    pub org_id: String,
    pub role: String,
}

pub struct TokenVerifier {
    issuer: String,
    audience: String,
    claims: ClaimNames,
    keys: TokenKeys,
}

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

impl TokenVerifier {
    pub fn new(issuer: String, audience: String, claims: ClaimNames, keys: TokenKeys) -> Self {
        Self {
            issuer,
            audience,
            claims,
            keys,
        }
    }

    pub async fn verify(&self, token: &str) -> Result<TokenClaims, TokenRejected> {
        // `alg: none` and unknown algorithms fail here: jsonwebtoken has no such variant.
        let header = decode_header(token).map_err(|e| TokenRejected::Malformed(e.to_string()))?;
        let key = match &self.keys {
            TokenKeys::Hs256(key) => {
                if header.alg != Algorithm::HS256 {
                    return Err(TokenRejected::AlgorithmNotAllowed(header.alg));
                }
                key.clone()
            }
            TokenKeys::Jwks(cache) => {
                // Only asymmetric algorithms: a public key must never be used as an HMAC secret.
                if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
                    return Err(TokenRejected::AlgorithmNotAllowed(header.alg));
                }
                let kid = header.kid.as_deref().ok_or(TokenRejected::UnknownKey)?;
                cache.key_for(kid, header.alg).await?
            }
        };

        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| TokenRejected::Invalid(e.to_string()))?;

        let claim = |name: &str| {
            data.claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| TokenRejected::MissingClaim(name.to_owned()))
        };
        Ok(TokenClaims {
            user_id: claim(&self.claims.user_id)?,
            org_id: claim(&self.claims.org_id)?,
            role: claim(&self.claims.role)?,
        })
    }
}
/// Builds the authorizer's token verifier: the HS256 secret is read now (once per container);
/// JWKS keys are fetched on the first token and cached.
pub async fn load_token_verifier() -> Result<TokenVerifier, crate::error::InitError> {
    let settings = AuthSettings::from_env(&ProcessEnv)?;
    let tls = TlsSettings::from_env(&ProcessEnv)?;
    let keys = match &settings.keys {
        TokenKeySource::Jwks(url) => TokenKeys::Jwks(JwksCache::new(Box::new(
            HttpJwksSource::new(url.clone(), tls),
        ))),
        TokenKeySource::Hs256SecretId(secret_id) => {
            let config = crate::aws::sdk_config(&ProcessEnv, &tls)?;
            let client = aws_sdk_secretsmanager::Client::new(&config);
            let secret = read_secret(&client, secret_id).await?;
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError {
                    variable: "JWT_HS256_SECRET_ID",
                    problem: "names a secret shorter than 32 bytes".into(),
                }
                .into());
            }
            TokenKeys::Hs256(DecodingKey::from_secret(secret.expose_secret().as_bytes()))
        }
    };
    Ok(TokenVerifier::new(
        settings.issuer,
        settings.audience,
        settings.claims,
        keys,
    ))
}
