//! A replica's websocket link to a relay (or any automerge-repo sync server).
//!
//! One task drives one connection: frames in, [`Session`] work on a blocking thread (it
//! commits to redb), frames out. Against a Rapport relay the two sides compare workspace
//! digests in the handshake and sync only what differs; against a plain automerge-repo server
//! every document of the workspace is synced one by one.

// A session's errors carry the store's (redb's) error by value; they end a connection, so their
// size costs nothing on the paths that matter.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rapport_model::DocumentId;
use rapport_proto::{MemberIdentity, Message, PeerMetadata};
use rapport_store::{AlertRecord, OpenError, Remote, Replica, StoreError};
use rapport_sync::Session;
use tokio::sync::mpsc;
use tracing::debug;

mod connection;
mod socket;
mod trust;

use connection::{INDEX_CHUNK, Link, Mode, blocking, lost, poisoned};
pub use socket::admin;
use socket::{Dialer, next_message, peer_id, send};
pub use trust::check_ca_certificate;

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
    /// The relay's TLS certificate does not verify against the system's roots and the CA given
    /// for it.
    #[error(
        "the relay's certificate is not trusted: {reason} (relay {url}); if the relay uses a private or self-signed CA, give its certificate with --ca-cert FILE"
    )]
    UntrustedCertificate {
        /// The URL.
        url: String,
        /// Why it does not verify.
        reason: String,
    },
    /// The CA certificate given for the relay cannot be used.
    #[error("the CA certificate given for the relay is not usable: {reason}")]
    BadCaCertificate {
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
    let remote = Remote {
        url: url.to_owned(),
        token: Some(token.to_owned()),
        ca_cert: None,
    };
    join_remote(dir, remote, timeout, indexing).await
}

/// [`join_with`] a remote that may carry an extra CA for a `wss://` relay's certificate; the
/// remote is kept with the new replica as given.
pub async fn join_remote(
    dir: &Path,
    remote: Remote,
    timeout: Duration,
    indexing: Indexing,
) -> Result<(Replica, SyncReport), LinkError> {
    let dialer = Dialer::new(&remote).await?;
    let identity = identify_with(&dialer, &remote.url).await?;
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
    let remote = Remote {
        url: url.to_owned(),
        token: Some(token.to_owned()),
        ca_cert: None,
    };
    identify_with(&Dialer::new(&remote).await?, url).await
}

async fn identify_with(dialer: &Dialer, url: &str) -> Result<MemberIdentity, LinkError> {
    let mut socket = dialer.connect().await?;
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

/// How many fetched documents `rapport join` checks and indexes before it returns: all of a
/// small workspace, a fraction of a second's worth of a large one (a live link does the rest).
pub const JOIN_INDEXES: usize = 256;

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
    let dialer = Dialer::new(&remote).await?;
    let mut link = Link::new(Arc::new(Mutex::new(replica)), None).await?;
    let mut socket = dialer.connect().await?;
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
    let dialer = Dialer::new(&remote).await?;
    let mut link = Link::new(replica, local).await?;
    let mut backoff = Duration::from_millis(250);
    loop {
        match dialer.connect().await {
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
        link.wait_offline(backoff + jitter, &mut on_event).await?;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
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
