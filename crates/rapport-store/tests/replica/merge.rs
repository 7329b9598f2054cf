//! Changes from elsewhere: merged bytes, sync messages, imports and documents stored unverified; and what the relay has not seen from here.

use rapport_model::Team;
use rapport_store::{Replica, StoreError};
use tempfile::TempDir;

use crate::{member, new_account, note, workspace};

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
fn a_large_batch_of_unverified_documents_is_checked_on_every_core_and_bad_ones_dropped() {
    // Enough documents that they load on threads beside the indexing one; a damaged one every
    // ten, wherever its loader is.
    let (a_dir, b_dir) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut support = workspace(&a_dir, "ana", Team::Support);
    let ids: Vec<_> = (0..60)
        .map(|i| {
            let id = new_account(&mut support, &format!("Account {i}"));
            note(&mut support, id, &format!("first call number {i}"), &[]);
            id
        })
        .collect();
    let mut sales = member(&b_dir, &support, "bo", Team::Sales);
    let incoming: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut saved = support.saved_document(*id).unwrap().unwrap();
            if i % 10 == 3 {
                let middle = saved.data.len() / 2;
                saved.data[middle] ^= 0xff;
            }
            (*id, saved.data, saved.heads)
        })
        .collect();
    sales.store_unverified(incoming).unwrap();
    assert_eq!(sales.index_pending(1000).unwrap(), 0);
    let mut names: Vec<String> = sales
        .accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    names.sort();
    let mut expected: Vec<String> = (0..60)
        .filter(|i| i % 10 != 3)
        .map(|i| format!("Account {i}"))
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    for (i, id) in ids.iter().enumerate() {
        let kept = sales.saved_document(*id).unwrap().is_some();
        assert_eq!(kept, i % 10 != 3, "account {i}");
    }
    assert_eq!(sales.search("call").unwrap().len(), 54);
}

#[test]
fn changes_held_back_commit_together_before_any_other_write_and_are_durable_once_released() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = workspace(&dir_a, "ana", Team::Support);
    let mut bo = member(&dir_b, &ana, "bo", Team::Sales);
    let accounts = [
        new_account(&mut ana, "Globex"),
        new_account(&mut ana, "Initech"),
    ];
    for id in accounts.into_iter().chain([ana.workspace_id()]) {
        bo.merge_document(id, &ana.document_bytes(id).unwrap())
            .unwrap();
    }
    let bring = |bo: &mut Replica, ana: &mut Replica, id, text: &str| {
        let before = ana.heads(id).unwrap();
        note(ana, id, text, &[]);
        let doc = automerge::Automerge::load(&ana.document_bytes(id).unwrap()).unwrap();
        let changes = doc.save_after(&before);
        bo.apply_remote(id, false, |doc, patches| {
            doc.load_incremental_log_patches(&changes, patches).unwrap()
        })
        .unwrap()
        .unwrap();
    };

    bo.hold_remote_changes();
    bring(&mut bo, &mut ana, accounts[0], "quarterly review booked");
    bring(&mut bo, &mut ana, accounts[1], "quarterly budget approved");
    for id in accounts {
        assert_ne!(
            bo.stored_heads(id).unwrap(),
            Some(bo.heads(id).unwrap()),
            "held: in memory, not in the rows yet"
        );
    }
    assert!(bo.search("quarterly").unwrap().is_empty());

    // A change made here commits what is held first, in one transaction, and counts only
    // itself as unsynced.
    note(&mut bo, accounts[0], "sent the slides", &[]);
    for id in accounts {
        assert_eq!(bo.stored_heads(id).unwrap(), Some(bo.heads(id).unwrap()));
    }
    assert_eq!(bo.search("quarterly").unwrap().len(), 2);
    assert_eq!(bo.unsynced().unwrap(), [accounts[0]]);

    bring(&mut bo, &mut ana, accounts[1], "signed the renewal");
    bo.release_held().unwrap();
    bring(&mut bo, &mut ana, accounts[1], "kickoff next week");
    drop(bo);

    let mut reopened = Replica::open(dir_b.path()).unwrap();
    assert_eq!(reopened.account(accounts[0]).unwrap().timeline.len(), 2);
    assert_eq!(
        reopened.account(accounts[1]).unwrap().timeline.len(),
        3,
        "everything released, and what came after, is on disk"
    );
}

#[test]
fn changes_held_for_more_documents_than_stay_loaded_are_all_committed() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = workspace(&dir_a, "ana", Team::Support);
    let mut bo = member(&dir_b, &ana, "bo", Team::Sales);
    // More accounts than the replica keeps loaded (64), each new to bo: created by the held
    // change itself, so memory is the only place it is until the commit.
    let accounts: Vec<_> = (0..80)
        .map(|i| new_account(&mut ana, &format!("Account {i}")))
        .collect();
    bo.merge_document(
        ana.workspace_id(),
        &ana.document_bytes(ana.workspace_id()).unwrap(),
    )
    .unwrap();
    bo.hold_remote_changes();
    for &id in &accounts {
        let bytes = ana.document_bytes(id).unwrap();
        bo.apply_remote(id, true, |doc, patches| {
            doc.load_incremental_log_patches(&bytes, patches).unwrap()
        })
        .unwrap()
        .unwrap();
    }
    bo.release_held().unwrap();
    drop(bo);
    let mut reopened = Replica::open(dir_b.path()).unwrap();
    assert_eq!(reopened.accounts().unwrap().len(), accounts.len());
    for &id in &accounts {
        assert_eq!(reopened.heads(id).unwrap(), ana.heads(id).unwrap());
    }
}
