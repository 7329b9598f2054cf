//! Keeping the derived tables in step with the documents, from the patches of each change.
//!
//! Only the items a change touched are reread: appending one note to a timeline of 20,000
//! entries reindexes one entry.

use std::collections::BTreeSet;

use automerge::{Automerge, LoadOptions, OnPartialLoad};
use rapport_model::account::{self, Section};
use rapport_model::{ContactId, DocumentId, EntryId, Team, Touched, UserName, alert, search};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::boards;
use crate::documents::PendingChange;
use crate::error::{StorageContext, StoreError};
use crate::replica::Replica;
use crate::rows::{self, SavedBytes};
use crate::tables::{
    ACCOUNT_ITEMS, ACCOUNTS, ACTIVITY, ALERTS, DEALS, ITEM_TERMS, ITEMS, TERMS, UNINDEXED,
};

const DOING: &str = "updating the index";
/// How many unchecked documents a rebuild checks per transaction before it starts.
const REBUILD_BATCH: usize = 512;
/// The item key under which an account's own fields are indexed.
const FIELDS_ITEM: &str = "";

/// A timeline entry that alerts this replica's user, as the alert inbox keeps it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AlertRecord {
    /// The entry's id, which is also the alert's id.
    pub id: String,
    /// The account it belongs to.
    pub account: DocumentId,
    /// Entry kind.
    pub kind: String,
    /// The author's team.
    pub team: String,
    /// The author.
    pub author: String,
    /// When it was written.
    pub at: jiff::Timestamp,
    /// The entry's text.
    pub text: String,
    /// Its alert targets.
    pub alert: Vec<String>,
    /// Whether this user acknowledged it.
    pub acknowledged: bool,
}

/// The kinds of item an account holds, as the item index records them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// A contact.
    Contact,
    /// A deal.
    Deal,
    /// A task.
    Task,
    /// A timeline entry.
    Entry,
}

impl ItemKind {
    /// The word for this kind, in the index and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Contact => "contact",
            ItemKind::Deal => "deal",
            ItemKind::Task => "task",
            ItemKind::Entry => "timeline entry",
        }
    }
}

/// Who the alert inbox is for.
pub(crate) struct Reader<'a> {
    pub(crate) user: &'a UserName,
    pub(crate) team: Team,
}

impl Replica {
    /// Updates the derived tables for one persisted change.
    pub(crate) fn index_change(
        &mut self,
        txn: &WriteTransaction,
        change: &PendingChange,
    ) -> Result<(), StoreError> {
        if change.id == self.workspace {
            return Ok(());
        }
        if change.touched.is_empty() {
            return Ok(());
        }
        let (user, team) = (self.user.clone(), self.team);
        let doc = self.document(change.id)?;
        index_or_leave_out(
            txn,
            doc,
            change.id,
            &change.touched,
            &Reader { user: &user, team },
        )
    }

    /// How many documents [`Replica::store_unverified`] stored that are not checked and indexed
    /// yet.
    pub fn unindexed(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().doing(DOING)?;
        match txn.open_table(UNINDEXED) {
            Ok(table) => table.len().doing(DOING),
            // A replica from before the table existed has nothing waiting.
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(other) => Err(other).doing(DOING),
        }
    }

    /// Checks and indexes up to `limit` of the documents [`Replica::store_unverified`] stored,
    /// in one durable transaction, and returns how many are left.
    ///
    /// Each is loaded whole, which checks every change hash. One that does not load is dropped,
    /// with a warning, so that the next sync fetches it again; one that holds other heads than
    /// the relay said gets its true heads, so that the next sync settles the difference.
    pub fn index_pending(&mut self, limit: usize) -> Result<u64, StoreError> {
        let waiting: Vec<(String, Option<SavedBytes>)> = {
            let txn = self.db.begin_read().doing(DOING)?;
            let table = match txn.open_table(UNINDEXED) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
                Err(other) => return Err(other).doing(DOING),
            };
            let mut waiting = Vec::new();
            for row in table.iter().doing(DOING)?.take(limit) {
                let key = row.doing(DOING)?.0.value().to_owned();
                let saved = rows::saved(&txn, &key)?;
                waiting.push((key, saved));
            }
            waiting
        };
        if waiting.is_empty() {
            return Ok(0);
        }
        let (user, team) = (self.user.clone(), self.team);
        let reader = Reader { user: &user, team };
        let everything = Touched::everything();
        let txn = self.db.begin_write().doing(DOING)?;
        for (key, saved) in waiting {
            txn.open_table(UNINDEXED)
                .doing(DOING)?
                .remove(key.as_str())
                .doing(DOING)?;
            let (Some(id), Some(saved)) = (key.parse::<DocumentId>().ok(), saved) else {
                continue;
            };
            let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
            let doc = match Automerge::load_with_options(&saved.data, options) {
                Ok(doc) => doc,
                Err(error) => {
                    tracing::warn!(document = %id, %error, "dropping a document from the relay that does not load; the next sync fetches it again");
                    rows::remove(&txn, &key)?;
                    self.docs.forget(&id);
                    continue;
                }
            };
            let heads = doc.get_heads();
            if heads != saved.heads {
                tracing::warn!(document = %id, "a document from the relay holds other heads than it said");
                rows::put_heads(&txn, &key, &heads)?;
            }
            if id != self.workspace {
                index_or_leave_out(&txn, &doc, id, &everything, &reader)?;
            }
        }
        txn.commit().doing(DOING)?;
        self.unindexed()
    }

    /// Rebuilds every derived table from the documents.
    pub fn rebuild_indexes(&mut self) -> Result<(), StoreError> {
        // Documents fetched whole and not checked yet go through the checks first: one that
        // does not load is dropped there (the next sync fetches it again), not trusted here.
        let mut left = self.unindexed()?;
        while left > 0 {
            let now = self.index_pending(REBUILD_BATCH)?;
            if now >= left {
                break;
            }
            left = now;
        }
        let ids = self.stored_account_ids()?;
        let txn = self.db.begin_write().doing(DOING)?;
        {
            txn.delete_table(ACCOUNTS).doing(DOING)?;
            txn.delete_table(TERMS).doing(DOING)?;
            txn.delete_table(ITEM_TERMS).doing(DOING)?;
            txn.delete_table(ITEMS).doing(DOING)?;
            txn.delete_multimap_table(ACCOUNT_ITEMS).doing(DOING)?;
            txn.delete_table(ALERTS).doing(DOING)?;
            txn.delete_table(DEALS).doing(DOING)?;
            txn.delete_table(ACTIVITY).doing(DOING)?;
            crate::tables::create_all(&txn).doing(DOING)?;
            boards::mark_boards_kept(&txn)?;
        }
        let (user, team) = (self.user.clone(), self.team);
        let everything = Touched::everything();
        for id in ids {
            let doc = match self.document(id) {
                Ok(doc) => doc,
                Err(StoreError::DamagedDocument { id, source }) => {
                    tracing::warn!(document = %id, error = %source, "left a damaged document out of the index");
                    continue;
                }
                Err(other) => return Err(other),
            };
            index_or_leave_out(&txn, doc, id, &everything, &Reader { user: &user, team })?;
        }
        txn.commit().doing(DOING)?;
        Ok(())
    }
}

/// Indexes an account; a document that is not a well-formed account (one from a peer, say) is
/// kept, since it is data, but left out of lists, search and alerts until it reads again.
pub(crate) fn index_or_leave_out(
    txn: &WriteTransaction,
    doc: &Automerge,
    id: DocumentId,
    touched: &Touched,
    reader: &Reader<'_>,
) -> Result<(), StoreError> {
    match index_account(txn, doc, id, touched, reader) {
        Err(StoreError::Shape { source, .. }) => {
            tracing::warn!(document = %id, error = %source, "document left out of the index");
            clear_account(txn, &id.to_string())
        }
        other => other,
    }
}

fn index_account(
    txn: &WriteTransaction,
    doc: &Automerge,
    id: DocumentId,
    touched: &Touched,
    reader: &Reader<'_>,
) -> Result<(), StoreError> {
    let key = id.to_string();
    let shape = |source| StoreError::Shape { id, source };
    if touched.everything {
        return reindex_everything(txn, doc, id, reader);
    }
    if touched.summary() {
        put_summary(txn, doc, id)?;
    }
    if touched.fields {
        let texts = account::field_texts(doc).map_err(shape)?;
        set_item_terms(txn, &key, FIELDS_ITEM, &texts)?;
    }
    for contact in &touched.contacts {
        index_contact(txn, doc, &key, contact)?;
    }
    for entry in &touched.entries {
        index_entry(txn, doc, id, entry, reader)?;
    }
    for deal in &touched.deals {
        index_deal(txn, doc, id, deal)?;
    }
    for task in &touched.tasks {
        let exists = account::has_item(doc, Section::Tasks, task).unwrap_or(false);
        set_item(txn, &key, ItemKind::Task, task, exists)?;
    }
    for (_, entry) in touched
        .acks
        .iter()
        .filter(|(user, _)| user == reader.user.as_str())
    {
        refresh_acknowledgement(txn, doc, &key, entry, reader.user)?;
    }
    Ok(())
}

fn reindex_everything(
    txn: &WriteTransaction,
    doc: &Automerge,
    id: DocumentId,
    reader: &Reader<'_>,
) -> Result<(), StoreError> {
    let key = id.to_string();
    let shape = |source| StoreError::Shape { id, source };
    clear_account(txn, &key)?;
    put_summary(txn, doc, id)?;
    let texts = account::field_texts(doc).map_err(shape)?;
    set_item_terms(txn, &key, FIELDS_ITEM, &texts)?;
    for contact in account::item_keys(doc, Section::Contacts).map_err(shape)? {
        index_contact(txn, doc, &key, &contact)?;
    }
    for entry in account::item_keys(doc, Section::Timeline).map_err(shape)? {
        index_entry(txn, doc, id, &entry, reader)?;
    }
    for deal in account::item_keys(doc, Section::Deals).map_err(shape)? {
        index_deal(txn, doc, id, &deal)?;
    }
    for task in account::item_keys(doc, Section::Tasks).map_err(shape)? {
        set_item(txn, &key, ItemKind::Task, &task, true)?;
    }
    Ok(())
}

fn put_summary(txn: &WriteTransaction, doc: &Automerge, id: DocumentId) -> Result<(), StoreError> {
    let summary = account::summary(doc, id).map_err(|source| StoreError::Shape { id, source })?;
    let json = serde_json::to_vec(&summary).map_err(|e| StoreError::DamagedIndex {
        table: "accounts",
        reason: e.to_string(),
    })?;
    txn.open_table(ACCOUNTS)
        .doing(DOING)?
        .insert(id.to_string().as_str(), json.as_slice())
        .doing(DOING)?;
    Ok(())
}

fn index_contact(
    txn: &WriteTransaction,
    doc: &Automerge,
    account_key: &str,
    contact: &str,
) -> Result<(), StoreError> {
    let found = contact
        .parse::<ContactId>()
        .ok()
        .and_then(|id| account::read_contact(doc, id).ok().flatten());
    let texts: Vec<String> = match &found {
        Some(c) => [
            Some(&c.name),
            c.email.as_ref(),
            c.phone.as_ref(),
            c.title.as_ref(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect(),
        None => Vec::new(),
    };
    set_item_terms(txn, account_key, contact, &texts)?;
    set_item(
        txn,
        account_key,
        ItemKind::Contact,
        contact,
        found.is_some(),
    )
}

fn index_deal(
    txn: &WriteTransaction,
    doc: &Automerge,
    id: DocumentId,
    deal: &str,
) -> Result<(), StoreError> {
    let exists = account::has_item(doc, Section::Deals, deal).unwrap_or(false);
    set_item(txn, &id.to_string(), ItemKind::Deal, deal, exists)?;
    boards::set_deal(txn, doc, id, deal)
}

fn index_entry(
    txn: &WriteTransaction,
    doc: &Automerge,
    id: DocumentId,
    entry_key: &str,
    reader: &Reader<'_>,
) -> Result<(), StoreError> {
    let account_key = id.to_string();
    // An entry a foreign peer wrote in another shape is left out of the indexes, not fatal.
    let entry = match entry_key
        .parse::<EntryId>()
        .ok()
        .map(|entry| account::read_entry(doc, entry))
    {
        Some(Ok(entry)) => entry,
        Some(Err(error)) => {
            tracing::warn!(account = %id, entry = entry_key, %error, "timeline entry left out of the index");
            None
        }
        None => None,
    };
    let texts: Vec<String> = entry.iter().map(|e| e.text.clone()).collect();
    set_item_terms(txn, &account_key, entry_key, &texts)?;
    set_item(
        txn,
        &account_key,
        ItemKind::Entry,
        entry_key,
        entry.is_some(),
    )?;
    let activity = entry.as_ref().map(|e| (e.team, e.at));
    boards::set_activity(txn, &account_key, entry_key, activity)?;
    let mut alerts = txn.open_table(ALERTS).doing(DOING)?;
    match entry.filter(|e| alert::alerts(e, reader.user, reader.team)) {
        Some(entry) => {
            let acknowledged =
                account::is_acknowledged(doc, reader.user, entry.id).unwrap_or(false);
            let record = AlertRecord {
                id: entry.id.to_string(),
                account: id,
                kind: entry.kind.to_string(),
                team: entry.team.to_string(),
                author: entry.author.to_string(),
                at: entry.at,
                text: entry.text,
                alert: entry.alert.iter().map(ToString::to_string).collect(),
                acknowledged,
            };
            let json = encode_alert(&record)?;
            alerts
                .insert((account_key.as_str(), entry_key), json.as_slice())
                .doing(DOING)?;
        }
        None => {
            alerts
                .remove((account_key.as_str(), entry_key))
                .doing(DOING)?;
        }
    }
    Ok(())
}

fn refresh_acknowledgement(
    txn: &WriteTransaction,
    doc: &Automerge,
    account_key: &str,
    entry: &str,
    user: &UserName,
) -> Result<(), StoreError> {
    let mut alerts = txn.open_table(ALERTS).doing(DOING)?;
    let record = match alerts.get((account_key, entry)).doing(DOING)? {
        Some(json) => decode_alert(json.value())?,
        None => return Ok(()),
    };
    let Ok(entry_id) = entry.parse::<EntryId>() else {
        return Ok(());
    };
    let acknowledged = account::is_acknowledged(doc, user, entry_id).unwrap_or(false);
    if acknowledged != record.acknowledged {
        let json = encode_alert(&AlertRecord {
            acknowledged,
            ..record
        })?;
        alerts
            .insert((account_key, entry), json.as_slice())
            .doing(DOING)?;
    }
    Ok(())
}

/// Replaces the search terms of one item (or of the account's own fields).
fn set_item_terms(
    txn: &WriteTransaction,
    account_key: &str,
    item: &str,
    texts: &[String],
) -> Result<(), StoreError> {
    let new: BTreeSet<String> = texts.iter().flat_map(|t| search::terms(t)).collect();
    let mut item_terms = txn.open_table(ITEM_TERMS).doing(DOING)?;
    let old: BTreeSet<String> = match item_terms.get((account_key, item)).doing(DOING)? {
        Some(joined) => joined
            .value()
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        None => BTreeSet::new(),
    };
    if old == new {
        return Ok(());
    }
    let mut terms = txn.open_table(TERMS).doing(DOING)?;
    for term in old.difference(&new) {
        terms
            .remove((term.as_str(), account_key, item))
            .doing(DOING)?;
    }
    for term in new.difference(&old) {
        terms
            .insert((term.as_str(), account_key, item), ())
            .doing(DOING)?;
    }
    if new.is_empty() {
        item_terms.remove((account_key, item)).doing(DOING)?;
    } else {
        let joined = new.into_iter().collect::<Vec<_>>().join(" ");
        item_terms
            .insert((account_key, item), joined.as_str())
            .doing(DOING)?;
    }
    Ok(())
}

/// Records (or forgets) that item `item`, of `kind`, lives in account `account_key`.
fn set_item(
    txn: &WriteTransaction,
    account_key: &str,
    kind: ItemKind,
    item: &str,
    exists: bool,
) -> Result<(), StoreError> {
    let mut items = txn.open_table(ITEMS).doing(DOING)?;
    let mut account_items = txn.open_multimap_table(ACCOUNT_ITEMS).doing(DOING)?;
    if exists {
        items
            .insert(item, (kind.as_str(), account_key))
            .doing(DOING)?;
        account_items.insert(account_key, item).doing(DOING)?;
    } else {
        items.remove(item).doing(DOING)?;
        account_items.remove(account_key, item).doing(DOING)?;
    }
    Ok(())
}

/// Drops every derived row of one account.
fn clear_account(txn: &WriteTransaction, account_key: &str) -> Result<(), StoreError> {
    let mut item_terms = txn.open_table(ITEM_TERMS).doing(DOING)?;
    let mut terms = txn.open_table(TERMS).doing(DOING)?;
    for row in item_terms
        .extract_from_if((account_key, "")..=(account_key, "\u{10FFFF}"), |_, _| true)
        .doing(DOING)?
    {
        let (key, joined) = row.doing(DOING)?;
        let item = key.value().1.to_owned();
        for term in joined.value().split(' ').filter(|t| !t.is_empty()) {
            terms
                .remove((term, account_key, item.as_str()))
                .doing(DOING)?;
        }
    }
    let mut items = txn.open_table(ITEMS).doing(DOING)?;
    let mut account_items = txn.open_multimap_table(ACCOUNT_ITEMS).doing(DOING)?;
    for item in account_items.remove_all(account_key).doing(DOING)? {
        items.remove(item.doing(DOING)?.value()).doing(DOING)?;
    }
    let mut alerts = txn.open_table(ALERTS).doing(DOING)?;
    alerts
        .retain_in((account_key, "")..=(account_key, "\u{10FFFF}"), |_, _| {
            false
        })
        .doing(DOING)?;
    boards::clear_boards(txn, account_key)?;
    txn.open_table(ACCOUNTS)
        .doing(DOING)?
        .remove(account_key)
        .doing(DOING)?;
    Ok(())
}

pub(crate) fn encode_alert(record: &AlertRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(|e| StoreError::DamagedIndex {
        table: "alerts",
        reason: e.to_string(),
    })
}

pub(crate) fn decode_alert(bytes: &[u8]) -> Result<AlertRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::DamagedIndex {
        table: "alerts",
        reason: e.to_string(),
    })
}
