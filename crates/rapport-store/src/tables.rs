//! The replica's redb tables. `docs/storage.md` describes them; keep the two in step.
//!
//! Documents are the source of truth; every table below `CHUNKS` is derived from them and can be
//! rebuilt at any time ([`crate::Replica::rebuild_indexes`]).

use redb::{MultimapTableDefinition, TableDefinition};

/// Replica metadata: format tag, identity.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Per document: its compacted snapshot (`Automerge::save`).
pub(crate) const SNAPSHOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshots");
/// Per document and sequence number: incremental change chunks written after the snapshot.
pub(crate) const CHUNKS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("chunks");
/// Per document: its current heads (32-byte hashes, concatenated), for the workspace summary
/// without loading documents. Written with every chunk and snapshot.
pub(crate) const HEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("heads");
/// Document id -> (): documents stored as they arrived from the relay, not loaded yet, and so
/// neither checked nor indexed ([`crate::Replica::index_pending`] does both).
pub(crate) const UNINDEXED: TableDefinition<&str, ()> = TableDefinition::new("unindexed");
/// Document id -> (): documents changed on this replica that the relay has not confirmed
/// holding yet ([`crate::Replica::mark_synced`] removes them). Written with every local change.
pub(crate) const UNSYNCED: TableDefinition<&str, ()> = TableDefinition::new("unsynced");

/// Account document id -> JSON `AccountSummary`: the account list without loading documents.
pub(crate) const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
/// (term, account id, item key) -> (): the search index. Item key "" is the account's own fields.
pub(crate) const TERMS: TableDefinition<(&str, &str, &str), ()> = TableDefinition::new("terms");
/// (account id, item key) -> the item's terms, space separated, to remove them when it changes.
pub(crate) const ITEM_TERMS: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("item_terms");
/// Item id -> (item kind, account id): where a contact, deal, task or timeline entry lives.
pub(crate) const ITEMS: TableDefinition<&str, (&str, &str)> = TableDefinition::new("items");
/// Account id -> item ids it holds, to drop them when the account is reindexed whole.
pub(crate) const ACCOUNT_ITEMS: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("account_items");
/// (account id, entry id) -> JSON `AlertRecord`: entries that alert this replica's user.
pub(crate) const ALERTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("alerts");
/// (account id, deal id) -> JSON deal row: every deal that reads, for the pipeline board.
pub(crate) const DEALS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("deals");
/// (account id, entry id) -> (author's team, time in Unix milliseconds): every timeline entry
/// that reads, for activity counts.
pub(crate) const ACTIVITY: TableDefinition<(&str, &str), (&str, i64)> =
    TableDefinition::new("activity");

/// Meta key: the format tag.
pub(crate) const FORMAT_KEY: &str = "format";
/// The format this code writes and reads.
pub(crate) const FORMAT: &[u8] = b"rapport-replica/1";
/// Meta key: the identity (JSON).
pub(crate) const IDENTITY_KEY: &str = "identity";
/// Meta key: present once every document has its `heads` row.
pub(crate) const HEADS_KEPT_KEY: &str = "heads";
/// Meta key: present once every indexed account has its `deals` and `activity` rows.
pub(crate) const BOARDS_KEPT_KEY: &str = "boards";
/// Meta key: the relay to sync with (JSON `Remote`).
pub(crate) const REMOTE_KEY: &str = "remote";

/// Creates every table, so that readers never meet a missing one.
pub(crate) fn create_all(txn: &redb::WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(SNAPSHOTS)?;
    txn.open_table(CHUNKS)?;
    txn.open_table(HEADS)?;
    txn.open_table(UNINDEXED)?;
    txn.open_table(UNSYNCED)?;
    txn.open_table(ACCOUNTS)?;
    txn.open_table(TERMS)?;
    txn.open_table(ITEM_TERMS)?;
    txn.open_table(ITEMS)?;
    txn.open_multimap_table(ACCOUNT_ITEMS)?;
    txn.open_table(ALERTS)?;
    txn.open_table(DEALS)?;
    txn.open_table(ACTIVITY)?;
    Ok(())
}
