//! Every attack at once against one relay, while a member keeps writing notes that another
//! receives live: wrong tokens from one address, a crowd of connections on one token, sockets
//! that never finish their handshake, a flood of requests for random ids, and messages built
//! to cost more than they weigh. Each attack meets its limit, the relay's memory stays bounded
//! (this process's resident size, sampled throughout), and every one of the member's syncs
//! succeeds.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use rapport_model::{DocumentId, Role, Team};
use rapport_proto::{Message, PeerId, decode, encode};
use rapport_relay::{RateLimit, RelayConfig};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::attacks::{closed_after, hostile_messages, send_hostile, trickle_headers};
use crate::raw::{
    Socket, connect_from, connect_raw, doc_message, empty_document_sync, error_then_close,
    handshake, refusal_reason, tcp_from,
};
use crate::{LIVE, RunningRelay, Watcher, add_account, add_note, has, join, sync, timeline};

const HANDSHAKE: Duration = Duration::from_secs(1);
const FAILED_LOGINS: u32 = 5;
const PER_TOKEN: usize = 16;
const UNKNOWN_BURST: u32 = 64;
const UNKNOWN_EVERY: Duration = Duration::from_millis(10);
/// What the relay reads in one batch with the event backlog below.
const BATCH: u32 = 128;
/// Frames up to 16 MiB, and one of 12 MiB of nested CBOR.
const MAX_FRAME: usize = 16 << 20;
const NESTING: usize = 3 << 20;
/// How much this process may grow while it is attacked: the frames in flight (each held by the
/// sender and the relay) and the connections, some 32 MiB, not what the attacks claim: a
/// filter alone would cost 16 GiB, and the nesting, skipped by minicbor, brought it to 140.
const GROWTH_MIB: u64 = 96;

fn config() -> RelayConfig {
    RelayConfig {
        max_frame_bytes: MAX_FRAME,
        handshake_timeout: HANDSHAKE,
        failed_logins_per_source: RateLimit {
            burst: FAILED_LOGINS,
            refill_every: Duration::from_secs(600),
        },
        max_connections_per_token: PER_TOKEN,
        unknown_documents_per_connection: RateLimit {
            burst: UNKNOWN_BURST,
            refill_every: UNKNOWN_EVERY,
        },
        event_backlog: 2 * BATCH as usize,
        ..RelayConfig::default()
    }
}

/// This process's resident memory, in KiB.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Samples the resident memory every few milliseconds until stopped; the highest seen.
struct PeakMemory {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    sampler: std::thread::JoinHandle<()>,
}

impl PeakMemory {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(resident_kib()));
        let sampler = std::thread::spawn({
            let (stop, peak) = (stop.clone(), peak.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(resident_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        });
        Self {
            stop,
            peak,
            sampler,
        }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

/// Wrong secrets from one address: the first few are told so, the rest held off, and then the
/// right token from there too.
async fn brute_force(relay: &RunningRelay, token: &str) {
    let (id, _) = token.rsplit_once('_').unwrap();
    let from: IpAddr = [127, 0, 0, 2].into();
    let mut statuses = Vec::new();
    for i in 0..60 {
        let guess = format!("{id}_guess{i}");
        statuses.push(
            connect_from(from, relay, Some(&guess))
                .await
                .unwrap_err()
                .status(),
        );
    }
    let told = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(told, FAILED_LOGINS as usize, "{statuses:?}");
    assert!(
        statuses[told..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    let refused = connect_from(from, relay, Some(token)).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Connections on one token, far past its limit: the ones let in, still open.
async fn crowd(relay: &RunningRelay, token: &str) -> Vec<Socket> {
    let from: IpAddr = [127, 0, 0, 4].into();
    let mut admitted = Vec::new();
    for i in 0..4 * PER_TOKEN {
        match connect_from(from, relay, Some(token)).await {
            Ok(mut socket) => {
                handshake(&mut socket, &PeerId::new(format!("crowd-{i}")).unwrap()).await;
                admitted.push(socket);
            }
            Err(refused) => {
                assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
                let reason = refusal_reason(&refused);
                assert!(reason.contains("connections open"), "{reason}");
            }
        }
    }
    assert_eq!(admitted.len(), PER_TOKEN);
    admitted
}

/// Sockets that say nothing, trickle an endless header, or upgrade and never join: all closed
/// once their handshake time is up, none before.
async fn slowloris(relay: &RunningRelay, token: &str) {
    let from: IpAddr = [127, 0, 0, 5].into();
    let started = Instant::now();
    let silent = (0..40).map(|_| async {
        let mut tcp = tcp_from(from, relay).await;
        closed_after(&mut tcp, started).await
    });
    let trickling = (0..10).map(|_| async {
        let mut tcp = tcp_from(from, relay).await;
        trickle_headers(&mut tcp).await;
    });
    let mute = (0..10).map(|_| async {
        let mut socket = connect_raw(relay, token).await;
        error_then_close(&mut socket).await
    });
    let (silent, _, mute) = tokio::join!(join_all(silent), join_all(trickling), join_all(mute));
    assert!(silent.iter().all(|took| *took >= HANDSHAKE), "{silent:?}");
    assert!(
        mute.iter().all(|error| error.contains("no join message")),
        "{mute:?}"
    );
}

/// Requests for random ids, as fast as they go: answered `doc-unavailable`, no faster than
/// the limit.
async fn flood(relay: &RunningRelay, token: &str) {
    const REQUESTS: u32 = 400;
    let mut socket = connect_raw(relay, token).await;
    let me = PeerId::new("flooder").unwrap();
    let relay_id = handshake(&mut socket, &me).await;
    let (mut sink, mut stream) = socket.split();
    let started = Instant::now();
    let sending = async {
        for _ in 0..REQUESTS {
            let request = doc_message(&me, &relay_id, DocumentId::random(), &empty_document_sync());
            let frame = Frame::Binary(encode(&Message::Request(request)).into());
            sink.send(frame).await.unwrap();
        }
    };
    let answered = async {
        let mut answers = 0;
        while answers < REQUESTS {
            match stream.next().await.unwrap().unwrap() {
                Frame::Binary(bytes) => {
                    let answer = decode(&bytes).unwrap();
                    assert!(matches!(answer, Message::DocUnavailable(_)), "{answer:?}");
                    answers += 1;
                }
                Frame::Ping(_) | Frame::Pong(_) => {}
                other => panic!("the flood's connection ended: {other:?}"),
            }
        }
        started.elapsed()
    };
    let ((), took) = tokio::join!(sending, answered);
    let least = UNKNOWN_EVERY * (REQUESTS - UNKNOWN_BURST - BATCH);
    assert!(took >= least, "{REQUESTS} answers in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_keeps_syncing_through_every_attack_at_once_and_the_relay_stays_bounded() {
    let dir = TempDir::new().unwrap();
    let relay = RunningRelay::start(dir.path(), config()).await;
    let invite = |user: &str| relay.invite("Acme", user, Team::Marketing, Role::Member);
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Member);
    let sam_token = relay.invite("Acme", "sam", Team::Sales, Role::Member);
    let (crowd_token, idle_token) = (invite("crowd"), invite("idle"));
    let (flood_token, breaker_token) = (invite("flooder"), invite("breaker"));
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let (_sam_dir, sam) = join(&relay, &sam_token).await;
    let mut watcher = Watcher::start(sam);
    let globex = add_account(&mut ana, "Globex");
    add_note(&mut ana, globex, "before the attacks", &["sales"]);
    let mut ana = sync(ana).await;
    assert_eq!(watcher.next_alert(LIVE).await, "before the attacks");
    let workspace = ana.workspace_id();

    let baseline = resident_kib();
    let memory = PeakMemory::start();
    let attacked = AtomicBool::new(true);
    let attacks = async {
        let (crowded, (), (), (), ()) = tokio::join!(
            crowd(&relay, &crowd_token),
            brute_force(&relay, &ana_token),
            slowloris(&relay, &idle_token),
            flood(&relay, &flood_token),
            async {
                for hostile in hostile_messages(globex, NESTING) {
                    send_hostile(&relay, &breaker_token, hostile).await;
                }
            },
        );
        attacked.store(false, Ordering::Relaxed);
        crowded
    };
    let healthy = async {
        let mut written = Vec::new();
        while attacked.load(Ordering::Relaxed) || written.len() < 3 {
            let text = format!("note {} through the attacks", written.len());
            add_note(&mut ana, globex, &text, &["sales"]);
            ana = sync(ana).await;
            assert_eq!(ana.unsynced().unwrap(), [], "{text}");
            assert_eq!(watcher.next_alert(LIVE).await, text);
            written.push(text);
        }
        written
    };
    let (crowded, written) = tokio::join!(attacks, healthy);
    let peak = memory.stop();

    let growth_mib = peak.saturating_sub(baseline) / 1024;
    assert!(
        growth_mib < GROWTH_MIB,
        "the process grew by {growth_mib} MiB under attack (from {} MiB)",
        baseline / 1024
    );
    let loaded = relay.hubs.live(workspace).unwrap().loaded();
    assert!(loaded <= 2, "{loaded} documents loaded after the attacks");
    drop(crowded);
    watcher.assert_connected_throughout();
    let (_fresh_dir, mut fresh) = join(&relay, &ana_token).await;
    let seen = timeline(&mut fresh, globex);
    for text in &written {
        assert!(has(&seen, text), "{text} missing from {seen:?}");
    }
}
