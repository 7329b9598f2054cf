//! For the network tests: long-running `rapport` processes (a relay, a `sync --watch`) that are
//! killed when the test drops them, waits with deadlines, and a seeded generator.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::support::{BIN, Data, Run};

/// How long any wait on another process may take before the test fails: generous, because the
/// test binary runs many tests at once on few cores.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The `--timeout` given to one-off syncs and joins, so that none outlives the test's patience.
pub const SYNC_TIMEOUT: &str = "45";

/// Waits until `done` holds, checking every 20 ms; panics naming `what` after `within`.
#[track_caller]
pub fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "gave up after {within:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A running `rapport` process. Its stdout lines arrive through a channel and its stderr is
/// collected as it comes, so neither pipe fills up; dropped, it is killed and reaped.
pub struct Spawned {
    pub args: Vec<String>,
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Spawned {
    /// Starts `rapport ARGS...` in the environment [`run_with_env`] gives (so the relay logs
    /// each connection at its default level, info, whatever the caller's environment says).
    pub fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let mut child = Command::new(BIN)
            .args(&args)
            .env_remove("RAPPORT_DATA")
            .env_remove("RAPPORT_TOKEN")
            .env_remove("RAPPORT_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the rapport binary starts");
        let stdout = child.stdout.take().expect("a piped stdout");
        let stderr = child.stderr.take().expect("a piped stderr");
        let (sender, lines) = mpsc::channel();
        let collected = Arc::new(Mutex::new(String::new()));
        let into = collected.clone();
        let readers = vec![
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        return;
                    }
                }
            }),
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut text = into.lock().expect("the stderr buffer");
                    text.push_str(&line);
                    text.push('\n');
                }
            }),
        ];
        Self {
            args: args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            child,
            lines,
            stderr: collected,
            readers,
        }
    }

    /// The process id, as `kill` takes it.
    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// What the process wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("the stderr buffer").clone()
    }

    /// How many lines of stderr so far satisfy `matches`.
    pub fn stderr_lines(&self, matches: impl Fn(&str) -> bool) -> usize {
        self.stderr().lines().filter(|line| matches(line)).count()
    }

    /// Waits until some line of stderr contains `needle`.
    #[track_caller]
    pub fn wait_for_stderr(&self, needle: &str) {
        let what = format!("{needle:?} on the stderr of rapport {:?}", self.args);
        wait_until(&what, PATIENCE, || self.stderr().contains(needle));
    }

    /// The next line on stdout, waiting at most `within`.
    #[track_caller]
    pub fn next_line(&self, within: Duration) -> String {
        match self.lines.recv_timeout(within) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!(
                "rapport {:?} printed no line on stdout within {within:?}; stderr:\n{}",
                self.args,
                self.stderr()
            ),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "rapport {:?} closed its stdout; stderr:\n{}",
                self.args,
                self.stderr()
            ),
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("the child's status").is_none()
    }

    /// Sends `signal` (`KILL`, `TERM`, ...) with `kill(1)`.
    #[track_caller]
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Sends SIGKILL at once (from this process, with no `kill(1)` to start first), so that
    /// the kill lands when the caller means it to. A process that has already exited but is
    /// not reaped yet is left as it ended: [`Spawned::finish`] then reports its exit code.
    pub fn kill_now(&mut self) {
        let _ = self.child.kill();
    }

    /// Waits for the process to exit (at most `within`) and returns how it ended, with the
    /// stdout lines not read yet and all of stderr.
    #[track_caller]
    pub fn finish(mut self, within: Duration) -> Run {
        let what = format!("rapport {:?} to exit", self.args);
        wait_until(&what, within, || !self.running());
        let status = self.child.wait().expect("the child's status");
        for reader in self.readers.drain(..) {
            reader.join().expect("a pipe reader");
        }
        let stdout: String = self.lines.try_iter().map(|line| line + "\n").collect();
        Run {
            args: self.args.clone(),
            code: status.code(),
            stdout,
            stderr: self.stderr(),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `rapport relay serve` on a data directory, listening on a port of its own choosing.
pub struct RelayServer {
    pub url: String,
    process: Spawned,
}

impl RelayServer {
    /// Starts the relay on `data` and reads its address from its first line.
    #[track_caller]
    pub fn start(data: &Data) -> Self {
        Self::start_on(data, "127.0.0.1:0")
    }

    /// Starts the relay on `data` listening on `address` (`127.0.0.1:0` lets it choose a port;
    /// the [`address`](Self::address) of a relay that ran before brings it back where its
    /// members look for it).
    #[track_caller]
    pub fn start_on(data: &Data, address: &str) -> Self {
        Self::start_with(data, address, &[])
    }

    /// [`RelayServer::start_on`] with more arguments for `relay serve` (its limits).
    #[track_caller]
    pub fn start_with(data: &Data, address: &str, more: &[&str]) -> Self {
        let process = Self::spawn(data, address, more);
        let first = process.next_line(PATIENCE);
        Self::listening(process, &first)
    }

    /// [`RelayServer::start_on`] for a relay that listened on `address` before: while the port
    /// is taken for a moment (a connection made meanwhile may have got it as its local port),
    /// it tries again, for at most [`PATIENCE`].
    #[track_caller]
    pub fn restart_on(data: &Data, address: &str) -> Self {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let process = Self::spawn(data, address, &[]);
            if let Ok(first) = process.lines.recv_timeout(PATIENCE) {
                return Self::listening(process, &first);
            }
            let run = process.finish(PATIENCE);
            assert!(
                run.stderr.contains("cannot listen on") && Instant::now() < deadline,
                "the relay did not start again on {address}: {run:?}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn spawn(data: &Data, address: &str, more: &[&str]) -> Spawned {
        let args = [
            OsStr::new("--data"),
            data.dir.as_os_str(),
            OsStr::new("relay"),
            OsStr::new("serve"),
            OsStr::new("--listen"),
            OsStr::new(address),
        ];
        Spawned::start(args.into_iter().chain(more.iter().map(OsStr::new)))
    }

    /// The relay whose first line was `first`, which gives its address.
    #[track_caller]
    fn listening(process: Spawned, first: &str) -> Self {
        let url = first
            .strip_prefix("relay listening on ")
            .unwrap_or_else(|| panic!("the relay's first line should give its address: {first}"))
            .to_owned();
        assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
        Self { url, process }
    }

    /// The address the relay listens on, as `--listen` takes it (`127.0.0.1:PORT`).
    pub fn address(&self) -> &str {
        self.url.trim_start_matches("ws://")
    }

    /// How many member connections the relay has logged so far.
    pub fn connections(&self) -> usize {
        self.process
            .stderr_lines(|line| line.contains("connection{") && line.ends_with(": connected"))
    }

    /// Waits until the relay has logged `count` member connections.
    #[track_caller]
    pub fn wait_for_connections(&self, count: usize) {
        let what = format!("{count} connections logged by the relay");
        wait_until(&what, PATIENCE, || self.connections() >= count);
    }

    /// The relay process.
    pub fn process(&mut self) -> &mut Spawned {
        &mut self.process
    }

    /// Kills the relay with SIGKILL, as a crash would, and reaps it.
    #[track_caller]
    pub fn crash(self) {
        self.process.signal("KILL");
        let run = self.process.finish(PATIENCE);
        assert_eq!(run.code, None, "SIGKILL leaves no exit code: {run:?}");
    }

    /// Sends SIGTERM and returns how the relay ended, waiting at most `within`.
    #[track_caller]
    pub fn terminate(self, within: Duration) -> Run {
        self.process.signal("TERM");
        self.process.finish(within)
    }
}

/// A tiny seeded generator (SplitMix64) for the randomized tests; the seed is printed so that
/// a failing run can be replayed with `RAPPORT_TEST_SEED`.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `RAPPORT_TEST_SEED`, else from the clock.
    pub fn from_env_or_clock() -> Self {
        let seed = std::env::var("RAPPORT_TEST_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_nanos() as u64)
            });
        println!("seed {seed} (replay with RAPPORT_TEST_SEED={seed})");
        Self(seed)
    }

    /// The next number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound.max(1)
    }
}

impl Data {
    /// `relay invite` on this (relay) data directory: the new member's token.
    #[track_caller]
    pub fn invite(&self, user: &str, team: &str, role: &str) -> String {
        let run = self
            .run([
                "relay",
                "invite",
                "--workspace",
                "Acme",
                "--user",
                user,
                "--team",
                team,
                "--role",
                role,
            ])
            .ok();
        let token = run.stdout.trim_end_matches('\n');
        assert!(
            token.starts_with("rpt_") && !token.contains(char::is_whitespace),
            "relay invite should print the token alone, printed {:?}",
            run.stdout
        );
        token.to_owned()
    }

    /// `rapport --data DIR join URL --token TOKEN`, asserted to succeed.
    #[track_caller]
    pub fn join_relay(dir: impl Into<PathBuf>, url: &str, token: &str) -> Self {
        let data = Self::at(dir);
        data.run(["join", url, "--token", token, "--timeout", SYNC_TIMEOUT])
            .ok();
        data
    }

    /// `rapport sync` once (not asserted: the caller decides what should happen).
    pub fn sync(&self) -> Run {
        self.run(["sync", "--timeout", SYNC_TIMEOUT])
    }

    /// `rapport sync --relay URL --token TOKEN`: repoints the replica, then syncs once.
    pub fn sync_with(&self, url: &str, token: &str) -> Run {
        self.run([
            "sync",
            "--relay",
            url,
            "--token",
            token,
            "--timeout",
            SYNC_TIMEOUT,
        ])
    }

    /// Starts `rapport --data DIR ARGS...` as a process of its own, to kill it mid-way.
    pub fn spawn<I, S>(&self, args: I) -> Spawned
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut all: Vec<std::ffi::OsString> = vec!["--data".into(), self.dir.clone().into()];
        all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        Spawned::start(all)
    }

    /// Starts `rapport sync` with `extra` arguments as a process of its own.
    pub fn spawn_sync(&self, extra: &[&str]) -> Spawned {
        let mut args = vec![
            OsStr::new("--data"),
            self.dir.as_os_str(),
            OsStr::new("sync"),
        ];
        args.extend(extra.iter().map(OsStr::new));
        Spawned::start(args)
    }
}

/// Invites each `(user, team)` as a member of workspace "Acme" while the relay is stopped, starts
/// the relay, and joins each in a directory named after them.
pub fn relay_with<const N: usize>(
    tmp: &tempfile::TempDir,
    members: [(&str, &str); N],
) -> (RelayServer, [Data; N]) {
    let store = Data::at(tmp.path().join("relay"));
    let tokens = members.map(|(user, team)| (user, store.invite(user, team, "member")));
    let relay = RelayServer::start(&store);
    let members =
        tokens.map(|(user, token)| Data::join_relay(tmp.path().join(user), &relay.url, &token));
    (relay, members)
}

/// Syncs every replica in turn, twice, so that what each sent reaches all the others.
pub fn sync_all(members: &[&Data]) {
    for _ in 0..2 {
        for member in members {
            member.sync().ok();
        }
    }
}
