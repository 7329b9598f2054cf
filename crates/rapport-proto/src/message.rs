//! The messages of the automerge-repo websocket protocol (version "1"), as Rust values.
//!
//! Field names on the wire are camelCase CBOR map keys; see `docs/protocol.md`.

use std::fmt;

use rapport_model::DocumentId;

/// The only protocol version there is.
pub const PROTOCOL_V1: &str = "1";

/// How much a websocket reads from its socket at once, on both ends. The websocket library
/// zero-fills that much of its buffer before every read and keeps it for the connection's life:
/// its default of 128 KiB cost a relay with 1,000 connections 128 MiB of buffers, all rewritten
/// whenever a change reached them. Messages are mostly under a kilobyte; a larger one grows the
/// buffer as it arrives.
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// The longest peer id, storage id, session id or document id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// A peer's id: an opaque string chosen by the peer for the life of its process.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(String);

impl PeerId {
    /// A peer id from text; `None` when empty or longer than [`MAX_ID_BYTES`].
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty() && text.len() <= MAX_ID_BYTES).then_some(Self(text))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.0)
    }
}

/// A document id as a peer sent it. Kept as text: a peer may ask for an id that does not parse,
/// and the answer to that is `doc-unavailable`, not a broken connection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WireDocumentId(String);

impl WireDocumentId {
    /// The id as text, if it is not empty and at most [`MAX_ID_BYTES`] long.
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty() && text.len() <= MAX_ID_BYTES).then_some(Self(text))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The automerge-repo document id it spells, if it spells one.
    pub fn parse(&self) -> Option<DocumentId> {
        self.0.parse().ok()
    }
}

impl From<DocumentId> for WireDocumentId {
    fn from(id: DocumentId) -> Self {
        Self(id.to_string())
    }
}

/// What a peer says about itself in `join` and `peer`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// The id of the peer's persistent storage, if it has one.
    pub storage_id: Option<String>,
    /// Whether the peer does not expect to come back with the same storage.
    pub is_ephemeral: bool,
    /// Protocol extensions the peer speaks (Rapport's own key; automerge-repo peers ignore it).
    pub extensions: Vec<String>,
    /// The digest of the sender's workspace summary (extension `summary-1`): equal digests on
    /// both sides mean there is nothing to sync.
    pub summary_digest: Option<Vec<u8>>,
    /// Who the accepting relay knows the connecting peer to be (from its token).
    pub identity: Option<MemberIdentity>,
}

/// Who a token belongs to, as a relay tells the client that presented it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberIdentity {
    /// The workspace document's id.
    pub workspace: WireDocumentId,
    /// The member's user name.
    pub user: String,
    /// The member's team.
    pub team: String,
    /// The member's role.
    pub role: String,
}

/// A document's heads: the hashes of its latest changes, 32 bytes each.
pub type Heads = Vec<[u8; 32]>;

/// The most heads one document may list on the wire.
pub const MAX_HEADS: usize = 1024;

/// Every document one side holds, with its heads (extension `summary-1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Sender.
    pub sender_id: PeerId,
    /// Recipient.
    pub target_id: PeerId,
    /// Each document and its heads.
    pub documents: Vec<(WireDocumentId, Heads)>,
}

/// What one side holds of one document (extension `summary-1`): the answer to a whole document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocHeads {
    /// Sender.
    pub sender_id: PeerId,
    /// Recipient.
    pub target_id: PeerId,
    /// The document.
    pub document_id: WireDocumentId,
    /// Its heads at the sender, after merging what it received.
    pub heads: Heads,
}

/// The first message, from the connecting peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Join {
    /// The connecting peer.
    pub sender_id: PeerId,
    /// Versions it speaks.
    pub supported_protocol_versions: Vec<String>,
    /// What it says about itself.
    pub peer_metadata: PeerMetadata,
}

/// The answer to `join`, from the accepting peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The accepting peer.
    pub sender_id: PeerId,
    /// The connecting peer.
    pub target_id: PeerId,
    /// The version chosen.
    pub selected_protocol_version: String,
    /// What the accepting peer says about itself.
    pub peer_metadata: PeerMetadata,
}

/// A message about one document carrying an Automerge sync message (`request` and `sync`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocMessage {
    /// Sender.
    pub sender_id: PeerId,
    /// Recipient.
    pub target_id: PeerId,
    /// The document.
    pub document_id: WireDocumentId,
    /// The encoded Automerge sync message.
    pub data: Vec<u8>,
}

/// A whole document (`rapport-doc`), for a peer that lacks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WholeDocument {
    /// Sender.
    pub sender_id: PeerId,
    /// Recipient.
    pub target_id: PeerId,
    /// The document.
    pub document_id: WireDocumentId,
    /// Its heads at the sender: what `data` holds, so that a recipient that trusts the sender
    /// can store the bytes without loading them.
    pub heads: Heads,
    /// What `Automerge::save` writes (or a saved document followed by change chunks).
    pub data: Vec<u8>,
}

/// A message about one document without data (`doc-unavailable`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocNotice {
    /// Sender.
    pub sender_id: PeerId,
    /// Recipient.
    pub target_id: PeerId,
    /// The document.
    pub document_id: WireDocumentId,
}

/// An ephemeral message: application data that is forwarded, never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ephemeral {
    /// Sender.
    pub sender_id: PeerId,
    /// Recipient.
    pub target_id: PeerId,
    /// Sequence number within the session.
    pub count: u64,
    /// The session this stream of messages belongs to.
    pub session_id: String,
    /// The document it relates to.
    pub document_id: WireDocumentId,
    /// Arbitrary bytes.
    pub data: Vec<u8>,
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// `join`: the connecting peer introduces itself.
    Join(Join),
    /// `peer`: the accepting peer answers.
    Peer(Peer),
    /// `leave`: the sender is about to disconnect.
    Leave {
        /// Sender.
        sender_id: PeerId,
    },
    /// `request`: start syncing a document, answer `doc-unavailable` if you do not have it.
    Request(DocMessage),
    /// `sync`: an Automerge sync message for a document.
    Sync(DocMessage),
    /// `doc-unavailable`: the sender does not have the document (or may not share it).
    DocUnavailable(DocNotice),
    /// `ephemeral`: forwarded application data.
    Ephemeral(Ephemeral),
    /// `rapport-summary`: every document the sender holds, with its heads.
    Summary(Summary),
    /// `rapport-doc`: a whole document that the recipient lacks.
    Document(WholeDocument),
    /// `rapport-have`: the recipient of a `rapport-doc` stored it and now has these heads.
    Have(DocHeads),
    /// `error`: the sender saw a protocol error and closes the connection.
    Error {
        /// What went wrong.
        message: String,
    },
    /// A well-formed message of a type this side does not act on (`remote-heads-changed`,
    /// `remote-subscription-change`, or one from a newer protocol). Ignored, not an error.
    Other {
        /// Its `type`.
        message_type: String,
    },
}

impl Message {
    /// The message's `type` on the wire.
    pub fn message_type(&self) -> &str {
        match self {
            Message::Join(_) => "join",
            Message::Peer(_) => "peer",
            Message::Leave { .. } => "leave",
            Message::Request(_) => "request",
            Message::Sync(_) => "sync",
            Message::DocUnavailable(_) => "doc-unavailable",
            Message::Ephemeral(_) => "ephemeral",
            Message::Summary(_) => "rapport-summary",
            Message::Document(_) => "rapport-doc",
            Message::Have(_) => "rapport-have",
            Message::Error { .. } => "error",
            Message::Other { message_type } => message_type,
        }
    }
}
