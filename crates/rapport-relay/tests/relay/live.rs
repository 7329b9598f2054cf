//! Changes reaching members: live, in bulk, and across a relay restart.

use automerge::Automerge;
use automerge::sync::{self as automerge_sync, SyncDoc};
use rapport_model::{DocumentId, Role, Team, account};
use rapport_proto::{Message, PeerId};
use rapport_relay::RelayConfig;
use tempfile::TempDir;
use tokio::time::timeout;
use tokio_tungstenite::MaybeTlsStream;

use crate::raw::{
    Socket, connect_raw, doc_message, empty_document_sync, handshake, pushed_alert, receive, send,
};
use crate::{LIVE, RunningRelay, WAIT, Watcher, add_account, add_note, join, sync, timeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_note_alerting_sales_reaches_every_watching_sales_member_live() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let sue_token = relay.invite("Acme", "sue", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    let mut ana = sync(ana).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let (_sue_dir, sue) = join(&relay, &sue_token).await;
    let mut watchers = [Watcher::start(sam), Watcher::start(sue)];

    // The first alert shows each watcher is connected and caught up, however it got there.
    add_note(&mut ana, globex, "customer called support", &["sales"]);
    let mut ana = sync(ana).await;
    for watcher in &mut watchers {
        assert_eq!(watcher.next_alert(WAIT).await, "customer called support");
    }

    add_note(
        &mut ana,
        globex,
        "customer asked about the enterprise plan",
        &["sales"],
    );
    let _ana = sync(ana).await;
    for watcher in &mut watchers {
        let alert = watcher.next_alert(LIVE).await;
        assert_eq!(alert, "customer asked about the enterprise plan");
        watcher.assert_connected_throughout();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_author_vanished_before_the_relay_answered_still_reaches_the_others_live() {
    // The relay commits a change, then answers its author, then tells the others. An author
    // gone by the answer (its process killed, its socket reset) once kept the change from
    // everyone online until they reconnected.
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    let mut ana = sync(ana).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let mut watcher = Watcher::start(sam);
    add_note(&mut ana, globex, "the watcher is caught up", &["sales"]);
    let ana = sync(ana).await;
    assert_eq!(watcher.next_alert(WAIT).await, "the watcher is caught up");

    let saved = ana.saved_document(globex).unwrap().unwrap().data;
    let pushed = pushed_alert(
        &saved,
        "written just before the crash",
        "ana",
        Team::Support,
        &["sales"],
    );
    let mut peer = connect_raw(&relay, &ana_token).await;
    let me = PeerId::new("ana-about-to-crash").unwrap();
    let relay_id = handshake(&mut peer, &me).await;
    send(
        &mut peer,
        &Message::Sync(doc_message(&me, &relay_id, globex, &pushed)),
    )
    .await;
    // Gone at once, as a killed process is: the socket is reset, so the relay's answer fails.
    if let MaybeTlsStream::Plain(tcp) = peer.get_ref() {
        tcp.set_zero_linger().unwrap();
    }
    drop(peer);

    assert_eq!(
        watcher.next_alert(LIVE).await,
        "written just before the crash"
    );
    watcher.assert_connected_throughout();
    drop(watcher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_pushing_more_documents_than_the_event_backlog_is_not_disconnected() {
    // Each document the relay commits is an event for every connection of the workspace, the
    // pusher's own included: a push of many documents must not leave the pusher "behind".
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        event_backlog: 8,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let watcher = Watcher::start(sam);
    for i in 0..120 {
        add_account(&mut ana, &format!("Account {i}"));
    }
    let _ana = sync(ana).await;
    let (_fresh_dir, fresh) = join(&relay, &ana_token).await;
    assert_eq!(fresh.accounts().unwrap().len(), 120);
    drop(watcher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_relay_still_has_everything_a_client_synced() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "kept across restarts", &["sales"]);
    assert_eq!(
        ana.unsynced().unwrap().len(),
        2,
        "the account and the workspace"
    );
    let ana = sync(ana).await;
    assert_eq!(ana.unsynced().unwrap(), [], "the relay confirmed both");
    relay.stop().await;

    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let (_fresh_dir, mut fresh) = join(&relay, &ana_token).await;
    assert_eq!(fresh.workspace().unwrap().name, "Acme");
    let names: Vec<String> = fresh
        .accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["Globex"]);
    assert_eq!(timeline(&mut fresh, globex), ["kept across restarts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_reconnects_when_the_relay_comes_back_and_hears_what_was_written_meanwhile() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let address = relay.address.to_string();
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let sue_token = relay.invite("Acme", "sue", Team::Support, Role::Member);
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let (_sue_dir, mut sue) = join(&relay, &sue_token).await;
    let mut watcher = Watcher::start(sam);
    let globex = add_account(&mut sue, "Globex");
    add_note(&mut sue, globex, "before the restart", &["sales"]);
    let mut sue = sync(sue).await;
    assert_eq!(watcher.next_alert(LIVE).await, "before the restart");

    relay.stop().await;
    // Written while the relay is down: it goes out with the next sync.
    add_note(&mut sue, globex, "while the relay was down", &["sales"]);
    let relay = RunningRelay::start_on(dir.path(), RelayConfig::default(), &address).await;
    let _sue = sync(sue).await;
    // The watcher's backoff is at most a few seconds here; it catches up on reconnecting.
    assert_eq!(watcher.next_alert(WAIT).await, "while the relay was down");
    drop(watcher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_holding_one_document_hears_its_changes_however_fast_the_rest_changes() {
    // An automerge-repo peer that asked for one document is told of that document's changes
    // only: a workspace changing far faster than the event backlog leaves it connected.
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        event_backlog: 8,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    let mut ana = sync(ana).await;

    let mut peer = connect_raw(&relay, &bo_token).await;
    let me = PeerId::new("bo-browser-tab").unwrap();
    let relay_id = handshake(&mut peer, &me).await;
    let mut doc = Automerge::new();
    let mut state = automerge_sync::State::new();
    let request = doc_message(&me, &relay_id, globex, &empty_document_sync());
    send(&mut peer, &Message::Request(request)).await;
    let mut heads = ana.heads(globex).unwrap();
    heads.sort();
    hear_until(&mut peer, &me, &relay_id, &mut doc, &mut state, |doc| {
        doc.get_heads() == heads
    })
    .await;

    for i in 0..60 {
        add_account(&mut ana, &format!("Account {i}"));
    }
    add_note(&mut ana, globex, "heard by the tab", &[]);
    let _ana = sync(ana).await;
    timeout(
        LIVE,
        hear_until(&mut peer, &me, &relay_id, &mut doc, &mut state, |doc| {
            account::view(doc, globex)
                .is_ok_and(|view| view.timeline.iter().any(|e| e.text == "heard by the tab"))
        }),
    )
    .await
    .expect("the note reaches the tab live");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_peers_answering_each_note_at_once_all_end_with_every_note() {
    // Forty automerge-repo peers hold one account while notes land on it one after another:
    // the relay offers each note to all of them and takes their forty answers at once, most
    // on the connections' own tasks and some, when the document is busy, on blocking threads.
    // Every peer must end with every note, and the relay must still take the writer's notes.
    const PEERS: usize = 40;
    const NOTES: usize = 10;
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    let mut ana = sync(ana).await;

    let mut tabs = Vec::new();
    for i in 0..PEERS {
        let mut peer = connect_raw(&relay, &bo_token).await;
        let me = PeerId::new(format!("bo-tab-{i}")).unwrap();
        let relay_id = handshake(&mut peer, &me).await;
        let request = doc_message(&me, &relay_id, globex, &empty_document_sync());
        send(&mut peer, &Message::Request(request)).await;
        tabs.push((peer, me, relay_id));
    }
    let last = format!("note {}", NOTES - 1);
    let listening: Vec<_> = tabs
        .into_iter()
        .map(|(mut peer, me, relay_id)| {
            let last = last.clone();
            tokio::spawn(async move {
                let mut doc = Automerge::new();
                let mut state = automerge_sync::State::new();
                hear_until(&mut peer, &me, &relay_id, &mut doc, &mut state, |doc| {
                    account::view(doc, globex)
                        .is_ok_and(|view| view.timeline.iter().any(|e| e.text == last))
                })
                .await;
                let view = account::view(&doc, globex).unwrap();
                view.timeline.len()
            })
        })
        .collect();
    for i in 0..NOTES {
        add_note(&mut ana, globex, &format!("note {i}"), &[]);
        ana = sync(ana).await;
    }
    for tab in listening {
        let notes = timeout(LIVE, tab)
            .await
            .expect("every note reaches every tab");
        assert_eq!(notes.unwrap(), NOTES);
    }
    let mut ana = ana;
    assert_eq!(timeline(&mut ana, globex).len(), NOTES);
    relay.stop().await;
}

/// Answers the relay's sync messages for the one document the peer holds until `done`.
async fn hear_until(
    peer: &mut Socket,
    me: &PeerId,
    relay_id: &PeerId,
    doc: &mut Automerge,
    state: &mut automerge_sync::State,
    done: impl Fn(&Automerge) -> bool,
) {
    while !done(doc) {
        let message = match receive(peer).await {
            Some(Message::Sync(message)) => message,
            other => panic!("expected the document's sync messages, got {other:?}"),
        };
        let incoming = automerge_sync::Message::decode(&message.data).unwrap();
        doc.receive_sync_message(state, incoming).unwrap();
        if let Some(reply) = doc.generate_sync_message(state) {
            let id: DocumentId = message.document_id.parse().unwrap();
            let reply = doc_message(me, relay_id, id, &reply.encode());
            send(peer, &Message::Sync(reply)).await;
        }
    }
}
