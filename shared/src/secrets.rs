//! Secrets Manager: read once per container (callers keep the result), held as `SecretString`
//! so values never reach a log line or a `Debug` print.

use crate::aws::{SdkFailure, classify_sdk_error};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {secret_id} could not be read")]
    Unreadable {
        secret_id: String,
        #[source]
        source: SdkFailure,
    },
    /// The message names the problem, never the content.
    #[error("secret {secret_id} is malformed: {problem}")]
    Malformed {
        secret_id: String,
        problem: &'static str,
    },
}

impl SecretError {
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreadable {
                source: SdkFailure::Transient(_),
                ..
            }
        )
    }
}

/// Reads a secret's `SecretString`.
pub async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<SecretString, SecretError> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| SecretError::Unreadable {
            secret_id: secret_id.to_owned(),
            source: classify_sdk_error(e),
        })?;
    output
        .secret_string
        .map(SecretString::from)
        .ok_or_else(|| SecretError::Malformed {
            secret_id: secret_id.to_owned(),
            problem: "it has no SecretString",
        })
}

/// The Stripe secret document: `{"api_key": "sk_…", "webhook_secret": "whsec_…"}`.
pub struct StripeKeys {
    pub api_key: SecretString,
    pub webhook_secret: Option<SecretString>,
}

#[derive(Deserialize)]
struct StripeKeysDocument {
    api_key: String,
    #[serde(default)]
    webhook_secret: Option<String>,
}

impl StripeKeys {
    /// A live-mode secret or restricted key (test keys are `sk_test_`/`rk_test_`).
    pub fn is_live(&self) -> bool {
        let key = self.api_key.expose_secret();
        key.starts_with("sk_live_") || key.starts_with("rk_live_")
    }

    pub fn parse(secret_id: &str, document: &SecretString) -> Result<Self, SecretError> {
        let malformed = |problem| SecretError::Malformed {
            secret_id: secret_id.to_owned(),
            problem,
        };
        let doc: StripeKeysDocument = serde_json::from_str(document.expose_secret())
            .map_err(|_| malformed("expected JSON {\"api_key\": …, \"webhook_secret\": …}"))?;
        if !(doc.api_key.starts_with("sk_") || doc.api_key.starts_with("rk_")) {
            return Err(malformed(
                "api_key is not a Stripe secret or restricted key",
            ));
        }
        if doc
            .webhook_secret
            .as_deref()
            .is_some_and(|s| !s.starts_with("whsec_"))
        {
            return Err(malformed("webhook_secret is not a whsec_ signing secret"));
        }
        Ok(Self {
            api_key: doc.api_key.into(),
            webhook_secret: doc.webhook_secret.map(SecretString::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::operation::get_secret_value::{
        GetSecretValueError, GetSecretValueOutput,
    };
    use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
    use aws_smithy_mocks::{mock, mock_client};

    #[tokio::test]
    async fn reads_the_named_secret() {
        let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .match_requests(|req| req.secret_id() == Some("billing/stripe"))
            .then_output(|| {
                GetSecretValueOutput::builder()
                    .secret_string(r#"{"api_key":"sk_test_123","webhook_secret":"whsec_abc"}"#)
                    .build()
            });
        let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
        let document = read_secret(&client, "billing/stripe").await.unwrap();
        let keys = StripeKeys::parse("billing/stripe", &document).unwrap();
        assert_eq!(keys.api_key.expose_secret(), "sk_test_123");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_missing_secret_is_a_permanent_error() {
        let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                ResourceNotFoundException::builder().message("no").build(),
            )
        });
        let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
        let error = read_secret(&client, "billing/stripe").await.err().unwrap();
        assert!(!error.is_transient());
    }

    #[test]
    fn malformed_documents_are_refused_without_echoing_them() {
        for document in [
            "not json",
            r#"{"api_key":"pk_live_x"}"#,
            r#"{"api_key":"sk_x","webhook_secret":"nope-secret"}"#,
        ] {
            let error = StripeKeys::parse("s", &SecretString::from(document))
                .err()
                .unwrap();
            let text = error.to_string();
            assert!(
                !text.contains("nope-secret") && !text.contains("pk_live_x"),
                "{text}"
            );
        }
    }

    #[test]
    fn keys_do_not_show_in_debug_output() {
        let keys =
            StripeKeys::parse("s", &SecretString::from(r#"{"api_key":"sk_test_hidden"}"#)).unwrap();
        assert!(!format!("{:?}", keys.api_key).contains("sk_test_hidden"));
    }
}
