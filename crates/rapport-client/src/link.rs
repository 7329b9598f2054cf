//! A replica's websocket link to a relay (or any automerge-repo sync server).
//!
//! One task drives one connection: frames in, [`Session`] work on a blocking thread (it
//! commits to redb), frames out. Against a Rapport relay the two sides compare workspace
//! digests in the handshake and sync only what differs; against a plain automerge-repo server
//! every document of the workspace is synced one by one.

// A session's errors carry the store's (redb's) error by value; they end a connection, so their
// size costs nothing on the paths that matter.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use rapport_model::DocumentId;
use rapport_proto::{MemberIdentity, Message, PeerId, PeerMetadata, decode, encode};
use rapport_store::{AlertRecord, OpenError, Remote, Replica, StoreError};
use rapport_sync::{SUMMARY_V1, Session, SessionError};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, info, warn};

use crate::documents::{ReplicaDocuments, workspace_documents};

/// The largest websocket message accepted from the relay.
const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;
/// The most messages handled in one batch (one blocking task, and for whole documents, one
/// commit).
const MAX_BATCH: usize = 512;
/// How many whole documents are read from the replica per blocking task when serving them.
const SERVE_CHUNK: usize = 64;
/// How many documents fetched whole are checked and indexed in one go (one blocking task).
const INDEX_CHUNK: usize = 256;
/// How often a quiet connection is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(20);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a sync failed. Local data is untouched by a failed sync beyond the changes that were
/// received whole and committed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The URL is not a websocket URL.
    #[error("invalid relay URL '{url}': {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No connection could be made.
    #[error("cannot reach the relay at {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The relay turned the token away.
    #[error("the relay at {url} refused the token (invalid or revoked)")]
    Refused {
        /// The URL.
        url: String,
    },
    /// The connection ended before the sync did.
    #[error("the relay closed the connection: {reason}")]
    Closed {
        /// Why, as far as is known.
        reason: String,
    },
    /// The relay broke the protocol.
    #[error("the relay broke the protocol: {reason}")]
    Protocol {
        /// How.
        reason: String,
    },
    /// The sync did not settle in time.
    #[error("sync did not finish within {seconds} s ({pending} documents still differ)")]
    Timeout {
        /// The time allowed.
        seconds: u64,
        /// Documents still differing.
        pending: usize,
    },
    /// `join` against a server that does not say who the token belongs to.
    #[error("the server at {url} did not say who this token belongs to; is it a rapport relay?")]
    NoIdentity {
        /// The URL.
        url: String,
    },
    /// The relay named an identity this client cannot use.
    #[error("the relay sent an invalid identity: {reason}")]
    BadIdentity {
        /// Why.
        reason: String,
    },
    /// The token is for another workspace than the replica's.
    #[error(
        "the relay's token is for workspace {theirs}, but this replica holds workspace {mine}; nothing was exchanged"
    )]
    WrongWorkspace {
        /// The token's workspace.
        theirs: String,
        /// The replica's.
        mine: String,
    },
    /// The replica has no relay to sync with.
    #[error("this replica has no relay: run `rapport join URL --token TOKEN`, or pass --relay URL")]
    NoRemote,
    /// The replica could not be created.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The replica failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Documents changed here by what arrived.
    pub changed: usize,
    /// Alerts for this user that arrived, not acknowledged.
    pub new_alerts: Vec<AlertRecord>,
    /// Whether the relay speaks Rapport's summary extension.
    pub summary: bool,
}

/// Makes a new replica in `dir` of the workspace `token` belongs to on the relay at `url`,
/// fetches it whole, durably, and indexes it.
pub async fn join(
    dir: &Path,
    url: &str,
    token: &str,
    timeout: Duration,
) -> Result<(Replica, SyncReport), LinkError> {
    join_with(dir, url, token, timeout, Indexing::Now).await
}

/// [`join`], leaving the indexing to the caller when `indexing` is [`Indexing::Later`]: a
/// workspace of thousands of accounts takes far longer to index than to fetch. Until
/// [`Replica::index_pending`] gets to them, the documents read as usual but are missing from
/// lists, search and alerts.
pub async fn join_with(
    dir: &Path,
    url: &str,
    token: &str,
    timeout: Duration,
    indexing: Indexing,
) -> Result<(Replica, SyncReport), LinkError> {
    let identity = identify(url, token).await?;
    let bad = |reason: String| LinkError::BadIdentity { reason };
    let workspace: DocumentId = identity
        .workspace
        .parse()
        .ok_or_else(|| bad(format!("workspace '{}'", identity.workspace.as_str())))?;
    let user = identity
        .user
        .parse()
        .map_err(|_| bad(format!("user '{}'", identity.user)))?;
    let team = identity
        .team
        .parse()
        .map_err(|_| bad(format!("team '{}'", identity.team)))?;
    let dir = dir.to_owned();
    let remote = Remote {
        url: url.to_owned(),
        token: Some(token.to_owned()),
    };
    let replica = blocking(move || {
        let mut replica = Replica::create(&dir, workspace, user, team)?;
        replica.set_remote(&remote)?;
        Ok::<_, LinkError>(replica)
    })
    .await??;
    settle(replica, None, timeout, indexing).await
}

/// Who the relay says `token` belongs to: a handshake, and nothing more.
pub async fn identify(url: &str, token: &str) -> Result<MemberIdentity, LinkError> {
    let mut socket = connect(url, Some(token)).await?;
    let me = peer_id();
    let (mut session, join) = Session::initiate(me, PeerMetadata::default());
    send(&mut socket, &join).await?;
    loop {
        let message = next_message(&mut socket).await?;
        let mut nothing = NoDocuments;
        session
            .receive(message, &mut nothing)
            .map_err(|e| LinkError::Protocol {
                reason: e.to_string(),
            })?;
        if let Some((remote, metadata)) = session.remote().cloned() {
            let leave = Message::Leave {
                sender_id: session.me().clone(),
            };
            let _ = send(&mut socket, &leave).await;
            let _ = socket.close(None).await;
            debug!(relay = %remote, "identified");
            return metadata.identity.ok_or_else(|| LinkError::NoIdentity {
                url: url.to_owned(),
            });
        }
    }
}

/// Syncs `replica` with its relay until both hold the same of every document, then leaves.
/// Returns the replica (to go on using it) and what the sync did.
pub async fn sync_once(
    replica: Replica,
    timeout: Duration,
) -> Result<(Replica, SyncReport), LinkError> {
    sync_once_with(replica, None, timeout).await
}

/// [`sync_once`] with another relay than the replica's (`rapport sync --relay`): it becomes the
/// replica's relay once a sync with it succeeded.
pub async fn sync_once_with(
    replica: Replica,
    other: Option<Remote>,
    timeout: Duration,
) -> Result<(Replica, SyncReport), LinkError> {
    settle(replica, other, timeout, Indexing::Now).await
}

/// Whether a one-off sync checks and indexes what it fetched whole before it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indexing {
    /// Before returning.
    Now,
    /// Not at all: the caller does it ([`Replica::index_pending`]).
    Later,
}

async fn settle(
    replica: Replica,
    other: Option<Remote>,
    timeout: Duration,
    indexing: Indexing,
) -> Result<(Replica, SyncReport), LinkError> {
    let remote = match &other {
        Some(remote) => remote.clone(),
        None => replica.remote()?.ok_or(LinkError::NoRemote)?,
    };
    let mut link = Link::new(Arc::new(Mutex::new(replica)), None).await?;
    let mut socket = connect(&remote.url, remote.token.as_deref()).await?;
    let mut ignore = |_: LinkEvent<'_>| {};
    let outcome = tokio::time::timeout(
        timeout,
        link.run(&mut socket, Mode::UntilSettled, &mut ignore),
    )
    .await;
    let result = match outcome {
        Ok(result) => result,
        Err(_) => Err(LinkError::Timeout {
            seconds: timeout.as_secs(),
            pending: link.session.as_ref().map_or(0, Session::pending),
        }),
    };
    let _ = socket.close(None).await;
    result?;
    if let Some(remote) = other {
        link.with_replica(move |replica| replica.set_remote(&remote))
            .await??;
    }
    if indexing == Indexing::Now {
        while link.unindexed > 0 {
            link.index_some(INDEX_CHUNK, &mut ignore).await?;
        }
    }
    let Link {
        replica, report, ..
    } = link;
    let replica = Arc::try_unwrap(replica)
        .map_err(|_| lost())?
        .into_inner()
        .map_err(|_| poisoned())?;
    Ok((replica, report))
}

/// A replica shared between a live link and whoever else reads and writes it (the local node):
/// every use is short and on a blocking thread.
pub type SharedReplica = Arc<Mutex<Replica>>;

/// What a live link tells its owner.
#[derive(Debug)]
pub enum LinkEvent<'a> {
    /// The connection's state, or the number of local changes the relay has not confirmed,
    /// changed.
    Status(&'a LinkStatus),
    /// Documents changed here by what arrived.
    Changed(&'a [DocumentId]),
    /// Documents fetched whole were checked and indexed: lists, search and alerts hold more;
    /// `left` are still waiting.
    Indexed {
        /// Documents still waiting.
        left: u64,
    },
    /// A new alert for this user arrived.
    Alert(&'a AlertRecord),
}

/// Where a live link stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkStatus {
    /// Connected or not, and settled or not.
    pub state: LinkState,
    /// Documents changed here that the relay has not confirmed holding yet (kept in the
    /// replica, so changes made while no link ran count too).
    pub unsynced: usize,
    /// Why the link is offline.
    pub error: Option<String>,
}

/// A live link's connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// No connection; retrying with backoff.
    Offline,
    /// Connected; documents differ and are being synced.
    Syncing,
    /// Connected, and the relay holds the same as this replica.
    Online,
}

impl LinkState {
    /// The word for it, as the CLI and the local node's API show it.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Offline => "offline",
            LinkState::Syncing => "syncing",
            LinkState::Online => "online",
        }
    }
}

/// Keeps `replica` connected to its relay, reconnecting with backoff, and reports what happens
/// through `on_event` (new alerts, documents changed, connection state). Returns only when the
/// replica fails, has no relay, or the relay refuses it for good.
pub async fn watch(
    replica: Replica,
    on_event: impl FnMut(LinkEvent<'_>) + Send,
) -> Result<(), LinkError> {
    watch_shared(Arc::new(Mutex::new(replica)), None, on_event).await
}

/// [`watch`] over a replica that others write too: each document id that comes through
/// `local` (one the owner changed) is synced to the relay at once when connected, and counted
/// as unsynced until the relay confirms it.
pub async fn watch_shared(
    replica: SharedReplica,
    local: Option<mpsc::UnboundedReceiver<DocumentId>>,
    mut on_event: impl FnMut(LinkEvent<'_>) + Send,
) -> Result<(), LinkError> {
    let remote = {
        let shared = replica.clone();
        blocking(move || {
            shared
                .lock()
                .map_err(|_| poisoned())?
                .remote()
                .map_err(LinkError::from)
        })
        .await??
        .ok_or(LinkError::NoRemote)?
    };
    let mut link = Link::new(replica, local).await?;
    let mut backoff = Duration::from_millis(250);
    loop {
        match connect(&remote.url, remote.token.as_deref()).await {
            Ok(mut socket) => {
                backoff = Duration::from_millis(250);
                link.set_state(LinkState::Syncing, None, &mut on_event);
                let ended = link.run(&mut socket, Mode::Live, &mut on_event).await;
                let reason = match ended {
                    Err(LinkError::Store(error)) => return Err(LinkError::Store(error)),
                    Err(error @ LinkError::Refused { .. }) => return Err(error),
                    Err(error @ LinkError::WrongWorkspace { .. }) => return Err(error),
                    Err(error) => format!("disconnected: {error}"),
                    Ok(()) => "disconnected".to_owned(),
                };
                link.set_state(LinkState::Offline, Some(reason), &mut on_event);
            }
            Err(error @ LinkError::Refused { .. }) => return Err(error),
            Err(error) => {
                link.set_state(LinkState::Offline, Some(error.to_string()), &mut on_event);
            }
        }
        let jitter = Duration::from_millis(rand::random::<u64>() % 250);
        link.wait_offline(backoff + jitter, &mut on_event).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Until both sides hold the same.
    UntilSettled,
    /// Until the connection ends.
    Live,
}

/// One replica's state across connections.
struct Link {
    replica: SharedReplica,
    workspace: DocumentId,
    session: Option<Session>,
    known_alerts: HashSet<String>,
    /// Documents asked for one by one (plain automerge-repo servers).
    requested: HashSet<DocumentId>,
    /// Documents stored whole and not yet checked and indexed.
    unindexed: u64,
    /// Documents the owner changed (`watch_shared`), as they are announced.
    local: Option<mpsc::UnboundedReceiver<DocumentId>>,
    /// Documents changed here that the relay has not confirmed yet.
    dirty: HashSet<DocumentId>,
    status: LinkStatus,
    report: SyncReport,
}

impl Link {
    async fn new(
        replica: SharedReplica,
        local: Option<mpsc::UnboundedReceiver<DocumentId>>,
    ) -> Result<Self, LinkError> {
        let shared = replica.clone();
        let (workspace, alerts, unindexed, unsynced) = blocking(move || {
            let replica = shared.lock().map_err(|_| poisoned())?;
            Ok::<_, LinkError>((
                replica.workspace_id(),
                replica.alerts(false)?,
                replica.unindexed()?,
                replica.unsynced()?,
            ))
        })
        .await??;
        let dirty: HashSet<DocumentId> = unsynced.into_iter().collect();
        Ok(Self {
            replica,
            workspace,
            session: None,
            known_alerts: alerts.into_iter().map(|a| a.id).collect(),
            requested: HashSet::new(),
            unindexed,
            local,
            status: LinkStatus {
                state: LinkState::Offline,
                unsynced: dirty.len(),
                error: None,
            },
            dirty,
            report: SyncReport::default(),
        })
    }

    async fn run(
        &mut self,
        socket: &mut Socket,
        mode: Mode,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) -> Result<(), LinkError> {
        let digest = self.with_replica(|replica| replica.summary()).await??;
        let metadata = PeerMetadata {
            extensions: vec![SUMMARY_V1.into()],
            summary_digest: Some(rapport_sync::Digest::of(&digest).0.to_vec()),
            ..PeerMetadata::default()
        };
        let (session, join) = Session::initiate(peer_id(), metadata);
        self.session = Some(session);
        self.requested.clear();
        send(socket, &join).await?;
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
        loop {
            let open = self.session.as_ref().is_some_and(|s| s.remote().is_some());
            let message = tokio::select! {
                biased;
                message = next_message(socket) => message?,
                id = next_local(&mut self.local), if open => {
                    match id {
                        Some(id) => self.push_local(socket, id, on_event).await?,
                        None => self.local = None,
                    }
                    continue;
                }
                _ = ping.tick() => {
                    socket.send(Frame::Ping(Vec::new().into())).await.map_err(closed)?;
                    continue;
                }
                // Documents fetched whole are checked and indexed while nothing else arrives.
                () = std::future::ready(()), if mode == Mode::Live && self.unindexed > 0 => {
                    self.index_some(INDEX_CHUNK, on_event).await?;
                    continue;
                }
            };
            if let Message::Peer(peer) = &message {
                self.check_workspace(peer.peer_metadata.identity.as_ref())?;
            }
            // Whatever else has already arrived goes in the same batch: whole documents in a
            // row are stored in one commit.
            let mut batch = vec![message];
            while batch.len() < MAX_BATCH {
                match ready_message(socket)? {
                    Some(message) => batch.push(message),
                    None => break,
                }
            }
            self.receive(socket, batch, on_event).await?;
            let session = self.session.as_ref();
            let opened = !open && session.is_some_and(|s| s.remote().is_some());
            if opened {
                let summary = session.is_some_and(Session::summary_agreed);
                self.report.summary = summary;
                info!(summary, "connected to the relay");
                if !summary {
                    self.request_workspace(socket).await?;
                }
            }
            let settled = self.check_settled(on_event).await?;
            if mode == Mode::UntilSettled && settled {
                if let Some(session) = &self.session {
                    let leave = Message::Leave {
                        sender_id: session.me().clone(),
                    };
                    let _ = send(socket, &leave).await;
                }
                return Ok(());
            }
        }
    }

    /// Starts syncing a document the owner changed.
    async fn push_local(
        &mut self,
        socket: &mut Socket,
        id: DocumentId,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) -> Result<(), LinkError> {
        self.dirty.insert(id);
        let messages = self
            .with_session(move |session, docs| session.sync_document(id, docs))
            .await?;
        for message in &messages {
            send(socket, message).await?;
        }
        self.check_settled(on_event).await?;
        Ok(())
    }

    /// Reports whether both sides hold the same now. When they do, every document changed
    /// here is on the relay: the replica stops counting them as unsynced.
    async fn check_settled(
        &mut self,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) -> Result<bool, LinkError> {
        let settled = self.session.as_ref().is_some_and(Session::settled);
        if settled && !self.dirty.is_empty() {
            let synced: Vec<DocumentId> = self.dirty.drain().collect();
            self.with_replica(move |replica| replica.mark_synced(&synced))
                .await??;
        }
        let state = if settled {
            LinkState::Online
        } else {
            LinkState::Syncing
        };
        self.set_state(state, None, on_event);
        Ok(settled)
    }

    /// Waits out a backoff while offline, still counting the owner's changes.
    async fn wait_offline(
        &mut self,
        wait: Duration,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) {
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return,
                id = next_local(&mut self.local) => match id {
                    Some(id) => {
                        self.dirty.insert(id);
                        let (state, error) = (self.status.state, self.status.error.clone());
                        self.set_state(state, error, on_event);
                    }
                    None => self.local = None,
                },
            }
        }
    }

    /// Records the link's state and reports it when it (or the unsynced count) changed.
    fn set_state(
        &mut self,
        state: LinkState,
        error: Option<String>,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) {
        let status = LinkStatus {
            state,
            unsynced: self.dirty.len(),
            error,
        };
        if status != self.status {
            self.status = status;
            on_event(LinkEvent::Status(&self.status));
        }
    }

    async fn receive(
        &mut self,
        socket: &mut Socket,
        messages: Vec<Message>,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) -> Result<(), LinkError> {
        let outcome = self
            .with_session(move |session, docs| session.receive_all(messages, docs))
            .await?;
        for message in &outcome.send {
            send(socket, message).await?;
        }
        // A few dozen at a time: one blocking task each, never the whole workspace in memory.
        for ids in outcome.serve.chunks(SERVE_CHUNK) {
            let ids = ids.to_vec();
            let messages = self
                .with_session(move |session, docs| session.document_messages(&ids, docs))
                .await?;
            for message in &messages {
                send(socket, message).await?;
            }
        }
        if !outcome.changed.is_empty() {
            self.report.changed += outcome.changed.len();
            on_event(LinkEvent::Changed(&outcome.changed));
            self.unindexed = self.with_replica(|replica| replica.unindexed()).await??;
            self.announce_alerts(on_event).await?;
            let summary = self.session.as_ref().is_some_and(Session::summary_agreed);
            if !summary && outcome.changed.contains(&self.workspace) {
                self.request_workspace(socket).await?;
            }
        }
        match outcome.closed {
            Some(reason) => Err(LinkError::Closed { reason }),
            None => Ok(()),
        }
    }

    /// Refuses a relay whose token belongs to another workspace than this replica's, before a
    /// single document id is exchanged: one workspace's records never go into another's.
    fn check_workspace(&self, identity: Option<&MemberIdentity>) -> Result<(), LinkError> {
        let Some(identity) = identity else {
            return Ok(());
        };
        if identity.workspace.parse() == Some(self.workspace) {
            return Ok(());
        }
        Err(LinkError::WrongWorkspace {
            theirs: identity.workspace.as_str().to_owned(),
            mine: self.workspace.to_string(),
        })
    }

    /// Starts syncing every document of the workspace not asked for yet (a plain server).
    async fn request_workspace(&mut self, socket: &mut Socket) -> Result<(), LinkError> {
        let ids = self.with_replica(workspace_documents).await??;
        for id in ids {
            if !self.requested.insert(id) {
                continue;
            }
            let messages = self
                .with_session(move |session, docs| session.sync_document(id, docs))
                .await?;
            for message in &messages {
                send(socket, message).await?;
            }
        }
        Ok(())
    }

    /// Checks and indexes up to `limit` documents that arrived whole, then announces the
    /// alerts they hold.
    async fn index_some(
        &mut self,
        limit: usize,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) -> Result<(), LinkError> {
        self.unindexed = self
            .with_replica(move |replica| replica.index_pending(limit))
            .await??;
        on_event(LinkEvent::Indexed {
            left: self.unindexed,
        });
        self.announce_alerts(on_event).await
    }

    async fn announce_alerts(
        &mut self,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) -> Result<(), LinkError> {
        let alerts = self.with_replica(|replica| replica.alerts(false)).await??;
        for alert in alerts {
            if self.known_alerts.insert(alert.id.clone()) {
                on_event(LinkEvent::Alert(&alert));
                self.report.new_alerts.push(alert);
            }
        }
        Ok(())
    }

    async fn with_replica<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Replica) -> T + Send + 'static,
    ) -> Result<T, LinkError> {
        let shared = self.replica.clone();
        blocking(move || {
            let mut replica = shared.lock().map_err(|_| poisoned())?;
            Ok(work(&mut replica))
        })
        .await?
    }

    async fn with_session<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(
            &mut Session,
            &mut ReplicaDocuments<'_>,
        ) -> Result<T, SessionError<StoreError>>
        + Send
        + 'static,
    ) -> Result<T, LinkError> {
        let mut session = self.session.take().ok_or_else(lost)?;
        let (session, result) = self
            .with_replica(move |replica| {
                let result = work(&mut session, &mut ReplicaDocuments::new(replica));
                (session, result)
            })
            .await?;
        self.session = Some(session);
        result.map_err(|error| match error {
            SessionError::Protocol(error) => LinkError::Protocol {
                reason: error.to_string(),
            },
            SessionError::Storage { source, .. } | SessionError::Summary { source } => {
                LinkError::Store(source)
            }
        })
    }
}

/// The next document the owner changed; pending forever when there is no owner.
async fn next_local(local: &mut Option<mpsc::UnboundedReceiver<DocumentId>>) -> Option<DocumentId> {
    match local {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

fn poisoned() -> LinkError {
    LinkError::Closed {
        reason: "the replica was lost in a failed task".into(),
    }
}

fn lost() -> LinkError {
    LinkError::Closed {
        reason: "a sync task failed".into(),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, LinkError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| LinkError::Closed {
            reason: format!("sync task failed: {e}"),
        })
}

/// Opens a websocket to `url`, presenting `token` as a bearer token.
async fn connect(url: &str, token: Option<&str>) -> Result<Socket, LinkError> {
    let bad_url = |reason: String| LinkError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(bad_url("it must start with ws:// or wss://".into()));
    }
    let mut request = url
        .into_client_request()
        .map_err(|e| bad_url(e.to_string()))?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| bad_url("the token has characters a header cannot carry".into()))?;
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) if response.status() == 401 => {
            Err(LinkError::Refused {
                url: url.to_owned(),
            })
        }
        Err(tungstenite::Error::Http(response)) => Err(LinkError::Unreachable {
            url: url.to_owned(),
            reason: format!("HTTP {}", response.status()),
        }),
        Err(tungstenite::Error::Url(error)) => Err(bad_url(error.to_string())),
        Err(error) => Err(LinkError::Unreachable {
            url: url.to_owned(),
            reason: error.to_string(),
        }),
    }
}

async fn send(socket: &mut Socket, message: &Message) -> Result<(), LinkError> {
    socket
        .send(Frame::Binary(encode(message).into()))
        .await
        .map_err(closed)
}

/// The next protocol message; pings and pongs are handled on the way.
async fn next_message(socket: &mut Socket) -> Result<Message, LinkError> {
    loop {
        if let Some(message) = frame_message(socket.next().await)? {
            return Ok(message);
        }
    }
}

/// A protocol message that has already arrived, without waiting; pings and pongs are handled
/// on the way.
fn ready_message(socket: &mut Socket) -> Result<Option<Message>, LinkError> {
    loop {
        let Some(frame) = socket.next().now_or_never() else {
            return Ok(None);
        };
        if let Some(message) = frame_message(frame)? {
            return Ok(Some(message));
        }
    }
}

/// The protocol message a frame carries; `None` for frames that carry none.
fn frame_message(
    frame: Option<Result<Frame, tungstenite::Error>>,
) -> Result<Option<Message>, LinkError> {
    let frame = frame.ok_or_else(|| LinkError::Closed {
        reason: "connection dropped".into(),
    })?;
    match frame.map_err(closed)? {
        Frame::Binary(bytes) => decode(&bytes).map(Some).map_err(|e| LinkError::Protocol {
            reason: e.to_string(),
        }),
        Frame::Close(frame) => Err(LinkError::Closed {
            reason: frame.map_or_else(|| "closed".into(), |f| f.reason.to_string()),
        }),
        Frame::Text(_) => {
            warn!("ignoring a text frame from the relay");
            Ok(None)
        }
        Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => Ok(None),
    }
}

fn closed(error: tungstenite::Error) -> LinkError {
    LinkError::Closed {
        reason: error.to_string(),
    }
}

fn peer_id() -> PeerId {
    let id = format!("rapport-{:016x}", rand::random::<u64>());
    PeerId::new(id).unwrap_or_else(|| unreachable!("a fixed-shape id is valid"))
}

/// No documents at all: enough for a handshake.
struct NoDocuments;

impl rapport_sync::Documents for NoDocuments {
    type Error = StoreError;

    fn update<R>(
        &mut self,
        _: DocumentId,
        _: rapport_sync::Open,
        _: impl FnOnce(&mut automerge::Automerge, &mut automerge::PatchLog) -> R,
    ) -> Result<Option<R>, StoreError> {
        Ok(None)
    }

    fn read<R>(
        &mut self,
        _: DocumentId,
        _: impl FnOnce(&automerge::Automerge) -> R,
    ) -> Result<Option<R>, StoreError> {
        Ok(None)
    }

    fn summary(&mut self) -> Result<rapport_sync::Summary, StoreError> {
        Ok(Vec::new())
    }

    fn saved(&mut self, _: DocumentId) -> Result<Option<rapport_sync::Saved>, StoreError> {
        Ok(None)
    }
}

/// Sends one request to a running relay's admin endpoint and returns its answer.
pub async fn admin(
    endpoint: &rapport_proto::AdminEndpoint,
    request: &rapport_proto::AdminRequest,
) -> Result<rapport_proto::AdminResponse, LinkError> {
    let mut socket = connect(&endpoint.url, Some(&endpoint.secret)).await?;
    let json = serde_json::to_string(request).map_err(|e| LinkError::Protocol {
        reason: e.to_string(),
    })?;
    socket
        .send(Frame::Text(json.into()))
        .await
        .map_err(closed)?;
    loop {
        let frame = socket.next().await.ok_or_else(|| LinkError::Closed {
            reason: "the admin endpoint hung up".into(),
        })?;
        if let Frame::Text(text) = frame.map_err(closed)? {
            let _ = socket.close(None).await;
            return serde_json::from_str(&text).map_err(|e| LinkError::Protocol {
                reason: format!("admin answer: {e}"),
            });
        }
    }
}
