//! Interop with the stock JavaScript automerge-repo (the Node project in `tests/interop`): a
//! JavaScript peer reads and writes an account through the real relay, and the client syncs
//! through a stock automerge-repo sync server.
//!
//! These tests need Node 18 or later and `npm install --prefix tests/interop` (`tests/run` does
//! it); without them they fail, saying so. Every process they start is killed when the test
//! ends, and every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_rapport");
/// The longest any one program may run, or a server take to start.
const WAIT: Duration = Duration::from_secs(60);
/// What `--timeout` of `join` and `sync` allows (less than [`WAIT`], so they fail first).
const SYNC_TIMEOUT: &str = "30";
const INSTALL_HINT: &str = "run `npm install --prefix tests/interop` from the workspace root \
    (tests/run and .ci/run do it)";

/// How the Rust model stores a timeline entry (`add_entry` in rapport-model's account.rs), as
/// tests/interop/peer.mjs describes what JavaScript reads: scalar strings, a timestamp, a text
/// object, and a list of scalar strings.
fn entry_layout() -> Value {
    json!({
        "kind": "str", "team": "str", "author": "str",
        "at": "timestamp", "text": "text", "alert": "list<str>",
    })
}

#[test]
fn a_javascript_peer_reads_and_writes_an_account_through_the_relay() {
    let interop = interop_dir();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let relay_dir = tmp.path().join("relay");
    let invite = |user: &str, team: &str| {
        let args = [
            "relay",
            "invite",
            "--workspace",
            "Acme",
            "--user",
            user,
            "--team",
            team,
        ];
        ok(&relay_dir, &args).stdout.trim().to_owned()
    };
    let sam_token = invite("sam", "sales");
    let sue_token = invite("sue", "support");
    let mut serve = rapport(&relay_dir, &["relay", "serve", "--listen", "127.0.0.1:0"]);
    serve.stdin(Stdio::null());
    let log = tmp.path().join("relay.log");
    let relay = Server::start(serve, "the relay", "relay listening on ", &log);

    // A support member adds an account and a note alerting sales, and syncs it to the relay.
    let sue = tmp.path().join("sue");
    let timeout = ["--timeout", SYNC_TIMEOUT];
    ok(
        &sue,
        &[&["join", &relay.url, "--token", &sue_token][..], &timeout].concat(),
    );
    let rust_note = "Printer on fire, written in Rust";
    let account = ok(&sue, &["account", "add", "Globex Corporation"]);
    let account = account.stdout.trim();
    ok(
        &sue,
        &["note", "add", account, rust_note, "--alert", "sales"],
    );
    ok(&sue, &["sync", "--timeout", SYNC_TIMEOUT]);
    let url = show(&sue, account)["url"]
        .as_str()
        .expect("a URL")
        .to_owned();

    // The sales member's browser tab: a stock automerge-repo peer, the token in the URL. It
    // reads the account, adds a note, and holds the account open for a note still to come.
    let with_token = format!("{}/?token={sam_token}", relay.url);
    let js_note = "Called back, written in JavaScript";
    let live_note = "Fixed while you watched, written in Rust";
    let mut command = node_command(&interop);
    command.args([
        "relay.mjs",
        &with_token,
        &url,
        js_note,
        "--alert",
        "support",
        "--until",
        live_note,
    ]);
    let js = Spawned::start(command, "node relay.mjs", &tmp.path().join("js.log"));
    let read = js.next_json();
    assert_eq!(read["name"], "Globex Corporation", "read: {read}");
    let entry = entry_with_text(&read["timeline"], rust_note);
    assert_eq!(
        fields(entry, &["author", "team", "kind", "alert"]),
        json!({ "author": "sue", "team": "support", "kind": "note", "alert": ["sales"] }),
        "the Rust note as JavaScript reads it: {entry}"
    );
    assert_eq!(
        entry["stored"],
        entry_layout(),
        "the Rust note's layout: {entry}"
    );
    let wrote = js.next_json();
    assert_eq!(
        (&wrote["author"], &wrote["team"]),
        (&json!("sam"), &json!("sales")),
        "the relay told the JavaScript peer who its token belongs to: {wrote}"
    );
    let js_id = wrote["wrote"].as_str().expect("the new entry's id");

    // The support member's next sync brings the note and its alert, and pushes one more note,
    // which the relay forwards to the open browser tab.
    ok(&sue, &["note", "add", account, live_note]);
    let synced = ok(&sue, &["--json", "sync", "--timeout", SYNC_TIMEOUT]).json();
    let alerts = synced["new_alerts"].as_array().expect("new alerts");
    assert!(
        alerts
            .iter()
            .any(|a| a["id"] == js_id && a["author"] == "sam"),
        "the JavaScript note alerts support: {synced}"
    );
    let saw = js.next_json();
    assert_eq!(
        fields(&saw["saw"], &["author", "team", "kind"]),
        json!({ "author": "sue", "team": "support", "kind": "note" }),
        "the note pushed to the open tab: {saw}"
    );
    js.succeeds();

    // A new member gets both notes on joining.
    let sam = tmp.path().join("sam");
    ok(
        &sam,
        &[&["join", &relay.url, "--token", &sam_token][..], &timeout].concat(),
    );
    let on_sam = show(&sam, account);
    assert_eq!(on_sam["name"], "Globex Corporation");
    entry_with_text(&on_sam["timeline"], rust_note);
    let entry = entry_with_text(&on_sam["timeline"], js_note);
    assert_eq!(
        fields(entry, &["id", "author", "team", "kind", "alert"]),
        json!({ "id": js_id, "author": "sam", "team": "sales", "kind": "note", "alert": ["support"] }),
        "the JavaScript note as the Rust model reads it: {entry}"
    );
    assert!(entry["at"].is_string(), "the note has a time: {entry}");

    // The account's history reads the JavaScript change too: it names no author of ours.
    let history = ok(&sam, &["--json", "history", account]).json();
    let changes = history["changes"].as_array().expect("the changes");
    let by_js = changes
        .iter()
        .find(|change| change["edits"].to_string().contains(js_id))
        .unwrap_or_else(|| panic!("the JavaScript note is in the history: {history:#}"));
    assert_eq!(
        (
            &by_js["author"],
            &by_js["edits"][0]["kind"],
            &by_js["edits"][0]["team"]
        ),
        (&Value::Null, &json!("entry_added"), &json!("sales")),
        "the JavaScript change: {by_js}"
    );
    let text = ok(&sam, &["history", account]).stdout;
    assert!(text.contains("(unknown)"), "{text}");

    // Read back from JavaScript, the two notes are stored alike.
    let lines = node(&interop, &["relay.mjs", &with_token, &url]);
    let entry = entry_with_text(&lines[0]["timeline"], js_note);
    assert_eq!(
        entry["stored"],
        entry_layout(),
        "the JavaScript note's layout: {entry}"
    );
}

#[test]
fn the_client_syncs_through_a_stock_automerge_repo_server() {
    let interop = interop_dir();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut command = node_command(&interop);
    // Its stdin stays open while the test holds the server: it exits when that closes.
    command.arg("server.mjs").stdin(Stdio::piped());
    let log = tmp.path().join("server.log");
    let server = Server::start(command, "the automerge-repo server", "listening on ", &log);

    let ana = tmp.path().join("ana");
    ok(
        &ana,
        &[
            "init",
            "--workspace",
            "Acme",
            "--user",
            "ana",
            "--team",
            "sales",
        ],
    );
    let account = ok(&ana, &["account", "add", "Initech"]);
    let account = account.stdout.trim();
    let rust_note = "TPS reports, written in Rust";
    ok(&ana, &["note", "add", account, rust_note]);
    ok(
        &ana,
        &["sync", "--relay", &server.url, "--timeout", SYNC_TIMEOUT],
    );
    let url = show(&ana, account)["url"]
        .as_str()
        .expect("a URL")
        .to_owned();

    // Another automerge-repo peer of the server finds the account there, and adds a note.
    let js_note = "Stapler found, written in JavaScript";
    let as_bob = ["--author", "bob", "--team", "support", "--alert", "@ana"];
    let lines = node(
        &interop,
        &[&["relay.mjs", &server.url, &url, js_note][..], &as_bob].concat(),
    );
    assert_eq!(
        lines.len(),
        2,
        "relay.mjs prints what it read, what it wrote: {lines:?}"
    );
    assert_eq!(lines[0]["name"], "Initech", "read: {}", lines[0]);
    let entry = entry_with_text(&lines[0]["timeline"], rust_note);
    assert_eq!(
        fields(entry, &["author", "team", "kind", "alert"]),
        json!({ "author": "ana", "team": "sales", "kind": "note", "alert": [] }),
        "the Rust note as JavaScript reads it from the server: {entry}"
    );
    let js_id = lines[1]["wrote"].as_str().expect("the new entry's id");

    // The client gets it back from the server, with its alert.
    let synced = ok(&ana, &["--json", "sync", "--timeout", SYNC_TIMEOUT]).json();
    assert_eq!(synced["changed"], 1, "the account changed: {synced}");
    let alerts = synced["new_alerts"].as_array().expect("new alerts");
    assert!(
        alerts.iter().any(|a| a["id"] == js_id),
        "the JavaScript note alerts @ana: {synced}"
    );
    let on_ana = show(&ana, account);
    let entry = entry_with_text(&on_ana["timeline"], js_note);
    assert_eq!(
        fields(entry, &["id", "author", "team", "kind", "alert"]),
        json!({ "id": js_id, "author": "bob", "team": "support", "kind": "note", "alert": ["@ana"] }),
        "the JavaScript note as the Rust model reads it: {entry}"
    );
}

/// `tests/interop`, checked to be ready: Node 18 or later, and its npm packages installed.
fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    let dir = dir.canonicalize().unwrap_or(dir);
    let version = match run_bounded(Command::new("node").arg("--version"), "node --version") {
        Ok(run) if run.code == Some(0) => run.stdout.trim().to_owned(),
        Ok(run) => panic!(
            "`node --version` failed: {}\nInstall Node 18 or later, then {INSTALL_HINT}",
            run.stderr
        ),
        Err(error) => panic!(
            "the interop tests need Node.js, but `node` does not run ({error}): install Node 18 or later, then {INSTALL_HINT}"
        ),
    };
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 18,
        "the interop tests need Node 18 or later, found {version}"
    );
    for package in [
        "@automerge/automerge-repo",
        "@automerge/automerge-repo-network-websocket",
        "ws",
    ] {
        let manifest = dir.join("node_modules").join(package).join("package.json");
        assert!(
            manifest.is_file(),
            "the interop tests need the npm package {package} in {}: {INSTALL_HINT}",
            dir.display()
        );
    }
    dir
}

/// `rapport --data DIR ARGS...`, with none of the caller's RAPPORT_ settings.
fn rapport(data: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("RAPPORT_DATA")
        .env_remove("RAPPORT_TOKEN");
    command
}

/// Runs `rapport --data DIR ARGS...`, which must succeed.
#[track_caller]
fn ok(data: &Path, args: &[&str]) -> Finished {
    rapport(data, args)
        .finish(&format!("rapport {}", args.join(" ")))
        .ok()
}

/// `rapport account show ACCOUNT --json` on `data`.
#[track_caller]
fn show(data: &Path, account: &str) -> Value {
    ok(data, &["--json", "account", "show", account]).json()
}

/// `node` in `tests/interop`, its scripts' own time limit (30 s) fixed whatever the caller's
/// environment says.
fn node_command(interop: &Path) -> Command {
    let mut command = Command::new("node");
    command
        .current_dir(interop)
        .stdin(Stdio::null())
        .env("INTEROP_TIMEOUT_MS", "30000");
    command
}

/// Runs a script of `tests/interop` with Node; every line it prints is one JSON value.
fn node(interop: &Path, args: &[&str]) -> Vec<Value> {
    let mut command = node_command(interop);
    command.args(args);
    let run = command.finish(&format!("node {}", args[0])).ok();
    run.stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{} printed a line that is not JSON ({e}): {line}", run.what)
            })
        })
        .collect()
}

/// The fields `keys` of `entry`, as an object to compare whole.
fn fields(entry: &Value, keys: &[&str]) -> Value {
    keys.iter()
        .map(|key| (key.to_string(), entry[key].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The timeline entry with this text.
fn entry_with_text<'a>(timeline: &'a Value, text: &str) -> &'a Value {
    timeline
        .as_array()
        .and_then(|entries| entries.iter().find(|entry| entry["text"] == text))
        .unwrap_or_else(|| panic!("no timeline entry {text:?} in {timeline}"))
}

/// One finished program.
#[derive(Debug)]
struct Finished {
    what: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Finished {
    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "{} failed\nstdout: {}\nstderr: {}",
            self.what,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    fn json(self) -> Value {
        let run = self.ok();
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{} printed no JSON ({e}): {}", run.what, run.stdout))
    }
}

trait Finish {
    /// Runs the command to its end, at most [`WAIT`], collecting its output.
    fn finish(&mut self, what: &str) -> Finished;
}

impl Finish for Command {
    #[track_caller]
    fn finish(&mut self, what: &str) -> Finished {
        run_bounded(self, what).unwrap_or_else(|e| panic!("cannot start {what}: {e}"))
    }
}

/// Runs `command` for at most [`WAIT`]; killed and failed past that.
fn run_bounded(command: &mut Command, what: &str) -> std::io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Killed(command.spawn()?);
    let stdout = collect(child.0.stdout.take());
    let stderr = collect(child.0.stderr.take());
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.0.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            drop(child);
            panic!(
                "{what} did not finish within {WAIT:?}\nstdout: {}\nstderr: {}",
                joined(stdout),
                joined(stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Finished {
        what: what.to_owned(),
        code: status.code(),
        stdout: joined(stdout),
        stderr: joined(stderr),
    })
}

/// Reads a pipe to its end on a thread.
fn collect(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

fn joined(reader: JoinHandle<String>) -> String {
    reader.join().unwrap_or_default()
}

/// A child process, killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A program running in the background, killed when dropped; its stdout read line by line, its
/// stderr written to a log file.
struct Spawned {
    what: String,
    child: Killed,
    lines: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Spawned {
    #[track_caller]
    fn start(mut command: Command, what: &str, log: &Path) -> Self {
        let stderr = std::fs::File::create(log).expect("a log file");
        command.stdout(Stdio::piped()).stderr(stderr);
        let mut child = Killed(
            command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {what}: {e}")),
        );
        let (tx, lines) = mpsc::channel();
        let stdout: ChildStdout = child.0.stdout.take().expect("a piped stdout");
        // Reads to the end, so that the program never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            what: what.to_owned(),
            child,
            lines,
            log: log.to_owned(),
        }
    }

    /// The next line it prints, within [`WAIT`].
    #[track_caller]
    fn next_line(&self) -> String {
        self.lines.recv_timeout(WAIT).unwrap_or_else(|e| {
            panic!(
                "{} printed no line ({e})\nlog: {}",
                self.what,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            )
        })
    }

    /// The next line it prints, as JSON.
    #[track_caller]
    fn next_json(&self) -> Value {
        let line = self.next_line();
        serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "{} printed a line that is not JSON ({e}): {line}",
                self.what
            )
        })
    }

    /// Waits, at most [`WAIT`], for it to exit successfully.
    #[track_caller]
    fn succeeds(mut self) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            match self.child.0.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => panic!("{} did not finish within {WAIT:?}", self.what),
                Err(e) => panic!("cannot wait for {}: {e}", self.what),
            }
        };
        assert!(
            status.success(),
            "{} failed ({status})\nlog: {}",
            self.what,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

/// A server running in the background until dropped: the relay or the Node sync server.
struct Server {
    /// Where it listens, from the first line it prints.
    url: String,
    _spawned: Spawned,
}

impl Server {
    /// Starts `command`, whose stderr goes to `log`, and waits for its first stdout line,
    /// `PREFIX ws://...`.
    #[track_caller]
    fn start(command: Command, what: &str, prefix: &str, log: &Path) -> Self {
        let spawned = Spawned::start(command, what, log);
        let first = spawned.next_line();
        let Some(url) = first.trim().strip_prefix(prefix) else {
            panic!(
                "{what} did not start: its first line was {first:?}\nlog: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        Self {
            url: url.to_owned(),
            _spawned: spawned,
        }
    }
}
