//! Local replica benchmarks: the operations a person waits on, at the sizes of a real workspace.
//!
//! `cargo bench -p rapport-store --bench replica`. Sizes: 10,000 accounts (each with a name, a
//! domain and one note); one account with 10,000 timeline entries; one account of 600 changes
//! (notes, fields, contacts) whose history is read. Every write is a durable redb commit. `RAPPORT_BENCH_ACCOUNTS` overrides the account count for a quick run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::OnceLock;

use divan::Bencher;
use rapport_model::account::{self, NewAccount, NewContact, NewEntry};
use rapport_model::{
    AccountAssignment, ContactAssignment, ContactId, DocumentId, EntryId, EntryKind, Team, Touched,
};
use rapport_store::Replica;
use tempfile::TempDir;

const ENTRIES: usize = 10_000;
/// The changes of the account whose history is read.
const HISTORY_CHANGES: usize = 600;
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

/// A replica with one account edited by `HISTORY_CHANGES` changes of every kind, one at a time.
fn long_history() -> &'static (TempDir, DocumentId) {
    static DIR: OnceLock<(TempDir, DocumentId)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let mut replica =
            Replica::create_workspace(dir.path(), "Bench", "ana".parse().unwrap(), Team::Sales)
                .unwrap();
        let edit = replica.edit_now();
        let new = NewAccount {
            name: "Initech".into(),
            ..Default::default()
        };
        let id = replica.create_account(&edit, &new).unwrap();
        for i in 0..HISTORY_CHANGES / 6 {
            let contact = ContactId::new();
            let person = NewContact {
                name: format!("Person {i}"),
                ..Default::default()
            };
            let stage = ["lead", "prospect", "customer"][i % 3];
            let fields = [
                format!("stage={stage}"),
                format!("tier=t{i}"),
                format!("custom.region=r{i}"),
            ]
            .map(|a| AccountAssignment::parse(&a).unwrap());
            let title = ContactAssignment::parse(&format!("title=role {i}")).unwrap();
            let entry = note(i);
            replica
                .change_account(id, &edit, |tx| {
                    account::add_entry(tx, &edit, EntryId::new(), &entry)
                })
                .unwrap();
            for assignment in &fields {
                let one = std::slice::from_ref(assignment);
                replica
                    .change_account(id, &edit, |tx| account::set(tx, one))
                    .unwrap();
            }
            replica
                .change_account(id, &edit, |tx| {
                    account::add_contact(tx, &edit, contact, &person)
                })
                .unwrap();
            replica
                .change_account(id, &edit, |tx| {
                    account::set_contact(tx, contact, std::slice::from_ref(&title))
                })
                .unwrap();
        }
        (dir, id)
    })
}

#[divan::bench(sample_count = 20)]
fn history_of_account_with_600_changes(bencher: Bencher) {
    let (dir, id) = long_history();
    let mut replica = Replica::open(dir.path()).unwrap();
    replica.account(*id).unwrap();
    bencher.bench_local(|| replica.history(*id, None).unwrap().changes.len());
}

#[divan::bench(sample_count = 50)]
fn latest_50_changes_of_account_with_600_changes(bencher: Bencher) {
    let (dir, id) = long_history();
    let mut replica = Replica::open(dir.path()).unwrap();
    replica.account(*id).unwrap();
    bencher.bench_local(|| replica.history(*id, Some(50)).unwrap().changes.len());
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

/// Every report, as the Reports page asks for them on each change (the fixture's accounts have
/// no deals: the pipeline and win rate read every account's owner all the same).
#[divan::bench(sample_count = 50)]
fn all_four_reports_of_10000_accounts(bencher: Bencher) {
    let mut replica = Replica::open(many_accounts().path()).unwrap();
    let now = jiff::Timestamp::now();
    bencher.bench_local(|| {
        let pipeline = replica.pipeline_report(None).unwrap();
        let win_rate = replica.win_rate_report(Some(90), now, None).unwrap();
        let interactions = replica.interactions_report(30, now, None).unwrap();
        let attention = replica.attention_report(30, now, None).unwrap();
        (
            pipeline,
            win_rate,
            interactions.entries,
            attention.untouched.len(),
        )
    });
}

/// Every account's value score, as `rapport account list` and the account list page ask for
/// them (each fixture account has one note, so every account has a recency and a frequency).
#[divan::bench(sample_count = 50)]
fn score_10000_accounts(bencher: Bencher) {
    let mut replica = Replica::open(many_accounts().path()).unwrap();
    let now = jiff::Timestamp::now();
    bencher.bench_local(|| replica.scored_accounts(now).unwrap().len());
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
