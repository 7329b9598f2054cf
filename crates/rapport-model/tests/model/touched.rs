//! What an edit's patches touch: exactly the parts a derived index must update.

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use rapport_model::account::{self, NewContact, NewDeal, NewTask};
use rapport_model::{
    AccountAssignment, ContactId, Currency, DealId, EntryId, Money, TaskId, Team, Touched,
};

use crate::{
    BASE_MS, add_note, edit_at, entry_text, new_account, note, replica, write, write_touched,
};

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

#[test]
fn adding_a_note_touches_exactly_that_entry() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let id = EntryId::from_parts((BASE_MS + 1) as u64, 1);
    let touched = write_touched(&mut doc, &ana, |tx| {
        account::add_entry(tx, &ana, id, &note("hello", &["support"]))
    });
    assert_eq!(
        touched,
        Touched {
            entries: set(&[&id.to_string()]),
            ..Default::default()
        }
    );
    assert!(touched.summary(), "the account list counts entries");
    assert!(!touched.is_empty());
}

#[test]
fn setting_the_stage_touches_the_fields_only() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let assignments = [AccountAssignment::parse("stage=customer").unwrap()];
    let touched = write_touched(&mut doc, &ana, |tx| account::set(tx, &assignments));
    assert_eq!(
        touched,
        Touched {
            fields: true,
            ..Default::default()
        }
    );
    assert!(touched.summary());

    let tags = [
        AccountAssignment::parse("tags=vip").unwrap(),
        AccountAssignment::parse("custom.region=EMEA").unwrap(),
    ];
    let touched = write_touched(&mut doc, &ana, |tx| account::set(tx, &tags));
    assert_eq!(
        touched,
        Touched {
            fields: true,
            ..Default::default()
        },
        "tags and custom fields are fields"
    );
}

#[test]
fn acknowledging_touches_the_acknowledgement() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let first = add_note(
        &mut doc,
        &ana,
        EntryId::from_parts((BASE_MS + 1) as u64, 1),
        "one",
    );
    let second = add_note(
        &mut doc,
        &ana,
        EntryId::from_parts((BASE_MS + 2) as u64, 2),
        "two",
    );
    let bo = edit_at("bo", Team::Support, BASE_MS + 3);

    // Each acknowledgement is one key of the flat acknowledgement map: one (user, entry) pair.
    let touched = write_touched(&mut doc, &bo, |tx| account::acknowledge(tx, &bo, first));
    let expected: BTreeSet<(String, String)> = [("bo".to_owned(), first.to_string())].into();
    assert_eq!(
        touched,
        Touched {
            acks: expected,
            ..Default::default()
        }
    );

    let touched = write_touched(&mut doc, &bo, |tx| account::acknowledge(tx, &bo, second));
    let expected: BTreeSet<(String, String)> = [("bo".to_owned(), second.to_string())].into();
    assert_eq!(
        touched,
        Touched {
            acks: expected,
            ..Default::default()
        }
    );
    assert!(
        !touched.summary(),
        "acknowledgements are not in the account list"
    );
}

#[test]
fn adding_a_contact_touches_that_contact() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let id = ContactId::from_parts((BASE_MS + 1) as u64, 1);
    let contact = NewContact {
        name: "Dana".into(),
        phone: Some("+1 555 0100".into()),
        ..Default::default()
    };
    let touched = write_touched(&mut doc, &ana, |tx| {
        account::add_contact(tx, &ana, id, &contact)
    });
    assert_eq!(
        touched,
        Touched {
            contacts: set(&[&id.to_string()]),
            ..Default::default()
        }
    );
    assert!(touched.summary());

    let assignment = rapport_model::ContactAssignment::parse("title=CTO").unwrap();
    let touched = write_touched(&mut doc, &ana, |tx| {
        account::set_contact(tx, id, &[assignment])
    });
    assert_eq!(
        touched,
        Touched {
            contacts: set(&[&id.to_string()]),
            ..Default::default()
        }
    );
}

#[test]
fn deals_and_tasks_touch_their_items_and_not_the_summary() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let deal = DealId::from_parts((BASE_MS + 1) as u64, 1);
    let new_deal = NewDeal {
        title: "Pilot".into(),
        amount: Money::parse("10", Currency::DEFAULT).unwrap(),
        stage: "proposal".parse().unwrap(),
        close: None,
    };
    let touched = write_touched(&mut doc, &ana, |tx| {
        account::add_deal(tx, &ana, deal, &new_deal)
    });
    assert_eq!(
        touched,
        Touched {
            deals: set(&[&deal.to_string()]),
            ..Default::default()
        }
    );
    assert!(!touched.summary());
    let touched = write_touched(&mut doc, &ana, |tx| {
        account::move_deal(tx, deal, &"won".parse().unwrap())
    });
    assert_eq!(
        touched,
        Touched {
            deals: set(&[&deal.to_string()]),
            ..Default::default()
        }
    );

    let task = TaskId::from_parts((BASE_MS + 2) as u64, 2);
    let new_task = NewTask {
        title: "Call back".into(),
        assignee: None,
        due: None,
    };
    let touched = write_touched(&mut doc, &ana, |tx| {
        account::add_task(tx, &ana, task, &new_task)
    });
    assert_eq!(
        touched,
        Touched {
            tasks: set(&[&task.to_string()]),
            ..Default::default()
        }
    );
    let touched = write_touched(&mut doc, &ana, |tx| account::complete_task(tx, task, true));
    assert_eq!(
        touched,
        Touched {
            tasks: set(&[&task.to_string()]),
            ..Default::default()
        }
    );
    assert!(!touched.summary());
}

#[test]
fn a_text_splice_inside_an_entry_touches_that_entry() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let id = add_note(
        &mut doc,
        &ana,
        EntryId::from_parts((BASE_MS + 1) as u64, 1),
        "asked about pricing",
    );
    add_note(
        &mut doc,
        &ana,
        EntryId::from_parts((BASE_MS + 2) as u64, 2),
        "another note",
    );
    let expected = Touched {
        entries: set(&[&id.to_string()]),
        ..Default::default()
    };

    let text = entry_text(&doc, id);
    let before = doc.get_heads();
    let touched = write_touched(&mut doc, &ana, |tx| {
        tx.splice_text(&text, 0, 0, "Ana ")?;
        Ok(Touched::entry(id))
    });
    assert_eq!(touched, expected, "from the transaction's patch log");
    let after = doc.get_heads();
    assert_eq!(
        Touched::from_patches(&doc.diff(&before, &after)),
        expected,
        "from a diff of heads"
    );

    let touched = write_touched(&mut doc, &ana, |tx| {
        tx.splice_text(&text, 0, 4, "")?;
        Ok(Touched::entry(id))
    });
    assert_eq!(touched, expected, "a deletion too");
    assert_eq!(
        account::read_entry(&doc, id).unwrap().unwrap().text,
        "asked about pricing"
    );
}

#[test]
fn merging_another_replica_touches_what_it_changed() {
    let base = new_account("Acme");
    let mut a = replica(&base);
    let mut b = replica(&base);
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let id = add_note(
        &mut a,
        &ana,
        EntryId::from_parts((BASE_MS + 1) as u64, 1),
        "from a",
    );
    write(&mut a, &ana, |tx| {
        account::set(tx, &[AccountAssignment::parse("tier=gold").unwrap()])
    });
    let bo = edit_at("bo", Team::Support, BASE_MS + 2);
    add_note(
        &mut b,
        &bo,
        EntryId::from_parts((BASE_MS + 2) as u64, 2),
        "from b",
    );

    let before = b.get_heads();
    b.merge(&mut a.clone()).unwrap();
    let after = b.get_heads();
    let touched = Touched::from_patches(&b.diff(&before, &after));
    assert_eq!(
        touched,
        Touched {
            fields: true,
            entries: set(&[&id.to_string()]),
            ..Default::default()
        }
    );

    // Nothing new: nothing touched.
    let heads = b.get_heads();
    b.merge(&mut a.clone()).unwrap();
    assert!(Touched::from_patches(&b.diff(&heads, &b.get_heads())).is_empty());
}

#[test]
fn replacing_a_collection_touches_everything() {
    let mut doc = new_account("Acme");
    let before = doc.get_heads();
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put_object(automerge::ROOT, "timeline", automerge::ObjType::Map)
            .map(|_| ())
    })
    .unwrap();
    let touched = Touched::from_patches(&doc.diff(&before, &doc.get_heads()));
    assert_eq!(
        touched,
        Touched {
            everything: true,
            ..Default::default()
        }
    );
    assert!(touched.summary());

    for collection in ["contacts", "deals", "tasks", "acks"] {
        let before = doc.get_heads();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.delete(automerge::ROOT, collection)
        })
        .unwrap();
        let touched = Touched::from_patches(&doc.diff(&before, &doc.get_heads()));
        assert_eq!(
            touched,
            Touched {
                everything: true,
                ..Default::default()
            },
            "deleting {collection}"
        );
    }
    // Root fields that are not collections are fields.
    let before = doc.get_heads();
    doc.transact::<_, _, automerge::AutomergeError>(|tx| tx.delete(automerge::ROOT, "stage"))
        .unwrap();
    assert_eq!(
        Touched::from_patches(&doc.diff(&before, &doc.get_heads())),
        Touched {
            fields: true,
            ..Default::default()
        }
    );
}
