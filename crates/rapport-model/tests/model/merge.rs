//! Replicas that edit offline and merge: every addition survives, concurrent field values are
//! reported as the same conflict everywhere, and concurrent text edits interleave.

use automerge::transaction::Transactable;
use rapport_model::account::{self, Conflict, NewContact};
use rapport_model::{AccountAssignment, ContactAssignment, ContactId, EntryId, Team};

use crate::{BASE_MS, add_note, edit_at, entry_text, new_account, replica, sync, view, write};

#[test]
fn offline_notes_from_two_replicas_both_survive() {
    let base = new_account("Acme");
    let mut a = replica(&base);
    let mut b = replica(&base);
    let ana = |ms| edit_at("ana", Team::Sales, BASE_MS + ms);
    let bo = |ms| edit_at("bo", Team::Support, BASE_MS + ms);

    // Ids and times chosen so that ordering by id alone, or by replica, would be wrong.
    let a1 = add_note(
        &mut a,
        &ana(2_000),
        EntryId::from_parts((BASE_MS + 2_000) as u64, 5),
        "a1: renewal due",
    );
    let a2 = add_note(
        &mut a,
        &ana(500),
        EntryId::from_parts((BASE_MS + 9_000) as u64, 1),
        "a2: earliest, largest id",
    );
    let b1 = add_note(
        &mut b,
        &bo(1_000),
        EntryId::from_parts((BASE_MS + 1_000) as u64, 7),
        "b1: ticket closed",
    );
    let b2 = add_note(
        &mut b,
        &bo(2_000),
        EntryId::from_parts((BASE_MS + 2_000) as u64, 3),
        "b2: same time as a1",
    );

    // Offline, each replica sees only its own notes.
    assert_eq!(ids(&a), [a2, a1]);
    assert_eq!(ids(&b), [b1, b2]);

    sync(&mut a, &mut b);

    let (view_a, view_b) = (view(&a), view(&b));
    assert_eq!(view_a, view_b);
    assert_eq!(ids(&a), [a2, b1, b2, a1], "ordered by `at`, ties by id");
    let texts: Vec<&str> = view_a.timeline.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "a2: earliest, largest id",
            "b1: ticket closed",
            "b2: same time as a1",
            "a1: renewal due"
        ]
    );
    assert!(
        view_a
            .timeline
            .windows(2)
            .all(|w| (w[0].at, w[0].id) <= (w[1].at, w[1].id))
    );
    assert_eq!(view_a.timeline[1].author, crate::user("bo"));
    assert_eq!(view_a.timeline[1].team, Team::Support);
    assert!(view_a.conflicts.is_empty());
    assert_eq!(account::summary(&a, crate::doc_id()).unwrap().entries, 4);
    assert_eq!(
        account::summary(&a, crate::doc_id()).unwrap(),
        account::summary(&b, crate::doc_id()).unwrap()
    );
}

/// The ids of the timeline, in the order the view gives.
fn ids(doc: &automerge::Automerge) -> Vec<EntryId> {
    view(doc).timeline.iter().map(|e| e.id).collect()
}

/// Sets one account field on `doc`.
fn set_field(doc: &mut automerge::Automerge, assignment: &str) {
    let edit = edit_at("ana", Team::Sales, BASE_MS + 10);
    let assignment = AccountAssignment::parse(assignment).unwrap();
    write(doc, &edit, |tx| account::set(tx, &[assignment]));
}

#[test]
fn concurrent_phone_edits_show_the_same_conflict_on_both_replicas_until_resolved() {
    let base = new_account("Acme");
    let mut a = replica(&base);
    let mut b = replica(&base);
    set_field(&mut a, "phone=+1 555 0100");
    set_field(&mut b, "phone=+44 20 7946 0000");
    sync(&mut a, &mut b);

    let (view_a, view_b) = (view(&a), view(&b));
    assert_eq!(view_a, view_b);
    let winner = view_a.phone.clone().unwrap();
    let loser = if winner == "+1 555 0100" {
        "+44 20 7946 0000"
    } else {
        "+1 555 0100"
    };
    assert!(
        winner == "+1 555 0100" || winner == "+44 20 7946 0000",
        "{winner}"
    );
    assert_eq!(
        view_a.conflicts,
        [Conflict {
            field: "phone".into(),
            value: winner.clone(),
            others: vec![loser.into()]
        }]
    );
    assert_eq!(view_b.conflicts, view_a.conflicts);

    // Setting the field again, on either replica, resolves the conflict everywhere.
    set_field(&mut b, "phone=+1 555 0199");
    sync(&mut a, &mut b);
    for doc in [&a, &b] {
        let resolved = view(doc);
        assert_eq!(resolved.phone.as_deref(), Some("+1 555 0199"));
        assert!(resolved.conflicts.is_empty(), "{:?}", resolved.conflicts);
    }
}

#[test]
fn concurrent_custom_field_edits_are_reported_under_custom() {
    let base = new_account("Acme");
    let mut a = replica(&base);
    let mut b = replica(&base);
    set_field(&mut a, "custom.region=EMEA");
    set_field(&mut b, "custom.region=APAC");
    sync(&mut a, &mut b);
    let (view_a, view_b) = (view(&a), view(&b));
    assert_eq!(view_a, view_b);
    let winner = view_a.custom["region"].clone();
    assert_eq!(view_a.conflicts.len(), 1);
    assert_eq!(view_a.conflicts[0].field, "custom.region");
    assert_eq!(view_a.conflicts[0].value, winner);
    let mut all = vec![winner, view_a.conflicts[0].others[0].clone()];
    all.sort();
    assert_eq!(all, ["APAC", "EMEA"]);
}

#[test]
fn concurrent_contact_phone_edits_conflict_under_the_contact_path() {
    let mut base = new_account("Acme");
    let creator = edit_at("ana", Team::Sales, BASE_MS + 1);
    let contact = ContactId::from_parts((BASE_MS + 1) as u64, 11);
    let new = NewContact {
        name: "Dana Reyes".into(),
        email: Some("dana@acme.com".into()),
        ..Default::default()
    };
    write(&mut base, &creator, |tx| {
        account::add_contact(tx, &creator, contact, &new)
    });

    let mut a = replica(&base);
    let mut b = replica(&base);
    let set_phone = |doc: &mut automerge::Automerge, phone: &str| {
        let assignment = ContactAssignment::parse(&format!("phone={phone}")).unwrap();
        write(doc, &creator, |tx| {
            account::set_contact(tx, contact, &[assignment])
        });
    };
    set_phone(&mut a, "+1 555 0101");
    set_phone(&mut b, "+1 555 0102");
    sync(&mut a, &mut b);

    let (view_a, view_b) = (view(&a), view(&b));
    assert_eq!(view_a, view_b);
    let winner = view_a.contacts[0].phone.clone().unwrap();
    let loser = if winner == "+1 555 0101" {
        "+1 555 0102"
    } else {
        "+1 555 0101"
    };
    let expected = Conflict {
        field: format!("contacts.{contact}.phone"),
        value: winner,
        others: vec![loser.into()],
    };
    assert_eq!(view_a.conflicts, [expected]);
    assert_eq!(view_a.contacts[0].email.as_deref(), Some("dana@acme.com"));

    set_phone(&mut a, "+1 555 0103");
    sync(&mut a, &mut b);
    for doc in [&a, &b] {
        let resolved = view(doc);
        assert_eq!(resolved.contacts[0].phone.as_deref(), Some("+1 555 0103"));
        assert!(resolved.conflicts.is_empty(), "{:?}", resolved.conflicts);
    }
}

#[test]
fn concurrent_text_edits_of_one_note_merge() {
    let mut base = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let id = add_note(
        &mut base,
        &ana,
        EntryId::from_parts((BASE_MS + 1) as u64, 1),
        "asked about enterprise",
    );
    let mut a = replica(&base);
    let mut b = replica(&base);

    let text = entry_text(&a, id);
    write(&mut a, &ana, |tx| Ok(tx.splice_text(&text, 0, 0, "Ana: ")?));
    let text = entry_text(&b, id);
    let end = "asked about enterprise".len();
    let bo = edit_at("bo", Team::Support, BASE_MS + 2);
    write(&mut b, &bo, |tx| {
        Ok(tx.splice_text(&text, end, 0, " (call back Monday)")?)
    });

    sync(&mut a, &mut b);
    for doc in [&a, &b] {
        let merged = account::read_entry(doc, id).unwrap().unwrap();
        assert_eq!(
            merged.text,
            "Ana: asked about enterprise (call back Monday)"
        );
        assert_eq!(
            merged.author,
            crate::user("ana"),
            "editing the text does not change the author"
        );
    }
    assert_eq!(view(&a), view(&b));
    assert!(view(&a).conflicts.is_empty());
}

#[test]
fn deals_and_tasks_added_offline_on_both_replicas_survive() {
    use rapport_model::account::{NewDeal, NewTask};
    use rapport_model::{Currency, DealId, Money, TaskId};

    let base = new_account("Acme");
    let mut a = replica(&base);
    let mut b = replica(&base);
    let ana = edit_at("ana", Team::Sales, BASE_MS + 5);
    let deal = DealId::from_parts((BASE_MS + 5) as u64, 1);
    let new_deal = NewDeal {
        title: "Enterprise plan".into(),
        amount: Money::parse("12000", Currency::DEFAULT).unwrap(),
        stage: "proposal".parse().unwrap(),
        close: Some(rapport_model::parse_date("2026-03-31").unwrap()),
    };
    write(&mut a, &ana, |tx| {
        account::add_deal(tx, &ana, deal, &new_deal)
    });
    let task = TaskId::from_parts((BASE_MS + 6) as u64, 2);
    let bo = edit_at("bo", Team::Support, BASE_MS + 6);
    let new_task = NewTask {
        title: "Send contract".into(),
        assignee: Some(crate::user("ana")),
        due: None,
    };
    write(&mut b, &bo, |tx| {
        account::add_task(tx, &bo, task, &new_task)
    });
    sync(&mut a, &mut b);

    write(&mut a, &ana, |tx| {
        account::move_deal(tx, deal, &"won".parse().unwrap())
    });
    write(&mut b, &bo, |tx| account::complete_task(tx, task, true));
    sync(&mut a, &mut b);

    let merged = view(&a);
    assert_eq!(merged, view(&b));
    assert_eq!(merged.deals.len(), 1);
    assert_eq!(merged.deals[0].stage, "won");
    assert_eq!(merged.deals[0].amount, 1_200_000);
    assert_eq!(merged.deals[0].close.as_deref(), Some("2026-03-31"));
    assert_eq!(merged.tasks.len(), 1);
    assert!(merged.tasks[0].done);
    assert_eq!(merged.tasks[0].assignee.as_deref(), Some("ana"));
    assert!(merged.conflicts.is_empty());
}

#[test]
fn editing_unknown_items_is_an_error_and_changes_nothing() {
    let mut doc = new_account("Acme");
    let heads = doc.get_heads();
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let missing = ContactId::from_parts(1, 1);
    let assignment = ContactAssignment::parse("phone=1").unwrap();
    let failure = doc
        .transact_with(
            |_| ana.commit_options(),
            |tx| account::set_contact(tx, missing, &[assignment]),
        )
        .unwrap_err();
    assert!(
        matches!(
            failure.error,
            rapport_model::EditError::UnknownItem {
                what: "contact",
                ..
            }
        ),
        "{:?}",
        failure.error
    );
    let failure = doc
        .transact_with(
            |_| ana.commit_options(),
            |tx| account::acknowledge(tx, &ana, EntryId::from_parts(1, 1)),
        )
        .unwrap_err();
    assert!(
        matches!(
            failure.error,
            rapport_model::EditError::UnknownItem {
                what: "timeline entry",
                ..
            }
        ),
        "{:?}",
        failure.error
    );
    assert_eq!(doc.get_heads(), heads);
}
