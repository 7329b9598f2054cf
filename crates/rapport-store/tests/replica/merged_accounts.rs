//! Accounts merged into others: the merged one leaves the lists and resolves to its survivor,
//! and what it gains elsewhere is copied to the survivor however its documents arrive.

use automerge::Automerge;
use rapport_model::{DocumentId, Team};
use rapport_store::Replica;
use tempfile::TempDir;

use crate::{member, new_account, note, workspace};

fn listed(replica: &Replica) -> Vec<DocumentId> {
    replica.accounts().unwrap().iter().map(|a| a.id).collect()
}

fn load(bytes: &[u8]) -> Automerge {
    Automerge::load(bytes).unwrap()
}

#[test]
fn documents_fetched_whole_copy_a_merged_accounts_new_items_to_its_survivor() {
    let (a_dir, b_dir, c_dir) = (
        TempDir::new().unwrap(),
        TempDir::new().unwrap(),
        TempDir::new().unwrap(),
    );
    let mut ana = workspace(&a_dir, "ana", Team::Sales);
    let keep = new_account(&mut ana, "Acme");
    let other = new_account(&mut ana, "Acme Ltd");
    let mut bo = member(&b_dir, &ana, "bo", Team::Support);
    let ws = ana.workspace_id();
    for id in [ws, keep, other] {
        bo.merge_document(id, &ana.document_bytes(id).unwrap())
            .unwrap();
    }
    let offline = note(&mut bo, other, "Written offline", &["sales"]);
    let edit = ana.edit_now();
    ana.merge_accounts(&edit, other, keep).unwrap();

    // What a relay would hold: both sides' changes to the merged account, the note nowhere
    // else yet.
    let mut both = load(&ana.document_bytes(other).unwrap());
    both.merge(&mut load(&bo.document_bytes(other).unwrap()))
        .unwrap();
    let mut cy = member(&c_dir, &ana, "cy", Team::Sales);
    let incoming = [
        (ws, load(&ana.document_bytes(ws).unwrap())),
        (keep, load(&ana.document_bytes(keep).unwrap())),
        (other, both),
    ]
    .into_iter()
    .map(|(id, doc)| (id, doc.save(), doc.get_heads()))
    .collect();
    cy.store_unverified(incoming).unwrap();
    assert_eq!(cy.index_pending(100).unwrap(), 0);

    let kept = cy.account(keep).unwrap();
    assert_eq!(kept.timeline.len(), 1);
    assert_eq!(kept.timeline[0].id, offline);
    assert_eq!(listed(&cy), [keep]);
    assert_eq!(cy.resolve_account(&other.to_string()).unwrap(), keep);
    let alerts = cy.alerts(false).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].account, keep);
    assert_eq!(
        cy.unsynced().unwrap(),
        [keep],
        "the copy is cy's change, for the relay"
    );
}

#[test]
fn opposite_merges_leave_the_smaller_id_listed_after_exchanging_and_after_a_rebuild() {
    let (a_dir, b_dir) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = workspace(&a_dir, "ana", Team::Sales);
    let first = new_account(&mut ana, "Acme");
    let second = new_account(&mut ana, "Acme Ltd");
    let mut bo = member(&b_dir, &ana, "bo", Team::Support);
    let ws = ana.workspace_id();
    for id in [ws, first, second] {
        bo.merge_document(id, &ana.document_bytes(id).unwrap())
            .unwrap();
    }
    let on_first = note(&mut ana, first, "On the first", &[]);
    let on_second = note(&mut bo, second, "On the second", &[]);
    let edit = ana.edit_now();
    ana.merge_accounts(&edit, second, first).unwrap();
    let edit = bo.edit_now();
    bo.merge_accounts(&edit, first, second).unwrap();
    for id in [first, second] {
        bo.merge_document(id, &ana.document_bytes(id).unwrap())
            .unwrap();
        ana.merge_document(id, &bo.document_bytes(id).unwrap())
            .unwrap();
    }

    let survivor = [first, second]
        .into_iter()
        .min_by_key(DocumentId::to_string)
        .unwrap();
    for replica in [&mut ana, &mut bo] {
        assert_eq!(listed(replica), [survivor]);
        for id in [first, second] {
            assert_eq!(replica.resolve_account(&id.to_string()).unwrap(), survivor);
        }
        let mut timeline: Vec<_> = replica
            .account(survivor)
            .unwrap()
            .timeline
            .iter()
            .map(|e| e.id)
            .collect();
        timeline.sort_unstable();
        let mut expected = vec![on_first, on_second];
        expected.sort_unstable();
        assert_eq!(timeline, expected);
    }
    assert_eq!(
        ana.account(survivor).unwrap(),
        bo.account(survivor).unwrap()
    );
    ana.rebuild_indexes().unwrap();
    assert_eq!(listed(&ana), [survivor]);
    assert_eq!(
        ana.search("second")
            .unwrap()
            .iter()
            .map(|a| a.id)
            .collect::<Vec<_>>(),
        [survivor]
    );
}
