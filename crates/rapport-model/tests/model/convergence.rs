//! Properties: random offline edits with random merges converge, and no damaged document makes
//! a reader panic.

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue};
use proptest::prelude::*;
use rapport_model::account::{self, NewContact, NewDeal, NewTask};
use rapport_model::{AccountAssignment, ContactId, Currency, DealId, EntryId, Money, TaskId, Team};

use crate::{BASE_MS, doc_id, edit_at, new_account, note, replica, view, write};

const REPLICAS: usize = 3;
const USERS: [(&str, Team); REPLICAS] = [
    ("ana", Team::Sales),
    ("bo", Team::Support),
    ("cy", Team::Marketing),
];
const PHONES: [&str; 4] = ["+1 555 0100", "+1 555 0101", "+1 555 0102", "+1 555 0103"];

#[derive(Clone, Debug)]
enum Op {
    /// A replica adds a note.
    Note(usize),
    /// A replica sets the account's phone.
    Phone(usize, usize),
    /// A replica merges another's changes.
    Merge { from: usize, to: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..REPLICAS).prop_map(Op::Note),
        1 => (0..REPLICAS, 0..PHONES.len()).prop_map(|(r, p)| Op::Phone(r, p)),
        2 => (0..REPLICAS, 0..REPLICAS).prop_map(|(from, to)| Op::Merge { from, to }),
    ]
}

fn timeline_ids(doc: &Automerge) -> BTreeSet<EntryId> {
    view(doc).timeline.iter().map(|e| e.id).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_offline_edits_with_random_merges_converge(ops in prop::collection::vec(op(), 1..40)) {
        let base = new_account("Acme");
        let mut replicas: Vec<Automerge> = (0..REPLICAS).map(|_| replica(&base)).collect();
        let mut known: Vec<BTreeSet<EntryId>> = vec![BTreeSet::new(); REPLICAS];
        let mut texts = BTreeMap::new();
        let mut phones_set = BTreeSet::new();
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Note(r) => {
                    let (name, team) = USERS[r];
                    // Times collide often, so ties are ordered by id.
                    let edit = edit_at(name, team, BASE_MS + (n as i64 % 4));
                    let id = EntryId::from_parts((BASE_MS + n as i64) as u64, r as u128);
                    let text = format!("note {n} by {name}");
                    write(&mut replicas[r], &edit, |tx| account::add_entry(tx, &edit, id, &note(&text, &["sales"])));
                    known[r].insert(id);
                    texts.insert(id, text);
                }
                Op::Phone(r, p) => {
                    let (name, team) = USERS[r];
                    let edit = edit_at(name, team, BASE_MS + n as i64);
                    let assignment = AccountAssignment::parse(&format!("phone={}", PHONES[p])).unwrap();
                    write(&mut replicas[r], &edit, |tx| account::set(tx, &[assignment]));
                    phones_set.insert(PHONES[p]);
                }
                Op::Merge { from, to } => {
                    if from == to {
                        continue;
                    }
                    let mut source = replicas[from].clone();
                    replicas[to].merge(&mut source).unwrap();
                    let merged: BTreeSet<EntryId> = known[from].union(&known[to]).copied().collect();
                    known[to] = merged;
                }
            }
            // The replica the op changed holds exactly the notes it has seen.
            let r = match *op {
                Op::Note(r) | Op::Phone(r, _) | Op::Merge { to: r, .. } => r,
            };
            prop_assert_eq!(&timeline_ids(&replicas[r]), &known[r], "replica {} after {:?}", r, op);
        }

        // Everyone merges everyone.
        let (first, rest) = replicas.split_at_mut(1);
        for other in rest.iter_mut() {
            first[0].merge(&mut other.clone()).unwrap();
        }
        for other in rest.iter_mut() {
            other.merge(&mut first[0].clone()).unwrap();
        }

        let views: Vec<_> = replicas.iter().map(view).collect();
        for other in &views[1..] {
            prop_assert_eq!(other, &views[0]);
        }
        let merged = &views[0];
        let found: BTreeMap<EntryId, String> = merged.timeline.iter().map(|e| (e.id, e.text.clone())).collect();
        prop_assert_eq!(&found, &texts);
        prop_assert!(merged.timeline.windows(2).all(|w| (w[0].at, w[0].id) < (w[1].at, w[1].id)));
        match merged.phone.as_deref() {
            None => prop_assert!(phones_set.is_empty()),
            Some(phone) => prop_assert!(phones_set.contains(phone)),
        }
        for conflict in &merged.conflicts {
            prop_assert_eq!(conflict.field.as_str(), "phone");
            prop_assert_eq!(Some(&conflict.value), merged.phone.as_ref());
            prop_assert!(!conflict.others.is_empty());
            // Two replicas that set the same value concurrently show it in `others` too.
            prop_assert!(conflict.others.iter().all(|o| phones_set.contains(o.as_str())));
        }
    }
}

/// A value a damaged or foreign document may hold where Rapport expects something else.
#[derive(Clone, Debug)]
enum Junk {
    Str(String),
    Int(i64),
    F64(f64),
    Bool(bool),
    Null,
    Timestamp(i64),
    Counter(i64),
    Bytes,
    Map,
    List,
    Text(String),
}

impl Junk {
    fn is_string(&self) -> bool {
        matches!(self, Junk::Str(_) | Junk::Text(_))
    }
}

fn junk() -> impl Strategy<Value = Junk> {
    prop_oneof![
        "[a-z@ .-]{0,12}".prop_map(Junk::Str),
        any::<i64>().prop_map(Junk::Int),
        any::<f64>().prop_map(Junk::F64),
        any::<bool>().prop_map(Junk::Bool),
        Just(Junk::Null),
        any::<i64>().prop_map(Junk::Timestamp),
        any::<i64>().prop_map(Junk::Counter),
        Just(Junk::Bytes),
        Just(Junk::Map),
        Just(Junk::List),
        "[a-z@ ]{0,8}".prop_map(Junk::Text),
    ]
}

/// A fully populated account, and the ids of its items.
struct Full {
    doc: Automerge,
    entry: EntryId,
    contact: ContactId,
    deal: DealId,
    task: TaskId,
}

fn full() -> Full {
    let mut doc = new_account("Acme");
    let ana = edit_at("ana", Team::Sales, BASE_MS + 1);
    let (entry, contact) = (
        EntryId::from_parts((BASE_MS + 1) as u64, 1),
        ContactId::from_parts((BASE_MS + 1) as u64, 2),
    );
    let (deal, task) = (
        DealId::from_parts((BASE_MS + 1) as u64, 3),
        TaskId::from_parts((BASE_MS + 1) as u64, 4),
    );
    write(&mut doc, &ana, |tx| {
        account::set(
            tx,
            &["phone=1", "tags=vip", "custom.region=EMEA"]
                .map(|a| AccountAssignment::parse(a).unwrap()),
        )?;
        account::add_entry(tx, &ana, entry, &note("hello", &["support", "@bo"]))?;
        account::add_contact(
            tx,
            &ana,
            contact,
            &NewContact {
                name: "Dana".into(),
                ..Default::default()
            },
        )?;
        let amount = Money::parse("10", Currency::DEFAULT).unwrap();
        account::add_deal(
            tx,
            &ana,
            deal,
            &NewDeal {
                title: "Pilot".into(),
                amount,
                stage: "proposal".parse().unwrap(),
                close: None,
            },
        )?;
        account::add_task(
            tx,
            &ana,
            task,
            &NewTask {
                title: "Call".into(),
                assignee: None,
                due: None,
            },
        )
    });
    let bo = edit_at("bo", Team::Support, BASE_MS + 2);
    write(&mut doc, &bo, |tx| account::acknowledge(tx, &bo, entry));
    Full {
        doc,
        entry,
        contact,
        deal,
        task,
    }
}

fn child(doc: &Automerge, obj: &ObjId, key: &str) -> ObjId {
    doc.get(obj, key).unwrap().unwrap().1
}

/// Every place in a full account where a value may be replaced: (object, key, required string).
fn places(full: &Full) -> Vec<(ObjId, Prop, bool)> {
    let doc = &full.doc;
    let mut out = Vec::new();
    let mut add = |obj: &ObjId, keys: &[&str], required: &[&str]| {
        for key in keys {
            out.push((obj.clone(), Prop::from(*key), required.contains(key)));
        }
    };
    add(
        &ROOT,
        &[
            "type", "name", "stage", "phone", "tags", "custom", "contacts", "deals", "tasks",
            "timeline", "acks",
        ],
        &["type", "name"],
    );
    let entry = child(doc, &child(doc, &ROOT, "timeline"), &full.entry.to_string());
    add(
        &entry,
        &["kind", "team", "author", "at", "text", "alert"],
        &["kind", "team", "author"],
    );
    let contact = child(
        doc,
        &child(doc, &ROOT, "contacts"),
        &full.contact.to_string(),
    );
    add(&contact, &["name", "email", "phone"], &["name"]);
    let deal = child(doc, &child(doc, &ROOT, "deals"), &full.deal.to_string());
    add(
        &deal,
        &["title", "amount", "currency", "stage", "close"],
        &["title", "stage"],
    );
    let task = child(doc, &child(doc, &ROOT, "tasks"), &full.task.to_string());
    add(&task, &["title", "done", "due"], &["title"]);
    let acks = child(doc, &ROOT, "acks");
    add(&acks, &[&format!("bo:{}", full.entry)], &[]);
    add(&child(doc, &ROOT, "custom"), &["region"], &[]);
    let alert = child(doc, &entry, "alert");
    out.push((alert, Prop::Seq(0), false));
    out
}

fn put_junk(doc: &mut Automerge, obj: &ObjId, prop: Prop, junk: &Junk) {
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        let scalar = |value: ScalarValue| value;
        match junk {
            Junk::Str(s) => tx.put(obj, prop, s.as_str()),
            Junk::Int(n) => tx.put(obj, prop, *n),
            Junk::F64(f) => tx.put(obj, prop, *f),
            Junk::Bool(b) => tx.put(obj, prop, *b),
            Junk::Null => tx.put(obj, prop, ScalarValue::Null),
            Junk::Timestamp(t) => tx.put(obj, prop, ScalarValue::Timestamp(*t)),
            Junk::Counter(c) => tx.put(obj, prop, scalar(ScalarValue::counter(*c))),
            Junk::Bytes => tx.put(obj, prop, ScalarValue::Bytes(vec![0, 159, 146, 150])),
            Junk::Map => tx.put_object(obj, prop, ObjType::Map).map(drop),
            Junk::List => tx.put_object(obj, prop, ObjType::List).map(drop),
            Junk::Text(s) => {
                let text = tx.put_object(obj, prop, ObjType::Text)?;
                tx.splice_text(&text, 0, 0, s)
            }
        }
    })
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn damaged_documents_read_as_errors_never_panics(place in any::<prop::sample::Index>(), junk in junk()) {
        let mut full = full();
        let places = places(&full);
        let (obj, prop, required) = places[place.index(places.len())].clone();
        put_junk(&mut full.doc, &obj, prop.clone(), &junk);

        let doc = &full.doc;
        let view = account::view(doc, doc_id());
        let _ = account::summary(doc, doc_id());
        let _ = account::read_entry(doc, full.entry);
        let _ = account::is_acknowledged(doc, &crate::user("bo"), full.entry);
        if required && !junk.is_string() {
            prop_assert!(view.is_err(), "{:?} at {:?} read as {:?}", junk, prop, view);
        }
        // Reading a damaged document leaves it writable where the edit's target is intact.
        let mut copy = doc.clone();
        let ana = edit_at("ana", Team::Sales, BASE_MS + 3);
        let _ = copy.transact_with(|_| ana.commit_options(), |tx| account::add_entry(tx, &ana, EntryId::from_parts(1, 1), &note("x", &[])));
    }
}
