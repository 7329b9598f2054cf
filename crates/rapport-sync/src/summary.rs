//! The workspace summary of extension `summary-1`: every document with its heads, and a digest
//! of it that two peers compare before anything else.
//!
//! The digest is the XOR of one SHA-256 per document (over its id and sorted heads), so a store
//! can keep it up to date in O(1) per change ([`document_digest`], [`Digest::toggle`]) instead
//! of rereading every document's heads on each connection.

use automerge::ChangeHash;
use rapport_model::DocumentId;
use sha2::{Digest as _, Sha256};

/// The name of the extension, as announced in `rapportExtensions`.
pub const SUMMARY_V1: &str = "summary-1";

/// A workspace's documents and their heads.
pub type Summary = Vec<(DocumentId, Vec<ChangeHash>)>;

/// The digest of a summary: equal digests mean equal summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of a whole summary.
    pub fn of(summary: &[(DocumentId, Vec<ChangeHash>)]) -> Self {
        let mut digest = Self::default();
        for (id, heads) in summary {
            digest.toggle(&document_digest(*id, heads));
        }
        digest
    }

    /// Adds a document's digest, or takes it out again (XOR is its own inverse).
    pub fn toggle(&mut self, document: &[u8; 32]) {
        for (mine, theirs) in self.0.iter_mut().zip(document) {
            *mine ^= theirs;
        }
    }
}

/// One document's part of the digest. A document without changes counts as absent.
pub fn document_digest(id: DocumentId, heads: &[ChangeHash]) -> [u8; 32] {
    if heads.is_empty() {
        return [0; 32];
    }
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut hasher = Sha256::new();
    hasher.update(id.as_bytes());
    for head in &sorted {
        hasher.update(head.0);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(byte: u8) -> ChangeHash {
        ChangeHash([byte; 32])
    }

    #[test]
    fn the_digest_ignores_order_and_tracks_every_head() {
        let (a, b) = (
            DocumentId::from_bytes([1; 16]),
            DocumentId::from_bytes([2; 16]),
        );
        let one = Digest::of(&[(a, vec![head(1), head(2)]), (b, vec![head(3)])]);
        let same = Digest::of(&[(b, vec![head(3)]), (a, vec![head(2), head(1)])]);
        let other = Digest::of(&[(a, vec![head(1), head(2)]), (b, vec![head(4)])]);
        assert_eq!(one, same);
        assert_ne!(one, other);
        assert_eq!(Digest::of(&[(a, vec![])]), Digest::default());
    }

    #[test]
    fn toggling_a_document_out_and_in_again_updates_the_digest() {
        let (a, b) = (
            DocumentId::from_bytes([1; 16]),
            DocumentId::from_bytes([2; 16]),
        );
        let mut digest = Digest::of(&[(a, vec![head(1)]), (b, vec![head(3)])]);
        digest.toggle(&document_digest(b, &[head(3)]));
        digest.toggle(&document_digest(b, &[head(5)]));
        assert_eq!(
            digest,
            Digest::of(&[(a, vec![head(1)]), (b, vec![head(5)])])
        );
    }
}
