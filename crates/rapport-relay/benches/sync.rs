//! Sync through a real relay on loopback: what a member waits for when a laptop joins or comes
//! back online.
//!
//! `cargo bench -p rapport-relay --bench sync`. The workspace has `RAPPORT_BENCH_ACCOUNTS`
//! accounts (default 10,000), each with 5 contacts and 20 timeline entries, written by three
//! members in separate changes; the relay and the client both commit durably to redb.
//!
//! - `cold_join`: a new replica of the whole workspace, fetched and durable, not indexed yet.
//! - `cold_join_then_index`: the same, then every document checked and indexed (`link::join`,
//!   and what `rapport join` does before it returns).
//! - `reconnect_unchanged`: a sync when nothing changed on either side (one round trip).
//! - `reconnect_after_a_note`: a sync that brings one note written elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Duration;

use automerge::Automerge;
use divan::Bencher;
use rapport_client::link::{self, Indexing};
use rapport_model::account::{self, NewAccount, NewContact, NewEntry};
use rapport_model::{ContactId, DocumentId, Edit, EntryId, EntryKind, Role, Team, workspace};
use rapport_relay::hub::HubDocuments;
use rapport_relay::{Relay, RelayConfig, admin};
use rapport_store::Replica;
use rapport_sync::Documents;
use tempfile::TempDir;
use tokio::runtime::Runtime;

const CONTACTS: usize = 5;
const ENTRIES: usize = 20;
const TIMEOUT: Duration = Duration::from_secs(600);

fn main() {
    divan::main();
}

fn account_count() -> usize {
    std::env::var("RAPPORT_BENCH_ACCOUNTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// A relay serving one populated workspace, running on its own runtime for the whole run.
struct Fixture {
    _dir: TempDir,
    runtime: Runtime,
    url: String,
    tokens: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let relay = Relay::open(dir.path(), RelayConfig::default()).unwrap();
        let mut tokens = Vec::new();
        for user in ["ana", "bo", "cy", "di"] {
            let invitation = admin::invite(
                relay.hubs(),
                "Bench Corp",
                user.parse().unwrap(),
                Team::Sales,
                Role::Member,
            )
            .unwrap();
            tokens.push(invitation.token);
        }
        let workspace_id = relay
            .hubs()
            .store()
            .workspace_named("Bench Corp")
            .unwrap()
            .unwrap();
        populate(&relay, workspace_id, account_count());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let (public, admin_listener) = runtime.block_on(async {
            (
                tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
                tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            )
        });
        let url = format!("ws://{}", public.local_addr().unwrap());
        runtime.spawn(relay.serve(public, admin_listener, std::future::pending()));
        Fixture {
            _dir: dir,
            runtime,
            url,
            tokens,
        }
    })
}

/// Writes `count` accounts straight into the relay's store, and lists them in the workspace.
fn populate(relay: &Relay, workspace_id: DocumentId, count: usize) {
    let authors = [
        Edit::now("ana".parse().unwrap(), Team::Support),
        Edit::now("bo".parse().unwrap(), Team::Sales),
        Edit::now("cy".parse().unwrap(), Team::Marketing),
    ];
    let hub = relay.hubs().hub(workspace_id).unwrap();
    let mut ids = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let docs: Vec<(DocumentId, Automerge, Vec<u8>)> = chunk
            .iter()
            .map(|&i| {
                let doc = account_document(i, &authors);
                let saved = doc.save();
                (DocumentId::random(), doc, saved)
            })
            .collect();
        ids.extend(docs.iter().map(|(id, _, _)| *id));
        // The way a member's first push arrives: one commit per batch.
        HubDocuments::new(hub.clone(), true)
            .merge_documents(docs)
            .unwrap();
    }
    hub.update(workspace_id, false, |doc| {
        let edit = &authors[0];
        doc.transact_with(
            |_| edit.commit_options(),
            |tx| {
                for id in &ids {
                    workspace::add_account(tx, *id)?;
                }
                Ok::<_, rapport_model::EditError>(())
            },
        )
        .unwrap();
    })
    .unwrap();
}

fn account_document(i: usize, authors: &[Edit; 3]) -> Automerge {
    let mut doc = Automerge::new();
    let (creator, rest) = (&authors[0], authors);
    doc.transact_with(
        |_| creator.commit_options(),
        |tx| {
            account::create(
                tx,
                creator,
                &NewAccount {
                    name: format!("Account {i}"),
                    domain: Some(format!("account{i}.example")),
                    ..Default::default()
                },
            )?;
            for c in 0..CONTACTS {
                let contact = NewContact {
                    name: format!("Contact {c} of {i}"),
                    email: Some(format!("c{c}@account{i}.example")),
                    phone: None,
                    title: Some("Buyer".into()),
                };
                account::add_contact(tx, creator, ContactId::new(), &contact)?;
            }
            Ok::<_, rapport_model::EditError>(())
        },
    )
    .unwrap();
    for e in 0..ENTRIES {
        let author = &rest[e % 3];
        let entry = NewEntry {
            kind: EntryKind::Note,
            text: format!("Note {e} on account {i}: renewal, pricing and onboarding"),
            alert: Vec::new(),
        };
        doc.transact_with(
            |_| author.commit_options(),
            |tx| account::add_entry(tx, author, EntryId::new(), &entry),
        )
        .unwrap();
    }
    doc
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn cold_join(bencher: Bencher) {
    let fx = fixture();
    bencher
        .with_inputs(|| tempfile::tempdir().unwrap())
        .bench_local_values(|dir| {
            let (replica, _) = fx
                .runtime
                .block_on(link::join_with(
                    dir.path(),
                    &fx.url,
                    &fx.tokens[1],
                    TIMEOUT,
                    Indexing::Later,
                ))
                .unwrap();
            (replica, dir)
        });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn cold_join_then_index(bencher: Bencher) {
    let fx = fixture();
    bencher
        .with_inputs(|| tempfile::tempdir().unwrap())
        .bench_local_values(|dir| {
            let (replica, _) = fx
                .runtime
                .block_on(link::join(dir.path(), &fx.url, &fx.tokens[1], TIMEOUT))
                .unwrap();
            (replica, dir)
        });
}

/// A joined replica, kept between samples.
fn joined(token: &str) -> (TempDir, RefCell<Option<Replica>>) {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (replica, _) = fx
        .runtime
        .block_on(link::join(dir.path(), &fx.url, token, TIMEOUT))
        .unwrap();
    (dir, RefCell::new(Some(replica)))
}

fn sync(slot: &RefCell<Option<Replica>>) {
    let replica = slot.borrow_mut().take().unwrap();
    let (replica, _) = fixture()
        .runtime
        .block_on(link::sync_once(replica, TIMEOUT))
        .unwrap();
    *slot.borrow_mut() = Some(replica);
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn reconnect_unchanged(bencher: Bencher) {
    let (_dir, slot) = joined(&fixture().tokens[2]);
    bencher.bench_local(|| sync(&slot));
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn reconnect_after_a_note(bencher: Bencher) {
    let (_reader_dir, reader) = joined(&fixture().tokens[3]);
    let (_writer_dir, writer) = joined(&fixture().tokens[0]);
    let account = {
        let guard = writer.borrow();
        let replica = guard.as_ref().unwrap();
        replica.accounts().unwrap()[0].id
    };
    bencher
        .with_inputs(|| {
            let mut guard = writer.borrow_mut();
            let replica = guard.as_mut().unwrap();
            let edit = replica.edit_now();
            let entry = NewEntry {
                kind: EntryKind::Note,
                text: "called about the renewal".into(),
                alert: Vec::new(),
            };
            replica
                .change_account(account, &edit, |tx| {
                    account::add_entry(tx, &edit, EntryId::new(), &entry)
                })
                .unwrap();
            drop(guard);
            sync(&writer);
        })
        .bench_local_values(|()| sync(&reader));
}
