//! Local replica benchmarks: the operations a person waits on, at the sizes of a real workspace.
//!
//! `cargo bench -p rapport-store --bench replica`. Sizes: 10,000 accounts (each with a name, a
//! domain and one note); one account with 10,000 timeline entries. Every write is a durable redb
//! commit. `RAPPORT_BENCH_ACCOUNTS` overrides the account count for a quick run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::OnceLock;

use divan::Bencher;
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{DocumentId, EntryId, EntryKind, Team, Touched};
use rapport_store::Replica;
use tempfile::TempDir;

const ENTRIES: usize = 10_000;
const WORDS: [&str; 8] = [
    "renewal",
    "pricing",
    "onboarding",
    "escalation",
    "enterprise",
    "invoice",
    "integration",
    "training",
];

fn main() {
    divan::main();
}

fn account_count() -> usize {
    std::env::var("RAPPORT_BENCH_ACCOUNTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

fn note(i: usize) -> NewEntry {
    let text = format!(
        "Call {i} about {} and {}",
        WORDS[i % WORDS.len()],
        WORDS[(i / 8) % WORDS.len()]
    );
    NewEntry {
        kind: EntryKind::Note,
        text,
        alert: vec![],
    }
}

/// A replica with `account_count()` accounts, each with one note.
fn many_accounts() -> &'static TempDir {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let mut replica =
            Replica::create_workspace(dir.path(), "Bench", "ana".parse().unwrap(), Team::Sales)
                .unwrap();
        let edit = replica.edit_now();
        for i in 0..account_count() {
            let new = NewAccount {
                name: format!("Account {i:05}"),
                domain: Some(format!("account{i}.example")),
                ..Default::default()
            };
            let id = replica.create_account(&edit, &new).unwrap();
            replica
                .change_account(id, &edit, |tx| {
                    account::add_entry(tx, &edit, EntryId::new(), &note(i))
                })
                .unwrap();
        }
        dir
    })
}

/// A replica with one account holding `ENTRIES` timeline entries.
fn long_timeline() -> &'static (TempDir, DocumentId) {
    static DIR: OnceLock<(TempDir, DocumentId)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let mut replica =
            Replica::create_workspace(dir.path(), "Bench", "ana".parse().unwrap(), Team::Sales)
                .unwrap();
        let edit = replica.edit_now();
        let id = replica
            .create_account(
                &edit,
                &NewAccount {
                    name: "Globex".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        for batch in 0..ENTRIES / 500 {
            replica
                .change_account(id, &edit, |tx| {
                    let mut touched = Touched::default();
                    for i in 0..500 {
                        let entry = note(batch * 500 + i);
                        touched.merge(account::add_entry(tx, &edit, EntryId::new(), &entry)?);
                    }
                    Ok(touched)
                })
                .unwrap();
        }
        (dir, id)
    })
}

#[divan::bench(sample_count = 200)]
fn add_note_to_account_with_10000_entries(bencher: Bencher) {
    let (dir, id) = long_timeline();
    let mut replica = Replica::open(dir.path()).unwrap();
    replica.account(*id).unwrap();
    let edit = replica.edit_now();
    let entry = note(7);
    bencher.bench_local(|| {
        replica
            .change_account(*id, &edit, |tx| {
                account::add_entry(tx, &edit, EntryId::new(), &entry)
            })
            .unwrap()
    });
}

#[divan::bench(sample_count = 50)]
fn list_10000_accounts(bencher: Bencher) {
    let replica = Replica::open(many_accounts().path()).unwrap();
    bencher.bench_local(|| replica.accounts().unwrap().len());
}

#[divan::bench(sample_count = 50)]
fn search_10000_accounts_by_note_word(bencher: Bencher) {
    let replica = Replica::open(many_accounts().path()).unwrap();
    bencher.bench_local(|| replica.search("escal").unwrap().len());
}

#[divan::bench(sample_count = 50)]
fn open_replica_of_10000_accounts(bencher: Bencher) {
    let dir = many_accounts().path();
    bencher.bench_local(|| drop(Replica::open(dir).unwrap()));
}

#[divan::bench(sample_count = 50)]
fn open_replica_and_show_account_with_10000_entries(bencher: Bencher) {
    let (dir, id) = long_timeline();
    bencher.bench_local(|| {
        Replica::open(dir.path())
            .unwrap()
            .account(*id)
            .unwrap()
            .timeline
            .len()
    });
}
