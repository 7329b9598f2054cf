//! Frames a well-behaved client never sends.

use futures_util::SinkExt;
use rapport_model::{Role, Team};
use rapport_proto::{DocMessage, Message, PeerId};
use rapport_relay::RelayConfig;
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::raw::{connect_raw, doc_message, error_then_close, handshake, send};
use crate::{LIVE, RunningRelay, WAIT, Watcher, add_account, add_note, join, sync};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_breakers_get_an_error_and_are_closed_while_a_watcher_keeps_receiving() {
    const MAX_FRAME: usize = 16 * 1024;
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        max_frame_bytes: MAX_FRAME,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let mallory_token = relay.invite("Acme", "mallory", Team::Marketing, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let mut watcher = Watcher::start(sam);
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "before the noise", &["sales"]);
    let mut ana = sync(ana).await;
    assert_eq!(watcher.next_alert(WAIT).await, "before the noise");

    let me = PeerId::new("mallory").unwrap();
    let relay_id = PeerId::new("whoever").unwrap();
    let garbage_sync = doc_message(&me, &relay_id, globex, b"not an automerge sync message");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    let not_cbor = vec![0xff, 0xfe, 0xfd];
    raw.send(Frame::Binary(not_cbor.into())).await.unwrap();
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("CBOR"), "{error}");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    raw.send(Frame::Text("{\"type\":\"join\"}".into()))
        .await
        .unwrap();
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("text frames"), "{error}");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    send(&mut raw, &Message::Sync(garbage_sync.clone())).await;
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("before the handshake"), "{error}");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    let relay_id = handshake(&mut raw, &me).await;
    let garbage_sync = DocMessage {
        target_id: relay_id,
        ..garbage_sync
    };
    send(&mut raw, &Message::Sync(garbage_sync)).await;
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("invalid sync message"), "{error}");

    let mut raw = connect_raw(&relay, &mallory_token).await;
    handshake(&mut raw, &me).await;
    let oversized = vec![0u8; MAX_FRAME * 4];
    raw.send(Frame::Binary(oversized.into())).await.unwrap();
    let error = error_then_close(&mut raw).await;
    assert!(error.contains("unreadable frame"), "{error}");

    add_note(&mut ana, globex, "after the noise", &["sales"]);
    let _ana = sync(ana).await;
    assert_eq!(watcher.next_alert(LIVE).await, "after the noise");
    watcher.assert_connected_throughout();
}
