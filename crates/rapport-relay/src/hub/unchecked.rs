//! Documents a member pushed whole, stored before they were loaded
//! (`RelayStore::import_unchecked`), so that a push of a whole workspace is durable in the time
//! it takes to write it rather than to load every document in it.
//!
//! Such a document is in the workspace from its commit on, listed with the heads the member
//! claimed. It is loaded, which checks it, before anything reads or changes it (every load of
//! the hub goes through [`WorkspaceHub::load`]), and a thread of the hub's own checks the rest a
//! batch at a time, on every core. A document that loads to the heads it claimed stays, and its
//! webhook events are recorded then; one that does not is removed, the digest with it, as if it
//! had never come: the member's next sync sees that the relay lacks it and sends it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use automerge::{Automerge, ChangeHash};
use rapport_model::DocumentId;
use rapport_store::{Checked, StoreError, StoredDocument};
use rapport_sync::{Merged, document_digest, same_heads};

use super::{Slot, WorkspaceHub, lock, write};

/// How many documents the checker takes at a time: their locks are held while it loads them.
const CHECK_BATCH: usize = 64;

/// The threads checking pushed documents, in every hub: stopped, and waited for, when the
/// relay stops.
#[derive(Debug, Default)]
pub(super) struct Checkers {
    stopping: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Checkers {
    /// Tells every thread to stop after its batch, and waits for them.
    pub(super) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        let threads = std::mem::take(&mut *lock(&self.threads));
        for thread in threads {
            let _ = thread.join();
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

/// One document's check: its id, the heads it was stored with, and what loading it gave.
type Loaded<'d> = (DocumentId, Vec<ChangeHash>, Result<&'d Automerge, String>);

impl WorkspaceHub {
    /// Stores the documents of `incoming` (id, bytes, heads the member claims) that the
    /// workspace has never seen, unchecked, in one commit (see [`WorkspaceHub::with_new`]); the
    /// answer for each of those, `None` for the rest (and for a document that claims no
    /// heads). Starts the checker.
    pub fn import_unchecked(
        self: &Arc<Self>,
        incoming: &[(DocumentId, Vec<u8>, Vec<ChangeHash>)],
    ) -> Result<Vec<Option<Merged>>, StoreError> {
        let ids: Vec<DocumentId> = incoming.iter().map(|(id, _, _)| *id).collect();
        let answers = self.with_new(&ids, |fresh| {
            let fresh: Vec<usize> = fresh
                .iter()
                .copied()
                .filter(|&i| !incoming[i].2.is_empty())
                .collect();
            let rows: Vec<(DocumentId, &[u8], &[ChangeHash])> = fresh
                .iter()
                .map(|&i| {
                    let (id, bytes, heads) = &incoming[i];
                    (*id, bytes.as_slice(), heads.as_slice())
                })
                .collect();
            self.store.import_unchecked(self.id, &rows)?;
            let mut answers: Vec<Option<Merged>> = (0..incoming.len()).map(|_| None).collect();
            let mut unchecked = lock(&self.unchecked);
            let mut digest = lock(&self.digest);
            for &i in &fresh {
                let (id, _, heads) = &incoming[i];
                unchecked.insert(*id);
                digest.toggle(&document_digest(*id, heads));
                answers[i] = Some(Merged::Stored {
                    heads: heads.clone(),
                    changed: true,
                });
            }
            Ok(answers)
        })?;
        if answers.iter().any(Option::is_some) {
            self.check_unchecked();
        }
        Ok(answers)
    }

    /// Document `id` from the store, for a slot whose write lock the caller holds. One stored
    /// unchecked is checked first: `None` if that removes it.
    pub(super) fn load(&self, id: DocumentId) -> Result<Option<StoredDocument>, StoreError> {
        if !lock(&self.unchecked).contains(&id) {
            return self.store.load(self.id, id);
        }
        let (claimed, loaded) = self.store.load_unchecked(self.id, id)?;
        let kept = self.settle(vec![(
            id,
            claimed,
            loaded.as_ref().map(|d| &d.doc).map_err(Clone::clone),
        )])?;
        Ok(loaded.ok().filter(|_| kept.first() == Some(&true)))
    }

    /// Whether a document of this workspace is still to be checked.
    pub fn has_unchecked(&self) -> bool {
        !lock(&self.unchecked).is_empty()
    }

    /// Checks every unchecked document on a thread of its own, unless one is at it already.
    pub(super) fn check_unchecked(self: &Arc<Self>) {
        if self.checkers.stopping()
            || !self.has_unchecked()
            || self.checking.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let hub = self.clone();
        let mut threads = lock(&self.checkers.threads);
        threads.retain(|thread| !thread.is_finished());
        match std::thread::Builder::new()
            .name("relay-check".into())
            .spawn(move || hub.run_checker())
        {
            Ok(thread) => threads.push(thread),
            Err(error) => {
                self.checking.store(false, Ordering::Release);
                tracing::error!(workspace = %self.id, %error, "no thread to check pushed documents; they are checked as they are used");
            }
        }
    }

    fn run_checker(self: Arc<Self>) {
        loop {
            if self.checkers.stopping() {
                self.checking.store(false, Ordering::Release);
                return;
            }
            let mut batch: Vec<DocumentId> = lock(&self.unchecked)
                .iter()
                .take(CHECK_BATCH)
                .copied()
                .collect();
            if batch.is_empty() {
                self.checking.store(false, Ordering::Release);
                // One may have come between the look and the flag.
                if !self.has_unchecked() || self.checking.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            batch.sort_unstable();
            if let Err(error) = self.check_batch(&batch) {
                self.checking.store(false, Ordering::Release);
                tracing::error!(workspace = %self.id, %error, "checking pushed documents stopped; they are checked as they are used, or when the relay restarts");
                return;
            }
        }
    }

    /// Checks documents `ids` (sorted) that are still unchecked, their slots locked, loading
    /// them on every core; settles them in one commit.
    fn check_batch(&self, ids: &[DocumentId]) -> Result<(), StoreError> {
        let slots: Vec<Slot> = ids.iter().map(|&id| self.slot(id)).collect();
        let guards: Vec<_> = slots.iter().map(|s| write(s)).collect();
        let todo: Vec<DocumentId> = {
            let unchecked = lock(&self.unchecked);
            ids.iter()
                .zip(&guards)
                .filter(|(id, guard)| guard.is_none() && unchecked.contains(id))
                .map(|(id, _)| *id)
                .collect()
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let part = todo.len().div_ceil(cores).max(1);
        let loaded = std::thread::scope(|scope| {
            let workers: Vec<_> = todo
                .chunks(part)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|&id| self.store.load_unchecked(self.id, id))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all = Vec::with_capacity(todo.len());
            for worker in workers {
                match worker.join() {
                    Ok(results) => all.extend(results),
                    Err(_) => all.push(Err(StoreError::Unavailable {
                        path: self.store.path().to_owned(),
                        reason: "a thread checking documents failed".into(),
                    })),
                }
            }
            all
        });
        let loaded = loaded.into_iter().collect::<Result<Vec<_>, _>>()?;
        let checked = todo
            .iter()
            .zip(&loaded)
            .map(|(&id, (claimed, result))| {
                (
                    id,
                    claimed.clone(),
                    result.as_ref().map(|d| &d.doc).map_err(Clone::clone),
                )
            })
            .collect();
        self.settle(checked)?;
        drop(guards);
        for (&id, slot) in ids.iter().zip(&slots) {
            self.forget_absent(id, slot);
        }
        Ok(())
    }

    /// Keeps the documents that loaded to the heads they claimed (recording their webhook
    /// events) and removes the others, in one commit; then the unchecked set and the digest
    /// follow. Whether each was kept, in order. The caller holds their write locks.
    fn settle(&self, checked: Vec<Loaded<'_>>) -> Result<Vec<bool>, StoreError> {
        let mut outcomes = Vec::with_capacity(checked.len());
        let mut events = Vec::new();
        for (id, claimed, result) in &checked {
            let refused = match result {
                Ok(doc) if same_heads(&doc.get_heads(), claimed) => None,
                Ok(_) => Some("it holds other changes than the heads it was sent with".to_owned()),
                Err(reason) => Some(reason.clone()),
            };
            match (refused, result) {
                (None, Ok(doc)) => {
                    events.extend(
                        self.alerts
                            .events(self.id, *id, doc, &[], || self.stored_workspace()),
                    );
                    outcomes.push(Checked::Kept(*id));
                }
                (reason, _) => {
                    tracing::warn!(
                        workspace = %self.id,
                        document = %id,
                        reason = reason.as_deref().unwrap_or_default(),
                        "a pushed document does not load as sent; it is removed, and its member's next sync sends it again"
                    );
                    outcomes.push(Checked::Discarded(*id));
                }
            }
        }
        self.store.settle_unchecked(self.id, &outcomes, &events)?;
        if !events.is_empty() {
            self.alerts.wake();
        }
        let mut unchecked = lock(&self.unchecked);
        let mut digest = lock(&self.digest);
        Ok(outcomes
            .iter()
            .zip(&checked)
            .map(|(outcome, (_, claimed, _))| match *outcome {
                Checked::Kept(id) => {
                    unchecked.remove(&id);
                    true
                }
                Checked::Discarded(id) => {
                    if unchecked.remove(&id) {
                        digest.toggle(&document_digest(id, claimed));
                    }
                    false
                }
            })
            .collect())
    }
}
