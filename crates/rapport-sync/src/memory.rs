//! Documents held in memory only: a peer that keeps nothing between runs, as the benchmark's
//! light peers (a browser tab, in effect) and the fuzz harness's clients are.

use std::collections::BTreeMap;
use std::convert::Infallible;

use crate::{Documents, Open, Saved, Summary};
use automerge::{Automerge, PatchLog};
use rapport_model::DocumentId;

/// Documents held in memory; nothing fails.
#[derive(Debug, Default)]
pub struct MemoryDocuments {
    /// The documents by id.
    pub docs: BTreeMap<DocumentId, Automerge>,
}

impl Documents for MemoryDocuments {
    type Error = Infallible;

    fn update<R>(
        &mut self,
        id: DocumentId,
        open: Open,
        f: impl FnOnce(&mut Automerge, &mut PatchLog) -> R,
    ) -> Result<Option<R>, Infallible> {
        if open == Open::Existing && !self.docs.contains_key(&id) {
            return Ok(None);
        }
        let doc = self.docs.entry(id).or_default();
        Ok(Some(f(doc, &mut PatchLog::inactive())))
    }

    fn read<R>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, Infallible> {
        Ok(self.docs.get(&id).map(f))
    }

    fn summary(&mut self) -> Result<Summary, Infallible> {
        Ok(self
            .docs
            .iter()
            .map(|(id, doc)| (*id, doc.get_heads()))
            .collect())
    }

    fn saved(&mut self, id: DocumentId) -> Result<Option<Saved>, Infallible> {
        self.read(id, |doc| Saved {
            data: doc.save(),
            heads: doc.get_heads(),
        })
    }
}
