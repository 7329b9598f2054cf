//! Two sessions talking through their messages, over documents held in memory (the `Documents`
//! seam), with real Automerge account documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crossing;
mod summary;
mod times;

use std::collections::{BTreeSet, HashMap};

use automerge::{Automerge, PatchLog};
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{DocumentId, Edit, EntryId, EntryKind, Team, Touched};
use rapport_proto::{
    DocMessage, Join, Message, PeerId, PeerMetadata, WholeDocument, WireDocumentId, decode, encode,
};
use rapport_sync::{
    Documents, Open, Outcome, ProtocolError, SUMMARY_V1, Saved, Session, SessionError, Summary,
};

/// Documents in memory; `hidden` ones exist but may not be shared (another workspace's).
#[derive(Default)]
struct Memory {
    docs: HashMap<DocumentId, Automerge>,
    hidden: BTreeSet<DocumentId>,
    fail: bool,
    /// Log patches, as a replica does to update its indexes, and keep what they touched.
    touched: Option<Vec<Touched>>,
}

#[derive(Debug, thiserror::Error)]
#[error("disk full")]
struct DiskFull;

impl Documents for Memory {
    type Error = DiskFull;

    fn update<R>(
        &mut self,
        id: DocumentId,
        open: Open,
        f: impl FnOnce(&mut Automerge, &mut PatchLog) -> R,
    ) -> Result<Option<R>, DiskFull> {
        if self.fail {
            return Err(DiskFull);
        }
        if self.hidden.contains(&id) {
            return Ok(None);
        }
        let doc = match (self.docs.contains_key(&id), open) {
            (false, Open::Existing) => return Ok(None),
            _ => self.docs.entry(id).or_default(),
        };
        let Some(touched) = &mut self.touched else {
            return Ok(Some(f(doc, &mut PatchLog::inactive())));
        };
        let mut log = PatchLog::active();
        let result = f(doc, &mut log);
        touched.push(Touched::from_patches(&doc.make_patches(&mut log)));
        Ok(Some(result))
    }

    fn read<R>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, DiskFull> {
        if self.hidden.contains(&id) {
            return Ok(None);
        }
        Ok(self.docs.get(&id).map(f))
    }

    fn summary(&mut self) -> Result<Summary, DiskFull> {
        let mut summary: Summary = self
            .docs
            .iter()
            .filter(|(id, _)| !self.hidden.contains(id))
            .map(|(id, doc)| (*id, doc.get_heads()))
            .collect();
        summary.sort();
        Ok(summary)
    }

    fn saved(&mut self, id: DocumentId) -> Result<Option<Saved>, DiskFull> {
        self.read(id, |doc| Saved {
            data: doc.save(),
            heads: doc.get_heads(),
        })
    }
}

fn peer(id: &str) -> PeerId {
    PeerId::new(id).unwrap()
}

fn account_with_note(text: &str) -> Automerge {
    let mut doc = Automerge::new();
    add_note(&mut doc, "ana", Team::Support, text, true);
    doc
}

fn add_note(doc: &mut Automerge, user: &str, team: Team, text: &str, create: bool) {
    let edit = Edit::now(user.parse().unwrap(), team);
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| {
            if create {
                account::create(
                    tx,
                    &edit,
                    &NewAccount {
                        name: "Globex".into(),
                        ..Default::default()
                    },
                )?;
            }
            account::add_entry(
                tx,
                &edit,
                EntryId::new(),
                &NewEntry {
                    kind: EntryKind::Note,
                    text: text.into(),
                    alert: vec![],
                },
            )
        },
    )
    .unwrap();
}

fn notes(doc: &Automerge) -> Vec<String> {
    let mut texts: Vec<String> = account::view(doc, DocumentId::random())
        .unwrap()
        .timeline
        .into_iter()
        .map(|e| e.text)
        .collect();
    texts.sort();
    texts
}

/// A client and a relay, connected and past the handshake.
fn connected(viewer: bool) -> (Session, Session) {
    let (mut client, join) = Session::initiate(
        peer("laptop"),
        PeerMetadata {
            extensions: vec!["summary-9".into()],
            ..Default::default()
        },
    );
    let mut relay = Session::accept(peer("relay"), PeerMetadata::default(), viewer);
    let answer = relay.receive(join, &mut Memory::default()).unwrap();
    assert!(matches!(answer.send.as_slice(), [Message::Peer(_)]));
    for message in answer.send {
        assert_eq!(
            client.receive(message, &mut Memory::default()).unwrap(),
            Outcome::default()
        );
    }
    (client, relay)
}

/// Delivers messages back and forth (through the real codec) until both sides are quiet;
/// returns every document either side reported changed.
fn pump(
    a: &mut Session,
    a_docs: &mut Memory,
    b: &mut Session,
    b_docs: &mut Memory,
    first: Vec<Message>,
) -> Vec<DocumentId> {
    let mut to_b = first;
    let mut changed = Vec::new();
    for _ in 0..50 {
        let mut to_a = Vec::new();
        for message in to_b.drain(..) {
            let outcome = b
                .receive(decode(&encode(&message)).unwrap(), b_docs)
                .unwrap();
            changed.extend(outcome.changed);
            to_a.extend(outcome.send);
            for id in outcome.serve {
                to_a.extend(b.document_message(id, b_docs).unwrap());
            }
        }
        for message in to_a {
            let outcome = a
                .receive(decode(&encode(&message)).unwrap(), a_docs)
                .unwrap();
            changed.extend(outcome.changed);
            to_b.extend(outcome.send);
            for id in outcome.serve {
                to_b.extend(a.document_message(id, a_docs).unwrap());
            }
        }
        if to_b.is_empty() {
            return changed;
        }
    }
    panic!("sync did not settle in 50 rounds");
}

#[test]
fn the_handshake_opens_both_sides_and_shares_extensions() {
    let (client, relay) = connected(false);
    assert_eq!(client.remote().unwrap().0, peer("relay"));
    assert_eq!(relay.remote().unwrap().0, peer("laptop"));
    assert!(relay.remote_speaks("summary-9"));
    assert!(!client.remote_speaks("summary-9"));
}

#[test]
fn messages_out_of_turn_break_the_protocol() {
    let mut relay = Session::accept(peer("relay"), PeerMetadata::default(), false);
    let sync = Message::Sync(DocMessage {
        sender_id: peer("x"),
        target_id: peer("relay"),
        document_id: DocumentId::random().into(),
        data: vec![],
    });
    let err = relay.receive(sync, &mut Memory::default()).unwrap_err();
    assert!(
        matches!(
            err,
            SessionError::Protocol(ProtocolError::BeforeHandshake { .. })
        ),
        "{err}"
    );

    let (_, mut relay) = connected(false);
    let join = Message::Join(Join {
        sender_id: peer("laptop"),
        supported_protocol_versions: vec!["1".into()],
        peer_metadata: PeerMetadata::default(),
    });
    let err = relay.receive(join, &mut Memory::default()).unwrap_err();
    assert!(
        matches!(
            err,
            SessionError::Protocol(ProtocolError::RepeatedHandshake { .. })
        ),
        "{err}"
    );

    let mut fresh = Session::accept(peer("relay"), PeerMetadata::default(), false);
    let old = Message::Join(Join {
        sender_id: peer("laptop"),
        supported_protocol_versions: vec!["0".into()],
        peer_metadata: PeerMetadata::default(),
    });
    assert!(matches!(
        fresh.receive(old, &mut Memory::default()),
        Err(SessionError::Protocol(ProtocolError::Handshake(_)))
    ));
}

#[test]
fn a_client_pushes_a_new_document_to_the_relay() {
    let (mut client, mut relay) = connected(false);
    let id = DocumentId::random();
    let mut client_docs = Memory::default();
    client_docs.docs.insert(
        id,
        account_with_note("customer asked about the enterprise plan"),
    );
    let mut relay_docs = Memory::default();
    let first = client.sync_document(id, &mut client_docs).unwrap();
    assert!(matches!(first.as_slice(), [Message::Sync(_)]));
    let changed = pump(
        &mut client,
        &mut client_docs,
        &mut relay,
        &mut relay_docs,
        first,
    );
    assert_eq!(changed, [id], "the relay reports the new document once");
    assert_eq!(
        relay_docs.docs[&id].get_heads(),
        client_docs.docs[&id].get_heads()
    );
    assert_eq!(
        notes(&relay_docs.docs[&id]),
        ["customer asked about the enterprise plan"]
    );
}

#[test]
fn a_client_requests_a_document_it_lacks() {
    let (mut client, mut relay) = connected(false);
    let id = DocumentId::random();
    let mut relay_docs = Memory::default();
    relay_docs
        .docs
        .insert(id, account_with_note("renewal risk"));
    let mut client_docs = Memory::default();
    let first = client.sync_document(id, &mut client_docs).unwrap();
    assert!(matches!(first.as_slice(), [Message::Request(_)]));
    pump(
        &mut client,
        &mut client_docs,
        &mut relay,
        &mut relay_docs,
        first,
    );
    assert_eq!(notes(&client_docs.docs[&id]), ["renewal risk"]);
}

#[test]
fn offline_edits_on_both_sides_converge() {
    let (mut client, mut relay) = connected(false);
    let id = DocumentId::random();
    let base = account_with_note("first call");
    let (mut client_docs, mut relay_docs) = (Memory::default(), Memory::default());
    let mut mine = base.fork();
    add_note(&mut mine, "bo", Team::Sales, "sales note", false);
    let mut theirs = base.fork();
    add_note(&mut theirs, "cy", Team::Marketing, "marketing note", false);
    client_docs.docs.insert(id, mine);
    relay_docs.docs.insert(id, theirs);
    let first = client.sync_document(id, &mut client_docs).unwrap();
    let changed = pump(
        &mut client,
        &mut client_docs,
        &mut relay,
        &mut relay_docs,
        first,
    );
    assert!(changed.contains(&id));
    assert_eq!(
        notes(&client_docs.docs[&id]),
        ["first call", "marketing note", "sales note"]
    );
    assert_eq!(
        client_docs.docs[&id].get_heads(),
        relay_docs.docs[&id].get_heads()
    );
}

#[test]
fn unknown_hidden_and_unparseable_documents_are_unavailable() {
    let (mut client, mut relay) = connected(false);
    let hidden = DocumentId::random();
    let mut relay_docs = Memory::default();
    relay_docs
        .docs
        .insert(hidden, account_with_note("another workspace's secret"));
    relay_docs.hidden.insert(hidden);
    let mut client_docs = Memory::default();
    for id in [DocumentId::random(), hidden] {
        let request = client.sync_document(id, &mut client_docs).unwrap();
        let outcome = relay
            .receive(request.into_iter().next().unwrap(), &mut relay_docs)
            .unwrap();
        let [Message::DocUnavailable(notice)] = outcome.send.as_slice() else {
            panic!("{outcome:?}")
        };
        assert_eq!(notice.document_id, WireDocumentId::from(id));
        assert_eq!(
            client
                .receive(outcome.send[0].clone(), &mut client_docs)
                .unwrap()
                .unavailable,
            [WireDocumentId::from(id)]
        );
        assert!(!client.syncing(&id));
    }
    let bogus = Message::Request(DocMessage {
        sender_id: peer("laptop"),
        target_id: peer("relay"),
        document_id: WireDocumentId::new("../etc/passwd").unwrap(),
        data: vec![],
    });
    let outcome = relay.receive(bogus, &mut relay_docs).unwrap();
    assert!(matches!(
        outcome.send.as_slice(),
        [Message::DocUnavailable(_)]
    ));
    assert_eq!(
        notes(&relay_docs.docs[&hidden]),
        ["another workspace's secret"]
    );
}

#[test]
fn a_viewer_receives_everything_and_writes_nothing() {
    let (mut client, mut relay) = connected(true);
    let id = DocumentId::random();
    let base = account_with_note("relay's note");
    let mut relay_docs = Memory::default();
    relay_docs.docs.insert(id, base.fork());
    let mut viewer_copy = base.fork();
    add_note(&mut viewer_copy, "vi", Team::Sales, "viewer's note", false);
    let mut client_docs = Memory::default();
    client_docs.docs.insert(id, viewer_copy);
    let before = relay_docs.docs[&id].get_heads();
    let first = client.sync_document(id, &mut client_docs).unwrap();
    let changed = pump(
        &mut client,
        &mut client_docs,
        &mut relay,
        &mut relay_docs,
        first,
    );
    assert_eq!(
        relay_docs.docs[&id].get_heads(),
        before,
        "the viewer's change was applied"
    );
    assert!(
        changed.is_empty(),
        "nothing changed on either side: {changed:?}"
    );

    // A viewer cannot create documents either, and still reads new ones.
    let new = DocumentId::random();
    client_docs
        .docs
        .insert(new, account_with_note("viewer's own account"));
    let push = client.sync_document(new, &mut client_docs).unwrap();
    let outcome = relay
        .receive(push.into_iter().next().unwrap(), &mut relay_docs)
        .unwrap();
    assert!(matches!(
        outcome.send.as_slice(),
        [Message::DocUnavailable(_)]
    ));
    assert!(!relay_docs.docs.contains_key(&new));

    add_note(
        relay_docs.docs.get_mut(&id).unwrap(),
        "ana",
        Team::Support,
        "news from support",
        false,
    );
    let announce = relay.sync_document(id, &mut relay_docs).unwrap();
    pump(
        &mut relay,
        &mut relay_docs,
        &mut client,
        &mut client_docs,
        announce,
    );
    assert!(notes(&client_docs.docs[&id]).contains(&"news from support".to_owned()));
}

#[test]
fn garbage_sync_data_is_a_protocol_error_and_changes_nothing() {
    let (_, mut relay) = connected(false);
    let id = DocumentId::random();
    let mut relay_docs = Memory::default();
    relay_docs.docs.insert(id, account_with_note("kept"));
    let heads = relay_docs.docs[&id].get_heads();
    for data in [vec![], vec![0x42], b"not a sync message".to_vec()] {
        let sync = Message::Sync(DocMessage {
            sender_id: peer("laptop"),
            target_id: peer("relay"),
            document_id: id.into(),
            data,
        });
        let err = relay.receive(sync, &mut relay_docs).unwrap_err();
        assert!(
            matches!(
                err,
                SessionError::Protocol(ProtocolError::InvalidSyncMessage { .. })
            ),
            "{err}"
        );
    }
    assert_eq!(relay_docs.docs[&id].get_heads(), heads);
}

#[test]
fn storage_failure_stops_the_session_without_an_answer() {
    let (mut client, mut relay) = connected(false);
    let id = DocumentId::random();
    let mut client_docs = Memory::default();
    client_docs.docs.insert(id, account_with_note("unsaved"));
    let push = client.sync_document(id, &mut client_docs).unwrap();
    let mut failing = Memory {
        fail: true,
        ..Memory::default()
    };
    let err = relay
        .receive(push.into_iter().next().unwrap(), &mut failing)
        .unwrap_err();
    assert!(matches!(err, SessionError::Storage { .. }), "{err}");
}

#[test]
fn an_error_or_leave_from_the_remote_closes() {
    let (mut client, _) = connected(false);
    let outcome = client
        .receive(
            Message::Error {
                message: "token revoked".into(),
            },
            &mut Memory::default(),
        )
        .unwrap();
    assert_eq!(outcome.closed.as_deref(), Some("token revoked"));
    let outcome = client
        .receive(
            Message::Leave {
                sender_id: peer("relay"),
            },
            &mut Memory::default(),
        )
        .unwrap();
    assert!(outcome.closed.is_some());
}

#[test]
fn the_patches_of_a_received_note_name_exactly_that_entry() {
    let (mut client, mut relay) = connected(false);
    let id = DocumentId::random();
    let base = account_with_note("known to both");
    let mut client_docs = Memory::default();
    let mut relay_docs = Memory {
        touched: Some(Vec::new()),
        ..Memory::default()
    };
    client_docs.docs.insert(id, base.fork());
    relay_docs.docs.insert(id, base.fork());
    let first = client.sync_document(id, &mut client_docs).unwrap();
    pump(
        &mut client,
        &mut client_docs,
        &mut relay,
        &mut relay_docs,
        first,
    );

    relay_docs.touched = Some(Vec::new());
    let note = EntryId::new();
    let edit = Edit::now("bo".parse().unwrap(), Team::Sales);
    let doc = client_docs.docs.get_mut(&id).unwrap();
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| {
            account::add_entry(
                tx,
                &edit,
                note,
                &NewEntry {
                    kind: EntryKind::Call,
                    text: "called".into(),
                    alert: vec![],
                },
            )
        },
    )
    .unwrap();
    let announce = client.sync_document(id, &mut client_docs).unwrap();
    pump(
        &mut client,
        &mut client_docs,
        &mut relay,
        &mut relay_docs,
        announce,
    );
    let mut all = Touched::default();
    for touched in relay_docs.touched.take().unwrap() {
        all.merge(touched);
    }
    assert_eq!(all, Touched::entry(note));
}
