//! Running the binary on a data directory, reading its JSON, and moving documents between
//! replicas with the store library. Long-running processes for the network tests are in
//! `processes.rs`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

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

    /// `workspace rule add NAME WHEN... --alert ALERT --json`, where `when` is conditions such
    /// as `["--when-kind", "ticket"]`: what it printed.
    #[track_caller]
    pub fn add_rule(&self, name: &str, when: &[&str], alert: &str) -> Value {
        let mut args = vec!["workspace", "rule", "add", name];
        args.extend_from_slice(when);
        args.extend(["--alert", alert]);
        self.json(args)
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

    /// The alerts of `alerts --json` (or `alerts --all --json`).
    #[track_caller]
    pub fn alerts(&self, all: bool) -> Value {
        let inbox = if all {
            self.json(["alerts", "--all"])
        } else {
            self.json(["alerts"])
        };
        inbox["alerts"].clone()
    }

    /// The reminders of `alerts --json`: my open tasks due today or overdue.
    #[track_caller]
    pub fn reminders(&self) -> Value {
        self.json(["alerts"])["reminders"].clone()
    }

    /// Everything the binary shows of this replica, plus the heads of every document as the
    /// store reads them (so that a write the views do not show is still seen).
    #[track_caller]
    /// Runs `rapport --data DIR ARGS...` on a pseudo-terminal (util-linux's `script`); whether
    /// it succeeded, and everything it showed there, stdout and stderr mixed.
    pub fn on_terminal(&self, args: &[&Path]) -> (bool, String) {
        let quoted =
            |path: &Path| format!("'{}'", path.display().to_string().replace('\'', r"'\''"));
        let mut command = format!("{} --data {}", quoted(Path::new(BIN)), quoted(&self.dir));
        for arg in args {
            command.push(' ');
            command.push_str(&quoted(arg));
        }
        let terminal = Command::new("script")
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .env_remove("RAPPORT_DATA")
            .output()
            .expect("`script` (util-linux) runs the binary on a terminal");
        let screen = String::from_utf8_lossy(&terminal.stdout).into_owned();
        (terminal.status.success(), screen)
    }

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
