//! Keeping the derived tables in step with the documents, from the patches of each change.
//!
//! Only the items a change touched are reread: appending one note to a timeline of 20,000
//! entries reindexes one entry.

use automerge::{Automerge, ChangeHash, LoadOptions, OnPartialLoad};
use rapport_model::alert::Recipient;
use rapport_model::alert::rule::Rule;
use rapport_model::{DocumentId, Team, Touched, UserName, workspace};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

mod derived;
mod settle;

pub(crate) use derived::{Derived, index_or_leave_out};

use crate::boards;
use crate::documents::PendingChange;
use crate::error::{StorageContext, StoreError};
use crate::replica::Replica;
use crate::reports;
use crate::rows::{self, SavedBytes};
use crate::tables::{
    ACCOUNTS, ACTIVITY, ALERTS, DEALS, ENTRY_TIMES, INDEX_LAYOUT, INDEX_LAYOUT_KEY, ITEM_INDEX,
    ITEMS, META, RETIRED_MULTIMAP, RETIRED_TABLES, TERM_ACCOUNTS, TOUCHES, UNINDEXED,
};
use crate::tables::{CONTACT_ROWS, MERGED, OPEN_TASK_KEYS, OPEN_TASKS};

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
    /// Why it alerts this user: `direct`, `team`, `mentioned`, `following`, `rule NAME`.
    #[serde(default)]
    pub reasons: Vec<String>,
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

/// Who the alert inbox is for, with the workspace's alert rules as they are when an entry is
/// indexed.
pub(crate) struct Reader {
    pub(crate) user: UserName,
    pub(crate) team: Team,
    rules: Vec<Rule>,
}

impl Reader {
    pub(crate) fn new(user: UserName, team: Team, rules: Vec<Rule>) -> Self {
        Self { user, team, rules }
    }

    /// The workspace's alert rules, removed ones included (they cover the entries written
    /// while they stood).
    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The recipient the model's alert reasons are computed for. Its members are the user
    /// alone: the inbox is theirs, so only mentions of them count, and whether they are
    /// mentioned never depends on the workspace document having arrived before the entry.
    pub(crate) fn recipient(&self) -> Recipient<'_> {
        Recipient {
            user: &self.user,
            team: self.team,
            members: std::slice::from_ref(&self.user),
            rules: &self.rules,
        }
    }
}

impl Replica {
    /// The reader of this replica's alert inbox, with the workspace's rules as the workspace
    /// document now holds them. A workspace document not here yet (a replica still joining) or
    /// not readable gives none.
    pub(crate) fn reader(&mut self) -> Reader {
        let rules = match self.document(self.workspace) {
            Ok(doc) => workspace::alert_rules(doc),
            Err(_) => Vec::new(),
        };
        Reader::new(self.user.clone(), self.team, rules)
    }

    /// Updates the derived tables for one persisted change.
    pub(crate) fn index_change(
        &mut self,
        txn: &WriteTransaction,
        change: &PendingChange,
    ) -> Result<(), StoreError> {
        if change.id == self.workspace {
            let rules = workspace::alert_rules(self.document(change.id)?);
            return self.settle_alert_rules(txn, rules);
        }
        if change.touched.is_empty() {
            return Ok(());
        }
        // Only entries, and the account fields their alerts read, need the workspace's members
        // and rules.
        let touched = &change.touched;
        let reader = if touched.everything || touched.fields || !touched.entries.is_empty() {
            self.reader()
        } else {
            Reader::new(self.user.clone(), self.team, Vec::new())
        };
        let doc = self.document(change.id)?;
        index_or_leave_out(
            &mut Derived::open(txn)?,
            doc,
            change.id,
            &change.touched,
            &reader,
        )?;
        self.restore_survivor(txn, change.id)
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
        self.commit_held()?;
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
        // The workspace document reads before it is checked (it loads whole on first use): its
        // rules are settled first, and the documents indexed with them.
        let reader = self.reader();
        let everything = Touched::everything();
        let txn = self.begin_write().doing(DOING)?;
        self.settle_alert_rules(&txn, reader.rules().to_vec())?;
        let mut derived = Derived::open(&txn)?;
        let mut unindexed = txn.open_table(UNINDEXED).doing(DOING)?;
        let (docs, workspace) = (&mut self.docs, self.workspace);
        let mut indexed = Vec::new();
        load_each(waiting, |key, loaded| {
            unindexed.remove(key.as_str()).doing(DOING)?;
            let Some((id, heads, loaded)) = loaded else {
                return Ok(());
            };
            let doc = match loaded {
                Ok(doc) => doc,
                Err(error) => {
                    tracing::warn!(document = %id, %error, "dropping a document from the relay that does not load; the next sync fetches it again");
                    rows::remove(&txn, &key)?;
                    docs.forget(&id);
                    return Ok(());
                }
            };
            if doc.get_heads() != heads {
                tracing::warn!(document = %id, "a document from the relay holds other heads than it said");
                rows::put_heads(&txn, &key, &doc.get_heads())?;
            }
            if id != workspace {
                index_or_leave_out(&mut derived, &doc, id, &everything, &reader)?;
                indexed.push(id);
            }
            Ok(())
        })?;
        drop((derived, unindexed));
        txn.commit().doing(DOING)?;
        self.forward_indexed(&indexed)?;
        self.unindexed()
    }

    /// Rebuilds every derived table from the documents.
    pub fn rebuild_indexes(&mut self) -> Result<(), StoreError> {
        self.commit_held()?;
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
        let txn = self.begin_write().doing(DOING)?;
        {
            txn.delete_table(ACCOUNTS).doing(DOING)?;
            txn.delete_table(TERM_ACCOUNTS).doing(DOING)?;
            txn.delete_table(ITEM_INDEX).doing(DOING)?;
            txn.delete_table(ITEMS).doing(DOING)?;
            txn.delete_table(ALERTS).doing(DOING)?;
            txn.delete_table(DEALS).doing(DOING)?;
            txn.delete_table(ACTIVITY).doing(DOING)?;
            txn.delete_table(ENTRY_TIMES).doing(DOING)?;
            txn.delete_table(TOUCHES).doing(DOING)?;
            txn.delete_table(MERGED).doing(DOING)?;
            txn.delete_table(CONTACT_ROWS).doing(DOING)?;
            txn.delete_table(OPEN_TASKS).doing(DOING)?;
            txn.delete_table(OPEN_TASK_KEYS).doing(DOING)?;
            for retired in RETIRED_TABLES {
                txn.delete_table(retired).doing(DOING)?;
            }
            txn.delete_multimap_table(RETIRED_MULTIMAP).doing(DOING)?;
            crate::tables::create_all(&txn).doing(DOING)?;
            boards::mark_boards_kept(&txn)?;
            reports::touches::mark_reports_kept(&txn)?;
            txn.open_table(META)
                .doing(DOING)?
                .insert(INDEX_LAYOUT_KEY, INDEX_LAYOUT)
                .doing(DOING)?;
        }
        let reader = self.reader();
        let everything = Touched::everything();
        let mut derived = Derived::open(&txn)?;
        for id in ids {
            let doc = match self.document(id) {
                Ok(doc) => doc,
                Err(StoreError::DamagedDocument { id, source }) => {
                    tracing::warn!(document = %id, error = %source, "left a damaged document out of the index");
                    continue;
                }
                Err(other) => return Err(other),
            };
            index_or_leave_out(&mut derived, doc, id, &everything, &reader)?;
        }
        drop(derived);
        settle::record_alert_rules(&txn, &reader)?;
        self.restore_survivors(&txn)?;
        txn.commit().doing(DOING)?;
        Ok(())
    }

    /// Rebuilds the derived tables of a replica whose index has another layout than this code
    /// writes (one written by an earlier version), once.
    pub(crate) fn rebuild_index_layout_once(&mut self) -> Result<(), StoreError> {
        {
            let txn = self.db.begin_read().doing(DOING)?;
            let meta = txn.open_table(META).doing(DOING)?;
            let layout = meta.get(INDEX_LAYOUT_KEY).doing(DOING)?;
            if layout.is_some_and(|found| found.value() == INDEX_LAYOUT) {
                return Ok(());
            }
        }
        tracing::info!(replica = %self.path.display(), "rebuilding the index in its current layout");
        self.rebuild_indexes()
    }
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

/// A document fetched whole: its id, the heads it was said to hold, and how loading it went.
type Loaded = (DocumentId, Vec<ChangeHash>, Result<Automerge, StoreError>);

/// Below this many documents they are loaded on the calling thread alone.
const LOADS_PER_THREAD: usize = 16;
/// How many loaded documents may wait for the calling thread.
const LOADED_AHEAD: usize = 32;

/// Loads each of `waiting` (keys and their stored bytes) and hands it to `handle`, on the
/// calling thread, which can keep a write transaction open: loading (most of what indexing a
/// fetched workspace costs) runs on the other cores meanwhile, a few documents ahead. `None`
/// for a key whose id does not parse or that has no rows.
fn load_each(
    waiting: Vec<(String, Option<SavedBytes>)>,
    mut handle: impl FnMut(String, Option<Loaded>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let load = |saved: Option<SavedBytes>, key: &str| -> Option<Loaded> {
        let (id, saved) = (key.parse::<DocumentId>().ok()?, saved?);
        let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
        let loaded = rows::check_change_times(id, &saved.data).and_then(|()| {
            Automerge::load_with_options(&saved.data, options).map_err(|source| {
                StoreError::DamagedDocument {
                    id,
                    source: Box::new(source),
                }
            })
        });
        Some((id, saved.heads, loaded))
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let loaders = (cores - 1).min(waiting.len() / LOADS_PER_THREAD);
    if loaders == 0 {
        for (key, saved) in waiting {
            let loaded = load(saved, &key);
            handle(key, loaded)?;
        }
        return Ok(());
    }
    let queue = std::sync::Mutex::new(waiting.into_iter());
    let (ready, loaded) = std::sync::mpsc::sync_channel(LOADED_AHEAD);
    std::thread::scope(|scope| {
        for _ in 0..loaders {
            let (queue, ready) = (&queue, ready.clone());
            scope.spawn(move || {
                loop {
                    let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                    let Some((key, saved)) = next else { return };
                    let done = load(saved, &key);
                    if ready.send((key, done)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(ready);
        // Owned here, so that on an error it is dropped before the loaders are joined: they
        // stop at their next send.
        let loaded = loaded;
        for (key, done) in loaded.iter() {
            handle(key, done)?;
        }
        Ok(())
    })
}
