//! Who may connect and what they see: tokens, workspaces kept apart, viewers, revocation, health.

use rapport_client::link::{self, LinkError};
use rapport_model::{DocumentId, Role, Team};
use rapport_proto::{Message, PeerId, WireDocumentId};
use rapport_relay::{RelayConfig, admin};
use rapport_store::Replica;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::raw::{
    connect_raw, doc_message, empty_document_sync, error_then_close, handshake, pushed_note,
    receive, refusal, send,
};
use crate::{RunningRelay, SYNC, WAIT, add_account, add_note, has, join, sync, timeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_missing_tokens_get_401_while_a_member_keeps_syncing() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "asked for a quote", &[]);
    let mut ana = sync(ana).await;

    let (ana_id, _) = ana_token.rsplit_once('_').unwrap();
    let wrong_secret = format!("{ana_id}_notthesecret");
    for token in [wrong_secret.as_str(), "rpt_unknown_secret", "not a token"] {
        let status = refusal(&relay.url, Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}");
    }
    assert_eq!(refusal(&relay.url, None).await, StatusCode::UNAUTHORIZED);
    let in_query = format!("{}?token={wrong_secret}", relay.url);
    assert_eq!(refusal(&in_query, None).await, StatusCode::UNAUTHORIZED);

    let (_bo_dir, mut bo) = join(&relay, &bo_token).await;
    assert_eq!(timeline(&mut bo, globex), ["asked for a quote"]);
    add_note(&mut ana, globex, "quote sent", &[]);
    let _ana = sync(ana).await;
    let mut bo = sync(bo).await;
    let seen = timeline(&mut bo, globex);
    assert!(has(&seen, "quote sent"), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workspaces_documents_are_unavailable_and_never_reach_its_replicas() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bob_token = relay.invite("Initech", "bob", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "only for acme", &[]);
    let ana = sync(ana).await;
    let acme = ana.workspace_id();
    let (_bob_dir, bob) = join(&relay, &bob_token).await;

    let mut raw = connect_raw(&relay, &bob_token).await;
    let me = PeerId::new("curious-bob").unwrap();
    let relay_id = handshake(&mut raw, &me).await;
    let asked = [globex, acme, DocumentId::random()];
    for id in asked {
        let request = doc_message(&me, &relay_id, id, &empty_document_sync());
        send(&mut raw, &Message::Request(request)).await;
    }
    for id in asked {
        match receive(&mut raw).await {
            Some(Message::DocUnavailable(notice)) => {
                assert_eq!(notice.document_id, WireDocumentId::from(id));
            }
            other => panic!("expected doc-unavailable for {id}, got {other:?}"),
        }
    }

    let mut bob = sync(bob).await;
    assert_eq!(bob.workspace().unwrap().name, "Initech");
    assert!(bob.accounts().unwrap().is_empty());
    let held: Vec<DocumentId> = bob
        .summary()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(!held.contains(&globex) && !held.contains(&acme), "{held:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_changes_are_refused_while_it_still_receives_members_changes() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let vic_token = relay.invite("Acme", "vic", Team::Sales, Role::Viewer);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "renewal due in march", &[]);
    let mut ana = sync(ana).await;
    let (_vic_dir, vic) = join(&relay, &vic_token).await;
    let saved = ana.document_bytes(globex).unwrap();

    let mut forger = connect_raw(&relay, &vic_token).await;
    let me = PeerId::new("forging-viewer").unwrap();
    let relay_id = handshake(&mut forger, &me).await;
    let forged = pushed_note(&saved, "written by a viewer", "vic", Team::Sales);
    let sync_message = doc_message(&me, &relay_id, globex, &forged);
    send(&mut forger, &Message::Sync(sync_message)).await;
    // The relay answers a sync once it has handled it.
    let answer = receive(&mut forger).await;
    assert!(matches!(answer, Some(Message::Sync(_))), "{answer:?}");

    let (_fresh_dir, mut fresh) = join(&relay, &ana_token).await;
    assert_eq!(timeline(&mut fresh, globex), ["renewal due in march"]);

    add_note(&mut ana, globex, "signed for two more years", &[]);
    let _ana = sync(ana).await;
    let mut vic = sync(vic).await;
    let seen = timeline(&mut vic, globex);
    assert!(has(&seen, "signed for two more years"), "{seen:?}");
    assert!(!has(&seen, "written by a viewer"), "{seen:?}");

    // The same kind of message from a member is applied: the refusal above is the viewer's.
    let mut member = connect_raw(&relay, &ana_token).await;
    let me = PeerId::new("pushing-member").unwrap();
    let relay_id = handshake(&mut member, &me).await;
    let pushed = pushed_note(&saved, "pushed by a member", "ana", Team::Support);
    let sync_message = doc_message(&me, &relay_id, globex, &pushed);
    send(&mut member, &Message::Sync(sync_message)).await;
    let answer = receive(&mut member).await;
    assert!(matches!(answer, Some(Message::Sync(_))), "{answer:?}");
    let mut fresh = sync(fresh).await;
    let seen = timeline(&mut fresh, globex);
    assert!(has(&seen, "pushed by a member"), "{seen:?}");
    assert!(!has(&seen, "written by a viewer"), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_member_closes_their_connection_and_refuses_their_token() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    let mut bo = connect_raw(&relay, &bo_token).await;
    handshake(&mut bo, &PeerId::new("bo-laptop").unwrap()).await;
    let mut ana = connect_raw(&relay, &ana_token).await;
    let ana_id = PeerId::new("ana-laptop").unwrap();
    let relay_id = handshake(&mut ana, &ana_id).await;

    let revoked = admin::revoke(&relay.hubs, "Acme", &"bo".parse().unwrap()).unwrap();
    assert_eq!(revoked, 1);
    let error = error_then_close(&mut bo).await;
    assert!(error.contains("revoked"), "{error}");
    let status = refusal(&relay.url, Some(&bo_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Everyone else stays connected and answered.
    let unknown = DocumentId::random();
    let request = doc_message(&ana_id, &relay_id, unknown, &empty_document_sync());
    send(&mut ana, &Message::Request(request)).await;
    let answer = receive(&mut ana).await;
    assert!(
        matches!(&answer, Some(Message::DocUnavailable(notice)) if notice.document_id == unknown.into()),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_200_ok() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let exchange = async {
        let mut stream = TcpStream::connect(relay.address).await.unwrap();
        let get = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        stream.write_all(get.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let answer = timeout(WAIT, exchange).await.expect("answered in time");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    assert_eq!(body.trim_end(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_pointed_at_another_workspaces_token_exchanges_nothing_and_keeps_its_relay() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let bob_token = relay.invite("Initech", "bob", Team::Sales, Role::Member);
    let (ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "acme's customer, not initech's", &[]);
    let before = ana.remote().unwrap();
    let wrong = rapport_store::Remote {
        url: relay.url.clone(),
        token: Some(bob_token.clone()),
        ca_cert: None,
    };
    let refused = timeout(WAIT, link::sync_once_with(ana, Some(wrong), SYNC))
        .await
        .expect("the refusal comes in time");
    assert!(
        matches!(refused, Err(LinkError::WrongWorkspace { .. })),
        "{refused:?}"
    );

    let (_bob_dir, bob) = join(&relay, &bob_token).await;
    let held: Vec<DocumentId> = bob
        .summary()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(!held.contains(&globex), "acme's account reached initech");
    assert!(bob.accounts().unwrap().is_empty());
    let ana = Replica::open(ana_dir.path()).unwrap();
    assert_eq!(
        ana.remote().unwrap(),
        before,
        "a failed sync leaves the replica's relay as it was"
    );
}
