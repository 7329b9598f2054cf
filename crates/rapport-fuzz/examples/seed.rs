//! Writes the seed corpus: `cargo run --example seed` (into `corpus/`, beside this crate's
//! manifest). The documents are the fixtures; the relay's frames are what real client sessions
//! send the harness relay in a few scenarios; the decoder's frames are every frame of those
//! exchanges, in both directions. Everything is deterministic but the file names are not
//! libFuzzer's (sha1): `cargo fuzz cmin` renames them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ScalarValue};
use rapport_fuzz::frames::{self, JOINED, SAME_DIGEST, VIEWER};
use rapport_fuzz::{MemoryDocuments, RelayHarness, fixtures};
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{DocumentId, Edit, EntryId, EntryKind, Team};
use rapport_proto::{
    DocMessage, DocNotice, Ephemeral, Message, PeerId, PeerMetadata, WireDocumentId, encode,
};
use rapport_sync::{Documents, SUMMARY_V1, Session};

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut frames_seen = BTreeSet::new();
    let mut harness = RelayHarness::new().expect("harness");
    for scenario in scenarios() {
        let (batches, replies) = exchange(&mut harness, &scenario);
        frames_seen.extend(batches.iter().flatten().cloned());
        frames_seen.extend(replies);
        let (options, batches) = if scenario.harness_joins {
            (scenario.options | JOINED, &batches[1..])
        } else {
            (scenario.options, &batches[..])
        };
        write(
            &corpus,
            "relay_sync",
            scenario.name,
            &frames::write(options, batches),
        );
    }
    // The messages no scenario sends, on a joined connection.
    let odd: Vec<Vec<u8>> = odd_messages().iter().map(encode).collect();
    let input = frames::write(JOINED | SAME_DIGEST, std::slice::from_ref(&odd));
    write(
        &corpus,
        "relay_sync",
        "joined-client-sends-the-rest",
        &input,
    );
    frames_seen.extend(odd);
    for (i, frame) in frames_seen.iter().enumerate() {
        write(&corpus, "proto_decode", &format!("frame-{i:02}"), frame);
    }
    for (id, doc) in fixtures::documents().expect("fixtures") {
        write(&corpus, "document_load", &id.to_string(), &doc.save());
    }
    // Documents built by edits (`shape.rs`): each base, with a few edits of each kind.
    for base in 0u8..4 {
        let edits: Vec<u8> = (0u8..8)
            .flat_map(|op| {
                [
                    op,
                    base.wrapping_mul(3) + op,
                    op.wrapping_mul(7),
                    op,
                    op % 3,
                    2,
                    b'a',
                    b'b',
                ]
            })
            .collect();
        write(
            &corpus,
            "document_load",
            &format!("edits-on-base-{base}"),
            &[&[base][..], &edits].concat(),
        );
    }
    regressions(&mut harness);
    // As the store keeps a document: a snapshot, then the chunks of later changes.
    let mut acme = fixtures::acme().expect("acme");
    let snapshot = acme.save();
    let before = acme.get_heads();
    add_note(&mut acme, "a later note");
    let mut rows = snapshot;
    rows.extend(acme.save_after(&before));
    write(&corpus, "document_load", "acme-snapshot-and-chunk", &rows);
}

/// `ephemeral`, `request` and `doc-unavailable` for a document the relay lacks, `error`,
/// `leave`, and a message type no one knows.
fn odd_messages() -> Vec<Message> {
    let me = PeerId::new("fuzz-client").expect("id");
    let relay = PeerId::new("relay-fuzz").expect("id");
    let unknown: WireDocumentId = DocumentId::from_bytes([0x0d; 16]).into();
    let request = automerge::sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: Vec::<Vec<u8>>::new().into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    };
    vec![
        Message::Ephemeral(Ephemeral {
            sender_id: me.clone(),
            target_id: relay.clone(),
            count: 1,
            session_id: "s1".into(),
            document_id: fixtures::acme_id().into(),
            data: vec![0xa1, 0x61, 0x78, 0x01],
        }),
        Message::Request(DocMessage {
            sender_id: me.clone(),
            target_id: relay.clone(),
            document_id: unknown.clone(),
            data: request.encode(),
        }),
        Message::DocUnavailable(DocNotice {
            sender_id: me.clone(),
            target_id: relay,
            document_id: unknown,
        }),
        Message::Other {
            message_type: "remote-heads-changed".into(),
        },
        Message::Error {
            message: "client error".into(),
        },
        Message::Leave { sender_id: me },
    ]
}

/// Inputs that once crashed a target, kept apart from the corpus (which `cargo fuzz cmin` may
/// thin out) and replayed by every run of `tests/fuzz`.
fn regressions(harness: &mut RelayHarness) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    // automerge 0.12's counters overflow unchecked (README.md, "Findings"): a peer's document,
    // or its sync message, with a counter at i64::MAX incremented once.
    let mut acme = fixtures::acme().expect("acme");
    add_counter_past_i64(&mut acme);
    write(&dir, "document_load", "counter-past-i64", &acme.save());
    let mut docs = MemoryDocuments {
        docs: fixtures::documents()
            .expect("fixtures")
            .into_iter()
            .collect(),
    };
    docs.docs.insert(fixtures::acme_id(), acme);
    let scenario = Scenario {
        name: "counter-past-i64",
        options: 0,
        rapport_client: true,
        harness_joins: false,
        client_docs: docs,
        sync_first: Vec::new(),
    };
    let (batches, _) = exchange(harness, &scenario);
    write(
        &dir,
        "relay_sync",
        scenario.name,
        &frames::write(0, &batches),
    );
}

/// A counter set to i64::MAX, then incremented by one in a change of its own.
fn add_counter_past_i64(doc: &mut Automerge) {
    let edit = edit(120);
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| tx.put(automerge::ROOT, "visits", ScalarValue::counter(i64::MAX)),
    )
    .expect("counter");
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| tx.increment(automerge::ROOT, "visits", 1),
    )
    .expect("increment");
}

struct Scenario {
    name: &'static str,
    options: u8,
    /// The client speaks `summary-1` (a Rapport client) or not (a plain automerge-repo peer).
    rapport_client: bool,
    /// The seed leaves the `join` out and sets [`JOINED`], the harness joining for it.
    harness_joins: bool,
    client_docs: MemoryDocuments,
    /// Documents the client starts syncing itself (an automerge-repo peer asks for them).
    sync_first: Vec<DocumentId>,
}

fn scenarios() -> Vec<Scenario> {
    let fixtures = || MemoryDocuments {
        docs: fixtures::documents()
            .expect("fixtures")
            .into_iter()
            .collect(),
    };
    let mut edited = fixtures();
    add_note(
        edited.docs.get_mut(&fixtures::acme_id()).expect("acme"),
        "called back",
    );
    let mut with_new = fixtures();
    let mut new = Automerge::new().with_actor(ActorId::from([9; 16].as_slice()));
    add_account(&mut new);
    with_new
        .docs
        .insert(DocumentId::from_bytes([0x0e; 16]), new);
    let scenario = |name, options, harness_joins, client_docs| Scenario {
        name,
        options,
        rapport_client: true,
        harness_joins,
        client_docs,
        sync_first: Vec::new(),
    };
    let mut plain_edited = fixtures();
    add_note(
        plain_edited
            .docs
            .get_mut(&fixtures::acme_id())
            .expect("acme"),
        "plain",
    );
    plain_edited.docs.remove(&fixtures::globex_id());
    vec![
        scenario("client-edited-an-account", 0, false, edited),
        scenario("client-pushes-a-new-account", 0, false, with_new),
        scenario("cold-join", 0, false, MemoryDocuments::default()),
        scenario("same-documents", SAME_DIGEST, false, fixtures()),
        scenario("viewer-edited-an-account", VIEWER, false, {
            let mut docs = fixtures();
            add_note(
                docs.docs.get_mut(&fixtures::globex_id()).expect("globex"),
                "viewer",
            );
            docs
        }),
        scenario("joined-client-pushes-a-new-account", 0, true, {
            let mut docs = MemoryDocuments::default();
            let mut new = Automerge::new().with_actor(ActorId::from([8; 16].as_slice()));
            add_account(&mut new);
            docs.docs.insert(DocumentId::from_bytes([0x0f; 16]), new);
            docs
        }),
        Scenario {
            name: "automerge-repo-peer",
            options: 0,
            rapport_client: false,
            harness_joins: false,
            client_docs: plain_edited,
            sync_first: vec![fixtures::acme_id(), fixtures::globex_id()],
        },
    ]
}

/// Runs a client session against the harness relay until both are quiet: the frames the
/// client sent, batch by batch, and every frame the relay answered.
fn exchange(harness: &mut RelayHarness, scenario: &Scenario) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    let mut connection = harness
        .connect(scenario.options & VIEWER != 0)
        .expect("connect");
    let mut docs = MemoryDocuments {
        docs: scenario.client_docs.docs.clone(),
    };
    let metadata = if scenario.rapport_client {
        PeerMetadata {
            extensions: vec![SUMMARY_V1.into()],
            summary_digest: Some(docs.digest().expect("digest").0.to_vec()),
            ..PeerMetadata::default()
        }
    } else {
        PeerMetadata::default()
    };
    let (mut client, join) = Session::initiate(PeerId::new("fuzz-client").expect("id"), metadata);
    let join = match (scenario.harness_joins, scenario.options & SAME_DIGEST != 0) {
        (true, same) => connection.client_join(same),
        (false, true) => same_digest(join, &connection),
        (false, false) => join,
    };
    let mut to_relay = vec![join];
    let mut batches = Vec::new();
    let mut replies = Vec::new();
    for round in 0..20 {
        if to_relay.is_empty() {
            break;
        }
        batches.push(to_relay.iter().map(encode).collect());
        let answers = connection
            .messages(std::mem::take(&mut to_relay))
            .expect("relay");
        replies.extend(answers.iter().map(encode));
        let outcome = client.receive_all(answers, &mut docs).expect("client");
        to_relay = outcome.send;
        to_relay.extend(
            client
                .document_messages(&outcome.serve, &mut docs)
                .expect("serve"),
        );
        if round == 0 {
            for id in &scenario.sync_first {
                to_relay.extend(client.sync_document(*id, &mut docs).expect("sync"));
            }
        }
    }
    (batches, replies)
}

/// The client's `join`, claiming the workspace's own digest (its documents are the same).
fn same_digest(join: Message, connection: &rapport_fuzz::Connection) -> Message {
    let Message::Join(mut join) = join else {
        return join;
    };
    if let Message::Join(theirs) = connection.client_join(true) {
        join.peer_metadata.summary_digest = theirs.peer_metadata.summary_digest;
    }
    Message::Join(join)
}

fn edit(seconds: i64) -> Edit {
    Edit {
        user: "cy".parse().expect("user"),
        team: Team::Support,
        at: jiff::Timestamp::from_second(1_767_300_000 + seconds).expect("time"),
    }
}

fn add_note(doc: &mut Automerge, text: &str) {
    let edit = edit(0);
    let note = NewEntry {
        kind: EntryKind::Note,
        text: text.into(),
        alert: vec!["sales".parse().expect("team")],
    };
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| account::add_entry(tx, &edit, EntryId::from_parts(1_767_300_000_000, 7), &note),
    )
    .expect("note");
}

fn add_account(doc: &mut Automerge) {
    let edit = edit(60);
    let new = NewAccount {
        name: "Initech".into(),
        ..NewAccount::default()
    };
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| account::create(tx, &edit, &new),
    )
    .expect("account");
}

fn write(corpus: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = corpus.join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(name), bytes).expect("corpus file");
}
