//! Opening and creating a replica, and the identity it belongs to.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::{ActorId, ChangeHash};
use rapport_model::{DocumentId, Team, UserName};
use redb::{Database, ReadableDatabase, TableError, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::documents::{DocumentCache, PendingChange};
use crate::error::{OpenError, StorageContext, StoreError};
use crate::tables::{
    self, BOARDS_KEPT_KEY, FORMAT, FORMAT_KEY, HEADS_KEPT_KEY, IDENTITY_KEY, INDEX_LAYOUT,
    INDEX_LAYOUT_KEY, META, REMOTE_KEY, REPORTS_KEPT_KEY,
};

/// The file a replica lives in, inside its data directory.
pub const REPLICA_FILE: &str = "replica.redb";

/// Who this replica belongs to and which workspace it holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    /// The workspace document's id.
    pub workspace: DocumentId,
    /// The user this replica acts for.
    pub user: String,
    /// Their team.
    pub team: String,
}

impl Identity {
    /// The user, parsed.
    pub fn user(&self) -> Option<UserName> {
        self.user.parse().ok()
    }

    /// The team, parsed.
    pub fn team(&self) -> Option<Team> {
        self.team.parse().ok()
    }
}

/// One user's durable replica of a workspace: Automerge documents and derived indexes in redb.
///
/// Every write is committed durably before the method returns. One process at a time holds a
/// replica open (redb's file lock); a second gets [`OpenError::InUse`].
pub struct Replica {
    pub(crate) db: Database,
    pub(crate) path: PathBuf,
    pub(crate) user: UserName,
    pub(crate) team: Team,
    pub(crate) workspace: DocumentId,
    pub(crate) docs: DocumentCache,
    /// While holding ([`Replica::hold_remote_changes`]): changes from elsewhere applied in memory
    /// and not committed yet, in the order they were applied.
    pub(crate) remote_hold: Option<Vec<PendingChange>>,
    /// Write transactions begun so far ([`Replica::begin_write`]).
    pub(crate) writes: AtomicU64,
    /// The stored heads of every document as [`Replica::summary`] last read them, with the count
    /// of writes then: kept until the next write.
    pub(crate) summary: Mutex<Option<(u64, Summary)>>,
}

/// Every document stored here with its heads.
pub type Summary = Vec<(DocumentId, Vec<ChangeHash>)>;

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("path", &self.path)
            .field("user", &self.user)
            .field("workspace", &self.workspace)
            .finish()
    }
}

impl Replica {
    /// Opens the replica in `dir`.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        let path = dir.join(REPLICA_FILE);
        if !path.is_file() {
            return Err(OpenError::Missing { path });
        }
        check_magic(&path)?;
        check_read_only(&path, |db| read_identity(db, &path).map(drop))?;
        // Every page's checksum is verified before the file is trusted: a damaged file is an
        // error here instead of a panic somewhere later in redb.
        let db = Database::builder()
            .set_check_integrity_on_open(true)
            .open(&path)
            .map_err(|e| open_error(&path, e))?;
        let identity = read_identity(&db, &path)?;
        let not_replica = |reason: &str| OpenError::NotAReplica {
            path: path.clone(),
            reason: reason.to_owned(),
        };
        let user = identity
            .user()
            .ok_or_else(|| not_replica("its user name is invalid"))?;
        let team = identity
            .team()
            .ok_or_else(|| not_replica("its team is invalid"))?;
        let mut replica = Self {
            db,
            path,
            user,
            team,
            workspace: identity.workspace,
            docs: DocumentCache::new(session_actor()),
            remote_hold: None,
            writes: AtomicU64::new(0),
            summary: Mutex::new(None),
        };
        // Replicas written before documents had heads rows, before the boards' tables existed,
        // or with an index in an earlier layout, get them once.
        let backfilled = replica
            .backfill_heads_once()
            .and_then(|()| replica.rebuild_index_layout_once())
            .and_then(|()| replica.backfill_boards_once());
        backfilled.map_err(|source| OpenError::Initialize {
            path: replica.path.clone(),
            source: Box::new(source),
        })?;
        Ok(replica)
    }

    /// Creates an empty replica in `dir` (creating the directory) for `user` of `team` in the
    /// workspace whose document is `workspace`. The workspace document itself is written by the
    /// caller ([`Replica::create_workspace`] or a sync).
    pub fn create(
        dir: &Path,
        workspace: DocumentId,
        user: UserName,
        team: Team,
    ) -> Result<Self, OpenError> {
        fs::create_dir_all(dir).map_err(|source| OpenError::Directory {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(REPLICA_FILE);
        if path.exists() {
            return Err(OpenError::AlreadyExists { path });
        }
        let db = Database::create(&path).map_err(|e| open_error(&path, e))?;
        let identity = Identity {
            workspace,
            user: user.to_string(),
            team: team.to_string(),
        };
        if let Err(source) = write_identity(&db, &identity) {
            drop(db);
            let _ = fs::remove_file(&path);
            return Err(OpenError::Storage { path, source });
        }
        Ok(Self {
            db,
            path,
            user,
            team,
            workspace,
            docs: DocumentCache::new(session_actor()),
            remote_hold: None,
            writes: AtomicU64::new(0),
            summary: Mutex::new(None),
        })
    }

    /// Begins a write transaction. Each is counted, so that what was kept from reading the
    /// stored heads before it ([`Replica::summary`]) is read again after it. Every method that
    /// writes begins and commits within its own call, so no read comes between the two.
    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, redb::TransactionError> {
        self.writes.fetch_add(1, Ordering::AcqRel);
        self.db.begin_write()
    }

    /// The identity this replica acts as.
    pub fn identity(&self) -> Identity {
        Identity {
            workspace: self.workspace,
            user: self.user.to_string(),
            team: self.team.to_string(),
        }
    }

    /// The user this replica acts for.
    pub fn user(&self) -> &UserName {
        &self.user
    }

    /// Their team.
    pub fn team(&self) -> Team {
        self.team
    }

    /// The workspace document's id.
    pub fn workspace_id(&self) -> DocumentId {
        self.workspace
    }

    /// The replica file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The relay this replica syncs with, if one was set.
    pub fn remote(&self) -> Result<Option<Remote>, StoreError> {
        let doing = "reading the relay settings";
        let txn = self.db.begin_read().doing(doing)?;
        let meta = txn.open_table(META).doing(doing)?;
        let Some(json) = meta.get(REMOTE_KEY).doing(doing)? else {
            return Ok(None);
        };
        serde_json::from_slice(json.value())
            .map(Some)
            .map_err(|e| StoreError::DamagedIndex {
                table: "meta",
                reason: e.to_string(),
            })
    }

    /// Sets the relay this replica syncs with. Setting the one it has writes nothing.
    pub fn set_remote(&mut self, remote: &Remote) -> Result<(), StoreError> {
        // Unreadable settings are replaced, like any others.
        if self.remote().ok().flatten().as_ref() == Some(remote) {
            return Ok(());
        }
        let doing = "saving the relay settings";
        let json = serde_json::to_vec(remote).map_err(|e| StoreError::DamagedIndex {
            table: "meta",
            reason: e.to_string(),
        })?;
        let txn = self.begin_write().doing(doing)?;
        txn.open_table(META)
            .doing(doing)?
            .insert(REMOTE_KEY, json.as_slice())
            .doing(doing)?;
        txn.commit().doing(doing)?;
        Ok(())
    }
}

/// The relay a replica syncs with, the member token it presents, and the extra certificate
/// authority its `wss://` certificate may come from.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Remote {
    /// `ws://` or `wss://` URL, as given to `rapport join`.
    pub url: String,
    /// The member token (absent for a relay that asks for none).
    pub token: Option<String>,
    /// PEM certificates of a CA trusted for this relay besides the system's roots (a company
    /// or self-signed CA), kept here rather than as a path so the replica does not depend on
    /// the file staying where it was. Absent from remotes saved before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("ca_cert", &self.ca_cert.as_ref().map(|_| "PEM"))
            .finish()
    }
}

/// A fresh actor for this process's edits: two processes never share one, even when a replica
/// directory is copied, so their changes can never collide.
fn session_actor() -> ActorId {
    ActorId::random()
}

/// Refuses, before redb touches it, a file that does not start like a redb database.
pub(crate) fn check_magic(path: &Path) -> Result<(), OpenError> {
    const REDB_MAGIC: &[u8] = b"redb\x1a\x0a\xa9\x0d\x0a";
    let mut head = [0u8; REDB_MAGIC.len()];
    let read = fs::File::open(path).and_then(|mut file| file.read_exact(&mut head));
    match read {
        Ok(()) if head == REDB_MAGIC => Ok(()),
        Ok(()) => Err(OpenError::NotAReplica {
            path: path.to_owned(),
            reason: "it is not a redb database".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(OpenError::NotAReplica {
            path: path.to_owned(),
            reason: "it is truncated".into(),
        }),
        Err(source) => Err(OpenError::Directory {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Looks at an existing file through a read-only handle, which writes nothing, so that a foreign
/// redb database is refused before a writable open could touch it. A database that was not shut
/// down cleanly cannot be read that way (it needs redb's repair); that one is opened writable.
///
/// A read-only handle cannot verify checksums, and redb may panic on a damaged page; that is
/// caught here and reported as a damaged file.
pub(crate) fn check_read_only(
    path: &Path,
    look_inside: impl Fn(&redb::ReadOnlyDatabase) -> Result<(), OpenError>,
) -> Result<(), OpenError> {
    let look = || match redb::ReadOnlyDatabase::open(path) {
        Ok(db) => look_inside(&db),
        Err(redb::DatabaseError::RepairAborted) => Ok(()),
        Err(other) => Err(open_error(path, other)),
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(look)).unwrap_or_else(|_| {
        Err(OpenError::NotAReplica {
            path: path.to_owned(),
            reason: "it is damaged".into(),
        })
    })
}

pub(crate) fn open_error(path: &Path, error: redb::DatabaseError) -> OpenError {
    match error {
        redb::DatabaseError::DatabaseAlreadyOpen => OpenError::InUse {
            path: path.to_owned(),
        },
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
            OpenError::NotAReplica {
                path: path.to_owned(),
                reason,
            }
        }
        redb::DatabaseError::Storage(redb::StorageError::Io(source)) => OpenError::Directory {
            path: path.to_owned(),
            source,
        },
        other => OpenError::Storage {
            path: path.to_owned(),
            source: other.into(),
        },
    }
}

fn read_identity(db: &impl ReadableDatabase, path: &Path) -> Result<Identity, OpenError> {
    let txn = db.begin_read().map_err(|e| storage_error(path, e.into()))?;
    let meta = check_format(&txn, path, FORMAT)?;
    let not_replica = |reason: String| OpenError::NotAReplica {
        path: path.to_owned(),
        reason,
    };
    let identity = meta
        .get(IDENTITY_KEY)
        .map_err(|e| storage_error(path, e.into()))?
        .ok_or_else(|| not_replica("it has no identity".into()))?;
    serde_json::from_slice(identity.value())
        .map_err(|e| not_replica(format!("its identity does not decode: {e}")))
}

/// The `meta` table of a Rapport file whose format tag is `expected`; any other file (no
/// metadata, no tag, another tag) is refused.
pub(crate) fn check_format(
    txn: &redb::ReadTransaction,
    path: &Path,
    expected: &[u8],
) -> Result<redb::ReadOnlyTable<&'static str, &'static [u8]>, OpenError> {
    let not_ours = |reason: String| OpenError::NotAReplica {
        path: path.to_owned(),
        reason,
    };
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(TableError::TableDoesNotExist(_)) => {
            return Err(not_ours("it has no rapport metadata".into()));
        }
        Err(e) => return Err(storage_error(path, e.into())),
    };
    let format = meta
        .get(FORMAT_KEY)
        .map_err(|e| storage_error(path, e.into()))?;
    match format.as_ref().map(|v| v.value()) {
        Some(found) if found == expected => {}
        Some(other) => {
            return Err(not_ours(format!(
                "unsupported format {}",
                String::from_utf8_lossy(other)
            )));
        }
        None => return Err(not_ours("it has no format tag".into())),
    }
    drop(format);
    Ok(meta)
}

pub(crate) fn storage_error(path: &Path, source: redb::Error) -> OpenError {
    OpenError::Storage {
        path: path.to_owned(),
        source,
    }
}

fn write_identity(db: &Database, identity: &Identity) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert(FORMAT_KEY, FORMAT)?;
        let json =
            serde_json::to_vec(identity).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
        meta.insert(IDENTITY_KEY, json.as_slice())?;
        meta.insert(HEADS_KEPT_KEY, b"1".as_slice())?;
        meta.insert(BOARDS_KEPT_KEY, b"1".as_slice())?;
        meta.insert(REPORTS_KEPT_KEY, b"1".as_slice())?;
        meta.insert(INDEX_LAYOUT_KEY, INDEX_LAYOUT)?;
        tables::create_all(&txn)?;
    }
    txn.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_remote_saved_before_the_ca_field_reads_and_is_written_back_the_same() {
        let saved = r#"{"url":"ws://relay:7700","token":"rpt_a_b"}"#;
        let remote: Remote = serde_json::from_str(saved).unwrap();
        assert_eq!(remote.ca_cert, None);
        assert_eq!(serde_json::to_string(&remote).unwrap(), saved);
    }
}
