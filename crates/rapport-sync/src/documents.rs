//! The seam between a session and whoever holds the documents: a client's replica, or the
//! relay's store of one workspace.

use automerge::{Automerge, PatchLog};
use rapport_model::DocumentId;

/// Why a document could not be opened for a sync message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Only a document that exists (and that the peer may see).
    Existing,
    /// Create it empty if it does not exist yet (a peer pushing a new document).
    OrCreate,
}

/// Access to documents for one session. Implementations decide what the peer may see: a document
/// they will not share is simply `None`.
pub trait Documents {
    /// The error of the storage behind.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Runs `f` on document `id` and persists whatever `f` changed, durably, before returning.
    /// `f` logs the patches of what it applies into the [`PatchLog`] it is given: pass an
    /// active log to learn what changed (a replica updating its indexes; computing that
    /// afterwards with `diff` costs far more on a large document), an inactive one otherwise.
    /// Returns `None` when the document does not exist (or may not be shared) and `open` is
    /// [`Open::Existing`], or when creating is refused.
    fn update<R>(
        &mut self,
        id: DocumentId,
        open: Open,
        f: impl FnOnce(&mut Automerge, &mut PatchLog) -> R,
    ) -> Result<Option<R>, Self::Error>;

    /// Runs `f` on document `id` without changing it; `None` when there is no such document for
    /// this peer.
    fn read<R>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, Self::Error>;
}
