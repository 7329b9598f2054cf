//! One replica's link across connections: the loop that reads frames, hands them to the
//! session on a blocking thread, serves and indexes documents, and reports what happened.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::SinkExt;
use rapport_model::DocumentId;
use rapport_proto::{MemberIdentity, Message, PeerMetadata};
use rapport_store::{Replica, StoreError};
use rapport_sync::{SUMMARY_V1, Session, SessionError};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;
use tracing::info;

use super::socket::{Inbox, Socket, closed, peer_id, send};
use super::{LinkError, LinkEvent, LinkState, LinkStatus, SharedReplica, SyncReport};
use crate::documents::{ReplicaDocuments, workspace_documents};

/// The most messages handled in one batch (one blocking task, and for whole documents, one
/// commit).
const MAX_BATCH: usize = 512;
/// How many whole documents are read from the replica per blocking task when serving them.
const SERVE_CHUNK: usize = 64;
/// How many documents fetched whole are checked and indexed in one go (one blocking task).
pub(super) const INDEX_CHUNK: usize = 256;
/// The same while the replica is shared with pages (the local node): each go holds the
/// replica's lock, so it is kept short.
const LIVE_INDEX_CHUNK: usize = 64;
/// How often a quiet connection is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Until both sides hold the same.
    UntilSettled,
    /// Until the connection ends.
    Live,
}

/// One replica's state across connections.
pub(super) struct Link {
    pub(super) replica: SharedReplica,
    workspace: DocumentId,
    pub(super) session: Option<Session>,
    known_alerts: HashSet<String>,
    /// Documents asked for one by one (plain automerge-repo servers).
    requested: HashSet<DocumentId>,
    /// Documents stored whole and not yet checked and indexed.
    pub(super) unindexed: u64,
    /// Documents the owner changed (`watch_shared`), as they are announced.
    local: Option<mpsc::UnboundedReceiver<DocumentId>>,
    /// Documents changed here that the relay has not confirmed yet.
    dirty: HashSet<DocumentId>,
    status: LinkStatus,
    pub(super) report: SyncReport,
    /// What the relay sent while this side was busy.
    inbox: Inbox,
}

impl Link {
    pub(super) async fn new(
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
            inbox: Inbox::default(),
        })
    }

    pub(super) async fn run(
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
        self.inbox.clear();
        send(socket, &join).await?;
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
        loop {
            let open = self.session.as_ref().is_some_and(|s| s.remote().is_some());
            let message = tokio::select! {
                biased;
                message = self.inbox.next(socket) => message?,
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
                    self.index_some(LIVE_INDEX_CHUNK, on_event).await?;
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
                match self.inbox.ready(socket)? {
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
            .with_session(socket, move |session, docs| session.sync_document(id, docs))
            .await?;
        for message in &messages {
            send(socket, message).await?;
        }
        self.check_settled(on_event).await?;
        Ok(())
    }

    /// Starts syncing the documents the replica changed itself because of what arrived (a
    /// merged account's new items, copied to the account that stands for it): they are
    /// unsynced, and the owner did not announce them.
    async fn push_forwarded(
        &mut self,
        socket: &mut Socket,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) -> Result<(), LinkError> {
        let unsynced = self.with_replica(|replica| replica.unsynced()).await??;
        for id in unsynced {
            if !self.dirty.contains(&id) {
                self.push_local(socket, id, on_event).await?;
            }
        }
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

    /// Waits `wait` between connections, counting the owner's changes meanwhile and checking
    /// and indexing documents fetched whole (a join leaves most of them to the live link).
    pub(super) async fn wait_offline(
        &mut self,
        wait: Duration,
        on_event: &mut (dyn FnMut(LinkEvent<'_>) + Send),
    ) -> Result<(), LinkError> {
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                biased;
                () = &mut sleep => return Ok(()),
                id = next_local(&mut self.local) => match id {
                    Some(id) => {
                        self.dirty.insert(id);
                        let (state, error) = (self.status.state, self.status.error.clone());
                        self.set_state(state, error, on_event);
                    }
                    None => self.local = None,
                },
                () = std::future::ready(()), if self.unindexed > 0 => {
                    self.index_some(LIVE_INDEX_CHUNK, on_event).await?;
                }
            }
        }
    }

    /// Records the link's state and reports it when it (or the unsynced count) changed.
    pub(super) fn set_state(
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
            .with_session(socket, move |session, docs| {
                session.receive_all(messages, docs)
            })
            .await?;
        // Committed already: reported before the answers, which a dropped connection would
        // cut short, so that the owner hears of every change and alert that is here.
        if !outcome.changed.is_empty() {
            self.report.changed += outcome.changed.len();
            on_event(LinkEvent::Changed(&outcome.changed));
            self.unindexed = self.with_replica(|replica| replica.unindexed()).await??;
            self.announce_alerts(on_event).await?;
        }
        for message in &outcome.send {
            send(socket, message).await?;
        }
        // A few dozen at a time: one blocking task each, never the whole workspace in memory.
        for ids in outcome.serve.chunks(SERVE_CHUNK) {
            let ids = ids.to_vec();
            let messages = self
                .with_session(socket, move |session, docs| {
                    session.document_messages(&ids, docs)
                })
                .await?;
            for message in &messages {
                send(socket, message).await?;
            }
        }
        if !outcome.changed.is_empty() {
            self.push_forwarded(socket, on_event).await?;
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
                .with_session(socket, move |session, docs| session.sync_document(id, docs))
                .await?;
            for message in &messages {
                send(socket, message).await?;
            }
        }
        Ok(())
    }

    /// Checks and indexes up to `limit` documents that arrived whole, then announces the
    /// alerts they hold.
    pub(super) async fn index_some(
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

    pub(super) async fn with_replica<T: Send + 'static>(
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

    /// Runs `work` on the session and the replica on a blocking thread, reading the socket
    /// meanwhile ([`Inbox::while_busy`]).
    async fn with_session<T: Send + 'static>(
        &mut self,
        socket: &mut Socket,
        work: impl FnOnce(
            &mut Session,
            &mut ReplicaDocuments<'_>,
        ) -> Result<T, SessionError<StoreError>>
        + Send
        + 'static,
    ) -> Result<T, LinkError> {
        let mut session = self.session.take().ok_or_else(lost)?;
        let shared = self.replica.clone();
        let busy = blocking(move || {
            let mut replica = shared.lock().map_err(|_| poisoned())?;
            // Every change a batch of messages brings is committed once, at its end, and
            // before anything is reported or sent on.
            replica.hold_remote_changes();
            let result = work(&mut session, &mut ReplicaDocuments::new(&mut replica));
            let committed = replica.release_held();
            Ok::<_, LinkError>((session, result, committed))
        });
        let (session, result, committed) = self.inbox.while_busy(socket, busy).await??;
        self.session = Some(session);
        committed.map_err(LinkError::Store)?;
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

pub(super) fn poisoned() -> LinkError {
    LinkError::Closed {
        reason: "the replica was lost in a failed task".into(),
    }
}

pub(super) fn lost() -> LinkError {
    LinkError::Closed {
        reason: "a sync task failed".into(),
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, LinkError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| LinkError::Closed {
            reason: format!("sync task failed: {e}"),
        })
}
