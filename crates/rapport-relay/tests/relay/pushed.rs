//! Whole documents a member pushes are stored before the relay loads them, and checked after:
//! those that do not load to the heads they were sent with are removed again, the relay keeps
//! serving, and a restart finds those it had not checked yet.

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{Automerge, ChangeHash, ROOT};
use rapport_model::{DocumentId, Role, Team};
use rapport_proto::{Message, PeerId, WholeDocument};
use rapport_relay::RelayConfig;
use rapport_store::{RelayStore, Replica};
use rapport_sync::Digest;
use tempfile::TempDir;
use tokio::time::{Instant, sleep};

use crate::raw::{Socket, connect_raw, receive, send};
use crate::times::handshake_with_summaries;
use crate::{LIVE, RunningRelay, WAIT, Watcher, add_account, add_note, join, sync};

/// A document of one change, whatever its shape: the relay does not read documents.
fn document(value: &str) -> Automerge {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "value", value).unwrap();
    tx.commit();
    doc
}

fn hashes(heads: &[ChangeHash]) -> Vec<[u8; 32]> {
    heads.iter().map(|h| h.0).collect()
}

/// A document as pushed: its id, its bytes, the heads it claims.
type Push = (DocumentId, Vec<u8>, Vec<[u8; 32]>);

/// Three documents a member could push: one sound, one whose bytes hold other heads than it
/// claims, and one whose bytes were damaged on the way (they fail the chunk's checksum).
struct Pushes {
    sound: Push,
    lying: Push,
    damaged: Push,
}

impl Pushes {
    fn new() -> Self {
        let sound = document("sound");
        let other = document("other");
        let mut damaged_bytes = document("damaged").save();
        // Byte 4 is the first of the chunk's checksum.
        damaged_bytes[4] ^= 0xff;
        assert!(Automerge::load(&damaged_bytes).is_err());
        Self {
            sound: (
                DocumentId::random(),
                sound.save(),
                hashes(&sound.get_heads()),
            ),
            lying: (
                DocumentId::random(),
                sound.save(),
                hashes(&other.get_heads()),
            ),
            damaged: (
                DocumentId::random(),
                damaged_bytes,
                hashes(&document("damaged").get_heads()),
            ),
        }
    }

    fn all(&self) -> [&Push; 3] {
        [&self.sound, &self.lying, &self.damaged]
    }
}

/// Sends every document of `pushes` as `token`, on a raw connection that agrees on summaries;
/// waits for the relay's `have` for each, which it sends once they are durable.
async fn push(relay: &RunningRelay, token: &str, pushes: &Pushes) {
    let me = PeerId::new("pusher").unwrap();
    let mut socket = connect_raw(relay, token).await;
    let relay_id = handshake_with_summaries(&mut socket, &me).await;
    send_all(&mut socket, &me, &relay_id, pushes).await;
}

async fn send_all(raw: &mut Socket, me: &PeerId, relay: &PeerId, pushes: &Pushes) {
    for (id, data, heads) in pushes.all() {
        let whole = WholeDocument {
            sender_id: me.clone(),
            target_id: relay.clone(),
            document_id: (*id).into(),
            heads: heads.clone(),
            data: data.clone(),
        };
        send(raw, &Message::Document(whole)).await;
    }
    let mut had = Vec::new();
    while had.len() < 3 {
        match receive(raw).await {
            Some(Message::Have(have)) => {
                let id: DocumentId = have.document_id.parse().unwrap();
                let (_, _, claimed) = pushes.all().into_iter().find(|p| p.0 == id).unwrap();
                // Answered with the heads it claimed: nothing was loaded yet.
                assert_eq!(&have.heads, claimed);
                had.push(id);
            }
            Some(Message::Error { message }) => panic!("the relay refused a push: {message}"),
            Some(_) => {}
            None => panic!("the relay closed the connection"),
        }
    }
}

/// Waits until the relay holds no unchecked document in `workspace`.
async fn until_checked(store: &RelayStore, workspace: DocumentId) {
    let deadline = Instant::now() + WAIT;
    while !store.unchecked(workspace).unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the relay checks what it was pushed"
        );
        sleep(Duration::from_millis(10)).await;
    }
}

fn assert_kept_only_the_sound(store: &RelayStore, workspace: DocumentId, pushes: &Pushes) {
    assert!(store.contains(workspace, pushes.sound.0).unwrap());
    assert!(!store.contains(workspace, pushes.lying.0).unwrap());
    assert!(!store.contains(workspace, pushes.damaged.0).unwrap());
    let sound = store.load(workspace, pushes.sound.0).unwrap().unwrap();
    assert_eq!(hashes(&sound.doc.get_heads()), pushes.sound.2);
}

/// A relay over `dir` with workspace Acme, and the replica (with its directory and token) of
/// its first member, ana.
async fn acme_with_ana(dir: &TempDir) -> (RunningRelay, String, TempDir, Replica) {
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let (replica_dir, replica) = join(&relay, &token).await;
    (relay, token, replica_dir, replica)
}

/// The digest the relay keeps matches its summary: it followed what was removed.
fn assert_digest_true(relay: &RunningRelay, workspace: DocumentId) {
    let hub = relay.hubs.hub(workspace).unwrap();
    assert_eq!(hub.digest(), Digest::of(&hub.summary().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_documents_are_checked_after_they_are_stored_and_the_unsound_are_removed() {
    let dir = TempDir::new().unwrap();
    let (relay, _, _ana_dir, mut ana) = acme_with_ana(&dir).await;
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let mallory_token = relay.invite("Acme", "mallory", Team::Marketing, Role::Member);
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let workspace = ana.workspace_id();
    let mut watcher = Watcher::start(sam);

    let pushes = Pushes::new();
    push(&relay, &mallory_token, &pushes).await;

    let store = relay.hubs.store().clone();
    until_checked(&store, workspace).await;
    assert_kept_only_the_sound(&store, workspace, &pushes);
    assert_digest_true(&relay, workspace);

    // Everyone else was served throughout.
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "after the pushes", &["sales"]);
    let _ana = sync(ana).await;
    assert_eq!(watcher.next_alert(LIVE).await, "after the pushes");
    watcher.assert_connected_throughout();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_document_asked_for_before_its_check_is_checked_first() {
    let dir = TempDir::new().unwrap();
    let (relay, ana_token, _ana_dir, ana) = acme_with_ana(&dir).await;
    let workspace = ana.workspace_id();
    // Stopping the checkers leaves every check to the documents' first use.
    relay.hubs.stop_checking();

    let pushes = Pushes::new();
    push(&relay, &ana_token, &pushes).await;
    let store = relay.hubs.store().clone();
    assert_eq!(store.unchecked(workspace).unwrap().len(), 3);

    let hub = relay.hubs.hub(workspace).unwrap();
    assert!(hub.saved(pushes.lying.0).unwrap().is_none());
    assert!(hub.saved(pushes.damaged.0).unwrap().is_none());
    let sound = hub.saved(pushes.sound.0).unwrap().unwrap();
    assert_eq!(sound.data, pushes.sound.1);
    assert!(store.unchecked(workspace).unwrap().is_empty());
    assert_kept_only_the_sound(&store, workspace, &pushes);
    assert_digest_true(&relay, workspace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_left_unchecked_by_a_stop_are_checked_when_the_relay_starts() {
    let dir = TempDir::new().unwrap();
    let (relay, _, _ana_dir, ana) = acme_with_ana(&dir).await;
    let workspace = ana.workspace_id();
    let address = relay.address.to_string();
    relay.stop().await;

    // What a relay stopped right after a push leaves: the rows, each marked unchecked.
    let pushes = Pushes::new();
    {
        let store = RelayStore::open(dir.path()).unwrap();
        let rows: Vec<(DocumentId, &[u8], Vec<ChangeHash>)> = pushes
            .all()
            .iter()
            .map(|(id, data, heads)| {
                (
                    *id,
                    data.as_slice(),
                    heads.iter().map(|h| ChangeHash(*h)).collect(),
                )
            })
            .collect();
        let rows: Vec<(DocumentId, &[u8], &[ChangeHash])> = rows
            .iter()
            .map(|(id, data, heads)| (*id, *data, heads.as_slice()))
            .collect();
        store.import_unchecked(workspace, &rows).unwrap();
        assert_eq!(store.workspaces_unchecked().unwrap(), vec![workspace]);
    }

    let relay = RunningRelay::start_on(dir.path(), RelayConfig::default(), &address).await;
    let store = relay.hubs.store().clone();
    until_checked(&store, workspace).await;
    assert_kept_only_the_sound(&store, workspace, &pushes);
    assert!(store.workspaces_unchecked().unwrap().is_empty());
    // Members go on syncing with it.
    let _ana = sync(ana).await;
}
