//! A replica as the documents of a sync session.

use automerge::{Automerge, ChangeHash, PatchLog};
use rapport_model::{DocumentId, workspace};
use rapport_store::{Replica, StoreError};
use rapport_sync::{Documents, Merged, Open, Saved, Summary};

/// A replica seen as the documents of a sync session.
#[derive(Debug)]
pub struct ReplicaDocuments<'r> {
    replica: &'r mut Replica,
}

impl<'r> ReplicaDocuments<'r> {
    /// The replica's documents, for a session.
    pub fn new(replica: &'r mut Replica) -> Self {
        Self { replica }
    }
}

impl Documents for ReplicaDocuments<'_> {
    type Error = StoreError;

    fn update<R>(
        &mut self,
        id: DocumentId,
        open: Open,
        f: impl FnOnce(&mut Automerge, &mut PatchLog) -> R,
    ) -> Result<Option<R>, StoreError> {
        self.replica.apply_remote(id, open == Open::OrCreate, f)
    }

    fn read<R>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, StoreError> {
        self.replica.read_document(id, f)
    }

    // What is read from the stored rows (heads, bytes) first commits the changes a link holds
    // back ([`Replica::hold_remote_changes`]), so that the rows show them.

    fn summary(&mut self) -> Result<Summary, StoreError> {
        self.replica.commit_held()?;
        self.replica.summary()
    }

    fn saved(&mut self, id: DocumentId) -> Result<Option<Saved>, StoreError> {
        self.replica.commit_held()?;
        Ok(self.replica.saved_document(id)?.map(|s| Saved {
            data: s.data,
            heads: s.heads,
        }))
    }

    /// The replica trusts its own relay: new documents are stored as they came and checked
    /// when they are indexed ([`Replica::index_pending`]).
    fn store_new(
        &mut self,
        incoming: Vec<(DocumentId, Vec<u8>, Vec<ChangeHash>)>,
    ) -> Result<Vec<Merged>, StoreError> {
        Ok(self
            .replica
            .store_unverified(incoming)?
            .into_iter()
            .map(|(heads, changed)| Merged::Stored { heads, changed })
            .collect())
    }

    fn heads(&mut self, id: DocumentId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.replica.commit_held()?;
        self.replica.stored_heads(id)
    }

    fn merge_documents(
        &mut self,
        incoming: Vec<(DocumentId, Automerge, Vec<u8>)>,
    ) -> Result<Vec<Merged>, StoreError> {
        let imported = self.replica.import_documents(incoming)?;
        Ok(imported
            .into_iter()
            .map(|(heads, changed)| Merged::Stored { heads, changed })
            .collect())
    }
}

/// The workspace document and every account document it lists: what a replica syncs. Before
/// the workspace document has arrived, that is the workspace document alone.
pub fn workspace_documents(replica: &mut Replica) -> Result<Vec<DocumentId>, StoreError> {
    let id = replica.workspace_id();
    let accounts = replica.read_document(id, workspace::account_ids)?;
    let mut ids = vec![id];
    match accounts {
        Some(Ok(accounts)) => ids.extend(accounts),
        Some(Err(source)) => return Err(StoreError::Shape { id, source }),
        None => {}
    }
    Ok(ids)
}
