//! The relay's store: every document of every workspace the relay serves, and its directory of
//! workspaces and member tokens, in one redb file (`relay.redb`).
//!
//! Document rows are keyed `workspace/document`, so one workspace's documents are a key range of
//! their own and no lookup can reach another's. The store keeps no documents in memory: the
//! relay decides what stays loaded ([`StoredDocument`] is what it holds).

use std::fs;
use std::path::{Path, PathBuf};

use automerge::{Automerge, ChangeHash};
use rapport_model::DocumentId;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::error::{OpenError, StorageContext, StoreError};
use crate::replica::{check_format, check_magic, check_read_only, open_error, storage_error};
use crate::rows::{self, SavedBytes, Stored};
use crate::tables::{CHUNKS, FORMAT_KEY, HEADS, META, SNAPSHOTS};

/// The relay's file, inside its data directory.
pub const RELAY_FILE: &str = "relay.redb";
/// redb's page cache for the relay's file. Its default (1 GiB) would keep every page the
/// integrity check reads on open, so the relay's memory would grow with the size of what it
/// stores; bounded, it holds what connections use.
const RELAY_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// The format this code writes and reads.
const RELAY_FORMAT: &[u8] = b"rapport-relay/1";

/// Workspace name -> workspace document id.
const WORKSPACES: TableDefinition<&str, &str> = TableDefinition::new("workspaces");
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
}

impl StoredDocument {
    /// A document not stored yet (its first commit creates its rows).
    pub fn new() -> Self {
        Self {
            doc: Automerge::new(),
            stored: Stored::default(),
        }
    }
}

impl Default for StoredDocument {
    fn default() -> Self {
        Self::new()
    }
}

/// The relay's durable store. Every method is a short redb transaction; it may be shared
/// between threads.
#[derive(Debug)]
pub struct RelayStore {
    db: Database,
    path: PathBuf,
}

impl RelayStore {
    /// Opens the store in `dir`, creating the directory and the file if they do not exist. A
    /// file that is not a relay store, or is damaged, is refused untouched.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        fs::create_dir_all(dir).map_err(|source| OpenError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(RELAY_FILE);
        let existed = path.exists();
        let db = if existed {
            check_magic(&path)?;
            // Refused through a read-only handle first, so that a file that is not a relay
            // store is left exactly as it was.
            check_read_only(&path, |db| {
                let txn = db
                    .begin_read()
                    .map_err(|e| storage_error(&path, e.into()))?;
                check_format(&txn, &path, RELAY_FORMAT).map(drop)
            })?;
            Database::builder()
                .set_check_integrity_on_open(true)
                .set_cache_size(RELAY_CACHE_BYTES)
                .open(&path)
                .map_err(|e| open_error(&path, e))?
        } else {
            Database::builder()
                .set_cache_size(RELAY_CACHE_BYTES)
                .create(&path)
                .map_err(|e| open_error(&path, e))?
        };
        let store = Self { db, path };
        store.check_or_write_format(existed)?;
        Ok(store)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks the format tag of a file that `existed`, or writes it into a new one. A file that
    /// existed without the tag is refused, whatever it holds: the transaction that would claim
    /// it is never committed.
    fn check_or_write_format(&self, existed: bool) -> Result<(), OpenError> {
        let storage = |source: redb::Error| OpenError::Storage {
            path: self.path.clone(),
            source,
        };
        let not_relay = |reason: String| OpenError::NotAReplica {
            path: self.path.clone(),
            reason,
        };
        let txn = self.db.begin_write().map_err(|e| storage(e.into()))?;
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
            for table in [SNAPSHOTS, HEADS, TOKENS] {
                txn.open_table(table).map_err(|e| storage(e.into()))?;
            }
            txn.open_table(CHUNKS).map_err(|e| storage(e.into()))?;
            txn.open_table(WORKSPACES).map_err(|e| storage(e.into()))?;
        }
        txn.commit().map_err(|e| storage(e.into()))?;
        Ok(())
    }

    /// Loads document `id` of `workspace`; `None` when the workspace has no such document.
    pub fn load(
        &self,
        workspace: DocumentId,
        id: DocumentId,
    ) -> Result<Option<StoredDocument>, StoreError> {
        let txn = self.db.begin_read().doing("loading a document")?;
        Ok(rows::load(&txn, &key(workspace, id), id)?
            .map(|(doc, stored)| StoredDocument { doc, stored }))
    }

    /// Document `id` of `workspace` as stored, in bytes `Automerge::load` reads whole with the
    /// heads they hold, without loading it.
    pub fn saved(
        &self,
        workspace: DocumentId,
        id: DocumentId,
    ) -> Result<Option<SavedBytes>, StoreError> {
        let txn = self.db.begin_read().doing("reading a stored document")?;
        rows::saved(&txn, &key(workspace, id))
    }

    /// Every document of `workspace` with its heads, without loading any.
    pub fn summary(
        &self,
        workspace: DocumentId,
    ) -> Result<Vec<(DocumentId, Vec<ChangeHash>)>, StoreError> {
        let txn = self.db.begin_read().doing("listing document heads")?;
        Ok(rows::heads_under(&txn, &format!("{workspace}/"))?
            .into_iter()
            .filter_map(|(id, heads)| Some((id.parse().ok()?, heads)))
            .collect())
    }

    /// Commits what changed in `document` since `before` (its heads when it was loaded or last
    /// committed), durably, and compacts its rows when due. Nothing to commit when the heads did
    /// not move. On error nothing was written: the caller must drop its copy and reload.
    pub fn commit(
        &self,
        workspace: DocumentId,
        id: DocumentId,
        document: &mut StoredDocument,
        before: &[ChangeHash],
    ) -> Result<(), StoreError> {
        let heads = document.doc.get_heads();
        if heads == before {
            return Ok(());
        }
        let key = key(workspace, id);
        let chunk = document.doc.save_after(before);
        let doing = "committing a change";
        let txn = self.db.begin_write().doing(doing)?;
        rows::append(&txn, &key, &document.stored, &chunk, &heads)?;
        txn.commit().doing(doing)?;
        document.stored.appended(chunk.len());
        if document.stored.compaction_due() {
            let snapshot = document.doc.save();
            let doing = "compacting a document";
            let txn = self.db.begin_write().doing(doing)?;
            rows::replace_with_snapshot(&txn, &key, &snapshot, &heads)?;
            txn.commit().doing(doing)?;
            document.stored.compacted(snapshot.len());
        }
        Ok(())
    }

    /// The heads of document `id` of `workspace` as stored, without loading it.
    pub fn heads(
        &self,
        workspace: DocumentId,
        id: DocumentId,
    ) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let txn = self.db.begin_read().doing("reading document heads")?;
        rows::heads(&txn, &key(workspace, id))
    }

    /// Whether document `id` of `workspace` is stored.
    pub fn contains(&self, workspace: DocumentId, id: DocumentId) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().doing("looking up a document")?;
        rows::exists(&txn, &key(workspace, id))
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
        let doing = "importing documents";
        let txn = self.db.begin_write().doing(doing)?;
        for (id, bytes, heads) in documents {
            if !heads.is_empty() {
                rows::replace_with_snapshot(&txn, &key(workspace, *id), bytes, heads)?;
            }
        }
        txn.commit().doing(doing)?;
        Ok(())
    }

    /// The workspace named `name`, if there is one.
    pub fn workspace_named(&self, name: &str) -> Result<Option<DocumentId>, StoreError> {
        let doing = "looking up a workspace";
        let txn = self.db.begin_read().doing(doing)?;
        let table = txn.open_table(WORKSPACES).doing(doing)?;
        let id = table.get(name).doing(doing)?;
        id.map(|id| parse_id(id.value(), "workspaces")).transpose()
    }

    /// Records that workspace `name` is document `id`.
    pub fn put_workspace(&self, name: &str, id: DocumentId) -> Result<(), StoreError> {
        let doing = "recording a workspace";
        let txn = self.db.begin_write().doing(doing)?;
        txn.open_table(WORKSPACES)
            .doing(doing)?
            .insert(name, id.to_string().as_str())
            .doing(doing)?;
        txn.commit().doing(doing)?;
        Ok(())
    }

    /// Stores a token's record under its public id.
    pub fn put_token(&self, token_id: &str, record: &TokenRecord) -> Result<(), StoreError> {
        let doing = "storing a token";
        let json = serde_json::to_vec(record).map_err(|e| StoreError::DamagedIndex {
            table: "tokens",
            reason: e.to_string(),
        })?;
        let txn = self.db.begin_write().doing(doing)?;
        txn.open_table(TOKENS)
            .doing(doing)?
            .insert(token_id, json.as_slice())
            .doing(doing)?;
        txn.commit().doing(doing)?;
        Ok(())
    }

    /// The record of the token with public id `token_id`.
    pub fn token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let doing = "reading a token";
        let txn = self.db.begin_read().doing(doing)?;
        let table = txn.open_table(TOKENS).doing(doing)?;
        let row = table.get(token_id).doing(doing)?;
        row.map(|json| {
            serde_json::from_slice(json.value()).map_err(|e| StoreError::DamagedIndex {
                table: "tokens",
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    /// Removes the tokens of `user` in `workspace`; returns the public ids removed.
    pub fn revoke_user(
        &self,
        workspace: DocumentId,
        user: &str,
    ) -> Result<Vec<String>, StoreError> {
        let doing = "revoking tokens";
        let txn = self.db.begin_write().doing(doing)?;
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
    }
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
