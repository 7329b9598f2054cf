//! Running the binary on a data directory, reading its JSON, and moving documents between
//! replicas with the store library; and for the network tests, long-running processes (a relay,
//! a `sync --watch`) that are killed when the test drops them.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rapport_model::{DocumentId, Team};
use rapport_store::Replica;
use serde_json::Value;
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rapport");

/// A fresh temporary directory for one test.
pub fn tmp() -> TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// One finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts that the run succeeded.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "rapport {:?} failed\nstdout: {}\nstderr: {}",
            self.args,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that the run succeeded and parses its stdout as JSON.
    #[track_caller]
    pub fn json(self) -> Value {
        let run = self.ok();
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "rapport {:?} printed no JSON ({e}):\n{}",
                run.args, run.stdout
            )
        })
    }

    /// Asserts that the run failed as the binary itself reports errors: a non-zero exit code,
    /// nothing on stdout, and exactly one line `error: ...` on stderr that contains every needle.
    #[track_caller]
    pub fn fails_with(&self, needles: &[&str]) -> &Self {
        self.assert_failed();
        let message = self.stderr.trim_end();
        assert_eq!(
            message.lines().count(),
            1,
            "rapport {:?}: the error should be one line, got:\n{message}",
            self.args
        );
        self.assert_names(message, needles);
        self
    }

    /// Asserts that the command line itself was refused (clap's usage error, exit code 2), with
    /// a first line `error: ...` on stderr that contains every needle, and nothing on stdout.
    #[track_caller]
    pub fn refused_with(&self, needles: &[&str]) -> &Self {
        self.assert_failed();
        assert_eq!(
            self.code,
            Some(2),
            "rapport {:?}: a usage error exits with 2\nstderr: {}",
            self.args,
            self.stderr
        );
        let first = self.stderr.lines().next().unwrap_or_default();
        self.assert_names(first, needles);
        self
    }

    #[track_caller]
    fn assert_failed(&self) {
        assert!(
            self.code.is_some_and(|code| code != 0),
            "rapport {:?} should fail with an exit code, got {:?}\nstdout: {}\nstderr: {}",
            self.args,
            self.code,
            self.stdout,
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "rapport {:?} failed but printed on stdout: {}",
            self.args,
            self.stdout
        );
    }

    #[track_caller]
    fn assert_names(&self, message: &str, needles: &[&str]) {
        assert!(
            message.starts_with("error: "),
            "rapport {:?}: the error should start with 'error: ', got:\n{message}",
            self.args
        );
        for needle in needles {
            assert!(
                message.contains(needle),
                "rapport {:?}: the error should mention {needle:?}, got:\n{message}",
                self.args
            );
        }
    }
}

/// Runs the binary with `args` and the environment changes `envs` (RAPPORT_DATA, RAPPORT_TOKEN
/// and RAPPORT_LOG are removed first, so the caller's environment never leaks in).
pub fn run_with_env<I, S>(args: I, envs: &[(&str, &OsStr)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let mut command = Command::new(BIN);
    command
        .args(&args)
        .env_remove("RAPPORT_DATA")
        .env_remove("RAPPORT_TOKEN")
        .env_remove("RAPPORT_LOG");
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().expect("the rapport binary runs");
    Run {
        args: args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// One data directory, driven through `--data`.
#[derive(Clone, Debug)]
pub struct Data {
    pub dir: PathBuf,
}

impl Data {
    /// A data directory (which may not hold a replica yet).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `rapport init` in `dir` for `user` of `team`, in a workspace named "Acme".
    #[track_caller]
    pub fn init(dir: impl Into<PathBuf>, user: &str, team: &str) -> Self {
        let data = Self::at(dir);
        data.run([
            "init",
            "--workspace",
            "Acme",
            "--user",
            user,
            "--team",
            team,
        ])
        .ok();
        data
    }

    /// The replica file.
    pub fn replica_file(&self) -> PathBuf {
        self.dir.join(rapport_store::REPLICA_FILE)
    }

    /// Runs `rapport --data DIR ARGS...`.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut all: Vec<std::ffi::OsString> = vec!["--data".into(), self.dir.clone().into()];
        all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        run_with_env(all, &[])
    }

    /// Runs `rapport --data DIR --json ARGS...`.
    pub fn run_json<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut all: Vec<std::ffi::OsString> = vec!["--json".into()];
        all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self.run(all)
    }

    /// Runs a command with `--json`, asserts success and returns the parsed output.
    #[track_caller]
    pub fn json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_json(args).json()
    }

    /// Runs a command in text mode that prints a bare id (the `add` commands) and returns it.
    #[track_caller]
    pub fn id_of<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let run = self.run(args).ok();
        let id = run.stdout.trim_end_matches('\n');
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "rapport {:?} should print a bare id, printed {:?}",
            run.args,
            run.stdout
        );
        id.to_owned()
    }

    /// `account add NAME EXTRA...`: the new account's id.
    #[track_caller]
    pub fn add_account(&self, name: &str, extra: &[&str]) -> String {
        let mut args = vec!["account", "add", name];
        args.extend_from_slice(extra);
        self.id_of(args)
    }

    /// `account show ACCOUNT --json`.
    #[track_caller]
    pub fn show(&self, account: &str) -> Value {
        self.json(["account", "show", account])
    }

    /// `account list --json`.
    #[track_caller]
    pub fn list(&self) -> Value {
        self.json(["account", "list"])
    }

    /// The ids of every account, from `account list --json`.
    #[track_caller]
    pub fn account_ids(&self) -> Vec<String> {
        self.list()
            .as_array()
            .expect("account list --json is an array")
            .iter()
            .map(|a| str_at(a, "id").to_owned())
            .collect()
    }

    /// `alerts --json` (or `alerts --all --json`).
    #[track_caller]
    pub fn alerts(&self, all: bool) -> Value {
        if all {
            self.json(["alerts", "--all"])
        } else {
            self.json(["alerts"])
        }
    }

    /// Everything the binary shows of this replica, plus the heads of every document as the
    /// store reads them (so that a write the views do not show is still seen).
    #[track_caller]
    pub fn snapshot(&self) -> Snapshot {
        let list = self.list();
        let ids = self.account_ids();
        let accounts = ids.iter().map(|id| self.show(id)).collect();
        let workspace = self.json(["workspace", "show"]);
        let alerts = self.alerts(true);
        let mut replica = Replica::open(&self.dir).expect("the replica opens");
        let mut heads = Vec::new();
        let documents = std::iter::once(replica.workspace_id())
            .chain(ids.iter().map(|id| document_id(id)))
            .collect::<Vec<_>>();
        for id in documents {
            let hashes = replica
                .heads(id)
                .expect("the document's heads")
                .iter()
                .map(ToString::to_string)
                .collect();
            heads.push((id.to_string(), hashes));
        }
        Snapshot {
            list,
            accounts,
            workspace,
            alerts,
            heads,
        }
    }
}

/// What a replica shows, to compare before and after a command.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub list: Value,
    pub accounts: Vec<Value>,
    pub workspace: Value,
    pub alerts: Value,
    pub heads: Vec<(String, Vec<String>)>,
}

/// A document id as the binary prints it.
#[track_caller]
pub fn document_id(text: &str) -> DocumentId {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is not a document id: {e}"))
}

/// The string at `key` of a JSON object.
#[track_caller]
pub fn str_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} should be a string in {value:#}"))
}

/// The sorted keys of a JSON object.
#[track_caller]
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("an object expected, got {value:#}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The elements of a JSON array.
#[track_caller]
pub fn array(value: &Value) -> &Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array expected, got {value:#}"))
}

/// The ids of the elements of a JSON array.
#[track_caller]
pub fn ids(value: &Value) -> Vec<String> {
    array(value)
        .iter()
        .map(|v| str_at(v, "id").to_owned())
        .collect()
}

/// Creates a replica of `from`'s workspace in `dir` for `user` of `team` (the store's
/// `Replica::create`, as a future `rapport join` would), then copies every document into it.
#[track_caller]
pub fn join(from: &Data, dir: &Path, user: &str, team: Team) -> Data {
    let workspace = Replica::open(&from.dir)
        .expect("the first replica opens")
        .workspace_id();
    let user = user.parse().expect("a valid user name");
    drop(Replica::create(dir, workspace, user, team).expect("the second replica is created"));
    let joined = Data::at(dir);
    copy_documents(from, &joined);
    joined
}

/// Merges the workspace document and every account document of `from` into `to`.
#[track_caller]
pub fn copy_documents(from: &Data, to: &Data) {
    let accounts = from.account_ids();
    let mut source = Replica::open(&from.dir).expect("the source replica opens");
    let mut target = Replica::open(&to.dir).expect("the target replica opens");
    assert_eq!(
        source.workspace_id(),
        target.workspace_id(),
        "both replicas hold the same workspace"
    );
    let documents = std::iter::once(source.workspace_id())
        .chain(accounts.iter().map(|id| document_id(id)))
        .collect::<Vec<_>>();
    for id in documents {
        let bytes = source.document_bytes(id).expect("the document's bytes");
        target
            .merge_document(id, &bytes)
            .expect("the document merges");
    }
}

/// Copies documents both ways, so both replicas hold everything either wrote.
#[track_caller]
pub fn exchange(a: &Data, b: &Data) {
    copy_documents(a, b);
    copy_documents(b, a);
}

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
        let process = Spawned::start([
            OsStr::new("--data"),
            data.dir.as_os_str(),
            OsStr::new("relay"),
            OsStr::new("serve"),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
        ]);
        let first = process.next_line(PATIENCE);
        let url = first
            .strip_prefix("relay listening on ")
            .unwrap_or_else(|| panic!("the relay's first line should give its address: {first}"))
            .to_owned();
        assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
        Self { url, process }
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
