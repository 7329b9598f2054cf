//! Changes timed where Automerge's column code panics adding them to ordinary times (near the
//! ends of `i64`): refused as protocol errors, whichever side receives them, before anything
//! is applied or stored.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ROOT, sync};
use rapport_model::change_times::LIMIT;

use super::summary::summary_sync;
use super::*;

/// A change that depends on nothing (so it applies to any document), committed at `time`.
fn change_at(time: i64) -> Vec<u8> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "pushed", "whatever").unwrap();
    tx.commit_with(CommitOptions::default().with_time(time));
    doc.save_after(&[])
}

/// A `sync` for `id` from `from` to `to`, pushing one change at `time`.
fn pushing(id: DocumentId, from: &str, to: &str, time: i64) -> Message {
    let data = sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: vec![change_at(time)].into(),
        flags: None,
        version: sync::MessageVersion::V1,
    }
    .encode();
    Message::Sync(DocMessage {
        sender_id: peer(from),
        target_id: peer(to),
        document_id: id.into(),
        data,
    })
}

#[test]
fn a_change_timed_past_the_limit_is_refused_naming_the_document_on_either_side() {
    let (mut client, mut relay) = connected(false);
    let id = DocumentId::random();
    for (session, from, to) in [
        (&mut relay, "laptop", "relay"),
        (&mut client, "relay", "laptop"),
    ] {
        let mut docs = Memory::default();
        docs.docs.insert(id, account_with_note("kept"));
        let heads = docs.docs[&id].get_heads();
        for time in [i64::MIN, i64::MAX, LIMIT + 1, -LIMIT - 1] {
            let err = session
                .receive(pushing(id, from, to, time), &mut docs)
                .unwrap_err();
            let SessionError::Protocol(ProtocolError::InvalidSyncMessage { document, reason }) =
                err
            else {
                panic!("expected an invalid sync message, got {err}");
            };
            assert_eq!(document, id.to_string());
            assert!(
                reason.contains(&format!("time {time} is outside")),
                "{reason}"
            );
            assert_eq!(docs.docs[&id].get_heads(), heads);
        }
        // Times at the limit, and JavaScript's milliseconds, are taken.
        for time in [LIMIT, -LIMIT, 1_764_680_000_000] {
            session
                .receive(pushing(id, from, to, time), &mut docs)
                .unwrap();
        }
        assert_eq!(docs.docs[&id].get_changes(&[]).len(), 4);
    }
}

#[test]
fn a_whole_document_with_such_a_change_is_refused_new_or_known_and_nothing_is_stored() {
    let mut client_docs = Memory::default();
    let mut relay_docs = Memory::default();
    let known = DocumentId::random();
    relay_docs.docs.insert(known, account_with_note("kept"));
    let (_, mut relay, _) = summary_sync(&mut client_docs, &mut relay_docs);
    let heads = relay_docs.docs[&known].get_heads();
    let new = DocumentId::random();
    for id in [known, new] {
        let mut data = account_with_note("pushed whole").save();
        data.extend(change_at(i64::MIN));
        let whole = Message::Document(WholeDocument {
            sender_id: peer("laptop"),
            target_id: peer("relay"),
            document_id: id.into(),
            heads: vec![[9; 32]],
            data,
        });
        let err = relay.receive(whole, &mut relay_docs).unwrap_err();
        let SessionError::Protocol(ProtocolError::InvalidDocument { document, reason }) = err
        else {
            panic!("expected an invalid document, got {err}");
        };
        assert_eq!(document, id.to_string());
        assert!(reason.contains("is outside"), "{reason}");
    }
    assert_eq!(relay_docs.docs[&known].get_heads(), heads);
    assert!(!relay_docs.docs.contains_key(&new));
}
