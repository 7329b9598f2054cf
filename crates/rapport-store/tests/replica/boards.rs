//! The pipeline board and the activity counts.

use rapport_model::account::{self, NewDeal, NewEntry};
use rapport_model::{DealId, Edit, EntryId, EntryKind, Money, Team, Touched};
use rapport_store::{REPLICA_FILE, Replica, WeekActivity};
use tempfile::TempDir;

use crate::{member, new_account, note, workspace};

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
