//! The relay's limits one at a time, each with a member who keeps syncing beside it: failed
//! logins per source, connections per token, the handshake deadline, asks for unknown
//! documents, and messages built to cost the relay more than they weigh.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use rapport_model::{DocumentId, Role, Team};
use rapport_proto::{Message, PeerId};
use rapport_relay::{RateLimit, RelayConfig};
use tempfile::TempDir;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::http::{StatusCode, header};

use crate::attacks::{closed_after, hostile_messages, send_hostile, trickle_headers};
use crate::raw::{
    connect_from, connect_raw, doc_message, empty_document_sync, error_then_close, handshake,
    receive, refusal_reason, send, tcp_from,
};
use crate::{LIVE, RunningRelay, WAIT, Watcher, add_account, add_note, has, join, sync, timeline};

const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_keeps_failing_to_authenticate_is_held_off_and_no_other_is() {
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        failed_logins_per_source: RateLimit {
            burst: 3,
            refill_every: Duration::from_secs(600),
        },
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let (ana_id, _) = ana_token.rsplit_once('_').unwrap();
    let guess = |i: usize| format!("{ana_id}_guess{i}");

    // One wrong guess, then twenty at once: from an address that failed, each counts from the
    // moment it is made, so only two more are heard.
    let attacker: IpAddr = [127, 0, 0, 2].into();
    let refused = connect_from(attacker, &relay, Some(&guess(0)))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let guesses = (1..=20).map(|i| {
        let (guess, relay) = (guess(i), &relay);
        async move {
            let refused = connect_from(attacker, relay, Some(&guess)).await;
            refused.unwrap_err().status()
        }
    });
    let statuses = join_all(guesses).await;
    let heard = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let held_off = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((heard, held_off), (2, 18), "{statuses:?}");
    // Held off: not even the right token is looked at.
    for token in [guess(21), ana_token.clone()] {
        let refused = connect_from(attacker, &relay, Some(&token))
            .await
            .unwrap_err();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = refused.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=600).contains(&retry_after), "{retry_after}");
        let reason = refusal_reason(&refused);
        assert!(
            reason.contains("too many failed authentications"),
            "{reason}"
        );
    }

    // Another address is judged on its own: a wrong token is told so, the right one gets in.
    let neighbour: IpAddr = [127, 0, 0, 3].into();
    let refused = connect_from(neighbour, &relay, Some(&guess(22)))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let mut socket = connect_from(neighbour, &relay, Some(&ana_token))
        .await
        .unwrap();
    handshake(&mut socket, &PeerId::new("ana-phone").unwrap()).await;
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "synced from the usual address", &[]);
    let ana = sync(ana).await;
    assert_eq!(ana.unsynced().unwrap(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_connection_limit_is_refused_and_other_tokens_are_not() {
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        max_connections_per_token: 3,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let mut held = Vec::new();
    for i in 0..3 {
        let mut socket = connect_raw(&relay, &sam_token).await;
        handshake(&mut socket, &PeerId::new(format!("sam-{i}")).unwrap()).await;
        held.push(socket);
    }
    let refused = connect_from(LOCALHOST, &relay, Some(&sam_token))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let reason = refusal_reason(&refused);
    assert!(
        reason.contains("already has 3 connections open"),
        "{reason}"
    );

    // Another token of the same workspace is not counted against sam's.
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "while sam is at his limit", &[]);
    let ana = sync(ana).await;
    assert_eq!(ana.unsynced().unwrap(), []);

    // A closed connection gives its place back, once the relay has seen it close.
    let mut closed = held.pop().unwrap();
    closed.close(None).await.unwrap();
    let reopened = async {
        loop {
            match connect_from(LOCALHOST, &relay, Some(&sam_token)).await {
                Ok(socket) => return socket,
                Err(refused) if refused.status() == StatusCode::TOO_MANY_REQUESTS => {
                    sleep(Duration::from_millis(20)).await;
                }
                Err(refused) => panic!("unexpected refusal: {}", refused.status()),
            }
        }
    };
    let mut socket = timeout(WAIT, reopened)
        .await
        .expect("the place is given back in time");
    handshake(&mut socket, &PeerId::new("sam-again").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_over_the_relays_limit_are_closed_at_once_and_places_come_back() {
    const DEADLINE: Duration = Duration::from_millis(500);
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        max_open_connections: 4,
        handshake_timeout: DEADLINE,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    // A member holds one place; three sockets that say nothing take the rest.
    let mut member = connect_raw(&relay, &sam_token).await;
    handshake(&mut member, &PeerId::new("sam-laptop").unwrap()).await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tcp_from(LOCALHOST, &relay).await);
    }
    let mut extra = tcp_from(LOCALHOST, &relay).await;
    let started = Instant::now();
    let closed_in = closed_after(&mut extra, started).await;
    assert!(
        closed_in < DEADLINE,
        "closed at once, not at the deadline: {closed_in:?}"
    );

    // The member's connection goes on meanwhile.
    let request = doc_message(
        &PeerId::new("sam-laptop").unwrap(),
        &PeerId::new("relay").unwrap(),
        DocumentId::random(),
        &empty_document_sync(),
    );
    send(&mut member, &Message::Request(request)).await;
    assert!(matches!(
        receive(&mut member).await,
        Some(Message::DocUnavailable(_))
    ));

    // Once the silent ones are closed at their deadline, their places are free again.
    for mut socket in silent {
        closed_after(&mut socket, started).await;
    }
    let mut again = connect_raw(&relay, &sam_token).await;
    handshake(&mut again, &PeerId::new("sam-phone").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_do_not_upgrade_and_join_in_time_are_closed_and_joined_ones_stay() {
    const DEADLINE: Duration = Duration::from_millis(500);
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        handshake_timeout: DEADLINE,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let started = Instant::now();
    let mut prompt = connect_raw(&relay, &ana_token).await;
    let me = PeerId::new("prompt").unwrap();
    let relay_id = handshake(&mut prompt, &me).await;
    let mut silent = tcp_from(LOCALHOST, &relay).await;
    let mut trickling = tcp_from(LOCALHOST, &relay).await;
    let mut mute = connect_raw(&relay, &ana_token).await;

    let (silent_for, (), error) = tokio::join!(
        closed_after(&mut silent, started),
        trickle_headers(&mut trickling),
        error_then_close(&mut mute),
    );
    assert!(silent_for >= DEADLINE, "closed after {silent_for:?}");
    assert!(error.contains("no join message within 0.5 s"), "{error}");

    // The deadline is long past: the connection that joined at once is still served.
    assert!(started.elapsed() > DEADLINE);
    let unknown = DocumentId::random();
    let request = doc_message(&me, &relay_id, unknown, &empty_document_sync());
    send(&mut prompt, &Message::Request(request)).await;
    let answer = receive(&mut prompt).await;
    assert!(
        matches!(answer, Some(Message::DocUnavailable(_))),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_requests_for_unknown_documents_is_slowed_to_its_limit_and_loads_nothing() {
    const FLOOD: usize = 300;
    const BURST: u32 = 20;
    const EVERY: Duration = Duration::from_millis(10);
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        unknown_documents_per_connection: RateLimit {
            burst: BURST,
            refill_every: EVERY,
        },
        // Batches of at most 32 messages: what is read before the limit applies.
        event_backlog: 64,
        ..RelayConfig::default()
    };
    let relay = RunningRelay::start(dir.path(), config).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let mallory_token = relay.invite("Acme", "mallory", Team::Marketing, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let globex = add_account(&mut ana, "Globex");
    let mut ana = sync(ana).await;
    let workspace = ana.workspace_id();

    let mut flood = connect_raw(&relay, &mallory_token).await;
    let me = PeerId::new("mallory").unwrap();
    let relay_id = handshake(&mut flood, &me).await;
    let started = Instant::now();
    for _ in 0..FLOOD {
        let request = doc_message(&me, &relay_id, DocumentId::random(), &empty_document_sync());
        send(&mut flood, &Message::Request(request)).await;
    }
    let answered = async {
        for _ in 0..FLOOD {
            let answer = receive(&mut flood).await;
            assert!(
                matches!(answer, Some(Message::DocUnavailable(_))),
                "{answer:?}"
            );
        }
        started.elapsed()
    };
    let healthy = async {
        add_note(&mut ana, globex, "synced through the flood", &[]);
        let ana = sync(ana).await;
        (started.elapsed(), ana)
    };
    let (flood_took, (healthy_took, ana)) = tokio::join!(answered, healthy);

    // The burst, a batch, then one answer per period at most.
    let least = EVERY * (FLOOD as u32 - BURST - 32);
    assert!(
        flood_took >= least,
        "{FLOOD} answers in {flood_took:?}, faster than the limit allows"
    );
    assert!(
        healthy_took < flood_took,
        "the healthy sync ({healthy_took:?}) waited for the flood ({flood_took:?})"
    );
    assert_eq!(ana.unsynced().unwrap(), []);
    let loaded = relay.hubs.live(workspace).unwrap().loaded();
    assert!(loaded <= 2, "{loaded} documents loaded after the flood");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_built_to_cost_more_than_they_weigh_are_refused_while_a_watcher_keeps_receiving() {
    let dir = TempDir::new().unwrap();
    let config = RelayConfig {
        max_frame_bytes: 4 * 1024 * 1024,
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
    add_note(&mut ana, globex, "before the attack", &["sales"]);
    let mut ana = sync(ana).await;
    assert_eq!(watcher.next_alert(WAIT).await, "before the attack");

    for hostile in hostile_messages(globex, 1 << 19) {
        send_hostile(&relay, &mallory_token, hostile).await;
    }

    add_note(&mut ana, globex, "after the attack", &["sales"]);
    let _ana = sync(ana).await;
    assert_eq!(watcher.next_alert(LIVE).await, "after the attack");
    watcher.assert_connected_throughout();
    let (_fresh_dir, mut fresh) = join(&relay, &ana_token).await;
    let seen = timeline(&mut fresh, globex);
    assert!(
        has(&seen, "before the attack") && has(&seen, "after the attack"),
        "{seen:?}"
    );
}
