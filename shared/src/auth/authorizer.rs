//! The Lambda REQUEST authorizer's decision (HTTP API, payload 2.0, simple responses).

use super::Role;
use super::token::TokenVerifier;
use crate::domain::{OrgId, UserId};
use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use serde::{Deserialize, Serialize};

/// What the authorizer puts into `requestContext.authorizer.lambda`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuthorizerContext {
    pub user_id: String,
    pub org_id: String,
    pub role: String,
}

/// The error API Gateway turns into `401 {"message":"Unauthorized"}`: the invocation must fail
/// with exactly this message. Any other failure would be a 500.
#[derive(Debug, thiserror::Error)]
#[error("Unauthorized")]
pub struct Unauthorized;

impl From<Unauthorized> for lambda_runtime::Diagnostic {
    fn from(_: Unauthorized) -> Self {
        Self {
            error_type: "Unauthorized".into(),
            error_message: "Unauthorized".into(),
        }
    }
}

/// A valid token with a known role is allowed; a valid token with an unknown role is denied
/// (403); anything else is unauthenticated (401).
pub async fn authorize(
    verifier: &TokenVerifier,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse<AuthorizerContext>, Unauthorized> {
    let token = bearer_token(request).ok_or(Unauthorized)?;
    let claims = verifier.verify(token).await.map_err(|rejected| {
        tracing::info!(reason = %rejected, "token rejected");
        Unauthorized
    })?;
    if UserId::parse(claims.user_id.as_str()).is_err()
        || OrgId::parse(claims.org_id.as_str()).is_err()
    {
        tracing::info!("token rejected: malformed user or org id");
        return Err(Unauthorized);
    }
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    match Role::parse(&claims.role) {
        Some(role) => {
            response.is_authorized = true;
            response.context = AuthorizerContext {
                user_id: claims.user_id,
                org_id: claims.org_id,
                role: role.as_str().to_owned(),
            };
        }
        None => {
            tracing::info!(org_id = %claims.org_id, "token denied: unknown role");
            response.is_authorized = false;
        }
    }
    Ok(response)
}

/// Decides on the raw event. An event that does not parse as an authorizer request (e.g. a
/// header value with control characters, which `http::HeaderValue` refuses) is unauthenticated,
/// not an invocation failure API Gateway would turn into a 500.
pub async fn authorize_event(
    verifier: &TokenVerifier,
    event: serde_json::Value,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse<AuthorizerContext>, Unauthorized> {
    let request: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_value(event).map_err(|error| {
            tracing::info!(%error, "authorizer event rejected");
            Unauthorized
        })?;
    authorize(verifier, &request).await
}

/// The token from the identity source (the Authorization header), `Bearer` scheme only.
fn bearer_token(request: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<&str> {
    let header = request
        .identity_source
        .as_ref()
        .and_then(|sources| sources.first())
        .map(String::as_str)
        .or_else(|| {
            request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
        })?;
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The whole `main` of the authorizer function.
pub async fn run_authorizer() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let verifier = super::token::load_token_verifier().await?;
    let verifier = &verifier;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            authorize_event(verifier, event.payload).await
        },
    ))
    .await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::{JwksCache, JwksSource, TokenKeys};
    use crate::config::ClaimNames;
    use async_trait::async_trait;
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, encode};
    use serde_json::{Value, json};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SECRET: &[u8] = b"unit-test-hs256-secret-0123456789abcdef";
    const ISSUER: &str = "https://issuer.test";
    const AUDIENCE: &str = "billing-api";

    fn claim_names() -> ClaimNames {
        ClaimNames {
            user_id: "sub".into(),
            org_id: "org_id".into(),
            role: "role".into(),
        }
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    pub(crate) fn claims(role: &str) -> Value {
        json!({"sub": "user_1", "org_id": "org_1", "role": role, "iss": ISSUER, "aud": AUDIENCE,
               "iat": now(), "nbf": now() - 5, "exp": now() + 600})
    }

    pub(crate) fn hs256_verifier() -> TokenVerifier {
        TokenVerifier::new(
            ISSUER.into(),
            AUDIENCE.into(),
            claim_names(),
            TokenKeys::Hs256(DecodingKey::from_secret(SECRET)),
        )
    }

    pub(crate) fn hs256(claims: &Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    fn request(authorization: &str) -> ApiGatewayV2CustomAuthorizerV2Request {
        let mut request = ApiGatewayV2CustomAuthorizerV2Request::default();
        request.identity_source = Some(vec![authorization.to_owned()]);
        request
    }

    async fn decide(
        verifier: &TokenVerifier,
        token: &str,
    ) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse<AuthorizerContext>, Unauthorized> {
        authorize(verifier, &request(&format!("Bearer {token}"))).await
    }

    #[tokio::test]
    async fn a_valid_token_passes_the_principal_on() {
        let response = decide(&hs256_verifier(), &hs256(&claims("owner")))
            .await
            .unwrap();
        assert!(response.is_authorized);
        assert_eq!(
            response.context,
            AuthorizerContext {
                user_id: "user_1".into(),
                org_id: "org_1".into(),
                role: "owner".into()
            }
        );
    }

    #[tokio::test]
    async fn an_unknown_role_is_denied_not_unauthenticated() {
        let response = decide(&hs256_verifier(), &hs256(&claims("superuser")))
            .await
            .unwrap();
        assert!(!response.is_authorized);
        assert_eq!(response.context, AuthorizerContext::default());
    }

    #[tokio::test]
    async fn invalid_tokens_are_unauthorized() {
        let verifier = hs256_verifier();
        let mut cases: Vec<(&str, String)> = Vec::new();
        let with = |key: &str, value: Value| {
            let mut c = claims("admin");
            c[key] = value;
            hs256(&c)
        };
        cases.push(("expired", with("exp", json!(now() - 120))));
        cases.push(("not yet valid", with("nbf", json!(now() + 600))));
        cases.push(("wrong issuer", with("iss", json!("https://evil.test"))));
        cases.push(("wrong audience", with("aud", json!("other-api"))));
        cases.push(("no org", {
            let mut c = claims("admin");
            c.as_object_mut().unwrap().remove("org_id");
            hs256(&c)
        }));
        cases.push(("malformed org", with("org_id", json!("org 1'"))));
        cases.push(("no expiry", {
            let mut c = claims("admin");
            c.as_object_mut().unwrap().remove("exp");
            hs256(&c)
        }));
        cases.push((
            "forged signature",
            encode(
                &Header::new(Algorithm::HS256),
                &claims("owner"),
                &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
            )
            .unwrap(),
        ));
        cases.push(("alg none", {
            use base64::Engine;
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}.",
                engine.encode(r#"{"alg":"none","typ":"JWT"}"#),
                engine.encode(claims("owner").to_string())
            )
        }));
        cases.push(("garbage", "not-a-jwt".into()));
        for (name, token) in cases {
            assert!(
                decide(&verifier, &token).await.is_err(),
                "{name} must be unauthorized"
            );
        }
    }

    #[tokio::test]
    async fn an_event_with_control_characters_in_a_header_is_unauthorized() {
        let verifier = hs256_verifier();
        let mut event =
            serde_json::to_value(request(&format!("Bearer {}", hs256(&claims("owner"))))).unwrap();
        event["headers"]["authorization"] = json!("Bearer \u{1}abc");
        event["identitySource"] = json!(["Bearer \u{1}abc"]);
        assert!(authorize_event(&verifier, event).await.is_err());
        let valid =
            serde_json::to_value(request(&format!("Bearer {}", hs256(&claims("owner"))))).unwrap();
        assert!(
            authorize_event(&verifier, valid)
                .await
                .unwrap()
                .is_authorized
        );
    }

    #[tokio::test]
    async fn only_the_bearer_scheme_is_accepted() {
        let verifier = hs256_verifier();
        let token = hs256(&claims("owner"));
        assert!(
            authorize(&verifier, &request(&format!("bearer {token}")))
                .await
                .is_ok()
        );
        assert!(
            authorize(&verifier, &request(&format!("Basic {token}")))
                .await
                .is_err()
        );
        assert!(authorize(&verifier, &request(&token)).await.is_err());
        assert!(authorize(&verifier, &request("Bearer ")).await.is_err());
        assert!(
            authorize(&verifier, &ApiGatewayV2CustomAuthorizerV2Request::default())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn claim_names_are_configurable() {
        let verifier = TokenVerifier::new(
            ISSUER.into(),
            AUDIENCE.into(),
            ClaimNames {
                user_id: "uid".into(),
                org_id: "https://x.test/org".into(),
                role: "https://x.test/role".into(),
            },
            TokenKeys::Hs256(DecodingKey::from_secret(SECRET)),
        );
        let token = hs256(
            &json!({"uid": "u9", "https://x.test/org": "org_9", "https://x.test/role": "viewer",
            "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 60}),
        );
        let response = decide(&verifier, &token).await.unwrap();
        assert_eq!(response.context.org_id, "org_9");
        assert_eq!(response.context.role, "viewer");
    }

    /// The fixture key set, counting fetches.
    struct FixtureJwks(Arc<AtomicUsize>);

    #[async_trait]
    impl JwksSource for FixtureJwks {
        async fn fetch(&self) -> Result<JwkSet, String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            serde_json::from_str(include_str!("../../tests/fixtures/jwks.json"))
                .map_err(|e| e.to_string())
        }
    }

    fn jwks_verifier(fetches: Arc<AtomicUsize>) -> TokenVerifier {
        TokenVerifier::new(
            ISSUER.into(),
            AUDIENCE.into(),
            claim_names(),
            TokenKeys::Jwks(JwksCache::new(Box::new(FixtureJwks(fetches)))),
        )
    }

    fn signed(alg: Algorithm, kid: &str, pem: &str) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        };
        encode(&header, &claims("admin"), &key).unwrap()
    }

    const RSA: &str = include_str!("../../tests/fixtures/rsa-private.pem");
    const EC: &str = include_str!("../../tests/fixtures/ec-private.pem");
    const OTHER_RSA: &str = include_str!("../../tests/fixtures/other-rsa-private.pem");

    #[tokio::test]
    async fn rs256_and_es256_tokens_verify_against_the_jwks_fetched_once() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let verifier = jwks_verifier(fetches.clone());
        for _ in 0..3 {
            assert!(
                decide(&verifier, &signed(Algorithm::RS256, "rsa-1", RSA))
                    .await
                    .unwrap()
                    .is_authorized
            );
            assert!(
                decide(&verifier, &signed(Algorithm::ES256, "ec-1", EC))
                    .await
                    .unwrap()
                    .is_authorized
            );
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "keys are cached per container"
        );
    }

    #[tokio::test]
    async fn jwks_tokens_with_the_wrong_key_kid_or_algorithm_are_unauthorized() {
        let verifier = jwks_verifier(Arc::new(AtomicUsize::new(0)));
        let public_pem = include_str!("../../tests/fixtures/rsa-public.pem");
        let mut hs_header = Header::new(Algorithm::HS256);
        hs_header.kid = Some("rsa-1".into());
        let confused = encode(
            &hs_header,
            &claims("owner"),
            &EncodingKey::from_secret(public_pem.as_bytes()),
        )
        .unwrap();
        for (name, token) in [
            (
                "signed by another key",
                signed(Algorithm::RS256, "rsa-1", OTHER_RSA),
            ),
            ("unknown kid", signed(Algorithm::RS256, "rsa-9", RSA)),
            (
                "ES256 under an RSA kid",
                signed(Algorithm::ES256, "rsa-1", EC),
            ),
            ("HS256 with the public key as secret", confused),
            ("HS256 with the shared secret", hs256(&claims("owner"))),
        ] {
            assert!(
                decide(&verifier, &token).await.is_err(),
                "{name} must be unauthorized"
            );
        }
    }

    #[tokio::test]
    async fn the_http_jwks_source_reads_a_key_set_over_http() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 2048];
            let _ = socket.read(&mut buffer).await.unwrap();
            let body = include_str!("../../tests/fixtures/jwks.json");
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        });
        let url = url::Url::parse(&format!("http://{address}/.well-known/jwks.json")).unwrap();
        let tls = crate::https::TlsSettings::from_env(&[]).unwrap();
        let keys = crate::auth::HttpJwksSource::new(url, tls)
            .fetch()
            .await
            .unwrap();
        assert!(keys.find("rsa-1").is_some() && keys.find("ec-1").is_some());
    }
}
