//! Connects a replica to its peers. [`ReplicaDocuments`] makes a [`Replica`] the documents of a
//! sync [`rapport_sync::Session`]: every change a peer sends is applied through
//! [`Replica::apply_remote`], so it is durable and indexed (alerts included) before the session
//! answers. [`workspace_documents`] lists what a replica holds of its workspace.

use automerge::{Automerge, PatchLog};
use rapport_model::{DocumentId, workspace};
use rapport_store::{Replica, StoreError};
use rapport_sync::{Documents, Open};

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
