//! A connection's side of its workspace's hub: the documents its sync session reads and writes.

use std::sync::Arc;

use automerge::{Automerge, ChangeHash, PatchLog};
use rapport_model::DocumentId;
use rapport_store::StoreError;
use rapport_sync::{
    Digest, Documents, Generated, Merged, Open, Saved, Summary, inflation, load_and_merge,
    merge_one_at_a_time,
};

use super::WorkspaceHub;

/// A connection's view of its workspace's documents, for its sync session.
#[derive(Clone, Debug)]
pub struct HubDocuments {
    pub(super) hub: Arc<WorkspaceHub>,
    pub(super) may_create: bool,
}

impl HubDocuments {
    /// The documents of `hub`; `may_create` lets the peer push new documents.
    pub fn new(hub: Arc<WorkspaceHub>, may_create: bool) -> Self {
        Self { hub, may_create }
    }
}

impl Documents for HubDocuments {
    type Error = StoreError;

    fn update<R>(
        &mut self,
        id: DocumentId,
        open: Open,
        f: impl FnOnce(&mut Automerge, &mut PatchLog) -> R,
    ) -> Result<Option<R>, StoreError> {
        let create = self.may_create && open == Open::OrCreate;
        // The relay keeps no indexes: nothing needs the patches.
        self.hub
            .update(id, create, |doc| f(doc, &mut PatchLog::inactive()))
    }

    fn read<R>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, StoreError> {
        self.hub.read(id, f)
    }

    fn generate(
        &mut self,
        id: DocumentId,
        state: &mut automerge::sync::State,
        local_read_only: bool,
    ) -> Result<Option<Generated>, StoreError> {
        let hub = &self.hub;
        hub.read(id, |doc| {
            hub.answers.generate(id, doc, state, local_read_only)
        })
    }

    fn summary(&mut self) -> Result<Summary, StoreError> {
        self.hub.summary()
    }

    fn digest(&mut self) -> Result<Digest, StoreError> {
        Ok(self.hub.digest())
    }

    fn saved(&mut self, id: DocumentId) -> Result<Option<Saved>, StoreError> {
        Ok(self.hub.saved(id)?.map(|s| Saved {
            data: s.data,
            heads: s.heads,
        }))
    }

    /// New documents in one commit; the others (and all of them, for a viewer, who gets
    /// `Refused`) one by one.
    fn merge_documents(
        &mut self,
        incoming: Vec<(DocumentId, Automerge, Vec<u8>)>,
    ) -> Result<Vec<Merged>, StoreError> {
        if !self.may_create {
            return merge_one_at_a_time(self, incoming);
        }
        let mut answers = self.hub.import_new(&incoming)?;
        let (rest_at, rest): (Vec<usize>, Vec<_>) = incoming
            .into_iter()
            .enumerate()
            .filter(|(i, _)| answers[*i].is_none())
            .unzip();
        for (i, merged) in rest_at.into_iter().zip(merge_one_at_a_time(self, rest)?) {
            answers[i] = Some(merged);
        }
        Ok(answers
            .into_iter()
            .map(|a| a.unwrap_or(Merged::Refused))
            .collect())
    }

    /// A member's new documents are stored as they came, and checked afterwards
    /// (`unchecked.rs`); only bytes that would inflate past any real document are refused
    /// here. A viewer's, and any the workspace turns out to hold already, are loaded and merged
    /// (or refused) as they come.
    fn store_new(
        &mut self,
        incoming: Vec<(DocumentId, Vec<u8>, Vec<ChangeHash>)>,
    ) -> Result<Vec<Merged>, StoreError> {
        if !self.may_create {
            return load_and_merge(self, incoming);
        }
        let mut answers: Vec<Option<Merged>> = Vec::with_capacity(incoming.len());
        let mut sound = Vec::with_capacity(incoming.len());
        for (id, data, heads) in incoming {
            match inflation::check(&data) {
                Ok(()) => {
                    answers.push(None);
                    sound.push((id, data, heads));
                }
                Err(error) => answers.push(Some(Merged::Invalid(error.to_string()))),
            }
        }
        let stored = self.hub.import_unchecked(&sound)?;
        let (mut rest, mut rest_at) = (Vec::new(), Vec::new());
        let mut sound_answers = Vec::with_capacity(sound.len());
        for (k, (document, answer)) in sound.into_iter().zip(stored).enumerate() {
            if answer.is_none() {
                rest_at.push(k);
                rest.push(document);
            }
            sound_answers.push(answer);
        }
        for (k, merged) in rest_at.into_iter().zip(load_and_merge(self, rest)?) {
            sound_answers[k] = Some(merged);
        }
        let mut sound_answers = sound_answers.into_iter();
        Ok(answers
            .into_iter()
            .map(|answer| {
                answer
                    .or_else(|| sound_answers.next().flatten())
                    .unwrap_or(Merged::Refused)
            })
            .collect())
    }

    fn heads(&mut self, id: DocumentId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.hub.heads(id)
    }
}
