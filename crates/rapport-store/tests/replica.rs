//! The replica on real redb files in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use rapport_model::account::{self, NewAccount, NewDeal, NewEntry};
use rapport_model::{AccountAssignment, DealId, Edit, EntryId, EntryKind, Money, Team, Touched};
use rapport_store::{
    OpenError, RELAY_FILE, REPLICA_FILE, RelayStore, Replica, StoreError, WeekActivity,
};
use tempfile::TempDir;

fn workspace(dir: &TempDir, user: &str, team: Team) -> Replica {
    Replica::create_workspace(dir.path(), "Acme Corp", user.parse().unwrap(), team).unwrap()
}

/// A replica for another member of `of`'s workspace, which has none of its documents yet.
fn member(dir: &TempDir, of: &Replica, user: &str, team: Team) -> Replica {
    Replica::create(dir.path(), of.workspace_id(), user.parse().unwrap(), team).unwrap()
}

fn note(
    replica: &mut Replica,
    account: rapport_model::DocumentId,
    text: &str,
    alert: &[&str],
) -> EntryId {
    let edit = replica.edit_now();
    let id = EntryId::new();
    let entry = NewEntry {
        kind: EntryKind::Note,
        text: text.into(),
        alert: alert.iter().map(|a| a.parse().unwrap()).collect(),
    };
    replica
        .change_account(account, &edit, |tx| {
            account::add_entry(tx, &edit, id, &entry)
        })
        .unwrap();
    id
}

fn new_account(replica: &mut Replica, name: &str) -> rapport_model::DocumentId {
    let edit = replica.edit_now();
    replica
        .create_account(
            &edit,
            &NewAccount {
                name: name.into(),
                ..Default::default()
            },
        )
        .unwrap()
}

#[test]
fn everything_written_is_there_after_reopen() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let id = new_account(&mut replica, "Globex");
    let notes: Vec<EntryId> = (0..80)
        .map(|i| note(&mut replica, id, &format!("note number {i}"), &[]))
        .collect();
    let before = replica.account(id).unwrap();
    drop(replica);

    let mut reopened = Replica::open(dir.path()).unwrap();
    let after = reopened.account(id).unwrap();
    assert_eq!(before, after);
    let ids: Vec<EntryId> = after.timeline.iter().map(|e| e.id).collect();
    assert_eq!(
        ids, notes,
        "80 notes, in order, across more than two compactions"
    );
    assert_eq!(reopened.accounts().unwrap()[0].entries, 80);
    assert_eq!(reopened.workspace().unwrap().accounts, 1);
}

#[test]
fn documents_changed_here_stay_unsynced_across_reopen_until_marked_synced() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let workspace_id = replica.workspace_id();
    let sorted = |mut ids: Vec<rapport_model::DocumentId>| {
        ids.sort_by_key(ToString::to_string);
        ids
    };
    assert_eq!(replica.unsynced().unwrap(), [workspace_id]);
    replica.mark_synced(&[workspace_id]).unwrap();
    assert_eq!(replica.unsynced().unwrap(), []);

    let globex = new_account(&mut replica, "Globex");
    note(&mut replica, globex, "called about the renewal", &[]);
    drop(replica);
    let mut reopened = Replica::open(dir.path()).unwrap();
    assert_eq!(
        sorted(reopened.unsynced().unwrap()),
        sorted(vec![workspace_id, globex]),
        "the new account, and the workspace that lists it"
    );
    reopened.mark_synced(&[globex, workspace_id]).unwrap();
    assert_eq!(reopened.unsynced().unwrap(), []);
}

#[test]
fn search_finds_accounts_by_any_indexed_word_prefix() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let globex = new_account(&mut replica, "Globex Corporation");
    let initech = new_account(&mut replica, "Initech");
    note(
        &mut replica,
        initech,
        "They asked about the Enterprise plan",
        &[],
    );
    let edit = replica.edit_now();
    replica
        .change_account(globex, &edit, |tx| {
            account::set(
                tx,
                &[AccountAssignment::parse("domain=globex.example").unwrap()],
            )
        })
        .unwrap();

    let names = |query: &str| {
        replica
            .search(query)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names("enterprise"), ["Initech"]);
    assert_eq!(names("ENTER"), ["Initech"], "prefix, case-insensitive");
    assert_eq!(names("globex.example"), ["Globex Corporation"]);
    assert_eq!(
        names("corp glob"),
        ["Globex Corporation"],
        "every word must match"
    );
    assert!(names("enterprise globex").is_empty());
    assert_eq!(names("").len(), 2);
}

#[test]
fn renaming_a_field_replaces_its_search_terms() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let id = new_account(&mut replica, "Umbrella");
    let edit = replica.edit_now();
    replica
        .change_account(id, &edit, |tx| {
            account::set(tx, &[AccountAssignment::parse("name=Vought").unwrap()])
        })
        .unwrap();
    assert!(replica.search("umbrella").unwrap().is_empty());
    assert_eq!(replica.search("vought").unwrap().len(), 1);
    assert_eq!(replica.accounts().unwrap()[0].name, "Vought");
}

#[test]
fn a_notes_alert_reaches_the_other_replica_and_acknowledgement_follows_the_user() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = workspace(&dir_a, "ana", Team::Support);
    let mut bo = member(&dir_b, &ana, "bo", Team::Sales);
    let globex = new_account(&mut ana, "Globex");
    let alert = note(
        &mut ana,
        globex,
        "customer asked about the enterprise plan",
        &["sales"],
    );
    note(&mut ana, globex, "just a note", &[]);
    for id in [ana.workspace_id(), globex] {
        assert!(
            bo.merge_document(id, &ana.document_bytes(id).unwrap())
                .unwrap()
        );
    }

    assert!(
        ana.alerts(true).unwrap().is_empty(),
        "an alert never alerts its author"
    );
    let inbox = bo.alerts(false).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].id, alert.to_string());
    assert_eq!(inbox[0].author, "ana");
    assert_eq!(bo.workspace().unwrap().name, "Acme Corp");
    assert_eq!(bo.accounts().unwrap().len(), 1);

    let edit = bo.edit_now();
    bo.acknowledge(&edit, &alert.to_string()[..20]).unwrap();
    assert!(bo.alerts(false).unwrap().is_empty());
    assert!(bo.alerts(true).unwrap()[0].acknowledged);

    // The acknowledgement is data in the document: a second device of bo's sees it after merging.
    let dir_c = TempDir::new().unwrap();
    let mut bo_laptop = member(&dir_c, &ana, "bo", Team::Sales);
    for id in [ana.workspace_id(), globex] {
        bo_laptop
            .merge_document(id, &bo.document_bytes(id).unwrap())
            .unwrap();
    }
    assert!(bo_laptop.alerts(false).unwrap().is_empty());
    assert_eq!(bo_laptop.alerts(true).unwrap().len(), 1);
}

#[test]
fn merging_the_same_bytes_twice_changes_nothing_and_bad_bytes_are_refused() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = workspace(&dir_a, "ana", Team::Support);
    let mut bo = member(&dir_b, &ana, "bo", Team::Sales);
    let globex = new_account(&mut ana, "Globex");
    let bytes = ana.document_bytes(globex).unwrap();
    assert!(bo.merge_document(globex, &bytes).unwrap());
    assert!(!bo.merge_document(globex, &bytes).unwrap());
    let before = bo.account(globex).unwrap();

    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    assert!(matches!(
        bo.merge_document(globex, &damaged),
        Err(StoreError::DamagedDocument { .. })
    ));
    assert!(matches!(
        bo.merge_document(globex, b"not automerge"),
        Err(StoreError::DamagedDocument { .. })
    ));
    assert_eq!(bo.account(globex).unwrap(), before);
    drop(bo);
    assert_eq!(
        Replica::open(dir_b.path())
            .unwrap()
            .account(globex)
            .unwrap(),
        before
    );
}

#[test]
fn a_foreign_document_is_kept_but_left_out_until_it_reads_as_an_account() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let ana = workspace(&dir_a, "ana", Team::Support);
    let mut bo = member(&dir_b, &ana, "bo", Team::Sales);
    let mut foreign = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(&mut foreign, automerge::ROOT, "type", "account")
        .unwrap();
    automerge::transaction::Transactable::put(&mut foreign, automerge::ROOT, "name", 42).unwrap();
    let id = rapport_model::DocumentId::random();
    assert!(bo.merge_document(id, &foreign.save()).unwrap());

    let err = bo.account(id).unwrap_err();
    assert!(matches!(err, StoreError::Shape { .. }), "{err}");
    assert!(
        err.to_string().contains("name"),
        "the error names the field: {err}"
    );
    assert!(bo.accounts().unwrap().is_empty(), "not listed");
    assert!(!bo.document_bytes(id).unwrap().is_empty(), "but kept");

    // Mended by its author, it reads and is listed.
    automerge::transaction::Transactable::put(&mut foreign, automerge::ROOT, "name", "Mended Co")
        .unwrap();
    assert!(bo.merge_document(id, &foreign.save()).unwrap());
    assert_eq!(bo.accounts().unwrap()[0].name, "Mended Co");
    drop(bo);
    let reopened = Replica::open(dir_b.path()).unwrap();
    assert_eq!(reopened.accounts().unwrap().len(), 1);
}

#[test]
fn a_sync_message_applied_remotely_is_durable_and_indexed() {
    use automerge::sync::{State, SyncDoc};
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = workspace(&dir_a, "ana", Team::Support);
    let globex = new_account(&mut ana, "Globex");
    note(
        &mut ana,
        globex,
        "asked about the enterprise plan",
        &["sales"],
    );
    let theirs = automerge::Automerge::load(&ana.document_bytes(globex).unwrap()).unwrap();
    let mut bo = member(&dir_b, &ana, "bo", Team::Sales);
    assert_eq!(
        bo.apply_remote(globex, false, |_, _| ()).unwrap(),
        None,
        "unknown without create"
    );

    // Sync the account into bo's replica, message by message, as a connection would.
    let (mut ours, mut mine) = (State::new(), State::new());
    for _ in 0..10 {
        let Some(message) = theirs.generate_sync_message(&mut ours) else {
            break;
        };
        let reply = bo
            .apply_remote(globex, true, |doc, patches| {
                doc.receive_sync_message_log_patches(&mut mine, message, patches)
                    .unwrap();
                doc.generate_sync_message(&mut mine)
            })
            .unwrap()
            .unwrap();
        if let Some(reply) = reply {
            let mut copy = theirs.clone();
            copy.receive_sync_message(&mut ours, reply).unwrap();
        }
    }
    assert_eq!(bo.heads(globex).unwrap(), theirs.get_heads());
    assert_eq!(
        bo.unsynced().unwrap(),
        [],
        "what came from elsewhere is nothing the relay lacks"
    );
    assert_eq!(bo.search("enterprise").unwrap().len(), 1);
    assert_eq!(
        bo.alerts(false).unwrap().len(),
        1,
        "the alert for sales reached bo"
    );
    drop(bo);
    let mut reopened = Replica::open(dir_b.path()).unwrap();
    assert_eq!(
        reopened.account(globex).unwrap().timeline.len(),
        1,
        "durable"
    );
}

#[test]
fn garbage_truncated_and_foreign_files_are_refused_and_left_untouched() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(REPLICA_FILE);
    let foreign_redb = {
        let other = TempDir::new().unwrap();
        let db = redb::Database::create(other.path().join("x.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("stuff"))
            .unwrap()
            .insert("a", 1)
            .unwrap();
        txn.commit().unwrap();
        drop(db);
        fs::read(other.path().join("x.redb")).unwrap()
    };
    let healthy = {
        let good = TempDir::new().unwrap();
        drop(workspace(&good, "ana", Team::Sales));
        fs::read(good.path().join(REPLICA_FILE)).unwrap()
    };
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "garbage",
            b"this is not a database at all, just text".repeat(100),
        ),
        ("truncated", healthy[..5].to_vec()),
        ("foreign redb", foreign_redb),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in cases {
        fs::write(&path, &bytes).unwrap();
        let err = Replica::open(dir.path()).unwrap_err();
        assert!(
            matches!(err, OpenError::NotAReplica { .. }),
            "{what}: {err}"
        );
        assert!(
            err.to_string().contains(REPLICA_FILE),
            "{what}: the error names the file: {err}"
        );
        assert!(
            fs::read(&path).unwrap() == bytes,
            "{what}: the file was changed"
        );
    }
}

#[test]
fn missing_existing_and_busy_replicas_get_clear_errors() {
    let dir = TempDir::new().unwrap();
    assert!(matches!(
        Replica::open(dir.path()),
        Err(OpenError::Missing { .. })
    ));
    let replica = workspace(&dir, "ana", Team::Sales);
    let again = Replica::create_workspace(dir.path(), "Other", "bo".parse().unwrap(), Team::Sales);
    assert!(matches!(again, Err(OpenError::AlreadyExists { .. })));
    assert!(matches!(
        Replica::open(dir.path()),
        Err(OpenError::InUse { .. })
    ));
    drop(replica);
    assert!(Replica::open(dir.path()).is_ok());
}

#[test]
fn an_unwritable_directory_is_an_error_not_a_panic() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, b"x").unwrap();
    let err =
        Replica::create_workspace(&file.join("sub"), "W", "ana".parse().unwrap(), Team::Sales)
            .unwrap_err();
    assert!(matches!(err, OpenError::Directory { .. }), "{err}");
}

#[test]
fn rebuilding_the_indexes_gives_the_same_answers() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = workspace(&dir_a, "ana", Team::Support);
    let mut bo = member(&dir_b, &ana, "bo", Team::Sales);
    let ids: Vec<_> = ["Globex", "Initech", "Umbrella"]
        .iter()
        .map(|n| new_account(&mut ana, n))
        .collect();
    note(&mut ana, ids[1], "renewal risk flagged", &["sales"]);
    note(&mut ana, ids[2], "needs a call", &["@bo"]);
    for id in ids.iter().copied().chain([ana.workspace_id()]) {
        bo.merge_document(id, &ana.document_bytes(id).unwrap())
            .unwrap();
    }
    let edit = bo.edit_now();
    let first = bo.alerts(false).unwrap()[0].id.clone();
    bo.acknowledge(&edit, &first).unwrap();
    let before = (
        bo.accounts().unwrap(),
        bo.search("renewal").unwrap(),
        bo.alerts(true).unwrap(),
    );
    bo.rebuild_indexes().unwrap();
    let after = (
        bo.accounts().unwrap(),
        bo.search("renewal").unwrap(),
        bo.alerts(true).unwrap(),
    );
    assert_eq!(before, after);
    assert_eq!(after.2.len(), 2);
}

#[test]
fn damaged_pages_give_errors_never_a_panic_and_the_file_is_left_as_it_was() {
    use rand::{Rng, SeedableRng};
    let healthy = TempDir::new().unwrap();
    let mut replica = workspace(&healthy, "ana", Team::Support);
    let ids: Vec<_> = (0..30)
        .map(|i| new_account(&mut replica, &format!("Account {i}")))
        .collect();
    note(
        &mut replica,
        ids[3],
        "customer asked about pricing",
        &["sales"],
    );
    drop(replica);
    let bytes = fs::read(healthy.path().join(REPLICA_FILE)).unwrap();
    let seed: u64 = rand::random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for round in 0..20 {
        let mut damaged = bytes.clone();
        for _ in 0..rng.random_range(1..200) {
            let at = rng.random_range(4096..damaged.len());
            damaged[at] ^= rng.random_range(1..=255u8);
        }
        let dir = TempDir::new().unwrap();
        let path = dir.path().join(REPLICA_FILE);
        fs::write(&path, &damaged).unwrap();
        // Opening or reading may fail, with an error; it must not panic, whatever was damaged,
        // and a file that is refused is left as it was.
        match Replica::open(dir.path()) {
            Err(err) => {
                assert!(
                    err.to_string().contains(REPLICA_FILE),
                    "seed {seed} round {round}: {err}"
                );
                assert!(
                    fs::read(&path).unwrap() == damaged,
                    "seed {seed} round {round}: a refused file was changed"
                );
            }
            Ok(mut replica) => {
                let _ = replica.accounts();
                let _ = replica.search("pricing");
                let _ = replica.alerts(true);
                for id in &ids {
                    let _ = replica.account(*id);
                }
            }
        }
    }
}

#[test]
fn imported_documents_are_stored_indexed_and_summarised_and_known_ones_merged() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut support = workspace(&a_dir, "ana", Team::Support);
    let globex = new_account(&mut support, "Globex");
    note(
        &mut support,
        globex,
        "asked about the enterprise plan",
        &["sales"],
    );
    let initech = new_account(&mut support, "Initech");
    let mut sales = member(&b_dir, &support, "bo", Team::Sales);
    let load = |replica: &mut Replica, id| {
        let bytes = replica.saved_document(id).unwrap().unwrap().data;
        (id, automerge::Automerge::load(&bytes).unwrap(), bytes)
    };
    let workspace_id = support.workspace_id();
    let batch = vec![load(&mut support, workspace_id), load(&mut support, globex)];
    let imported = sales.import_documents(batch).unwrap();
    assert!(
        imported
            .iter()
            .all(|(heads, changed)| *changed && !heads.is_empty())
    );
    assert_eq!(sales.accounts().unwrap().len(), 1);
    assert_eq!(
        sales.alerts(false).unwrap().len(),
        1,
        "the alert is indexed on import"
    );
    assert_eq!(sales.search("enterprise").unwrap().len(), 1);

    // Globex again, with a note more: merged into what is there, not replacing it.
    note(&mut sales, globex, "quote sent", &[]);
    note(&mut support, globex, "follow-up call booked", &[]);
    let again = vec![load(&mut support, globex), load(&mut support, initech)];
    sales.import_documents(again).unwrap();
    let texts: Vec<String> = sales
        .account(globex)
        .unwrap()
        .timeline
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    drop(sales);
    let mut sales = Replica::open(b_dir.path()).unwrap();
    let summary = sales.summary().unwrap();
    assert_eq!(summary.len(), 3);
    for (id, heads) in summary {
        assert_eq!(
            heads,
            sales.heads(id).unwrap(),
            "the heads row of {id} is current"
        );
    }
}

#[test]
fn documents_stored_unverified_read_at_once_and_join_lists_search_and_alerts_once_indexed() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut support = workspace(&a_dir, "ana", Team::Support);
    let globex = new_account(&mut support, "Globex");
    note(
        &mut support,
        globex,
        "asked about the enterprise plan",
        &["sales"],
    );
    let initech = new_account(&mut support, "Initech");
    let mut sales = member(&b_dir, &support, "bo", Team::Sales);
    let workspace_id = support.workspace_id();
    let incoming: Vec<_> = [workspace_id, globex, initech]
        .into_iter()
        .map(|id| {
            let saved = support.saved_document(id).unwrap().unwrap();
            (id, saved.data, saved.heads)
        })
        .collect();
    let stored = sales.store_unverified(incoming.clone()).unwrap();
    assert!(
        stored
            .iter()
            .all(|(heads, changed)| *changed && !heads.is_empty())
    );
    assert_eq!(sales.unindexed().unwrap(), 3);
    // Readable at once, loaded on first use; not listed until indexed.
    assert_eq!(sales.account(globex).unwrap().timeline.len(), 1);
    assert_eq!(sales.workspace().unwrap().accounts, 2);
    assert!(sales.accounts().unwrap().is_empty());
    assert!(sales.alerts(false).unwrap().is_empty());
    assert_eq!(
        sales.summary().unwrap().len(),
        3,
        "the summary has them already"
    );

    // Storing the same again leaves them be.
    let again = sales.store_unverified(incoming).unwrap();
    assert!(again.iter().all(|(_, changed)| !changed));

    assert_eq!(sales.index_pending(2).unwrap(), 1, "one left after two");
    assert_eq!(sales.index_pending(100).unwrap(), 0);
    assert_eq!(sales.accounts().unwrap().len(), 2);
    assert_eq!(sales.alerts(false).unwrap().len(), 1);
    assert_eq!(sales.search("enterprise").unwrap().len(), 1);
    drop(sales);
    let sales = Replica::open(b_dir.path()).unwrap();
    assert_eq!(sales.unindexed().unwrap(), 0);
    assert_eq!(sales.accounts().unwrap().len(), 2);
}

#[test]
fn an_unverified_document_that_does_not_load_is_dropped_and_wrong_heads_are_corrected() {
    check_unverified_documents(|replica| {
        assert_eq!(replica.index_pending(10).unwrap(), 0);
    });
}

#[test]
fn rebuilding_the_indexes_checks_unverified_documents_the_same_way() {
    check_unverified_documents(|replica| replica.rebuild_indexes().unwrap());
}

/// Stores a good document with wrong heads and a damaged one as a cold join would, runs
/// `index`, and checks the first is indexed with its true heads and the second dropped.
fn check_unverified_documents(index: impl FnOnce(&mut Replica)) {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut support = workspace(&a_dir, "ana", Team::Support);
    let globex = new_account(&mut support, "Globex");
    let initech = new_account(&mut support, "Initech");
    let mut sales = member(&b_dir, &support, "bo", Team::Sales);
    let good = support.saved_document(globex).unwrap().unwrap();
    let mut damaged = support.saved_document(initech).unwrap().unwrap();
    let middle = damaged.data.len() / 2;
    damaged.data[middle] ^= 0xff;
    let claimed = vec![automerge::ChangeHash([7; 32])];
    sales
        .store_unverified(vec![
            (globex, good.data, claimed.clone()),
            (initech, damaged.data, damaged.heads),
        ])
        .unwrap();
    assert_eq!(sales.stored_heads(globex).unwrap(), Some(claimed));
    index(&mut sales);
    assert_eq!(sales.unindexed().unwrap(), 0);
    assert_eq!(
        sales.stored_heads(globex).unwrap(),
        Some(good.heads),
        "the heads the bytes hold replace the claimed ones"
    );
    assert_eq!(
        sales.stored_heads(initech).unwrap(),
        None,
        "dropped, to fetch again"
    );
    assert!(sales.saved_document(initech).unwrap().is_none());
    let names: Vec<String> = sales
        .accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["Globex"]);
}

#[test]
fn a_relay_store_refuses_a_file_it_did_not_make() {
    let foreign = TempDir::new().unwrap();
    let db = redb::Database::create(foreign.path().join("x.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(redb::TableDefinition::<&str, u64>::new("stuff"))
        .unwrap()
        .insert("a", 1)
        .unwrap();
    txn.commit().unwrap();
    drop(db);
    let replica = TempDir::new().unwrap();
    drop(workspace(&replica, "ana", Team::Sales));
    let cases = [
        ("foreign redb", foreign.path().join("x.redb")),
        ("a replica", replica.path().join(REPLICA_FILE)),
    ];
    for (what, source) in cases {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join(RELAY_FILE);
        fs::copy(&source, &path).unwrap();
        let err = RelayStore::open(dir.path()).unwrap_err();
        assert!(
            matches!(err, OpenError::NotAReplica { .. }),
            "{what}: {err}"
        );
        assert!(
            fs::read(&path).unwrap() == fs::read(&source).unwrap(),
            "{what}: the file was changed"
        );
    }
    let fresh = TempDir::new().unwrap();
    drop(RelayStore::open(fresh.path()).unwrap());
    RelayStore::open(fresh.path()).expect("a relay store reopens");
}

fn add_deal(
    replica: &mut Replica,
    account: rapport_model::DocumentId,
    title: &str,
    stage: &str,
) -> DealId {
    let edit = replica.edit_now();
    let id = DealId::new();
    let deal = NewDeal {
        title: title.into(),
        amount: Money::parse("24000", "eur".parse().unwrap()).unwrap(),
        stage: stage.parse().unwrap(),
        close: Some("2026-12-31".parse().unwrap()),
    };
    replica
        .change_account(account, &edit, |tx| account::add_deal(tx, &edit, id, &deal))
        .unwrap();
    id
}

/// A note by `user` of `team`, written at `at`.
fn entry_at(
    replica: &mut Replica,
    account: rapport_model::DocumentId,
    user: &str,
    team: Team,
    at: &str,
) {
    let edit = Edit {
        user: user.parse().unwrap(),
        team,
        at: at.parse().unwrap(),
    };
    let entry = NewEntry {
        kind: EntryKind::Call,
        text: format!("{user} called"),
        alert: Vec::new(),
    };
    replica
        .change_account(account, &edit, |tx| {
            account::add_entry(tx, &edit, EntryId::new(), &entry)
        })
        .unwrap();
}

/// Runs `f` on a deal's map in the account document, as a foreign peer's edit would.
fn edit_deal_raw(
    replica: &mut Replica,
    account: rapport_model::DocumentId,
    deal: DealId,
    f: impl FnOnce(&mut automerge::transaction::Transaction<'_>, &automerge::ObjId, &str),
) {
    use automerge::ReadDoc;
    let edit = replica.edit_now();
    replica
        .change_account(account, &edit, |tx| {
            let deals = tx.get(automerge::ROOT, "deals")?.unwrap().1;
            f(tx, &deals, &deal.to_string());
            Ok(Touched::deal(deal))
        })
        .unwrap();
}

fn stages(replica: &Replica) -> Vec<(String, String)> {
    replica
        .deals()
        .unwrap()
        .into_iter()
        .map(|row| (row.deal.title, row.deal.stage))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn pair(title: &str, stage: &str) -> (String, String) {
    (title.to_owned(), stage.to_owned())
}

#[test]
fn the_pipeline_board_follows_new_deals_stage_moves_and_removals_and_matches_the_accounts() {
    let dir = TempDir::new().unwrap();
    let mut ana = workspace(&dir, "ana", Team::Sales);
    assert!(ana.deals().unwrap().is_empty());
    let globex = new_account(&mut ana, "Globex");
    let initech = new_account(&mut ana, "Initech");
    let upgrade = add_deal(&mut ana, globex, "Upgrade", "proposal");
    let renewal = add_deal(&mut ana, initech, "Renewal", "qualified");
    let seats = add_deal(&mut ana, initech, "More seats", "lead");
    assert_eq!(
        stages(&ana),
        [
            pair("More seats", "lead"),
            pair("Renewal", "qualified"),
            pair("Upgrade", "proposal")
        ]
    );

    let edit = ana.edit_now();
    let won = "won".parse().unwrap();
    ana.change_account(globex, &edit, |tx| account::move_deal(tx, upgrade, &won))
        .unwrap();
    assert!(stages(&ana).contains(&pair("Upgrade", "won")));
    for id in [globex, initech] {
        let on_board: Vec<_> = ana
            .deals()
            .unwrap()
            .into_iter()
            .filter(|row| row.account == id)
            .map(|row| row.deal)
            .collect();
        assert_eq!(on_board, ana.account(id).unwrap().deals);
    }
    let json = serde_json::to_value(&ana.deals().unwrap()[0]).unwrap();
    for field in [
        "account", "id", "title", "amount", "currency", "stage", "close",
    ] {
        assert!(json.get(field).is_some(), "{field} in {json}");
    }

    edit_deal_raw(&mut ana, initech, renewal, |tx, deals, key| {
        automerge::transaction::Transactable::delete(tx, deals, key).unwrap();
    });
    edit_deal_raw(&mut ana, initech, seats, |tx, deals, key| {
        let deal = automerge::ReadDoc::get(tx, deals, key).unwrap().unwrap().1;
        automerge::transaction::Transactable::put(tx, &deal, "title", 42).unwrap();
    });
    assert_eq!(
        stages(&ana),
        [pair("Upgrade", "won")],
        "a removed deal and one of a foreign shape are off the board"
    );
}

#[test]
fn activity_counts_entries_per_author_team_per_week_and_survives_rebuild_and_reopen() {
    let dir = TempDir::new().unwrap();
    let mut ana = workspace(&dir, "ana", Team::Sales);
    let globex = new_account(&mut ana, "Globex");
    let initech = new_account(&mut ana, "Initech");
    add_deal(&mut ana, globex, "Upgrade", "proposal");
    entry_at(
        &mut ana,
        globex,
        "bo",
        Team::Marketing,
        "2026-11-10T09:00:00Z",
    );
    entry_at(&mut ana, globex, "ana", Team::Sales, "2026-11-24T09:00:00Z");
    entry_at(
        &mut ana,
        initech,
        "ana",
        Team::Sales,
        "2026-11-29T23:59:59Z",
    );
    entry_at(
        &mut ana,
        initech,
        "cy",
        Team::Support,
        "2026-11-23T00:00:00Z",
    );
    entry_at(
        &mut ana,
        initech,
        "cy",
        Team::Support,
        "2026-11-08T23:59:59Z",
    );
    entry_at(
        &mut ana,
        initech,
        "cy",
        Team::Support,
        "2026-11-30T00:00:00Z",
    );
    // A Sunday: the last of the three weeks runs from Monday 2026-11-23.
    let now: jiff::Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
    let week = |week: &str, sales, marketing, support| WeekActivity {
        week: week.into(),
        sales,
        marketing,
        support,
    };
    let expected = [
        week("2026-11-09", 0, 1, 0),
        week("2026-11-16", 0, 0, 0),
        week("2026-11-23", 2, 0, 1),
    ];
    assert_eq!(ana.activity_by_week(3, now).unwrap(), expected);
    assert!(ana.activity_by_week(0, now).unwrap().is_empty());

    let deals = ana.deals().unwrap();
    ana.rebuild_indexes().unwrap();
    assert_eq!(ana.activity_by_week(3, now).unwrap(), expected);
    assert_eq!(ana.deals().unwrap(), deals);
    drop(ana);
    let reopened = Replica::open(dir.path()).unwrap();
    assert_eq!(reopened.activity_by_week(3, now).unwrap(), expected);
    assert_eq!(reopened.deals().unwrap(), deals);
}

/// Drops the boards' tables, as in a replica written before they existed; with `forget`, also
/// the mark that says they were filled.
fn drop_board_tables(dir: &TempDir, forget: bool) {
    let db = redb::Database::open(dir.path().join(REPLICA_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.delete_table(redb::TableDefinition::<(&str, &str), &[u8]>::new("deals"))
        .unwrap();
    txn.delete_table(redb::TableDefinition::<(&str, &str), (&str, i64)>::new(
        "activity",
    ))
    .unwrap();
    if forget {
        txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
            .unwrap()
            .remove("boards")
            .unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_replica_from_before_the_boards_reads_them_empty_and_fills_them_once_on_open() {
    let (a_dir, b_dir) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = workspace(&a_dir, "ana", Team::Sales);
    let globex = new_account(&mut ana, "Globex");
    let initech = new_account(&mut ana, "Initech");
    add_deal(&mut ana, globex, "Upgrade", "proposal");
    add_deal(&mut ana, initech, "Renewal", "lead");
    note(&mut ana, globex, "called about the upgrade", &[]);
    let mut bo = member(&b_dir, &ana, "bo", Team::Support);
    for id in [ana.workspace_id(), globex] {
        bo.merge_document(id, &ana.document_bytes(id).unwrap())
            .unwrap();
    }
    let pending = ana.saved_document(initech).unwrap().unwrap();
    bo.store_unverified(vec![(initech, pending.data, pending.heads)])
        .unwrap();
    let now = jiff::Timestamp::now();
    let activity = bo.activity_by_week(1, now).unwrap();
    assert_eq!(activity[0].sales, 1);
    drop(bo);

    drop_board_tables(&b_dir, false);
    let bo = Replica::open(b_dir.path()).unwrap();
    assert!(
        bo.deals().unwrap().is_empty(),
        "a missing table reads empty"
    );
    assert_eq!(bo.activity_by_week(1, now).unwrap()[0].sales, 0);
    drop(bo);

    drop_board_tables(&b_dir, true);
    let mut bo = Replica::open(b_dir.path()).unwrap();
    assert_eq!(stages(&bo), [pair("Upgrade", "proposal")]);
    assert_eq!(bo.activity_by_week(1, now).unwrap(), activity);
    assert_eq!(bo.unindexed().unwrap(), 1, "the pending document waits");
    bo.index_pending(10).unwrap();
    assert_eq!(
        stages(&bo),
        [pair("Renewal", "lead"), pair("Upgrade", "proposal")]
    );
}
