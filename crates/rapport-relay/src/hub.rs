//! What the relay holds in memory: one [`WorkspaceHub`] per workspace that has a connection,
//! with the documents in use, the workspace digest, and how connections hear what changed:
//! those that replicate the whole workspace (Rapport clients) through a channel every change
//! goes to, the others (automerge-repo peers, which hold the few documents they asked for)
//! through a [`DocumentWatcher`] told only of those documents, so a thousand such peers on a
//! thousand documents are not each woken by every change.
//!
//! **Invariant:** a hub knows one workspace. Every document key, every broadcast and every
//! digest carries that workspace's id; nothing is shared between hubs but the store (and the
//! signal that wakes the webhook delivery task, which carries nothing).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use automerge::{Automerge, ChangeHash};
use rapport_model::DocumentId;
use rapport_store::{DocumentCommit, RelayStore, SavedBytes, StoreError, StoredDocument};
use rapport_sync::{Digest, Merged, Summary, document_digest};
use tokio::sync::{Notify, broadcast};

use crate::webhooks::AlertHook;

mod answers;
mod documents;
mod inline;
#[cfg(test)]
mod testing;
mod together;
mod unchecked;
mod watch;
pub use documents::HubDocuments;
pub use inline::{Busy, Inline};
pub use together::{BatchFailed, Together, documents_of};
use unchecked::Checkers;
pub use watch::{DocumentWatcher, WatchedChanges};

/// How many events a slow connection may fall behind before it is told to reconnect, unless
/// the relay is configured otherwise.
const EVENT_BACKLOG: usize = 4096;

/// Something every connection of a workspace hears about.
#[derive(Clone, Debug)]
pub enum Event {
    /// Document `id` changed through connection `origin` (or the relay itself, origin 0).
    Changed {
        /// The document.
        id: DocumentId,
        /// The connection that changed it.
        origin: u64,
    },
    /// These tokens were revoked: their connections close.
    Revoked {
        /// Public token ids.
        token_ids: Vec<String>,
    },
}

/// A document's place in memory: written by one connection at a time, read by many at once
/// (a change fanned out to a thousand peers is a thousand reads).
type Slot = Arc<RwLock<Option<StoredDocument>>>;

/// A document changed in memory, under its write lock, waiting to be committed.
struct Changed<'g> {
    id: DocumentId,
    /// The locked slot; it holds the document.
    slot: &'g mut Option<StoredDocument>,
    /// Its heads as last committed.
    before: Vec<ChangeHash>,
    /// What the digest holds for it (see [`stored_heads`]).
    stored_before: Vec<ChangeHash>,
}

/// What the digest holds for a document whose heads in memory are `heads`: a damaged
/// document's stored heads, not those of its empty self.
fn stored_heads(document: &StoredDocument, heads: &[ChangeHash]) -> Vec<ChangeHash> {
    document
        .damaged_heads()
        .map_or_else(|| heads.to_vec(), <[ChangeHash]>::to_vec)
}

/// One workspace's live state.
pub struct WorkspaceHub {
    id: DocumentId,
    store: Arc<RelayStore>,
    documents: Mutex<HashMap<DocumentId, Slot>>,
    cache_limit: usize,
    digest: Mutex<Digest>,
    events: broadcast::Sender<Event>,
    /// Revocations only, for connections that do not hear every change.
    control: broadcast::Sender<Event>,
    /// Who holds each document without replicating the whole workspace.
    watchers: Mutex<HashMap<DocumentId, Vec<DocumentWatcher>>>,
    /// Where the digest is kept when the hub closes, so that reopening it does not read every
    /// document's heads again (every change goes through a hub, so it stays true).
    digests: Arc<Mutex<HashMap<DocumentId, (Digest, u64)>>>,
    /// Which opening of this workspace's hub this is: a hub that closes late never overwrites
    /// the digest of one opened after it.
    generation: u64,
    /// Webhook events for what commits here (`webhooks.rs`).
    alerts: AlertHook,
    /// Sync messages generated for one connection that others in the same state reuse.
    answers: answers::Answers,
    /// Documents pushed whole and stored before they were loaded (`unchecked.rs`).
    unchecked: Mutex<HashSet<DocumentId>>,
    /// Whether the thread that checks them is running.
    checking: AtomicBool,
    /// Every hub's checking threads, stopped with the relay.
    checkers: Arc<Checkers>,
}

impl Drop for WorkspaceHub {
    fn drop(&mut self) {
        let digest = *lock(&self.digest);
        let mut digests = lock(&self.digests);
        let newer = digests
            .get(&self.id)
            .is_some_and(|(_, generation)| *generation > self.generation);
        if !newer {
            digests.insert(self.id, (digest, self.generation));
        }
    }
}

impl std::fmt::Debug for WorkspaceHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceHub")
            .field("id", &self.id)
            .finish()
    }
}

impl WorkspaceHub {
    /// Opens the hub of workspace `id` with what `hubs` share between theirs.
    fn open(id: DocumentId, hubs: &Hubs) -> Result<Self, StoreError> {
        let store = hubs.store.clone();
        let digests = hubs.digests.clone();
        let webhook = store.webhook(id)?.map(|webhook| webhook.workspace_name);
        let store_unchecked = store.unchecked(id)?.into_iter().collect();
        let kept = lock(&digests).remove(&id);
        let digest = match kept {
            Some((digest, _)) => digest,
            None => Digest::of(&store.summary(id)?),
        };
        Ok(Self {
            id,
            store,
            documents: Mutex::new(HashMap::new()),
            cache_limit: hubs.cache_limit,
            digest: Mutex::new(digest),
            events: broadcast::channel(hubs.event_backlog).0,
            control: broadcast::channel(hubs.event_backlog).0,
            watchers: Mutex::new(HashMap::new()),
            digests,
            generation: hubs.next_generation.fetch_add(1, Ordering::Relaxed),
            alerts: AlertHook::new(webhook, hubs.webhook_wake.clone()),
            answers: answers::Answers::default(),
            unchecked: Mutex::new(store_unchecked),
            checking: AtomicBool::new(false),
            checkers: hubs.checkers.clone(),
        })
    }

    /// The workspace document's id.
    pub fn id(&self) -> DocumentId {
        self.id
    }

    /// Listens to every event of the workspace.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Listens to the workspace's revocations only.
    pub fn subscribe_control(&self) -> broadcast::Receiver<Event> {
        self.control.subscribe()
    }

    /// Tells `watcher` of every later change to document `id`.
    pub fn watch(&self, id: DocumentId, watcher: &DocumentWatcher) {
        let mut watchers = lock(&self.watchers);
        let list = watchers.entry(id).or_default();
        if !list.iter().any(|w| w.connection() == watcher.connection()) {
            list.push(watcher.clone());
        }
    }

    /// Stops telling connection `connection` about document `id`.
    pub fn unwatch(&self, id: DocumentId, connection: u64) {
        let mut watchers = lock(&self.watchers);
        if let Some(list) = watchers.get_mut(&id) {
            list.retain(|w| w.connection() != connection);
            if list.is_empty() {
                watchers.remove(&id);
            }
        }
    }

    /// Tells every connection of the workspace that hears it: a change goes to those that hear
    /// every change and to the watchers of its document (not its origin), a revocation to all.
    pub fn announce(&self, event: Event) {
        match &event {
            Event::Changed { id, origin } => {
                if let Some(list) = lock(&self.watchers).get(id) {
                    for watcher in list.iter().filter(|w| w.connection() != *origin) {
                        watcher.tell(*id);
                    }
                }
            }
            Event::Revoked { .. } => {
                let _ = self.control.send(event.clone());
            }
        }
        // No receivers is fine: nobody is connected to hear it.
        let _ = self.events.send(event);
    }

    /// The digest of the workspace's summary, kept up to date with every commit.
    pub fn digest(&self) -> Digest {
        *lock(&self.digest)
    }

    /// Webhook events for what commits here.
    pub(crate) fn alerts(&self) -> &AlertHook {
        &self.alerts
    }

    /// How many documents are loaded.
    pub fn loaded(&self) -> usize {
        lock(&self.documents).len()
    }

    fn slot(&self, id: DocumentId) -> Slot {
        let mut documents = lock(&self.documents);
        if let Some(slot) = documents.get(&id) {
            return slot.clone();
        }
        if documents.len() >= self.cache_limit {
            // Drop documents no connection is using right now, down to three quarters of the
            // limit, so that eviction runs once per many loads.
            let target = self.cache_limit * 3 / 4;
            let mut excess = documents.len().saturating_sub(target);
            documents.retain(|_, slot| {
                if excess > 0 && Arc::strong_count(slot) == 1 {
                    excess -= 1;
                    false
                } else {
                    true
                }
            });
            self.answers.retain(|id| documents.contains_key(id));
        }
        documents.entry(id).or_default().clone()
    }

    /// Runs `f` on document `id` and commits what it changed before returning; see
    /// [`Documents::update`]. The document's lock is held through the commit, so that no other
    /// connection can forward a change before it is durable.
    pub fn update<R>(
        &self,
        id: DocumentId,
        create: bool,
        f: impl FnOnce(&mut Automerge) -> R,
    ) -> Result<Option<R>, StoreError> {
        let slot = self.slot(id);
        let mut guard = write(&slot);
        if guard.is_none() {
            *guard = self.load(id)?;
        }
        let created = guard.is_none();
        if created && !create {
            drop(guard);
            self.forget_absent(id, &slot);
            return Ok(None);
        }
        let document = guard.get_or_insert_with(StoredDocument::new);
        let before = document.doc.get_heads();
        let stored_before = stored_heads(document, &before);
        // A panic inside Automerge may leave the document half changed: forget it (the next use
        // reloads what is durable) before the panic goes on to end the connection's task, so
        // that the lock is not poisoned with it.
        let result =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut document.doc))) {
                Ok(result) => result,
                Err(panic) => {
                    *guard = None;
                    drop(guard);
                    std::panic::resume_unwind(panic)
                }
            };
        if document.doc.get_heads() == before {
            if created {
                *guard = None;
                drop(guard);
                self.forget_absent(id, &slot);
            }
            return Ok(Some(result));
        }
        self.commit_changed(vec![Changed {
            id,
            slot: &mut guard,
            before,
            stored_before,
        }])?;
        Ok(Some(result))
    }

    /// Commits documents changed in memory under their write locks, in one transaction, with
    /// the webhook events their changes add; then wakes the webhook delivery and brings the
    /// digest up to date. If the commit fails, each is forgotten (memory would be ahead of
    /// disk: the next use reloads what is durable).
    fn commit_changed(&self, mut changed: Vec<Changed<'_>>) -> Result<(), StoreError> {
        let mut commits = Vec::with_capacity(changed.len());
        let mut announces = false;
        for c in &mut changed {
            let Some(document) = c.slot.as_mut() else {
                continue;
            };
            // Webhook hook: the alerts this change adds are recorded in its own transaction. A
            // restored damaged document announces nothing (its entries were announced before).
            let events = match document.damaged_heads() {
                Some(_) => Vec::new(),
                None => self
                    .alerts
                    .events(self.id, c.id, &document.doc, &c.before, || {
                        self.stored_workspace()
                    }),
            };
            announces |= !events.is_empty();
            commits.push(DocumentCommit {
                id: c.id,
                document,
                before: &c.before,
                events,
            });
        }
        if let Err(error) = self.store.commit_together(self.id, commits) {
            for c in changed {
                *c.slot = None;
            }
            return Err(error);
        }
        if announces {
            self.alerts.wake();
        }
        let mut digest = lock(&self.digest);
        for c in changed {
            let Some(document) = c.slot.as_ref() else {
                continue;
            };
            // Entries from now on are read against the members and rules this version holds.
            if c.id == self.id {
                self.alerts.workspace_committed(self.id, &document.doc);
            }
            digest.toggle(&document_digest(c.id, &c.stored_before));
            digest.toggle(&document_digest(c.id, &document.doc.get_heads()));
        }
        Ok(())
    }

    /// Runs `f` with the documents of `ids` that the workspace has never seen (their indexes
    /// in `ids`, each id once), their slots, and those of the rest, locked in id order until `f`
    /// is done, so that no other connection creates one of them meanwhile (`update` takes one
    /// slot at a time: no deadlock). `f` stores them, in one commit. Empty slots are left out of
    /// the map afterwards, as if never asked for: what `f` stored is not loaded.
    fn with_new<R>(
        &self,
        ids: &[DocumentId],
        f: impl FnOnce(&[usize]) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i]);
        let mut seen = HashSet::new();
        order.retain(|&i| seen.insert(ids[i]));
        let slots: Vec<Slot> = order.iter().map(|&i| self.slot(ids[i])).collect();
        let guards: Vec<RwLockWriteGuard<'_, Option<StoredDocument>>> =
            slots.iter().map(|s| write(s)).collect();
        let unloaded: Vec<usize> = order
            .iter()
            .zip(&guards)
            .filter(|(_, guard)| guard.is_none())
            .map(|(&i, _)| i)
            .collect();
        let unloaded_ids: Vec<DocumentId> = unloaded.iter().map(|&i| ids[i]).collect();
        let stored = self.store.contains_each(self.id, &unloaded_ids)?;
        let fresh: Vec<usize> = unloaded
            .into_iter()
            .zip(stored)
            .filter(|(_, stored)| !stored)
            .map(|(i, _)| i)
            .collect();
        let result = f(&fresh);
        drop(guards);
        for (&i, slot) in order.iter().zip(&slots) {
            self.forget_absent(ids[i], slot);
        }
        result
    }

    /// Stores the documents of `incoming` that the workspace has never seen, together in one
    /// commit (see [`WorkspaceHub::with_new`]); the answer for each of those, `None` for the
    /// rest (to be merged one by one).
    pub fn import_new(
        &self,
        incoming: &[(DocumentId, Automerge, Vec<u8>)],
    ) -> Result<Vec<Option<Merged>>, StoreError> {
        let ids: Vec<DocumentId> = incoming.iter().map(|(id, _, _)| *id).collect();
        self.with_new(&ids, |fresh| {
            let heads: Vec<Vec<ChangeHash>> =
                fresh.iter().map(|&i| incoming[i].1.get_heads()).collect();
            let rows: Vec<(DocumentId, &[u8], Vec<ChangeHash>)> = fresh
                .iter()
                .zip(&heads)
                .map(|(&i, heads)| (incoming[i].0, incoming[i].2.as_slice(), heads.clone()))
                .collect();
            // Webhook hook: the alerts the new documents hold, recorded with them.
            let events: Vec<_> = fresh
                .iter()
                .flat_map(|&i| {
                    let (id, doc, _) = &incoming[i];
                    self.alerts
                        .events(self.id, *id, doc, &[], || self.stored_workspace())
                })
                .collect();
            self.store.import_with_events(self.id, &rows, &events)?;
            if !events.is_empty() {
                self.alerts.wake();
            }
            let mut answers: Vec<Option<Merged>> = (0..incoming.len()).map(|_| None).collect();
            let mut digest = lock(&self.digest);
            for (&i, heads) in fresh.iter().zip(heads) {
                digest.toggle(&document_digest(incoming[i].0, &heads));
                let changed = !heads.is_empty();
                answers[i] = Some(Merged::Stored { heads, changed });
            }
            Ok(answers)
        })
    }

    /// Runs `f` on document `id` as stored; `None` when the workspace has no such document.
    pub fn read<R>(
        &self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, StoreError> {
        let slot = self.slot(id);
        {
            let guard = read(&slot);
            if let Some(document) = guard.as_ref() {
                return Ok(Some(f(&document.doc)));
            }
        }
        // Not loaded: load it under the write lock (unless someone did meanwhile), and read it
        // there, once.
        let mut guard = write(&slot);
        if guard.is_none() {
            *guard = self.load(id)?;
        }
        let Some(document) = guard.as_ref() else {
            drop(guard);
            self.forget_absent(id, &slot);
            return Ok(None);
        };
        Ok(Some(f(&document.doc)))
    }

    /// The workspace document as stored, read past the slots (whose locks a commit holds while
    /// it asks); `None` when it is not stored or does not load.
    fn stored_workspace(&self) -> Option<Automerge> {
        match self.store.load(self.id, self.id) {
            Ok(stored) => stored.map(|stored| stored.doc),
            Err(error) => {
                tracing::warn!(workspace = %self.id, %error, "the workspace document does not load; webhooks announce alert lists only");
                None
            }
        }
    }

    /// Takes the empty slot of a document the workspace does not have out of the map, unless
    /// someone else holds it: asking for ids that do not exist leaves nothing behind, and
    /// evicts nothing in use to make room for them.
    fn forget_absent(&self, id: DocumentId, slot: &Slot) {
        // Lock order: the map, then a slot (no one takes the map while holding a slot).
        let mut documents = lock(&self.documents);
        // The map's reference and the caller's: no one else can be about to fill it.
        if Arc::strong_count(slot) == 2 && read(slot).is_none() {
            documents.remove(&id);
        }
    }

    /// The heads of document `id`: from memory when it is loaded, else from its heads row (a
    /// member acknowledging a document it was sent does not load it here).
    pub fn heads(&self, id: DocumentId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let slot = lock(&self.documents).get(&id).cloned();
        if let Some(slot) = slot
            && let Some(document) = read(&slot).as_ref()
        {
            return Ok(Some(document.doc.get_heads()));
        }
        self.store.heads(self.id, id)
    }

    /// Every document of the workspace with its heads.
    pub fn summary(&self) -> Result<Summary, StoreError> {
        self.store.summary(self.id)
    }

    /// Document `id` whole, as stored, with its heads; one stored unchecked is checked first,
    /// so that no member is sent bytes the relay has not loaded.
    pub fn saved(&self, id: DocumentId) -> Result<Option<SavedBytes>, StoreError> {
        if lock(&self.unchecked).contains(&id) {
            let slot = self.slot(id);
            let mut guard = write(&slot);
            if guard.is_none() {
                *guard = self.load(id)?;
            }
            if guard.is_none() {
                drop(guard);
                self.forget_absent(id, &slot);
                return Ok(None);
            }
        }
        self.store.saved(self.id, id)
    }
}

/// The hubs of the workspaces that are in use; a hub lives while a connection holds it.
#[derive(Debug)]
pub struct Hubs {
    store: Arc<RelayStore>,
    hubs: Mutex<HashMap<DocumentId, Weak<WorkspaceHub>>>,
    /// The digests of workspaces whose hub is closed, with the generation of that hub.
    digests: Arc<Mutex<HashMap<DocumentId, (Digest, u64)>>>,
    cache_limit: usize,
    event_backlog: usize,
    next_connection: AtomicU64,
    next_generation: AtomicU64,
    /// Wakes the webhook delivery task when a hub records events.
    webhook_wake: Arc<Notify>,
    /// The threads checking pushed documents.
    checkers: Arc<Checkers>,
}

impl Hubs {
    /// No hubs yet, over `store`; each hub keeps at most `cache_limit` idle documents loaded.
    pub fn new(store: Arc<RelayStore>, cache_limit: usize) -> Self {
        Self {
            store,
            hubs: Mutex::new(HashMap::new()),
            digests: Arc::new(Mutex::new(HashMap::new())),
            cache_limit: cache_limit.max(1),
            event_backlog: EVENT_BACKLOG,
            next_connection: AtomicU64::new(1),
            next_generation: AtomicU64::new(1),
            webhook_wake: Arc::new(Notify::new()),
            checkers: Arc::default(),
        }
    }

    /// How many changes a connection may fall behind its workspace before it is closed (to
    /// catch up by reconnecting).
    pub fn with_event_backlog(mut self, backlog: usize) -> Self {
        self.event_backlog = backlog.max(1);
        self
    }

    /// The store behind.
    pub fn store(&self) -> &Arc<RelayStore> {
        &self.store
    }

    /// The hub of workspace `id`, opened if no one holds it.
    pub fn hub(&self, id: DocumentId) -> Result<Arc<WorkspaceHub>, StoreError> {
        let mut hubs = lock(&self.hubs);
        if let Some(hub) = hubs.get(&id).and_then(Weak::upgrade) {
            return Ok(hub);
        }
        hubs.retain(|_, hub| hub.strong_count() > 0);
        let hub = Arc::new(WorkspaceHub::open(id, self)?);
        hubs.insert(id, Arc::downgrade(&hub));
        hub.check_unchecked();
        Ok(hub)
    }

    /// Opens the hub of every workspace holding documents pushed but not checked yet (a relay
    /// stopped before it checked them), which checks them; each hub closes once done, unless a
    /// connection holds it.
    pub fn check_unchecked(&self) {
        let workspaces = match self.store.workspaces_unchecked() {
            Ok(workspaces) => workspaces,
            Err(error) => {
                tracing::error!(%error, "could not list the pushed documents still to check; each is checked when it is used");
                return;
            }
        };
        for id in workspaces {
            if let Err(error) = self.hub(id) {
                tracing::error!(workspace = %id, %error, "could not open a workspace to check its pushed documents; each is checked when it is used");
            }
        }
    }

    /// Stops the threads checking pushed documents, after the batch each is on, and waits for
    /// them (they hold the store); what they did not reach stays marked for the next start.
    pub fn stop_checking(&self) {
        self.checkers.stop();
    }

    /// The hub of workspace `id` if a connection holds it.
    pub fn live(&self, id: DocumentId) -> Option<Arc<WorkspaceHub>> {
        lock(&self.hubs).get(&id).and_then(Weak::upgrade)
    }

    /// What wakes the webhook delivery task.
    pub(crate) fn webhook_wake(&self) -> Arc<Notify> {
        self.webhook_wake.clone()
    }

    /// A number for a new connection, unique in this process (0 is the relay itself).
    pub fn connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}

/// Locks a mutex; a panic elsewhere while it was held does not make its data unusable here
/// (every critical section in the relay leaves its data consistent, or forgets the document).
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn asking_for_documents_the_workspace_lacks_leaves_nothing_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RelayStore::open(dir.path()).unwrap());
        let hub = Hubs::new(store, 4).hub(DocumentId::random()).unwrap();
        for _ in 0..100 {
            assert!(hub.read(DocumentId::random(), |_| ()).unwrap().is_none());
            assert!(
                hub.update(DocumentId::random(), false, |_| ())
                    .unwrap()
                    .is_none()
            );
            // Created, but nothing written: not kept either.
            assert!(
                hub.update(DocumentId::random(), true, |_| ())
                    .unwrap()
                    .is_some()
            );
        }
        assert_eq!(hub.loaded(), 0);
    }

    #[test]
    fn a_reopened_hub_keeps_the_digest_of_every_change_made_through_the_last_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RelayStore::open(dir.path()).unwrap());
        let hubs = Hubs::new(store.clone(), 4);
        let workspace = DocumentId::random();
        for round in 0..3 {
            let hub = hubs.hub(workspace).unwrap();
            for _ in 0..6 {
                hub.update(DocumentId::random(), true, |doc| testing::put(doc, round))
                    .unwrap();
            }
            assert_eq!(hub.digest(), Digest::of(&store.summary(workspace).unwrap()));
            drop(hub);
            let reopened = hubs.hub(workspace).unwrap();
            assert_eq!(
                reopened.digest(),
                Digest::of(&store.summary(workspace).unwrap()),
                "round {round}"
            );
        }
    }
}
