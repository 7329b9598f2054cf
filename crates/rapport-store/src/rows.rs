//! One document's rows, in any Rapport redb file (a replica's or the relay's): a compacted
//! snapshot, incremental chunks after it, and its current heads. `key` names the document's
//! rows: its id in a replica, `workspace/id` on the relay.

use automerge::{Automerge, ChangeHash};
use rapport_model::{DocumentId, change_times};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use crate::error::{StorageContext, StoreError};
use crate::tables::{CHUNKS, HEADS, SNAPSHOTS};

/// A document's chunks are folded into a new snapshot once they add up to half the snapshot's
/// size (and at least this many bytes), so compaction work stays proportional to what was
/// written: a large document is not saved whole every few notes.
const COMPACT_MIN_BYTES: u64 = 4 * 1024;
/// ... or once there are this many, so that loading never replays too many small chunks.
const COMPACT_MAX_CHUNKS: u64 = 256;

/// What a document's rows on disk hold.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Stored {
    /// Sequence number the next chunk gets.
    next_chunk: u64,
    /// Chunks stored since the snapshot.
    chunks: u64,
    /// Their total size.
    chunk_bytes: u64,
    /// The snapshot's size (0 when there is none).
    snapshot_bytes: u64,
}

impl Stored {
    /// Whether the chunks should be folded into a new snapshot now.
    pub(crate) fn compaction_due(&self) -> bool {
        self.chunks >= COMPACT_MAX_CHUNKS
            || (self.chunk_bytes >= COMPACT_MIN_BYTES
                && self.chunk_bytes >= self.snapshot_bytes / 2)
    }

    /// The bytes stored for the document: its snapshot and chunks.
    pub(crate) fn bytes(&self) -> u64 {
        self.snapshot_bytes + self.chunk_bytes
    }

    /// Records a chunk that was committed.
    pub(crate) fn appended(&mut self, chunk_len: usize) {
        self.next_chunk += 1;
        self.chunks += 1;
        self.chunk_bytes += chunk_len as u64;
    }

    /// Records a snapshot that replaced every chunk.
    pub(crate) fn compacted(&mut self, snapshot_len: usize) {
        *self = Stored {
            next_chunk: self.next_chunk,
            snapshot_bytes: snapshot_len as u64,
            ..Stored::default()
        };
    }
}

/// A stored document as bytes, with the heads they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedBytes {
    /// What `Automerge::load` reads whole: the snapshot, then every chunk.
    pub data: Vec<u8>,
    /// The document's heads as stored with those bytes.
    pub heads: Vec<ChangeHash>,
}

/// Refuses bytes holding a change whose time would make Automerge panic as it reads them: a
/// document fetched whole and stored unread, or one kept by a version that did not check.
pub(crate) fn check_change_times(id: DocumentId, bytes: &[u8]) -> Result<(), StoreError> {
    change_times::check(bytes).map_err(|source| StoreError::DamagedDocument {
        id,
        source: Box::new(source),
    })
}

/// Reads a document's rows; `None` when it has none.
pub(crate) fn load(
    txn: &ReadTransaction,
    key: &str,
    id: DocumentId,
) -> Result<Option<(Automerge, Stored)>, StoreError> {
    let doing = "loading a document";
    let snapshot = txn
        .open_table(SNAPSHOTS)
        .doing(doing)?
        .get(key)
        .doing(doing)?;
    let damaged = |source| StoreError::DamagedDocument {
        id,
        source: Box::new(source),
    };
    let mut doc = match &snapshot {
        Some(bytes) => {
            check_change_times(id, bytes.value())?;
            Automerge::load(bytes.value()).map_err(damaged)?
        }
        None => Automerge::new(),
    };
    let mut stored = Stored {
        snapshot_bytes: snapshot.as_ref().map_or(0, |s| s.value().len() as u64),
        ..Stored::default()
    };
    // One call for all chunks: automerge applies them as one batch, far faster on a large
    // document than one chunk at a time.
    let mut changes = Vec::new();
    let chunks = txn.open_table(CHUNKS).doing(doing)?;
    for chunk in chunks.range((key, 0)..=(key, u64::MAX)).doing(doing)? {
        let (seq, bytes) = chunk.doing(doing)?;
        changes.extend_from_slice(bytes.value());
        stored.next_chunk = seq.value().1 + 1;
        stored.chunks += 1;
    }
    stored.chunk_bytes = changes.len() as u64;
    if snapshot.is_none() && stored.chunks == 0 {
        return Ok(None);
    }
    if !changes.is_empty() {
        check_change_times(id, &changes)?;
        doc.load_incremental(&changes).map_err(damaged)?;
    }
    Ok(Some((doc, stored)))
}

/// A document's rows as one byte string that `Automerge::load` reads whole (the snapshot, then
/// every chunk), with the heads those bytes hold, without loading the document; `None` when it
/// has none.
pub(crate) fn saved(txn: &ReadTransaction, key: &str) -> Result<Option<SavedBytes>, StoreError> {
    let doing = "reading a stored document";
    let mut bytes = txn
        .open_table(SNAPSHOTS)
        .doing(doing)?
        .get(key)
        .doing(doing)?
        .map(|s| s.value().to_vec())
        .unwrap_or_default();
    let chunks = txn.open_table(CHUNKS).doing(doing)?;
    for chunk in chunks.range((key, 0)..=(key, u64::MAX)).doing(doing)? {
        bytes.extend_from_slice(chunk.doing(doing)?.1.value());
    }
    if bytes.is_empty() {
        return Ok(None);
    }
    // Read in the same transaction as the bytes, so the two always agree.
    let heads = heads(txn, key)?.unwrap_or_default();
    Ok(Some(SavedBytes { data: bytes, heads }))
}

/// Appends a change chunk and records the document's new heads, in the caller's transaction.
pub(crate) fn append(
    txn: &WriteTransaction,
    key: &str,
    stored: &Stored,
    chunk: &[u8],
    heads: &[ChangeHash],
) -> Result<(), StoreError> {
    let doing = "appending a change";
    txn.open_table(CHUNKS)
        .doing(doing)?
        .insert((key, stored.next_chunk), chunk)
        .doing(doing)?;
    put_heads(txn, key, heads)
}

/// Replaces a document's snapshot and chunks with `snapshot`, in the caller's transaction.
pub(crate) fn replace_with_snapshot(
    txn: &WriteTransaction,
    key: &str,
    snapshot: &[u8],
    heads: &[ChangeHash],
) -> Result<(), StoreError> {
    let doing = "compacting a document";
    txn.open_table(SNAPSHOTS)
        .doing(doing)?
        .insert(key, snapshot)
        .doing(doing)?;
    txn.open_table(CHUNKS)
        .doing(doing)?
        .retain_in((key, 0)..=(key, u64::MAX), |_, _| false)
        .doing(doing)?;
    put_heads(txn, key, heads)
}

/// Deletes every row of a document: snapshot, chunks and heads.
pub(crate) fn remove(txn: &WriteTransaction, key: &str) -> Result<(), StoreError> {
    let doing = "removing a document";
    txn.open_table(SNAPSHOTS)
        .doing(doing)?
        .remove(key)
        .doing(doing)?;
    txn.open_table(CHUNKS)
        .doing(doing)?
        .retain_in((key, 0)..=(key, u64::MAX), |_, _| false)
        .doing(doing)?;
    txn.open_table(HEADS)
        .doing(doing)?
        .remove(key)
        .doing(doing)?;
    Ok(())
}

/// Whether a document has any rows.
pub(crate) fn exists(txn: &ReadTransaction, key: &str) -> Result<bool, StoreError> {
    let doing = "looking up a document";
    if txn
        .open_table(SNAPSHOTS)
        .doing(doing)?
        .get(key)
        .doing(doing)?
        .is_some()
    {
        return Ok(true);
    }
    let chunks = txn.open_table(CHUNKS).doing(doing)?;
    let mut range = chunks.range((key, 0)..=(key, u64::MAX)).doing(doing)?;
    Ok(range.next().is_some())
}

/// A document's heads as its heads row has them.
pub(crate) fn heads(
    txn: &ReadTransaction,
    key: &str,
) -> Result<Option<Vec<ChangeHash>>, StoreError> {
    let table = txn.open_table(HEADS).doing(HEADS_DOING)?;
    heads_in(&table, key)
}

/// [`heads`] within a write transaction.
pub(crate) fn heads_writing(
    txn: &WriteTransaction,
    key: &str,
) -> Result<Option<Vec<ChangeHash>>, StoreError> {
    let table = txn.open_table(HEADS).doing(HEADS_DOING)?;
    heads_in(&table, key)
}

const HEADS_DOING: &str = "reading document heads";

fn heads_in(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<Vec<ChangeHash>>, StoreError> {
    let row = table.get(key).doing(HEADS_DOING)?;
    Ok(row.map(|heads| decode_heads(heads.value())))
}

/// Records a document's heads, in the caller's transaction.
pub(crate) fn put_heads(
    txn: &WriteTransaction,
    key: &str,
    heads: &[ChangeHash],
) -> Result<(), StoreError> {
    let doing = "recording document heads";
    txn.open_table(HEADS)
        .doing(doing)?
        .insert(key, encode_heads(heads).as_slice())
        .doing(doing)?;
    Ok(())
}

/// The heads of every document whose key starts with `prefix`, with the rest of the key.
pub(crate) fn heads_under(
    txn: &ReadTransaction,
    prefix: &str,
) -> Result<Vec<(String, Vec<ChangeHash>)>, StoreError> {
    let doing = "listing document heads";
    let table = txn.open_table(HEADS).doing(doing)?;
    let mut out = Vec::new();
    for row in table.range(prefix..).doing(doing)? {
        let (key, heads) = row.doing(doing)?;
        let Some(rest) = key.value().strip_prefix(prefix) else {
            break;
        };
        out.push((rest.to_owned(), decode_heads(heads.value())));
    }
    Ok(out)
}

fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .filter_map(|c| c.try_into().ok().map(ChangeHash))
        .collect()
}
