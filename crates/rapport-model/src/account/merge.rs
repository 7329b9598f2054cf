//! Merging one account into another: what the surviving account lacks of the merged one, copied
//! under the same keys, and the mark that sends readers of the merged one to the survivor.
//!
//! Copies keep their keys (item ids, tag names, field names, acknowledgement keys), so copying
//! twice changes nothing the second time and two replicas copying concurrently write the same
//! keys with the same content: whichever value Automerge picks, every replica shows the same.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::error::{EditError, ShapeError};
use crate::fields::AccountField;
use crate::id::DocumentId;
use crate::read;
use crate::schema::{
    ACKS, CONTACTS, CUSTOM, DEALS, FOLLOWER_PREFIX, MERGED_INTO, TAGS, TASKS, TIMELINE,
};
use crate::touched::Touched;

/// How deep a copied value may nest: Rapport's items are two levels deep (an entry's alert
/// list); anything deeper is a foreign peer's and is cut off there rather than recursed into.
const MAX_DEPTH: usize = 8;

/// The document an account was merged into, if it was.
pub fn merged_into<D: ReadDoc>(doc: &D) -> Result<Option<DocumentId>, ShapeError> {
    read::parsed(doc, &ROOT, MERGED_INTO, "")
}

/// Marks the account as merged into `survivor`: lists, search and alerts show the survivor in
/// its place, and whatever it holds that the survivor lacks is copied there.
pub fn mark_merged<T: Transactable>(
    tx: &mut T,
    survivor: DocumentId,
) -> Result<Touched, EditError> {
    tx.put(ROOT, MERGED_INTO, survivor.to_string())?;
    Ok(Touched::everything())
}

/// A value read out of a document, to be written into another.
#[derive(Clone, Debug, PartialEq)]
enum Copied {
    Scalar(ScalarValue),
    Text(String),
    Map(Vec<(String, Copied)>),
    List(Vec<Copied>),
}

/// What one account holds that another lacks: [`missing`] reads it, [`Carried::write`] copies it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Carried {
    /// Account fields, custom fields and tags.
    fields: Vec<(Place, String, Copied)>,
    /// Contacts, deals, tasks, timeline entries and acknowledgements, by collection.
    items: Vec<(&'static str, String, Copied)>,
}

/// Where an account-level value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Root,
    Custom,
    Tags,
}

impl Carried {
    /// Whether there is nothing to copy.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.items.is_empty()
    }

    /// How many items (contacts, deals, tasks, entries, acknowledgements) are carried.
    pub fn items(&self) -> usize {
        self.items.len()
    }

    /// Writes everything carried into the open transaction of the surviving account. A key
    /// that exists there by now (written concurrently) is left as it is.
    pub fn write<T: Transactable>(&self, tx: &mut T) -> Result<Touched, EditError> {
        let mut touched = Touched::default();
        for (place, key, value) in &self.fields {
            let parent = match place {
                Place::Root => ROOT,
                Place::Custom => collection(tx, CUSTOM)?,
                Place::Tags => collection(tx, TAGS)?,
            };
            if tx.get(&parent, key.as_str())?.is_none() {
                put(tx, &parent, key, value)?;
                touched.fields = true;
            }
        }
        for (section, key, value) in &self.items {
            let parent = collection(tx, section)?;
            if tx.get(&parent, key.as_str())?.is_some() {
                continue;
            }
            put(tx, &parent, key, value)?;
            touched.merge(touched_item(section, key));
        }
        Ok(touched)
    }
}

/// What `from` holds that `into` lacks: account fields `into` has no value for, followers,
/// custom fields and tags it does not have, and every item and acknowledgement whose key it
/// does not hold.
/// What a merge copies.
pub fn missing<F: ReadDoc, I: ReadDoc>(from: &F, into: &I) -> Result<Carried, ShapeError> {
    let mut carried = missing_items(from, into)?;
    carried.fields = missing_fields(from, into)?;
    Ok(carried)
}

/// The items and acknowledgements `from` holds that `into` lacks, not its fields: what is
/// forwarded after a merge. A field or tag the survivor lacks by then may have been cleared
/// there on purpose, and must not come back; items are never removed, so one that is missing
/// was never there.
pub fn missing_items<F: ReadDoc, I: ReadDoc>(from: &F, into: &I) -> Result<Carried, ShapeError> {
    let mut carried = Carried::default();
    for section in [CONTACTS, DEALS, TASKS, TIMELINE, ACKS] {
        for (key, value) in lacking(from, into, section)? {
            carried.items.push((section, key, value));
        }
    }
    Ok(carried)
}

fn missing_fields<F: ReadDoc, I: ReadDoc>(
    from: &F,
    into: &I,
) -> Result<Vec<(Place, String, Copied)>, ShapeError> {
    let mut fields = Vec::new();
    for field in AccountField::ROOT {
        let key = field.key();
        if into.get(ROOT, key).ok().flatten().is_none()
            && let Some(value) = copy(from, &ROOT, key, 0)
        {
            fields.push((Place::Root, key.to_owned(), value));
        }
    }
    // Followers of the merged account follow the survivor, from the time they followed.
    for key in from
        .keys(ROOT)
        .filter(|key| key.starts_with(FOLLOWER_PREFIX))
    {
        if into.get(ROOT, key.as_str()).ok().flatten().is_none()
            && let Some(value) = copy(from, &ROOT, &key, 0)
        {
            fields.push((Place::Root, key, value));
        }
    }
    for (place, section) in [(Place::Custom, CUSTOM), (Place::Tags, TAGS)] {
        for (key, value) in lacking(from, into, section)? {
            fields.push((place, key, value));
        }
    }
    Ok(fields)
}

/// The entries of collection `section` of `from` whose keys `into` lacks.
fn lacking<F: ReadDoc, I: ReadDoc>(
    from: &F,
    into: &I,
    section: &str,
) -> Result<Vec<(String, Copied)>, ShapeError> {
    let Some(theirs) = read::object(from, &ROOT, section, ObjType::Map, "")? else {
        return Ok(Vec::new());
    };
    let ours = read::object(into, &ROOT, section, ObjType::Map, "")?;
    let mut out = Vec::new();
    for key in from.keys(&theirs) {
        let held = ours
            .as_ref()
            .is_some_and(|ours| into.get(ours, key.as_str()).ok().flatten().is_some());
        if !held && let Some(value) = copy(from, &theirs, &key, 0) {
            out.push((key, value));
        }
    }
    Ok(out)
}

/// Reads the value at `obj[key]` whole; `None` when absent or nested deeper than
/// [`MAX_DEPTH`].
fn copy<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str, depth: usize) -> Option<Copied> {
    let (value, id) = doc.get(obj, key).ok().flatten()?;
    copy_value(doc, value, &id, depth)
}

fn copy_value<D: ReadDoc>(doc: &D, value: Value<'_>, id: &ObjId, depth: usize) -> Option<Copied> {
    if depth > MAX_DEPTH {
        return None;
    }
    match value {
        Value::Scalar(scalar) => Some(Copied::Scalar(scalar.into_owned())),
        Value::Object(ObjType::Text) => doc.text(id).ok().map(Copied::Text),
        Value::Object(ObjType::Map | ObjType::Table) => Some(Copied::Map(
            doc.map_range(id, ..)
                .filter_map(|item| {
                    let id = item.id();
                    let value = copy_value(doc, item.value.into(), &id, depth + 1)?;
                    Some((item.key.to_string(), value))
                })
                .collect(),
        )),
        Value::Object(ObjType::List) => Some(Copied::List(
            doc.list_range(id, ..)
                .filter_map(|item| {
                    let id = item.id();
                    copy_value(doc, item.value.into(), &id, depth + 1)
                })
                .collect(),
        )),
    }
}

fn put<T: Transactable>(
    tx: &mut T,
    parent: &ObjId,
    key: &str,
    value: &Copied,
) -> Result<(), EditError> {
    match value {
        Copied::Scalar(scalar) => tx.put(parent, key, scalar.clone())?,
        Copied::Text(text) => {
            let obj = tx.put_object(parent, key, ObjType::Text)?;
            tx.splice_text(&obj, 0, 0, text)?;
        }
        Copied::Map(entries) => {
            let obj = tx.put_object(parent, key, ObjType::Map)?;
            fill_map(tx, &obj, entries)?;
        }
        Copied::List(items) => {
            let obj = tx.put_object(parent, key, ObjType::List)?;
            fill_list(tx, &obj, items)?;
        }
    }
    Ok(())
}

fn fill_map<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    entries: &[(String, Copied)],
) -> Result<(), EditError> {
    for (key, value) in entries {
        put(tx, obj, key, value)?;
    }
    Ok(())
}

fn fill_list<T: Transactable>(tx: &mut T, obj: &ObjId, items: &[Copied]) -> Result<(), EditError> {
    for (index, value) in items.iter().enumerate() {
        match value {
            Copied::Scalar(scalar) => tx.insert(obj, index, scalar.clone())?,
            Copied::Text(text) => {
                let text_obj = tx.insert_object(obj, index, ObjType::Text)?;
                tx.splice_text(&text_obj, 0, 0, text)?;
            }
            Copied::Map(entries) => {
                let map = tx.insert_object(obj, index, ObjType::Map)?;
                fill_map(tx, &map, entries)?;
            }
            Copied::List(items) => {
                let list = tx.insert_object(obj, index, ObjType::List)?;
                fill_list(tx, &list, items)?;
            }
        }
    }
    Ok(())
}

/// The collection map `key` at the root, created when a foreign document lacks it.
fn collection<T: Transactable>(tx: &mut T, key: &str) -> Result<ObjId, EditError> {
    match read::object(tx, &ROOT, key, ObjType::Map, "")? {
        Some(obj) => Ok(obj),
        None => Ok(tx.put_object(ROOT, key, ObjType::Map)?),
    }
}

fn touched_item(section: &str, key: &str) -> Touched {
    let mut touched = Touched::default();
    let key = key.to_owned();
    match section {
        CONTACTS => _ = touched.contacts.insert(key),
        DEALS => _ = touched.deals.insert(key),
        TASKS => _ = touched.tasks.insert(key),
        TIMELINE => _ = touched.entries.insert(key),
        _ => match key.split_once(':') {
            Some((user, entry)) => _ = touched.acks.insert((user.to_owned(), entry.to_owned())),
            None => touched.fields = true,
        },
    }
    touched
}

/// The account (or contact) that stands for `start` once merges are followed to the end:
/// `merged_into` gives the one it was merged into, or `None` for one that was not (or is not
/// here). Merges that form a loop (two replicas merging two accounts into each other) end at
/// the loop's smallest id as text, so every replica picks the same survivor.
pub fn survivor<I: Copy + PartialEq + std::fmt::Display>(
    start: I,
    mut merged_into: impl FnMut(I) -> Option<I>,
) -> I {
    let mut path = vec![start];
    let mut current = start;
    while let Some(next) = merged_into(current) {
        if let Some(at) = path.iter().position(|seen| *seen == next) {
            return path[at..]
                .iter()
                .copied()
                .min_by_key(ToString::to_string)
                .unwrap_or(next);
        }
        path.push(next);
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use automerge::Automerge;

    use super::*;
    use crate::account::{self, NewAccount, NewContact, NewEntry};
    use crate::{AccountAssignment, ContactId, Edit, EntryId, EntryKind, Team};

    fn edit() -> Edit {
        Edit::now("ana".parse().unwrap(), Team::Sales)
    }

    fn new_account(name: &str, domain: Option<&str>) -> Automerge {
        let mut doc = Automerge::new();
        let new = NewAccount {
            name: name.into(),
            domain: domain.map(str::to_owned),
            ..Default::default()
        };
        doc.transact_with(
            |_| edit().commit_options(),
            |tx| account::create(tx, &edit(), &new),
        )
        .unwrap();
        doc
    }

    fn change(
        doc: &mut Automerge,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<Touched, EditError>,
    ) -> Touched {
        doc.transact_with(|_| edit().commit_options(), f)
            .map_err(|failure| failure.error)
            .unwrap()
            .result
    }

    fn note(doc: &mut Automerge, text: &str) -> EntryId {
        let id = EntryId::new();
        let entry = NewEntry {
            kind: EntryKind::Note,
            text: text.into(),
            alert: vec!["support".parse().unwrap()],
        };
        change(doc, |tx| account::add_entry(tx, &edit(), id, &entry));
        id
    }

    #[test]
    fn carrying_copies_items_fields_and_acks_the_survivor_lacks_under_the_same_keys() {
        let mut keep = new_account("Acme", Some("acme.com"));
        let mut other = new_account("ACME Inc", None);
        change(&mut other, |tx| {
            account::set(
                tx,
                &[
                    AccountAssignment::parse("phone=+1-555-0100").unwrap(),
                    AccountAssignment::parse("tags=vip").unwrap(),
                    AccountAssignment::parse("custom.region=emea").unwrap(),
                ],
            )
        });
        let kept_note = note(&mut keep, "ours");
        let their_note = note(&mut other, "theirs");
        let contact = ContactId::new();
        let new = NewContact {
            name: "Hank".into(),
            email: Some("hank@acme.com".into()),
            ..Default::default()
        };
        change(&mut other, |tx| {
            account::add_contact(tx, &edit(), contact, &new)
        });
        change(&mut other, |tx| {
            account::acknowledge(tx, &edit(), their_note)
        });

        let carried = missing(&other, &keep).unwrap();
        assert_eq!(carried.items(), 3, "a note, a contact, an acknowledgement");
        let touched = change(&mut keep, |tx| carried.write(tx));
        assert!(touched.fields);
        assert_eq!(touched.entries, [their_note.to_string()].into());

        let view = account::view(&keep, DocumentId::random()).unwrap();
        let texts: Vec<&str> = view.timeline.iter().map(|e| e.text.as_str()).collect();
        assert!(
            texts.contains(&"ours") && texts.contains(&"theirs"),
            "{texts:?}"
        );
        assert!(view.timeline.iter().any(|e| e.id == kept_note));
        assert_eq!(view.contacts[0].id, contact);
        assert_eq!(view.contacts[0].email.as_deref(), Some("hank@acme.com"));
        assert_eq!(view.name, "Acme", "a field the survivor has is kept");
        assert_eq!(view.phone.as_deref(), Some("+1-555-0100"));
        assert_eq!(view.tags, ["vip"]);
        assert_eq!(
            view.custom,
            BTreeMap::from([("region".into(), "emea".into())])
        );
        assert!(account::is_acknowledged(&keep, &"ana".parse().unwrap(), their_note).unwrap());
        assert!(
            missing(&other, &keep).unwrap().is_empty(),
            "nothing is left to carry"
        );
    }

    #[test]
    fn forwarding_after_a_merge_brings_new_items_and_never_a_cleared_field_back() {
        let mut keep = new_account("Acme", None);
        let mut other = new_account("Acme Ltd", None);
        change(&mut other, |tx| {
            account::set(tx, &[AccountAssignment::parse("tags=vip").unwrap()])
        });
        let carried = missing(&other, &keep).unwrap();
        change(&mut keep, |tx| carried.write(tx));
        change(&mut keep, |tx| {
            account::set(tx, &[AccountAssignment::parse("tags=").unwrap()])
        });
        let late = note(&mut other, "written after the merge");
        let forwarded = missing_items(&other, &keep).unwrap();
        change(&mut keep, |tx| forwarded.write(tx));
        let view = account::view(&keep, DocumentId::random()).unwrap();
        assert_eq!(
            view.tags,
            Vec::<String>::new(),
            "the cleared tag stays cleared"
        );
        assert_eq!(view.timeline[0].id, late);
    }

    #[test]
    fn two_replicas_carrying_concurrently_converge_to_one_copy() {
        let keep = new_account("Acme", None);
        let mut other = new_account("Acme Ltd", None);
        let their_note = note(&mut other, "theirs");
        let (mut a, mut b) = (keep.fork(), keep.fork());
        let carried = missing(&other, &keep).unwrap();
        change(&mut a, |tx| carried.write(tx));
        change(&mut b, |tx| carried.write(tx));
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (va, vb) = (
            account::view(&a, DocumentId::from_bytes([1; 16])).unwrap(),
            account::view(&b, DocumentId::from_bytes([1; 16])).unwrap(),
        );
        assert_eq!(va, vb);
        assert_eq!(va.timeline.len(), 1);
        assert_eq!(va.timeline[0].id, their_note);
        assert_eq!(va.timeline[0].text, "theirs");
        assert_eq!(va.conflicts, []);
    }

    #[test]
    fn followers_of_the_merged_account_follow_the_survivor_from_when_they_followed() {
        let mut keep = new_account("Acme", None);
        let mut other = new_account("Acme Ltd", None);
        let at = |user: &str, ms| Edit {
            user: user.parse().unwrap(),
            team: Team::Sales,
            at: jiff::Timestamp::from_millisecond(ms).unwrap(),
        };
        let (bo_keep, bo_other, cy) = (at("bo", 3_000), at("bo", 1_000), at("cy", 2_000));
        change(&mut keep, |tx| account::follow(tx, &bo_keep));
        change(&mut other, |tx| account::follow(tx, &bo_other));
        change(&mut other, |tx| account::follow(tx, &cy));
        let carried = missing(&other, &keep).unwrap();
        change(&mut keep, |tx| carried.write(tx));
        let since: Vec<(String, i64)> = account::alert_facts(&keep)
            .followers
            .iter()
            .map(|f| {
                (
                    f.user.to_string(),
                    f.since.map_or(0, |t| t.as_millisecond()),
                )
            })
            .collect();
        assert_eq!(
            since,
            [("bo".to_owned(), 3_000), ("cy".to_owned(), 2_000)],
            "the survivor's own follow stands"
        );
    }

    #[test]
    fn a_merged_account_names_its_survivor() {
        let mut other = new_account("Acme Ltd", None);
        assert_eq!(merged_into(&other).unwrap(), None);
        let keep = DocumentId::random();
        change(&mut other, |tx| mark_merged(tx, keep));
        assert_eq!(merged_into(&other).unwrap(), Some(keep));
    }

    #[test]
    fn survivors_follow_chains_and_break_loops_at_the_smallest_id() {
        let [a, b, c] = [1u8, 2, 3].map(|n| DocumentId::from_bytes([n; 16]));
        let chain = BTreeMap::from([(b, a), (a, c)]);
        assert_eq!(survivor(b, |id| chain.get(&id).copied()), c);
        assert_eq!(survivor(c, |id| chain.get(&id).copied()), c);
        let smallest = [a, b]
            .into_iter()
            .min_by_key(DocumentId::to_string)
            .unwrap();
        let opposite = BTreeMap::from([(a, b), (b, a)]);
        assert_eq!(survivor(a, |id| opposite.get(&id).copied()), smallest);
        assert_eq!(survivor(b, |id| opposite.get(&id).copied()), smallest);
        let tail = BTreeMap::from([(c, a), (a, b), (b, a)]);
        assert_eq!(survivor(c, |id| tail.get(&id).copied()), smallest);
    }
}
