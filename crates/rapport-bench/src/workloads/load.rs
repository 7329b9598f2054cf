//! Load: `load_clients` light peers, in pairs, each pair on an account of its own, every peer
//! adding a note to its account ten times a second for `load_seconds`. Each note must reach the
//! pair's other peer through the relay; the time it takes is the latency measured. Then the
//! relay is killed (SIGKILL) and started again, and a fresh peer must find every note made.
//!
//! The relay serves a copy of the fixture, so the notes added here stay out of the other
//! workloads' data.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use automerge::{Automerge, ChangeHash, ReadDoc};
use futures_util::SinkExt;
use rapport_model::account::{self, NewEntry};
use rapport_model::{DocumentId, Edit, EntryId, EntryKind};
use rapport_proto::{Message, encode};
use rapport_sync::{MemoryDocuments, Session};
use tokio::sync::{Barrier, Notify};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::corpus::user;
use crate::fixture::MEMBERS;
use crate::lab::Lab;
use crate::peer::{Socket, handshake, next_message};
use crate::relay_process::{RelayProcess, cpu_seconds};
use crate::stats::{Row, Unit, median, percentile};

/// Notes each peer adds per second.
const RATE: u32 = 10;
/// How long a peer may take to fetch its account, and the pairs to catch up once the notes stop.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the relay's memory is read during the load.
const RSS_EVERY: Duration = Duration::from_millis(250);
/// The member whose token every peer presents (its name is on the notes).
const MEMBER: usize = 3;

/// The notes each peer made, for its partner to look for: the change and when it was made.
struct Ledger {
    made: Vec<Mutex<VecDeque<(ChangeHash, Instant)>>>,
    /// Peers that have made their last note.
    finished: Vec<AtomicBool>,
    /// Peers whose partner has received every note it made.
    caught_up: AtomicUsize,
    caught_up_changed: Notify,
    stop: AtomicBool,
    stopped: Notify,
}

/// What one peer ends with.
struct PeerResult {
    /// Every change it made.
    made: Vec<ChangeHash>,
    /// For each of its partner's notes, milliseconds from made to received here.
    latencies: Vec<f64>,
    /// Its account's heads at the end.
    heads: Vec<ChangeHash>,
}

/// What one run measured.
struct Measured {
    latencies: Vec<f64>,
    notes: usize,
    /// Notes the restarted relay held, every one made (a run that lost one fails).
    kept: usize,
    seconds: f64,
    /// CPU seconds the relay and the peers (this process) used while the notes were made.
    relay_cpu: f64,
    peers_cpu: f64,
    rss_mb: Vec<f64>,
}

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let (clients, seconds) = (lab.sizes.load_clients, lab.sizes.load_seconds);
    let pairs = clients / 2;
    if pairs == 0 || pairs > lab.fixture.full.accounts.len() {
        bail!(
            "{clients} load clients need 1 to {} pairs",
            lab.fixture.full.accounts.len()
        );
    }
    let mut runs = Vec::new();
    for _ in 0..lab.sizes.runs {
        let copy = tempfile::tempdir().context("making a directory for the relay's copy")?;
        copy_relay_data(lab.fixture.path(), copy.path())?;
        runs.push(one_run(lab, copy.path(), pairs * 2, seconds)?);
    }
    let size = format!(
        "{} clients × {RATE} notes/s, {seconds} s, on {} accounts",
        pairs * 2,
        lab.sizes.accounts
    );
    let p = |q: f64| runs.iter().map(|m| percentile(&m.latencies, q)).collect();
    let row = |metric: &str, unit| Row::new("load", size.clone(), metric, unit);
    Ok(vec![
        row("p50 note A → relay → B", Unit::Millis).with_runs(p(50.0)),
        row("p99 note A → relay → B", Unit::Millis).with_runs(p(99.0)),
        row("notes made per second (offered: clients × 10)", Unit::Count)
            .with_runs(runs.iter().map(|m| m.notes as f64 / m.seconds).collect()),
        row("relay CPU while notes were made", Unit::Cores)
            .with_runs(runs.iter().map(|m| m.relay_cpu / m.seconds).collect()),
        row("the peers' CPU meanwhile", Unit::Cores)
            .with_runs(runs.iter().map(|m| m.peers_cpu / m.seconds).collect()),
        row(
            "notes found after SIGKILL and restart (all made)",
            Unit::Count,
        )
        .with_runs(runs.iter().map(|m| m.kept as f64).collect()),
        row("relay RSS during the load, median", Unit::Megabytes)
            .with_runs(runs.iter().map(|m| median(&m.rss_mb)).collect()),
        row("relay RSS during the load, highest", Unit::Megabytes).with_runs(
            runs.iter()
                .map(|m| m.rss_mb.iter().copied().fold(0.0, f64::max))
                .collect(),
        ),
    ])
}

/// The relay's store, copied while no relay has it open.
fn copy_relay_data(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn one_run(lab: &mut Lab, data: &Path, clients: usize, seconds: u64) -> anyhow::Result<Measured> {
    // The fixture's own relay must not hold its file while the copy is served.
    lab.stop_relay()?;
    let relay = RelayProcess::start(data)?;
    let token = lab.fixture.full.tokens[MEMBER].clone();
    let accounts: Vec<DocumentId> = lab.fixture.full.accounts[..clients / 2].to_vec();
    let ledger = Arc::new(Ledger {
        made: (0..clients).map(|_| Mutex::default()).collect(),
        finished: (0..clients).map(|_| AtomicBool::new(false)).collect(),
        caught_up: AtomicUsize::new(0),
        caught_up_changed: Notify::new(),
        stop: AtomicBool::new(false),
        stopped: Notify::new(),
    });
    let url = relay.url.clone();
    let sampling = AtomicBool::new(false);
    let (results, rss_mb, elapsed, (relay_cpu, peers_cpu)) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| sample_rss(&relay, &sampling));
        let outcome = lab.runtime.block_on(async {
            let ready = Arc::new(Barrier::new(clients + 1));
            let mut tasks = Vec::with_capacity(clients);
            for index in 0..clients {
                let plan = Plan {
                    index,
                    account: accounts[index / 2],
                    seconds,
                };
                tasks.push(tokio::spawn(load_peer(
                    plan,
                    url.clone(),
                    token.clone(),
                    ledger.clone(),
                    ready.clone(),
                )));
            }
            wait_ready(&ready, &tasks).await?;
            sampling.store(true, Ordering::Relaxed);
            let started = Instant::now();
            let cpu_before = (relay.cpu_seconds()?, cpu_seconds("self")?);
            let writing = tokio::time::sleep(Duration::from_secs(seconds));
            let caught_up = wait_caught_up(&ledger, clients, seconds);
            tokio::pin!(caught_up);
            // The CPU used while the notes are made, read as they stop.
            let cpu_after = tokio::select! {
                () = writing => Some((relay.cpu_seconds()?, cpu_seconds("self")?)),
                result = &mut caught_up => { result?; None }
            };
            let caught_up = caught_up.await;
            let cpu_after = match cpu_after {
                Some(after) => after,
                None => (relay.cpu_seconds()?, cpu_seconds("self")?),
            };
            let cpu = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
            let elapsed = started.elapsed().min(Duration::from_secs(seconds));
            sampling.store(false, Ordering::Relaxed);
            ledger.stop.store(true, Ordering::Release);
            ledger.stopped.notify_waiters();
            let mut results = Vec::with_capacity(clients);
            for task in tasks {
                results.push(task.await.context("a load peer panicked")??);
            }
            caught_up?;
            Ok::<_, anyhow::Error>((results, elapsed, cpu))
        });
        sampling.store(false, Ordering::Relaxed);
        let rss = sampler
            .join()
            .map_err(|_| anyhow!("the memory sampler panicked"))?;
        outcome.map(|(results, elapsed, cpu)| (results, rss, elapsed, cpu))
    })?;
    relay.kill()?;
    let relay = RelayProcess::start(data).context("restarting the relay after SIGKILL")?;
    let url = relay.url.clone();
    let kept = lab
        .runtime
        .block_on(check_every_note_kept(&url, &token, &accounts, &results))?;
    drop(relay);
    let latencies = results.iter().flat_map(|r| r.latencies.clone()).collect();
    let notes = results.iter().map(|r| r.made.len()).sum();
    Ok(Measured {
        latencies,
        notes,
        kept,
        seconds: elapsed.as_secs_f64(),
        relay_cpu,
        peers_cpu,
        rss_mb,
    })
}

/// Reads the relay's memory every [`RSS_EVERY`] while `sampling` holds, once it has started.
fn sample_rss(relay: &RelayProcess, sampling: &AtomicBool) -> Vec<f64> {
    let mut samples = Vec::new();
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    while !sampling.load(Ordering::Relaxed) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    while sampling.load(Ordering::Relaxed) {
        if let Ok(bytes) = relay.rss_bytes() {
            samples.push(bytes as f64 / 1e6);
        }
        std::thread::sleep(RSS_EVERY);
    }
    samples
}

/// Waits until every peer holds its account, or one of them fails.
async fn wait_ready(
    ready: &Barrier,
    tasks: &[tokio::task::JoinHandle<anyhow::Result<PeerResult>>],
) -> anyhow::Result<()> {
    let all_ready = ready.wait();
    tokio::pin!(all_ready);
    let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
    loop {
        tokio::select! {
            _ = &mut all_ready => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                if tasks.iter().any(|t| t.is_finished()) {
                    bail!("a load peer stopped before the load began");
                }
                if tokio::time::Instant::now() > deadline {
                    bail!("the load peers did not all fetch their accounts in {SETTLE_TIMEOUT:?}");
                }
            }
        }
    }
}

/// Waits for the notes to stop and every peer's notes to reach its partner.
async fn wait_caught_up(ledger: &Ledger, clients: usize, seconds: u64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds) + SETTLE_TIMEOUT;
    loop {
        let changed = ledger.caught_up_changed.notified();
        let done = ledger.caught_up.load(Ordering::Acquire);
        if done == clients {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            bail!("{} of {clients} peers' notes reached their partners", done);
        }
    }
}

/// Which peer this is and what it does.
struct Plan {
    index: usize,
    account: DocumentId,
    seconds: u64,
}

/// One peer: fetches its account, adds notes at [`RATE`] for the plan's seconds while taking in
/// its partner's, then serves its connection until told to stop.
async fn load_peer(
    plan: Plan,
    url: String,
    token: String,
    ledger: Arc<Ledger>,
    ready: Arc<Barrier>,
) -> anyhow::Result<PeerResult> {
    let (mut socket, mut session) = handshake(&url, &token, plan.index).await?;
    let mut docs = MemoryDocuments::default();
    let fetch = session.sync_document(plan.account, &mut docs)?;
    send_all(&mut socket, &fetch).await?;
    while !session.settled() || !docs.docs.contains_key(&plan.account) {
        let message = next_message(&mut socket).await?;
        receive(&mut socket, &mut session, &mut docs, message).await?;
    }
    ready.wait().await;

    let mut peer = LoadPeer {
        plan,
        ledger,
        made: Vec::new(),
        latencies: Vec::new(),
        partner_done: false,
    };
    let (member, team) = MEMBERS[MEMBER];
    let author = user(member)?;
    let end = tokio::time::Instant::now() + Duration::from_secs(peer.plan.seconds);
    // Also the pace at which a peer done writing looks for its partner's last notes.
    let mut tick = tokio::time::interval(Duration::from_secs(1) / RATE);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let stopped = peer.ledger.stopped.notified();
        if peer.ledger.stop.load(Ordering::Acquire) {
            break;
        }
        tokio::select! {
            _ = tick.tick() => {
                if tokio::time::Instant::now() < end {
                    let edit = Edit::now(author.clone(), team);
                    let messages = peer.add_note(&edit, &mut docs, &mut session)?;
                    send_all(&mut socket, &messages).await?;
                } else {
                    peer.ledger.finished[peer.plan.index].store(true, Ordering::Release);
                }
                peer.take_in(&docs, Instant::now());
            }
            message = next_message(&mut socket) => {
                let read = Instant::now();
                receive(&mut socket, &mut session, &mut docs, message?).await?;
                peer.take_in(&docs, read);
            }
            _ = stopped => break,
        }
    }
    let heads = docs
        .docs
        .get(&peer.plan.account)
        .map(Automerge::get_heads)
        .unwrap_or_default();
    Ok(PeerResult {
        made: peer.made,
        latencies: peer.latencies,
        heads,
    })
}

/// A load peer's own bookkeeping.
struct LoadPeer {
    plan: Plan,
    ledger: Arc<Ledger>,
    made: Vec<ChangeHash>,
    latencies: Vec<f64>,
    partner_done: bool,
}

impl LoadPeer {
    fn partner(&self) -> usize {
        self.plan.index ^ 1
    }

    /// Adds one note to the account and says so to the relay.
    fn add_note(
        &mut self,
        edit: &Edit,
        docs: &mut MemoryDocuments,
        session: &mut Session,
    ) -> anyhow::Result<Vec<Message>> {
        let account = self.plan.account;
        let doc = docs
            .docs
            .get_mut(&account)
            .ok_or_else(|| anyhow!("peer {} lost its account", self.plan.index))?;
        let note = NewEntry {
            kind: EntryKind::Note,
            text: format!(
                "load note {} from peer {}",
                self.made.len(),
                self.plan.index
            ),
            alert: Vec::new(),
        };
        doc.transact_with(
            |_| edit.commit_options(),
            |tx| account::add_entry(tx, edit, EntryId::new(), &note),
        )
        .map_err(|failure| anyhow!("adding a load note: {}", failure.error))?;
        let hash = doc
            .get_last_local_change()
            .map(|change| change.hash())
            .ok_or_else(|| anyhow!("the load note made no change"))?;
        self.made.push(hash);
        self.ledger.made[self.plan.index]
            .lock()
            .map_err(|_| anyhow!("the ledger's lock was poisoned"))?
            .push_back((hash, Instant::now()));
        Ok(session.sync_document(account, docs)?)
    }

    /// Counts the partner's notes that have arrived (`read` is when they may have), and the
    /// partner as caught up once it has made its last note and all have arrived.
    fn take_in(&mut self, docs: &MemoryDocuments, read: Instant) {
        if self.partner_done {
            return;
        }
        let Some(doc) = docs.docs.get(&self.plan.account) else {
            return;
        };
        // Read before the notes: every note the partner made is in the ledger by then.
        let finished = self.ledger.finished[self.partner()].load(Ordering::Acquire);
        let Ok(mut waiting) = self.ledger.made[self.partner()].lock() else {
            return;
        };
        while let Some((hash, made)) = waiting.front() {
            if doc.get_change_by_hash(hash).is_none() {
                break;
            }
            self.latencies
                .push(read.saturating_duration_since(*made).as_secs_f64() * 1000.0);
            waiting.pop_front();
        }
        if finished && waiting.is_empty() {
            self.partner_done = true;
            self.ledger.caught_up.fetch_add(1, Ordering::AcqRel);
            self.ledger.caught_up_changed.notify_waiters();
        }
    }
}

async fn receive(
    socket: &mut Socket,
    session: &mut Session,
    docs: &mut MemoryDocuments,
    message: Message,
) -> anyhow::Result<()> {
    let outcome = session.receive(message, docs)?;
    send_all(socket, &outcome.send).await?;
    match outcome.closed {
        Some(reason) => bail!("the relay closed the connection: {reason}"),
        None => Ok(()),
    }
}

async fn send_all(socket: &mut Socket, messages: &[Message]) -> anyhow::Result<()> {
    for message in messages {
        socket.feed(Frame::Binary(encode(message).into())).await?;
    }
    socket.flush().await?;
    Ok(())
}

/// A fresh peer fetches every load account from the restarted relay and finds in each every
/// note both its peers made, at the heads both ended with. Returns how many it checked.
async fn check_every_note_kept(
    url: &str,
    token: &str,
    accounts: &[DocumentId],
    results: &[PeerResult],
) -> anyhow::Result<usize> {
    let mut kept = 0;
    let (mut socket, mut session) = handshake(url, token, usize::MAX).await?;
    let mut docs = MemoryDocuments::default();
    for (pair, account) in accounts.iter().enumerate() {
        let fetch = session.sync_document(*account, &mut docs)?;
        send_all(&mut socket, &fetch).await?;
        let fetched = async {
            while !session.settled() || !docs.docs.contains_key(account) {
                let message = next_message(&mut socket).await?;
                receive(&mut socket, &mut session, &mut docs, message).await?;
            }
            Ok::<_, anyhow::Error>(())
        };
        tokio::time::timeout(SETTLE_TIMEOUT, fetched)
            .await
            .map_err(|_| anyhow!("fetching account {account} from the restarted relay"))??;
        let doc = docs
            .docs
            .get(account)
            .ok_or_else(|| anyhow!("the restarted relay has no account {account}"))?;
        let pair = &results[pair * 2..pair * 2 + 2];
        let lost = pair
            .iter()
            .flat_map(|r| &r.made)
            .filter(|hash| doc.get_change_by_hash(hash).is_none())
            .count();
        if lost > 0 {
            bail!("the restarted relay lacks {lost} notes of account {account}");
        }
        kept += pair.iter().map(|r| r.made.len()).sum::<usize>();
        let mut heads = doc.get_heads();
        heads.sort();
        for result in pair {
            let mut theirs = result.heads.clone();
            theirs.sort();
            if theirs != heads {
                bail!("a load peer of account {account} ended at other heads than the relay");
            }
        }
    }
    Ok(kept)
}
