//! TLS on the public listener: the relay's certificate and key, loaded and checked when the relay
//! starts ([`TlsIdentity`]), and one connection's TLS handshake ([`secure`]), which the listener
//! runs on a task of its own within the connection's handshake deadline.
//!
//! rustls with the ring provider, named explicitly rather than taken from the process default, so
//! that what another crate of the process enables cannot change it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use crate::handshake::{Transport, UntilUpgraded};

/// The relay's certificate chain and private key, checked to belong together: what the public
/// listener presents when [`RelayConfig::tls`](crate::RelayConfig::tls) is set.
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<ServerConfig>,
    certificate: PathBuf,
}

/// Why the relay's certificate or key cannot be used. Each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file could not be read.
    #[error("cannot read the TLS certificate file {}: {source}", path.display())]
    ReadCertificate {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The key file could not be read.
    #[error("cannot read the TLS key file {}: {source}", path.display())]
    ReadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The certificate file holds no certificate, or a damaged one.
    #[error("the TLS certificate file {} holds no usable PEM certificate: {reason}", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key file holds no private key, or a damaged one.
    #[error("the TLS key file {} holds no usable PEM private key: {reason}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The certificate and key were read but cannot serve together (the key is not the
    /// certificate's, or one of them is not understood).
    #[error(
        "the TLS key {} cannot serve the certificate {}: {reason}",
        key.display(),
        certificate.display()
    )]
    Unusable {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        reason: String,
    },
}

impl TlsIdentity {
    /// Reads a PEM certificate chain (the relay's certificate first, then any intermediates) and
    /// the PEM private key that goes with it (PKCS#8, PKCS#1 or SEC1), and checks that they
    /// match.
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = read_chain(certificate)?;
        let private_key = read_key(key)?;
        let unusable = |error: rustls::Error| TlsError::Unusable {
            certificate: certificate.to_owned(),
            key: key.to_owned(),
            reason: error.to_string(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(unusable)?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(unusable)?;
        Ok(Self {
            config: Arc::new(config),
            certificate: certificate.to_owned(),
        })
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::ReadCertificate {
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: String| TlsError::BadCertificate {
        path: path.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if chain.is_empty() {
        return Err(bad("no -----BEGIN CERTIFICATE----- section".into()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::ReadKey {
        path: path.to_owned(),
        source,
    })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| TlsError::BadKey {
        path: path.to_owned(),
        reason: match error {
            pem::Error::NoItemsFound => "no -----BEGIN ... PRIVATE KEY----- section".into(),
            other => other.to_string(),
        },
    })
}

/// The first byte of a TLS connection: a handshake record (the ClientHello).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Runs the TLS handshake of one accepted connection, within its handshake deadline (the socket's
/// reads fail once it passes). `None` when it failed: logged, and the connection dropped. A client
/// that speaks plain HTTP (a `ws://` URL) is told so in plain HTTP.
pub(crate) async fn secure(
    acceptor: TlsAcceptor,
    io: UntilUpgraded<TcpStream>,
) -> Option<Transport> {
    let address = io.handshake().address;
    let deadline = io.handshake().deadline;
    let handshake = async {
        let mut first = [0u8; 1];
        if io.tcp().peek(&mut first).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before the TLS handshake",
            ));
        }
        if first[0] != TLS_HANDSHAKE_RECORD {
            if first[0].is_ascii_uppercase() {
                answer_plain_http(io).await;
            }
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a TLS handshake (a plain ws:// or http:// client?)",
            ));
        }
        acceptor.accept(io).await
    };
    let done = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, handshake)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no TLS handshake within the handshake timeout",
                ))
            }),
        None => handshake.await,
    };
    match done {
        Ok(stream) => Some(Transport::Tls(Box::new(stream))),
        Err(error) => {
            debug!(%address, %error, "TLS handshake failed");
            None
        }
    }
}

/// Tells a plain HTTP client, in the relay's JSON error form, that this relay takes `wss://`
/// only. The request is read first and the client's close awaited (bounded by the deadline), so
/// that closing with unread input does not reset the connection before the answer is read.
async fn answer_plain_http(mut io: UntilUpgraded<TcpStream>) {
    let mut request = [0u8; 4096];
    let _ = io.read(&mut request).await;
    let body = r#"{"error":"this relay takes TLS connections only: use a wss:// URL"}"#;
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    if io.write_all(answer.as_bytes()).await.is_err() || io.shutdown().await.is_err() {
        return;
    }
    while matches!(io.read(&mut request).await, Ok(read) if read > 0) {}
}
