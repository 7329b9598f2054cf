//! A node over a replica that a join left mostly unindexed: it serves at once and indexes the
//! rest in the background, connected to its relay or not, telling pages how much is left.

use rapport_client::link::{self, Indexing};
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{AlertTarget, EntryId, EntryKind, Team};
use rapport_node::LocalNode;
use rapport_store::Remote;
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;

use crate::support::{WAIT, json_of, start_relay, subscribe, wait_for_event};

/// More than `rapport join` indexes before it returns.
const ACCOUNTS: usize = 300;

/// A relay whose workspace ana of support filled with [`ACCOUNTS`] accounts, the last with a
/// note alerting sales; and sam of sales's replica joined to it with nothing indexed.
async fn joined_unindexed() -> (Vec<TempDir>, rapport_store::Replica) {
    let (relay_dir, url, tokens) = start_relay().await;
    let ana_dir = TempDir::new().unwrap();
    let (mut ana, _) = link::join(ana_dir.path(), &url, &tokens[1], WAIT)
        .await
        .unwrap();
    let edit = ana.edit_now();
    let mut last = None;
    for i in 0..ACCOUNTS {
        let new = NewAccount {
            name: format!("Account {i:03}"),
            domain: None,
            tier: None,
            stage: None,
            owner: None,
        };
        last = Some(ana.create_account(&edit, &new).unwrap());
    }
    let note = NewEntry {
        kind: EntryKind::Note,
        text: "Renewal at risk, call them".into(),
        alert: vec![AlertTarget::Team(Team::Sales)],
    };
    ana.change_account(last.unwrap(), &edit, |tx| {
        account::add_entry(tx, &edit, EntryId::new(), &note)
    })
    .unwrap();
    link::sync_once(ana, WAIT).await.unwrap();

    let sam_dir = TempDir::new().unwrap();
    let (sam, _) = link::join_with(sam_dir.path(), &url, &tokens[0], WAIT, Indexing::Later)
        .await
        .unwrap();
    assert_eq!(sam.unindexed().unwrap(), ACCOUNTS as u64 + 1);
    (vec![relay_dir, ana_dir, sam_dir], sam)
}

/// Serves `replica` on a loopback port; its address.
async fn serve(replica: rapport_store::Replica) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    tokio::spawn(LocalNode::new(replica).serve(listener, std::future::pending()));
    at
}

/// Waits for the status that says nothing is left to index, then checks that every account
/// is listed and the note's alert is in the inbox.
async fn everything_indexed(
    at: std::net::SocketAddr,
    events: &mut tokio::io::BufReader<tokio::net::TcpStream>,
) {
    wait_for_event(events, "status", "\"indexing\":0").await;
    let listed = json_of(at, "GET", "/api/accounts?limit=10", None).await;
    assert_eq!(listed["total"], ACCOUNTS);
    let alerts = json_of(at, "GET", "/api/alerts", None).await;
    let texts: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["text"])
        .collect();
    assert_eq!(texts, ["Renewal at risk, call them"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_connected_to_its_relay_indexes_what_the_join_left_and_says_how_much_is_left() {
    let (_dirs, sam) = joined_unindexed().await;
    let at = serve(sam).await;
    let mut events = subscribe(at).await;
    // The first event is the status as it is now: the join's documents are still waiting,
    // or some of them, since the link may have indexed a batch before the page connected.
    let first = wait_for_event(&mut events, "status", "\"indexing\"").await;
    let first: Value = serde_json::from_str(&first).unwrap();
    assert!(first["indexing"].as_u64().unwrap() <= ACCOUNTS as u64 + 1);
    everything_indexed(at, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_relay_is_unreachable_still_indexes_what_the_join_left() {
    let (_dirs, mut sam) = joined_unindexed().await;
    // A port nothing listens on: every connection attempt is refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("ws://{}", closed.local_addr().unwrap());
    drop(closed);
    let remote = Remote {
        url: nowhere,
        ..sam.remote().unwrap().unwrap()
    };
    sam.set_remote(&remote).unwrap();
    let at = serve(sam).await;
    let status = json_of(at, "GET", "/api/status", None).await;
    assert_eq!(status["state"], "offline", "{status}");
    let mut events = subscribe(at).await;
    everything_indexed(at, &mut events).await;
    let status = json_of(at, "GET", "/api/status", None).await;
    assert_eq!(status["state"], "offline", "{status}");
    assert_eq!(status["indexing"], 0, "{status}");
}
