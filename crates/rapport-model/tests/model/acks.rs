//! Acknowledgements are per user and follow the document; alerts reach their targets, never
//! their author.

use rapport_model::account::{self, NewEntry};
use rapport_model::{EntryId, EntryKind, Team, alert};

use crate::{BASE_MS, edit_at, new_account, note, replica, sync, user, write};

#[test]
fn acknowledging_marks_the_entry_seen_for_that_user_only() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let entry = EntryId::from_parts((BASE_MS + 1) as u64, 1);
    let other = EntryId::from_parts((BASE_MS + 2) as u64, 2);
    write(&mut doc, &ana, |tx| {
        account::add_entry(tx, &ana, entry, &note("needs a quote", &["support", "@cy"]))
    });
    write(&mut doc, &ana, |tx| {
        account::add_entry(tx, &ana, other, &note("second", &["support"]))
    });

    let bo = edit_at("bo", Team::Support, BASE_MS + 3);
    assert!(!account::is_acknowledged(&doc, &bo.user, entry).unwrap());
    write(&mut doc, &bo, |tx| account::acknowledge(tx, &bo, entry));

    assert!(account::is_acknowledged(&doc, &user("bo"), entry).unwrap());
    assert!(
        !account::is_acknowledged(&doc, &user("bo"), other).unwrap(),
        "only the acknowledged entry"
    );
    assert!(
        !account::is_acknowledged(&doc, &user("cy"), entry).unwrap(),
        "only the acknowledging user"
    );
    assert!(!account::is_acknowledged(&doc, &user("ana"), entry).unwrap());

    // Acknowledging twice is harmless.
    write(&mut doc, &bo, |tx| account::acknowledge(tx, &bo, entry));
    assert!(account::is_acknowledged(&doc, &user("bo"), entry).unwrap());
    assert!(crate::view(&doc).conflicts.is_empty());
}

#[test]
fn acknowledgements_by_different_users_on_different_replicas_all_survive() {
    let mut base = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let entry = EntryId::from_parts((BASE_MS + 1) as u64, 1);
    write(&mut base, &ana, |tx| {
        account::add_entry(tx, &ana, entry, &note("escalation", &["support"]))
    });
    let mut a = replica(&base);
    let mut b = replica(&base);
    let bo = edit_at("bo", Team::Support, BASE_MS + 2);
    let cy = edit_at("cy", Team::Support, BASE_MS + 3);
    write(&mut a, &bo, |tx| account::acknowledge(tx, &bo, entry));
    write(&mut b, &cy, |tx| account::acknowledge(tx, &cy, entry));
    sync(&mut a, &mut b);
    for doc in [&a, &b] {
        assert!(account::is_acknowledged(doc, &user("bo"), entry).unwrap());
        assert!(account::is_acknowledged(doc, &user("cy"), entry).unwrap());
    }
}

#[test]
fn alerts_reach_targeted_teams_and_users_but_never_the_author() {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let id = EntryId::from_parts((BASE_MS + 1) as u64, 1);
    let entry = NewEntry {
        kind: EntryKind::Call,
        text: "wants a discount".into(),
        alert: vec!["sales".parse().unwrap(), "@dee".parse().unwrap()],
    };
    write(&mut doc, &ana, |tx| {
        account::add_entry(tx, &ana, id, &entry)
    });
    let read = account::read_entry(&doc, id).unwrap().unwrap();
    assert_eq!(read.kind, EntryKind::Call);
    assert_eq!(read.alert, entry.alert);

    assert!(
        alert::alerts(&read, &user("bo"), Team::Sales),
        "a member of the targeted team"
    );
    assert!(
        alert::alerts(&read, &user("dee"), Team::Marketing),
        "the targeted user, whatever their team"
    );
    assert!(
        !alert::alerts(&read, &user("cy"), Team::Support),
        "neither targeted nor in the team"
    );
    assert!(
        !alert::alerts(&read, &user("ana"), Team::Sales),
        "the author, although in the targeted team"
    );

    // An entry that targets its own author by name still does not alert them.
    let self_id = EntryId::from_parts((BASE_MS + 2) as u64, 2);
    write(&mut doc, &ana, |tx| {
        account::add_entry(tx, &ana, self_id, &note("reminder", &["@ana"]))
    });
    let reminder = account::read_entry(&doc, self_id).unwrap().unwrap();
    assert!(!alert::alerts(&reminder, &user("ana"), Team::Sales));
    assert!(!alert::alerts(&reminder, &user("bo"), Team::Sales));

    // No alert targets: nobody is alerted.
    let quiet = EntryId::from_parts((BASE_MS + 3) as u64, 3);
    write(&mut doc, &ana, |tx| {
        account::add_entry(tx, &ana, quiet, &note("fyi", &[]))
    });
    let quiet = account::read_entry(&doc, quiet).unwrap().unwrap();
    for team in Team::ALL {
        assert!(!alert::alerts(&quiet, &user("bo"), *team));
    }
    assert_eq!(
        account::read_entry(&doc, EntryId::from_parts(1, 1)).unwrap(),
        None
    );
}

#[test]
fn acknowledgements_by_one_user_on_two_devices_both_survive() {
    let mut base = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let first = EntryId::from_parts((BASE_MS + 1) as u64, 1);
    let second = EntryId::from_parts((BASE_MS + 2) as u64, 2);
    write(&mut base, &ana, |tx| {
        account::add_entry(tx, &ana, first, &note("one", &["support"]))
    });
    write(&mut base, &ana, |tx| {
        account::add_entry(tx, &ana, second, &note("two", &["support"]))
    });
    // bo's laptop and bo's phone, both offline, each acknowledge one alert: bo's first
    // acknowledgements ever on this account.
    let mut laptop = replica(&base);
    let mut phone = replica(&base);
    let bo = edit_at("bo", Team::Support, BASE_MS + 3);
    write(&mut laptop, &bo, |tx| account::acknowledge(tx, &bo, first));
    write(&mut phone, &bo, |tx| account::acknowledge(tx, &bo, second));
    let before = laptop.get_heads();
    sync(&mut laptop, &mut phone);
    // What the laptop's index must refresh includes the phone's acknowledgement.
    let touched = rapport_model::Touched::from_patches(&laptop.diff(&before, &laptop.get_heads()));
    assert!(
        touched
            .acks
            .contains(&("bo".to_owned(), second.to_string())),
        "{touched:?}"
    );
    for doc in [&laptop, &phone] {
        assert!(account::is_acknowledged(doc, &user("bo"), first).unwrap());
        assert!(account::is_acknowledged(doc, &user("bo"), second).unwrap());
        assert!(!account::is_acknowledged(doc, &user("cy"), second).unwrap());
    }
    // Later acknowledgements by bo, on either device, keep the earlier ones.
    let third = EntryId::from_parts((BASE_MS + 4) as u64, 3);
    write(&mut phone, &ana, |tx| {
        account::add_entry(tx, &ana, third, &note("three", &["support"]))
    });
    write(&mut phone, &bo, |tx| account::acknowledge(tx, &bo, third));
    sync(&mut laptop, &mut phone);
    for doc in [&laptop, &phone] {
        for entry in [first, second, third] {
            assert!(
                account::is_acknowledged(doc, &user("bo"), entry).unwrap(),
                "{entry}"
            );
        }
    }
}
