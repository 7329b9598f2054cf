//! Lists and search, answered from the derived tables.

use rapport_model::account::{self, NewContact};
use rapport_model::{AccountAssignment, ContactAssignment, ContactId, Team};
use rapport_store::{REPLICA_FILE, Replica, StoreError};
use redb::ReadableDatabase;
use tempfile::TempDir;

use crate::{member, new_account, note, workspace};

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
fn a_word_stays_findable_while_any_item_of_the_account_holds_it() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let id = new_account(&mut replica, "Renewal Partners");
    let other = new_account(&mut replica, "Initech");
    note(&mut replica, id, "renewal talks start in May", &[]);
    note(&mut replica, other, "renewal signed", &[]);
    let contact = ContactId::new();
    let edit = replica.edit_now();
    replica
        .change_account(id, &edit, |tx| {
            let new = NewContact {
                name: "Mara Quist".into(),
                email: None,
                phone: None,
                title: Some("Renewal manager".into()),
            };
            account::add_contact(tx, &edit, contact, &new)
        })
        .unwrap();
    let found = |replica: &Replica, query: &str| {
        let mut names: Vec<String> = replica
            .search(query)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort();
        names
    };
    assert_eq!(found(&replica, "renew"), ["Initech", "Renewal Partners"]);

    // The name and the contact's title stop holding the word; the note still does.
    let edit = replica.edit_now();
    replica
        .change_account(id, &edit, |tx| {
            account::set(tx, &[AccountAssignment::parse("name=Vought").unwrap()])
        })
        .unwrap();
    replica
        .change_account(id, &edit, |tx| {
            account::set_contact(
                tx,
                contact,
                &[ContactAssignment::parse("title=buyer").unwrap()],
            )
        })
        .unwrap();
    assert_eq!(found(&replica, "renew"), ["Initech", "Vought"]);
    assert_eq!(found(&replica, "buyer"), ["Vought"]);
    assert_eq!(found(&replica, "mara"), ["Vought"]);
    assert!(found(&replica, "partners").is_empty());

    // A rebuild from the documents gives the same answers as the counts kept change by change.
    replica.rebuild_indexes().unwrap();
    assert_eq!(found(&replica, "renew"), ["Initech", "Vought"]);
    assert_eq!(found(&replica, "buyer"), ["Vought"]);
}

#[test]
fn an_index_in_an_earlier_layout_is_rebuilt_once_on_open() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let id = new_account(&mut replica, "Globex");
    note(&mut replica, id, "asked about the enterprise plan", &[]);
    drop(replica);

    // As an earlier version left it: its search table, no current index tables, no layout mark.
    let path = dir.path().join(REPLICA_FILE);
    let old_terms = redb::TableDefinition::<(&str, &str, &str), ()>::new("terms");
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        for name in ["term_accounts", "item_index"] {
            txn.delete_table(redb::TableDefinition::<&str, ()>::new(name))
                .unwrap();
        }
        txn.open_table(old_terms)
            .unwrap()
            .insert(("stale", "x", ""), ())
            .unwrap();
        txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
            .unwrap()
            .remove("index")
            .unwrap();
        txn.commit().unwrap();
    }

    let replica = Replica::open(dir.path()).unwrap();
    assert_eq!(replica.search("enterprise").unwrap().len(), 1);
    assert_eq!(replica.accounts().unwrap().len(), 1);
    drop(replica);
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    assert!(
        matches!(
            txn.open_table(old_terms),
            Err(redb::TableError::TableDoesNotExist(_))
        ),
        "the earlier layout's table is gone"
    );
    let meta = txn
        .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
        .unwrap();
    assert_eq!(meta.get("index").unwrap().unwrap().value(), b"5");
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
    let now = jiff::Timestamp::now();
    let answers = |bo: &mut Replica| {
        (
            bo.accounts().unwrap(),
            bo.search("renewal").unwrap(),
            bo.alerts(true).unwrap(),
            bo.interactions_report(30, now, None).unwrap(),
            bo.attention_report(30, now, None).unwrap(),
        )
    };
    let before = answers(&mut bo);
    bo.rebuild_indexes().unwrap();
    let after = answers(&mut bo);
    assert_eq!(before, after);
    assert_eq!(after.2.len(), 2);
    assert_eq!(after.3.entries, 2, "{:?}", after.3);
    // ana's rows were written change by change, bo's from whole documents: the same reports.
    let written_one_by_one = answers(&mut ana);
    ana.rebuild_indexes().unwrap();
    assert_eq!(written_one_by_one, answers(&mut ana));
    assert_eq!(
        (&written_one_by_one.3, &written_one_by_one.4),
        (&after.3, &after.4)
    );
}

#[test]
fn open_tasks_and_reminders_follow_each_task_and_survive_a_rebuild() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let globex = new_account(&mut replica, "Globex");
    let date = |text: &str| text.parse::<jiff::civil::Date>().unwrap();
    let today = date("2026-12-02");
    let add = |replica: &mut Replica, title: &str, assignee: &str, due: Option<&str>| {
        let task = rapport_model::TaskId::new();
        let new = account::NewTask {
            title: title.into(),
            assignee: Some(assignee.parse().unwrap()),
            due: due.map(date),
        };
        let edit = replica.edit_now();
        replica
            .change_account(globex, &edit, |tx| account::add_task(tx, &edit, task, &new))
            .unwrap();
        task
    };
    let overdue = add(&mut replica, "Quote", "ana", Some("2026-11-30"));
    let due_today = add(&mut replica, "Call", "ana", Some("2026-12-02"));
    let later = add(&mut replica, "Review", "ana", Some("2026-12-03"));
    let undated = add(&mut replica, "Someday", "ana", None);
    add(&mut replica, "Not mine", "bo", Some("2026-11-01"));

    let listed = |replica: &Replica| {
        let reminders: Vec<_> = replica
            .reminders(today)
            .unwrap()
            .into_iter()
            .map(|t| (t.id, t.days_overdue))
            .collect();
        let open: Vec<_> = replica
            .open_tasks(today)
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        (reminders, open)
    };
    let expected = (
        vec![(overdue, Some(2)), (due_today, Some(0))],
        vec![overdue, due_today, later, undated],
    );
    assert_eq!(listed(&replica), expected);
    assert_eq!(replica.open_tasks(today).unwrap()[0].account_name, "Globex");

    let edit = replica.edit_now();
    replica
        .change_account(globex, &edit, |tx| {
            account::complete_task(tx, overdue, true)
        })
        .unwrap();
    assert_eq!(
        listed(&replica),
        (vec![(due_today, Some(0))], vec![due_today, later, undated])
    );
    replica
        .change_account(globex, &edit, |tx| {
            account::complete_task(tx, overdue, false)
        })
        .unwrap();
    assert_eq!(listed(&replica), expected, "reopened, it reminds again");

    replica.rebuild_indexes().unwrap();
    assert_eq!(
        listed(&replica),
        expected,
        "the rebuild gives the same rows"
    );
}
