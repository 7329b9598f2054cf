//! Documents holding a change timed at the ends of `i64`: Automerge's column code panics
//! adding such a time to ordinary ones (applying the change, saving, loading), so the replica
//! refuses them with an error wherever their bytes come in, and reads one it already holds
//! as damaged.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ROOT};
use rapport_model::{DocumentId, Team};
use rapport_store::{Replica, StoreError};
use tempfile::TempDir;

use crate::{member, new_account, note, workspace};

/// A change that depends on nothing (so it applies to any document), committed at `time`:
/// made on a document of its own, since Automerge panics making it beside ordinary times.
fn change_at(time: i64) -> Vec<u8> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "mallory", "was here").unwrap();
    tx.commit_with(CommitOptions::default().with_time(time));
    doc.save_after(&[])
}

/// Ana's replica with an account holding a note, and the account's bytes with a change at
/// `i64::MIN` after them.
fn ana_and_poisoned_account(dir: &TempDir) -> (Replica, DocumentId, Vec<u8>) {
    let mut ana = workspace(dir, "ana", Team::Support);
    let globex = new_account(&mut ana, "Globex");
    note(&mut ana, globex, "called about the renewal", &[]);
    let mut poisoned = ana.document_bytes(globex).unwrap();
    poisoned.extend(change_at(i64::MIN));
    (ana, globex, poisoned)
}

fn assert_refused_for_its_time(result: Result<impl std::fmt::Debug, StoreError>) {
    match result {
        Err(error @ StoreError::DamagedDocument { .. }) => {
            assert!(error.to_string().contains("is outside"), "{error}");
        }
        other => panic!("expected the document refused as damaged, got {other:?}"),
    }
}

#[test]
fn merging_a_document_with_a_change_timed_past_i64_is_an_error_and_stores_nothing() {
    let (a_dir, b_dir) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut ana, globex, poisoned) = ana_and_poisoned_account(&a_dir);
    let heads = ana.heads(globex).unwrap();
    let unsynced = ana.unsynced().unwrap();

    assert_refused_for_its_time(ana.merge_document(globex, &poisoned));
    assert_eq!(ana.heads(globex).unwrap(), heads);
    assert_eq!(ana.unsynced().unwrap(), unsynced, "nothing new to send");
    let mut bo = member(&b_dir, &ana, "bo", Team::Sales);
    assert_refused_for_its_time(bo.merge_document(globex, &poisoned));
    assert!(matches!(
        bo.account(globex),
        Err(StoreError::UnknownDocument { .. })
    ));

    drop(ana);
    let mut ana = Replica::open(a_dir.path()).unwrap();
    let saved = Automerge::load(&ana.document_bytes(globex).unwrap()).unwrap();
    assert_eq!(saved.get_heads(), heads);
    assert_eq!(ana.account(globex).unwrap().timeline.len(), 1);
}

#[test]
fn a_stored_document_with_such_a_change_reads_as_damaged_and_indexing_drops_it() {
    let (a_dir, b_dir) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut ana, globex, poisoned) = ana_and_poisoned_account(&a_dir);
    let mut bo = member(&b_dir, &ana, "bo", Team::Sales);
    // What a replica fetching from a relay stores unread (or an older version let in).
    let heads = ana.stored_heads(globex).unwrap().unwrap();
    bo.store_unverified(vec![(globex, poisoned, heads)])
        .unwrap();

    assert_refused_for_its_time(bo.account(globex));
    assert_refused_for_its_time(bo.document_bytes(globex));
    assert_eq!(bo.index_pending(10).unwrap(), 0);
    assert_eq!(
        bo.stored_heads(globex).unwrap(),
        None,
        "dropped, to fetch again"
    );
    bo.merge_document(globex, &ana.document_bytes(globex).unwrap())
        .unwrap();
    assert_eq!(bo.account(globex).unwrap().timeline.len(), 1);
}
