//! Connects a replica to its peers.
//!
//! - [`ReplicaDocuments`] makes a [`rapport_store::Replica`] the documents of a sync
//!   [`rapport_sync::Session`]: every change a peer sends is applied through
//!   `Replica::apply_remote`, so it is durable and indexed (alerts included) before the session
//!   answers. [`workspace_documents`] lists what a replica holds of its workspace.
//! - [`link`] is the websocket side (tokio-tungstenite): [`link::join`] makes a new replica of a
//!   relay workspace, [`link::sync_once`] syncs until both sides hold the same, and
//!   [`link::watch`] keeps a live connection, reconnecting with backoff.

mod documents;
pub mod link;

pub use documents::{ReplicaDocuments, workspace_documents};
