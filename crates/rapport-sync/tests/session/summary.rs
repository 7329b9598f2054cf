//! Extension `summary-1`: digests in the handshake, summaries only when they differ, whole
//! documents for what a side lacks.

use super::*;

/// Metadata announcing `summary-1` with the digest of `docs`.
fn summary_metadata(docs: &mut Memory) -> PeerMetadata {
    PeerMetadata {
        extensions: vec![SUMMARY_V1.into()],
        summary_digest: Some(docs.digest().unwrap().0.to_vec()),
        ..Default::default()
    }
}

/// A summary client and relay through the handshake and everything that follows it; returns
/// the messages of the exchange after the handshake.
pub(super) fn summary_sync(
    client_docs: &mut Memory,
    relay_docs: &mut Memory,
) -> (Session, Session, Vec<Message>) {
    let (mut client, join) = Session::initiate(peer("laptop"), summary_metadata(client_docs));
    let mut relay = Session::accept(peer("relay"), summary_metadata(relay_docs), false);
    let answer = relay.receive(join, relay_docs).unwrap();
    let mut seen = Vec::new();
    let mut to_relay = Vec::new();
    for message in answer.send {
        if !matches!(message, Message::Peer(_)) {
            seen.push(message.clone());
        }
        let outcome = client.receive(message, client_docs).unwrap();
        to_relay.extend(outcome.send);
        for id in outcome.serve {
            to_relay.extend(client.document_message(id, client_docs).unwrap());
        }
    }
    seen.extend(to_relay.clone());
    pump(&mut client, client_docs, &mut relay, relay_docs, to_relay);
    (client, relay, seen)
}

#[test]
fn equal_workspaces_settle_in_the_handshake_alone() {
    let mut client_docs = Memory::default();
    let id = DocumentId::random();
    client_docs
        .docs
        .insert(id, account_with_note("renewal in May"));
    let mut relay_docs = Memory::default();
    relay_docs.docs.insert(id, client_docs.docs[&id].clone());
    let (client, relay, after_handshake) = summary_sync(&mut client_docs, &mut relay_docs);
    assert!(after_handshake.is_empty(), "{after_handshake:?}");
    assert!(client.settled() && relay.settled());
}

#[test]
fn differing_workspaces_serve_whole_documents_and_sync_the_rest() {
    let shared = DocumentId::random();
    let (only_client, only_relay) = (DocumentId::random(), DocumentId::random());
    let mut client_docs = Memory::default();
    let mut relay_docs = Memory::default();
    client_docs
        .docs
        .insert(shared, account_with_note("kickoff call"));
    relay_docs
        .docs
        .insert(shared, client_docs.docs[&shared].fork());
    add_note(
        client_docs.docs.get_mut(&shared).unwrap(),
        "sam",
        Team::Sales,
        "offline note",
        false,
    );
    add_note(
        relay_docs.docs.get_mut(&shared).unwrap(),
        "ana",
        Team::Support,
        "ticket closed",
        false,
    );
    client_docs
        .docs
        .insert(only_client, account_with_note("new lead"));
    relay_docs
        .docs
        .insert(only_relay, account_with_note("old customer"));

    let (client, relay, exchange) = summary_sync(&mut client_docs, &mut relay_docs);

    assert!(client.settled(), "{} pending", client.pending());
    assert!(relay.settled(), "{} pending", relay.pending());
    for id in [shared, only_client, only_relay] {
        assert_eq!(
            client_docs.docs[&id].get_heads(),
            relay_docs.docs[&id].get_heads()
        );
    }
    assert_eq!(
        notes(&relay_docs.docs[&shared]),
        ["kickoff call", "offline note", "ticket closed"]
    );
    let served: BTreeSet<String> = exchange
        .iter()
        .filter_map(|m| match m {
            Message::Document(d) => Some(d.document_id.as_str().to_owned()),
            _ => None,
        })
        .collect();
    let syncs = exchange
        .iter()
        .filter(|m| matches!(m, Message::Sync(_)))
        .count();
    assert_eq!(served, BTreeSet::from([only_client.to_string()]));
    assert_eq!(
        syncs, 1,
        "only the document both hold is synced, and the client starts it"
    );
}

#[test]
fn a_viewer_gets_missing_documents_but_its_own_are_refused() {
    let (mine, theirs) = (DocumentId::random(), DocumentId::random());
    let mut viewer_docs = Memory::default();
    viewer_docs
        .docs
        .insert(mine, account_with_note("viewer scribble"));
    let mut relay_docs = Memory::default();
    relay_docs
        .docs
        .insert(theirs, account_with_note("real customer"));
    let (mut viewer, join) = Session::initiate(peer("viewer"), summary_metadata(&mut viewer_docs));
    let mut relay = Session::accept(peer("relay"), summary_metadata(&mut relay_docs), true);
    let answer = relay.receive(join, &mut relay_docs).unwrap();
    let mut to_relay = Vec::new();
    for message in answer.send {
        to_relay.extend(viewer.receive(message, &mut viewer_docs).unwrap().send);
    }
    // A viewer that pushes anyway (an old or hostile client) is answered, not obeyed.
    to_relay.extend(viewer.document_message(mine, &mut viewer_docs).unwrap());
    pump(
        &mut viewer,
        &mut viewer_docs,
        &mut relay,
        &mut relay_docs,
        to_relay,
    );
    assert!(!relay_docs.docs.contains_key(&mine));
    assert_eq!(notes(&viewer_docs.docs[&theirs]), ["real customer"]);
}

#[test]
fn summary_messages_without_the_extension_break_the_protocol() {
    let (_, mut relay) = connected(false);
    let summary = Message::Summary(rapport_proto::Summary {
        sender_id: peer("laptop"),
        target_id: peer("relay"),
        documents: vec![],
    });
    assert!(matches!(
        relay.receive(summary, &mut Memory::default()),
        Err(SessionError::Protocol(ProtocolError::NotNegotiated { .. }))
    ));
}

#[test]
fn a_store_that_trusts_nothing_loads_whole_documents_and_answers_with_their_true_heads() {
    let mut client_docs = Memory::default();
    let mut relay_docs = Memory::default();
    relay_docs.docs.insert(
        DocumentId::random(),
        account_with_note("so the digests differ"),
    );
    let (_, mut relay, _) = summary_sync(&mut client_docs, &mut relay_docs);
    let doc = account_with_note("pushed whole");
    let whole = |id: DocumentId, heads: Vec<[u8; 32]>, data: Vec<u8>| {
        Message::Document(WholeDocument {
            sender_id: peer("laptop"),
            target_id: peer("relay"),
            document_id: id.into(),
            heads,
            data,
        })
    };

    // Heads that the bytes do not hold are not believed: the answer has the true ones.
    let id = DocumentId::random();
    let outcome = relay
        .receive(whole(id, vec![[9; 32]], doc.save()), &mut relay_docs)
        .unwrap();
    assert_eq!(relay_docs.docs[&id].get_heads(), doc.get_heads());
    let answered: Vec<Vec<[u8; 32]>> = outcome
        .send
        .iter()
        .filter_map(|m| match m {
            Message::Have(h) => Some(h.heads.clone()),
            _ => None,
        })
        .collect();
    let true_heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
    assert_eq!(answered, [true_heads]);

    // Bytes that do not load are a protocol error, and nothing is stored.
    let broken = DocumentId::random();
    let err = relay
        .receive(
            whole(broken, vec![[9; 32]], b"not a document".to_vec()),
            &mut relay_docs,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            SessionError::Protocol(ProtocolError::InvalidDocument { .. })
        ),
        "{err}"
    );
    assert!(!relay_docs.docs.contains_key(&broken));
}

#[test]
fn a_batch_of_whole_documents_loaded_on_several_threads_is_answered_in_order() {
    let mut client_docs = Memory::default();
    let mut relay_docs = Memory::default();
    relay_docs.docs.insert(
        DocumentId::random(),
        account_with_note("so the digests differ"),
    );
    let (_, mut relay, _) = summary_sync(&mut client_docs, &mut relay_docs);
    // Enough documents that the loading is split across threads.
    let pushed: Vec<(DocumentId, Automerge)> = (0..50)
        .map(|i| {
            (
                DocumentId::random(),
                account_with_note(&format!("note {i}")),
            )
        })
        .collect();
    let messages = pushed
        .iter()
        .map(|(id, doc)| {
            Message::Document(WholeDocument {
                sender_id: peer("laptop"),
                target_id: peer("relay"),
                document_id: (*id).into(),
                heads: doc.get_heads().iter().map(|h| h.0).collect(),
                data: doc.save(),
            })
        })
        .collect();
    let outcome = relay.receive_all(messages, &mut relay_docs).unwrap();
    let answered: Vec<(String, Vec<[u8; 32]>)> = outcome
        .send
        .iter()
        .filter_map(|m| match m {
            Message::Have(h) => Some((h.document_id.as_str().to_owned(), h.heads.clone())),
            _ => None,
        })
        .collect();
    let expected: Vec<(String, Vec<[u8; 32]>)> = pushed
        .iter()
        .map(|(id, doc)| {
            let heads = doc.get_heads().iter().map(|h| h.0).collect();
            (id.to_string(), heads)
        })
        .collect();
    assert_eq!(answered, expected);
    for (id, doc) in &pushed {
        assert_eq!(notes(&relay_docs.docs[id]), notes(doc));
    }
}
