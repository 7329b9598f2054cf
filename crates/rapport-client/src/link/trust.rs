//! Which relays a `wss://` link trusts, and what it says when one is not.
//!
//! The roots are the machine's own (rustls-native-certs): a company CA that IT installed on the
//! machine is trusted as the browser trusts it, and a root the system removes stops being trusted
//! here too, which a list compiled into the binary (webpki-roots) could not do. A member can add
//! one more CA for their relay ([`Remote::ca_cert`](rapport_store::Remote)): the way to reach a
//! relay with a self-signed or private-CA certificate without touching the system's store.
//! rustls with the ring provider, named explicitly rather than taken from the process default.

use std::io;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tracing::{debug, warn};

use super::LinkError;

/// The TLS settings of links to one relay: the system's roots plus `extra_ca` (PEM) when given.
/// Reads the system's certificate store: call it off the async threads.
pub(super) fn client_config(extra_ca: Option<&str>) -> Result<Arc<ClientConfig>, LinkError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        warn!(%error, "cannot read some of the system's root certificates");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    debug!(added, ignored, "system root certificates");
    if let Some(pem) = extra_ca {
        add_ca_certificates(&mut roots, pem)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LinkError::BadCaCertificate {
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Checks that `pem` holds at least one certificate that can serve as a trust anchor, before it
/// is kept with a replica's relay.
pub fn check_ca_certificate(pem: &str) -> Result<(), LinkError> {
    add_ca_certificates(&mut RootCertStore::empty(), pem)
}

/// Adds every certificate of `pem` to `roots` as a trust anchor.
fn add_ca_certificates(roots: &mut RootCertStore, pem: &str) -> Result<(), LinkError> {
    for certificate in ca_certificates(pem)? {
        roots
            .add(certificate)
            .map_err(|e| LinkError::BadCaCertificate {
                reason: e.to_string(),
            })?;
    }
    Ok(())
}

fn ca_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, LinkError> {
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LinkError::BadCaCertificate {
            reason: e.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(LinkError::BadCaCertificate {
            reason: "no -----BEGIN CERTIFICATE----- section in it".into(),
        });
    }
    Ok(certificates)
}

/// What a failed connection to `url` means, when TLS is why: a certificate that does not verify
/// is [`LinkError::UntrustedCertificate`]; any other TLS failure says that the handshake failed
/// (most often a `wss://` URL for a relay that serves plain `ws://`).
pub(super) fn connect_failure(url: &str, error: io::Error) -> LinkError {
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let reason = match tls {
        Some(rustls::Error::InvalidCertificate(certificate)) => {
            return LinkError::UntrustedCertificate {
                url: url.to_owned(),
                reason: describe(certificate),
            };
        }
        Some(rustls::Error::InvalidMessage(_)) if url.starts_with("wss://") => format!(
            "TLS handshake failed ({error}); does the relay serve plain ws:// rather than wss://?"
        ),
        Some(other) => format!("TLS handshake failed: {other}"),
        None => error.to_string(),
    };
    LinkError::Unreachable {
        url: url.to_owned(),
        reason,
    }
}

/// rustls words the common cases well, except these (it shows them by their names).
fn describe(error: &CertificateError) -> String {
    match error {
        CertificateError::UnknownIssuer => {
            "it is issued by a certificate authority this machine does not trust".into()
        }
        CertificateError::BadSignature => "its signature does not verify".into(),
        CertificateError::Revoked => "it has been revoked".into(),
        // webpki's error comes through as text only; this one is what `openssl req -x509`
        // makes by default, so it is worth saying what to do instead.
        CertificateError::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
            "it is a CA certificate (CA:TRUE) used as the relay's own; have a CA issue the relay a certificate of its own".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let error = check_ca_certificate("not a certificate\n").unwrap_err();
        assert!(error.to_string().contains("no -----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn a_ca_file_with_a_damaged_certificate_is_refused() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            check_ca_certificate(pem),
            Err(LinkError::BadCaCertificate { .. })
        ));
    }
}
