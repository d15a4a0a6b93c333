//! The one HTTPS stack for every outbound call the functions make themselves (the AWS SDK's
//! clients, the JWKS fetch): hyper with rustls on ring and Mozilla's root set compiled in
//! (webpki-roots). async-stripe builds the same stack (its `rustls-tls-webpki-roots` feature).
//!
//! Compiled-in roots mean that neither init nor a first request reads or parses certificate
//! files (it was most of the functions' init time, see tests/bench). The trade-off: the roots
//! change when we release with a newer webpki-roots, not when the OS image is patched. A private
//! CA (a TLS-inspecting proxy, an internal identity provider) is added with
//! `BILLING_EXTRA_CA_CERTS=/path/to/bundle.pem`: read once, at init, only when set.

use crate::config::{ConfigError, Env, config_error, optional};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;
use std::time::Duration;

/// An HTTPS (or, for local endpoints, plain HTTP) connector.
pub(crate) type HttpsConnector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A PEM bundle of extra trust roots, added to the compiled-in set.
pub const EXTRA_CA_CERTS: &str = "BILLING_EXTRA_CA_CERTS";

/// The trust roots and TLS settings; build once per container and share.
#[derive(Clone)]
pub(crate) struct TlsSettings(Arc<rustls::ClientConfig>);

impl TlsSettings {
    pub(crate) fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = optional(env, EXTRA_CA_CERTS) {
            add_pem_bundle(&mut roots, &path)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(EXTRA_CA_CERTS, format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self(Arc::new(config)))
    }

    /// A connector with these roots; `connect_timeout` bounds the TCP connect.
    pub(crate) fn connector(&self, connect_timeout: Duration) -> HttpsConnector {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(self.0.as_ref().clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp)
    }
}

fn add_pem_bundle(roots: &mut rustls::RootCertStore, path: &str) -> Result<(), ConfigError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| config_error(EXTRA_CA_CERTS, format!("{path}: {e}")))?;
    if certificates.is_empty() {
        return Err(config_error(
            EXTRA_CA_CERTS,
            format!("{path} holds no PEM certificate"),
        ));
    }
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|e| config_error(EXTRA_CA_CERTS, format!("{path}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_need_no_file() {
        let settings = TlsSettings::from_env(&[]).expect("no variable, no file");
        // Mozilla's set has well over a hundred roots; none was read from disk.
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        drop(settings.connector(Duration::from_secs(1)));
    }

    #[test]
    fn an_unreadable_or_empty_bundle_is_refused_at_init() {
        let missing = TlsSettings::from_env(&[(EXTRA_CA_CERTS, "/nonexistent/ca.pem")])
            .err()
            .expect("missing file");
        assert_eq!(missing.variable, EXTRA_CA_CERTS);
        let empty = std::env::temp_dir().join(format!("empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").expect("temp file");
        let path = empty.to_string_lossy().into_owned();
        let refused = TlsSettings::from_env(&[(EXTRA_CA_CERTS, path.as_str())])
            .err()
            .expect("no certificate in it");
        assert!(
            refused.problem.contains("no PEM certificate"),
            "{}",
            refused.problem
        );
        std::fs::remove_file(empty).ok();
    }

    #[test]
    fn a_private_ca_is_added_to_the_compiled_in_roots() {
        // A self-signed CA certificate (tests/fixtures/tls/private-ca.pem, made with
        // `openssl req -x509 -newkey ec`); its key is not kept.
        let bundle = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/tls/private-ca.pem"
        );
        let mut roots = rustls::RootCertStore::empty();
        add_pem_bundle(&mut roots, bundle).expect("a valid CA certificate");
        assert_eq!(roots.len(), 1);
        TlsSettings::from_env(&[(EXTRA_CA_CERTS, bundle)]).expect("accepted at init");
    }
}
