//! Indexing a fetched workspace: what `rapport join` does after the relay's documents are stored.
//!
//! `cargo bench -p rapport-store --bench join_index`. The workspace has `RAPPORT_BENCH_ACCOUNTS`
//! accounts (default 2,000), each with 5 contacts and 20 timeline entries, the shape of the
//! cold-join benchmark. Each sample stores every document's bytes in a fresh replica as a join
//! does (`store_unverified`) and then checks and indexes them all (`index_pending`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::OnceLock;

use automerge::ChangeHash;
use divan::Bencher;
use rapport_model::account::{self, NewAccount, NewContact, NewEntry};
use rapport_model::{ContactId, DocumentId, EntryId, EntryKind, Team, Touched};
use rapport_store::Replica;
use tempfile::TempDir;

const CONTACTS: usize = 5;
const ENTRIES: usize = 20;

fn main() {
    divan::main();
}

fn account_count() -> usize {
    std::env::var("RAPPORT_BENCH_ACCOUNTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

/// The workspace as a relay sends it: its id, and every document with its bytes and heads.
struct Fetched {
    workspace: DocumentId,
    documents: Vec<(DocumentId, Vec<u8>, Vec<ChangeHash>)>,
}

fn fetched() -> &'static Fetched {
    static FETCHED: OnceLock<Fetched> = OnceLock::new();
    FETCHED.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let mut replica =
            Replica::create_workspace(dir.path(), "Bench", "ana".parse().unwrap(), Team::Sales)
                .unwrap();
        let edit = replica.edit_now();
        let mut ids = Vec::new();
        for i in 0..account_count() {
            let new = NewAccount {
                name: format!("Account {i:05}"),
                domain: Some(format!("account{i}.example")),
                ..Default::default()
            };
            let id = replica.create_account(&edit, &new).unwrap();
            replica
                .change_account(id, &edit, |tx| {
                    let mut touched = Touched::default();
                    for c in 0..CONTACTS {
                        let contact = NewContact {
                            name: format!("Person {c} of {i}"),
                            email: Some(format!("p{c}@account{i}.example")),
                            phone: Some(format!("+1 555 {i:05}{c}")),
                            title: Some("Buyer".into()),
                        };
                        touched.merge(account::add_contact(tx, &edit, ContactId::new(), &contact)?);
                    }
                    for e in 0..ENTRIES {
                        let entry = NewEntry {
                            kind: EntryKind::Note,
                            text: format!("Call {e} with account {i} about renewal and pricing"),
                            alert: vec![],
                        };
                        touched.merge(account::add_entry(tx, &edit, EntryId::new(), &entry)?);
                    }
                    Ok(touched)
                })
                .unwrap();
            ids.push(id);
        }
        let workspace = replica.workspace_id();
        ids.push(workspace);
        let documents = ids
            .into_iter()
            .map(|id| {
                let bytes = replica.document_bytes(id).unwrap();
                let heads = replica.heads(id).unwrap();
                (id, bytes, heads)
            })
            .collect();
        Fetched {
            workspace,
            documents,
        }
    })
}

#[divan::bench(sample_count = 3)]
fn index_fetched_workspace(bencher: Bencher) {
    let fetched = fetched();
    bencher
        .with_inputs(|| {
            let dir = TempDir::new().unwrap();
            let mut replica = Replica::create(
                dir.path(),
                fetched.workspace,
                "bo".parse().unwrap(),
                Team::Support,
            )
            .unwrap();
            replica.store_unverified(fetched.documents.clone()).unwrap();
            (dir, replica)
        })
        .bench_local_values(|(dir, mut replica)| {
            let left = replica.index_pending(usize::MAX).unwrap();
            assert_eq!(left, 0);
            (dir, replica)
        });
}
