//! How a change from a member becomes durable: [`RelayStore::commit_together`] writes the
//! changes of one or several documents (a connection's batch) as one group, compacts what is
//! due, and restores a damaged document from a member's copy.
//!
//! Group commit: the relay's changes from many connections share durable transactions. Each
//! caller queues its changes and waits; whoever finds no batch being written writes everything
//! queued so far in one transaction (one fsync) and wakes the others. A lone change is written
//! at once; under load, the changes that arrive while one batch is written make up the next, so
//! commits per second follow the disk's fsyncs, not the number of connections.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use automerge::ChangeHash;
use rapport_model::DocumentId;
use redb::ReadableDatabase;

use super::{DAMAGED, OutboxEvent, RelayStore, StoredDocument, key, webhooks};
use crate::error::{StorageContext, StoreError};
use crate::rows::{self, Stored};

/// How many failed batches are remembered for their waiters (a waiter wakes long before this
/// many more batches fail).
const FAILURES_KEPT: usize = 64;

/// One document's change for [`RelayStore::commit_together`].
#[derive(Debug)]
pub struct DocumentCommit<'a> {
    /// The document.
    pub id: DocumentId,
    /// It, as changed in memory.
    pub document: &'a mut StoredDocument,
    /// Its heads as last committed.
    pub before: &'a [ChangeHash],
    /// Webhook events recorded with it.
    pub events: Vec<OutboxEvent>,
}

impl RelayStore {
    /// Commits what changed in `document` since `before` (its heads when it was loaded or last
    /// committed), durably, and compacts its rows when due. Changes committed at the same time
    /// from other threads share one transaction (see `commits.rs`). Nothing to commit when the heads did
    /// not move. On error nothing was written: the caller must drop its copy and reload. A
    /// compaction that fails is only logged: the change is durable, and the next commit tries
    /// the compaction again.
    pub fn commit(
        &self,
        workspace: DocumentId,
        id: DocumentId,
        document: &mut StoredDocument,
        before: &[ChangeHash],
    ) -> Result<(), StoreError> {
        self.commit_with_events(workspace, id, document, before, Vec::new())
    }

    /// [`RelayStore::commit`], recording `events` in the webhook outbox in the same
    /// transaction (each unless the outbox has its entry already).
    pub fn commit_with_events(
        &self,
        workspace: DocumentId,
        id: DocumentId,
        document: &mut StoredDocument,
        before: &[ChangeHash],
        events: Vec<OutboxEvent>,
    ) -> Result<(), StoreError> {
        self.commit_together(
            workspace,
            vec![DocumentCommit {
                id,
                document,
                before,
                events,
            }],
        )
    }

    /// Commits the changes of several documents of `workspace` in one durable transaction (a
    /// connection's batch of sync messages), each as [`RelayStore::commit_with_events`] would
    /// alone: all of them are stored, or none is. A document restored from damage is written
    /// on its own first.
    pub fn commit_together(
        &self,
        workspace: DocumentId,
        commits: Vec<DocumentCommit<'_>>,
    ) -> Result<(), StoreError> {
        let mut queued = Vec::with_capacity(commits.len());
        let mut written = Vec::with_capacity(commits.len());
        for commit in commits {
            let heads = commit.document.doc.get_heads();
            if heads == commit.before {
                continue;
            }
            let key = key(workspace, commit.id);
            if commit.document.damaged.is_some() {
                // A restored document is not news: its entries were announced when they came.
                self.replace_damaged(&key, commit.document)?;
                continue;
            }
            let chunk = commit.document.doc.save_after(commit.before);
            let stored = commit.document.stored;
            written.push((key.clone(), commit.document, chunk.len(), heads.clone()));
            queued.push(Queued {
                key,
                stored,
                chunk,
                heads,
                events: commit.events,
            });
        }
        if queued.is_empty() {
            return Ok(());
        }
        let committed = self.commits.commit(queued, |batch| {
            self.with_db(|db| {
                let doing = "committing a change";
                let txn = db.begin_write().doing(doing)?;
                for change in batch {
                    rows::append(
                        &txn,
                        &change.key,
                        &change.stored,
                        &change.chunk,
                        &change.heads,
                    )?;
                    if !change.events.is_empty() {
                        webhooks::enqueue(&txn, &change.events, self.outbox_limit)?;
                    }
                }
                txn.commit().doing(doing)
            })
        })?;
        if let Committed::Failed(reason) = committed {
            return Err(StoreError::CommitFailed { reason });
        }
        for (key, document, chunk_len, heads) in written {
            document.stored.appended(chunk_len);
            if document.stored.compaction_due() {
                self.compact(&key, document, &heads);
            }
        }
        Ok(())
    }

    /// Replaces a document's snapshot and chunks with one new snapshot. One that fails is only
    /// logged: the change is durable, and the next commit tries the compaction again.
    fn compact(&self, key: &str, document: &mut StoredDocument, heads: &[ChangeHash]) {
        let snapshot = document.doc.save();
        let compacted = self.with_db(|db| {
            let doing = "compacting a document";
            let txn = db.begin_write().doing(doing)?;
            rows::replace_with_snapshot(&txn, key, &snapshot, heads)?;
            txn.commit().doing(doing)
        });
        match compacted {
            Ok(()) => document.stored.compacted(snapshot.len()),
            Err(error) => {
                tracing::warn!(%key, %error, "compaction failed; it runs again later")
            }
        }
    }

    /// Stores a document that was damaged whole, moving its damaged rows aside into
    /// [`DAMAGED`], in one transaction.
    fn replace_damaged(&self, key: &str, document: &mut StoredDocument) -> Result<(), StoreError> {
        let snapshot = document.doc.save();
        let heads = document.doc.get_heads();
        self.with_db(|db| {
            let doing = "restoring a damaged document";
            let txn = db.begin_write().doing(doing)?;
            {
                let old = {
                    let read = db.begin_read().doing(doing)?;
                    rows::saved(&read, key)?
                };
                if let Some(old) = old {
                    txn.open_table(DAMAGED)
                        .doing(doing)?
                        .insert(key, old.data.as_slice())
                        .doing(doing)?;
                }
                rows::replace_with_snapshot(&txn, key, &snapshot, &heads)?;
            }
            txn.commit().doing(doing)
        })?;
        tracing::warn!(%key, "a damaged document was restored from a member's copy");
        document.damaged = None;
        document.stored.compacted(snapshot.len());
        Ok(())
    }

    /// How many durable transactions have written changes, and how many changes they held.
    pub fn commit_batches(&self) -> (u64, u64) {
        self.commits.written()
    }
}

/// One document's change, waiting for its batch.
#[derive(Debug)]
pub(super) struct Queued {
    pub(super) key: String,
    pub(super) stored: Stored,
    pub(super) chunk: Vec<u8>,
    pub(super) heads: Vec<ChangeHash>,
    /// Webhook events recorded with it.
    pub(super) events: Vec<OutboxEvent>,
}

#[derive(Debug, Default)]
pub(super) struct CommitQueue {
    state: Mutex<QueueState>,
    written: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    /// Changes for the batch being gathered.
    queued: Vec<Queued>,
    /// The number of the batch being gathered; every batch before it is written or failed.
    gathering: u64,
    /// Whether some caller is writing a batch now.
    writing: bool,
    /// Recent failed batches, with why.
    failed: VecDeque<(u64, String)>,
    /// Batches written, and the changes they held, for the relay's figures.
    batches: u64,
    changes: u64,
}

/// How a caller's change ended.
pub(super) enum Committed {
    /// In a batch written by this caller or another.
    Written,
    /// Its batch failed, for this reason (the caller who wrote it has the error itself).
    Failed(String),
}

impl CommitQueue {
    /// Queues `changes` (in one batch, whichever it is) and returns once that batch is written
    /// or has failed. `write` writes one batch in one transaction; it runs on whichever caller
    /// leads that batch.
    pub(super) fn commit<E: std::fmt::Display>(
        &self,
        changes: Vec<Queued>,
        write: impl Fn(&[Queued]) -> Result<(), E>,
    ) -> Result<Committed, E> {
        let mut state = self.lock();
        let ticket = state.gathering;
        state.queued.extend(changes);
        loop {
            if ticket < state.gathering && !(state.writing && ticket + 1 == state.gathering) {
                return Ok(outcome(&state, ticket));
            }
            if state.writing {
                state = self
                    .written
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // Lead: write everything gathered so far, without holding the queue's lock.
            let batch = std::mem::take(&mut state.queued);
            let number = state.gathering;
            state.gathering += 1;
            state.writing = true;
            drop(state);
            let result = write(&batch);
            state = self.lock();
            state.writing = false;
            match &result {
                Ok(()) => {
                    state.batches += 1;
                    state.changes += batch.len() as u64;
                }
                Err(error) => {
                    state.failed.push_back((number, error.to_string()));
                    if state.failed.len() > FAILURES_KEPT {
                        state.failed.pop_front();
                    }
                }
            }
            self.written.notify_all();
            // A caller leads only the batch it is in: it is not finished, and no one writes.
            debug_assert_eq!(number, ticket);
            return result.map(|()| Committed::Written);
        }
    }

    /// Batches written so far, and the changes they held.
    pub(super) fn written(&self) -> (u64, u64) {
        let state = self.lock();
        (state.batches, state.changes)
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How batch `ticket`, no longer gathering nor being written, ended.
fn outcome(state: &QueueState, ticket: u64) -> Committed {
    match state.failed.iter().find(|(number, _)| *number == ticket) {
        Some((_, reason)) => Committed::Failed(reason.clone()),
        None => Committed::Written,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::mpsc;
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use super::*;

    fn change(key: &str) -> Queued {
        Queued {
            key: key.into(),
            stored: Stored::default(),
            chunk: vec![1, 2, 3],
            heads: Vec::new(),
            events: Vec::new(),
        }
    }

    #[test]
    fn changes_queued_while_a_batch_is_written_are_written_together_next() {
        let queue = Arc::new(CommitQueue::default());
        let (writing, started) = mpsc::channel();
        let release = Arc::new(Barrier::new(2));
        let first = std::thread::spawn({
            let (queue, release) = (queue.clone(), release.clone());
            move || {
                queue.commit(vec![change("first")], |batch| {
                    assert_eq!(batch.len(), 1);
                    writing.send(()).unwrap();
                    release.wait();
                    Ok::<_, String>(())
                })
            }
        });
        started.recv().unwrap();
        let written = Arc::new(Mutex::new(Vec::new()));
        let others: Vec<_> = (0..7)
            .map(|i| {
                let (queue, written) = (queue.clone(), written.clone());
                std::thread::spawn(move || {
                    queue.commit(vec![change(&format!("other {i}"))], |batch| {
                        written.lock().unwrap().push(batch.len());
                        Ok::<_, String>(())
                    })
                })
            })
            .collect();
        // Let all seven queue behind the first batch, then let it finish.
        while queue.lock().queued.len() < 7 {
            std::thread::sleep(Duration::from_millis(1));
        }
        release.wait();
        assert!(matches!(first.join().unwrap(), Ok(Committed::Written)));
        for other in others {
            assert!(matches!(other.join().unwrap(), Ok(Committed::Written)));
        }
        assert_eq!(*written.lock().unwrap(), vec![7], "one batch for the seven");
        assert_eq!(queue.written(), (2, 8));
    }

    #[test]
    fn a_failed_batch_fails_every_change_in_it_and_the_next_batch_goes_on() {
        let queue = CommitQueue::default();
        let failed = queue.commit(vec![change("a")], |_| Err("disk full".to_string()));
        assert_eq!(failed.err().as_deref(), Some("disk full"));
        let state = queue.lock();
        assert_eq!(outcome(&state, 0).failed(), Some("disk full"));
        drop(state);
        let next = queue.commit(vec![change("b")], |_| Ok::<_, String>(()));
        assert!(matches!(next, Ok(Committed::Written)));
        assert_eq!(queue.written(), (1, 1));
    }

    impl Committed {
        fn failed(&self) -> Option<&str> {
            match self {
                Committed::Failed(reason) => Some(reason),
                Committed::Written => None,
            }
        }
    }
}
