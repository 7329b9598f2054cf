//! The relay over TLS: members join and sync over `wss://` when they trust the relay's CA, are
//! refused with a clear reason when they do not, a `ws://` client is told to use `wss://`, and
//! clients that stall or garble their TLS handshake hold up no one. The CA and the relay's
//! certificate are made at test time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rapport_client::link::{self, Indexing, LinkError};
use rapport_model::{Role, Team};
use rapport_relay::{RelayConfig, TlsError, TlsIdentity};
use rapport_store::{REPLICA_FILE, Remote, Replica};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::attacks::closed_after;
use crate::{RunningRelay, SYNC, WAIT, Watcher, add_account};

/// A CA made for the test, and a certificate it issued for the loopback address, as PEM files.
pub(crate) struct TestPki {
    pub(crate) dir: TempDir,
    pub(crate) ca_pem: String,
}

impl TestPki {
    pub(crate) fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Rapport test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "rapport relay");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.path().join("relay.pem"), certificate.pem()).unwrap();
        std::fs::write(dir.path().join("relay.key"), key.serialize_pem()).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Self {
            dir,
            ca_pem: ca.pem(),
        }
    }

    pub(crate) fn certificate(&self) -> PathBuf {
        self.dir.path().join("relay.pem")
    }

    pub(crate) fn key(&self) -> PathBuf {
        self.dir.path().join("relay.key")
    }

    fn identity(&self) -> TlsIdentity {
        TlsIdentity::from_pem_files(&self.certificate(), &self.key()).unwrap()
    }
}

/// A relay serving TLS with `pki`'s certificate; its `url` is the `wss://` one.
async fn tls_relay(dir: &Path, pki: &TestPki, config: RelayConfig) -> RunningRelay {
    let config = RelayConfig {
        tls: Some(pki.identity()),
        ..config
    };
    let mut relay = RunningRelay::start(dir, config).await;
    relay.url = relay.url.replacen("ws://", "wss://", 1);
    relay
}

fn remote(url: &str, token: &str, ca_pem: Option<&str>) -> Remote {
    Remote {
        url: url.to_owned(),
        token: Some(token.to_owned()),
        ca_cert: ca_pem.map(str::to_owned),
    }
}

async fn join_remote(dir: &Path, remote: Remote) -> Result<Replica, LinkError> {
    let joining = link::join_remote(dir, remote, SYNC, Indexing::Now);
    let joined = timeout(WAIT, joining).await.expect("join finishes in time");
    joined.map(|(replica, _)| replica)
}

#[tokio::test]
async fn members_trusting_the_relays_ca_join_and_sync_over_wss() {
    let pki = TestPki::new();
    let dir = TempDir::new().unwrap();
    let relay = tls_relay(dir.path(), &pki, RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Sales, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Support, Role::Member);
    let ana_dir = TempDir::new().unwrap();
    let mut ana = join_remote(
        ana_dir.path(),
        remote(&relay.url, &ana_token, Some(&pki.ca_pem)),
    )
    .await
    .unwrap();
    let account = add_account(&mut ana, "Globex");
    // The CA was kept with the replica's relay: a later sync needs nothing more.
    let stored = ana.remote().unwrap().unwrap();
    assert_eq!(stored.ca_cert.as_deref(), Some(pki.ca_pem.as_str()));
    let (ana, report) = timeout(WAIT, link::sync_once(ana, SYNC))
        .await
        .unwrap()
        .unwrap();
    assert!(report.summary, "the relay answered over TLS as usual");
    let mut watcher = Watcher::start(ana);
    let online = async {
        while let Some(status) = watcher.statuses.recv().await {
            if status == "online" {
                return;
            }
        }
    };
    timeout(WAIT, online)
        .await
        .expect("a live link goes online over wss://");
    let sam_dir = TempDir::new().unwrap();
    let mut sam = join_remote(
        sam_dir.path(),
        remote(&relay.url, &sam_token, Some(&pki.ca_pem)),
    )
    .await
    .unwrap();
    assert_eq!(sam.account(account).unwrap().name, "Globex");
    relay.stop().await;
}

#[tokio::test]
async fn a_client_without_the_ca_is_refused_as_untrusted_and_its_data_is_untouched() {
    let pki = TestPki::new();
    let dir = TempDir::new().unwrap();
    let relay = tls_relay(dir.path(), &pki, RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Sales, Role::Member);

    let stranger_dir = TempDir::new().unwrap();
    let refused = join_remote(stranger_dir.path(), remote(&relay.url, &ana_token, None)).await;
    let error = refused.unwrap_err();
    assert!(
        matches!(error, LinkError::UntrustedCertificate { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("the relay's certificate is not trusted: "),
        "{error}"
    );
    assert!(
        !stranger_dir.path().join(REPLICA_FILE).exists(),
        "a refused join makes no replica"
    );

    let ana_dir = TempDir::new().unwrap();
    let trusted = remote(&relay.url, &ana_token, Some(&pki.ca_pem));
    let mut ana = join_remote(ana_dir.path(), trusted.clone()).await.unwrap();
    let account = add_account(&mut ana, "Initech");
    let untrusting = Remote {
        ca_cert: None,
        ..trusted.clone()
    };
    let synced = timeout(WAIT, link::sync_once_with(ana, Some(untrusting), SYNC))
        .await
        .unwrap();
    assert!(matches!(
        synced,
        Err(LinkError::UntrustedCertificate { .. })
    ));
    let mut ana = Replica::open(ana_dir.path()).unwrap();
    assert_eq!(ana.account(account).unwrap().name, "Initech");
    assert_eq!(
        ana.remote().unwrap(),
        Some(trusted),
        "a failed sync keeps the relay settings"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_plain_ws_client_is_told_to_use_wss_and_the_relay_keeps_serving() {
    let pki = TestPki::new();
    let dir = TempDir::new().unwrap();
    let relay = tls_relay(dir.path(), &pki, RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Sales, Role::Member);
    let plain_url = relay.url.replacen("wss://", "ws://", 1);
    let plain_dir = TempDir::new().unwrap();
    let refused = join_remote(plain_dir.path(), remote(&plain_url, &ana_token, None)).await;
    let error = refused.unwrap_err().to_string();
    assert!(error.contains("use a wss:// URL"), "{error}");

    let ana_dir = TempDir::new().unwrap();
    let trusted = remote(&relay.url, &ana_token, Some(&pki.ca_pem));
    join_remote(ana_dir.path(), trusted).await.unwrap();
    relay.stop().await;
}

#[tokio::test]
async fn a_wss_client_of_a_plain_relay_is_told_the_handshake_failed() {
    let pki = TestPki::new();
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Sales, Role::Member);
    let tls_url = relay.url.replacen("ws://", "wss://", 1);
    let client_dir = TempDir::new().unwrap();
    let refused = join_remote(
        client_dir.path(),
        remote(&tls_url, &ana_token, Some(&pki.ca_pem)),
    )
    .await;
    let error = refused.unwrap_err().to_string();
    assert!(error.contains("TLS handshake failed"), "{error}");
    relay.stop().await;
}

/// The first bytes of a TLS ClientHello record, which then never goes on.
const STALLED_CLIENT_HELLO: &[u8] = &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];

/// A TLS record header followed by bytes that are no handshake at all.
const GARBAGE_RECORD: &[u8] = &[
    0x16, 0x03, 0x03, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0,
];

#[tokio::test]
async fn stalled_and_garbled_tls_handshakes_hold_up_no_other_client() {
    let pki = TestPki::new();
    let dir = TempDir::new().unwrap();
    // A deadline far longer than the join may take: if a stalled handshake held up the accept
    // loop, the join would wait for it.
    let config = RelayConfig {
        handshake_timeout: Duration::from_secs(60),
        ..RelayConfig::default()
    };
    let relay = tls_relay(dir.path(), &pki, config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Sales, Role::Member);
    let _silent = TcpStream::connect(relay.address).await.unwrap();
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(relay.address).await.unwrap();
        stream.write_all(STALLED_CLIENT_HELLO).await.unwrap();
        stalled.push(stream);
    }
    let mut garbled = TcpStream::connect(relay.address).await.unwrap();
    garbled.write_all(GARBAGE_RECORD).await.unwrap();

    let ana_dir = TempDir::new().unwrap();
    let trusted = remote(&relay.url, &ana_token, Some(&pki.ca_pem));
    let joining = join_remote(ana_dir.path(), trusted);
    timeout(Duration::from_secs(15), joining)
        .await
        .expect("the join is not held up by the stalled handshakes")
        .unwrap();
    let dropped = closed_after(&mut garbled, Instant::now()).await;
    assert!(
        dropped < WAIT,
        "a garbled handshake ends its connection only"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_stalled_tls_handshake_is_closed_at_the_handshake_deadline() {
    const DEADLINE: Duration = Duration::from_millis(500);
    let pki = TestPki::new();
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        handshake_timeout: DEADLINE,
        ..RelayConfig::default()
    };
    let relay = tls_relay(dir.path(), &pki, config).await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(relay.address).await.unwrap();
    let mut stalled = TcpStream::connect(relay.address).await.unwrap();
    stalled.write_all(STALLED_CLIENT_HELLO).await.unwrap();
    for stream in [&mut silent, &mut stalled] {
        let closed = closed_after(stream, started).await;
        assert!(
            closed >= DEADLINE && closed < DEADLINE * 8,
            "closed after {closed:?}"
        );
    }
    relay.stop().await;
}

#[test]
fn unusable_certificate_or_key_files_are_refused_naming_the_file() {
    let pki = TestPki::new();
    let missing = pki.dir.path().join("missing.pem");
    let error = TlsIdentity::from_pem_files(&missing, &pki.key()).unwrap_err();
    assert!(matches!(error, TlsError::ReadCertificate { .. }), "{error}");
    assert!(error.to_string().contains("missing.pem"), "{error}");

    // A key given as the certificate, and the certificate as the key.
    let error = TlsIdentity::from_pem_files(&pki.key(), &pki.key()).unwrap_err();
    assert!(matches!(error, TlsError::BadCertificate { .. }), "{error}");
    assert!(error.to_string().contains("relay.key"), "{error}");
    let error = TlsIdentity::from_pem_files(&pki.certificate(), &pki.certificate()).unwrap_err();
    assert!(matches!(error, TlsError::BadKey { .. }), "{error}");
    assert!(error.to_string().contains("relay.pem"), "{error}");

    // Another certificate's key.
    let other = TestPki::new();
    let error = TlsIdentity::from_pem_files(&pki.certificate(), &other.key()).unwrap_err();
    assert!(matches!(error, TlsError::Unusable { .. }), "{error}");
}
