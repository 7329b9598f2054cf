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
/// (term, account id) -> how many of the account's items (its own fields count as one) hold
/// the term: the search index, one row per word an account holds rather than per item.
pub(crate) const TERM_ACCOUNTS: TableDefinition<(&str, &str), u32> =
    TableDefinition::new("term_accounts");
/// (account id, item key) -> (item kind, the item's terms, space separated): every item an
/// account holds, to update or drop its terms and its `items` row. Item key "" (kind
/// `fields`) is the account's own fields.
pub(crate) const ITEM_INDEX: TableDefinition<(&str, &str), (&str, &str)> =
    TableDefinition::new("item_index");
/// Item id -> (item kind, account id): where a contact, deal, task or timeline entry lives.
pub(crate) const ITEMS: TableDefinition<&str, (&str, &str)> = TableDefinition::new("items");
/// (account id, entry id) -> JSON `AlertRecord`: entries that alert this replica's user.
pub(crate) const ALERTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("alerts");
/// Account id -> JSON `AccountFacts` (owner, tier, stage, followers with their times): what the
/// account's alert rows were derived from, so that a change to any of them re-derives them.
pub(crate) const ALERT_FACTS: TableDefinition<&str, &[u8]> = TableDefinition::new("alert_facts");
/// (account id, deal id) -> JSON deal row: every deal that reads, for the pipeline board.
pub(crate) const DEALS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("deals");
/// (account id, entry id) -> (author's team, time in Unix milliseconds): every timeline entry
/// that reads, for activity counts.
pub(crate) const ACTIVITY: TableDefinition<(&str, &str), (&str, i64)> =
    TableDefinition::new("activity");
/// (time in Unix milliseconds, account id, entry id) -> (author's team, entry kind): every
/// timeline entry that reads, by time, for the interactions of the last days.
pub(crate) const ENTRY_TIMES: TableDefinition<(i64, &str, &str), (&str, &str)> =
    TableDefinition::new("entry_times");
/// Account id -> (last entry, last ticket, last entry by support that is not a ticket), each in
/// Unix milliseconds: which accounts need attention. No row: the account has no entry.
pub(crate) const TOUCHES: TableDefinition<&str, TouchRow> = TableDefinition::new("touches");
/// A `touches` row: last entry, last ticket, last support follow-up.
pub(crate) type TouchRow = (Option<i64>, Option<i64>, Option<i64>);
/// Account id -> the account id its document says it was merged into: accounts left out of
/// the other tables because another stands for them (`crate::merge`).
pub(crate) const MERGED: TableDefinition<&str, &str> = TableDefinition::new("merged");
/// (account id, contact id) -> (name, email or ""): every contact that reads and is not merged
/// into another, for duplicate detection without loading documents.
pub(crate) const CONTACT_ROWS: TableDefinition<(&str, &str), (&str, &str)> =
    TableDefinition::new("contact_rows");
/// (assignee, due date `YYYY-MM-DD` or "" for none, account id, task id) -> title: every task
/// not done that has an assignee, for a user's open tasks and reminders (`crate::reminders`).
pub(crate) const OPEN_TASKS: TableDefinition<(&str, &str, &str, &str), &str> =
    TableDefinition::new("open_tasks");
/// (account id, task id) -> (assignee, due date or ""): the key of each `open_tasks` row, to
/// move or drop it when the task changes.
pub(crate) const OPEN_TASK_KEYS: TableDefinition<(&str, &str), (&str, &str)> =
    TableDefinition::new("open_task_keys");

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
/// Meta key: present once every indexed account has its `entry_times` and `touches` rows.
pub(crate) const REPORTS_KEPT_KEY: &str = "reports";
/// Meta key: the workspace's alert rules the `alerts` rows were derived from (JSON: rule name ->
/// the rule as JSON).
pub(crate) const ALERT_RULES_KEY: &str = "alert_rules";
/// Meta key: the layout of the derived tables, [`INDEX_LAYOUT`]; a replica holding another (or
/// none) has them rebuilt on open.
pub(crate) const INDEX_LAYOUT_KEY: &str = "index";
/// The layout this code writes: `term_accounts`, `item_index` (rows of merged accounts kept
/// apart), `merged`, `contact_rows`, `open_tasks` and `open_task_keys`; alerts with their
/// reasons (mentions, following and rules, each for entries written since), `alert_facts` and
/// the rules they follow; `accounts` rows holding tags and custom fields; contacts merged into
/// another without `contact_rows` or search terms.
pub(crate) const INDEX_LAYOUT: &[u8] = b"5";
/// Derived tables that earlier layouts kept, dropped when the index is rebuilt (redb deletes by
/// name and kind, so their key and value types here do not matter).
pub(crate) const RETIRED_TABLES: [TableDefinition<&str, ()>; 2] = [
    TableDefinition::new("terms"),
    TableDefinition::new("item_terms"),
];
/// The multimap of account items that earlier layouts kept.
pub(crate) const RETIRED_MULTIMAP: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("account_items");
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
    txn.open_table(TERM_ACCOUNTS)?;
    txn.open_table(ITEM_INDEX)?;
    txn.open_table(ITEMS)?;
    txn.open_table(ALERTS)?;
    txn.open_table(ALERT_FACTS)?;
    txn.open_table(DEALS)?;
    txn.open_table(ACTIVITY)?;
    txn.open_table(ENTRY_TIMES)?;
    txn.open_table(TOUCHES)?;
    txn.open_table(MERGED)?;
    txn.open_table(CONTACT_ROWS)?;
    txn.open_table(OPEN_TASKS)?;
    txn.open_table(OPEN_TASK_KEYS)?;
    Ok(())
}
