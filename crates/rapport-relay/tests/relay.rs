//! The relay as its members meet it: a real relay on a loopback port over a redb store in a
//! temporary directory, real replicas joined through the real client link, and raw websockets
//! for what a well-behaved client never sends. Every wait is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use automerge::Automerge;
use automerge::sync::{self as automerge_sync, SyncDoc};
use futures_util::{SinkExt, StreamExt};
use rapport_client::link::{self, LinkError, LinkEvent};
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{DocumentId, Edit, EntryId, EntryKind, Role, Team};
use rapport_proto::{
    DocMessage, Join, Message, PROTOCOL_V1, PeerId, PeerMetadata, WireDocumentId, decode, encode,
};
use rapport_relay::hub::Hubs;
use rapport_relay::{Relay, RelayConfig, RelayError, admin};
use rapport_store::Replica;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long the client link may take to settle one sync.
const SYNC: Duration = Duration::from_secs(10);
/// How long any single wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);
/// How soon a live change must reach a watching member.
const LIVE: Duration = Duration::from_secs(5);

/// A relay serving on loopback ports until it is stopped (or dropped).
struct RunningRelay {
    url: String,
    address: SocketAddr,
    hubs: Arc<Hubs>,
    stop: oneshot::Sender<()>,
    served: JoinHandle<Result<(), RelayError>>,
}

impl RunningRelay {
    async fn start(dir: &Path, config: RelayConfig) -> Self {
        Self::start_on(dir, config, "127.0.0.1:0").await
    }

    /// [`RunningRelay::start`] on a given address (to come back where clients look for it).
    async fn start_on(dir: &Path, config: RelayConfig, address: &str) -> Self {
        let relay = Relay::open(dir, config).unwrap();
        let hubs = relay.hubs().clone();
        let public = TcpListener::bind(address).await.unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = public.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let signal = async move {
            // A dropped sender stops the relay too.
            let _ = stopped.await;
        };
        let served = tokio::spawn(relay.serve(public, admin, signal));
        Self {
            url: format!("ws://{address}/"),
            address,
            hubs,
            stop,
            served,
        }
    }

    /// Invites `user` to workspace `workspace` (creating it on first use); returns the token.
    fn invite(&self, workspace: &str, user: &str, team: Team, role: Role) -> String {
        admin::invite(&self.hubs, workspace, user.parse().unwrap(), team, role)
            .unwrap()
            .token
    }

    /// Signals shutdown and waits for `serve` to return, releasing the store.
    async fn stop(self) {
        let Self {
            hubs, stop, served, ..
        } = self;
        drop(hubs);
        let _ = stop.send(());
        timeout(WAIT, served)
            .await
            .expect("the relay stops within its grace period")
            .unwrap()
            .unwrap();
    }
}

/// A new replica of the workspace `token` belongs to, joined through the client link.
async fn join(relay: &RunningRelay, token: &str) -> (TempDir, Replica) {
    let dir = TempDir::new().unwrap();
    let (replica, _) = timeout(WAIT, link::join(dir.path(), &relay.url, token, SYNC))
        .await
        .expect("join finishes in time")
        .unwrap();
    (dir, replica)
}

/// Syncs `replica` with its relay until both hold the same.
async fn sync(replica: Replica) -> Replica {
    timeout(WAIT, link::sync_once(replica, SYNC))
        .await
        .expect("sync finishes in time")
        .unwrap()
        .0
}

fn add_account(replica: &mut Replica, name: &str) -> DocumentId {
    let edit = replica.edit_now();
    let new = NewAccount {
        name: name.into(),
        ..NewAccount::default()
    };
    replica.create_account(&edit, &new).unwrap()
}

fn note(text: &str, alert: &[&str]) -> NewEntry {
    NewEntry {
        kind: EntryKind::Note,
        text: text.into(),
        alert: alert.iter().map(|a| a.parse().unwrap()).collect(),
    }
}

fn add_note(replica: &mut Replica, account: DocumentId, text: &str, alert: &[&str]) {
    let edit = replica.edit_now();
    let entry = note(text, alert);
    replica
        .change_account(account, &edit, |tx| {
            account::add_entry(tx, &edit, EntryId::new(), &entry)
        })
        .unwrap();
}

/// Whether `text` is one of `texts`.
fn has(texts: &[String], text: &str) -> bool {
    texts.iter().any(|t| t == text)
}

/// The texts of an account's timeline.
fn timeline(replica: &mut Replica, account: DocumentId) -> Vec<String> {
    let view = replica.account(account).unwrap();
    view.timeline.into_iter().map(|entry| entry.text).collect()
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn request(url: &str, token: Option<&str>) -> Request {
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    request
}

/// A websocket to the relay that speaks only when the test says so.
async fn connect_raw(relay: &RunningRelay, token: &str) -> Socket {
    let connecting = tokio_tungstenite::connect_async(request(&relay.url, Some(token)));
    let (socket, _) = timeout(WAIT, connecting)
        .await
        .expect("the relay accepts in time")
        .unwrap();
    socket
}

/// The HTTP status the relay turns a connection away with, before any upgrade.
async fn refusal(url: &str, token: Option<&str>) -> StatusCode {
    let connecting = tokio_tungstenite::connect_async(request(url, token));
    match timeout(WAIT, connecting)
        .await
        .expect("the relay answers in time")
    {
        Err(tungstenite::Error::Http(response)) => response.status(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the relay upgraded a connection it should have refused"),
    }
}

async fn send(socket: &mut Socket, message: &Message) {
    socket
        .send(Frame::Binary(encode(message).into()))
        .await
        .unwrap();
}

/// The next protocol message from the relay; `None` once it closed.
async fn receive(socket: &mut Socket) -> Option<Message> {
    let next = async {
        while let Some(frame) = socket.next().await {
            match frame.unwrap() {
                Frame::Binary(bytes) => return Some(decode(&bytes).unwrap()),
                Frame::Close(_) => return None,
                Frame::Text(text) => panic!("the relay sent a text frame: {text}"),
                Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => {}
            }
        }
        None
    };
    timeout(WAIT, next)
        .await
        .expect("the relay says something in time")
}

/// Sends `join`; returns the relay's peer id from its `peer` answer.
async fn handshake(socket: &mut Socket, me: &PeerId) -> PeerId {
    let join = Message::Join(Join {
        sender_id: me.clone(),
        supported_protocol_versions: vec![PROTOCOL_V1.into()],
        peer_metadata: PeerMetadata::default(),
    });
    send(socket, &join).await;
    match receive(socket).await {
        Some(Message::Peer(peer)) => peer.sender_id,
        other => panic!("expected a peer message, got {other:?}"),
    }
}

/// The `error` message the relay sends before it closes the connection with a close frame.
async fn error_then_close(socket: &mut Socket) -> String {
    let error = match receive(socket).await {
        Some(Message::Error { message }) => message,
        other => panic!("expected an error message, got {other:?}"),
    };
    let closing = async {
        loop {
            match socket.next().await {
                Some(Ok(Frame::Close(_))) => return,
                Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => {}
                other => panic!("expected a close frame after the error, got {other:?}"),
            }
        }
    };
    timeout(WAIT, closing)
        .await
        .expect("the relay closes in time");
    error
}

fn doc_message(
    me: &PeerId,
    relay: &PeerId,
    id: impl Into<WireDocumentId>,
    data: &[u8],
) -> DocMessage {
    DocMessage {
        sender_id: me.clone(),
        target_id: relay.clone(),
        document_id: id.into(),
        data: data.to_vec(),
    }
}

/// The first Automerge sync message of a peer holding nothing: what a `request` carries.
fn empty_document_sync() -> Vec<u8> {
    let mut state = automerge_sync::State::new();
    Automerge::new()
        .generate_sync_message(&mut state)
        .unwrap()
        .encode()
}

/// An Automerge sync message that carries a new note on the account `saved` holds, pushed
/// without waiting to be asked, as only a client ignoring the relay's read-only flag would.
fn pushed_note(saved: &[u8], text: &str, author: &str, team: Team) -> Vec<u8> {
    let mut doc = Automerge::load(saved).unwrap();
    let before = doc.get_heads();
    let edit = Edit::now(author.parse().unwrap(), team);
    let entry = note(text, &[]);
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| account::add_entry(tx, &edit, EntryId::new(), &entry),
    )
    .map_err(|failure| failure.error)
    .unwrap();
    let message = automerge_sync::Message {
        heads: doc.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: doc.save_after(&before).into(),
        flags: None,
        version: automerge_sync::MessageVersion::V1,
    };
    message.encode()
}

/// A replica kept live by `link::watch`, its alerts and statuses forwarded to channels.
struct Watcher {
    alerts: mpsc::UnboundedReceiver<String>,
    statuses: mpsc::UnboundedReceiver<String>,
    task: JoinHandle<Result<(), LinkError>>,
}

impl Watcher {
    fn start(replica: Replica) -> Self {
        let (alert_sender, alerts) = mpsc::unbounded_channel();
        let (status_sender, statuses) = mpsc::unbounded_channel();
        let task = tokio::spawn(link::watch(replica, move |event| match event {
            LinkEvent::Alert(alert) => {
                let _ = alert_sender.send(alert.text.clone());
            }
            LinkEvent::Status(status) => {
                let _ = status_sender.send(status.state.as_str().to_owned());
            }
            LinkEvent::Changed(_) | LinkEvent::Indexed { .. } => {}
        }));
        Self {
            alerts,
            statuses,
            task,
        }
    }

    /// The text of the next alert, which must arrive within `within`.
    async fn next_alert(&mut self, within: Duration) -> String {
        timeout(within, self.alerts.recv())
            .await
            .expect("the alert arrives in time")
            .expect("the watcher is still running")
    }

    /// Checks the link connected once and never lost its connection, so that what arrived
    /// was pushed on that one connection.
    fn assert_connected_throughout(&mut self) {
        let mut statuses = Vec::new();
        while let Ok(status) = self.statuses.try_recv() {
            statuses.push(status);
        }
        assert!(!statuses.is_empty(), "the link connected");
        assert!(
            statuses.iter().all(|s| s != "offline"),
            "the link stayed connected: {statuses:?}"
        );
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_missing_tokens_get_401_while_a_member_keeps_syncing() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "asked for a quote", &[]);
    let mut ana = sync(ana).await;

    let (ana_id, _) = ana_token.rsplit_once('_').unwrap();
    let wrong_secret = format!("{ana_id}_notthesecret");
    for token in [wrong_secret.as_str(), "rpt_unknown_secret", "not a token"] {
        let status = refusal(&relay.url, Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}");
    }
    assert_eq!(refusal(&relay.url, None).await, StatusCode::UNAUTHORIZED);
    let in_query = format!("{}?token={wrong_secret}", relay.url);
    assert_eq!(refusal(&in_query, None).await, StatusCode::UNAUTHORIZED);

    let (_bo_dir, mut bo) = join(&relay, &bo_token).await;
    assert_eq!(timeline(&mut bo, globex), ["asked for a quote"]);
    add_note(&mut ana, globex, "quote sent", &[]);
    let _ana = sync(ana).await;
    let mut bo = sync(bo).await;
    let seen = timeline(&mut bo, globex);
    assert!(has(&seen, "quote sent"), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workspaces_documents_are_unavailable_and_never_reach_its_replicas() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bob_token = relay.invite("Initech", "bob", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "only for acme", &[]);
    let ana = sync(ana).await;
    let acme = ana.workspace_id();
    let (_bob_dir, bob) = join(&relay, &bob_token).await;

    let mut raw = connect_raw(&relay, &bob_token).await;
    let me = PeerId::new("curious-bob").unwrap();
    let relay_id = handshake(&mut raw, &me).await;
    let asked = [globex, acme, DocumentId::random()];
    for id in asked {
        let request = doc_message(&me, &relay_id, id, &empty_document_sync());
        send(&mut raw, &Message::Request(request)).await;
    }
    for id in asked {
        match receive(&mut raw).await {
            Some(Message::DocUnavailable(notice)) => {
                assert_eq!(notice.document_id, WireDocumentId::from(id));
            }
            other => panic!("expected doc-unavailable for {id}, got {other:?}"),
        }
    }

    let mut bob = sync(bob).await;
    assert_eq!(bob.workspace().unwrap().name, "Initech");
    assert!(bob.accounts().unwrap().is_empty());
    let held: Vec<DocumentId> = bob
        .summary()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(!held.contains(&globex) && !held.contains(&acme), "{held:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_changes_are_refused_while_it_still_receives_members_changes() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let vic_token = relay.invite("Acme", "vic", Team::Sales, Role::Viewer);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "renewal due in march", &[]);
    let mut ana = sync(ana).await;
    let (_vic_dir, vic) = join(&relay, &vic_token).await;
    let saved = ana.document_bytes(globex).unwrap();

    let mut forger = connect_raw(&relay, &vic_token).await;
    let me = PeerId::new("forging-viewer").unwrap();
    let relay_id = handshake(&mut forger, &me).await;
    let forged = pushed_note(&saved, "written by a viewer", "vic", Team::Sales);
    let sync_message = doc_message(&me, &relay_id, globex, &forged);
    send(&mut forger, &Message::Sync(sync_message)).await;
    // The relay answers a sync once it has handled it.
    let answer = receive(&mut forger).await;
    assert!(matches!(answer, Some(Message::Sync(_))), "{answer:?}");

    let (_fresh_dir, mut fresh) = join(&relay, &ana_token).await;
    assert_eq!(timeline(&mut fresh, globex), ["renewal due in march"]);

    add_note(&mut ana, globex, "signed for two more years", &[]);
    let _ana = sync(ana).await;
    let mut vic = sync(vic).await;
    let seen = timeline(&mut vic, globex);
    assert!(has(&seen, "signed for two more years"), "{seen:?}");
    assert!(!has(&seen, "written by a viewer"), "{seen:?}");

    // The same kind of message from a member is applied: the refusal above is the viewer's.
    let mut member = connect_raw(&relay, &ana_token).await;
    let me = PeerId::new("pushing-member").unwrap();
    let relay_id = handshake(&mut member, &me).await;
    let pushed = pushed_note(&saved, "pushed by a member", "ana", Team::Support);
    let sync_message = doc_message(&me, &relay_id, globex, &pushed);
    send(&mut member, &Message::Sync(sync_message)).await;
    let answer = receive(&mut member).await;
    assert!(matches!(answer, Some(Message::Sync(_))), "{answer:?}");
    let mut fresh = sync(fresh).await;
    let seen = timeline(&mut fresh, globex);
    assert!(has(&seen, "pushed by a member"), "{seen:?}");
    assert!(!has(&seen, "written by a viewer"), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_breakers_get_an_error_and_are_closed_while_a_watcher_keeps_receiving() {
    const MAX_FRAME: usize = 16 * 1024;
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        max_frame_bytes: MAX_FRAME,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let mallory_token = relay.invite("Acme", "mallory", Team::Marketing, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let mut watcher = Watcher::start(sam);
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "before the noise", &["sales"]);
    let mut ana = sync(ana).await;
    assert_eq!(watcher.next_alert(WAIT).await, "before the noise");

    let me = PeerId::new("mallory").unwrap();
    let relay_id = PeerId::new("whoever").unwrap();
    let garbage_sync = doc_message(&me, &relay_id, globex, b"not an automerge sync message");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    let not_cbor = vec![0xff, 0xfe, 0xfd];
    raw.send(Frame::Binary(not_cbor.into())).await.unwrap();
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("CBOR"), "{error}");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    raw.send(Frame::Text("{\"type\":\"join\"}".into()))
        .await
        .unwrap();
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("text frames"), "{error}");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    send(&mut raw, &Message::Sync(garbage_sync.clone())).await;
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("before the handshake"), "{error}");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    let relay_id = handshake(&mut raw, &me).await;
    let garbage_sync = DocMessage {
        target_id: relay_id,
        ..garbage_sync
    };
    send(&mut raw, &Message::Sync(garbage_sync)).await;
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("invalid sync message"), "{error}");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    handshake(&mut raw, &me).await;
    let oversized = vec![0u8; MAX_FRAME * 4];
    raw.send(Frame::Binary(oversized.into())).await.unwrap();
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("unreadable frame"), "{error}");

    add_note(&mut ana, globex, "after the noise", &["sales"]);
    let _ana = sync(ana).await;
    assert_eq!(watcher.next_alert(LIVE).await, "after the noise");
    watcher.assert_connected_throughout();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_note_alerting_sales_reaches_every_watching_sales_member_live() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let sue_token = relay.invite("Acme", "sue", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    let mut ana = sync(ana).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let (_sue_dir, sue) = join(&relay, &sue_token).await;
    let mut watchers = [Watcher::start(sam), Watcher::start(sue)];

    // The first alert shows each watcher is connected and caught up, however it got there.
    add_note(&mut ana, globex, "customer called support", &["sales"]);
    let mut ana = sync(ana).await;
    for watcher in &mut watchers {
        assert_eq!(watcher.next_alert(WAIT).await, "customer called support");
    }

    add_note(
        &mut ana,
        globex,
        "customer asked about the enterprise plan",
        &["sales"],
    );
    let _ana = sync(ana).await;
    for watcher in &mut watchers {
        let alert = watcher.next_alert(LIVE).await;
        assert_eq!(alert, "customer asked about the enterprise plan");
        watcher.assert_connected_throughout();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_member_closes_their_connection_and_refuses_their_token() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    let mut bo = connect_raw(&relay, &bo_token).await;
    handshake(&mut bo, &PeerId::new("bo-laptop").unwrap()).await;
    let mut ana = connect_raw(&relay, &ana_token).await;
    let ana_id = PeerId::new("ana-laptop").unwrap();
    let relay_id = handshake(&mut ana, &ana_id).await;

    let revoked = admin::revoke(&relay.hubs, "Acme", &"bo".parse().unwrap()).unwrap();
    assert_eq!(revoked, 1);
    let error = error_then_close(&mut bo).await;
    assert!(error.contains("revoked"), "{error}");
    let status = refusal(&relay.url, Some(&bo_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Everyone else stays connected and answered.
    let unknown = DocumentId::random();
    let request = doc_message(&ana_id, &relay_id, unknown, &empty_document_sync());
    send(&mut ana, &Message::Request(request)).await;
    let answer = receive(&mut ana).await;
    assert!(
        matches!(&answer, Some(Message::DocUnavailable(notice)) if notice.document_id == unknown.into()),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_200_ok() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let exchange = async {
        let mut stream = TcpStream::connect(relay.address).await.unwrap();
        let get = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        stream.write_all(get.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let answer = timeout(WAIT, exchange).await.expect("answered in time");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    assert_eq!(body.trim_end(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_pushing_more_documents_than_the_event_backlog_is_not_disconnected() {
    // Each document the relay commits is an event for every connection of the workspace, the
    // pusher's own included: a push of many documents must not leave the pusher "behind".
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        event_backlog: 8,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let watcher = Watcher::start(sam);
    for i in 0..120 {
        add_account(&mut ana, &format!("Account {i}"));
    }
    let _ana = sync(ana).await;
    let (_fresh_dir, fresh) = join(&relay, &ana_token).await;
    assert_eq!(fresh.accounts().unwrap().len(), 120);
    drop(watcher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_relay_still_has_everything_a_client_synced() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "kept across restarts", &["sales"]);
    assert_eq!(
        ana.unsynced().unwrap().len(),
        2,
        "the account and the workspace"
    );
    let ana = sync(ana).await;
    assert_eq!(ana.unsynced().unwrap(), [], "the relay confirmed both");
    relay.stop().await;

    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let (_fresh_dir, mut fresh) = join(&relay, &ana_token).await;
    assert_eq!(fresh.workspace().unwrap().name, "Acme");
    let names: Vec<String> = fresh
        .accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["Globex"]);
    assert_eq!(timeline(&mut fresh, globex), ["kept across restarts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_reconnects_when_the_relay_comes_back_and_hears_what_was_written_meanwhile() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let address = relay.address.to_string();
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let sue_token = relay.invite("Acme", "sue", Team::Support, Role::Member);
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let (_sue_dir, mut sue) = join(&relay, &sue_token).await;
    let mut watcher = Watcher::start(sam);
    let globex = add_account(&mut sue, "Globex");
    add_note(&mut sue, globex, "before the restart", &["sales"]);
    let mut sue = sync(sue).await;
    assert_eq!(watcher.next_alert(LIVE).await, "before the restart");

    relay.stop().await;
    // Written while the relay is down: it goes out with the next sync.
    add_note(&mut sue, globex, "while the relay was down", &["sales"]);
    let relay = RunningRelay::start_on(dir.path(), RelayConfig::default(), &address).await;
    let _sue = sync(sue).await;
    // The watcher's backoff is at most a few seconds here; it catches up on reconnecting.
    assert_eq!(watcher.next_alert(WAIT).await, "while the relay was down");
    drop(watcher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_pointed_at_another_workspaces_token_exchanges_nothing_and_keeps_its_relay() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bob_token = relay.invite("Initech", "bob", Team::Sales, Role::Member);
    let (ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "acme's customer, not initech's", &[]);
    let before = ana.remote().unwrap();
    let wrong = rapport_store::Remote {
        url: relay.url.clone(),
        token: Some(bob_token.clone()),
    };
    let refused = timeout(WAIT, link::sync_once_with(ana, Some(wrong), SYNC))
        .await
        .expect("the refusal comes in time");
    assert!(
        matches!(refused, Err(LinkError::WrongWorkspace { .. })),
        "{refused:?}"
    );

    let (_bob_dir, bob) = join(&relay, &bob_token).await;
    let held: Vec<DocumentId> = bob
        .summary()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(!held.contains(&globex), "acme's account reached initech");
    assert!(bob.accounts().unwrap().is_empty());
    let ana = Replica::open(ana_dir.path()).unwrap();
    assert_eq!(
        ana.remote().unwrap(),
        before,
        "a failed sync leaves the replica's relay as it was"
    );
}
