//! JWKS: the identity provider's public keys, fetched on first use and cached per container.

use super::token::TokenRejected;
use crate::https::TlsSettings;
use async_trait::async_trait;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// Where key sets come from: HTTPS in production, a fixed set in tests.
#[async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self) -> Result<JwkSet, String>;
}

/// Fetches the key set over HTTPS (or plain HTTP for a local issuer).
pub struct HttpJwksSource {
    url: Url,
    tls: TlsSettings,
}

/// Key sets are small; anything bigger is not a key set.
const MAX_JWKS_BYTES: usize = 256 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

impl HttpJwksSource {
    pub(crate) fn new(url: Url, tls: TlsSettings) -> Self {
        Self { url, tls }
    }
}

#[async_trait]
impl JwksSource for HttpJwksSource {
    async fn fetch(&self) -> Result<JwkSet, String> {
        let client: Client<_, Empty<bytes::Bytes>> =
            Client::builder(TokioExecutor::new()).build(self.tls.connector(FETCH_TIMEOUT));
        let uri: http::Uri = self
            .url
            .as_str()
            .parse()
            .map_err(|e| format!("bad JWKS URL: {e}"))?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, client.get(uri))
            .await
            .map_err(|_| "JWKS request timed out".to_owned())?
            .map_err(|e| format!("JWKS request failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("JWKS endpoint answered {}", response.status()));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| format!("JWKS body unreadable: {e}"))?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| format!("JWKS is not a key set: {e}"))
    }
}

struct Cached {
    keys: JwkSet,
    fetched_at: Instant,
}

/// Caches the key set; refetches when it is old, or when a token names an unknown `kid`
/// (key rotation) but at most once per [`JwksCache::MIN_REFRESH`] so bad tokens cannot
/// turn into a flood of fetches.
pub struct JwksCache {
    source: Box<dyn JwksSource>,
    cached: Mutex<Option<Cached>>,
}

impl JwksCache {
    const MAX_AGE: Duration = Duration::from_secs(3600);
    const MIN_REFRESH: Duration = Duration::from_secs(60);

    pub fn new(source: Box<dyn JwksSource>) -> Self {
        Self {
            source,
            cached: Mutex::new(None),
        }
    }

    pub async fn key_for(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, TokenRejected> {
        let mut cached = self.cached.lock().await;
        let needs_fetch = match cached.as_ref() {
            None => true,
            Some(c) => {
                let age = c.fetched_at.elapsed();
                age > Self::MAX_AGE || (c.keys.find(kid).is_none() && age > Self::MIN_REFRESH)
            }
        };
        if needs_fetch {
            let keys = self
                .source
                .fetch()
                .await
                .map_err(TokenRejected::KeysUnavailable)?;
            *cached = Some(Cached {
                keys,
                fetched_at: Instant::now(),
            });
        }
        let jwk = cached
            .as_ref()
            .and_then(|c| c.keys.find(kid))
            .ok_or(TokenRejected::UnknownKey)?;
        // A key that declares its algorithm is only good for that algorithm.
        if let Some(declared) = jwk.common.key_algorithm
            && declared.to_string() != format!("{alg:?}")
        {
            return Err(TokenRejected::AlgorithmNotAllowed(alg));
        }
        DecodingKey::from_jwk(jwk).map_err(|e| TokenRejected::Malformed(e.to_string()))
    }
}
