//! The summary (every document's stored heads) is kept between reads, and every kind of write
//! makes the next read see it.

use automerge::Automerge;
use rapport_model::Team;
use rapport_store::{REPLICA_FILE, Remote, Replica, Summary};
use tempfile::TempDir;

use crate::{member, new_account, note, workspace};

fn sorted(mut summary: Summary) -> Summary {
    summary.sort();
    summary
}

/// The summary read now (after one read before the write, which is kept) equals what a fresh
/// open of the file reads, and each document's heads are what it holds.
fn read_again(replica: Replica, dir: &TempDir) -> (Replica, Summary) {
    let kept = sorted(replica.summary().unwrap());
    drop(replica);
    let mut reopened = Replica::open(dir.path()).unwrap();
    let fresh = sorted(reopened.summary().unwrap());
    assert_eq!(kept, fresh, "the kept summary missed a write");
    for (id, heads) in &fresh {
        let held = reopened.read_document(*id, Automerge::get_heads).unwrap();
        assert_eq!(held.as_ref(), Some(heads));
    }
    (reopened, fresh)
}

#[test]
fn every_write_shows_in_the_next_summary() {
    let (a_dir, b_dir) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let support = workspace(&a_dir, "ana", Team::Support);
    let (mut support, first) = read_again(support, &a_dir);
    assert_eq!(first.len(), 1, "the workspace document alone");

    // An account made here, then a note on it.
    support.summary().unwrap();
    let globex = new_account(&mut support, "Globex");
    let (mut support, made) = read_again(support, &a_dir);
    assert_eq!(made.len(), 2);
    support.summary().unwrap();
    note(&mut support, globex, "asked for a quote", &[]);
    let (mut support, noted) = read_again(support, &a_dir);
    assert_ne!(made, noted, "the note moved the account's heads");

    // Documents stored as the relay sent them, then merged from whole documents.
    let mut sales = member(&b_dir, &support, "bo", Team::Sales);
    assert!(sales.summary().unwrap().is_empty());
    let incoming = [support.workspace_id(), globex]
        .into_iter()
        .map(|id| {
            let saved = support.saved_document(id).unwrap().unwrap();
            (id, saved.data, saved.heads)
        })
        .collect();
    sales.store_unverified(incoming).unwrap();
    let (mut sales, stored) = read_again(sales, &b_dir);
    assert_eq!(stored, noted);
    note(&mut support, globex, "quote sent", &[]);
    let initech = new_account(&mut support, "Initech");
    let whole = [globex, initech]
        .into_iter()
        .map(|id| {
            let saved = support.saved_document(id).unwrap().unwrap();
            (id, Automerge::load(&saved.data).unwrap(), saved.data)
        })
        .collect();
    sales.summary().unwrap();
    sales.import_documents(whole).unwrap();
    let (mut sales, imported) = read_again(sales, &b_dir);
    let (support, on_support) = read_again(support, &a_dir);
    let heads_of = |summary: &Summary, id| summary.iter().find(|(d, _)| *d == id).cloned();
    for id in [globex, initech] {
        assert_eq!(heads_of(&imported, id), heads_of(&on_support, id));
    }
    drop(support);

    // A change applied as a sync would, held and then committed.
    let mut theirs =
        Automerge::load(&sales.saved_document(initech).unwrap().unwrap().data).unwrap();
    let mut other = Replica::open(a_dir.path()).unwrap();
    note(&mut other, initech, "renewal due", &[]);
    let change = other.saved_document(initech).unwrap().unwrap().data;
    drop(other);
    theirs.load_incremental(&change).unwrap();
    sales.summary().unwrap();
    sales.hold_remote_changes();
    sales
        .apply_remote(initech, false, |doc, _| doc.merge(&mut theirs))
        .unwrap()
        .unwrap()
        .unwrap();
    sales.commit_held().unwrap();
    let (_, synced) = read_again(sales, &b_dir);
    let (_, on_support) = read_again(Replica::open(a_dir.path()).unwrap(), &a_dir);
    assert_eq!(heads_of(&synced, initech), heads_of(&on_support, initech));
    assert_ne!(heads_of(&synced, initech), heads_of(&imported, initech));
}

#[test]
fn setting_the_relay_it_has_again_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let remote = Remote {
        url: "ws://127.0.0.1:9/".into(),
        token: Some("secret".into()),
        ca_cert: None,
    };
    replica.set_remote(&remote).unwrap();
    let file = dir.path().join(REPLICA_FILE);
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    replica.set_remote(&remote).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written
    );
    let other = Remote {
        url: "ws://127.0.0.1:10/".into(),
        ..remote
    };
    replica.set_remote(&other).unwrap();
    assert_ne!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written
    );
    assert_eq!(replica.remote().unwrap(), Some(other));
}
