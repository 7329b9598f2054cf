//! Rapport's durable local replica: Automerge documents and derived indexes in redb.
//!
//! [`Replica`] is the one type: it opens (or creates) `replica.redb` in a data directory and
//! - keeps every document as a compacted snapshot plus incremental chunks, committing each change
//!   durably before returning ([`Replica::change_account`], [`Replica::create_account`]), or
//!   many at once in one commit ([`Replica::batch`], an [`AccountBatch`]);
//! - keeps derived tables (account list, search terms, alert inbox, item locations, pipeline
//!   deals, timeline activity) in step from each change's patches, in the same transaction, so
//!   listing 10,000 accounts, their deals ([`Replica::deals`]) or their activity per week
//!   ([`Replica::activity_by_week`]) loads no document;
//! - refuses foreign or damaged files with [`OpenError`] without writing to them.
//!
//! redb appears in this crate only. `docs/storage.md` describes the tables.

mod accounts;
mod boards;
mod documents;
mod error;
#[cfg(feature = "faults")]
pub mod faults;
mod index;
mod relay;
mod replica;
mod rows;
mod tables;

pub use boards::{DealRow, MAX_ACTIVITY_WEEKS, WeekActivity};
pub use documents::AccountBatch;
pub use error::{OpenError, StoreError};
pub use index::{AlertRecord, ItemKind};
pub use relay::{RELAY_FILE, RelayStore, StoredDocument, TokenRecord};
pub use replica::{Identity, REPLICA_FILE, Remote, Replica};
pub use rows::SavedBytes;
