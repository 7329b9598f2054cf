//! A connection's batch of sync messages, committed in one transaction.
//!
//! A client back from working offline sends one sync message per document it changed, and
//! they arrive together. Committed one by one, each waits for its own fsync; here the
//! connection takes the write locks of every document its batch names first (in id order,
//! as `WorkspaceHub::import_new` does, so that two connections cannot deadlock), applies
//! every message, and commits what changed in one transaction before anything is answered or
//! announced. Other connections read those documents only once the commit is durable.
//!
//! Anything the batch asks of a document it did not name, or of the workspace as a whole,
//! first commits and releases what is held; from there on the batch goes on one document at a
//! time, as it would have without this.

use std::sync::RwLockWriteGuard;

use automerge::{Automerge, ChangeHash, PatchLog};
use rapport_model::DocumentId;
use rapport_proto::Message;
use rapport_store::{StoreError, StoredDocument};
use rapport_sync::{Digest, Documents, Merged, Open, Saved, SessionError, Summary};

use super::{Changed, HubDocuments, Slot, stored_heads, write};

/// One document the batch holds.
struct Held<'s> {
    id: DocumentId,
    guard: RwLockWriteGuard<'s, Option<StoredDocument>>,
    /// Whether the store was read for it (an empty slot may be a document not loaded yet).
    loaded: bool,
    /// Created in memory by this batch: not stored unless a change lands in it.
    created: bool,
    /// From its first change on: its heads as last committed, and what the digest holds.
    changed: Option<(Vec<ChangeHash>, Vec<ChangeHash>)>,
}

/// The documents a batch holds, in front of the connection's [`HubDocuments`]; see the module.
pub struct Together<'s> {
    docs: HubDocuments,
    /// Sorted by id; empty once released.
    held: Vec<Held<'s>>,
}

/// The documents a batch is about, when it is worth holding them together: two messages or
/// more, every one a sync message for a well-formed id.
pub fn documents_of(batch: &[Message]) -> Option<Vec<DocumentId>> {
    if batch.len() < 2 {
        return None;
    }
    batch
        .iter()
        .map(|message| match message {
            Message::Sync(m) => m.document_id.parse(),
            _ => None,
        })
        .collect()
}

/// A batch whose commit failed: the first document it changed, and why. Nothing it changed
/// was answered or announced.
#[derive(Debug)]
pub struct BatchFailed(Box<(DocumentId, StoreError)>);

impl From<BatchFailed> for SessionError<StoreError> {
    fn from(failed: BatchFailed) -> Self {
        let (id, source) = *failed.0;
        SessionError::Storage { id, source }
    }
}

impl HubDocuments {
    /// Runs `f` (a batch of sync messages for documents `ids`) with those documents held, and
    /// commits what it changed in them in one transaction before returning what `f` did.
    pub fn together<T>(
        &mut self,
        ids: &[DocumentId],
        f: impl FnOnce(&mut Together<'_>) -> T,
    ) -> Result<T, BatchFailed> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let slots: Vec<Slot> = ids.iter().map(|&id| self.hub.slot(id)).collect();
        let result = {
            let mut together = Together {
                docs: self.clone(),
                held: ids
                    .iter()
                    .zip(&slots)
                    .map(|(&id, slot)| Held {
                        id,
                        guard: write(slot),
                        loaded: false,
                        created: false,
                        changed: None,
                    })
                    .collect(),
            };
            let result = f(&mut together);
            // What was changed is committed even when a later message broke the protocol: the
            // messages before it were good, and would have been committed one by one.
            together.release().map(|()| result)
        };
        for (&id, slot) in ids.iter().zip(&slots) {
            self.hub.forget_absent(id, slot);
        }
        result
    }
}

impl<'s> Together<'s> {
    fn held(&mut self, id: DocumentId) -> Option<&mut Held<'s>> {
        let at = self.held.binary_search_by_key(&id, |h| h.id).ok()?;
        self.held.get_mut(at)
    }

    /// Commits what the held documents changed, in one transaction, and lets them go.
    fn release(&mut self) -> Result<(), BatchFailed> {
        let mut held = std::mem::take(&mut self.held);
        let mut changed = Vec::new();
        for h in &mut held {
            match h.changed.take() {
                Some((before, stored_before)) => changed.push(Changed {
                    id: h.id,
                    slot: &mut h.guard,
                    before,
                    stored_before,
                }),
                // Made here and left empty: the workspace has no such document.
                None if h.created => *h.guard = None,
                None => {}
            }
        }
        let Some(first) = changed.first().map(|c| c.id) else {
            return Ok(());
        };
        self.docs
            .hub
            .commit_changed(changed)
            .map_err(|error| BatchFailed(Box::new((first, error))))
    }

    /// Lets the held documents go before anything else is asked.
    fn release_for_other(&mut self) -> Result<(), StoreError> {
        self.release().map_err(|failed| failed.0.1)
    }
}

impl Drop for Together<'_> {
    /// Only on a panic are documents still held here: any of them may be half changed, so
    /// each is forgotten (the next use reloads what is durable).
    fn drop(&mut self) {
        for h in &mut self.held {
            *h.guard = None;
        }
    }
}

impl Documents for Together<'_> {
    type Error = StoreError;

    fn update<R>(
        &mut self,
        id: DocumentId,
        open: Open,
        f: impl FnOnce(&mut Automerge, &mut PatchLog) -> R,
    ) -> Result<Option<R>, StoreError> {
        let create = self.docs.may_create && open == Open::OrCreate;
        let hub = self.docs.hub.clone();
        let Some(h) = self.held(id) else {
            self.release_for_other()?;
            return self.docs.update(id, open, f);
        };
        if h.guard.is_none() && !h.loaded {
            *h.guard = hub.load(id)?;
        }
        h.loaded = true;
        if h.guard.is_none() {
            if !create {
                return Ok(None);
            }
            h.created = true;
        }
        let document = h.guard.get_or_insert_with(StoredDocument::new);
        let before = document.doc.get_heads();
        let stored_before = stored_heads(document, &before);
        // The relay keeps no indexes: nothing needs the patches.
        let result = f(&mut document.doc, &mut PatchLog::inactive());
        if h.changed.is_none() && document.doc.get_heads() != before {
            h.changed = Some((before, stored_before));
        }
        Ok(Some(result))
    }

    fn read<R>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, StoreError> {
        let hub = self.docs.hub.clone();
        let Some(h) = self.held(id) else {
            self.release_for_other()?;
            return self.docs.read(id, f);
        };
        if h.guard.is_none() && !h.loaded {
            *h.guard = hub.load(id)?;
        }
        h.loaded = true;
        Ok(h.guard.as_ref().map(|document| f(&document.doc)))
    }

    fn heads(&mut self, id: DocumentId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let hub = self.docs.hub.clone();
        let Some(h) = self.held(id) else {
            self.release_for_other()?;
            return self.docs.heads(id);
        };
        match h.guard.as_ref() {
            Some(document) => Ok(Some(document.doc.get_heads())),
            None if h.loaded => Ok(None),
            None => hub.store.heads(hub.id, id),
        }
    }

    fn summary(&mut self) -> Result<Summary, StoreError> {
        self.release_for_other()?;
        self.docs.summary()
    }

    fn digest(&mut self) -> Result<Digest, StoreError> {
        self.release_for_other()?;
        self.docs.digest()
    }

    fn saved(&mut self, id: DocumentId) -> Result<Option<Saved>, StoreError> {
        self.release_for_other()?;
        self.docs.saved(id)
    }

    fn merge_documents(
        &mut self,
        incoming: Vec<(DocumentId, Automerge, Vec<u8>)>,
    ) -> Result<Vec<Merged>, StoreError> {
        self.release_for_other()?;
        self.docs.merge_documents(incoming)
    }

    fn store_new(
        &mut self,
        incoming: Vec<(DocumentId, Vec<u8>, Vec<ChangeHash>)>,
    ) -> Result<Vec<Merged>, StoreError> {
        self.release_for_other()?;
        self.docs.store_new(incoming)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use rapport_store::RelayStore;

    use super::*;
    use crate::hub::testing::{put, value};
    use crate::hub::{Hubs, WorkspaceHub};

    fn stored(store: &RelayStore, hub: &WorkspaceHub, id: DocumentId) -> Option<i64> {
        value(&store.load(hub.id(), id).unwrap()?.doc)
    }

    /// A hub over a fresh store, with `n` documents holding 0.
    fn workspace(
        n: usize,
    ) -> (
        tempfile::TempDir,
        Arc<RelayStore>,
        Arc<WorkspaceHub>,
        Vec<DocumentId>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RelayStore::open(dir.path()).unwrap());
        let hub = Hubs::new(store.clone(), 64)
            .hub(DocumentId::random())
            .unwrap();
        let ids: Vec<DocumentId> = (0..n).map(|_| DocumentId::random()).collect();
        for &id in &ids {
            hub.update(id, true, |doc| put(doc, 0)).unwrap();
        }
        (dir, store, hub, ids)
    }

    fn set(held: &mut Together<'_>, id: DocumentId, n: i64) -> Option<()> {
        held.update(id, Open::Existing, |doc, _| put(doc, n))
            .unwrap()
    }

    #[test]
    fn only_a_batch_of_several_sync_messages_for_well_formed_ids_is_held_together() {
        use rapport_proto::{DocMessage, PeerId, WireDocumentId};
        let sync = |document_id: WireDocumentId| {
            Message::Sync(DocMessage {
                sender_id: PeerId::new("a").unwrap(),
                target_id: PeerId::new("b").unwrap(),
                document_id,
                data: Vec::new(),
            })
        };
        let (a, b) = (DocumentId::random(), DocumentId::random());
        let batch = vec![sync(a.into()), sync(b.into()), sync(a.into())];
        assert_eq!(documents_of(&batch), Some(vec![a, b, a]));
        assert_eq!(documents_of(&batch[..1]), None);
        let malformed = sync(WireDocumentId::new("not an id").unwrap());
        assert_eq!(documents_of(&[sync(a.into()), malformed]), None);
        let leave = Message::Leave {
            sender_id: PeerId::new("a").unwrap(),
        };
        assert_eq!(documents_of(&[sync(a.into()), leave]), None);
    }

    #[test]
    fn a_batch_commits_every_document_it_changed_in_one_transaction() {
        let (_dir, store, hub, ids) = workspace(20);
        let (batches, changes) = store.commit_batches();
        let mut docs = HubDocuments::new(hub.clone(), true);
        docs.together(&ids, |held| {
            for &id in &ids {
                set(held, id, 1).unwrap();
                // Read back through the batch: the change is there before it is committed.
                assert_eq!(held.read(id, value).unwrap(), Some(Some(1)));
            }
            // Untouched by the batch until it ends.
            assert_eq!(stored(&store, &hub, ids[0]), Some(0));
        })
        .unwrap();
        assert_eq!(store.commit_batches(), (batches + 1, changes + 20));
        for &id in &ids {
            assert_eq!(stored(&store, &hub, id), Some(1));
            assert_eq!(hub.read(id, value).unwrap(), Some(Some(1)));
        }
        assert_eq!(hub.digest(), Digest::of(&store.summary(hub.id()).unwrap()));
    }

    #[test]
    fn a_batch_of_documents_not_in_memory_loads_them_and_changes_each_once() {
        let (_dir, store, hub, ids) = workspace(40);
        for (n, &id) in (0..).zip(&ids) {
            hub.update(id, false, |doc| put(doc, n)).unwrap();
        }
        // The same workspace's hub opened anew holds none of them.
        let workspace_id = hub.id();
        drop(hub);
        let hub = Hubs::new(store.clone(), 64).hub(workspace_id).unwrap();
        assert_eq!(hub.loaded(), 0);
        let absent: Vec<DocumentId> = (0..8).map(|_| DocumentId::random()).collect();
        let named: Vec<DocumentId> = ids.iter().chain(&absent).copied().collect();
        let mut docs = HubDocuments::new(hub.clone(), true);
        docs.together(&named, |held| {
            for &id in &ids {
                held.update(id, Open::Existing, |doc, _| {
                    put(doc, value(doc).unwrap() + 1)
                })
                .unwrap()
                .unwrap();
            }
            for &id in &absent {
                assert_eq!(set(held, id, 1), None);
            }
        })
        .unwrap();
        for (n, &id) in (1..).zip(&ids) {
            assert_eq!(stored(&store, &hub, id), Some(n));
        }
        assert_eq!(hub.loaded(), ids.len());
        assert_eq!(hub.digest(), Digest::of(&store.summary(hub.id()).unwrap()));
    }

    #[test]
    fn asking_for_a_document_the_batch_does_not_hold_commits_what_it_holds_first() {
        let (_dir, store, hub, ids) = workspace(3);
        let mut docs = HubDocuments::new(hub.clone(), true);
        docs.together(&ids[..2], |held| {
            set(held, ids[0], 1).unwrap();
            assert_eq!(held.read(ids[2], value).unwrap(), Some(Some(0)));
            assert_eq!(stored(&store, &hub, ids[0]), Some(1));
            // From here on, one document at a time, committed as it goes.
            set(held, ids[1], 1).unwrap();
            assert_eq!(stored(&store, &hub, ids[1]), Some(1));
        })
        .unwrap();
        assert_eq!(hub.digest(), Digest::of(&store.summary(hub.id()).unwrap()));
    }

    #[test]
    fn documents_the_workspace_lacks_are_neither_stored_nor_kept_loaded() {
        let (_dir, store, hub, _) = workspace(0);
        let absent: Vec<DocumentId> = (0..10).map(|_| DocumentId::random()).collect();
        let mut docs = HubDocuments::new(hub.clone(), true);
        docs.together(&absent, |held| {
            for &id in &absent {
                assert_eq!(set(held, id, 1), None);
                assert_eq!(held.heads(id).unwrap(), None);
                // Created, but left unchanged.
                let created = held.update(id, Open::OrCreate, |_, _| ()).unwrap();
                assert_eq!(created, Some(()));
            }
        })
        .unwrap();
        assert_eq!(hub.loaded(), 0);
        assert!(store.summary(hub.id()).unwrap().is_empty());
        // A viewer's batch creates nothing.
        let mut viewer = HubDocuments::new(hub.clone(), false);
        viewer
            .together(&absent, |held| {
                let created = held.update(absent[0], Open::OrCreate, |_, _| ()).unwrap();
                assert_eq!(created, None);
            })
            .unwrap();
        assert_eq!(hub.loaded(), 0);
    }

    #[test]
    fn a_batch_that_panics_forgets_what_it_changed_and_holds_nothing() {
        let (_dir, store, hub, ids) = workspace(2);
        let mut docs = HubDocuments::new(hub.clone(), true);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            docs.together(&ids, |held| {
                set(held, ids[0], 1).unwrap();
                panic!("inside Automerge");
            })
        }));
        assert!(panicked.is_err());
        for &id in &ids {
            assert_eq!(hub.read(id, value).unwrap(), Some(Some(0)));
            assert_eq!(stored(&store, &hub, id), Some(0));
        }
        hub.update(ids[0], false, |doc| put(doc, 2)).unwrap();
        assert_eq!(stored(&store, &hub, ids[0]), Some(2));
    }

    #[test]
    fn batches_over_the_same_documents_from_many_threads_all_land() {
        let (_dir, store, hub, ids) = workspace(8);
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let hub = hub.clone();
                let ids = &ids;
                scope.spawn(move || {
                    let mut docs = HubDocuments::new(hub, true);
                    for round in 0..25 {
                        // Each names them in another order; they are taken in one order.
                        let mut named = ids.clone();
                        named.rotate_left((thread + round) % ids.len());
                        docs.together(&named, |held| {
                            for &id in &named {
                                held.update(id, Open::Existing, |doc, _| {
                                    let n = value(doc).unwrap_or(0);
                                    put(doc, n + 1);
                                })
                                .unwrap();
                            }
                        })
                        .unwrap();
                    }
                });
            }
        });
        for &id in &ids {
            assert_eq!(stored(&store, &hub, id), Some(100));
        }
        assert_eq!(hub.digest(), Digest::of(&store.summary(hub.id()).unwrap()));
    }
}
