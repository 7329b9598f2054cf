//! Session work done on the connection's own task, for what needs neither the disk nor a wait.
//!
//! A connection hands its session work to a blocking thread because that work may load a
//! document from the store or commit one. Most of what a change fanned out to many peers asks
//! does neither: offering the change reads a document in memory, and each peer's answer (a sync
//! message that brings no change) updates only that peer's sync state. A thousand of those, each
//! a few microseconds of work carried to a blocking thread and back, cost the relay more in
//! thread wake-ups than in the work itself. [`Inline`] is the session's view of the documents
//! for that case: it uses a document only if it is in memory and its lock is free right now,
//! and answers [`Busy`] otherwise, for the connection to do the same work on a blocking thread.
//!
//! Nothing here commits. Callers pass only work that changes no document; if a change is made
//! anyway, the document is forgotten (the next use loads what is durable) and the answer is
//! `Busy`, so that the work is done again where it can be committed.

use std::sync::{RwLockReadGuard, RwLockWriteGuard, TryLockError};

use automerge::{Automerge, ChangeHash, PatchLog, sync};
use rapport_model::DocumentId;
use rapport_store::StoredDocument;
use rapport_sync::{Digest, Documents, Generated, Merged, Open, Saved, Summary};

use super::{HubDocuments, Slot, WorkspaceHub, lock};

/// The document is not in memory or is being written, or the work needs the store: do it on a
/// blocking thread.
#[derive(Debug, thiserror::Error)]
#[error("not possible without waiting; to be done on a blocking thread")]
pub struct Busy;

/// A connection's documents, for session work that must not wait; see the module.
pub struct Inline<'d> {
    docs: &'d HubDocuments,
}

impl<'d> Inline<'d> {
    /// The documents `docs` holds in memory.
    pub fn new(docs: &'d HubDocuments) -> Self {
        Self { docs }
    }

    fn hub(&self) -> &WorkspaceHub {
        &self.docs.hub
    }
}

impl WorkspaceHub {
    /// The slot of document `id` if it has one; never makes one.
    fn resident(&self, id: DocumentId) -> Option<Slot> {
        lock(&self.documents).get(&id).cloned()
    }
}

fn try_read(slot: &Slot) -> Result<RwLockReadGuard<'_, Option<StoredDocument>>, Busy> {
    match slot.try_read() {
        Ok(guard) => Ok(guard),
        // Poisoned: the blocking path recovers it, as it does for every other use.
        Err(TryLockError::WouldBlock | TryLockError::Poisoned(_)) => Err(Busy),
    }
}

fn try_write(slot: &Slot) -> Result<RwLockWriteGuard<'_, Option<StoredDocument>>, Busy> {
    match slot.try_write() {
        Ok(guard) => Ok(guard),
        Err(TryLockError::WouldBlock | TryLockError::Poisoned(_)) => Err(Busy),
    }
}

impl Documents for Inline<'_> {
    type Error = Busy;

    fn update<R>(
        &mut self,
        id: DocumentId,
        _open: Open,
        f: impl FnOnce(&mut Automerge, &mut PatchLog) -> R,
    ) -> Result<Option<R>, Busy> {
        let slot = self.hub().resident(id).ok_or(Busy)?;
        let mut guard = try_write(&slot)?;
        let document = guard.as_mut().ok_or(Busy)?;
        let before = document.doc.get_heads();
        // As in `WorkspaceHub::update`: a panic inside Automerge may leave the document half
        // changed, so it is forgotten before the panic goes on.
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f(&mut document.doc, &mut PatchLog::inactive())
        })) {
            Ok(result) => result,
            Err(panic) => {
                *guard = None;
                drop(guard);
                std::panic::resume_unwind(panic)
            }
        };
        if document.doc.get_heads() != before {
            // Memory is ahead of the disk, and nothing here may commit: back to what is durable.
            *guard = None;
            return Err(Busy);
        }
        Ok(Some(result))
    }

    fn read<R>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, Busy> {
        let slot = self.hub().resident(id).ok_or(Busy)?;
        let guard = try_read(&slot)?;
        let document = guard.as_ref().ok_or(Busy)?;
        Ok(Some(f(&document.doc)))
    }

    fn generate(
        &mut self,
        id: DocumentId,
        state: &mut sync::State,
        local_read_only: bool,
    ) -> Result<Option<Generated>, Busy> {
        let hub = self.hub();
        let slot = hub.resident(id).ok_or(Busy)?;
        let guard = try_read(&slot)?;
        let document = guard.as_ref().ok_or(Busy)?;
        Ok(Some(hub.answers.generate(
            id,
            &document.doc,
            state,
            local_read_only,
        )))
    }

    fn heads(&mut self, id: DocumentId) -> Result<Option<Vec<ChangeHash>>, Busy> {
        self.read(id, Automerge::get_heads)
    }

    fn summary(&mut self) -> Result<Summary, Busy> {
        Err(Busy)
    }

    fn digest(&mut self) -> Result<Digest, Busy> {
        Err(Busy)
    }

    fn saved(&mut self, _id: DocumentId) -> Result<Option<Saved>, Busy> {
        Err(Busy)
    }

    fn merge_documents(
        &mut self,
        _incoming: Vec<(DocumentId, Automerge, Vec<u8>)>,
    ) -> Result<Vec<Merged>, Busy> {
        Err(Busy)
    }

    fn store_new(
        &mut self,
        _incoming: Vec<(DocumentId, Vec<u8>, Vec<ChangeHash>)>,
    ) -> Result<Vec<Merged>, Busy> {
        Err(Busy)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use rapport_store::RelayStore;

    use super::*;
    use crate::hub::Hubs;
    use crate::hub::testing::{put, value};

    /// A hub over a fresh store holding one document (0), and that document's id.
    fn one_document() -> (tempfile::TempDir, Arc<WorkspaceHub>, DocumentId) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RelayStore::open(dir.path()).unwrap());
        let hub = Hubs::new(store, 64).hub(DocumentId::random()).unwrap();
        let id = DocumentId::random();
        hub.update(id, true, |doc| put(doc, 0)).unwrap();
        (dir, hub, id)
    }

    #[test]
    fn a_document_in_memory_with_its_lock_free_is_read_here() {
        let (_dir, hub, id) = one_document();
        let docs = HubDocuments::new(hub.clone(), true);
        let mut inline = Inline::new(&docs);
        assert_eq!(inline.read(id, value).unwrap(), Some(Some(0)));
        let heads = hub.heads(id).unwrap();
        assert_eq!(inline.heads(id).unwrap(), heads);
        let mut state = sync::State::new();
        let generated = inline.generate(id, &mut state, false).unwrap().unwrap();
        assert!(generated.message.is_some());
        // A change-less update runs here too.
        let ran = inline
            .update(id, Open::Existing, |doc, _| value(doc))
            .unwrap();
        assert_eq!(ran, Some(Some(0)));
    }

    #[test]
    fn a_document_not_in_memory_or_being_written_is_busy() {
        let (_dir, hub, id) = one_document();
        let docs = HubDocuments::new(hub.clone(), true);
        let mut inline = Inline::new(&docs);
        // Never loaded into this hub, or not a document at all: never loaded here.
        let absent = DocumentId::random();
        assert!(matches!(inline.read(absent, value), Err(Busy)));
        assert!(matches!(inline.heads(absent), Err(Busy)));
        assert_eq!(hub.loaded(), 1);
        // Someone holds the write lock (a commit in flight): nothing waits for it.
        let slot = hub.resident(id).unwrap();
        let writing = slot.write().unwrap();
        assert!(matches!(inline.read(id, value), Err(Busy)));
        let mut state = sync::State::new();
        assert!(matches!(inline.generate(id, &mut state, false), Err(Busy)));
        assert!(matches!(
            inline.update(id, Open::Existing, |_, _| ()),
            Err(Busy)
        ));
        drop(writing);
        // A reader does not keep another reader out, but keeps an update out.
        let reading = slot.read().unwrap();
        assert_eq!(inline.read(id, value).unwrap(), Some(Some(0)));
        assert!(matches!(
            inline.update(id, Open::Existing, |_, _| ()),
            Err(Busy)
        ));
        drop(reading);
        // What needs the store is never done here.
        assert!(matches!(inline.summary(), Err(Busy)));
        assert!(matches!(inline.saved(id), Err(Busy)));
    }

    #[test]
    fn a_change_made_here_is_not_kept_and_the_work_is_sent_elsewhere() {
        let (_dir, hub, id) = one_document();
        let docs = HubDocuments::new(hub.clone(), true);
        let mut inline = Inline::new(&docs);
        let changed = inline.update(id, Open::Existing, |doc, _| put(doc, 7));
        assert!(matches!(changed, Err(Busy)));
        // Memory went back to what is durable; the same work on the hub commits it.
        assert_eq!(hub.read(id, value).unwrap(), Some(Some(0)));
        hub.update(id, false, |doc| put(doc, 7)).unwrap();
        assert_eq!(hub.read(id, value).unwrap(), Some(Some(7)));
        assert_eq!(inline.read(id, value).unwrap(), Some(Some(7)));
    }
}
