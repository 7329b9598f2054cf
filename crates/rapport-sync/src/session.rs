//! One connection's session: the handshake, then Automerge sync per document.

use std::collections::HashMap;

use automerge::Automerge;
use automerge::sync::{self, SyncDoc};
use rapport_model::DocumentId;
use rapport_proto::{
    DocMessage, DocNotice, HandshakeError, Join, Message, PROTOCOL_V1, PeerId, PeerMetadata,
    WireDocumentId, answer_join, check_peer,
};

use crate::documents::{Documents, Open};

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
    states: HashMap<DocumentId, sync::State>,
}

impl Session {
    /// The connecting side: the session and the `join` to send first.
    pub fn initiate(me: PeerId, metadata: PeerMetadata) -> (Self, Message) {
        let join = Message::Join(Join {
            sender_id: me.clone(),
            supported_protocol_versions: vec![PROTOCOL_V1.into()],
            peer_metadata: metadata.clone(),
        });
        let session = Self {
            me,
            metadata,
            phase: Phase::AwaitingPeer,
            remote: None,
            remote_read_only: false,
            states: HashMap::new(),
        };
        (session, join)
    }

    /// The accepting side; with `remote_read_only`, the remote's changes are never applied.
    pub fn accept(me: PeerId, metadata: PeerMetadata, remote_read_only: bool) -> Self {
        Self {
            me,
            metadata,
            phase: Phase::AwaitingJoin,
            remote: None,
            remote_read_only,
            states: HashMap::new(),
        }
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
                Ok(Outcome {
                    send: vec![Message::Peer(peer)],
                    ..Outcome::default()
                })
            }
            (Phase::AwaitingPeer, Message::Peer(peer)) => {
                check_peer(&peer, &self.me).map_err(ProtocolError::from)?;
                self.remote = Some((peer.sender_id, peer.peer_metadata));
                self.phase = Phase::Open;
                Ok(Outcome::default())
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
            (Phase::Open, Message::DocUnavailable(notice)) => {
                if let Some(id) = notice.document_id.parse() {
                    self.states.remove(&id);
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
        let generated = docs
            .read(id, |doc| doc.generate_sync_message(state))
            .map_err(|source| SessionError::Storage { id, source })?;
        let message = |data: Vec<u8>| DocMessage {
            sender_id: self.me.clone(),
            target_id: remote.clone(),
            document_id: id.into(),
            data,
        };
        Ok(match generated {
            Some(Some(sync)) => vec![Message::Sync(message(sync.encode()))],
            Some(None) => Vec::new(),
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
        let read_only = self.remote_read_only;
        let state = self
            .states
            .entry(id)
            .or_insert_with(|| new_state(read_only));
        let received = docs
            .update(id, open, |doc, patches| {
                let before = doc.get_heads();
                doc.receive_sync_message_log_patches(state, incoming, patches)?;
                let changed = doc.get_heads() != before;
                Ok::<_, automerge::AutomergeError>((changed, doc.generate_sync_message(state)))
            })
            .map_err(|source| SessionError::Storage { id, source })?;
        let (changed, reply) = match received {
            None => {
                self.states.remove(&id);
                return Ok(Outcome {
                    send: vec![Message::DocUnavailable(unavailable())],
                    ..Outcome::default()
                });
            }
            Some(result) => result.map_err(|e| invalid(e.to_string()))?,
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

fn new_state(read_only: bool) -> sync::State {
    if read_only {
        sync::State::new_read_only()
    } else {
        sync::State::new()
    }
}
