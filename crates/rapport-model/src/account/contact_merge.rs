//! Merging one contact of an account into another of the same account: the kept contact keeps
//! its values and gets those it lacks from the other, and the other is marked as merged into it.
//!
//! The mark is one scalar in the merged contact's own map (`contacts.<id>.merged_into`), not a
//! new collection: documents made before merges existed need nothing new, and two replicas
//! merging at once write keys that never hide each other. The merged contact stays in the
//! document with whatever is written to it later (a replica that had not heard of the merge
//! may still edit it); readers show it under the contact that stands for it rather than on its
//! own, so such an edit is seen, not lost, and nothing the kept contact holds is overwritten.
//!
//! Who stands for a contact is read from the document alone, as for accounts: `merged_into`
//! followed to the end, a loop (two replicas merging a pair in opposite directions) ending at
//! its smallest id (`merge::survivor`), so every replica decides the same.
//!
//! Nothing else in an account names a contact (deals, tasks and timeline entries hold no contact
//! reference: see `schema`), so a merge has nothing else to point at the kept contact.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT, ReadDoc};

use crate::error::{EditError, ShapeError};
use crate::fields::ContactField;
use crate::id::ContactId;
use crate::read;
use crate::schema::{CONTACTS, MERGED_INTO};
use crate::touched::Touched;

use super::merge::survivor;

/// Which contacts of an account were merged into which, as the document says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactMerges {
    /// Each marked contact and the contact its mark names (one the account holds).
    into: BTreeMap<ContactId, ContactId>,
}

impl ContactMerges {
    /// Reads every contact's mark. A mark that is not a contact id of this account (a foreign
    /// peer's value, or a contact that is not here) is no merge: the contact stands for itself.
    pub fn read<D: ReadDoc>(doc: &D) -> Result<Self, ShapeError> {
        let Some(contacts) = read::object(doc, &ROOT, CONTACTS, ObjType::Map, "")? else {
            return Ok(Self::default());
        };
        let mut into = BTreeMap::new();
        for key in doc.keys(&contacts) {
            let Ok(id) = key.parse::<ContactId>() else {
                continue;
            };
            let Ok(Some(obj)) = read::object(doc, &contacts, &key, ObjType::Map, CONTACTS) else {
                continue;
            };
            let target = read::string(doc, &obj, MERGED_INTO, "")
                .ok()
                .flatten()
                .and_then(|text| text.parse::<ContactId>().ok());
            if let Some(target) = target
                && doc
                    .get(&contacts, target.to_string())
                    .ok()
                    .flatten()
                    .is_some()
            {
                into.insert(id, target);
            }
        }
        Ok(Self { into })
    }

    /// The contact that stands for `id`: itself, or the end of its merges.
    pub fn survivor(&self, id: ContactId) -> ContactId {
        survivor(id, |at| self.into.get(&at).copied())
    }

    /// Whether another contact stands for `id` (it is shown under that one, not on its own).
    pub fn stands_for_another(&self, id: ContactId) -> bool {
        self.survivor(id) != id
    }

    /// Every contact that carries a mark, whether or not another contact stands for it (the
    /// survivor of a loop is marked too): the contacts whose standing a merge can change.
    pub fn marked(&self) -> impl Iterator<Item = ContactId> + '_ {
        self.into.keys().copied()
    }

    /// How many contacts another stands for.
    pub fn hidden(&self) -> usize {
        self.marked()
            .filter(|id| self.stands_for_another(*id))
            .count()
    }
}

/// What a contact merge did.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactMerged {
    /// The contact merged away: the one named, or the contact that already stood for it.
    pub merged: ContactId,
    /// The contact kept.
    pub into: ContactId,
    /// The fields the kept contact lacked and got from the merged one.
    pub filled: Vec<ContactField>,
    /// False when `merged` was merged into `into` already: nothing was written.
    pub changed: bool,
    /// The contacts written.
    pub touched: Touched,
}

/// Merges contact `other` into `keep`, both of this account: `keep` gets the fields it has no
/// value for from `other`, and `other` is marked as merged into it. When another contact
/// already stands for `other`, that one is merged; when it is `keep`, nothing is written.
/// Refused, writing nothing: a contact into itself, an unknown contact, and a `keep` that
/// another contact stands for (its survivor is the one to keep).
pub fn merge_contact<T: Transactable>(
    tx: &mut T,
    other: ContactId,
    keep: ContactId,
) -> Result<ContactMerged, EditError> {
    let refuse = |reason: String| EditError::CannotMergeContact {
        other,
        keep,
        reason,
    };
    if other == keep {
        return Err(refuse("a contact cannot be merged into itself".into()));
    }
    let keep_obj = contact(tx, keep)?;
    contact(tx, other)?;
    let merges = ContactMerges::read(tx)?;
    let standing = merges.survivor(keep);
    if standing != keep {
        return Err(refuse(format!(
            "{keep} was merged into {standing}: keep {standing} instead"
        )));
    }
    let merged = merges.survivor(other);
    if merged == keep {
        return Ok(ContactMerged {
            merged,
            into: keep,
            filled: Vec::new(),
            changed: false,
            touched: Touched::default(),
        });
    }
    let merged_obj = contact(tx, merged)?;
    let mut filled = Vec::new();
    for field in ContactField::ALL {
        let key = field.key();
        if tx.get(&keep_obj, key)?.is_some() {
            continue;
        }
        if let Some(value) = read::string(tx, &merged_obj, key, CONTACTS)? {
            tx.put(&keep_obj, key, value)?;
            filled.push(field);
        }
    }
    tx.put(&merged_obj, MERGED_INTO, keep.to_string())?;
    let mut touched = Touched::contact(keep);
    touched.merge(Touched::contact(merged));
    Ok(ContactMerged {
        merged,
        into: keep,
        filled,
        changed: true,
        touched,
    })
}

/// The map of contact `id`, which must exist.
fn contact<T: Transactable>(tx: &T, id: ContactId) -> Result<ObjId, EditError> {
    let unknown = || EditError::UnknownItem {
        what: "contact",
        id: id.to_string(),
    };
    let contacts = read::object(tx, &ROOT, CONTACTS, ObjType::Map, "")?.ok_or_else(unknown)?;
    read::object(tx, &contacts, &id.to_string(), ObjType::Map, CONTACTS)?.ok_or_else(unknown)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use automerge::Automerge;

    use super::*;
    use crate::account::{self, NewAccount, NewContact};
    use crate::{ContactAssignment, DocumentId, Edit, Team};

    fn edit() -> Edit {
        Edit::now("ana".parse().unwrap(), Team::Sales)
    }

    fn change<R>(
        doc: &mut Automerge,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<R, EditError>,
    ) -> Result<R, EditError> {
        doc.transact_with(|_| edit().commit_options(), f)
            .map(|success| success.result)
            .map_err(|failure| failure.error)
    }

    /// A contact to start with: name, email, phone, title.
    type Given<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn account_with(contacts: &[Given<'_>]) -> Automerge {
        let mut doc = Automerge::new();
        let new = NewAccount {
            name: "Acme".into(),
            ..Default::default()
        };
        change(&mut doc, |tx| account::create(tx, &edit(), &new)).unwrap();
        // Ids made within one millisecond sort at random: the contacts get them in order, so
        // that `ids` lists them as given.
        let mut made: Vec<ContactId> = contacts.iter().map(|_| ContactId::new()).collect();
        made.sort();
        for ((name, email, phone, title), id) in contacts.iter().zip(made) {
            let new = NewContact {
                name: (*name).into(),
                email: email.map(str::to_owned),
                phone: phone.map(str::to_owned),
                title: title.map(str::to_owned),
            };
            change(&mut doc, |tx| account::add_contact(tx, &edit(), id, &new)).unwrap();
        }
        doc
    }

    fn ids(doc: &Automerge) -> Vec<ContactId> {
        let mut ids: Vec<ContactId> = account::each_contact(doc)
            .unwrap()
            .into_iter()
            .map(|(key, _)| key.parse().unwrap())
            .collect();
        ids.sort();
        ids
    }

    fn view(doc: &Automerge) -> account::AccountView {
        account::view(doc, DocumentId::from_bytes([7; 16])).unwrap()
    }

    #[test]
    fn the_kept_contact_keeps_its_values_and_gets_the_ones_it_lacked() {
        let mut doc = account_with(&[
            ("Hank Scorpio", Some("hank@globex.com"), None, None),
            (
                "H. Scorpio",
                Some("h@old.com"),
                Some("+1-555-0100"),
                Some("CEO"),
            ),
        ]);
        let [keep, other] = ids(&doc)[..] else {
            panic!()
        };
        let merged = change(&mut doc, |tx| merge_contact(tx, other, keep)).unwrap();
        assert_eq!(
            merged.filled,
            [ContactField::Phone, ContactField::Title],
            "only what it lacked"
        );
        assert!(merged.changed);
        let view = view(&doc);
        assert_eq!(view.contacts.len(), 1, "{view:#?}");
        let kept = &view.contacts[0];
        assert_eq!(
            (kept.id, kept.name.as_str(), kept.email.as_deref()),
            (keep, "Hank Scorpio", Some("hank@globex.com"))
        );
        assert_eq!(kept.phone.as_deref(), Some("+1-555-0100"));
        assert_eq!(kept.title.as_deref(), Some("CEO"));
        assert_eq!(view.merged_contacts.len(), 1);
        assert_eq!(view.merged_contacts[0].into, keep);
        assert_eq!(view.merged_contacts[0].contact.id, other);
        assert_eq!(
            view.merged_contacts[0].contact.email.as_deref(),
            Some("h@old.com")
        );
        let summary = account::summary(&doc, DocumentId::from_bytes([7; 16])).unwrap();
        assert_eq!(summary.contacts, 1, "the list counts the kept contact only");
    }

    #[test]
    fn merging_twice_writes_nothing_the_second_time() {
        let mut doc = account_with(&[("Hank", None, None, None), ("Hank", None, None, None)]);
        let [keep, other] = ids(&doc)[..] else {
            panic!()
        };
        change(&mut doc, |tx| merge_contact(tx, other, keep)).unwrap();
        let heads = doc.get_heads();
        let again = change(&mut doc, |tx| merge_contact(tx, other, keep)).unwrap();
        assert!(!again.changed);
        assert_eq!(again.touched, Touched::default());
        assert_eq!(doc.get_heads(), heads, "no change was made");
    }

    #[test]
    fn a_contact_into_itself_an_unknown_one_or_a_merged_one_as_keep_is_refused() {
        let mut doc = account_with(&[("Hank", None, None, None), ("Hank", None, None, None)]);
        let [keep, other] = ids(&doc)[..] else {
            panic!()
        };
        let itself = change(&mut doc, |tx| merge_contact(tx, keep, keep)).unwrap_err();
        assert!(itself.to_string().contains("into itself"), "{itself}");
        let stranger = ContactId::new();
        let unknown = change(&mut doc, |tx| merge_contact(tx, stranger, keep)).unwrap_err();
        assert!(
            matches!(unknown, EditError::UnknownItem { .. }),
            "{unknown}"
        );
        change(&mut doc, |tx| merge_contact(tx, other, keep)).unwrap();
        let heads = doc.get_heads();
        let backwards = change(&mut doc, |tx| merge_contact(tx, keep, other)).unwrap_err();
        assert!(
            backwards
                .to_string()
                .contains(&format!("{other} was merged into {keep}")),
            "{backwards}"
        );
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn naming_a_merged_contact_merges_the_one_that_stands_for_it() {
        let mut doc = account_with(&[
            ("Hank", None, None, None),
            ("Hank", None, Some("+1"), None),
            ("Hank", None, None, None),
        ]);
        let [first, second, last] = ids(&doc)[..] else {
            panic!()
        };
        change(&mut doc, |tx| merge_contact(tx, second, first)).unwrap();
        let merged = change(&mut doc, |tx| merge_contact(tx, second, last)).unwrap();
        assert_eq!((merged.merged, merged.into), (first, last));
        let view = view(&doc);
        assert_eq!(view.contacts.len(), 1);
        assert_eq!(view.contacts[0].id, last);
        assert_eq!(view.contacts[0].phone.as_deref(), Some("+1"));
        assert!(view.merged_contacts.iter().all(|m| m.into == last));
    }

    #[test]
    fn opposite_merges_on_two_replicas_converge_on_the_smaller_id_with_both_fills() {
        let base = account_with(&[
            ("Hank", Some("hank@globex.com"), Some("+1-555-0100"), None),
            ("Hank S.", Some("hank@globex.com"), None, Some("CEO")),
        ]);
        let [a, b] = ids(&base)[..] else { panic!() };
        let (mut one, mut two) = (base.fork(), base.fork());
        change(&mut one, |tx| merge_contact(tx, b, a)).unwrap();
        change(&mut two, |tx| merge_contact(tx, a, b)).unwrap();
        one.merge(&mut two).unwrap();
        two.merge(&mut one).unwrap();
        let (seen_one, seen_two) = (view(&one), view(&two));
        assert_eq!(seen_one, seen_two);
        let smaller = a.min(b);
        assert_eq!(seen_one.contacts.len(), 1, "{seen_one:#?}");
        let kept = &seen_one.contacts[0];
        assert_eq!(kept.id, smaller);
        assert_eq!(kept.phone.as_deref(), Some("+1-555-0100"));
        assert_eq!(kept.title.as_deref(), Some("CEO"));
        assert_eq!(seen_one.merged_contacts.len(), 1);
        assert_eq!(seen_one.merged_contacts[0].into, smaller);
        assert_eq!(seen_one.conflicts, []);
    }

    #[test]
    fn an_edit_made_offline_on_the_merged_contact_shows_under_the_kept_one() {
        let base = account_with(&[("Hank", None, Some("+1"), None), ("Hank", None, None, None)]);
        let [keep, other] = ids(&base)[..] else {
            panic!()
        };
        let (mut merging, mut offline) = (base.fork(), base.fork());
        change(&mut merging, |tx| merge_contact(tx, other, keep)).unwrap();
        let phone = ContactAssignment::parse("phone=+44").unwrap();
        change(&mut offline, |tx| account::set_contact(tx, other, &[phone])).unwrap();
        merging.merge(&mut offline).unwrap();
        let view = view(&merging);
        assert_eq!(view.contacts.len(), 1);
        assert_eq!(
            view.contacts[0].phone.as_deref(),
            Some("+1"),
            "kept as it was"
        );
        assert_eq!(
            view.merged_contacts[0].contact.phone.as_deref(),
            Some("+44")
        );
    }

    #[test]
    fn a_foreign_mark_naming_no_contact_of_the_account_is_no_merge() {
        let mut doc = account_with(&[("Hank", None, None, None)]);
        let [only] = ids(&doc)[..] else { panic!() };
        change(&mut doc, |tx| {
            let contacts = tx.get(ROOT, CONTACTS)?.unwrap().1;
            let obj = tx.get(&contacts, only.to_string())?.unwrap().1;
            tx.put(&obj, MERGED_INTO, "somewhere else")?;
            Ok(())
        })
        .unwrap();
        let merges = ContactMerges::read(&doc).unwrap();
        assert!(!merges.stands_for_another(only));
        assert_eq!(view(&doc).contacts.len(), 1);
    }
}
