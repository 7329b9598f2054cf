//! Other automerge-repo servers side by side with ours in the same run: the JavaScript ones of
//! `crates/rapport-bench/peers`, and samod, the Rust automerge-repo ([`samod_peer`]). Each
//! server gets the workspace pushed by a client of its own kind, fetched by a fresh one, and
//! fetched by our client (which, against a server without the summary extension, syncs
//! document by document). Their cold fetch is compared with our cold join against our relay.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use rapport_client::link;
use rapport_model::{DocumentId, Team};
use rapport_store::{Remote, Replica};
use serde_json::Value;

use super::accounts;
use crate::corpus::{user, workspace_document};
use crate::lab::{Lab, SYNC_TIMEOUT};
use crate::relay_process::first_line;
use crate::stats::{Row, Unit, millis};

mod samod_peer;

/// How long a peer may work on one operation.
const LIMIT_SECONDS: u64 = 600;
/// How long its server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const KINDS: [&str; 2] = ["sync-server", "repo"];

/// The workspace as files: `<id>.automerge` under `docs/` and the ids one a line, as the
/// JavaScript clients read them (the samod client reads the same files).
struct Export {
    dir: tempfile::TempDir,
    ids_file: PathBuf,
    /// Every document's id: the accounts, then the workspace.
    ids: Vec<DocumentId>,
    workspace: DocumentId,
    count: usize,
}

impl Export {
    /// The folder of `<id>.automerge` files.
    fn docs(&self) -> PathBuf {
        self.dir.path().join("docs")
    }
}

/// What one peer's client reported.
struct Reported {
    done: u64,
    ms: f64,
}

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let peers = peers_dir();
    if !peers.join("node_modules").is_dir() {
        bail!(
            "{} has no node_modules: run `npm ci` there first",
            peers.display()
        );
    }
    let (ours, export, mut rows) = ours_and_export(lab)?;
    for kind in KINDS {
        rows.extend(one_kind(lab, &peers, kind, &export, ours).with_context(|| kind.to_owned())?);
    }
    rows.extend(samod_peer::run(lab, &export, ours).context("samod")?);
    Ok(rows)
}

/// samod alone, beside our cold join.
pub fn run_samod(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let (ours, export, mut rows) = ours_and_export(lab)?;
    rows.extend(samod_peer::run(lab, &export, ours).context("samod")?);
    Ok(rows)
}

/// Our cold join for the ratios (the cold-join workload's median when it ran), its row, and
/// the workspace exported for the peers.
fn ours_and_export(lab: &mut Lab) -> anyhow::Result<(f64, Export, Vec<Row>)> {
    let ours = match lab.cold_join_ms {
        Some(ms) => ms,
        None => our_cold_join(lab)?,
    };
    let export = export(lab)?;
    let base = Row::new(
        "ours, for the ratio",
        accounts(lab.sizes.accounts),
        "cold join (fetch) through our relay, median",
        Unit::Millis,
    );
    Ok((ours, export, vec![base.with_runs(vec![ours])]))
}

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Our cold join against our relay, when the cold-join workload did not run.
fn our_cold_join(lab: &mut Lab) -> anyhow::Result<f64> {
    let url = lab.relay_url()?;
    let token = lab.fixture.full.tokens[0].clone();
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    lab.runtime.block_on(link::join_with(
        dir.path(),
        &url,
        &token,
        SYNC_TIMEOUT,
        link::Indexing::Later,
    ))?;
    Ok(millis(started.elapsed()))
}

/// Every account and a workspace document listing them, as `<id>.automerge` files, and the
/// ids one per line.
fn export(lab: &Lab) -> anyhow::Result<Export> {
    let dir = tempfile::tempdir()?;
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs)?;
    let mut ids = Vec::with_capacity(lab.corpus.len() + 1);
    for account in &lab.corpus.accounts {
        let id = uuid_shaped_id();
        std::fs::write(docs.join(format!("{id}.automerge")), &account.saved)?;
        ids.push(id);
    }
    let workspace = uuid_shaped_id();
    let doc = workspace_document("Bench JS", &ids)?;
    std::fs::write(docs.join(format!("{workspace}.automerge")), doc.save())?;
    ids.push(workspace);
    let ids_file = dir.path().join("ids.txt");
    let lines: Vec<String> = ids.iter().map(ToString::to_string).collect();
    std::fs::write(&ids_file, lines.join("\n") + "\n")?;
    Ok(Export {
        dir,
        ids_file,
        count: ids.len(),
        ids,
        workspace,
    })
}

/// A random id with the version and variant bits of a UUID v4, as automerge-repo makes them:
/// the 1.x line behind the stock sync server refuses ids that are not.
fn uuid_shaped_id() -> DocumentId {
    let mut bytes = *DocumentId::random().as_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    DocumentId::from_bytes(bytes)
}

fn one_kind(
    lab: &mut Lab,
    peers: &Path,
    kind: &str,
    export: &Export,
    ours: f64,
) -> anyhow::Result<Vec<Row>> {
    let storage = tempfile::tempdir()?;
    let server = JsServer::start(peers, kind, storage.path())?;
    let push = client(
        peers,
        &["push", "--url", &server.url, "--docs"],
        &export.docs(),
    )?;
    let fetch = client(
        peers,
        &["fetch", "--url", &server.url, "--ids"],
        &export.ids_file,
    )?;
    let through = our_client(lab, &server.url, export)?;
    server.stop();
    let name = match kind {
        "repo" => "JS automerge-repo (full repo)",
        _ => "JS automerge-repo sync server",
    };
    let measured = Measured {
        push,
        fetch,
        through,
    };
    Ok(measured.rows(name, "JS", accounts(lab.sizes.accounts), export.count, ours))
}

/// What was measured against one peer's server.
struct Measured {
    /// Its client pushing the workspace.
    push: Reported,
    /// A fresh client of its own fetching every document.
    fetch: Reported,
    /// Our client fetching the workspace: milliseconds, and what it did.
    through: (f64, String),
}

impl Measured {
    /// The peer's rows: push, cold fetch, our client's fetch, and its cold fetch over our cold
    /// join. `client` names its clients ("JS", "samod"); `n` counts the exported documents.
    fn rows(self, name: &'static str, client: &str, size: String, n: usize, ours: f64) -> Vec<Row> {
        let done = |r: &Reported, what: String| {
            if r.done as usize >= n {
                format!("{what}, all {n} documents")
            } else {
                format!(
                    "{what}: only {} of {n} documents within {LIMIT_SECONDS} s",
                    r.done
                )
            }
        };
        vec![
            Row::new(
                name,
                size.clone(),
                &done(&self.push, format!("push ({client} client)")),
                Unit::Millis,
            )
            .with_runs(vec![self.push.ms]),
            Row::new(
                name,
                size.clone(),
                &done(&self.fetch, format!("cold fetch ({client} client)")),
                Unit::Millis,
            )
            .with_runs(vec![self.fetch.ms]),
            Row::new(name, size.clone(), &self.through.1, Unit::Millis)
                .with_runs(vec![self.through.0]),
            Row::new(
                name,
                size,
                &format!("{client} cold fetch ÷ our cold join (our relay)"),
                Unit::Ratio,
            )
            .with_runs(vec![self.fetch.ms / ours]),
        ]
    }
}

/// Our client fetching the workspace from a peer's server: a new replica of it, synced with no
/// token (the server knows nothing of members). A fetch that runs out of time is recorded
/// (with how many documents it still lacked), like the peers' own clients'.
fn our_client(lab: &mut Lab, url: &str, export: &Export) -> anyhow::Result<(f64, String)> {
    let dir = tempfile::tempdir()?;
    let replica = Replica::create(dir.path(), export.workspace, user("ana")?, Team::Support)?;
    let remote = Remote {
        url: url.to_owned(),
        token: None,
        ca_cert: None,
    };
    let started = Instant::now();
    let limit = Duration::from_secs(LIMIT_SECONDS);
    let synced = lab
        .runtime
        .block_on(link::sync_once_with(replica, Some(remote), limit));
    let elapsed = millis(started.elapsed());
    let replica = match synced {
        Ok((replica, _)) => replica,
        Err(link::LinkError::Timeout { pending, .. }) => {
            let what = format!(
                "cold fetch by our client: {pending} documents short after {LIMIT_SECONDS} s"
            );
            return Ok((elapsed, what));
        }
        // A foreign server ending the connection is a finding to report, not a harness failure.
        Err(error @ link::LinkError::Closed { .. }) => {
            let held = held_documents(dir.path()).unwrap_or(0);
            let what = format!(
                "cold fetch by our client: connection lost holding {held} of {} documents ({error})",
                export.count
            );
            return Ok((elapsed, what));
        }
        Err(error) => return Err(error).context("our client fetching from the peer's server"),
    };
    let held = replica.summary()?.len();
    if held != export.count {
        bail!("our client holds {held} of {} documents", export.count);
    }
    Ok((
        elapsed,
        format!("cold fetch by our client, all {held} documents"),
    ))
}

/// How many documents the replica in `dir` holds (after a failed sync released it).
fn held_documents(dir: &Path) -> anyhow::Result<usize> {
    Ok(Replica::open(dir)?.summary()?.len())
}

/// Runs `node client.mjs ARGS PATH --limit-seconds S` and reads its JSON line.
fn client(peers: &Path, args: &[&str], path: &Path) -> anyhow::Result<Reported> {
    let mut child = Command::new("node")
        .current_dir(peers)
        .arg("client.mjs")
        .args(args)
        .arg(path)
        .args(["--limit-seconds", &LIMIT_SECONDS.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting node client.mjs")?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let line = first_line(stdout, Duration::from_secs(LIMIT_SECONDS + 60));
    // The client removes its temporary storage as it exits, a few seconds after printing:
    // let it, and kill it only if it hangs.
    finish(&mut child, CLIENT_EXIT);
    let line = line.with_context(|| format!("node client.mjs {}", args[0]))?;
    let json: Value =
        serde_json::from_str(&line).with_context(|| format!("client.mjs printed '{line}'"))?;
    let number = |key: &str| {
        json[key]
            .as_f64()
            .ok_or_else(|| anyhow!("client.mjs printed no '{key}': {line}"))
    };
    Ok(Reported {
        done: number("done")? as u64,
        ms: number("ms")?,
    })
}

/// How long a client may take to clean up and exit once it has printed its figures.
const CLIENT_EXIT: Duration = Duration::from_secs(15);

/// Waits up to `within` for `child` to exit, then kills it.
fn finish(child: &mut Child, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A JavaScript sync server, stopped with SIGTERM.
struct JsServer {
    child: Child,
    _stdin: Option<ChildStdin>,
    url: String,
}

impl JsServer {
    fn start(peers: &Path, kind: &str, storage: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new("node")
            .current_dir(peers)
            .args(["server.mjs", "--kind", kind, "--dir"])
            .arg(storage)
            // It also stops when its stdin closes: held open for as long as it is wanted.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting node server.mjs")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let stdin = child.stdin.take();
        let mut started = Self {
            child,
            _stdin: stdin,
            url: String::new(),
        };
        let line = first_line(stdout, START_TIMEOUT).context("waiting for server.mjs to listen")?;
        started.url = line
            .strip_prefix("listening on ")
            .ok_or_else(|| anyhow!("server.mjs said '{line}'"))?
            .to_owned();
        Ok(started)
    }

    /// SIGTERM (through `kill`, which every Linux has), then SIGKILL if it lingers.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        finish(&mut self.child, Duration::from_secs(5));
    }
}

impl Drop for JsServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
