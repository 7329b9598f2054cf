//! The fuzz targets' shared harness (`cargo fuzz`; see `README.md`). Each target feeds bytes to
//! the real code a peer's bytes reach, and must see an error, never a panic:
//!
//! - `proto_decode`: [`rapport_proto::decode`] on one frame; what decodes must encode and decode
//!   to the same message.
//! - `relay_sync`: [`RelayHarness`] drives what the relay runs for one connection's frames
//!   (decode, [`rapport_sync::Session::receive_all`] over [`rapport_relay::hub::HubDocuments`]
//!   on a real `RelayStore`, the answers encoded, changes offered to a second connection) on a
//!   workspace that holds [`fixtures`]' documents. [`frames`] cuts the input into frames.
//! - `document_load`: [`LoadHarness`] loads bytes as a foreign document is loaded and reads
//!   every view the store and the commands take of an account or a workspace, then writes to
//!   it, then merges it into a real replica (which indexes it) and lists through that; input
//!   that is not a saved document builds one of a foreign shape instead.
//!
//! - `csv_import`: [`import_plan`] reads, maps and plans a file as `rapport import` does
//!   before it writes anything.
//!
//! `examples/seed.rs` writes the seed corpus from [`fixtures`] and real sessions.

pub mod fixtures;
pub mod frames;
mod import;
mod load;
mod relay;
mod scratch;
mod shape;

pub use import::import_plan;
pub use load::LoadHarness;
pub use rapport_sync::MemoryDocuments;
pub use relay::{Connection, Ended, RelayHarness};
