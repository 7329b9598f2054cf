//! One member's websocket: its sync session over the workspace hub, the workspace's events,
//! keepalive pings and shutdown, in one task. The connection must `join` by its handshake
//! deadline, and its asks for documents the workspace lacks are rate limited (by reading
//! nothing more from it until it is within the limit).

// A session's errors carry the store's (redb's) error by value; they end a connection, so their
// size costs nothing on the paths that matter.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as Frame, WebSocket};
use futures_util::FutureExt;
use rapport_model::DocumentId;
use rapport_proto::{MemberIdentity, Message, PeerMetadata, decode, encode};
use rapport_store::StoreError;
use rapport_sync::{Outcome, SUMMARY_V1, Session, SessionError};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::Instant;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::admission::TokenSlot;
use crate::auth::Member;
use crate::hub::{
    Busy, DocumentWatcher, Event, HubDocuments, Inline, WatchedChanges, WorkspaceHub, documents_of,
};
use crate::rate::Allowance;
use crate::screen;
use crate::server::{Admitted, RelayState};

/// The most messages handled in one batch (one blocking task, and for whole documents, one
/// commit).
const MAX_BATCH: usize = 512;

/// How many whole documents are read from the store per blocking task when serving them.
const SERVE_CHUNK: usize = 64;

/// Why a connection ends.
enum End {
    /// The peer closed, left, or went away.
    Peer(String),
    /// The peer broke the protocol: it is told why.
    Protocol(String),
    /// Something on this side: the peer is told, without details.
    Relay(String),
    /// The relay is shutting down.
    Shutdown,
}

/// Serves one upgraded websocket until it ends.
pub(crate) async fn serve(
    socket: WebSocket,
    hub: Arc<WorkspaceHub>,
    admitted: Admitted,
    state: RelayState,
) {
    let Admitted {
        member,
        slot,
        join_by,
    } = admitted;
    let id = state.hubs.connection_id();
    let span = info_span!(
        "connection",
        workspace = %hub.id(),
        user = %member.user,
        role = %member.role,
        conn = id
    );
    async move {
        let _counted = state.count_connection();
        let _slot: TokenSlot = slot;
        info!("connected");
        let mut connection = Connection::new(socket, hub, member, state, id);
        let end = connection.run(join_by).await;
        connection.finish(end).await;
    }
    .instrument(span)
    .await;
}

struct Connection {
    socket: WebSocket,
    hub: Arc<WorkspaceHub>,
    member: Member,
    state: RelayState,
    id: u64,
    /// Taken while the session works on a blocking thread.
    session: Option<Session>,
    docs: HubDocuments,
    last_heard: Instant,
    /// Asks for documents the workspace does not have, against their rate limit.
    unknown_documents: Allowance,
    /// Set while over that limit: nothing is read from the peer until then.
    resume_at: Option<Instant>,
    /// For a peer that holds only some documents: who tells it which of them changed, what it
    /// is told, and the documents it watches.
    watcher: DocumentWatcher,
    changes: WatchedChanges,
    watched: HashSet<DocumentId>,
}

impl Connection {
    fn new(
        socket: WebSocket,
        hub: Arc<WorkspaceHub>,
        member: Member,
        state: RelayState,
        id: u64,
    ) -> Self {
        let metadata = PeerMetadata {
            extensions: vec![SUMMARY_V1.into()],
            summary_digest: Some(hub.digest().0.to_vec()),
            identity: Some(MemberIdentity {
                workspace: hub.id().into(),
                user: member.user.to_string(),
                team: member.team.to_string(),
                role: member.role.to_string(),
            }),
            ..PeerMetadata::default()
        };
        let session = Session::accept(state.peer_id.clone(), metadata, !member.may_write());
        let docs = HubDocuments::new(hub.clone(), member.may_write());
        let (watcher, changes) = DocumentWatcher::new(id);
        Self {
            socket,
            hub,
            member,
            state,
            id,
            session: Some(session),
            docs,
            last_heard: Instant::now(),
            unknown_documents: Allowance::new(Instant::now()),
            resume_at: None,
            watcher,
            changes,
            watched: HashSet::new(),
        }
    }

    /// Runs until the connection ends; it must have joined by `join_by`.
    async fn run(&mut self, mut join_by: Option<Instant>) -> End {
        // Every event until the handshake says whether the peer replicates the whole
        // workspace; if not, revocations only from then on (and its documents' changes through
        // its watcher). Both are subscribed now, so no revocation falls between the two.
        let mut events = Some(self.hub.subscribe());
        let mut control = self.hub.subscribe_control();
        if let Err(end) = self.check_token().await {
            return end;
        }
        let mut shutdown = self.state.shutdown.clone();
        let interval = self.state.config.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + interval, interval);
        loop {
            if join_by.is_some() && self.joined() {
                join_by = None;
            }
            if events.is_some() && self.joined() && !self.whole_workspace() {
                events = None;
            }
            let resume_at = self.resume_at;
            let step = tokio::select! {
                frame = self.socket.recv(), if resume_at.is_none() => {
                    match self.on_frame(frame).await {
                        Ok(()) => self.catch_up(events.as_mut()).await,
                        ended => ended,
                    }
                }
                () = until(resume_at) => {
                    // Its silence meanwhile was ours: nothing was read.
                    self.resume_at = None;
                    self.last_heard = Instant::now();
                    Ok(())
                }
                () = until(join_by) => Err(End::Protocol(format!(
                    "no join message within {} s of connecting",
                    self.state.config.handshake_timeout.as_secs_f64()
                ))),
                event = next_event(events.as_mut()) => self.on_event(event).await,
                event = control.recv(), if events.is_none() => self.on_event(event).await,
                Some(id) = self.changes.next() => self.on_watched(id).await,
                _ = ping.tick() => self.on_ping().await,
                () = async { drop(shutdown.wait_for(|stop| *stop).await) } => Err(End::Shutdown),
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn on_frame(&mut self, frame: Option<Result<Frame, axum::Error>>) -> Result<(), End> {
        self.last_heard = Instant::now();
        let Some(first) = read(frame)? else {
            return Ok(());
        };
        // Whatever else has already arrived goes in the same batch: whole documents in a row
        // are stored in one commit. A frame that ends the connection ends it after the batch.
        // A batch emits at most one event per document; half the backlog leaves room for what
        // others write meanwhile, and `catch_up` takes them all right after.
        let max_batch = MAX_BATCH.min((self.state.config.event_backlog / 2).max(1));
        let mut batch = vec![first];
        let mut then = Ok(());
        while batch.len() < max_batch {
            let Some(frame) = self.socket.recv().now_or_never() else {
                break;
            };
            match read(frame) {
                Ok(Some(message)) => batch.push(message),
                Ok(None) => {}
                Err(end) => {
                    then = Err(end);
                    break;
                }
            }
        }
        self.watch_documents_of(&batch);
        // A peer's answer to what it was sent (a sync message bringing no change) touches no
        // disk when its document is in memory: handled here, unless that document is busy.
        let answer = match batch.as_slice() {
            [message] if self.joined() && brings_no_change(message) => Some(message.clone()),
            _ => None,
        };
        let hub = self.hub.clone();
        let there = move |session: &mut Session,
                          docs: &mut HubDocuments|
              -> Result<Outcome, SessionError<StoreError>> {
            // The digest the `peer` answer carries is read now, once every change committed
            // before it is in it; changes after it arrive as events once the summary is agreed.
            if batch.iter().any(|m| matches!(m, Message::Join(_))) {
                session.set_summary_digest(hub.digest().0.to_vec());
            }
            // What comes before the handshake is refused as such, unread.
            let mut joined = session.remote().is_some();
            for message in &batch {
                joined |= matches!(message, Message::Join(_));
                if joined {
                    screen::check(message)?;
                }
            }
            // Sync messages for several documents (a client back from offline): one commit.
            match documents_of(&batch) {
                Some(ids) if joined => {
                    docs.together(&ids, |held| session.receive_all(batch, held))?
                }
                _ => session.receive_all(batch, docs),
            }
        };
        let outcome = match answer {
            Some(message) => {
                let here = move |session: &mut Session,
                                 docs: &mut Inline<'_>|
                      -> Result<Outcome, SessionError<Busy>> {
                    screen::check(&message)?;
                    session.receive(message, docs)
                };
                self.with_session_here(here, there).await?
            }
            None => self.with_session(there).await?,
        };
        self.unwatch_unused();
        self.count_unknown_documents(&outcome);
        self.act(outcome).await?;
        then
    }

    /// Whether the peer has joined (the handshake is done).
    fn joined(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.remote().is_some())
    }

    /// Whether the peer replicates the whole workspace (and so hears of every change).
    fn whole_workspace(&self) -> bool {
        self.session.as_ref().is_some_and(Session::summary_agreed)
    }

    /// Watches the documents `batch` syncs, before the batch is handled, so that no change
    /// made between the answer and the watching goes unheard (a peer that replicates the whole
    /// workspace hears every change anyway).
    fn watch_documents_of(&mut self, batch: &[Message]) {
        if self.whole_workspace() {
            return;
        }
        for message in batch {
            if let Message::Sync(m) | Message::Request(m) = message
                && let Some(id) = m.document_id.parse()
                && self.watched.insert(id)
            {
                self.hub.watch(id, &self.watcher);
            }
        }
    }

    /// Stops watching what the peer turned out not to hold, or everything once it hears every
    /// change.
    fn unwatch_unused(&mut self) {
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let whole = session.summary_agreed();
        let unused: Vec<DocumentId> = self
            .watched
            .iter()
            .filter(|id| whole || !session.syncing(id))
            .copied()
            .collect();
        for id in unused {
            self.watched.remove(&id);
            self.hub.unwatch(id, self.id);
        }
    }

    /// A watched document changed: offer it, and every watched one if changes were dropped.
    async fn on_watched(&mut self, id: DocumentId) -> Result<(), End> {
        if self.changes.take_behind() {
            let all: Vec<DocumentId> = self.watched.iter().copied().collect();
            for other in all.into_iter().filter(|other| *other != id) {
                self.offer(other).await?;
            }
        }
        self.offer(id).await
    }

    /// Charges the `doc-unavailable` answers of `outcome` to the connection's allowance; over
    /// it, reading pauses until the connection is within its limit again.
    fn count_unknown_documents(&mut self, outcome: &Outcome) {
        let unknown = outcome
            .send
            .iter()
            .filter(|m| matches!(m, Message::DocUnavailable(_)))
            .count();
        if unknown == 0 {
            return;
        }
        let limit = &self.state.config.unknown_documents_per_connection;
        let now = Instant::now();
        let unknown = u32::try_from(unknown).unwrap_or(u32::MAX);
        self.unknown_documents.spend(limit, unknown, now);
        let wait = self.unknown_documents.wait(limit, now);
        if wait > Duration::ZERO {
            debug!(
                wait_ms = wait.as_millis(),
                "over the limit of asks for unknown documents; pausing reads"
            );
            self.resume_at = Some(now + wait);
        }
    }

    /// Handles every workspace event already waiting. A batch of frames commits up to a few
    /// hundred documents, each an event, the connection's own included: taking them right after
    /// the batch keeps a member who pushes a whole workspace from falling behind its own
    /// changes (and being disconnected for it).
    async fn catch_up(
        &mut self,
        events: Option<&mut broadcast::Receiver<Event>>,
    ) -> Result<(), End> {
        while let Some(id) = self.changes.try_next() {
            self.on_watched(id).await?;
        }
        let Some(events) = events else {
            return Ok(());
        };
        loop {
            let event = match events.try_recv() {
                Ok(event) => Ok(event),
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
            };
            self.on_event(event).await?;
        }
    }

    async fn on_event(&mut self, event: Result<Event, RecvError>) -> Result<(), End> {
        match event {
            Ok(Event::Changed { id, origin }) if origin != self.id => self.offer(id).await,
            Ok(Event::Changed { .. }) => Ok(()),
            Ok(Event::Revoked { token_ids }) if token_ids.contains(&self.member.token_id) => {
                Err(End::Protocol("your token was revoked".into()))
            }
            Ok(Event::Revoked { .. }) => Ok(()),
            // This connection missed changes; a reconnect compares summaries and catches up.
            Err(RecvError::Lagged(missed)) => Err(End::Relay(format!(
                "fell {missed} changes behind; reconnect to catch up"
            ))),
            Err(RecvError::Closed) => Err(End::Shutdown),
        }
    }

    /// The token was checked at the upgrade, but a revocation between then and the subscription
    /// to the workspace's events would go unheard: checked again once subscribed, a revocation
    /// is either seen here or arrives as an event.
    async fn check_token(&mut self) -> Result<(), End> {
        let hubs = self.state.hubs.clone();
        let id = self.member.token_id.clone();
        let record = tokio::task::spawn_blocking(move || hubs.store().token(&id))
            .await
            .map_err(|e| End::Relay(format!("token check failed: {e}")))?
            .map_err(|e| End::Relay(e.to_string()))?;
        match record {
            Some(_) => Ok(()),
            None => Err(End::Protocol("your token was revoked".into())),
        }
    }

    async fn on_ping(&mut self) -> Result<(), End> {
        let paused = self.resume_at.is_some();
        if !paused && self.last_heard.elapsed() > self.state.config.ping_interval * 3 {
            return Err(End::Peer("no answer to keepalive pings".into()));
        }
        self.send_frame(Frame::Ping(Vec::new().into())).await
    }

    /// A document changed elsewhere: sync it if this peer holds it (a Rapport client holds the
    /// whole workspace; an automerge-repo peer, what it asked for).
    async fn offer(&mut self, id: DocumentId) -> Result<(), End> {
        let interested = self
            .session
            .as_ref()
            .is_some_and(|s| s.summary_agreed() || s.syncing(&id));
        if !interested {
            return Ok(());
        }
        let messages = self
            .with_session_here(
                move |session, docs| session.sync_document(id, docs),
                move |session, docs| session.sync_document(id, docs),
            )
            .await?;
        for message in messages {
            self.send(&message).await?;
        }
        Ok(())
    }

    async fn act(&mut self, outcome: Outcome) -> Result<(), End> {
        // Durable already (the session's storage commits before it answers): forward first,
        // so that a peer gone before its answer (killed, reset) keeps nothing from the others.
        for id in &outcome.changed {
            self.hub.announce(Event::Changed {
                id: *id,
                origin: self.id,
            });
        }
        for message in &outcome.send {
            self.send(message).await?;
        }
        // A few dozen at a time: one blocking task each, never the whole workspace in memory.
        for ids in outcome.serve.chunks(SERVE_CHUNK) {
            let ids = ids.to_vec();
            let messages = self
                .with_session(move |session, docs| session.document_messages(&ids, docs))
                .await?;
            for message in &messages {
                self.send(message).await?;
            }
        }
        match outcome.closed {
            Some(reason) => Err(End::Peer(reason)),
            None => Ok(()),
        }
    }

    /// Runs session work on a blocking thread (it reads and commits redb).
    async fn with_session<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut Session, &mut HubDocuments) -> Result<T, SessionError<StoreError>>
        + Send
        + 'static,
    ) -> Result<T, End> {
        let Some(mut session) = self.session.take() else {
            return Err(End::Relay("session lost".into()));
        };
        let mut docs = self.docs.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let result = work(&mut session, &mut docs);
            (session, result)
        })
        .await;
        let (session, result) =
            joined.map_err(|e| End::Relay(format!("session task failed: {e}")))?;
        self.session = Some(session);
        result.map_err(|error| match error {
            SessionError::Protocol(error) => End::Protocol(error.to_string()),
            storage => End::Relay(storage.to_string()),
        })
    }

    /// Runs session work on this task when it needs only documents in memory whose locks are
    /// free (`here`, over [`Inline`]); when it would wait or needs the store, the same work on a
    /// blocking thread (`there`), as [`Self::with_session`] does. Work that reports [`Busy`] has
    /// changed no document and sent nothing, so doing it again there is safe.
    async fn with_session_here<T: Send + 'static>(
        &mut self,
        here: impl FnOnce(&mut Session, &mut Inline<'_>) -> Result<T, SessionError<Busy>>,
        there: impl FnOnce(&mut Session, &mut HubDocuments) -> Result<T, SessionError<StoreError>>
        + Send
        + 'static,
    ) -> Result<T, End> {
        let Some(session) = self.session.as_mut() else {
            return Err(End::Relay("session lost".into()));
        };
        let docs = &self.docs;
        let tried = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            here(session, &mut Inline::new(docs))
        }));
        match tried {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(SessionError::Protocol(error))) => return Err(End::Protocol(error.to_string())),
            Ok(Err(SessionError::Storage { source: Busy, .. } | SessionError::Summary { .. })) => {}
            // As a blocking task's panic does: the session is gone and the connection ends.
            Err(_) => {
                self.session = None;
                return Err(End::Relay("session work failed".into()));
            }
        }
        self.with_session(there).await
    }

    async fn send(&mut self, message: &Message) -> Result<(), End> {
        self.send_frame(Frame::Binary(encode(message).into())).await
    }

    async fn send_frame(&mut self, frame: Frame) -> Result<(), End> {
        self.socket
            .send(frame)
            .await
            .map_err(|e| End::Peer(format!("send failed: {e}")))
    }

    /// Tells the peer why it ends (when it is still there to hear it) and closes, with the
    /// websocket close code that says whose fault it was.
    async fn finish(&mut self, end: End) {
        let (notice, reason, code) = match end {
            End::Peer(reason) => {
                info!(%reason, "disconnected");
                return;
            }
            End::Protocol(reason) => {
                warn!(%reason, "closing: protocol error");
                (Some(reason.clone()), reason, CLOSE_POLICY)
            }
            End::Relay(reason) => {
                warn!(%reason, "closing: relay error");
                (
                    Some(format!("relay error: {reason}")),
                    reason,
                    CLOSE_INTERNAL,
                )
            }
            End::Shutdown => {
                info!("closing: relay shutting down");
                (None, "relay shutting down".into(), CLOSE_GOING_AWAY)
            }
        };
        if let Some(message) = notice {
            let _ = self.send(&Message::Error { message }).await;
        }
        let close = CloseFrame {
            code,
            reason: truncate(&reason, 120).into(),
        };
        let _ = self.socket.send(Frame::Close(Some(close))).await;
    }
}

/// Close code: the endpoint is going away (shutdown).
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: the peer broke a rule (the protocol, a limit, a revoked token).
const CLOSE_POLICY: u16 = 1008;
/// Close code: the relay failed.
const CLOSE_INTERNAL: u16 = 1011;

impl Drop for Connection {
    fn drop(&mut self) {
        for id in self.watched.drain() {
            self.hub.unwatch(id, self.id);
        }
    }
}

/// The next event of `events`, or never when there is no subscription.
async fn next_event(events: Option<&mut broadcast::Receiver<Event>>) -> Result<Event, RecvError> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// The protocol message a frame carries; `None` for pings and pongs.
fn read(frame: Option<Result<Frame, axum::Error>>) -> Result<Option<Message>, End> {
    let bytes = match frame {
        None => return Err(End::Peer("connection dropped".into())),
        Some(Err(error)) => return Err(End::Protocol(format!("unreadable frame: {error}"))),
        Some(Ok(Frame::Binary(bytes))) => bytes,
        Some(Ok(Frame::Text(_))) => {
            return Err(End::Protocol(
                "text frames are not part of the protocol".into(),
            ));
        }
        Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => return Ok(None),
        Some(Ok(Frame::Close(_))) => return Err(End::Peer("closed by the peer".into())),
    };
    let message = decode(&bytes).map_err(|error| End::Protocol(error.to_string()))?;
    debug!(
        message = message.message_type(),
        bytes = bytes.len(),
        "received"
    );
    Ok(Some(message))
}

/// Sleeps until `deadline`; forever without one.
/// Whether `message` is a sync message that carries no change (an answer, or a peer in step
/// saying so): applying it changes no document. Anything else, undecodable included, is not.
fn brings_no_change(message: &Message) -> bool {
    match message {
        Message::Sync(m) => {
            automerge::sync::Message::decode(&m.data).is_ok_and(|sync| sync.changes.is_empty())
        }
        _ => false,
    }
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
