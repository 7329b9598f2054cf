//! An account's history, read from its own document's changes (`rapport_model::account::history`):
//! nothing is kept beside the document for it, so no change escapes it.

use rapport_model::DocumentId;
use rapport_model::account::{self, AccountHistory};

use crate::error::StoreError;
use crate::replica::Replica;

impl Replica {
    /// Who changed what on account `id`, when, and from which value: every change of its
    /// document in causal order, or the latest `limit`.
    pub fn history(
        &mut self,
        id: DocumentId,
        limit: Option<usize>,
    ) -> Result<AccountHistory, StoreError> {
        account::history(self.document(id)?, id, limit)
            .map_err(|source| StoreError::Shape { id, source })
    }
}
