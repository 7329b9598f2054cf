//! An account's history read from its Automerge changes: who changed what, when, from which
//! value; concurrent changes from their own point of view; foreign changes without a panic.

use automerge::transaction::{Transactable, Transaction};
use automerge::{Automerge, AutomergeError, ObjType, ROOT, ReadDoc};
use rapport_model::account::{
    self, AccountHistory, FieldEdit, HistoryChange, NewContact, NewDeal, NewTask,
};
use rapport_model::{
    AccountAssignment, ContactAssignment, ContactId, Currency, DealId, EntryId, EntryKind, Money,
    PipelineStage, ShapeError, TaskId, Team, workspace,
};

use crate::{BASE_MS, doc_id, edit_at, new_account, note, replica, sync, write};

fn history(doc: &Automerge) -> AccountHistory {
    account::history(doc, doc_id(), None).unwrap()
}

fn set(doc: &mut Automerge, who: &str, team: Team, millis: i64, assignment: &str) {
    let edit = edit_at(who, team, millis);
    let assignment = AccountAssignment::parse(assignment).unwrap();
    write(doc, &edit, |tx| account::set(tx, &[assignment]));
}

fn field(name: &str, from: Option<&str>, to: Option<&str>) -> FieldEdit {
    FieldEdit::Field {
        field: name.into(),
        from: from.map(Into::into),
        to: to.map(Into::into),
    }
}

/// The author, the time in seconds after the base, and the edits of a change.
fn summary(change: &HistoryChange) -> (Option<&str>, Option<i64>, &[FieldEdit]) {
    (
        change.author.as_ref().map(|a| a.as_str()),
        change.at.map(|at| at.as_second() - BASE_MS / 1000),
        &change.edits,
    )
}

#[test]
fn the_lifecycle_stage_reads_back_from_lead_to_prospect_to_customer() {
    let mut doc = new_account("Acme");
    set(
        &mut doc,
        "bo",
        Team::Support,
        BASE_MS + 60_000,
        "stage=prospect",
    );
    set(
        &mut doc,
        "ana",
        Team::Sales,
        BASE_MS + 120_000,
        "stage=customer",
    );
    let history = history(&doc);
    assert_eq!((history.account, history.total), (doc_id(), 3));
    let created = [
        FieldEdit::Created {
            name: Some("Acme".into()),
        },
        field("stage", None, Some("lead")),
    ];
    assert_eq!(
        summary(&history.changes[0]),
        (Some("ana"), Some(0), &created[..])
    );
    assert_eq!(
        summary(&history.changes[1]),
        (
            Some("bo"),
            Some(60),
            &[field("stage", Some("lead"), Some("prospect"))][..]
        )
    );
    assert_eq!(
        summary(&history.changes[2]),
        (
            Some("ana"),
            Some(120),
            &[field("stage", Some("prospect"), Some("customer"))][..]
        )
    );
    assert_eq!(
        history.changes[2].edits[0].to_string(),
        "stage: prospect -> customer"
    );
}

#[test]
fn fields_custom_fields_and_tags_read_with_their_old_values() {
    let mut doc = new_account("Acme");
    set(&mut doc, "ana", Team::Sales, BASE_MS, "custom.region=emea");
    set(&mut doc, "ana", Team::Sales, BASE_MS, "custom.region=apac");
    set(&mut doc, "ana", Team::Sales, BASE_MS, "tags=vip,beta");
    set(&mut doc, "ana", Team::Sales, BASE_MS, "tags=vip");
    // Clearing a field that was never set makes no change at all.
    set(&mut doc, "ana", Team::Sales, BASE_MS, "phone=");
    set(&mut doc, "ana", Team::Sales, BASE_MS, "phone=+1 555 0100");
    set(&mut doc, "ana", Team::Sales, BASE_MS, "phone=");
    let edits: Vec<Vec<FieldEdit>> = history(&doc).changes[1..]
        .iter()
        .map(|c| c.edits.clone())
        .collect();
    let tag = |tag: &str| tag.to_owned();
    assert_eq!(
        edits,
        [
            vec![field("custom.region", None, Some("emea"))],
            vec![field("custom.region", Some("emea"), Some("apac"))],
            vec![
                FieldEdit::TagAdded { tag: tag("beta") },
                FieldEdit::TagAdded { tag: tag("vip") }
            ],
            vec![FieldEdit::TagRemoved { tag: tag("beta") }],
            vec![field("phone", None, Some("+1 555 0100"))],
            vec![field("phone", Some("+1 555 0100"), None)],
        ]
    );
}

#[test]
fn contacts_deals_tasks_and_entries_read_as_what_happened_to_them() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS);
    let (contact, deal, task) = (
        ContactId::from_parts(1, 1),
        DealId::from_parts(1, 2),
        TaskId::from_parts(1, 3),
    );
    let entry = EntryId::from_parts(1, 4);
    let new_contact = NewContact {
        name: "Dana Reyes".into(),
        email: Some("dana@acme.com".into()),
        ..Default::default()
    };
    write(&mut doc, &ana, |tx| {
        account::add_contact(tx, &ana, contact, &new_contact)
    });
    let email = ContactAssignment::parse("email=dana@acme.io").unwrap();
    write(&mut doc, &ana, |tx| {
        account::set_contact(tx, contact, &[email])
    });
    let mut new_deal = NewDeal {
        title: "Renewal".into(),
        amount: Money::parse("1200", Currency::DEFAULT).unwrap(),
        stage: "proposal".parse::<PipelineStage>().unwrap(),
        close: None,
    };
    write(&mut doc, &ana, |tx| {
        account::add_deal(tx, &ana, deal, &new_deal)
    });
    let won = "won".parse::<PipelineStage>().unwrap();
    write(&mut doc, &ana, |tx| account::move_deal(tx, deal, &won));
    new_deal.amount = Money::parse("1500.50", Currency::DEFAULT).unwrap();
    new_deal.stage = won;
    write(&mut doc, &ana, |tx| {
        account::update_deal(tx, deal, &new_deal)
    });
    let new_task = NewTask {
        title: "Send the contract".into(),
        assignee: Some(crate::user("bo")),
        due: None,
    };
    write(&mut doc, &ana, |tx| {
        account::add_task(tx, &ana, task, &new_task)
    });
    write(&mut doc, &ana, |tx| account::complete_task(tx, task, true));
    let bo = edit_at("bo", Team::Support, BASE_MS);
    let text =
        "Customer asked about enterprise pricing and the SSO add-on, call them back on Monday";
    write(&mut doc, &bo, |tx| {
        account::add_entry(tx, &bo, entry, &note(text, &["sales"]))
    });
    write(&mut doc, &ana, |tx| account::acknowledge(tx, &ana, entry));

    let lines: Vec<String> = history(&doc).changes[1..]
        .iter()
        .flat_map(|c| c.edits.iter().map(ToString::to_string))
        .collect();
    assert_eq!(
        lines,
        [
            "contact added: Dana Reyes",
            "contact Dana Reyes, email: dana@acme.com -> dana@acme.io",
            "deal added: Renewal (1200.00 EUR, proposal)",
            "deal Renewal, stage: proposal -> won",
            // Rewriting the title and stage with the values they had leaves no trace.
            "deal Renewal, amount: 1200.00 EUR -> 1500.50 EUR",
            "task added: Send the contract @bo",
            "task done: Send the contract",
            "note added (support): Customer asked about enterprise pricing and the SSO add-on, call them back…",
            &format!("ana acknowledged the alert on entry {entry}"),
        ]
    );
    let added = &history(&doc).changes[8].edits[0];
    assert_eq!(
        *added,
        FieldEdit::EntryAdded {
            entry: entry.to_string(),
            entry_kind: Some(EntryKind::Note.to_string()),
            team: Some("support".into()),
            excerpt: "Customer asked about enterprise pricing and the SSO add-on, call them back…"
                .into(),
        }
    );
}

#[test]
fn concurrent_changes_each_show_the_value_they_replaced() {
    let base = new_account("Acme");
    let (mut a, mut b) = (replica(&base), replica(&base));
    set(&mut a, "ana", Team::Sales, BASE_MS + 1000, "stage=prospect");
    set(&mut b, "bo", Team::Support, BASE_MS + 2000, "stage=churned");
    sync(&mut a, &mut b);
    let winner = account::view(&a, doc_id()).unwrap().stage.unwrap();
    set(&mut a, "ana", Team::Sales, BASE_MS + 3000, "stage=customer");
    sync(&mut a, &mut b);

    for doc in [&a, &b] {
        let history = history(doc);
        assert_eq!(history.total, 4);
        let mut concurrent: Vec<_> = history.changes[1..3].iter().map(summary).collect();
        concurrent.sort_by_key(|(author, ..)| *author);
        assert_eq!(
            concurrent,
            [
                (
                    Some("ana"),
                    Some(1),
                    &[field("stage", Some("lead"), Some("prospect"))][..]
                ),
                (
                    Some("bo"),
                    Some(2),
                    &[field("stage", Some("lead"), Some("churned"))][..]
                ),
            ]
        );
        // The change made after the merge replaced both values.
        let loser = if winner.as_str() == "prospect" {
            "churned"
        } else {
            "prospect"
        };
        assert_eq!(
            history.changes[3].edits,
            [field(
                "stage",
                Some(&format!("{winner} | {loser}")),
                Some("customer")
            )]
        );
    }
}

/// Applies raw automerge operations with no message and no time, as a foreign peer might.
fn foreign(
    doc: &mut Automerge,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
) {
    doc.transact(f).map_err(|failure| failure.error).unwrap();
}

#[test]
fn a_foreign_change_reads_with_an_unknown_author_and_raw_paths() {
    let mut doc = new_account("Acme");
    let (_, timeline) = doc.get(ROOT, "timeline").unwrap().unwrap();
    foreign(&mut doc, |tx| {
        tx.put(ROOT, "color", "teal")?;
        let list = tx.put_object(ROOT, "pipeline", ObjType::List)?;
        tx.insert(&list, 0, "one")?;
        // An item that is not a map, and a timeline entry with no fields Rapport writes.
        tx.put(&timeline, "not-an-id", 7)?;
        let name = tx.put_object(ROOT, "name", ObjType::Text)?;
        tx.splice_text(&name, 0, 0, "Acme JS")?;
        let tags = tx.put_object(ROOT, "tags", ObjType::List)?;
        tx.insert(&tags, 0, "odd")
    });
    let ana = edit_at("ana", Team::Sales, BASE_MS);
    // A JS peer editing the text of the name after that.
    foreign(&mut doc, |tx| {
        let (_, name) = tx.get(ROOT, "name")?.unwrap();
        tx.splice_text(&name, 4, 3, "")
    });
    write(&mut doc, &ana, |tx| {
        account::set(tx, &[AccountAssignment::parse("tier=gold").unwrap()])
    });

    let history = history(&doc);
    let change = &history.changes[1];
    assert_eq!((change.author.as_ref(), change.at), (None, None));
    let lines: Vec<String> = change.edits.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "color: (none) -> teal",
            "pipeline: (none) -> [one]",
            "timeline.not-an-id: (none) -> 7",
            "name: Acme -> Acme JS",
            "tags: (map) -> [odd]",
        ]
    );
    assert_eq!(
        history.changes[2].edits,
        [field("name", Some("Acme JS"), Some("Acme"))]
    );
    assert_eq!(
        summary(&history.changes[3]),
        (
            Some("ana"),
            Some(0),
            &[field("tier", None, Some("gold"))][..]
        )
    );
}

#[test]
fn a_message_that_is_not_a_user_name_is_an_unknown_author() {
    let mut doc = new_account("Acme");
    doc.transact_with(
        |_| {
            automerge::transaction::CommitOptions::default()
                .with_message("Update the name, from the JS app")
                .with_time(-5)
        },
        |tx| tx.put(ROOT, "industry", "retail"),
    )
    .map_err(|failure| failure.error)
    .unwrap();
    let change = &history(&doc).changes[1];
    assert_eq!((change.author.as_ref(), change.at), (None, None));
    assert_eq!(change.edits, [field("industry", None, Some("retail"))]);
}

#[test]
fn a_limit_keeps_the_latest_changes_and_counts_them_all() {
    let mut doc = new_account("Acme");
    for n in 0..5 {
        set(&mut doc, "ana", Team::Sales, BASE_MS, &format!("tier=t{n}"));
    }
    let latest = account::history(&doc, doc_id(), Some(2)).unwrap();
    assert_eq!(latest.total, 6);
    let edits: Vec<&FieldEdit> = latest.changes.iter().flat_map(|c| &c.edits).collect();
    assert_eq!(
        edits,
        [
            &field("tier", Some("t2"), Some("t3")),
            &field("tier", Some("t3"), Some("t4"))
        ]
    );
    let none = account::history(&doc, doc_id(), Some(0)).unwrap();
    assert_eq!((none.total, none.changes.len()), (6, 0));
}

#[test]
fn the_history_of_a_workspace_document_is_refused_as_the_wrong_kind() {
    let mut doc = Automerge::new();
    let ana = edit_at("ana", Team::Sales, BASE_MS);
    write(&mut doc, &ana, |tx| workspace::create(tx, &ana, "Team"));
    assert_eq!(
        account::history(&doc, doc_id(), None).unwrap_err(),
        ShapeError::WrongKind {
            expected: "account",
            found: "workspace".into()
        }
    );
}

#[test]
fn the_history_serializes_with_a_kind_per_edit() {
    let mut doc = new_account("Acme");
    set(
        &mut doc,
        "bo",
        Team::Support,
        BASE_MS + 60_000,
        "stage=prospect",
    );
    let json = serde_json::to_value(history(&doc)).unwrap();
    assert_eq!(json["total"], 2);
    assert_eq!(
        json["changes"][1],
        serde_json::json!({
            "hash": history(&doc).changes[1].hash,
            "author": "bo",
            "at": "2026-01-01T00:01:00Z",
            "edits": [{ "kind": "field", "field": "stage", "from": "lead", "to": "prospect" }],
        })
    );
}
