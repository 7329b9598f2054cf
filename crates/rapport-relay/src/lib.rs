//! The Rapport relay: an always-on peer that stores every document of its workspaces in redb
//! and syncs members over websockets, speaking the automerge-repo protocol (plus Rapport's
//! `summary-1` extension).
//!
//! - [`Relay::open`] opens the store; [`Relay::serve`] runs the websocket endpoint at `/`
//!   (token checked at the upgrade), `/healthz`, and the loopback admin endpoint, until a
//!   shutdown signal.
//! - [`hub::WorkspaceHub`] holds one workspace's documents in use, its summary digest, and the
//!   channel that forwards each committed change to the workspace's other connections.
//! - [`admin::invite`] and [`admin::revoke`] manage members and their hashed tokens
//!   ([`auth::Token`]).
//!
//! **Guarantees:** a change is committed to redb before it is forwarded or acknowledged; a
//! connection sees only its own workspace; a viewer's changes are never applied; a peer that
//! breaks the protocol gets an `error` message and is closed, and no one else notices.

pub mod admin;
pub mod auth;
mod connection;
pub mod hub;
mod server;

pub use server::{Relay, RelayConfig, RelayError, RelayState};
