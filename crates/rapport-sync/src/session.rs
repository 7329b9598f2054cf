//! One connection's session: the handshake, then Automerge sync per document.

use std::collections::{HashMap, HashSet};

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};
use rapport_model::{DocumentId, change_times};
use rapport_proto::{
    DocMessage, DocNotice, HandshakeError, Join, Message, PROTOCOL_V1, PeerId, PeerMetadata,
    WireDocumentId, answer_join, check_peer,
};

use crate::documents::{Documents, Generated, Open, in_step};
use crate::summary::SUMMARY_V1;

mod summary;

/// A violation of the protocol by the remote peer: the driver sends an `error` message with this
/// text and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A message other than the handshake came first.
    #[error("{message_type} message before the handshake")]
    BeforeHandshake {
        /// What came.
        message_type: String,
    },
    /// A handshake message came after the handshake.
    #[error("unexpected {message_type} message after the handshake")]
    RepeatedHandshake {
        /// What came.
        message_type: String,
    },
    /// The handshake failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// A `sync` or `request` whose data is not an Automerge sync message, or does not apply.
    #[error("invalid sync message for document {document}: {reason}")]
    InvalidSyncMessage {
        /// The document.
        document: String,
        /// Why.
        reason: String,
    },
    /// A `rapport-doc` whose data is not a whole Automerge document.
    #[error("invalid document {document}: {reason}")]
    InvalidDocument {
        /// The document.
        document: String,
        /// Why.
        reason: String,
    },
    /// A message of extension `summary-1` from a peer that did not agree to it.
    #[error("{message_type} message without the summary-1 extension")]
    NotNegotiated {
        /// What came.
        message_type: String,
    },
}

/// Why a session stopped.
#[derive(Debug, thiserror::Error)]
pub enum SessionError<E: std::error::Error + 'static> {
    /// The remote broke the protocol.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The documents' storage failed; nothing unpersisted was acknowledged.
    #[error("storage failed on document {id}: {source}")]
    Storage {
        /// The document.
        id: DocumentId,
        /// The storage's error.
        source: E,
    },
    /// The storage failed to list its documents for the workspace summary.
    #[error("storage failed listing the documents: {source}")]
    Summary {
        /// The storage's error.
        source: E,
    },
}

/// What receiving one message led to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Messages to send to the remote, in order.
    pub send: Vec<Message>,
    /// Documents whose content changed (to announce to other sessions).
    pub changed: Vec<DocumentId>,
    /// Documents the remote said it does not have.
    pub unavailable: Vec<WireDocumentId>,
    /// The remote is leaving or reported an error (its text): close the connection.
    pub closed: Option<String>,
    /// Documents the remote lacks entirely: send each as [`Session::document_message`] (one at
    /// a time, so that a cold join never holds the whole workspace in memory).
    pub serve: Vec<DocumentId>,
}

impl Outcome {
    /// Adds what another step led to, after this one's.
    pub fn absorb(&mut self, later: Outcome) {
        self.send.extend(later.send);
        self.changed.extend(later.changed);
        self.unavailable.extend(later.unavailable);
        self.serve.extend(later.serve);
        if self.closed.is_none() {
            self.closed = later.closed;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingJoin,
    AwaitingPeer,
    Open,
}

/// One connection's protocol state: who the peers are, and a sync state per document in flight.
#[derive(Debug)]
pub struct Session {
    me: PeerId,
    metadata: PeerMetadata,
    phase: Phase,
    remote: Option<(PeerId, PeerMetadata)>,
    /// The remote may read but not write: its changes are not applied (a viewer).
    remote_read_only: bool,
    /// This side may read but not write (a viewer's client): it does not offer its changes.
    local_read_only: bool,
    /// This side connected (and so starts the syncs of documents both sides hold).
    initiator: bool,
    states: HashMap<DocumentId, sync::State>,
    /// Documents known to differ between the two sides, until the remote is known to match.
    pending: HashSet<DocumentId>,
    /// The workspace summaries differ and the remote's has not arrived yet.
    awaiting_summary: bool,
}

impl Session {
    /// The connecting side: the session and the `join` to send first.
    pub fn initiate(me: PeerId, metadata: PeerMetadata) -> (Self, Message) {
        let join = Message::Join(Join {
            sender_id: me.clone(),
            supported_protocol_versions: vec![PROTOCOL_V1.into()],
            peer_metadata: metadata.clone(),
        });
        let mut session = Self::new(me, metadata, Phase::AwaitingPeer, false);
        session.initiator = true;
        (session, join)
    }

    /// The accepting side; with `remote_read_only`, the remote's changes are never applied.
    pub fn accept(me: PeerId, metadata: PeerMetadata, remote_read_only: bool) -> Self {
        Self::new(me, metadata, Phase::AwaitingJoin, remote_read_only)
    }

    fn new(me: PeerId, metadata: PeerMetadata, phase: Phase, remote_read_only: bool) -> Self {
        Self {
            me,
            metadata,
            phase,
            remote: None,
            remote_read_only,
            local_read_only: false,
            initiator: false,
            states: HashMap::new(),
            pending: HashSet::new(),
            awaiting_summary: false,
        }
    }

    /// Replaces the digest of this side's workspace summary that the accepting side answers the
    /// `join` with. An accepting side sets it right before it handles the `join`: a digest taken
    /// earlier would miss what changed in between, and the two sides would agree on a summary
    /// one of them no longer holds. No effect once the handshake is done.
    pub fn set_summary_digest(&mut self, digest: Vec<u8>) {
        if self.phase == Phase::AwaitingJoin {
            self.metadata.summary_digest = Some(digest);
        }
    }

    /// This side's peer id.
    pub fn me(&self) -> &PeerId {
        &self.me
    }

    /// The remote peer and what it said about itself, once the handshake is done.
    pub fn remote(&self) -> Option<&(PeerId, PeerMetadata)> {
        self.remote.as_ref().filter(|_| self.phase == Phase::Open)
    }

    /// Whether the remote speaks the Rapport extension `name`.
    pub fn remote_speaks(&self, name: &str) -> bool {
        self.remote()
            .is_some_and(|(_, metadata)| metadata.extensions.iter().any(|e| e == name))
    }

    /// Whether document `id` is being synced with the remote.
    pub fn syncing(&self, id: &DocumentId) -> bool {
        self.states.contains_key(id)
    }

    /// Whether both sides speak extension `summary-1` (and so replicate whole workspaces).
    pub fn summary_agreed(&self) -> bool {
        self.metadata.extensions.iter().any(|e| e == SUMMARY_V1) && self.remote_speaks(SUMMARY_V1)
    }

    /// Whether the two sides are known to hold the same of every document they have talked
    /// about: the handshake is done, the summaries (if any) are exchanged, and no document is
    /// still in flight. For a read-only side, holding everything the remote has is enough.
    pub fn settled(&self) -> bool {
        self.phase == Phase::Open && !self.awaiting_summary && self.pending.is_empty()
    }

    /// How many documents are known to differ between the two sides.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Handles one message from the remote.
    pub fn receive<D: Documents>(
        &mut self,
        message: Message,
        docs: &mut D,
    ) -> Result<Outcome, SessionError<D::Error>> {
        match (self.phase, message) {
            (Phase::AwaitingJoin, Message::Join(join)) => {
                let peer = answer_join(&join, self.me.clone(), self.metadata.clone())
                    .map_err(ProtocolError::from)?;
                self.remote = Some((join.sender_id, join.peer_metadata));
                self.phase = Phase::Open;
                let mut send = vec![Message::Peer(peer)];
                send.extend(self.open_summary(docs)?);
                Ok(Outcome {
                    send,
                    ..Outcome::default()
                })
            }
            (Phase::AwaitingPeer, Message::Peer(peer)) => {
                check_peer(&peer, &self.me).map_err(ProtocolError::from)?;
                self.local_read_only = peer
                    .peer_metadata
                    .identity
                    .as_ref()
                    .is_some_and(|identity| identity.role == "viewer");
                self.remote = Some((peer.sender_id, peer.peer_metadata));
                self.phase = Phase::Open;
                Ok(Outcome {
                    send: self.open_summary(docs)?,
                    ..Outcome::default()
                })
            }
            (_, Message::Error { message }) => Ok(Outcome {
                closed: Some(message),
                ..Outcome::default()
            }),
            (Phase::AwaitingJoin | Phase::AwaitingPeer, other) => {
                Err(ProtocolError::BeforeHandshake {
                    message_type: other.message_type().to_owned(),
                }
                .into())
            }
            (Phase::Open, message @ (Message::Join(_) | Message::Peer(_))) => {
                Err(ProtocolError::RepeatedHandshake {
                    message_type: message.message_type().to_owned(),
                }
                .into())
            }
            (Phase::Open, Message::Request(m)) => self.receive_sync(m, Open::Existing, docs),
            (Phase::Open, Message::Sync(m)) => {
                let open = if self.remote_read_only {
                    Open::Existing
                } else {
                    Open::OrCreate
                };
                self.receive_sync(m, open, docs)
            }
            (Phase::Open, Message::Summary(m)) => self.receive_summary(m, docs),
            (Phase::Open, Message::Document(m)) => self.receive_documents(vec![m], docs),
            (Phase::Open, Message::Have(m)) => self.receive_have(m, docs),
            (Phase::Open, Message::DocUnavailable(notice)) => {
                if let Some(id) = notice.document_id.parse() {
                    self.states.remove(&id);
                    self.pending.remove(&id);
                }
                Ok(Outcome {
                    unavailable: vec![notice.document_id],
                    ..Outcome::default()
                })
            }
            (Phase::Open, Message::Leave { .. }) => Ok(Outcome {
                closed: Some("the peer left".into()),
                ..Outcome::default()
            }),
            (Phase::Open, Message::Ephemeral(_) | Message::Other { .. }) => Ok(Outcome::default()),
        }
    }

    /// Starts or continues syncing document `id` with the remote: after a change to it here, or
    /// to ask the remote for a document this side does not have (a `request`).
    pub fn sync_document<D: Documents>(
        &mut self,
        id: DocumentId,
        docs: &mut D,
    ) -> Result<Vec<Message>, SessionError<D::Error>> {
        let Some((remote, _)) = self.remote().cloned() else {
            return Ok(Vec::new());
        };
        let read_only = self.remote_read_only;
        let state = self
            .states
            .entry(id)
            .or_insert_with(|| new_state(read_only));
        let local_read_only = self.local_read_only;
        let generated = docs
            .generate(id, state, local_read_only)
            .map_err(|source| SessionError::Storage { id, source })?;
        match &generated {
            Some(Generated { in_step: true, .. }) => self.pending.remove(&id),
            _ => self.pending.insert(id),
        };
        let message = |data: Vec<u8>| DocMessage {
            sender_id: self.me.clone(),
            target_id: remote.clone(),
            document_id: id.into(),
            data,
        };
        Ok(match generated {
            Some(Generated {
                message: Some(data),
                ..
            }) => vec![Message::Sync(message(data))],
            Some(Generated { message: None, .. }) => Vec::new(),
            // Not here: ask for it, with the first message of an empty document.
            None => match Automerge::new().generate_sync_message(state) {
                Some(sync) => vec![Message::Request(message(sync.encode()))],
                None => Vec::new(),
            },
        })
    }

    fn receive_sync<D: Documents>(
        &mut self,
        m: DocMessage,
        open: Open,
        docs: &mut D,
    ) -> Result<Outcome, SessionError<D::Error>> {
        let unavailable = || DocNotice {
            sender_id: m.target_id.clone(),
            target_id: m.sender_id.clone(),
            document_id: m.document_id.clone(),
        };
        let Some(id) = m.document_id.parse() else {
            return Ok(Outcome {
                send: vec![Message::DocUnavailable(unavailable())],
                ..Outcome::default()
            });
        };
        let invalid = |reason: String| ProtocolError::InvalidSyncMessage {
            document: id.to_string(),
            reason,
        };
        let incoming = sync::Message::decode(&m.data).map_err(|e| invalid(e.to_string()))?;
        let changes: Vec<&[u8]> = incoming.changes.iter().collect();
        crate::inflation::check_all(&changes).map_err(|e| invalid(e.to_string()))?;
        change_times::check_all(&changes).map_err(|e| invalid(e.to_string()))?;
        let read_only = self.remote_read_only;
        let local_read_only = self.local_read_only;
        let state = self
            .states
            .entry(id)
            .or_insert_with(|| new_state(read_only));
        let received = docs
            .update(id, open, |doc, patches| {
                let before = doc.get_heads();
                let brings_nothing = incoming.changes.is_empty() && incoming.need.is_empty();
                let their_heads = if brings_nothing {
                    incoming.heads.clone()
                } else {
                    Vec::new()
                };
                doc.receive_sync_message_log_patches(state, incoming, patches)?;
                let changed = doc.get_heads() != before;
                let told = brings_nothing && told_already(doc, state, &their_heads);
                let mut reply = doc.generate_sync_message(state);
                if told && reply.as_ref().is_some_and(|r| r.changes.is_empty()) {
                    reply = None;
                }
                // Equal heads: nothing is missing on either side, whatever the reply says.
                let in_step = in_step(doc, state.their_heads.as_deref(), local_read_only);
                Ok::<_, automerge::AutomergeError>((changed, reply, in_step))
            })
            .map_err(|source| SessionError::Storage { id, source })?;
        let (changed, reply) = match received {
            None => {
                self.states.remove(&id);
                self.pending.remove(&id);
                return Ok(Outcome {
                    send: vec![Message::DocUnavailable(unavailable())],
                    ..Outcome::default()
                });
            }
            Some(result) => {
                let (changed, reply, in_step) = result.map_err(|e| invalid(e.to_string()))?;
                if in_step {
                    self.pending.remove(&id);
                } else {
                    self.pending.insert(id);
                }
                (changed, reply)
            }
        };
        let send = reply
            .map(|reply| {
                Message::Sync(DocMessage {
                    sender_id: self.me.clone(),
                    target_id: m.sender_id.clone(),
                    document_id: m.document_id.clone(),
                    data: reply.encode(),
                })
            })
            .into_iter()
            .collect();
        Ok(Outcome {
            send,
            changed: if changed { vec![id] } else { Vec::new() },
            ..Outcome::default()
        })
    }
}

/// Whether a reply to a message that brought no changes and asked for none would only repeat
/// what the remote has been told: this side has answered before, its heads have not moved since
/// its last message (which carried them), and it holds every change the remote holds, so it has
/// nothing to ask for. Messages cross on the wire, and Automerge answers every message while
/// the two sides' heads differ, so without this each message in flight is answered by one more
/// for as long as changes keep crossing: under load, about five sync messages per change
/// instead of two. The remote learns this side's heads from the message already sent, and any
/// change it lacks goes in a reply all the same.
fn told_already(doc: &Automerge, state: &sync::State, their_heads: &[ChangeHash]) -> bool {
    state.have_responded
        && state.last_sent_heads == doc.get_heads()
        && doc.get_missing_deps(their_heads).is_empty()
}

fn new_state(read_only: bool) -> sync::State {
    if read_only {
        sync::State::new_read_only()
    } else {
        sync::State::new()
    }
}
