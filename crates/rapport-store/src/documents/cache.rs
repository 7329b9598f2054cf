//! The replica's loaded documents: the most recently used, within a count and a byte bound,
//! never dropping one that holds changes not committed yet.

use std::collections::HashMap;

use automerge::{ActorId, Automerge};
use rapport_model::DocumentId;

use crate::rows::Stored;

/// How many documents stay loaded at most; the least recently used beyond this are dropped
/// (never one holding changes not committed yet). A sync that brings a few hundred documents
/// touches each several times (its own change, the relay's answers, the other side's changes):
/// the cache must hold them all, or each touch loads the document again (about 0.5 ms for an
/// account of 20 notes).
const CACHE_DOCUMENTS: usize = 1024;
/// How many stored bytes (snapshots and chunks) the loaded documents may come to. A loaded
/// document takes about 20 times its stored size in memory (an account of 20 notes: 2 KB
/// stored, 43 KB loaded), so this bounds the cache near 80 MB, a few large documents or a
/// thousand small ones.
const CACHE_STORED_BYTES: u64 = 4 << 20;
/// Loaded documents, each with what is stored of it on disk.
pub(crate) struct DocumentCache {
    pub(super) actor: ActorId,
    entries: HashMap<DocumentId, Cached>,
    clock: u64,
}

pub(super) struct Cached {
    pub(super) doc: Automerge,
    pub(super) stored: Stored,
    last_used: u64,
    /// Holds changes not committed yet ([`Replica::hold_remote_changes`]): never dropped, since
    /// memory is the only place they are.
    pinned: bool,
}

impl DocumentCache {
    pub(crate) fn new(actor: ActorId) -> Self {
        Self {
            actor,
            entries: HashMap::new(),
            clock: 0,
        }
    }

    pub(super) fn touch(&mut self, id: &DocumentId) -> Option<&mut Cached> {
        self.clock += 1;
        let clock = self.clock;
        let cached = self.entries.get_mut(id)?;
        cached.last_used = clock;
        Some(cached)
    }

    pub(super) fn insert(&mut self, id: DocumentId, doc: Automerge, stored: Stored) {
        let mut bytes: u64 = self.entries.values().map(|c| c.stored.bytes()).sum();
        while self.entries.len() >= CACHE_DOCUMENTS
            || (!self.entries.is_empty() && bytes + stored.bytes() > CACHE_STORED_BYTES)
        {
            let Some(oldest) = self
                .entries
                .iter()
                .filter(|(_, c)| !c.pinned)
                .min_by_key(|(_, c)| c.last_used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            if let Some(dropped) = self.entries.remove(&oldest) {
                bytes -= dropped.stored.bytes();
            }
        }
        self.clock += 1;
        self.entries.insert(
            id,
            Cached {
                doc,
                stored,
                last_used: self.clock,
                pinned: false,
            },
        );
    }

    /// Document `id`, if it is loaded (without counting it as used).
    pub(super) fn loaded(&self, id: &DocumentId) -> Option<&Automerge> {
        self.entries.get(id).map(|cached| &cached.doc)
    }

    /// Keeps a document loaded until [`DocumentCache::unpin`], whatever else is loaded.
    pub(crate) fn pin(&mut self, id: &DocumentId) {
        if let Some(cached) = self.entries.get_mut(id) {
            cached.pinned = true;
        }
    }

    pub(super) fn unpin(&mut self, id: &DocumentId) {
        if let Some(cached) = self.entries.get_mut(id) {
            cached.pinned = false;
        }
    }

    /// Forgets a document whose in-memory state may be ahead of disk (a failed commit).
    pub(crate) fn forget(&mut self, id: &DocumentId) {
        self.entries.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(bytes: usize) -> Stored {
        let mut stored = Stored::default();
        stored.compacted(bytes);
        stored
    }

    #[test]
    fn the_cache_keeps_within_its_count_and_bytes_and_never_drops_a_pinned_document() {
        let mut cache = DocumentCache::new(ActorId::random());
        let pinned = DocumentId::random();
        cache.insert(pinned, Automerge::new(), stored(1000));
        cache.pin(&pinned);
        for _ in 0..CACHE_DOCUMENTS + 10 {
            cache.insert(DocumentId::random(), Automerge::new(), stored(10));
        }
        assert_eq!(cache.entries.len(), CACHE_DOCUMENTS);
        assert!(cache.entries.contains_key(&pinned));

        // Documents large enough that the bytes bound comes first.
        let large = (CACHE_STORED_BYTES / 4) as usize;
        let mut recent = Vec::new();
        for _ in 0..6 {
            let id = DocumentId::random();
            cache.insert(id, Automerge::new(), stored(large));
            recent.push(id);
        }
        let bytes: u64 = cache.entries.values().map(|c| c.stored.bytes()).sum();
        assert!(bytes <= CACHE_STORED_BYTES, "{bytes} bytes cached");
        assert!(cache.entries.contains_key(&pinned));
        assert!(cache.entries.contains_key(&recent[5]), "the newest stays");
        assert!(!cache.entries.contains_key(&recent[0]), "the oldest went");
    }
}
