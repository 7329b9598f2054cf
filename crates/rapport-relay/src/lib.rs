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
//!   ([`auth::Token`]); [`admin::set_webhook`] gives a workspace a [`webhooks`] endpoint, to
//!   which the relay posts every alert that lands, signed, from a durable outbox.
//! - [`RelayConfig`] holds the limits that keep one hostile client from hurting the others:
//!   frame size, handshake deadline, failed logins per source ([`RateLimit`]), connections per
//!   token, asks for unknown documents per connection; and, optionally, the [`TlsIdentity`]
//!   (certificate and key, loaded from PEM files) the public listener serves `wss://` with.
//!
//! **Guarantees:** a change is committed to redb before it is forwarded or acknowledged; a
//! connection sees only its own workspace; a viewer's changes are never applied; a peer that
//! breaks the protocol gets an `error` message and is closed, and no one else notices; what a
//! peer sends costs the relay memory in proportion to its limits, never to what it claims.

pub mod admin;
mod admission;
pub mod auth;
mod connection;
mod handshake;
pub mod hub;
mod rate;
mod screen;
mod server;
mod tls;
pub mod webhooks;

/// The most blocking threads a runtime serving a relay should run (tokio's default is 512).
///
/// Each message's session work runs on one, and connections waiting for a durable commit wait
/// there too, sharing the commit (group commit), so a handful of threads keeps every core busy.
/// Measured with 1,000 clients writing at once on 2 cores (`docs/benchmarks.md`): with 512 the
/// pool grew to its limit, and with it (a heap per thread) the relay's peak memory, to 800 MB;
/// with 64 it peaked at 257 MB and the relay made as many notes a second or more.
pub const BLOCKING_THREADS: usize = 64;

pub use rate::RateLimit;
pub use server::{Listening, Relay, RelayConfig, RelayError, RelayState};
pub use tls::{TlsError, TlsIdentity};
