//! Crash safety: a writer process is killed with SIGKILL at random moments (mid-commit,
//! mid-compaction) over and over; after every kill the replica opens, and every note the writer
//! reported as written is there, with the indexes agreeing with the documents.
//!
//! Runs as its own harness: the test binary re-executes itself as the writer. Replay a failure
//! with `RAPPORT_CRASH_SEED=<seed> cargo test -p rapport-store --test crash`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{AccountAssignment, DocumentId, EntryId, EntryKind, Team};
use rapport_store::Replica;

const CYCLES: usize = 25;
const WRITER_ENV: &str = "RAPPORT_CRASH_WRITER";

fn main() {
    // A test runner that lists tests first (cargo-nextest) gets this one, by the name it then
    // asks for; `cargo test` passes no `--list`.
    if std::env::args().any(|arg| arg == "--list") {
        let ignored = std::env::args().any(|arg| arg == "--ignored");
        if !ignored {
            println!("sigkill_cycles: test");
        }
        return;
    }
    if let Ok(dir) = std::env::var(WRITER_ENV) {
        let account: DocumentId = std::env::var("RAPPORT_CRASH_ACCOUNT")
            .unwrap()
            .parse()
            .unwrap();
        writer(Path::new(&dir), account);
        return;
    }
    let seed: u64 = std::env::var("RAPPORT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::TempDir::new().unwrap();
    let account = {
        let mut replica = Replica::create_workspace(
            dir.path(),
            "Crash Co",
            "ana".parse().unwrap(),
            Team::Support,
        )
        .unwrap();
        let edit = replica.edit_now();
        replica
            .create_account(
                &edit,
                &NewAccount {
                    name: "Globex".into(),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let mut acknowledged: Vec<String> = Vec::new();
    for cycle in 0..CYCLES {
        let written = run_writer_until_killed(dir.path(), account, rng.random_range(20..300));
        acknowledged.extend(written);
        let mut replica = Replica::open(dir.path())
            .unwrap_or_else(|e| panic!("seed {seed} cycle {cycle}: replica does not open: {e}"));
        let view = replica.account(account).unwrap();
        let present: std::collections::BTreeSet<String> =
            view.timeline.iter().map(|e| e.id.to_string()).collect();
        for id in &acknowledged {
            assert!(
                present.contains(id),
                "seed {seed} cycle {cycle}: acknowledged note {id} was lost"
            );
        }
        let summary = replica
            .accounts()
            .unwrap()
            .into_iter()
            .find(|s| s.id == account)
            .unwrap();
        assert_eq!(
            summary.entries,
            view.timeline.len(),
            "seed {seed} cycle {cycle}: index disagrees with the document"
        );
        assert_eq!(
            replica.workspace().unwrap().accounts,
            replica.accounts().unwrap().len(),
            "seed {seed} cycle {cycle}"
        );
    }
    assert!(
        acknowledged.len() > CYCLES,
        "the writer wrote too little to test anything ({} notes)",
        acknowledged.len()
    );
    println!(
        "crash: {CYCLES} kills survived, {} acknowledged notes all present",
        acknowledged.len()
    );
    println!("1 passed, 0 failed");
}

/// Starts a writer, lets it run for `millis` ms, kills it with SIGKILL, and returns the ids it
/// reported as durably written.
fn run_writer_until_killed(dir: &Path, account: DocumentId, millis: u64) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(WRITER_ENV, dir)
        .env("RAPPORT_CRASH_ACCOUNT", account.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let written = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let written = written.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                written.lock().unwrap().push(line);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(millis));
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    Arc::try_unwrap(written).unwrap().into_inner().unwrap()
}

/// The writer: adds notes as fast as it can, now and then also a new account and a field change,
/// printing each note's id only after the store returned (the write is durable).
fn writer(dir: &Path, account: DocumentId) {
    let mut replica = Replica::open(dir).unwrap();
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let edit = replica.edit_now();
        let id = EntryId::new();
        let entry = NewEntry {
            kind: EntryKind::Note,
            text: format!("note {n} written before the crash"),
            alert: vec![],
        };
        replica
            .change_account(account, &edit, |tx| {
                account::add_entry(tx, &edit, id, &entry)
            })
            .unwrap();
        writeln!(out, "{id}").unwrap();
        out.flush().unwrap();
        if n % 7 == 3 {
            replica
                .create_account(
                    &edit,
                    &NewAccount {
                        name: format!("Account {n}"),
                        ..Default::default()
                    },
                )
                .unwrap();
        }
        if n % 5 == 1 {
            let phone = AccountAssignment::parse(&format!("phone=+1 555 {n}")).unwrap();
            replica
                .change_account(account, &edit, |tx| account::set(tx, &[phone]))
                .unwrap();
        }
    }
}
