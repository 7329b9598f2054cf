//! Two real replicas (redb files in temporary directories) syncing through two sessions and the
//! real codec, as they will over a websocket: notes, alerts and conflicts reach the other side
//! durably.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rapport_client::{ReplicaDocuments, workspace_documents};
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{AccountAssignment, DocumentId, EntryId, EntryKind, Team};
use rapport_proto::{Message, PeerId, PeerMetadata, decode, encode};
use rapport_store::Replica;
use rapport_sync::Session;
use tempfile::TempDir;

fn note(replica: &mut Replica, account: DocumentId, text: &str, alert: &[&str]) {
    let edit = replica.edit_now();
    let entry = NewEntry {
        kind: EntryKind::Note,
        text: text.into(),
        alert: alert.iter().map(|a| a.parse().unwrap()).collect(),
    };
    replica
        .change_account(account, &edit, |tx| {
            account::add_entry(tx, &edit, EntryId::new(), &entry)
        })
        .unwrap();
}

fn set(replica: &mut Replica, account: DocumentId, assignment: &str) {
    let edit = replica.edit_now();
    let assignment = AccountAssignment::parse(assignment).unwrap();
    replica
        .change_account(account, &edit, |tx| account::set(tx, &[assignment]))
        .unwrap();
}

/// Connects two replicas with a fresh pair of sessions and syncs every workspace document both
/// ways until neither side has anything left to say (new account ids arrive with the workspace
/// document, so this repeats until the set of documents stops growing).
fn sync(a: &mut Replica, b: &mut Replica) {
    let (mut sa, join) = Session::initiate(PeerId::new("a").unwrap(), PeerMetadata::default());
    let mut sb = Session::accept(PeerId::new("b").unwrap(), PeerMetadata::default(), false);
    deliver(a, &mut sa, b, &mut sb, vec![join]);
    let mut known = 0;
    loop {
        let ids: Vec<DocumentId> = workspace_documents(a)
            .unwrap()
            .into_iter()
            .chain(workspace_documents(b).unwrap())
            .collect();
        if ids.len() == known {
            return;
        }
        known = ids.len();
        for id in ids {
            let from_a = sa.sync_document(id, &mut ReplicaDocuments::new(a)).unwrap();
            deliver(a, &mut sa, b, &mut sb, from_a);
            let from_b = sb.sync_document(id, &mut ReplicaDocuments::new(b)).unwrap();
            deliver(b, &mut sb, a, &mut sa, from_b);
        }
    }
}

/// Delivers `to_b` to b, and every answer back and forth, through the codec, until quiet.
fn deliver(
    a: &mut Replica,
    sa: &mut Session,
    b: &mut Replica,
    sb: &mut Session,
    mut to_b: Vec<Message>,
) {
    for _ in 0..100 {
        let mut to_a = Vec::new();
        for message in to_b.drain(..) {
            let outcome = sb
                .receive(
                    decode(&encode(&message)).unwrap(),
                    &mut ReplicaDocuments::new(b),
                )
                .unwrap();
            assert_eq!(outcome.closed, None);
            to_a.extend(outcome.send);
        }
        for message in to_a {
            let outcome = sa
                .receive(
                    decode(&encode(&message)).unwrap(),
                    &mut ReplicaDocuments::new(a),
                )
                .unwrap();
            to_b.extend(outcome.send);
        }
        if to_b.is_empty() {
            return;
        }
    }
    panic!("sync did not settle");
}

#[test]
fn notes_alerts_and_conflicts_reach_the_other_replica_durably() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut ana = Replica::create_workspace(
        dir_a.path(),
        "Acme Corp",
        "ana".parse().unwrap(),
        Team::Support,
    )
    .unwrap();
    let mut bo = Replica::create(
        dir_b.path(),
        ana.workspace_id(),
        "bo".parse().unwrap(),
        Team::Sales,
    )
    .unwrap();
    let edit = ana.edit_now();
    let globex = ana
        .create_account(
            &edit,
            &NewAccount {
                name: "Globex".into(),
                ..Default::default()
            },
        )
        .unwrap();
    note(
        &mut ana,
        globex,
        "customer asked about the enterprise plan",
        &["sales"],
    );

    sync(&mut ana, &mut bo);
    assert_eq!(bo.workspace().unwrap().name, "Acme Corp");
    assert_eq!(bo.accounts().unwrap().len(), 1);
    let inbox = bo.alerts(false).unwrap();
    assert_eq!(inbox.len(), 1, "the support note alerts sales");
    assert_eq!(inbox[0].text, "customer asked about the enterprise plan");
    assert!(ana.alerts(true).unwrap().is_empty(), "never its own author");

    // Both edit offline: a note each, and the same field set differently.
    note(&mut bo, globex, "sales followed up", &[]);
    set(&mut bo, globex, "phone=+1 555 0100");
    note(&mut ana, globex, "ticket closed", &[]);
    set(&mut ana, globex, "phone=+1 555 0199");
    let edit = bo.edit_now();
    let initech = bo
        .create_account(
            &edit,
            &NewAccount {
                name: "Initech".into(),
                ..Default::default()
            },
        )
        .unwrap();

    sync(&mut bo, &mut ana);
    let (mine, theirs) = (ana.account(globex).unwrap(), bo.account(globex).unwrap());
    assert_eq!(mine, theirs);
    assert_eq!(mine.timeline.len(), 3);
    assert_eq!(mine.conflicts.len(), 1);
    assert_eq!(mine.conflicts[0].field, "phone");
    assert_eq!(
        ana.accounts().unwrap().len(),
        2,
        "bo's new account reached ana"
    );
    assert_eq!(ana.account(initech).unwrap().name, "Initech");
    assert_eq!(
        ana.search("followed").unwrap().len(),
        1,
        "indexed on arrival"
    );

    drop((ana, bo));
    let (mut ana, mut bo) = (
        Replica::open(dir_a.path()).unwrap(),
        Replica::open(dir_b.path()).unwrap(),
    );
    assert_eq!(
        ana.account(globex).unwrap(),
        bo.account(globex).unwrap(),
        "durable on both sides"
    );
    assert_eq!(bo.alerts(false).unwrap().len(), 1);
}
