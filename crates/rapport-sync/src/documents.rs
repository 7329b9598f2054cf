//! The seam between a session and whoever holds the documents: a client's replica, or the
//! relay's store of one workspace.

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash, LoadOptions, OnPartialLoad, PatchLog, ReadDoc};
use rapport_model::DocumentId;

use crate::summary::{Digest, Summary};

/// Why a document could not be opened for a sync message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Only a document that exists (and that the peer may see).
    Existing,
    /// Create it empty if it does not exist yet (a peer pushing a new document).
    OrCreate,
}

/// What became of one whole document from the remote ([`Documents::merge_documents`]).
#[derive(Debug)]
pub enum Merged {
    /// Merged and committed: the document's heads here now, and whether anything changed.
    Stored {
        /// Heads after the merge.
        heads: Vec<ChangeHash>,
        /// Whether it changed.
        changed: bool,
    },
    /// Not taken: no such document here, and creating it was refused.
    Refused,
    /// The document does not merge (Automerge refused its changes).
    Invalid(String),
}

/// A document as stored, for a remote that lacks it ([`Documents::saved`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// What `Automerge::load` reads whole.
    pub data: Vec<u8>,
    /// The heads `data` holds.
    pub heads: Vec<ChangeHash>,
}

/// The next sync message of a document for one peer ([`Documents::generate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The message, encoded; `None` when there is nothing to say.
    pub message: Option<Vec<u8>>,
    /// Whether the peer holds everything this side holds, as far as this side knows.
    pub in_step: bool,
}

/// The next sync message of `doc` for a peer whose sync state is `state` (which it updates, as
/// `generate_sync_message` does). `local_read_only`: this side takes nothing from the peer, so
/// the peer is in step once it holds every head this side knows of it.
pub fn generate(doc: &Automerge, state: &mut sync::State, local_read_only: bool) -> Generated {
    let message = doc.generate_sync_message(state).map(|m| m.encode());
    Generated {
        message,
        in_step: in_step(doc, state.their_heads.as_deref(), local_read_only),
    }
}

/// Whether a peer whose heads are `their_heads` holds what `doc` holds (for a read-only side:
/// whether this side holds all the peer does, since it takes nothing).
pub(crate) fn in_step(
    doc: &Automerge,
    their_heads: Option<&[ChangeHash]>,
    local_read_only: bool,
) -> bool {
    let Some(theirs) = their_heads else {
        return false;
    };
    if local_read_only {
        return theirs.iter().all(|h| doc.get_change_by_hash(h).is_some());
    }
    same_heads(&doc.get_heads(), theirs)
}

/// Whether two lists of heads name the same changes, in whatever order.
pub fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
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

    /// [`generate`] on document `id`; `None` when there is no such document for this peer. A
    /// store that serves many peers may answer a state it has answered before, at the same
    /// heads, with the same message (the function of the two that `generate` is), rather than
    /// generate it again for every one.
    fn generate(
        &mut self,
        id: DocumentId,
        state: &mut sync::State,
        local_read_only: bool,
    ) -> Result<Option<Generated>, Self::Error> {
        self.read(id, |doc| generate(doc, state, local_read_only))
    }

    /// Every document this peer may see, with its heads (extension `summary-1`).
    fn summary(&mut self) -> Result<Summary, Self::Error>;

    /// The digest of [`Documents::summary`]; a store that keeps it up to date overrides this.
    fn digest(&mut self) -> Result<Digest, Self::Error> {
        Ok(Digest::of(&self.summary()?))
    }

    /// Document `id` whole, as `Automerge::save` writes it (or any concatenation of a saved
    /// document and change chunks, which loads the same), with the heads those bytes hold;
    /// `None` when there is no such document for this peer.
    fn saved(&mut self, id: DocumentId) -> Result<Option<Saved>, Self::Error>;

    /// Merges whole documents from the remote into what is here (creating those that are new),
    /// committed durably before returning; one answer per document, in order. Each comes loaded
    /// and as the bytes it was loaded from, which a document new here can be stored as. The
    /// default goes one document at a time through [`Documents::update`]; a store that can
    /// commit many documents in one transaction overrides it (a cold join brings thousands).
    fn merge_documents(
        &mut self,
        incoming: Vec<(DocumentId, Automerge, Vec<u8>)>,
    ) -> Result<Vec<Merged>, Self::Error>
    where
        Self: Sized,
    {
        merge_one_at_a_time(self, incoming)
    }

    /// Stores whole documents from the remote that this side does not hold, each as the bytes
    /// it came in and the heads the remote says they hold; one answer per document, in order.
    /// The default trusts nothing: it loads each (an invalid one is [`Merged::Invalid`]) and
    /// merges it through [`Documents::merge_documents`]. A store that trusts the remote (a
    /// replica fetching from its own relay) may keep the bytes unread and check them later.
    fn store_new(
        &mut self,
        incoming: Vec<(DocumentId, Vec<u8>, Vec<ChangeHash>)>,
    ) -> Result<Vec<Merged>, Self::Error>
    where
        Self: Sized,
    {
        load_and_merge(self, incoming)
    }

    /// The heads of document `id`; `None` when there is no such document for this peer.
    fn heads(&mut self, id: DocumentId) -> Result<Option<Vec<ChangeHash>>, Self::Error> {
        self.read(id, Automerge::get_heads)
    }
}

/// [`Documents::merge_documents`] one document at a time, each through [`Documents::update`]:
/// the default, and what an override does with the documents it cannot batch.
pub fn merge_one_at_a_time<D: Documents>(
    docs: &mut D,
    incoming: Vec<(DocumentId, Automerge, Vec<u8>)>,
) -> Result<Vec<Merged>, D::Error> {
    let mut answers = Vec::with_capacity(incoming.len());
    for (id, mut theirs, _) in incoming {
        let merged = docs.update(id, Open::OrCreate, |doc, patches| {
            let before = doc.get_heads();
            doc.merge_and_log_patches(&mut theirs, patches)
                .map(|_| (doc.get_heads(), doc.get_heads() != before))
        })?;
        answers.push(match merged {
            None => Merged::Refused,
            Some(Ok((heads, changed))) => Merged::Stored { heads, changed },
            Some(Err(error)) => Merged::Invalid(error.to_string()),
        });
    }
    Ok(answers)
}

/// What [`Documents::store_new`] does by default: loads each document (an invalid one is
/// [`Merged::Invalid`]) and merges the others through [`Documents::merge_documents`]. A store
/// that keeps some new documents unread does this with the rest.
pub fn load_and_merge<D: Documents>(
    docs: &mut D,
    incoming: Vec<(DocumentId, Vec<u8>, Vec<ChangeHash>)>,
) -> Result<Vec<Merged>, D::Error> {
    let mut answers: Vec<Option<Merged>> = Vec::with_capacity(incoming.len());
    let mut loaded = Vec::new();
    let results = load_all(&incoming);
    for ((id, data, _), result) in incoming.into_iter().zip(results) {
        match result {
            Ok(doc) => {
                loaded.push((id, doc, data));
                answers.push(None);
            }
            Err(reason) => answers.push(Some(Merged::Invalid(reason))),
        }
    }
    let mut merged = docs.merge_documents(loaded)?.into_iter();
    Ok(answers
        .into_iter()
        .map(|answer| answer.unwrap_or_else(|| merged.next().unwrap_or(Merged::Refused)))
        .collect())
}

/// Below this many documents a batch is loaded on the calling thread alone.
const LOADS_PER_THREAD: usize = 16;

/// Loads each document whole, which checks every change hash: on one thread per core for a
/// batch worth it, since loading is most of what a push of new documents costs the receiver.
/// One result per document, in order; a load that panics is an invalid document, not a crash.
pub fn load_all(
    incoming: &[(DocumentId, Vec<u8>, Vec<ChangeHash>)],
) -> Vec<Result<Automerge, String>> {
    let load = |data: &[u8]| {
        crate::inflation::check(data).map_err(|error| error.to_string())?;
        rapport_model::change_times::check(data).map_err(|error| error.to_string())?;
        let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
        Automerge::load_with_options(data, options).map_err(|error| error.to_string())
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.min(incoming.len() / LOADS_PER_THREAD).max(1);
    if threads == 1 {
        return incoming.iter().map(|(_, data, _)| load(data)).collect();
    }
    let part = incoming.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = incoming
            .chunks(part)
            .map(|chunk| {
                let handle = scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(_, data, _)| load(data))
                        .collect::<Vec<_>>()
                });
                (chunk.len(), handle)
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|(len, handle)| {
                handle.join().unwrap_or_else(|_| {
                    vec![Err("the document could not be loaded".to_owned()); len]
                })
            })
            .collect()
    })
}
