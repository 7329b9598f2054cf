//! Rapport's wire protocol: the automerge-repo websocket protocol, so that any automerge-repo
//! peer can talk to a Rapport relay. Sans-IO: this crate turns frames into [`Message`]s and back,
//! and knows nothing about sockets, tasks or storage.
//!
//! - [`Message`] is one protocol message (`join`, `peer`, `request`, `sync`, `doc-unavailable`,
//!   `ephemeral`, `error`, `leave`; other types decode as [`Message::Other`] and are ignored).
//! - [`decode`] reads one websocket binary frame (a CBOR map); [`encode`] writes one.
//! - [`answer_join`] and [`check_peer`] are the two sides of the handshake.
//! - [`Message::Summary`], [`Message::Document`] and [`Message::Have`] are Rapport's extension
//!   `summary-1`, used only between peers that both announce it.
//!
//! `docs/protocol.md` describes the protocol and Rapport's extensions.
//!
//! ```
//! use rapport_proto::{decode, encode, Message, PeerId, Join, PeerMetadata, PROTOCOL_V1};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let join = Message::Join(Join {
//!     sender_id: PeerId::new("laptop-1").ok_or("invalid peer id")?,
//!     supported_protocol_versions: vec![PROTOCOL_V1.into()],
//!     peer_metadata: PeerMetadata::default(),
//! });
//! assert_eq!(decode(&encode(&join))?, join);
//! # Ok(())
//! # }
//! ```

mod admin;
mod codec;
mod error;
mod handshake;
mod message;

pub use admin::{
    ADMIN_FILE, AdminEndpoint, AdminRequest, AdminResponse, WebhookInfo, WebhookSecret, WebhookUrl,
    url_origin,
};
pub use codec::{decode, encode};
pub use error::DecodeError;
pub use handshake::{HandshakeError, answer_join, check_peer};
pub use message::{
    DocHeads, DocMessage, DocNotice, Ephemeral, Heads, Join, MAX_HEADS, MAX_ID_BYTES,
    MemberIdentity, Message, PROTOCOL_V1, Peer, PeerId, PeerMetadata, READ_BUFFER_BYTES, Summary,
    WholeDocument, WireDocumentId,
};
