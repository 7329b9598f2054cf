//! Property: random changes on several replicas, Rapport's own and a foreign peer's of any shape
//! (any key, any value, objects where strings belong, no message, odd times), merged at random:
//! every replica's history lists each of its changes once, never panics, and a change reads
//! the same on every replica that holds it (it is read from its own point of view).

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{Automerge, AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use proptest::prelude::*;
use rapport_model::account::{self, HistoryChange};
use rapport_model::{AccountAssignment, EntryId, Team};

use crate::{BASE_MS, doc_id, edit_at, new_account, note, replica};

const REPLICAS: usize = 3;
/// Keys a foreign peer writes: Rapport's own, collections, and one Rapport does not know.
const KEYS: [&str; 9] = [
    "stage", "name", "tags", "contacts", "timeline", "text", "done", "amount", "color",
];

#[derive(Clone, Debug)]
enum Op {
    /// A Rapport edit: a stage, or a note.
    Stage(usize, usize),
    Note(usize),
    /// A foreign peer's change on replica `.0`: on the `.1`th object, at key `.2`, value `.3`.
    Foreign(usize, usize, usize, Value, Stamp),
    /// Replica `from`'s changes merged into replica `to`.
    Merge {
        from: usize,
        to: usize,
    },
}

#[derive(Clone, Debug)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Map,
    List,
    Text(String),
    Delete,
}

/// The message and time a foreign change carries.
#[derive(Clone, Debug)]
enum Stamp {
    Nothing,
    Message(String, i64),
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z ]{0,12}".prop_map(Value::Str),
        any::<i64>().prop_map(Value::Int),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Map),
        Just(Value::List),
        "[a-z ]{0,12}".prop_map(Value::Text),
        Just(Value::Delete),
    ]
}

fn stamp() -> impl Strategy<Value = Stamp> {
    prop_oneof![
        Just(Stamp::Nothing),
        // Times far apart enough to matter, not so far that their difference overflows (which
        // automerge's change graph does not check: hexane panics in debug builds on merge).
        ("(ana|a message from JS|)", -(1i64 << 40)..(1i64 << 40))
            .prop_map(|(m, t)| Stamp::Message(m, t)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    prop_oneof![
        1 => (r.clone(), 0..4usize).prop_map(|(r, s)| Op::Stage(r, s)),
        1 => r.clone().prop_map(Op::Note),
        3 => (r.clone(), 0..16usize, 0..KEYS.len(), value(), stamp())
            .prop_map(|(r, o, k, v, s)| Op::Foreign(r, o, k, v, s)),
        2 => (r.clone(), r).prop_map(|(from, to)| Op::Merge { from, to }),
    ]
}

/// Every map, list and text object reachable from the root within three levels, root first.
fn objects(doc: &Automerge) -> Vec<(ObjId, ObjType)> {
    let mut found = vec![(ROOT, ObjType::Map)];
    let mut next = 0;
    while next < found.len() && found.len() < 64 {
        let (obj, kind) = found[next].clone();
        next += 1;
        if kind == ObjType::Text || doc.parents(&obj).map_or(0, |p| p.count()) >= 3 {
            continue;
        }
        for (value, id) in doc.values(&obj) {
            if let automerge::Value::Object(kind) = value {
                found.push((id, kind));
            }
        }
    }
    found
}

fn foreign(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    kind: ObjType,
    key: &str,
    value: &Value,
) -> Result<(), AutomergeError> {
    match kind {
        ObjType::Text => {
            let length = tx.length(obj);
            let text = match value {
                Value::Str(s) | Value::Text(s) => s.as_str(),
                _ => "x",
            };
            match value {
                Value::Delete if length > 0 => tx.splice_text(obj, 0, 1, ""),
                _ => tx.splice_text(obj, length, 0, text),
            }
        }
        ObjType::List => {
            let length = tx.length(obj);
            match value {
                Value::Delete if length > 0 => tx.delete(obj, 0),
                Value::Map => tx.insert_object(obj, length, ObjType::Map).map(drop),
                _ => tx.insert(obj, length, ScalarValue::Str(key.into())),
            }
        }
        ObjType::Map | ObjType::Table => match value {
            Value::Str(s) => tx.put(obj, key, s.as_str()),
            Value::Int(n) => tx.put(obj, key, *n),
            Value::Bool(b) => tx.put(obj, key, *b),
            Value::Map => tx.put_object(obj, key, ObjType::Map).map(drop),
            Value::List => tx.put_object(obj, key, ObjType::List).map(drop),
            Value::Text(s) => {
                let text = tx.put_object(obj, key, ObjType::Text)?;
                tx.splice_text(&text, 0, 0, s)
            }
            Value::Delete => tx.delete(obj, key),
        },
    }
}

fn apply(doc: &mut Automerge, op: &Op, n: usize) {
    match op {
        Op::Stage(_, s) => {
            let stage = ["lead", "prospect", "customer", "churned"][*s];
            let edit = edit_at("ana", Team::Sales, BASE_MS + n as i64);
            let assignment = AccountAssignment::parse(&format!("stage={stage}")).unwrap();
            // A foreign change may have made the document refuse the edit: that is fine.
            let _ = doc.transact_with(
                |_| edit.commit_options(),
                |tx| account::set(tx, &[assignment]),
            );
        }
        Op::Note(_) => {
            let edit = edit_at("bo", Team::Support, BASE_MS + n as i64);
            let id = EntryId::from_parts((BASE_MS + n as i64) as u64, n as u128);
            let _ = doc.transact_with(
                |_| edit.commit_options(),
                |tx| account::add_entry(tx, &edit, id, &note(&format!("note {n}"), &["sales"])),
            );
        }
        Op::Foreign(_, o, k, value, stamp) => {
            let targets = objects(doc);
            let (obj, kind) = targets[o % targets.len()].clone();
            let options = match stamp {
                Stamp::Nothing => CommitOptions::default(),
                Stamp::Message(message, time) => CommitOptions::default()
                    .with_message(message.clone())
                    .with_time(*time),
            };
            let _ = doc.transact_with(|_| options, |tx| foreign(tx, &obj, kind, KEYS[*k], value));
        }
        Op::Merge { .. } => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_change_reads_once_and_the_same_on_every_replica(ops in prop::collection::vec(op(), 1..30)) {
        let base = new_account("Acme");
        let mut replicas: Vec<Automerge> = (0..REPLICAS).map(|_| replica(&base)).collect();
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Merge { from, to } if from != to => {
                    let mut source = replicas[from].clone();
                    replicas[to].merge(&mut source).unwrap();
                }
                Op::Merge { .. } => {}
                Op::Stage(r, _) | Op::Note(r) | Op::Foreign(r, ..) => apply(&mut replicas[r], op, n),
            }
        }

        let mut read: BTreeMap<String, HistoryChange> = BTreeMap::new();
        for doc in &replicas {
            let Ok(history) = account::history(doc, doc_id(), None) else {
                // A foreign change overwrote the document's type: it is no account any more.
                prop_assert!(account::check_kind(doc).is_err());
                continue;
            };
            let changes = doc.get_changes(&[]).len();
            prop_assert_eq!((history.total, history.changes.len()), (changes, changes));
            for change in history.changes {
                for edit in &change.edits {
                    prop_assert!(!edit.to_string().is_empty());
                }
                if let Some(seen) = read.get(&change.hash) {
                    prop_assert_eq!(seen, &change);
                } else {
                    read.insert(change.hash.clone(), change);
                }
            }
        }
    }
}
