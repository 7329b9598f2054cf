//! Sync messages shared between connections. A change to a document is offered to every
//! connection that holds it, and peers that were in step before it all have the same sync
//! state: the next message is a function of the document and that state, so the relay
//! generates it once and gives the others the same bytes and the same next state. Without this,
//! one note to a thousand peers of an account rebuilt and compressed the note's change a
//! thousand times.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::sync::State;
use automerge::{Automerge, ChangeHash};
use rapport_model::DocumentId;
use rapport_sync::Generated;

/// How many different states are answered per document at its current heads.
const KEPT: usize = 4;
/// How many documents keep answers: the few that many connections hold at once matter, and
/// sync states are not small (every hash sent to the peer), so a busy workspace's thousands of
/// documents each changed once do not keep theirs.
const DOCUMENTS_KEPT: usize = 64;

/// The answers of one workspace's documents, at their current heads.
#[derive(Default)]
pub(super) struct Answers {
    memos: Mutex<HashMap<DocumentId, Arc<Mutex<Memo>>>>,
}

#[derive(Default)]
struct Memo {
    /// The heads the answers were generated at.
    heads: Vec<ChangeHash>,
    /// The most recent first.
    answers: VecDeque<Answer>,
}

struct Answer {
    before: State,
    local_read_only: bool,
    after: State,
    generated: Generated,
}

impl Answers {
    /// [`rapport_sync::generate`] on `doc` (document `id`), from an earlier answer to the same
    /// state at the same heads when there is one.
    pub(super) fn generate(
        &self,
        id: DocumentId,
        doc: &Automerge,
        state: &mut State,
        local_read_only: bool,
    ) -> Generated {
        let memo = {
            let mut memos = lock(&self.memos);
            if memos.len() >= DOCUMENTS_KEPT && !memos.contains_key(&id) {
                // Those no connection is generating with right now go; eviction runs once per
                // many new documents.
                memos.retain(|_, memo| Arc::strong_count(memo) > 1);
            }
            memos.entry(id).or_default().clone()
        };
        // Held while generating: connections asking the same meanwhile wait, then reuse it.
        let mut memo = lock(&memo);
        let heads = doc.get_heads();
        if memo.heads != heads {
            memo.heads = heads;
            memo.answers.clear();
        }
        let earlier = memo
            .answers
            .iter()
            .find(|a| a.local_read_only == local_read_only && a.before == *state);
        if let Some(answer) = earlier {
            state.clone_from(&answer.after);
            return answer.generated.clone();
        }
        let before = state.clone();
        let generated = rapport_sync::generate(doc, state, local_read_only);
        memo.answers.truncate(KEPT - 1);
        memo.answers.push_front(Answer {
            before,
            local_read_only,
            after: state.clone(),
            generated: generated.clone(),
        });
        generated
    }

    /// Forgets the answers of the documents `kept` says no longer are in memory.
    pub(super) fn retain(&self, kept: impl Fn(&DocumentId) -> bool) {
        lock(&self.memos).retain(|id, _| kept(id));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use automerge::ROOT;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;

    use super::*;

    fn doc_with(text: &str) -> Automerge {
        let mut doc = Automerge::new();
        set_note(&mut doc, text);
        doc
    }

    /// A peer that holds `doc` as it is and told the relay so: its state on the relay's side.
    fn in_step_state(doc: &Automerge) -> State {
        let mut relay_side = State::new();
        let mut peer_side = State::new();
        let mut peer = doc.clone();
        let mut relay = doc.clone();
        for _ in 0..4 {
            if let Some(m) = relay.generate_sync_message(&mut relay_side) {
                peer.receive_sync_message(&mut peer_side, m).unwrap();
            }
            if let Some(m) = peer.generate_sync_message(&mut peer_side) {
                relay.receive_sync_message(&mut relay_side, m).unwrap();
            }
        }
        relay_side
    }

    fn set_note(doc: &mut Automerge, text: &str) {
        let mut tx = doc.transaction();
        tx.put(ROOT, "note", text).unwrap();
        tx.commit();
    }

    /// A document changed since a peer was in step with it, and that peer's state.
    fn changed_since_in_step() -> (Automerge, State) {
        let mut doc = doc_with("first");
        let state = in_step_state(&doc);
        set_note(&mut doc, "second");
        (doc, state)
    }

    #[test]
    fn equal_states_at_equal_heads_get_the_same_message_and_the_same_next_state() {
        let answers = Answers::default();
        let id = DocumentId::random();
        let (mut doc, state) = changed_since_in_step();
        let (mut first, mut second) = (state.clone(), state.clone());
        let mut fresh = state.clone();
        let expected = rapport_sync::generate(&doc, &mut fresh, false);
        assert!(expected.message.is_some(), "the new change is offered");
        assert_eq!(answers.generate(id, &doc, &mut first, false), expected);
        assert_eq!(answers.generate(id, &doc, &mut second, false), expected);
        assert_eq!(first, fresh);
        assert_eq!(second, fresh);

        // The peer that received it answers; its next state differs, and so does its answer.
        let mut peer = doc_with("first");
        let mut peer_state = State::new();
        let message = automerge::sync::Message::decode(expected.message.as_ref().unwrap());
        peer.receive_sync_message(&mut peer_state, message.unwrap())
            .unwrap();
        let reply = peer.generate_sync_message(&mut peer_state).unwrap();
        doc.receive_sync_message(&mut first, reply).unwrap();
        let mut alone = first.clone();
        assert_eq!(
            answers.generate(id, &doc, &mut first, false),
            rapport_sync::generate(&doc, &mut alone, false)
        );
        assert_eq!(first, alone);
    }

    #[test]
    fn only_a_bounded_number_of_documents_keep_answers() {
        let answers = Answers::default();
        let doc = doc_with("first");
        for _ in 0..DOCUMENTS_KEPT * 3 {
            answers.generate(DocumentId::random(), &doc, &mut State::new(), false);
            assert!(lock(&answers.memos).len() <= DOCUMENTS_KEPT);
        }
    }

    #[test]
    fn answers_are_forgotten_when_the_heads_move() {
        let answers = Answers::default();
        let id = DocumentId::random();
        let (mut doc, state) = changed_since_in_step();
        answers.generate(id, &doc, &mut state.clone(), false);
        set_note(&mut doc, "third");
        let (mut memoised, mut fresh) = (state.clone(), state);
        assert_eq!(
            answers.generate(id, &doc, &mut memoised, false),
            rapport_sync::generate(&doc, &mut fresh, false),
            "generated again at the new heads: it carries both changes"
        );
        assert_eq!(memoised, fresh);
    }
}
