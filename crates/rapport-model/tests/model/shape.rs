//! Documents of an unexpected shape read as a `ShapeError`, never a panic; documents written
//! the way a JavaScript peer writes them read fine.

use automerge::transaction::{Transactable, Transaction};
use automerge::{Automerge, AutomergeError, ObjType, ROOT, ReadDoc, ScalarValue};
use rapport_model::account;
use rapport_model::{EntryId, InvalidInput, ShapeError, Team, workspace};
use std::collections::BTreeMap;

use crate::{BASE_MS, add_note, doc_id, edit_at, new_account, write};

/// Applies raw automerge operations, as a foreign or buggy peer might.
fn raw(doc: &mut Automerge, f: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>) {
    doc.transact(f).map_err(|failure| failure.error).unwrap();
}

fn view_err(doc: &Automerge) -> ShapeError {
    account::view(doc, doc_id()).unwrap_err()
}

fn summary_err(doc: &Automerge) -> ShapeError {
    account::summary(doc, doc_id()).unwrap_err()
}

#[test]
fn an_empty_document_is_not_an_account() {
    let doc = Automerge::new();
    let expected = ShapeError::WrongKind {
        expected: "account",
        found: "missing".into(),
    };
    assert_eq!(view_err(&doc), expected);
    assert_eq!(summary_err(&doc), expected);
    assert_eq!(
        account::read_entry(&doc, EntryId::from_parts(1, 1)).unwrap(),
        None
    );
    assert!(
        !account::is_acknowledged(&doc, &crate::user("ana"), EntryId::from_parts(1, 1)).unwrap()
    );
    assert_eq!(
        workspace::view(&doc, doc_id()).unwrap_err(),
        ShapeError::WrongKind {
            expected: "workspace",
            found: "missing".into()
        }
    );
}

#[test]
fn a_workspace_read_as_an_account_is_the_wrong_kind() {
    let mut doc = Automerge::new();
    let ana = edit_at("ana", Team::Sales, BASE_MS);
    crate::write(&mut doc, &ana, |tx| workspace::create(tx, &ana, "Team"));
    let expected = ShapeError::WrongKind {
        expected: "account",
        found: "workspace".into(),
    };
    assert_eq!(view_err(&doc), expected);
    assert_eq!(summary_err(&doc), expected);
    let account = new_account("Acme");
    assert_eq!(
        workspace::view(&account, doc_id()).unwrap_err(),
        ShapeError::WrongKind {
            expected: "workspace",
            found: "account".into()
        }
    );
}

#[test]
fn a_type_that_is_not_a_string_is_a_wrong_type() {
    let mut doc = Automerge::new();
    raw(&mut doc, |tx| tx.put(ROOT, "type", 7));
    assert!(
        matches!(view_err(&doc), ShapeError::WrongType { ref path, .. } if path == "type"),
        "{:?}",
        view_err(&doc)
    );
    assert!(matches!(summary_err(&doc), ShapeError::WrongType { .. }));
}

#[test]
fn a_name_stored_as_an_integer_is_a_wrong_type() {
    let mut doc = new_account("Acme");
    raw(&mut doc, |tx| tx.put(ROOT, "name", 42));
    let expected = ShapeError::WrongType {
        path: "name".into(),
        expected: "a string",
        found: "a number".into(),
    };
    assert_eq!(view_err(&doc), expected);
    assert_eq!(summary_err(&doc), expected);
}

#[test]
fn a_missing_name_is_reported_missing() {
    let mut doc = new_account("Acme");
    raw(&mut doc, |tx| tx.delete(ROOT, "name"));
    assert_eq!(
        view_err(&doc),
        ShapeError::Missing {
            path: "name".into()
        }
    );
    assert_eq!(
        summary_err(&doc),
        ShapeError::Missing {
            path: "name".into()
        }
    );
}

#[test]
fn a_timeline_stored_as_a_list_is_a_wrong_type() {
    let mut doc = new_account("Acme");
    raw(&mut doc, |tx| {
        let list = tx.put_object(ROOT, "timeline", ObjType::List)?;
        tx.insert(&list, 0, "a note")
    });
    let expected = ShapeError::WrongType {
        path: "timeline".into(),
        expected: "a map",
        found: "a list object".into(),
    };
    assert_eq!(view_err(&doc), expected);
    assert_eq!(summary_err(&doc), expected);
    assert!(account::read_entry(&doc, EntryId::from_parts(1, 1)).is_err());
}

#[test]
fn a_timeline_key_that_is_not_a_ulid_is_invalid() {
    let mut doc = new_account("Acme");
    raw(&mut doc, |tx| {
        let (_, timeline) = tx.get(ROOT, "timeline")?.unwrap();
        let entry = tx.put_object(&timeline, "not-a-ulid", ObjType::Map)?;
        tx.put(&entry, "kind", "note")
    });
    match view_err(&doc) {
        ShapeError::Invalid {
            path,
            source:
                InvalidInput::ItemId {
                    what: "entry",
                    text,
                },
        } => {
            assert_eq!(path, "timeline.not-a-ulid");
            assert_eq!(text, "not-a-ulid");
        }
        other => panic!("unexpected {other:?}"),
    }
    // The summary does not read the entries, only counts them.
    assert_eq!(account::summary(&doc, doc_id()).unwrap().entries, 1);
}

/// A document with one well-formed note, and the id of that note.
fn with_note() -> (Automerge, EntryId) {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let id = add_note(
        &mut doc,
        &ana,
        EntryId::from_parts((BASE_MS + 1) as u64, 1),
        "hello",
    );
    (doc, id)
}

/// Puts `value` at `key` of the note `id`.
fn put_in_entry(doc: &mut Automerge, id: EntryId, key: &str, value: ScalarValue) {
    raw(doc, |tx| {
        let (_, timeline) = tx.get(ROOT, "timeline")?.unwrap();
        let (_, entry) = tx.get(&timeline, id.to_string())?.unwrap();
        tx.put(&entry, key, value)
    });
}

#[test]
fn an_entry_of_an_unknown_team_is_invalid() {
    let (mut doc, id) = with_note();
    put_in_entry(&mut doc, id, "team", "finance".into());
    let path = format!("timeline.{id}.team");
    match view_err(&doc) {
        ShapeError::Invalid {
            path: found,
            source: InvalidInput::Word {
                what: "team", text, ..
            },
        } => {
            assert_eq!(found, path);
            assert_eq!(text, "finance");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        account::read_entry(&doc, id),
        Err(ShapeError::Invalid { .. })
    ));
    assert_eq!(account::summary(&doc, doc_id()).unwrap().entries, 1);
}

#[test]
fn an_entry_time_that_is_a_string_is_a_wrong_type() {
    let (mut doc, id) = with_note();
    put_in_entry(&mut doc, id, "at", "2026-01-01T00:00:00Z".into());
    let path = format!("timeline.{id}.at");
    assert!(
        matches!(view_err(&doc), ShapeError::WrongType { path: ref found, .. } if *found == path),
        "{:?}",
        view_err(&doc)
    );
    assert!(matches!(
        account::read_entry(&doc, id),
        Err(ShapeError::WrongType { .. })
    ));
}

#[test]
fn an_entry_time_out_of_range_is_a_wrong_type() {
    let (mut doc, id) = with_note();
    put_in_entry(&mut doc, id, "at", ScalarValue::Timestamp(i64::MAX));
    assert!(
        matches!(view_err(&doc), ShapeError::WrongType { .. }),
        "{:?}",
        view_err(&doc)
    );
    // A plain integer of milliseconds is accepted as a time.
    put_in_entry(&mut doc, id, "at", ScalarValue::Int(BASE_MS + 7));
    assert_eq!(
        crate::view(&doc).timeline[0].at.as_millisecond(),
        BASE_MS + 7
    );
}

#[test]
fn an_entry_without_a_time_is_missing_it() {
    let (mut doc, id) = with_note();
    raw(&mut doc, |tx| {
        let (_, timeline) = tx.get(ROOT, "timeline")?.unwrap();
        let (_, entry) = tx.get(&timeline, id.to_string())?.unwrap();
        tx.delete(&entry, "at")
    });
    assert_eq!(
        view_err(&doc),
        ShapeError::Missing {
            path: format!("timeline.{id}.at")
        }
    );
}

#[test]
fn an_alert_target_that_does_not_parse_is_invalid() {
    let (mut doc, id) = with_note();
    raw(&mut doc, |tx| {
        let (_, timeline) = tx.get(ROOT, "timeline")?.unwrap();
        let (_, entry) = tx.get(&timeline, id.to_string())?.unwrap();
        let (_, alert) = tx.get(&entry, "alert")?.unwrap();
        tx.insert(&alert, 0, "finance")
    });
    assert!(
        matches!(
            view_err(&doc),
            ShapeError::Invalid {
                source: InvalidInput::AlertTarget { .. },
                ..
            }
        ),
        "{:?}",
        view_err(&doc)
    );
}

#[test]
fn a_deal_amount_that_is_text_is_a_wrong_type() {
    use rapport_model::account::NewDeal;
    use rapport_model::{Currency, DealId, Money};
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let id = DealId::from_parts((BASE_MS + 1) as u64, 1);
    let deal = NewDeal {
        title: "Pilot".into(),
        amount: Money::parse("10", Currency::DEFAULT).unwrap(),
        stage: "proposal".parse().unwrap(),
        close: None,
    };
    crate::write(&mut doc, &ana, |tx| account::add_deal(tx, &ana, id, &deal));
    raw(&mut doc, |tx| {
        let (_, deals) = tx.get(ROOT, "deals")?.unwrap();
        let (_, obj) = tx.get(&deals, id.to_string())?.unwrap();
        tx.put(&obj, "amount", "ten euros")
    });
    let expected = ShapeError::WrongType {
        path: format!("deals.{id}.amount"),
        expected: "an integer",
        found: "a string".into(),
    };
    assert_eq!(view_err(&doc), expected);
}

#[test]
fn an_item_that_is_not_a_map_is_a_wrong_type() {
    let mut doc = new_account("Acme");
    let key = rapport_model::ContactId::from_parts(1, 1).to_string();
    raw(&mut doc, |tx| {
        let (_, contacts) = tx.get(ROOT, "contacts")?.unwrap();
        tx.put(&contacts, key.as_str(), "Dana")
    });
    assert!(
        matches!(view_err(&doc), ShapeError::WrongType { ref path, .. } if *path == format!("contacts.{key}")),
        "{:?}",
        view_err(&doc)
    );
}

#[test]
fn a_document_written_with_text_objects_like_a_js_peer_reads_fine() {
    // The layout an automerge-repo JavaScript peer writes by default: strings as text objects.
    let mut doc = Automerge::new();
    let id = EntryId::from_parts((BASE_MS + 1) as u64, 9);
    let contact = rapport_model::ContactId::from_parts((BASE_MS + 1) as u64, 8);
    raw(&mut doc, |tx| {
        let text = |tx: &mut Transaction<'_>,
                    obj: &automerge::ObjId,
                    key: &str,
                    value: &str|
         -> Result<(), AutomergeError> {
            let t = tx.put_object(obj, key, ObjType::Text)?;
            tx.splice_text(&t, 0, 0, value)
        };
        text(tx, &ROOT, "type", "account")?;
        tx.put(ROOT, "schema", 1)?;
        text(tx, &ROOT, "name", "Acme JS")?;
        text(tx, &ROOT, "stage", "customer")?;
        text(tx, &ROOT, "domain", "acme.io")?;
        let contacts = tx.put_object(ROOT, "contacts", ObjType::Map)?;
        let c = tx.put_object(&contacts, contact.to_string(), ObjType::Map)?;
        text(tx, &c, "name", "Dana")?;
        text(tx, &c, "phone", "+1 555 0100")?;
        let timeline = tx.put_object(ROOT, "timeline", ObjType::Map)?;
        let entry = tx.put_object(&timeline, id.to_string(), ObjType::Map)?;
        text(tx, &entry, "kind", "call")?;
        text(tx, &entry, "team", "support")?;
        text(tx, &entry, "author", "bo")?;
        tx.put(&entry, "at", ScalarValue::Timestamp(BASE_MS + 1))?;
        // A JS peer may store the note's text as a plain string.
        tx.put(&entry, "text", "called about renewal")?;
        let alert = tx.put_object(&entry, "alert", ObjType::List)?;
        let target = tx.insert_object(&alert, 0, ObjType::Text)?;
        tx.splice_text(&target, 0, 0, "@ana")
    });
    let view = crate::view(&doc);
    assert_eq!(view.name, "Acme JS");
    assert_eq!(view.stage, Some(rapport_model::Stage::Customer));
    assert_eq!(view.domain.as_deref(), Some("acme.io"));
    assert_eq!(view.contacts.len(), 1);
    assert_eq!(view.contacts[0].name, "Dana");
    assert_eq!(view.contacts[0].phone.as_deref(), Some("+1 555 0100"));
    assert_eq!(view.timeline.len(), 1);
    let entry = &view.timeline[0];
    assert_eq!(
        (entry.kind, entry.team, entry.author.as_str()),
        (rapport_model::EntryKind::Call, Team::Support, "bo")
    );
    assert_eq!(entry.text, "called about renewal");
    assert_eq!(entry.alert, ["@ana".parse().unwrap()]);
    assert!(
        view.tags.is_empty() && view.deals.is_empty() && view.tasks.is_empty(),
        "missing collections read as empty"
    );
    let summary = account::summary(&doc, doc_id()).unwrap();
    assert_eq!(
        (
            summary.name.as_str(),
            summary.stage.as_deref(),
            summary.contacts,
            summary.entries
        ),
        ("Acme JS", Some("customer"), 1, 1)
    );

    // Rapport can write into such a document: missing collections are created on demand.
    let ana = edit_at("ana", Team::Sales, BASE_MS + 2);
    crate::write(&mut doc, &ana, |tx| account::acknowledge(tx, &ana, id));
    assert!(account::is_acknowledged(&doc, &crate::user("ana"), id).unwrap());
    crate::write(&mut doc, &ana, |tx| {
        account::set(
            tx,
            &[rapport_model::AccountAssignment::parse("tags=vip, renewal").unwrap()],
        )
    });
    assert_eq!(crate::view(&doc).tags, ["renewal", "vip"]);
}

#[test]
fn one_deal_reads_as_the_account_view_shows_it_and_another_shape_names_the_field() {
    use rapport_model::account::NewDeal;
    use rapport_model::{DealId, Money};
    let mut doc = new_account("Globex");
    let edit = edit_at("ana", Team::Sales, BASE_MS);
    let id = DealId::new();
    let deal = NewDeal {
        title: "Upgrade".into(),
        amount: Money::parse("24000", "usd".parse().unwrap()).unwrap(),
        stage: "proposal".parse().unwrap(),
        close: Some("2026-12-31".parse().unwrap()),
    };
    write(&mut doc, &edit, |tx| {
        account::add_deal(tx, &edit, id, &deal)
    });
    let view = account::view(&doc, doc_id()).unwrap();
    assert_eq!(
        account::read_deal(&doc, id).unwrap(),
        view.deals.first().cloned()
    );
    assert_eq!(account::read_deal(&doc, DealId::new()).unwrap(), None);

    raw(&mut doc, |tx| {
        let (_, deals) = tx.get(ROOT, "deals")?.unwrap();
        let (_, deal) = tx.get(&deals, id.to_string())?.unwrap();
        tx.put(&deal, "amount", "a lot")
    });
    let err = account::read_deal(&doc, id).unwrap_err();
    assert!(err.to_string().contains("amount"), "{err}");
}

#[test]
fn odd_tags_and_custom_fields_leave_them_out_of_the_summary_not_the_account() {
    let mut doc = new_account("Acme");
    raw(&mut doc, |tx| {
        let custom = tx.put_object(ROOT, "custom", ObjType::Map)?;
        tx.put(&custom, "region", "north")?;
        tx.put(&custom, "seats", 12)?;
        tx.put(ROOT, "tags", "not a map")
    });
    let summary = account::summary(&doc, doc_id()).unwrap();
    assert_eq!(summary.name, "Acme");
    assert!(summary.tags.is_empty());
    assert_eq!(
        summary.custom,
        [
            ("region".to_owned(), "north".to_owned()),
            ("seats".to_owned(), "12".to_owned())
        ]
        .into()
    );
    assert!(
        account::view(&doc, doc_id()).is_err(),
        "the whole account still says what does not read"
    );
}

#[test]
fn numbers_and_flags_a_peer_wrote_as_custom_fields_read_as_their_text() {
    let mut doc = new_account("Acme");
    raw(&mut doc, |tx| {
        let custom = tx.put_object(ROOT, "custom", ObjType::Map)?;
        tx.put(&custom, "seats", 12)?;
        tx.put(&custom, "vip", true)?;
        tx.put(&custom, "gone", ())?;
        Ok(())
    });
    let view = account::view(&doc, doc_id()).unwrap();
    let expected: BTreeMap<String, String> = [
        ("seats".to_owned(), "12".to_owned()),
        ("vip".to_owned(), "true".to_owned()),
    ]
    .into();
    assert_eq!(view.custom, expected);
    raw(&mut doc, |tx| {
        let (_, custom) = tx.get(ROOT, "custom")?.unwrap();
        tx.put_object(&custom, "nested", ObjType::Map)?;
        Ok(())
    });
    assert!(
        account::view(&doc, doc_id()).is_err(),
        "an object is still no custom value"
    );
}
