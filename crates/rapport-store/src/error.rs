//! The store's errors: each names the replica, document or item it concerns.

use std::path::PathBuf;

use rapport_model::{ContactId, DocumentId, EditError, ShapeError, UserName};

impl From<rapport_model::InvalidInput> for StoreError {
    fn from(error: rapport_model::InvalidInput) -> Self {
        StoreError::Invalid(Box::new(error))
    }
}

/// Why a replica could not be opened or created.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No replica has been created in this directory.
    #[error("no replica in {path}: run `rapport init` first")]
    Missing {
        /// The replica file looked for.
        path: PathBuf,
    },
    /// `init` on a directory that already holds a replica.
    #[error("a replica already exists in {path}")]
    AlreadyExists {
        /// The existing replica file.
        path: PathBuf,
    },
    /// Another process holds the replica open.
    #[error("replica {path} is in use by another rapport process")]
    InUse {
        /// The replica file.
        path: PathBuf,
    },
    /// The file exists but is not a Rapport replica (foreign or damaged); it was left untouched.
    #[error("{path} is not a rapport replica ({reason}); it was left untouched")]
    NotAReplica {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory cannot be created or written.
    #[error("cannot use data directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A new replica's first document could not be written; the half-made file was removed.
    #[error("cannot initialize replica {path}: {source}")]
    Initialize {
        /// The replica file.
        path: PathBuf,
        /// What failed.
        source: Box<StoreError>,
    },
    /// redb failed while opening.
    #[error("cannot open replica {path}: {source}")]
    Storage {
        /// The replica file.
        path: PathBuf,
        /// redb's error.
        source: redb::Error,
    },
}

/// Why a read or write on an open replica failed. On error, nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No document with this id is stored.
    #[error("unknown document {id}")]
    UnknownDocument {
        /// The id asked for.
        id: DocumentId,
    },
    /// The stored bytes of a document do not load, or hold a change Automerge cannot be
    /// trusted with (one whose time would make it panic; see `rapport_model::change_times`).
    #[error("document {id} is damaged: {source}")]
    DamagedDocument {
        /// The document.
        id: DocumentId,
        /// Automerge's error, or the change-time check's.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A document does not have the shape Rapport expects.
    #[error("document {id}: {source}")]
    Shape {
        /// The document.
        id: DocumentId,
        /// What is wrong with it.
        source: ShapeError,
    },
    /// An edit could not be applied.
    #[error("document {id}: {source}")]
    Edit {
        /// The document.
        id: DocumentId,
        /// Why.
        source: EditError,
    },
    /// This replica's user is a viewer of the workspace: the relay refuses their changes, so
    /// none are made.
    #[error(
        "{user} is a viewer of this workspace and cannot change it; an admin can make them a member"
    )]
    ReadOnly {
        /// The replica's user.
        user: UserName,
    },
    /// No saved segment has this name.
    #[error("unknown segment '{name}': `rapport segment list` shows the saved ones")]
    UnknownSegment {
        /// The name asked for.
        name: String,
    },
    /// A segment of this name is saved already.
    #[error("a segment named '{name}' exists already")]
    DuplicateSegment {
        /// The name.
        name: String,
    },
    /// A segment that cannot be saved as given.
    #[error(transparent)]
    Segment(#[from] rapport_model::segment::SegmentError),
    /// A custom field of this name is defined already.
    #[error("a custom field named '{name}' is defined already: remove it first")]
    DuplicateField {
        /// The name.
        name: String,
    },
    /// No custom field of this name is defined.
    #[error(
        "no custom field named '{name}' is defined in this workspace: `rapport workspace field list` shows them"
    )]
    UnknownField {
        /// The name given.
        name: String,
    },
    /// A value given for a field does not fit it (a custom field's definition).
    #[error(transparent)]
    Invalid(Box<rapport_model::InvalidInput>),
    /// No account matches.
    #[error("unknown account '{query}'")]
    UnknownAccount {
        /// What was asked for.
        query: String,
    },
    /// More than one account matches.
    #[error("'{query}' matches {count} accounts ({examples}); give more of the id")]
    AmbiguousAccount {
        /// What was asked for.
        query: String,
        /// How many match.
        count: usize,
        /// A few of them.
        examples: String,
    },
    /// No item (deal, contact, task, alert) matches.
    #[error("unknown {what} '{query}'")]
    UnknownItem {
        /// Which kind of item.
        what: &'static str,
        /// What was asked for.
        query: String,
    },
    /// More than one item matches a prefix.
    #[error("'{query}' matches {count} {what}s; give more of the id")]
    AmbiguousItem {
        /// Which kind of item.
        what: &'static str,
        /// What was asked for.
        query: String,
        /// How many match.
        count: usize,
    },
    /// An account merged into itself, or into the account that already stands for it.
    #[error("cannot merge account {other} into {keep}: {reason}")]
    CannotMerge {
        /// The account to merge away.
        other: DocumentId,
        /// The account to keep.
        keep: DocumentId,
        /// Why not.
        reason: String,
    },
    /// A contact merge that cannot be made: into itself, into a merged contact, across
    /// accounts.
    #[error("cannot merge contact {other} into {keep}: {reason}")]
    CannotMergeContacts {
        /// The contact to merge away.
        other: ContactId,
        /// The contact to keep.
        keep: ContactId,
        /// Why not.
        reason: String,
    },
    /// A value in the index does not decode: the index is damaged (it can be rebuilt).
    #[error("replica index is damaged at {table}: {reason}")]
    DamagedIndex {
        /// The table.
        table: &'static str,
        /// What does not decode.
        reason: String,
    },
    /// redb failed.
    #[error("storage failed while {doing}: {source}")]
    Storage {
        /// What the store was doing.
        doing: &'static str,
        /// redb's error.
        source: redb::Error,
    },
    /// The transaction a change was written in, with other documents' changes, failed; the
    /// caller that wrote it has the error itself.
    #[error("storage failed while committing a batch of changes: {reason}")]
    CommitFailed {
        /// Why the batch failed.
        reason: String,
    },
    /// A disk error closed the store's file and it could not be opened again yet; nothing is
    /// written until it can.
    #[error("the store {path} is closed after a disk error and cannot be reopened yet: {reason}")]
    Unavailable {
        /// The store's file.
        path: PathBuf,
        /// Why it did not reopen.
        reason: String,
    },
}

impl StoreError {
    /// Whether this is the disk failing (a full disk, a failed write or sync), not the data.
    pub fn is_disk_error(&self) -> bool {
        match self {
            StoreError::Storage { source, .. } => matches!(
                source,
                redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed
            ),
            StoreError::Unavailable { .. } => true,
            _ => false,
        }
    }
}

/// Attaches what the store was doing to a redb error.
pub(crate) trait StorageContext<T> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> StorageContext<T> for Result<T, E> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Storage {
            doing,
            source: e.into(),
        })
    }
}
