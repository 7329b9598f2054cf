//! The relay's store: every document of every workspace the relay serves, and its directory of
//! workspaces and member tokens, in one redb file (`relay.redb`).
//!
//! Document rows are keyed `workspace/document`, so one workspace's documents are a key range of
//! their own and no lookup can reach another's. The store keeps no documents in memory: the
//! relay decides what stays loaded ([`StoredDocument`] is what it holds).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};
use rapport_model::DocumentId;
use redb::{
    Builder, Database, DatabaseError, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use serde::{Deserialize, Serialize};

use crate::error::{OpenError, StorageContext, StoreError};
use crate::relay::commits::CommitQueue;
use crate::replica::{check_format, check_magic, check_read_only, open_error, storage_error};
use crate::rows::{self, SavedBytes, Stored};
use crate::tables::{CHUNKS, FORMAT_KEY, HEADS, META, SNAPSHOTS};

mod commits;
mod unchecked;
mod webhooks;

pub use commits::DocumentCommit;
pub use unchecked::Checked;
pub use webhooks::{DueEvents, OUTBOX_PER_WORKSPACE, OutboxEvent, PendingEvent, WebhookRecord};

/// The relay's file, inside its data directory.
pub const RELAY_FILE: &str = "relay.redb";
/// redb's page cache for the relay's file. Its default (1 GiB) would keep every page the
/// integrity check reads on open, so the relay's memory would grow with the size of what it
/// stores; bounded, it holds what connections use.
const RELAY_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// How often a store closed by a disk error tries to reopen its file.
const REOPEN_EVERY: Duration = Duration::from_millis(250);
/// The format this code writes and reads.
const RELAY_FORMAT: &[u8] = b"rapport-relay/1";

/// Workspace name -> workspace document id.
const WORKSPACES: TableDefinition<&str, &str> = TableDefinition::new("workspaces");
/// `workspace/document` -> the bytes of a document's rows that did not load (its snapshot,
/// then its chunks), moved aside when a member's copy replaced them: kept for whoever wants to
/// dig in them, never read by the relay.
const DAMAGED: TableDefinition<&str, &[u8]> = TableDefinition::new("damaged");
/// Token id (the public half of a token) -> JSON [`TokenRecord`].
const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");

/// A member's token as the relay keeps it: who it names, and a hash of its secret half (the
/// secret itself is never stored).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    /// The workspace document's id.
    pub workspace: DocumentId,
    /// The member's user name.
    pub user: String,
    /// Their team.
    pub team: String,
    /// Their role.
    pub role: String,
    /// SHA-256 of the token's secret half, hex.
    pub secret_sha256: String,
}

/// A document the relay holds in memory, with what is stored of it.
#[derive(Debug)]
pub struct StoredDocument {
    /// The document.
    pub doc: Automerge,
    stored: Stored,
    /// For a document whose rows did not load: the heads they were stored with.
    damaged: Option<Vec<ChangeHash>>,
}

impl StoredDocument {
    /// A document not stored yet (its first commit creates its rows).
    pub fn new() -> Self {
        Self {
            doc: Automerge::new(),
            stored: Stored::default(),
            damaged: None,
        }
    }

    /// A document loaded from its rows.
    fn loaded(doc: Automerge, stored: Stored) -> Self {
        Self {
            doc,
            stored,
            damaged: None,
        }
    }

    /// For a document whose stored rows did not load (it starts empty, so that a member's
    /// sync sends it whole): the heads those rows were stored with.
    pub fn damaged_heads(&self) -> Option<&[ChangeHash]> {
        self.damaged.as_deref()
    }
}

impl Default for StoredDocument {
    fn default() -> Self {
        Self::new()
    }
}

/// The relay's durable store. Every method is a short redb transaction; it may be shared
/// between threads.
///
/// A disk error (a full disk, a failed write or sync) fails the transaction it happens in, and
/// nothing of it is stored. redb then refuses every later operation on that database, so the
/// store closes it and reopens the file at the next use, every [`REOPEN_EVERY`] at most: until
/// that works, each method returns [`StoreError::Unavailable`], and once it does the relay goes
/// on with what was durable, without a restart.
#[derive(Debug)]
pub struct RelayStore {
    /// `None` while closed after a disk error.
    db: RwLock<Option<Arc<Database>>>,
    path: PathBuf,
    disk: Disk,
    /// When a closed store may next try to reopen.
    reopen_at: Mutex<Instant>,
    /// Changes waiting to be written together.
    commits: CommitQueue,
    /// How many undelivered webhook events each workspace keeps.
    outbox_limit: usize,
}

/// What the store's file is written through.
#[derive(Clone, Debug)]
enum Disk {
    /// The file itself.
    File,
    /// A disk tests can fill.
    #[cfg(feature = "faults")]
    Faulty(crate::faults::FaultyDisk),
}

impl Disk {
    /// Opens (or creates) the database at `path`.
    fn open(&self, builder: &Builder, path: &Path) -> Result<Database, DatabaseError> {
        match self {
            Disk::File => builder.create(path),
            #[cfg(feature = "faults")]
            Disk::Faulty(disk) => {
                let file = fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(path)?;
                builder.create_with_backend(disk.backend(file)?)
            }
        }
    }
}

impl RelayStore {
    /// Opens the store in `dir`, creating the directory and the file if they do not exist. A
    /// file that is not a relay store, or is damaged, is refused untouched.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        Self::open_with(dir, Disk::File)
    }

    /// [`RelayStore::open`], with the file written through `disk`.
    #[cfg(feature = "faults")]
    pub fn open_on(dir: &Path, disk: &crate::faults::FaultyDisk) -> Result<Self, OpenError> {
        Self::open_with(dir, Disk::Faulty(disk.clone()))
    }

    fn open_with(dir: &Path, disk: Disk) -> Result<Self, OpenError> {
        fs::create_dir_all(dir).map_err(|source| OpenError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(RELAY_FILE);
        let existed = path.exists();
        if existed {
            check_magic(&path)?;
            // Refused through a read-only handle first, so that a file that is not a relay
            // store is left exactly as it was.
            check_read_only(&path, |db| {
                let txn = db
                    .begin_read()
                    .map_err(|e| storage_error(&path, e.into()))?;
                check_format(&txn, &path, RELAY_FORMAT).map(drop)
            })?;
        }
        let db = disk
            .open(&builder(existed), &path)
            .map_err(|e| open_error(&path, e))?;
        check_or_write_format(&db, &path, existed)?;
        Ok(Self {
            db: RwLock::new(Some(Arc::new(db))),
            path,
            disk,
            reopen_at: Mutex::new(Instant::now()),
            commits: CommitQueue::default(),
            outbox_limit: webhooks::OUTBOX_PER_WORKSPACE,
        })
    }

    /// Runs `f` on the database, reopening it first if a disk error closed it; a disk error in
    /// `f` closes it.
    fn with_db<R>(
        &self,
        f: impl FnOnce(&Database) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let db = self.database()?;
        let result = f(&db);
        if let Err(error) = &result
            && error.is_disk_error()
        {
            self.close_after(&db, error);
        }
        result
    }

    /// The open database, or a new opening of the file if a disk error closed it.
    fn database(&self) -> Result<Arc<Database>, StoreError> {
        if let Some(db) = read_lock(&self.db).as_ref() {
            return Ok(db.clone());
        }
        let mut slot = write_lock(&self.db);
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        let unavailable = |reason: String| StoreError::Unavailable {
            path: self.path.clone(),
            reason,
        };
        {
            let mut reopen_at = self.reopen_at.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if now < *reopen_at {
                return Err(unavailable("reopening it failed a moment ago".into()));
            }
            *reopen_at = now + REOPEN_EVERY;
        }
        let db = self
            .disk
            .open(&builder(true), &self.path)
            .map_err(|e| unavailable(e.to_string()))?;
        tracing::info!(path = %self.path.display(), "relay store reopened after a disk error");
        let db = Arc::new(db);
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Closes `db` after `error`, unless another thread has already replaced it.
    fn close_after(&self, db: &Arc<Database>, error: &StoreError) {
        let mut slot = write_lock(&self.db);
        if slot.as_ref().is_some_and(|open| Arc::ptr_eq(open, db)) {
            tracing::error!(
                path = %self.path.display(),
                %error,
                "relay store closed after a disk error; nothing of the failed write is stored"
            );
            *slot = None;
        }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads document `id` of `workspace`; `None` when the workspace has no such document.
    ///
    /// A document whose rows do not load (a damaged disk, a bad copy) comes back empty and
    /// marked damaged, with an error logged: a member's sync then sends it whole, and its next
    /// commit moves the damaged rows aside and stores the document whole in their place. So one
    /// damaged document neither stops the members who write to it from syncing nor stays
    /// damaged once one of them has it.
    pub fn load(
        &self,
        workspace: DocumentId,
        id: DocumentId,
    ) -> Result<Option<StoredDocument>, StoreError> {
        let key = key(workspace, id);
        self.with_db(|db| {
            let txn = db.begin_read().doing("loading a document")?;
            match rows::load(&txn, &key, id) {
                Ok(loaded) => Ok(loaded.map(|(doc, stored)| StoredDocument::loaded(doc, stored))),
                Err(error @ StoreError::DamagedDocument { .. }) => {
                    tracing::error!(
                        %key,
                        %error,
                        "a stored document does not load; the next member to sync it restores it"
                    );
                    Ok(Some(StoredDocument {
                        damaged: Some(rows::heads(&txn, &key)?.unwrap_or_default()),
                        ..StoredDocument::new()
                    }))
                }
                Err(other) => Err(other),
            }
        })
    }

    /// Document `id` of `workspace` as stored, in bytes `Automerge::load` reads whole with the
    /// heads they hold, without loading it.
    pub fn saved(
        &self,
        workspace: DocumentId,
        id: DocumentId,
    ) -> Result<Option<SavedBytes>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().doing("reading a stored document")?;
            rows::saved(&txn, &key(workspace, id))
        })
    }

    /// Every document of `workspace` with its heads, without loading any.
    pub fn summary(
        &self,
        workspace: DocumentId,
    ) -> Result<Vec<(DocumentId, Vec<ChangeHash>)>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().doing("listing document heads")?;
            Ok(rows::heads_under(&txn, &format!("{workspace}/"))?
                .into_iter()
                .filter_map(|(id, heads)| Some((id.parse().ok()?, heads)))
                .collect())
        })
    }

    /// The heads of document `id` of `workspace` as stored, without loading it.
    pub fn heads(
        &self,
        workspace: DocumentId,
        id: DocumentId,
    ) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().doing("reading document heads")?;
            rows::heads(&txn, &key(workspace, id))
        })
    }

    /// Whether document `id` of `workspace` is stored.
    pub fn contains(&self, workspace: DocumentId, id: DocumentId) -> Result<bool, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().doing("looking up a document")?;
            rows::exists(&txn, &key(workspace, id))
        })
    }

    /// Whether each of documents `ids` of `workspace` is stored, in order, read in one
    /// transaction.
    pub fn contains_each(
        &self,
        workspace: DocumentId,
        ids: &[DocumentId],
    ) -> Result<Vec<bool>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().doing("looking up documents")?;
            ids.iter()
                .map(|id| rows::exists(&txn, &key(workspace, *id)))
                .collect()
        })
    }

    /// Stores documents new to `workspace`, each as bytes `Automerge::load` reads whole and
    /// the heads they load to, all in one durable transaction (a client pushing a workspace the
    /// relay has never seen). The caller makes sure none of them is stored yet: a stored
    /// document's rows would be replaced. The relay calls this through its workspace hub only,
    /// which keeps the workspace digest in step.
    pub fn import(
        &self,
        workspace: DocumentId,
        documents: &[(DocumentId, &[u8], Vec<ChangeHash>)],
    ) -> Result<(), StoreError> {
        self.import_with_events(workspace, documents, &[])
    }

    /// [`RelayStore::import`], recording `events` in the webhook outbox in the same
    /// transaction.
    pub fn import_with_events(
        &self,
        workspace: DocumentId,
        documents: &[(DocumentId, &[u8], Vec<ChangeHash>)],
        events: &[OutboxEvent],
    ) -> Result<(), StoreError> {
        self.with_db(|db| {
            let doing = "importing documents";
            let txn = db.begin_write().doing(doing)?;
            for (id, bytes, heads) in documents {
                if !heads.is_empty() {
                    rows::replace_with_snapshot(&txn, &key(workspace, *id), bytes, heads)?;
                }
            }
            if !events.is_empty() {
                webhooks::enqueue(&txn, events, self.outbox_limit)?;
            }
            txn.commit().doing(doing)?;
            Ok(())
        })
    }

    /// The workspace named `name`, if there is one.
    pub fn workspace_named(&self, name: &str) -> Result<Option<DocumentId>, StoreError> {
        self.with_db(|db| {
            let doing = "looking up a workspace";
            let txn = db.begin_read().doing(doing)?;
            let table = txn.open_table(WORKSPACES).doing(doing)?;
            let id = table.get(name).doing(doing)?;
            id.map(|id| parse_id(id.value(), "workspaces")).transpose()
        })
    }

    /// Records that workspace `name` is document `id`.
    pub fn put_workspace(&self, name: &str, id: DocumentId) -> Result<(), StoreError> {
        self.with_db(|db| {
            let doing = "recording a workspace";
            let txn = db.begin_write().doing(doing)?;
            txn.open_table(WORKSPACES)
                .doing(doing)?
                .insert(name, id.to_string().as_str())
                .doing(doing)?;
            txn.commit().doing(doing)?;
            Ok(())
        })
    }

    /// Stores a token's record under its public id.
    pub fn put_token(&self, token_id: &str, record: &TokenRecord) -> Result<(), StoreError> {
        self.with_db(|db| {
            let doing = "storing a token";
            let json = serde_json::to_vec(record).map_err(|e| StoreError::DamagedIndex {
                table: "tokens",
                reason: e.to_string(),
            })?;
            let txn = db.begin_write().doing(doing)?;
            txn.open_table(TOKENS)
                .doing(doing)?
                .insert(token_id, json.as_slice())
                .doing(doing)?;
            txn.commit().doing(doing)?;
            Ok(())
        })
    }

    /// The record of the token with public id `token_id`.
    pub fn token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.with_db(|db| {
            let doing = "reading a token";
            let txn = db.begin_read().doing(doing)?;
            let table = txn.open_table(TOKENS).doing(doing)?;
            let row = table.get(token_id).doing(doing)?;
            row.map(|json| {
                serde_json::from_slice(json.value()).map_err(|e| StoreError::DamagedIndex {
                    table: "tokens",
                    reason: e.to_string(),
                })
            })
            .transpose()
        })
    }

    /// Removes the tokens of `user` in `workspace`; returns the public ids removed.
    pub fn revoke_user(
        &self,
        workspace: DocumentId,
        user: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.with_db(|db| {
            let doing = "revoking tokens";
            let txn = db.begin_write().doing(doing)?;
            let mut removed = Vec::new();
            {
                let mut table = txn.open_table(TOKENS).doing(doing)?;
                table
                    .retain(|id, json| {
                        let matches = serde_json::from_slice::<TokenRecord>(json)
                            .is_ok_and(|r| r.workspace == workspace && r.user == user);
                        if matches {
                            removed.push(id.to_owned());
                        }
                        !matches
                    })
                    .doing(doing)?;
            }
            txn.commit().doing(doing)?;
            Ok(removed)
        })
    }
}

/// Checks the format tag of a file that `existed`, or writes it into a new one. A file that
/// existed without the tag is refused, whatever it holds: the transaction that would claim
/// it is never committed.
fn check_or_write_format(db: &Database, path: &Path, existed: bool) -> Result<(), OpenError> {
    let storage = |source: redb::Error| OpenError::Storage {
        path: path.to_owned(),
        source,
    };
    let not_relay = |reason: String| OpenError::NotAReplica {
        path: path.to_owned(),
        reason,
    };
    let txn = db.begin_write().map_err(|e| storage(e.into()))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| storage(e.into()))?;
        let format = meta
            .get(FORMAT_KEY)
            .map_err(|e| storage(e.into()))?
            .map(|v| v.value().to_vec());
        match format.as_deref() {
            Some(RELAY_FORMAT) => {}
            Some(other) => {
                return Err(not_relay(format!(
                    "it is a {} file, not a relay store",
                    String::from_utf8_lossy(other)
                )));
            }
            None if existed || meta.len().map_err(|e| storage(e.into()))? > 0 => {
                return Err(not_relay("it has no format tag".into()));
            }
            None => {
                meta.insert(FORMAT_KEY, RELAY_FORMAT)
                    .map_err(|e| storage(e.into()))?;
            }
        }
        for table in [
            SNAPSHOTS,
            HEADS,
            TOKENS,
            webhooks::WEBHOOKS,
            webhooks::OUTBOX,
        ] {
            txn.open_table(table).map_err(|e| storage(e.into()))?;
        }
        // Created here, so that reading it never finds it missing in a file made before it.
        txn.open_table(unchecked::UNCHECKED)
            .map_err(|e| storage(e.into()))?;
        txn.open_table(CHUNKS).map_err(|e| storage(e.into()))?;
        txn.open_table(WORKSPACES).map_err(|e| storage(e.into()))?;
    }
    txn.commit().map_err(|e| storage(e.into()))?;
    Ok(())
}

/// How the relay's file is opened: an existing one is checked whole first.
fn builder(existed: bool) -> Builder {
    let mut builder = Database::builder();
    builder
        .set_check_integrity_on_open(existed)
        .set_cache_size(RELAY_CACHE_BYTES);
    builder
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn key(workspace: DocumentId, id: DocumentId) -> String {
    format!("{workspace}/{id}")
}

fn parse_id(text: &str, table: &'static str) -> Result<DocumentId, StoreError> {
    text.parse().map_err(|_| StoreError::DamagedIndex {
        table,
        reason: format!("'{text}' is not a document id"),
    })
}
