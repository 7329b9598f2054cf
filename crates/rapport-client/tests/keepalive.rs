//! A link busy with a burst of documents still answers the server's pings: the JavaScript sync
//! servers ping every 5 s and drop a peer whose pong comes late, which lost our client large
//! workspaces half-way. A stub server on loopback plays a plain automerge-repo server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use automerge::sync::{State, SyncDoc};
use automerge::{AutoCommit, Automerge};
use futures_util::{SinkExt, StreamExt};
use rapport_client::link;
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{DocumentId, Edit, EntryId, EntryKind, Team, UserName};
use rapport_proto::{DocMessage, Message, PeerId, PeerMetadata, answer_join, decode, encode};
use rapport_store::{Remote, Replica};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as Frame;

/// Documents in the burst: enough that applying and indexing them takes the client well over
/// the pong deadline below, in a debug build.
const BURST: usize = 400;
/// How late a pong may be while the client works through the burst.
const PONG_DEADLINE: Duration = Duration::from_millis(500);

/// An account document with a few notes, as another member would have written it.
fn account_document(i: usize) -> Automerge {
    let edit = Edit::now("ana".parse::<UserName>().unwrap(), Team::Support);
    let mut doc = AutoCommit::new();
    let new = NewAccount {
        name: format!("Account {i}"),
        ..NewAccount::default()
    };
    account::create(&mut doc, &edit, &new).unwrap();
    for n in 0..5 {
        let entry = NewEntry {
            kind: EntryKind::Note,
            text: format!("note {n} about renewal and pricing for account {i}"),
            alert: Vec::new(),
        };
        account::add_entry(&mut doc, &edit, EntryId::new(), &entry).unwrap();
    }
    doc.commit();
    doc.document().clone()
}

/// The first sync message of `doc` to a peer that holds nothing of it: all its changes.
fn everything_of(doc: &Automerge) -> Vec<u8> {
    let (mut theirs, mut ours) = (State::new(), State::new());
    let hello = Automerge::new().generate_sync_message(&mut theirs).unwrap();
    doc.clone().receive_sync_message(&mut ours, hello).unwrap();
    doc.generate_sync_message(&mut ours).unwrap().encode()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_busy_with_a_burst_of_documents_still_answers_pings_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let replica =
        Replica::create_workspace(dir.path(), "Keepalive", "bo".parse().unwrap(), Team::Sales)
            .unwrap();
    let documents: Vec<(DocumentId, Vec<u8>)> = (0..BURST)
        .map(|i| (DocumentId::random(), everything_of(&account_document(i))))
        .collect();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let me = PeerId::new("stub-server").unwrap();
        let client = loop {
            let Some(Ok(Frame::Binary(bytes))) = socket.next().await else {
                panic!("the client sent no join");
            };
            if let Ok(Message::Join(join)) = decode(&bytes) {
                let peer = answer_join(&join, me.clone(), PeerMetadata::default()).unwrap();
                socket
                    .send(Frame::Binary(encode(&Message::Peer(peer)).into()))
                    .await
                    .unwrap();
                break join.sender_id;
            }
        };
        for (id, data) in &documents {
            let message = Message::Sync(DocMessage {
                sender_id: me.clone(),
                target_id: client.clone(),
                document_id: (*id).into(),
                data: data.clone(),
            });
            socket
                .send(Frame::Binary(encode(&message).into()))
                .await
                .unwrap();
        }
        // The client is into the burst by now: ping, and time the pong.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let pinged = Instant::now();
        socket
            .send(Frame::Ping(b"still there?".to_vec().into()))
            .await
            .unwrap();
        loop {
            match socket.next().await {
                Some(Ok(Frame::Pong(_))) => return pinged.elapsed(),
                Some(Ok(_)) => {}
                other => panic!("the connection ended before a pong: {other:?}"),
            }
        }
    });

    let remote = Remote {
        url,
        token: None,
        ca_cert: None,
    };
    // The stub never settles; the link's work is what matters here, not its end.
    let synced = link::sync_once_with(replica, Some(remote), Duration::from_secs(60));
    let pong = tokio::select! {
        pong = server => pong.unwrap(),
        ended = synced => panic!("the sync ended before the server's ping was answered: {ended:?}"),
    };
    assert!(
        pong < PONG_DEADLINE,
        "the pong came after {pong:?}, while the client worked through {BURST} documents"
    );
}
