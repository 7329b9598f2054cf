//! Webhooks as a receiver meets them: a real HTTP server on loopback, alerts written through
//! real client replicas, the relay stopped and reopened on its data directory.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{KeyInit, Mac};
use rapport_client::link;
use rapport_model::account;
use rapport_model::{DocumentId, Role, Team};
use rapport_proto::{ADMIN_FILE, AdminEndpoint, AdminRequest, AdminResponse};
use rapport_proto::{WebhookSecret, WebhookUrl};
use rapport_relay::webhooks::WebhookConfig;
use rapport_relay::{Relay, RelayConfig, admin};
use rapport_store::{RelayStore, Replica};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::tls::TestPki;
use crate::{RunningRelay, WAIT, add_account, add_note, join, sync};

const SECRET: &str = "whsec-0123456789-abcdefghij";

/// How long a test waits to be sure that nothing more is posted.
const QUIET: Duration = Duration::from_millis(1500);

/// One request the receiver got.
struct Post {
    headers: HeaderMap,
    body: String,
}

/// An HTTP server on loopback that records every POST and answers the statuses it is given,
/// then 200.
struct Receiver {
    url: String,
    posts: mpsc::UnboundedReceiver<Post>,
    task: JoinHandle<()>,
}

struct Shared {
    posts: mpsc::UnboundedSender<Post>,
    answers: Mutex<VecDeque<StatusCode>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> Self {
        let (sender, posts) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            posts: sender,
            answers: Mutex::new(
                answers
                    .iter()
                    .map(|s| StatusCode::from_u16(*s).unwrap())
                    .collect(),
            ),
        });
        let app = Router::new()
            .route("/hooks/rapport", post(receive))
            .with_state(shared);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/rapport", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, posts, task }
    }

    async fn next(&mut self) -> Post {
        timeout(WAIT, self.posts.recv())
            .await
            .expect("the relay posts the event in time")
            .unwrap()
    }

    async fn assert_quiet(&mut self) {
        if let Ok(Some(post)) = timeout(QUIET, self.posts.recv()).await {
            panic!("nothing more is posted, but got {}", post.body);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let answer = shared
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(StatusCode::OK);
    let _ = shared.posts.send(Post { headers, body });
    answer
}

fn header<'a>(post: &'a Post, name: &str) -> &'a str {
    post.headers
        .get(name)
        .unwrap_or_else(|| panic!("the request has {name}"))
        .to_str()
        .unwrap()
}

/// Checks the signature as a receiver following docs/protocol.md would, and returns the body.
fn verified(post: &Post, secret: &str) -> Value {
    assert_eq!(header(post, "content-type"), "application/json");
    let timestamp = header(post, "x-rapport-timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(timestamp.parse::<u64>().unwrap()) < 60);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", post.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        header(post, "x-rapport-signature"),
        format!("sha256={expected}")
    );
    let body: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(header(post, "x-rapport-event"), body["id"]);
    body
}

/// Retries within a test's patience.
fn fast_retries() -> RelayConfig {
    RelayConfig {
        webhooks: WebhookConfig {
            timeout: Duration::from_secs(5),
            first_retry: Duration::from_millis(200),
            longest_retry: Duration::from_secs(1),
            ..WebhookConfig::default()
        },
        ..RelayConfig::default()
    }
}

/// Waits until `check` holds of the relay's store: a new account's events are recorded once
/// the relay has checked the pushed document, a moment after the push was answered, and an
/// event is marked delivered a moment after its receiver has it.
async fn until_store(relay: &RunningRelay, check: impl Fn(&RelayStore) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check(relay.hubs.store()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox never got there"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn set_webhook(relay: &RunningRelay, workspace: &str, url: &str) {
    admin::set_webhook(&relay.hubs, workspace, url, SECRET).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_with_an_alert_is_posted_once_signed_and_a_note_without_one_is_not() {
    let mut receiver = Receiver::start(&[]).await;
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), fast_retries()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    set_webhook(&relay, "Acme", &receiver.url);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(
        &mut ana,
        globex,
        "customer asked about enterprise",
        &["sales", "@ana"],
    );
    let mut ana = sync(ana).await;

    let post = receiver.next().await;
    let body = verified(&post, SECRET);
    let entry = &body["entry"];
    let workspace_id = ana.workspace().unwrap().id.to_string();
    assert_eq!(body["event"], "alert");
    assert_eq!(
        body["id"],
        format!("{workspace_id}/{globex}/{}", entry["id"].as_str().unwrap())
    );
    assert_eq!(body["workspace"]["name"], "Acme");
    assert_eq!(body["workspace"]["id"], workspace_id);
    assert_eq!(body["account"]["id"], globex.to_string());
    assert_eq!(body["account"]["name"], "Globex");
    assert_eq!(entry["kind"], "note");
    assert_eq!(entry["team"], "support");
    assert_eq!(entry["author"], "ana");
    assert_eq!(entry["text"], "customer asked about enterprise");
    assert_eq!(entry["alert"], serde_json::json!(["sales", "@ana"]));
    assert!(entry["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["recipients"],
        serde_json::json!([]),
        "no member of sales, and the author is never alerted by their own note"
    );

    add_note(&mut ana, globex, "a quiet note", &[]);
    let _ana = sync(ana).await;
    receiver.assert_quiet().await;
    relay.stop().await;
}

/// Writes into document `id` of the relay's copy of `workspace` what a foreign peer might.
fn write_foreign(
    relay: &RunningRelay,
    workspace: DocumentId,
    id: DocumentId,
    write: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
) {
    let hub = relay.hubs.hub(workspace).unwrap();
    let written = hub.update(id, false, |doc| {
        let mut tx = doc.transaction();
        write(&mut tx);
        tx.commit();
    });
    written.unwrap().expect("the relay holds the document");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_and_an_account_in_a_foreign_shape_still_post_alert_lists_and_stop_nothing() {
    let mut receiver = Receiver::start(&[]).await;
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), fast_retries()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    set_webhook(&relay, "Acme", &receiver.url);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    let mut ana = sync(ana).await;
    let workspace = ana.workspace_id();

    // A member whose team does not read makes the member list unreadable; an owner that is a
    // list is not a name.
    write_foreign(&relay, workspace, workspace, |tx| {
        let (_, members) = tx.get(ROOT, "members").unwrap().unwrap();
        let zed = tx.put_object(&members, "zed", ObjType::Map).unwrap();
        tx.put(&zed, "team", "pirates").unwrap();
    });
    write_foreign(&relay, workspace, globex, |tx| {
        tx.put_object(ROOT, "owner", ObjType::List).unwrap();
    });
    // Written before ana's replica hears of either.
    add_note(&mut ana, globex, "@bo a mention of whom, now?", &[]);
    add_note(&mut ana, globex, "an alert list still counts", &["sales"]);
    let _ana = sync(ana).await;

    let body = verified(&receiver.next().await, SECRET);
    assert_eq!(body["entry"]["text"], "an alert list still counts");
    assert_eq!(
        body["recipients"],
        serde_json::json!([]),
        "whom the workspace alerts is unknown"
    );
    receiver.assert_quiet().await;
    // The relay serves on: another member joins and gets every entry (read from the document
    // itself: its account view refuses the foreign owner).
    let (_bo_dir, mut bo) = join(&relay, &bo_token).await;
    let doc = automerge::Automerge::load(&bo.document_bytes(globex).unwrap()).unwrap();
    let mut texts: Vec<String> = account::entries_added(&doc, &[])
        .unwrap()
        .into_iter()
        .map(|id| account::read_entry(&doc, id).unwrap().unwrap().text)
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        ["@bo a mention of whom, now?", "an alert list still counts"]
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_entry_brought_again_by_a_copy_of_the_replica_posts_nothing_new() {
    let mut receiver = Receiver::start(&[]).await;
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), fast_retries()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    set_webhook(&relay, "Acme", &receiver.url);
    let (ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "written once, held twice", &["sales"]);
    // A second replica holding the same unsynced entry: a copy of the first.
    drop(ana);
    let copy_dir = TempDir::new().unwrap();
    for file in std::fs::read_dir(ana_dir.path()).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), copy_dir.path().join(file.file_name())).unwrap();
    }
    let ana = Replica::open(ana_dir.path()).unwrap();
    let copy = Replica::open(copy_dir.path()).unwrap();

    let _ana = sync(ana).await;
    let body = verified(&receiver.next().await, SECRET);
    assert_eq!(body["entry"]["text"], "written once, held twice");
    let mut copy = sync(copy).await;
    assert_eq!(
        copy.unsynced().unwrap(),
        [],
        "the relay confirmed the copy's changes"
    );
    // A member syncing what they already have, once more.
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let _sam = sync(sam).await;
    add_note(&mut copy, globex, "unrelated", &[]);
    let _copy = sync(copy).await;
    receiver.assert_quiet().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_500_gets_the_event_again_until_it_answers_200() {
    let mut receiver = Receiver::start(&[500, 503]).await;
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), fast_retries()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    set_webhook(&relay, "Acme", &receiver.url);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "try until it lands", &["marketing"]);
    let _ana = sync(ana).await;

    let tries = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ];
    let ids: Vec<Value> = tries
        .iter()
        .map(|p| verified(p, SECRET)["id"].clone())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "the same event: {ids:?}"
    );
    receiver.assert_quiet().await;
    let shown = admin::show_webhook(&relay.hubs, "Acme").unwrap().unwrap();
    assert_eq!(shown.pending, 0, "delivered, so no longer in the outbox");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_refusing_with_400_is_not_asked_again() {
    let mut receiver = Receiver::start(&[400]).await;
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), fast_retries()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    set_webhook(&relay, "Acme", &receiver.url);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "refused", &["sales"]);
    let _ana = sync(ana).await;
    verified(&receiver.next().await, SECRET);
    receiver.assert_quiet().await;
    assert_eq!(
        admin::show_webhook(&relay.hubs, "Acme")
            .unwrap()
            .unwrap()
            .pending,
        0
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_undelivered_when_the_relay_stops_is_delivered_after_it_reopens() {
    // Nothing listens here: every try fails to connect.
    let unreachable = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hooks/rapport", listener.local_addr().unwrap())
    };
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), fast_retries()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    set_webhook(&relay, "Acme", &unreachable);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "kept in the outbox", &["sales"]);
    let _ana = sync(ana).await;
    until_store(&relay, |store| {
        store
            .due_events(u64::MAX, 10)
            .unwrap()
            .due
            .first()
            .is_some_and(|event| event.attempts >= 1)
    })
    .await;
    relay.stop().await;

    let store = RelayStore::open(dir.path()).unwrap();
    let workspace = store.workspace_named("Acme").unwrap().unwrap();
    assert_eq!(store.outbox_len(workspace).unwrap(), 1);
    assert!(store.due_events(u64::MAX, 10).unwrap().due[0].attempts >= 1);
    drop(store);

    // Reopened on the same directory, with the webhook moved to a receiver that answers.
    let mut receiver = Receiver::start(&[]).await;
    let reopened = Relay::open(dir.path(), fast_retries()).unwrap();
    admin::set_webhook(reopened.hubs(), "Acme", &receiver.url, SECRET).unwrap();
    let relay = RunningRelay::serve(reopened, "127.0.0.1:0").await;
    let body = verified(&receiver.next().await, SECRET);
    assert_eq!(body["entry"]["text"], "kept in the outbox");
    receiver.assert_quiet().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_workspace_with_a_webhook_has_its_alerts_posted() {
    let mut receiver = Receiver::start(&[]).await;
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), fast_retries()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let ivy_token = relay.invite("Initech", "ivy", Team::Support, Role::Member);
    set_webhook(&relay, "Acme", &receiver.url);
    let (_ivy_dir, mut ivy) = join(&relay, &ivy_token).await;
    let hooli = add_account(&mut ivy, "Hooli");
    add_note(&mut ivy, hooli, "Initech's alert", &["sales"]);
    let _ivy = sync(ivy).await;
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "Acme's alert", &["sales"]);
    let _ana = sync(ana).await;

    let body = verified(&receiver.next().await, SECRET);
    assert_eq!(body["entry"]["text"], "Acme's alert");
    receiver.assert_quiet().await;

    // Cleared: Acme's next alert goes nowhere either.
    assert_eq!(admin::clear_webhook(&relay.hubs, "Acme").unwrap(), Some(0));
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    add_note(
        &mut ana,
        globex,
        "after the webhook was cleared",
        &["sales"],
    );
    let _ana = sync(ana).await;
    receiver.assert_quiet().await;
    relay.stop().await;
}

/// An HTTPS server on loopback with `pki`'s certificate that answers every request 200 and
/// hands it over: a plain HTTP/1.1 reader over the TLS stream.
async fn https_receiver(pki: &TestPki) -> Receiver {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let chain = CertificateDer::pem_file_iter(pki.certificate())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(pki.key()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/hooks/rapport", listener.local_addr().unwrap());
    let (sender, posts) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut reader = BufReader::new(tls);
            let mut headers = HeaderMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            assert!(line.starts_with("POST /hooks/rapport HTTP/1.1"), "{line}");
            loop {
                line.clear();
                reader.read_line(&mut line).await.unwrap();
                let Some((name, value)) = line.trim_end().split_once(':') else {
                    break;
                };
                headers.insert(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.trim().parse().unwrap(),
                );
            }
            let length: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
            let mut body = vec![0; length];
            reader.read_exact(&mut body).await.unwrap();
            let mut tls = reader.into_inner();
            tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            let _ = tls.shutdown().await;
            let body = String::from_utf8(body).unwrap();
            let _ = sender.send(Post { headers, body });
        }
    });
    Receiver { url, posts, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_webhook_is_posted_over_tls_to_a_receiver_the_relay_trusts_and_no_other() {
    let pki = TestPki::new();
    let mut trusted = https_receiver(&pki).await;
    let dir = TempDir::new().unwrap();
    let mut config = fast_retries();
    config.webhooks.extra_ca_pem = Some(pki.ca_pem.clone());
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    set_webhook(&relay, "Acme", &trusted.url);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "over TLS", &["sales"]);
    let mut ana = sync(ana).await;
    let body = verified(&trusted.next().await, SECRET);
    assert_eq!(body["entry"]["text"], "over TLS");
    let workspace = ana.workspace_id();
    until_store(&relay, |store| store.outbox_len(workspace).unwrap() == 0).await;
    let address = relay.address.to_string();
    relay.stop().await;

    // A relay that does not trust the receiver's CA never delivers to it: its tries fail at
    // the handshake and the event waits in the outbox.
    let relay = RunningRelay::start_on(dir.path(), fast_retries(), &address).await;
    add_note(&mut ana, globex, "to an untrusted receiver", &["sales"]);
    let _ana = sync(ana).await;
    trusted.assert_quiet().await;
    let waiting = admin::show_webhook(&relay.hubs, "Acme").unwrap().unwrap();
    assert_eq!(waiting.pending, 1);
    relay.stop().await;
}

#[test]
fn a_ca_file_for_webhooks_that_holds_no_certificate_is_refused() {
    use rapport_relay::webhooks::check_ca_pem;
    assert!(check_ca_pem(&TestPki::new().ca_pem).is_ok());
    assert!(check_ca_pem("not a certificate").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_url_or_a_short_secret_is_refused_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    relay.invite("Acme", "ana", Team::Support, Role::Member);
    for (url, secret) in [
        ("ftp://example.com/hook", SECRET),
        ("https://user:password@example.com/hook", SECRET),
        ("http://127.0.0.1:9/hook", "short"),
    ] {
        assert!(admin::set_webhook(&relay.hubs, "Acme", url, secret).is_err());
    }
    assert!(admin::set_webhook(&relay.hubs, "Nobody", "http://127.0.0.1:9/", SECRET).is_err());
    assert!(admin::show_webhook(&relay.hubs, "Acme").unwrap().is_none());
    relay.stop().await;
}

/// Every log line of the process, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_never_appears_in_the_relays_logs() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .expect("no other test of this binary installs a subscriber");

    let mut receiver = Receiver::start(&[500]).await;
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), fast_retries()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    // Through the running relay's admin endpoint, which logs every request.
    let endpoint: AdminEndpoint =
        serde_json::from_slice(&std::fs::read(dir.path().join(ADMIN_FILE)).unwrap()).unwrap();
    let request = AdminRequest::SetWebhook {
        workspace: "Acme".into(),
        url: WebhookUrl(format!("{}?key={SECRET}x", receiver.url)),
        secret: WebhookSecret(SECRET.into()),
    };
    let answer = link::admin(&endpoint, &request).await.unwrap();
    let AdminResponse::Webhook {
        webhook: Some(shown),
        ..
    } = answer
    else {
        panic!("the webhook is set: {answer:?}");
    };
    assert_eq!(shown.secret_sha256.len(), 16);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "logged carefully", &["sales"]);
    let _ana = sync(ana).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(
        verified(&first, SECRET)["id"],
        verified(&second, SECRET)["id"]
    );
    let show = AdminRequest::ShowWebhook {
        workspace: "Acme".into(),
    };
    link::admin(&endpoint, &show).await.unwrap();
    relay.stop().await;

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("admin request"), "the capture works: {logs}");
    assert!(logs.contains("webhook event delivered"), "{logs}");
    assert!(!logs.contains(SECRET), "the secret is in the logs");
}
