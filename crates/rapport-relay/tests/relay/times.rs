//! Changes timed at the ends of `i64`: Automerge's column code panics adding such a time to
//! ordinary ones (when it applies the change, saves or loads the document), so the relay must
//! refuse them before anything is applied or stored.

use automerge::sync::{self as automerge_sync};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ROOT, ReadDoc};
use rapport_model::{DocumentId, Role, Team};
use rapport_proto::{Message, PeerId, PeerMetadata, WholeDocument};
use rapport_relay::RelayConfig;
use rapport_store::StoreError;
use tempfile::TempDir;

use crate::raw::{Socket, connect_raw, doc_message, receive, send};
use crate::{LIVE, RunningRelay, WAIT, Watcher, add_account, add_note, has, join, sync, timeline};

/// A change that depends on nothing (so it applies to any document), committed at `time`:
/// made on a document of its own, since Automerge panics making it beside ordinary times.
fn change_at(time: i64) -> Vec<u8> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "mallory", "was here").unwrap();
    tx.commit_with(CommitOptions::default().with_time(time));
    doc.save_after(&[])
}

/// A sync message pushing `change`.
fn pushing(change: Vec<u8>) -> Vec<u8> {
    automerge_sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: vec![change].into(),
        flags: None,
        version: automerge_sync::MessageVersion::V1,
    }
    .encode()
}

/// A document of one change at `i64::MAX`, followed by a change at `i64::MIN` (what a store
/// keeping a snapshot and chunks holds): loading it applies the second to the first.
fn document_from_both_ends() -> (Vec<u8>, Vec<[u8; 32]>) {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "first", 1).unwrap();
    tx.commit_with(CommitOptions::default().with_time(i64::MAX));
    let mut data = doc.save();
    let other = change_at(i64::MIN);
    data.extend(&other);
    let mut heads: Vec<[u8; 32]> = doc.get_heads().into_iter().map(|h| h.0).collect();
    let other = automerge::Change::from_bytes(other).unwrap();
    heads.push(other.hash().0);
    (data, heads)
}

/// Joins as `token` speaking extension `summary-1` (whole documents); returns the relay's id.
pub(crate) async fn handshake_with_summaries(socket: &mut Socket, me: &PeerId) -> PeerId {
    let metadata = PeerMetadata {
        extensions: vec![rapport_sync::SUMMARY_V1.to_owned()],
        ..PeerMetadata::default()
    };
    send(
        socket,
        &Message::Join(rapport_proto::Join {
            sender_id: me.clone(),
            supported_protocol_versions: vec![rapport_proto::PROTOCOL_V1.into()],
            peer_metadata: metadata,
        }),
    )
    .await;
    match receive(socket).await {
        Some(Message::Peer(peer)) => peer.sender_id,
        other => panic!("expected a peer message, got {other:?}"),
    }
}

/// The relay's `error` (past whatever it says first, such as its summary), then its close.
async fn error_then_closed(socket: &mut Socket) -> String {
    loop {
        match receive(socket).await {
            Some(Message::Error { message }) => {
                assert!(
                    receive(socket).await.is_none(),
                    "the relay closes after the error"
                );
                return message;
            }
            Some(_) => {}
            None => panic!("the relay closed the connection without an error"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_timed_at_the_ends_of_i64_are_refused_and_the_relay_keeps_serving() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let mallory_token = relay.invite("Acme", "mallory", Team::Marketing, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let mut watcher = Watcher::start(sam);
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "before the odd times", &["sales"]);
    let mut ana = sync(ana).await;
    assert_eq!(watcher.next_alert(WAIT).await, "before the odd times");
    let globex_doc = Automerge::load(&ana.document_bytes(globex).unwrap()).unwrap();
    let me = PeerId::new("mallory").unwrap();

    // Sync messages carrying one change at an odd time, for a document of ordinary times.
    for time in [i64::MIN, i64::MAX, -(1 << 62)] {
        let mut raw = connect_raw(&relay, &mallory_token).await;
        let relay_id = handshake_with_summaries(&mut raw, &me).await;
        let data = pushing(change_at(time));
        send(
            &mut raw,
            &Message::Sync(doc_message(&me, &relay_id, globex, &data)),
        )
        .await;
        let error = error_then_closed(&mut raw).await;
        assert!(
            error.contains(&format!("invalid sync message for document {globex}"))
                && error.contains(&format!("time {time} is outside")),
            "{error}"
        );
    }

    // Whole documents: one the relay holds with such a change after it, and one it lacks.
    let mut known = ana.document_bytes(globex).unwrap();
    known.extend(change_at(i64::MIN));
    let (unknown, unknown_heads) = document_from_both_ends();
    let unknown_id = DocumentId::random();
    for (id, data, heads) in [
        (
            globex,
            known,
            globex_doc.get_heads().iter().map(|h| h.0).collect(),
        ),
        (unknown_id, unknown, unknown_heads),
    ] {
        let mut raw = connect_raw(&relay, &mallory_token).await;
        let relay_id = handshake_with_summaries(&mut raw, &me).await;
        let whole = WholeDocument {
            sender_id: me.clone(),
            target_id: relay_id,
            document_id: id.into(),
            heads,
            data,
        };
        send(&mut raw, &Message::Document(whole)).await;
        let error = error_then_closed(&mut raw).await;
        assert!(
            error.contains(&format!("invalid document {id}")) && error.contains("is outside"),
            "{error}"
        );
    }

    add_note(&mut ana, globex, "after the odd times", &["sales"]);
    let _ana = sync(ana).await;
    assert_eq!(watcher.next_alert(LIVE).await, "after the odd times");
    watcher.assert_connected_throughout();
    let (_fresh_dir, mut fresh) = join(&relay, &ana_token).await;
    let seen = timeline(&mut fresh, globex);
    assert!(has(&seen, "after the odd times"), "{seen:?}");
    let stored = Automerge::load(&fresh.document_bytes(globex).unwrap()).unwrap();
    assert!(stored.get(ROOT, "mallory").unwrap().is_none());
    assert!(matches!(
        fresh.document_bytes(unknown_id),
        Err(StoreError::UnknownDocument { .. })
    ));
}
