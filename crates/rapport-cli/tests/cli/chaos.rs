//! Crash test: a relay and three members' clients run as real processes, editing and syncing,
//! while one process per cycle (the relay, a `sync --watch`, or an edit command) is killed with
//! SIGKILL at a random moment and restarted. Kills land mid-sync, mid-commit and mid-compaction:
//! some cycles write notes big enough that each write folds its document's chunks into a new
//! snapshot (docs/storage.md: chunks of at least 4 KiB and half the snapshot), and kill one of
//! those writes. At the end every replica, and one joined fresh from the relay, holds every
//! change a command acknowledged (exit status 0), and all of them hold the same heads and show
//! the same accounts.
//!
//! A client's replica is held by one process at a time, so a client edits while its watcher is
//! stopped (the other clients' watchers go on syncing) and restarts it to push what it wrote.
//!
//! `cargo test` runs [`QUICK_CYCLES`] cycles. A longer run, or a replay (the seed is printed
//! first; a replay makes the same plan, while the processes' timing still varies):
//!
//! ```text
//! RAPPORT_CRASH_CYCLES=500 RAPPORT_CRASH_SEED=1234 \
//!     cargo test -p rapport-cli --test cli chaos -- --nocapture
//! ```

mod editor;
mod ledger;
mod plan;
mod replicas;

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tempfile::TempDir;

use crate::processes::{PATIENCE, RelayServer, SYNC_TIMEOUT, Spawned, wait_until};
use crate::support::{Data, tmp};
use editor::edit;
use ledger::Ledger;
use plan::{CyclePlan, Victim};
use replicas::{Summary, View, describe_differences, summary};

/// Cycles in the form `cargo test` runs.
const QUICK_CYCLES: usize = 50;

/// The members, one per team, each with a client of their own.
const MEMBERS: [(&str, &str); 3] = [("sam", "sales"), ("mia", "marketing"), ("sue", "support")];

/// Who joins from the relay at the end, to show what the relay holds.
const LATECOMER: (&str, &str) = ("eve", "support");

/// The accounts everybody edits.
const SHARED_ACCOUNTS: [&str; 3] = ["Globex", "Initech", "Umbrella"];

/// How long the watchers must be online with nothing arriving (they run with `--verbose`,
/// which prints each document a change arrives for) before their replicas are compared. A big
/// note takes a debug build a while to merge and print on a busy machine: this is not a
/// latency bound.
const QUIET: Duration = Duration::from_secs(4);

/// How long after a watcher restarts (and starts pushing its edits) the relay or a watcher may
/// be killed: the restarted watcher opens its replica, connects, syncs and settles in this time.
const SYNC_KILL: Duration = Duration::from_millis(400);

#[test]
fn relay_and_clients_killed_at_random_moments_lose_no_acknowledged_change_and_converge() {
    let started = Instant::now();
    let (seed, cycles) = settings();
    println!(
        "chaos: seed {seed}, {cycles} cycles \
         (replay with RAPPORT_CRASH_SEED={seed} RAPPORT_CRASH_CYCLES={cycles})"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tmp();
    let mut world = World::start(&tmp);
    let ledger = Mutex::new(Ledger::default());
    for cycle in 0..cycles {
        let plan = CyclePlan::new(&mut rng, cycle, &world.shared);
        let cycle_started = Instant::now();
        world.run_cycle(cycle, &plan, &ledger);
        println!("cycle {cycle} ({:?}): {plan}", cycle_started.elapsed());
    }
    let mut ledger = ledger.into_inner().expect("the ledger");
    ledger.tally.usual = (ledger.timings.usual(false), ledger.timings.usual(true));
    world.converge();
    let latecomer = world.join_latecomer(&tmp);
    world.check(&ledger, &latecomer);
    println!("{}", ledger.tally);
    println!(
        "chaos: seed {seed}, {cycles} cycles passed in {:?}",
        started.elapsed()
    );
}

/// The seed and cycle count, from `RAPPORT_CRASH_SEED` and `RAPPORT_CRASH_CYCLES`.
fn settings() -> (u64, usize) {
    let seed = std::env::var("RAPPORT_CRASH_SEED")
        .ok()
        .map(|s| s.parse().expect("RAPPORT_CRASH_SEED is a number"))
        .unwrap_or_else(rand::random);
    let cycles = std::env::var("RAPPORT_CRASH_CYCLES")
        .ok()
        .map(|s| s.parse().expect("RAPPORT_CRASH_CYCLES is a number"))
        .unwrap_or(QUICK_CYCLES);
    (seed, cycles)
}

/// One member's client: their replica and its `sync --watch`, when running.
struct Client {
    user: &'static str,
    data: Data,
    watcher: Mutex<Option<Spawned>>,
}

impl Client {
    /// Starts the watcher (which must not be running).
    fn start_watcher(&self) {
        let mut watcher = self.watcher.lock().expect("the watcher");
        assert!(watcher.is_none(), "{}'s watcher runs already", self.user);
        *watcher = Some(self.data.spawn_sync(&["--watch", "--verbose"]));
    }

    /// Stops the watcher with SIGTERM, which it must obey with status 0. (It is sent once the
    /// watcher printed its first status line: before, it may not handle SIGTERM yet.)
    #[track_caller]
    fn stop_watcher(&self) {
        let what = format!("{}'s watcher to print its status", self.user);
        wait_until(&what, PATIENCE, || self.link_state() != "starting");
        let watcher = self.watcher.lock().expect("the watcher").take();
        let watcher = watcher.unwrap_or_else(|| panic!("{}'s watcher is not running", self.user));
        watcher.signal("TERM");
        watcher.finish(PATIENCE).ok();
    }

    /// Kills the watcher with SIGKILL and starts it again; what it was doing when killed.
    fn crash_watcher(&self) -> &'static str {
        let mut watcher = self.watcher.lock().expect("the watcher");
        let mut running = watcher.take().expect("a running watcher");
        let state = link_state(&running.stderr());
        running.kill_now();
        let run = running.finish(PATIENCE);
        assert_eq!(
            run.code, None,
            "{}'s watcher ended before the kill: {run:?}",
            self.user
        );
        *watcher = Some(self.data.spawn_sync(&["--watch", "--verbose"]));
        state
    }

    /// What the watcher printed on stderr so far.
    fn stderr(&self) -> String {
        let watcher = self.watcher.lock().expect("the watcher");
        watcher.as_ref().map(Spawned::stderr).unwrap_or_default()
    }

    /// What the watcher is doing, from the last status line it printed.
    fn link_state(&self) -> &'static str {
        let watcher = self.watcher.lock().expect("the watcher");
        watcher
            .as_ref()
            .map_or("stopped", |w| link_state(&w.stderr()))
    }

    /// Panics (with its stderr) if the watcher has stopped by itself.
    #[track_caller]
    fn assert_watching(&self) {
        let mut watcher = self.watcher.lock().expect("the watcher");
        let running = watcher.as_mut().expect("a watcher");
        if !running.running() {
            let run = watcher.take().expect("a watcher").finish(PATIENCE);
            panic!("{}'s watcher stopped by itself: {run:?}", self.user);
        }
    }
}

/// The state a watcher's last status line gives (`URL: connected, syncing`, `..., online`, or
/// `URL: REASON` when offline); `starting` before its first.
fn link_state(stderr: &str) -> &'static str {
    match stderr.lines().rfind(|line| line.starts_with("ws://")) {
        None => "starting",
        Some(line) if line.ends_with("connected, syncing") => "syncing",
        Some(line) if line.ends_with("connected, online") => "online",
        Some(_) => "offline",
    }
}

/// The relay process, on the address it first chose, over its data directory.
struct Relay {
    store: Data,
    address: String,
    server: Option<RelayServer>,
}

impl Relay {
    /// The relay's URL.
    fn url(&self) -> &str {
        &self.server.as_ref().expect("a running relay").url
    }

    /// Kills the relay with SIGKILL and starts it again where its members look for it.
    fn crash_and_restart(&mut self) {
        self.server.take().expect("a running relay").crash();
        self.server = Some(RelayServer::restart_on(&self.store, &self.address));
    }
}

/// The relay, the clients, and the accounts everybody edits.
struct World {
    relay: Relay,
    clients: Vec<Client>,
    shared: Vec<String>,
    latecomer_token: String,
}

impl World {
    /// Invites the members (and the latecomer), starts the relay, joins every member, makes
    /// the shared accounts, and starts every watcher.
    fn start(tmp: &TempDir) -> Self {
        let store = Data::at(tmp.path().join("relay"));
        let tokens = MEMBERS.map(|(user, team)| store.invite(user, team, "member"));
        let latecomer_token = store.invite(LATECOMER.0, LATECOMER.1, "member");
        let relay = RelayServer::start(&store);
        let address = relay.address().to_owned();
        let clients: Vec<Client> = MEMBERS
            .iter()
            .zip(&tokens)
            .map(|(&(user, _), token)| Client {
                user,
                data: Data::join_relay(tmp.path().join(user), &relay.url, token),
                watcher: Mutex::new(None),
            })
            .collect();
        let shared = SHARED_ACCOUNTS
            .iter()
            .map(|name| clients[0].data.add_account(name, &[]))
            .collect();
        clients[0].data.sync().ok();
        for client in &clients {
            client.data.sync().ok();
            client.start_watcher();
        }
        let world = Self {
            relay: Relay {
                store,
                address,
                server: Some(relay),
            },
            clients,
            shared,
            latecomer_token,
        };
        world.wait_until_online();
        world
    }

    /// Runs one cycle: the editors' threads, and the kill of the relay or a watcher from here.
    fn run_cycle(&mut self, cycle: usize, plan: &CyclePlan, ledger: &Mutex<Ledger>) {
        let (restarted, restarts) = mpsc::channel();
        let (relay, clients) = (&mut self.relay, &self.clients);
        thread::scope(|scope| {
            let editors: Vec<_> = plan
                .editors
                .iter()
                .map(|editor| {
                    let client = &clients[editor.client];
                    let restarted = restarted.clone();
                    scope.spawn(move || edit(client, editor, cycle, ledger, &restarted))
                })
                .collect();
            drop(restarted);
            kill_victim(relay, clients, plan, &restarts, ledger);
            for editor in editors {
                editor
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
        });
        for client in &self.clients {
            client.assert_watching();
        }
    }

    /// Waits until every watcher says it is online.
    fn wait_until_online(&self) {
        for client in &self.clients {
            let what = format!("{}'s watcher to be online", client.user);
            wait_until(&what, PATIENCE, || {
                client.assert_watching();
                client.link_state() == "online"
            });
        }
    }

    /// Waits until every watcher has been online, printing nothing (no status, no document
    /// changed), for [`QUIET`].
    fn wait_until_quiet(&self) {
        let printed = || -> Vec<String> { self.clients.iter().map(Client::stderr).collect() };
        let mut before = printed();
        let mut since = Instant::now();
        wait_until("every watcher to be online and quiet", PATIENCE, || {
            self.wait_until_online();
            let now = printed();
            if now != before {
                (before, since) = (now, Instant::now());
            }
            since.elapsed() >= QUIET
        });
    }

    /// The last lines of each watcher's `logs`.
    fn print_watcher_logs(&self, logs: &[String]) {
        for (client, log) in self.clients.iter().zip(logs) {
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            println!("--- {} ---", client.user);
            for line in tail.into_iter().rev() {
                println!("{line}");
            }
        }
    }

    /// Lets the watchers sync live until every one has been online with nothing arriving for
    /// [`QUIET`], stops them, and checks that their replicas hold the same heads and that a
    /// one-off sync of each finds nothing more at the relay: every change reached every online
    /// watcher live, with no reconnect needed.
    fn converge(&self) {
        self.wait_until_quiet();
        let logs: Vec<String> = self.clients.iter().map(Client::stderr).collect();
        assert!(
            logs.iter().any(|log| log.contains("changed here: ")),
            "`sync --watch --verbose` names the documents changes arrive for"
        );
        for client in &self.clients {
            client.stop_watcher();
        }
        let summaries: Vec<Summary> = self.clients.iter().map(|c| summary(&c.data)).collect();
        if summaries.iter().any(|s| *s != summaries[0]) {
            if std::env::var("RAPPORT_CHAOS_DEBUG").is_ok() {
                self.print_watcher_logs(&logs);
            }
            panic!(
                "every watcher online with nothing arriving for {QUIET:?}, the replicas differ \
                 (RAPPORT_CHAOS_DEBUG=1 prints the watchers' output):\n{}",
                describe_differences(&self.clients, &summaries)
            );
        }
        for client in &self.clients {
            let synced = client.data.json(["sync", "--timeout", SYNC_TIMEOUT]);
            assert_eq!(
                synced["changed"], 0,
                "{}: the relay still had changes for a converged replica: {synced}",
                client.user
            );
        }
    }

    /// Joins the latecomer from the relay, into a replica of their own.
    fn join_latecomer(&self, tmp: &TempDir) -> Data {
        Data::join_relay(
            tmp.path().join(LATECOMER.0),
            self.relay.url(),
            &self.latecomer_token,
        )
    }

    /// Every acknowledged change is on every replica (the latecomer's included), which all hold
    /// the same heads and show the same accounts and workspace.
    fn check(&self, ledger: &Ledger, latecomer: &Data) {
        let replicas: Vec<(&str, &Data)> = self
            .clients
            .iter()
            .map(|c| (c.user, &c.data))
            .chain([(LATECOMER.0, latecomer)])
            .collect();
        let (first_user, first) = (replicas[0].0, summary(replicas[0].1));
        let views: Vec<View> = replicas.iter().map(|(_, data)| View::of(data)).collect();
        for ((user, data), view) in replicas.iter().zip(&views) {
            ledger.check(user, view);
            assert_eq!(
                summary(data),
                first,
                "{user} and {first_user} hold different heads"
            );
            view.assert_same(&views[0], user, first_user);
        }
        println!(
            "every replica holds {} accounts and the {} acknowledged changes",
            views[0].accounts.len(),
            ledger.attempts.iter().filter(|a| a.acknowledged).count()
        );
    }
}

/// Kills the relay or a watcher `delay` after a watcher restarts to push its edits (the
/// victim's own restart, for an editor's watcher), and restarts it. Returns early when an
/// editor's thread ended without restarting its watcher: that thread's panic says why.
fn kill_victim(
    relay: &mut Relay,
    clients: &[Client],
    plan: &CyclePlan,
    restarts: &Receiver<(usize, Instant)>,
    ledger: &Mutex<Ledger>,
) {
    let anchor = |wanted: Option<usize>| loop {
        match restarts.recv_timeout(PATIENCE) {
            Ok((client, at)) if wanted.is_none_or(|wanted| wanted == client) => break Some(at),
            Ok(_) => {}
            Err(RecvTimeoutError::Disconnected) => break None,
            Err(RecvTimeoutError::Timeout) => panic!("no editor restarted its watcher"),
        }
    };
    match plan.victim {
        Victim::Relay { delay } => {
            let Some(at) = anchor(None) else { return };
            sleep_until(at + delay);
            let states: Vec<&str> = clients.iter().map(Client::link_state).collect();
            relay.crash_and_restart();
            ledger
                .lock()
                .expect("the ledger")
                .tally
                .relay_killed(&states);
        }
        Victim::Watcher { client, delay } => {
            let editing = plan.editors.iter().any(|e| e.client == client);
            let Some(at) = anchor(editing.then_some(client)) else {
                return;
            };
            sleep_until(at + delay);
            let state = clients[client].crash_watcher();
            ledger
                .lock()
                .expect("the ledger")
                .tally
                .watcher_killed(state);
        }
        Victim::Edit { .. } => {}
    }
}

/// Sleeps until `deadline` (not at all if it has passed).
fn sleep_until(deadline: Instant) {
    thread::sleep(deadline.saturating_duration_since(Instant::now()));
}
