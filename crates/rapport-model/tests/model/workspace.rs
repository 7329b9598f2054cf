//! The workspace document: members, pipeline and the set of account documents.

use automerge::Automerge;
use rapport_model::workspace::{self, DEFAULT_PIPELINE, Member};
use rapport_model::{DocumentId, Role, ShapeError, Team};

use crate::{BASE_MS, doc_id, edit_at, replica, sync, user, write};

fn new_workspace() -> Automerge {
    let mut doc = Automerge::new();
    let ana = edit_at("ana", Team::Sales, BASE_MS);
    write(&mut doc, &ana, |tx| {
        workspace::create(tx, &ana, "  Acme Corp CRM ")
    });
    doc
}

#[test]
fn a_new_workspace_has_its_creator_as_admin_and_the_default_pipeline() {
    let doc = new_workspace();
    let view = workspace::view(&doc, doc_id()).unwrap();
    assert_eq!(view.id, doc_id());
    assert_eq!(view.url, doc_id().url());
    assert_eq!(view.name, "Acme Corp CRM");
    assert_eq!(
        view.members,
        [Member {
            user: user("ana"),
            team: Team::Sales,
            role: Role::Admin
        }]
    );
    let pipeline: Vec<&str> = view.pipeline.iter().map(|s| s.as_str()).collect();
    assert_eq!(pipeline, DEFAULT_PIPELINE);
    assert_eq!(view.accounts, 0);
    assert!(workspace::account_ids(&doc).unwrap().is_empty());
    assert_eq!(workspace::members(&doc).unwrap(), view.members);
    assert_eq!(workspace::pipeline(&doc).unwrap(), view.pipeline);
}

#[test]
fn members_are_added_and_updated_and_accounts_round_trip() {
    let mut doc = new_workspace();
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let bo = Member {
        user: user("bo"),
        team: Team::Support,
        role: Role::Member,
    };
    let cy = Member {
        user: user("cy"),
        team: Team::Marketing,
        role: Role::Viewer,
    };
    write(&mut doc, &ana, |tx| {
        workspace::put_member(tx, &cy)?;
        workspace::put_member(tx, &bo)
    });
    let mut accounts = vec![
        DocumentId::from_bytes([1; 16]),
        DocumentId::from_bytes([2; 16]),
        DocumentId::random(),
    ];
    write(&mut doc, &ana, |tx| {
        accounts
            .iter()
            .try_for_each(|id| workspace::add_account(tx, *id))
    });
    // Adding an account twice does not count it twice.
    write(&mut doc, &ana, |tx| workspace::add_account(tx, accounts[0]));

    let view = workspace::view(&doc, doc_id()).unwrap();
    let users: Vec<&str> = view.members.iter().map(|m| m.user.as_str()).collect();
    assert_eq!(users, ["ana", "bo", "cy"], "members by user name");
    assert_eq!(view.members[1], bo);
    assert_eq!(view.members[2], cy);
    assert_eq!(view.accounts, 3);
    let mut ids = workspace::account_ids(&doc).unwrap();
    ids.sort();
    accounts.sort();
    assert_eq!(ids, accounts);

    // Putting an existing member changes their team and role.
    let promoted = Member {
        user: user("bo"),
        team: Team::Sales,
        role: Role::Admin,
    };
    write(&mut doc, &ana, |tx| workspace::put_member(tx, &promoted));
    let members = workspace::members(&doc).unwrap();
    assert_eq!(members.len(), 3);
    assert_eq!(members[1], promoted);
}

#[test]
fn members_and_accounts_added_on_two_replicas_merge() {
    let base = new_workspace();
    let mut a = replica(&base);
    let mut b = replica(&base);
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let (one, two) = (
        DocumentId::from_bytes([1; 16]),
        DocumentId::from_bytes([2; 16]),
    );
    write(&mut a, &ana, |tx| {
        workspace::put_member(
            tx,
            &Member {
                user: user("bo"),
                team: Team::Support,
                role: Role::Member,
            },
        )?;
        workspace::add_account(tx, one)
    });
    write(&mut b, &ana, |tx| {
        workspace::put_member(
            tx,
            &Member {
                user: user("cy"),
                team: Team::Marketing,
                role: Role::Member,
            },
        )?;
        workspace::add_account(tx, two)
    });
    sync(&mut a, &mut b);
    let (view_a, view_b) = (
        workspace::view(&a, doc_id()).unwrap(),
        workspace::view(&b, doc_id()).unwrap(),
    );
    assert_eq!(view_a, view_b);
    assert_eq!(view_a.members.len(), 3);
    assert_eq!(view_a.accounts, 2);
    let mut ids = workspace::account_ids(&a).unwrap();
    ids.sort();
    assert_eq!(ids, [one, two]);
}

#[test]
fn foreign_keys_in_a_workspace_are_skipped_or_reported() {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT, ReadDoc};
    let mut doc = new_workspace();
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        let (_, accounts) = tx.get(ROOT, "accounts")?.unwrap();
        tx.put(&accounts, "not a document id", true)
    })
    .unwrap();
    assert!(
        workspace::account_ids(&doc).unwrap().is_empty(),
        "a key that is no document id names no document"
    );

    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        let (_, members) = tx.get(ROOT, "members")?.unwrap();
        let dee = tx.put_object(&members, "dee", ObjType::Map)?;
        tx.put(&dee, "team", "finance")
    })
    .unwrap();
    assert!(
        matches!(workspace::view(&doc, doc_id()), Err(ShapeError::Invalid { ref path, .. }) if path == "members.dee.team")
    );

    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        let (_, members) = tx.get(ROOT, "members")?.unwrap();
        let (_, dee) = tx.get(&members, "dee")?.unwrap();
        tx.put(&dee, "team", "sales")?;
        let pipeline = tx.put_object(ROOT, "pipeline", ObjType::List)?;
        tx.insert(&pipeline, 0, "Won Deals!")
    })
    .unwrap();
    assert!(
        matches!(workspace::view(&doc, doc_id()), Err(ShapeError::Invalid { ref path, .. }) if path == "pipeline")
    );
}
