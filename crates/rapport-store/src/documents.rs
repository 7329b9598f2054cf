//! Documents on disk: a compacted snapshot plus incremental chunks per document, loaded into a
//! bounded in-memory cache, and the write path every change takes.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use automerge::transaction::Transaction;
use automerge::{Automerge, ChangeHash, LoadOptions, OnPartialLoad, PatchLog};
use rapport_model::{DocumentId, Edit, EditError, Touched};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use crate::error::{StorageContext, StoreError};
use crate::replica::{Replica, Summary};
use crate::rows::{self, SavedBytes, Stored};
use crate::tables::{HEADS_KEPT_KEY, META, UNINDEXED, UNSYNCED};

mod batch;
mod cache;

pub use batch::AccountBatch;
use cache::Cached;
pub(crate) use cache::DocumentCache;

/// How many changes from elsewhere are held back at most before they are committed anyway.
const MAX_HELD: usize = 256;

/// Where a change was made: the relay has to be told about changes made here.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Here,
    Elsewhere,
}

/// One document's change, ready to be written: the chunk to append and what it touched.
pub(crate) struct PendingChange {
    pub(crate) id: DocumentId,
    pub(crate) chunk: Vec<u8>,
    pub(crate) touched: Touched,
}

impl Replica {
    /// The document `id`, loaded from disk if it is not in memory.
    pub(crate) fn document(&mut self, id: DocumentId) -> Result<&Automerge, StoreError> {
        self.ensure_loaded(id)?;
        Ok(&self.cached(id)?.doc)
    }

    /// Runs `f` on document `id` as stored here; `None` when there is no such document.
    pub fn read_document<R>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, StoreError> {
        match self.document(id) {
            Ok(doc) => Ok(Some(f(doc))),
            Err(StoreError::UnknownDocument { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The current heads of a document.
    pub fn heads(&mut self, id: DocumentId) -> Result<Vec<ChangeHash>, StoreError> {
        Ok(self.document(id)?.get_heads())
    }

    /// Saves a compact copy of document `id`, as any automerge peer can load it.
    pub fn document_bytes(&mut self, id: DocumentId) -> Result<Vec<u8>, StoreError> {
        Ok(self.document(id)?.save())
    }

    /// Two documents loaded at once, to read one against the other.
    pub(crate) fn loaded_pair(
        &mut self,
        a: DocumentId,
        b: DocumentId,
    ) -> Result<(&Automerge, &Automerge), StoreError> {
        // The cache drops the least recently used document: not `a`, just loaded, when `b` is.
        self.ensure_loaded(a)?;
        self.ensure_loaded(b)?;
        let doc = |id| {
            self.docs
                .loaded(&id)
                .ok_or(StoreError::UnknownDocument { id })
        };
        Ok((doc(a)?, doc(b)?))
    }

    fn cached(&mut self, id: DocumentId) -> Result<&mut Cached, StoreError> {
        self.docs
            .touch(&id)
            .ok_or(StoreError::UnknownDocument { id })
    }

    fn ensure_loaded(&mut self, id: DocumentId) -> Result<(), StoreError> {
        if self.docs.touch(&id).is_some() {
            return Ok(());
        }
        let (doc, stored) = self.load(id)?;
        self.docs.insert(id, doc, stored);
        Ok(())
    }

    /// Reads a document's snapshot and chunks from disk.
    fn load(&self, id: DocumentId) -> Result<(Automerge, Stored), StoreError> {
        let txn = self.db.begin_read().doing("loading a document")?;
        let (mut doc, stored) =
            rows::load(&txn, &id.to_string(), id)?.ok_or(StoreError::UnknownDocument { id })?;
        doc.set_actor(self.docs.actor.clone());
        Ok((doc, stored))
    }

    /// Every document stored here with its heads, read without loading any document. What was
    /// read is kept until the next write, so that a link reconnecting with nothing changed
    /// (10,000 documents: about 6 ms to read) does not read them again.
    pub fn summary(&self) -> Result<Summary, StoreError> {
        let writes = self.writes.load(Ordering::Acquire);
        let mut kept = self.summary.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, summary)) = kept.as_ref()
            && *at == writes
        {
            return Ok(summary.clone());
        }
        let txn = self.db.begin_read().doing("listing document heads")?;
        let summary: Summary = rows::heads_under(&txn, "")?
            .into_iter()
            .filter_map(|(key, heads)| Some((key.parse().ok()?, heads)))
            .collect();
        *kept = Some((writes, summary.clone()));
        Ok(summary)
    }

    /// The heads of document `id` as stored, without loading it; `None` when there is no such
    /// document.
    pub fn stored_heads(&self, id: DocumentId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let txn = self.db.begin_read().doing("reading document heads")?;
        rows::heads(&txn, &id.to_string())
    }

    /// Document `id` as stored (snapshot and chunks, which `Automerge::load` reads whole),
    /// without loading it; `None` when there is no such document.
    pub fn saved_document(&self, id: DocumentId) -> Result<Option<SavedBytes>, StoreError> {
        let txn = self.db.begin_read().doing("reading a stored document")?;
        rows::saved(&txn, &id.to_string())
    }

    /// Applies `edit` to a stored document and returns the change's bytes, leaving the
    /// in-memory document ahead of disk until [`Replica::persist`] commits it.
    pub(crate) fn edit_document<T>(
        &mut self,
        id: DocumentId,
        edit: &Edit,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, EditError>,
    ) -> Result<(T, Vec<u8>), StoreError> {
        self.ensure_loaded(id)?;
        let doc = &mut self.cached(id)?.doc;
        apply_edit(doc, id, edit, f)
    }

    /// Starts a new document with `edit` as its first change.
    pub(crate) fn new_document<T>(
        &mut self,
        id: DocumentId,
        edit: &Edit,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, EditError>,
    ) -> Result<(T, Vec<u8>), StoreError> {
        let mut doc = Automerge::new().with_actor(self.docs.actor.clone());
        let result = apply_edit(&mut doc, id, edit, f)?;
        self.docs.insert(id, doc, Stored::default());
        Ok(result)
    }

    /// Merges a document saved by another replica ([`Replica::document_bytes`], or any
    /// automerge peer's `save`) into document `id`, creating it if it is new here. Returns whether
    /// anything changed. Bytes that do not load whole, or hold a change timed where Automerge
    /// cannot add it up (`rapport_model::change_times`), change nothing.
    pub fn merge_document(&mut self, id: DocumentId, bytes: &[u8]) -> Result<bool, StoreError> {
        let damaged = |source| StoreError::DamagedDocument {
            id,
            source: Box::new(source),
        };
        rows::check_change_times(id, bytes)?;
        let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
        let mut theirs = Automerge::load_with_options(bytes, options).map_err(damaged)?;
        Ok(self.merge_loaded(id, &mut theirs)?.1)
    }

    /// Merges a loaded document from elsewhere into document `id` (created if new here),
    /// through [`Replica::apply_remote`]; its heads here afterwards, and whether it changed.
    fn merge_loaded(
        &mut self,
        id: DocumentId,
        theirs: &mut Automerge,
    ) -> Result<(Vec<ChangeHash>, bool), StoreError> {
        let merged = self.apply_remote(id, true, |doc, patches| {
            let before = doc.get_heads();
            doc.merge_and_log_patches(theirs, patches)
                .map(|_| (doc.get_heads(), doc.get_heads() != before))
        })?;
        merged
            .unwrap_or(Ok((Vec::new(), false)))
            .map_err(|source| StoreError::DamagedDocument {
                id,
                source: Box::new(source),
            })
    }

    /// Stores whole documents from elsewhere (a cold join: everything the relay has), each
    /// indexed, the new ones together in one durable transaction: a workspace of thousands of
    /// accounts arrives in a few commits rather than one per account. A document already stored
    /// here is merged into, as [`Replica::apply_remote`] does. Returns each document's heads
    /// here afterwards and whether it changed.
    pub fn import_documents(
        &mut self,
        incoming: Vec<(DocumentId, Automerge, Vec<u8>)>,
    ) -> Result<Vec<(Vec<ChangeHash>, bool)>, StoreError> {
        self.commit_held()?;
        let (mut fresh, mut known) = (Vec::new(), Vec::new());
        {
            let txn = self.db.begin_read().doing("importing documents")?;
            for (index, (id, doc, bytes)) in incoming.into_iter().enumerate() {
                if rows::exists(&txn, &id.to_string())? {
                    known.push((index, id, doc));
                } else {
                    fresh.push((index, id, doc, bytes));
                }
            }
        }
        let mut results = vec![(Vec::new(), false); fresh.len() + known.len()];
        self.store_fresh(&fresh)?;
        let stored: Vec<DocumentId> = fresh.iter().map(|(_, id, _, _)| *id).collect();
        self.forward_indexed(&stored)?;
        for (index, _, doc, _) in &fresh {
            results[*index] = (doc.get_heads(), !doc.get_heads().is_empty());
        }
        for (index, id, mut theirs) in known {
            results[index] = self.merge_loaded(id, &mut theirs)?;
        }
        Ok(results)
    }

    /// Writes documents new to this replica as the bytes they arrived as (they load whole), with
    /// their heads and index rows, in one transaction.
    fn store_fresh(
        &mut self,
        fresh: &[(usize, DocumentId, Automerge, Vec<u8>)],
    ) -> Result<(), StoreError> {
        if fresh.is_empty() {
            return Ok(());
        }
        let doing = "importing documents";
        let txn = self.begin_write().doing(doing)?;
        // A workspace document among them brings its rules: what is indexed already is settled
        // with them first, and the new documents are indexed with them.
        let workspace = fresh.iter().find(|(_, id, _, _)| *id == self.workspace);
        let reader = match workspace {
            Some((_, _, doc, _)) => {
                let rules = rapport_model::workspace::alert_rules(doc);
                self.settle_alert_rules(&txn, rules.clone())?;
                crate::index::Reader::new(self.user.clone(), self.team, rules)
            }
            None => self.reader(),
        };
        let everything = Touched::everything();
        let mut derived = crate::index::Derived::open(&txn)?;
        for (_, id, doc, bytes) in fresh {
            let heads = doc.get_heads();
            if heads.is_empty() {
                continue;
            }
            rows::replace_with_snapshot(&txn, &id.to_string(), bytes, &heads)?;
            if *id != self.workspace {
                crate::index::index_or_leave_out(&mut derived, doc, *id, &everything, &reader)?;
            }
        }
        drop(derived);
        txn.commit().doing(doing)?;
        Ok(())
    }

    /// Stores documents new to this replica as the bytes they arrived in, with the heads the
    /// relay says those bytes hold, in one durable transaction and without loading them: a cold
    /// join writes thousands of documents in about the time it takes to receive them.
    ///
    /// Until [`Replica::index_pending`] has checked and indexed one, it reads as usual (it loads
    /// on first use) but is missing from lists, search and alerts. A document that turns out to
    /// be stored here already is left as it is. Returns each document's heads here afterwards
    /// and whether it changed.
    pub fn store_unverified(
        &mut self,
        incoming: Vec<(DocumentId, Vec<u8>, Vec<ChangeHash>)>,
    ) -> Result<Vec<(Vec<ChangeHash>, bool)>, StoreError> {
        self.commit_held()?;
        let doing = "storing documents from the relay";
        let mut results = Vec::with_capacity(incoming.len());
        let txn = self.begin_write().doing(doing)?;
        {
            let mut unindexed = txn.open_table(UNINDEXED).doing(doing)?;
            for (id, bytes, heads) in incoming {
                let key = id.to_string();
                if let Some(stored) = rows::heads_writing(&txn, &key)? {
                    results.push((stored, false));
                    continue;
                }
                if heads.is_empty() || bytes.is_empty() {
                    results.push((Vec::new(), false));
                    continue;
                }
                rows::replace_with_snapshot(&txn, &key, &bytes, &heads)?;
                unindexed.insert(key.as_str(), ()).doing(doing)?;
                results.push((heads, true));
            }
        }
        txn.commit().doing(doing)?;
        Ok(results)
    }

    /// Writes the heads row of every document stored before the replica kept them, once.
    pub(crate) fn backfill_heads_once(&mut self) -> Result<(), StoreError> {
        let doing = "recording document heads";
        {
            let txn = self.db.begin_read().doing(doing)?;
            let meta = txn.open_table(META).doing(doing)?;
            if meta.get(HEADS_KEPT_KEY).doing(doing)?.is_some() {
                return Ok(());
            }
        }
        let summary = self.summary()?;
        let mut ids = self.stored_account_ids()?;
        ids.push(self.workspace);
        let missing: Vec<DocumentId> = ids
            .into_iter()
            .filter(|id| !summary.iter().any(|(known, _)| known == id))
            .collect();
        let mut heads = Vec::with_capacity(missing.len());
        for id in missing {
            match self.heads(id) {
                Ok(h) => heads.push((id, h)),
                Err(StoreError::UnknownDocument { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        let txn = self.begin_write().doing(doing)?;
        for (id, h) in &heads {
            rows::put_heads(&txn, &id.to_string(), h)?;
        }
        txn.open_table(META)
            .doing(doing)?
            .insert(HEADS_KEPT_KEY, b"1".as_slice())
            .doing(doing)?;
        txn.commit().doing(doing)?;
        Ok(())
    }

    /// Applies changes that come from elsewhere (a sync message, another replica's document) to
    /// document `id`: `f` applies them, logging their patches into the log it is given, and
    /// whatever it applied is committed durably with the index updates it causes before this
    /// returns. A document not stored here is created empty first when `create`, else the
    /// answer is `None` and nothing runs.
    pub fn apply_remote<R>(
        &mut self,
        id: DocumentId,
        create: bool,
        f: impl FnOnce(&mut Automerge, &mut PatchLog) -> R,
    ) -> Result<Option<R>, StoreError> {
        let known = match self.ensure_loaded(id) {
            Ok(()) => true,
            Err(StoreError::UnknownDocument { .. }) => false,
            Err(other) => return Err(other),
        };
        if !known {
            if !create {
                return Ok(None);
            }
            let empty = Automerge::new().with_actor(self.docs.actor.clone());
            self.docs.insert(id, empty, Stored::default());
        }
        let doc = &mut self.cached(id)?.doc;
        let before = doc.get_heads();
        let mut log = PatchLog::active();
        let result = f(doc, &mut log);
        if doc.get_heads() == before {
            if !known {
                self.docs.forget(&id);
            }
            return Ok(Some(result));
        }
        let touched = Touched::from_patches(&doc.make_patches(&mut log));
        let chunk = doc.save_after(&before);
        let change = PendingChange { id, chunk, touched };
        match &mut self.remote_hold {
            Some(held) => {
                held.push(change);
                self.docs.pin(&id);
                if held.len() >= MAX_HELD {
                    self.commit_held()?;
                }
            }
            None => self.persist_from(vec![change], Origin::Elsewhere)?,
        }
        Ok(Some(result))
    }

    /// From now on, [`Replica::apply_remote`] applies changes in memory and holds their commit
    /// back until [`Replica::commit_held`] or [`Replica::release_held`]: a burst of sync
    /// messages costs one durable commit instead of one each. Until then, the held changes read
    /// (documents are served from memory) but are not in the `heads` rows, the summary or the
    /// stored bytes; any other write commits them first. Nothing held is acknowledged to anyone
    /// before it is committed: a crash loses only what the relay still has.
    pub fn hold_remote_changes(&mut self) {
        self.remote_hold.get_or_insert_with(Vec::new);
    }

    /// Commits the changes held so far in one durable transaction, and goes on holding.
    pub fn commit_held(&mut self) -> Result<(), StoreError> {
        let held = match &mut self.remote_hold {
            Some(held) if !held.is_empty() => std::mem::take(held),
            _ => return Ok(()),
        };
        self.persist_from(held, Origin::Elsewhere)
    }

    /// Commits the changes held so far and stops holding.
    pub fn release_held(&mut self) -> Result<(), StoreError> {
        let committed = self.commit_held();
        self.remote_hold = None;
        committed
    }

    /// Commits changes made on this replica to several documents in one durable redb
    /// transaction, together with the index updates they cause, and counts the documents as
    /// unsynced. On failure nothing is written and the documents are reloaded from disk on next
    /// use.
    pub(crate) fn persist(&mut self, changes: Vec<PendingChange>) -> Result<(), StoreError> {
        self.persist_from(changes, Origin::Here)
    }

    /// The documents changed on this replica that the relay has not confirmed holding yet.
    pub fn unsynced(&self) -> Result<Vec<DocumentId>, StoreError> {
        let doing = "reading the unsynced documents";
        let txn = self.db.begin_read().doing(doing)?;
        let table = match txn.open_table(UNSYNCED) {
            Ok(table) => table,
            // A replica from before the table existed counted nothing.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(other) => return Err(other).doing(doing),
        };
        let mut ids = Vec::new();
        for row in table.iter().doing(doing)? {
            let (key, _) = row.doing(doing)?;
            // Only this code writes the table; a key that is no id is skipped, not fatal.
            if let Ok(id) = key.value().parse() {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Records that the relay holds these documents as they are here.
    pub fn mark_synced(&mut self, ids: &[DocumentId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let doing = "recording synced documents";
        let txn = self.begin_write().doing(doing)?;
        {
            let mut table = txn.open_table(UNSYNCED).doing(doing)?;
            for id in ids {
                table.remove(id.to_string().as_str()).doing(doing)?;
            }
        }
        txn.commit().doing(doing)
    }

    fn persist_from(
        &mut self,
        mut changes: Vec<PendingChange>,
        origin: Origin,
    ) -> Result<(), StoreError> {
        // An edit that changed nothing (a field set to its current value) has nothing to write.
        changes.retain(|change| !change.chunk.is_empty());
        let mut unsynced: Vec<DocumentId> = match origin {
            Origin::Here => changes.iter().map(|change| change.id).collect(),
            Origin::Elsewhere => Vec::new(),
        };
        // Held changes from elsewhere go first, in the same transaction: chunks stay in the
        // order their changes were applied.
        if let Some(held) = self.remote_hold.as_mut().filter(|held| !held.is_empty()) {
            let mut all = std::mem::take(held);
            all.append(&mut changes);
            changes = all;
        }
        if changes.is_empty() {
            return Ok(());
        }
        // What a merged account holds that its survivor lacks is copied there, in this commit.
        match self.forward_merges(&changes) {
            Ok(forwarded) => {
                unsynced.extend(forwarded.iter().map(|change| change.id));
                changes.extend(forwarded);
            }
            Err(error) => {
                for change in &changes {
                    self.docs.forget(&change.id);
                }
                return Err(error);
            }
        }
        let result = self.try_persist(&changes, &unsynced);
        for change in &changes {
            match result {
                Ok(()) => self.docs.unpin(&change.id),
                Err(_) => self.docs.forget(&change.id),
            }
        }
        result
    }

    /// Commits `changes` and counts the documents `unsynced` as changed here.
    fn try_persist(
        &mut self,
        changes: &[PendingChange],
        unsynced: &[DocumentId],
    ) -> Result<(), StoreError> {
        let doing = "committing a change";
        let txn = self.begin_write().doing(doing)?;
        for change in changes {
            self.append_chunk(&txn, change)?;
            // Counted at once: a second change to the same document in this transaction gets
            // the next sequence number. On failure the caller forgets the cached documents, and
            // with them these counts.
            if let Some(cached) = self.docs.touch(&change.id) {
                cached.stored.appended(change.chunk.len());
            }
            self.index_change(&txn, change)?;
        }
        if !unsynced.is_empty() {
            let mut table = txn.open_table(UNSYNCED).doing(doing)?;
            for id in unsynced {
                table.insert(id.to_string().as_str(), ()).doing(doing)?;
            }
        }
        txn.commit().doing(doing)?;
        for change in changes {
            self.compact_if_due(change.id)?;
        }
        Ok(())
    }

    fn append_chunk(
        &mut self,
        txn: &WriteTransaction,
        change: &PendingChange,
    ) -> Result<(), StoreError> {
        let cached = self.cached(change.id)?;
        let heads = cached.doc.get_heads();
        rows::append(
            txn,
            &change.id.to_string(),
            &cached.stored,
            &change.chunk,
            &heads,
        )
    }

    /// Folds a document's chunks into a new snapshot once enough have piled up.
    fn compact_if_due(&mut self, id: DocumentId) -> Result<(), StoreError> {
        let cached = self.cached(id)?;
        if !cached.stored.compaction_due() {
            return Ok(());
        }
        let snapshot = cached.doc.save();
        let heads = cached.doc.get_heads();
        let doing = "compacting a document";
        let txn = self.begin_write().doing(doing)?;
        rows::replace_with_snapshot(&txn, &id.to_string(), &snapshot, &heads)?;
        txn.commit().doing(doing)?;
        self.cached(id)?.stored.compacted(snapshot.len());
        Ok(())
    }
}

/// Runs `f` in a transaction on `doc`, committing it with the edit's author and time; returns
/// `f`'s result and the change's bytes (empty when the edit changed nothing).
fn apply_edit<T>(
    doc: &mut Automerge,
    id: DocumentId,
    edit: &Edit,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<T, EditError>,
) -> Result<(T, Vec<u8>), StoreError> {
    let before = doc.get_heads();
    let success = doc
        .transact_with(|_| edit.commit_options(), f)
        .map_err(|failure| StoreError::Edit {
            id,
            source: failure.error,
        })?;
    let chunk = if success.hash.is_some() {
        doc.save_after(&before)
    } else {
        Vec::new()
    };
    Ok((success.result, chunk))
}
