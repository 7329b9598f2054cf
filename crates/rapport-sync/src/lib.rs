//! One sync connection, as a state machine: the automerge-repo handshake, then Automerge sync
//! messages per document. No I/O: a driver (the relay's websocket task, the client's connection)
//! feeds it decoded messages and sends what it returns; documents are reached through the
//! [`Documents`] seam, which persists every change before the session answers.
//!
//! - [`Session::initiate`] / [`Session::accept`] start the two sides.
//! - [`Session::receive`] handles one message and returns an [`Outcome`]: messages to send,
//!   documents that changed (to announce to other sessions), whether to close.
//! - [`Session::sync_document`] starts or continues syncing one document (after a change here, or
//!   to ask the remote for one).
//! - A remote accepted as read-only (a viewer) receives everything; its changes are never applied.
//! - Extension `summary-1` ([`SUMMARY_V1`]): peers that both announce it compare a [`Digest`]
//!   of their workspaces in the handshake, exchange [`Summary`]s only when the digests differ,
//!   send documents the other side lacks whole ([`Outcome::serve`]), and sync only the rest.
//!   [`Session::settled`] tells when both sides hold the same.

mod documents;
pub mod inflation;
mod memory;
mod session;
mod summary;

pub use documents::{
    Documents, Generated, Merged, Open, Saved, generate, load_all, load_and_merge,
    merge_one_at_a_time, same_heads,
};
pub use memory::MemoryDocuments;
pub use session::{Outcome, ProtocolError, Session, SessionError};
pub use summary::{Digest, SUMMARY_V1, Summary, document_digest};
