//! One delivery: an HTTP/1.1 POST of an event's body on a connection of its own (over TLS for
//! `https://`, trusting the system's roots), signed, with the answer's status classified.
//! Deliveries are rare, so connections are not pooled.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::rt::{Read, Write};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tracing::{debug, warn};

use super::signature;

/// The header holding the event's id.
pub(crate) const EVENT_HEADER: &str = "x-rapport-event";
/// The header holding the time of signing, in seconds since the Unix epoch.
pub(crate) const TIMESTAMP_HEADER: &str = "x-rapport-timestamp";
/// The header holding `sha256=` and the signature.
pub(crate) const SIGNATURE_HEADER: &str = "x-rapport-signature";

/// How a delivery ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// A 2xx answer: delivered.
    Delivered(StatusCode),
    /// An answer that retrying will not change (a 4xx other than 429, a redirect): given up.
    Refused(StatusCode),
    /// No answer, a 5xx or a 429: worth another try.
    Failed(String),
}

/// Posts events; one per relay, shared by every delivery.
pub(super) struct Poster {
    tls: TlsConnector,
    timeout: Duration,
}

impl Poster {
    /// A poster whose deliveries last at most `timeout` each, trusting the system's roots and
    /// the CA certificates in `extra_ca` (PEM, checked when the relay was configured).
    pub(super) fn new(timeout: Duration, extra_ca: Option<&str>) -> Self {
        Self {
            tls: TlsConnector::from(client_config(extra_ca)),
            timeout,
        }
    }

    /// Posts `body` (event `id`) to `url`, signed with `secret`.
    pub(super) async fn post(&self, url: &str, secret: &str, id: &str, body: &str) -> Outcome {
        match tokio::time::timeout(self.timeout, self.exchange(url, secret, id, body)).await {
            Err(_) => Outcome::Failed(format!("no answer within {:?}", self.timeout)),
            Ok(Err(reason)) => Outcome::Failed(reason),
            Ok(Ok(status)) if status.is_success() => Outcome::Delivered(status),
            Ok(Ok(status))
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS =>
            {
                Outcome::Failed(format!("answered {status}"))
            }
            Ok(Ok(status)) => Outcome::Refused(status),
        }
    }

    async fn exchange(
        &self,
        url: &str,
        secret: &str,
        id: &str,
        body: &str,
    ) -> Result<StatusCode, String> {
        let uri: Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
        let authority = uri.authority().ok_or("the URL has no host")?.clone();
        let https = uri.scheme_str() == Some("https");
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        // `[::1]` in a URL is `::1` to connect to.
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = Request::post(path)
            .header(HOST, authority.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_LENGTH, body.len())
            .header(
                USER_AGENT,
                concat!("rapport-relay/", env!("CARGO_PKG_VERSION")),
            )
            .header(EVENT_HEADER, id)
            .header(TIMESTAMP_HEADER, timestamp)
            .header(
                SIGNATURE_HEADER,
                format!("sha256={}", signature(secret, timestamp, body)),
            )
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        if !https {
            return send(TokioIo::new(tcp), request).await;
        }
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| format!("bad host name for TLS: {e}"))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        send(TokioIo::new(tls), request).await
    }
}

/// Sends `request` on a fresh connection and returns the answer's status (its body unread).
async fn send<T>(io: T, request: Request<Full<Bytes>>) -> Result<StatusCode, String>
where
    T: Read + Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    // The connection runs apart (a failure of it fails the request too), and ends with this
    // delivery, answered or timed out.
    let _driver = AbortOnDrop(tokio::spawn(connection));
    sender
        .send_request(request)
        .await
        .map(|response| response.status())
        .map_err(|e| format!("the request failed: {e}"))
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Adds the certificates of `pem` to `roots`; why not, when one does not read or none is there.
pub(super) fn add_ca_pem(roots: &mut RootCertStore, pem: &str) -> Result<(), String> {
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certificates.is_empty() {
        return Err("no -----BEGIN CERTIFICATE----- section in it".into());
    }
    for certificate in certificates {
        roots.add(certificate).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// TLS for `https://` webhooks: the system's roots and `extra_ca`, ring, HTTP/1.1.
fn client_config(extra_ca: Option<&str>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        warn!(%error, "cannot read some of the system's root certificates");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    debug!(added, ignored, "system root certificates for webhooks");
    if let Some(pem) = extra_ca
        && let Err(reason) = add_ca_pem(&mut roots, pem)
    {
        warn!(%reason, "the CA certificates for webhooks do not read; trusting the system's only");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| {
            // ring supports every default version; this is the same builder on TLS 1.3 alone.
            ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13])
                .unwrap_or_else(|_| unreachable!("ring supports TLS 1.3"))
        });
    let mut config = builder.with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}
