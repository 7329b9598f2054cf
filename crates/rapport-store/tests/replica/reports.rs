//! The reports' derived tables: kept in step with each change, rebuilt the same, filled once in
//! a replica from before them.

use rapport_model::account::{self, NewEntry};
use rapport_model::{DocumentId, Edit, EntryId, EntryKind, Team, Touched};
use rapport_store::{AttentionReport, InteractionsReport, REPLICA_FILE, Replica};
use tempfile::TempDir;

use crate::{new_account, workspace};

/// An entry of `kind` by `user` of `team`, written at `at`.
fn entry_at(
    replica: &mut Replica,
    account: DocumentId,
    (user, team): (&str, Team),
    kind: EntryKind,
    at: &str,
) -> EntryId {
    let edit = Edit {
        user: user.parse().unwrap(),
        team,
        at: at.parse().unwrap(),
    };
    let id = EntryId::new();
    let entry = NewEntry {
        kind,
        text: format!("{user} wrote a {kind}"),
        alert: Vec::new(),
    };
    replica
        .change_account(account, &edit, |tx| {
            account::add_entry(tx, &edit, id, &entry)
        })
        .unwrap();
    id
}

const NOW: &str = "2026-12-01T12:00:00Z";
const SAM: (&str, Team) = ("sam", Team::Sales);
const SUE: (&str, Team) = ("sue", Team::Support);

fn reports(replica: &Replica) -> (InteractionsReport, AttentionReport) {
    let now = NOW.parse().unwrap();
    (
        replica.interactions_report(30, now, None).unwrap(),
        replica.attention_report(30, now, None).unwrap(),
    )
}

fn untouched(report: &AttentionReport) -> Vec<&str> {
    report.untouched.iter().map(|a| a.name.as_str()).collect()
}

fn ticketed(report: &AttentionReport) -> Vec<&str> {
    report
        .open_tickets
        .iter()
        .map(|a| a.name.as_str())
        .collect()
}

#[test]
fn reports_follow_each_new_entry_and_a_rebuild_and_a_reopen_give_the_same() {
    let dir = TempDir::new().unwrap();
    let mut ana = workspace(&dir, "ana", Team::Sales);
    let globex = new_account(&mut ana, "Globex");
    let initech = new_account(&mut ana, "Initech");
    new_account(&mut ana, "Hooli");
    let pipeline = ana.workspace().unwrap().pipeline;
    let edit = ana.edit_now();
    let deal = rapport_model::account::NewDeal {
        title: "Renewal".into(),
        amount: rapport_model::Money::parse("1000", "EUR".parse().unwrap()).unwrap(),
        stage: pipeline[1].clone(),
        close: None,
    };
    ana.change_account(initech, &edit, |tx| {
        account::add_deal(tx, &edit, rapport_model::DealId::new(), &deal)
    })
    .unwrap();

    entry_at(
        &mut ana,
        globex,
        SAM,
        EntryKind::Call,
        "2026-10-01T09:00:00Z",
    );
    entry_at(
        &mut ana,
        initech,
        SUE,
        EntryKind::Ticket,
        "2026-11-20T09:00:00Z",
    );
    entry_at(
        &mut ana,
        initech,
        SAM,
        EntryKind::Email,
        "2026-11-25T09:00:00Z",
    );
    let (interactions, attention) = reports(&ana);
    assert_eq!(interactions.entries, 2, "the October call is outside");
    assert_eq!(interactions.teams[0].kinds[&EntryKind::Email], 1);
    assert_eq!(interactions.teams[2].kinds[&EntryKind::Ticket], 1);
    assert_eq!(untouched(&attention), ["Hooli", "Globex"]);
    assert_eq!(ticketed(&attention), ["Initech"]);

    entry_at(
        &mut ana,
        globex,
        SAM,
        EntryKind::Note,
        "2026-11-30T09:00:00Z",
    );
    entry_at(
        &mut ana,
        initech,
        SUE,
        EntryKind::Call,
        "2026-11-26T09:00:00Z",
    );
    let (interactions, attention) = reports(&ana);
    assert_eq!(interactions.entries, 4);
    assert_eq!(untouched(&attention), ["Hooli"]);
    assert!(ticketed(&attention).is_empty(), "support called back");

    ana.rebuild_indexes().unwrap();
    assert_eq!(reports(&ana), (interactions.clone(), attention.clone()));
    drop(ana);
    let reopened = Replica::open(dir.path()).unwrap();
    assert_eq!(reports(&reopened), (interactions, attention));
}

#[test]
fn an_entry_a_peer_turns_into_a_ticket_or_removes_is_counted_as_it_now_reads() {
    let dir = TempDir::new().unwrap();
    let mut ana = workspace(&dir, "ana", Team::Sales);
    let globex = new_account(&mut ana, "Globex");
    let edit = ana.edit_now();
    let deal = rapport_model::account::NewDeal {
        title: "Upgrade".into(),
        amount: rapport_model::Money::parse("50", "USD".parse().unwrap()).unwrap(),
        stage: "proposal".parse().unwrap(),
        close: None,
    };
    ana.change_account(globex, &edit, |tx| {
        account::add_deal(tx, &edit, rapport_model::DealId::new(), &deal)
    })
    .unwrap();
    let call = entry_at(
        &mut ana,
        globex,
        SAM,
        EntryKind::Call,
        "2026-11-28T09:00:00Z",
    );
    assert!(ticketed(&reports(&ana).1).is_empty());

    edit_entry_raw(&mut ana, globex, call, |tx, entry| {
        automerge::transaction::Transactable::put(tx, entry, "kind", "ticket").unwrap();
    });
    let (interactions, attention) = reports(&ana);
    assert_eq!(ticketed(&attention), ["Globex"]);
    assert_eq!(interactions.teams[0].kinds[&EntryKind::Ticket], 1);
    assert_eq!(interactions.teams[0].kinds[&EntryKind::Call], 0);

    edit_entry_raw(&mut ana, globex, call, |tx, _| {
        let timeline = automerge::ReadDoc::get(tx, automerge::ROOT, "timeline")
            .unwrap()
            .unwrap()
            .1;
        automerge::transaction::Transactable::delete(tx, &timeline, call.to_string()).unwrap();
    });
    let (interactions, attention) = reports(&ana);
    assert_eq!(interactions.entries, 0);
    assert!(ticketed(&attention).is_empty());
    assert_eq!(untouched(&attention), ["Globex"]);
    assert_eq!(attention.untouched[0].last_entry, None);
}

/// Runs `f` on an entry's map in the account document, as a foreign peer's edit would.
fn edit_entry_raw(
    replica: &mut Replica,
    account: DocumentId,
    entry: EntryId,
    f: impl FnOnce(&mut automerge::transaction::Transaction<'_>, &automerge::ObjId),
) {
    use automerge::ReadDoc;
    let edit = replica.edit_now();
    replica
        .change_account(account, &edit, |tx| {
            let timeline = tx.get(automerge::ROOT, "timeline")?.unwrap().1;
            let obj = tx.get(&timeline, entry.to_string())?.unwrap().1;
            f(tx, &obj);
            Ok(Touched::entry(entry))
        })
        .unwrap();
}

#[test]
fn a_replica_from_before_the_report_tables_fills_them_once_on_open() {
    let dir = TempDir::new().unwrap();
    let mut ana = workspace(&dir, "ana", Team::Sales);
    let globex = new_account(&mut ana, "Globex");
    entry_at(
        &mut ana,
        globex,
        SUE,
        EntryKind::Meeting,
        "2026-11-29T09:00:00Z",
    );
    let before = reports(&ana);
    assert_eq!(before.0.entries, 1);
    drop(ana);

    let db = redb::Database::open(dir.path().join(REPLICA_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.delete_table(redb::TableDefinition::<(i64, &str, &str), (&str, &str)>::new("entry_times"))
        .unwrap();
    txn.delete_table(redb::TableDefinition::<
        &str,
        (Option<i64>, Option<i64>, Option<i64>),
    >::new("touches"))
        .unwrap();
    txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
        .unwrap()
        .remove("reports")
        .unwrap();
    txn.commit().unwrap();
    drop(db);

    let reopened = Replica::open(dir.path()).unwrap();
    assert_eq!(reports(&reopened), before);
}
