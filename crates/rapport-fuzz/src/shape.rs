//! `document_load`'s second way in: documents of foreign shapes. Mutated Automerge bytes mostly
//! fail the chunk checksum, so they test the loader; to reach the model's reads, this builds a
//! valid document from the input instead: a fixture (or nothing), then edits that put any kind
//! of value, object or text under the keys Rapport's documents use, anywhere.

use std::sync::LazyLock;

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};

use crate::fixtures;

/// The documents an input starts from: none, the workspace, and the two accounts.
static BASES: LazyLock<Vec<Automerge>> = LazyLock::new(|| {
    let mut bases = vec![Automerge::new()];
    bases.extend(
        fixtures::documents()
            .into_iter()
            .flatten()
            .map(|(_, doc)| doc),
    );
    bases
});

/// Every map key of the fixtures (the schema's words, item ids, `user:entry` pairs), and a few
/// that are none of those.
static KEYS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut keys = vec![String::new(), "x".to_owned(), "__proto__".to_owned()];
    for doc in BASES.iter() {
        for obj in objects(doc) {
            keys.extend(doc.keys(&obj));
        }
    }
    keys.sort();
    keys.dedup();
    keys
});

/// The document `data` describes: its first byte picks the base, the rest are edits.
pub fn build(data: &[u8]) -> Option<Automerge> {
    let mut input = Input(data);
    let mut doc = BASES.get(usize::from(input.byte()?) % BASES.len())?.clone();
    let mut objs = objects(&doc);
    let mut tx = doc.transaction();
    while !input.0.is_empty() {
        edit(&mut tx, &mut objs, &mut input);
    }
    tx.commit();
    Some(doc)
}

/// One edit; an edit that does not apply (a map key on a list, say) is skipped.
fn edit(tx: &mut impl Transactable, objs: &mut Vec<ObjId>, input: &mut Input<'_>) {
    let op = input.byte().unwrap_or(0);
    let obj = objs[usize::from(input.byte().unwrap_or(0)) % objs.len()].clone();
    let key = KEYS[usize::from(input.byte().unwrap_or(0)) % KEYS.len()].as_str();
    let len = tx.length(&obj);
    let index = usize::from(input.byte().unwrap_or(0)) % (len + 1);
    let created = match op % 8 {
        0 => tx.put(&obj, key, scalar(input)).map(|()| None),
        1 => tx.put_object(&obj, key, object_type(input)).map(Some),
        2 => tx.delete(&obj, key).map(|()| None),
        3 => tx.insert(&obj, index, scalar(input)).map(|()| None),
        4 => tx.insert_object(&obj, index, object_type(input)).map(Some),
        5 => tx
            .delete(&obj, index.min(len.saturating_sub(1)))
            .map(|()| None),
        6 => tx.splice_text(&obj, index, 1, &input.text()).map(|()| None),
        _ => tx.increment(&obj, key, input.int()).map(|()| None),
    };
    if let Ok(Some(created)) = created {
        objs.push(created);
    }
}

fn scalar(input: &mut Input<'_>) -> ScalarValue {
    match input.byte().unwrap_or(0) % 10 {
        0 => ScalarValue::Str(
            KEYS[usize::from(input.byte().unwrap_or(0)) % KEYS.len()]
                .as_str()
                .into(),
        ),
        1 => ScalarValue::Str(input.text().into()),
        2 => ScalarValue::Int(input.int()),
        3 => ScalarValue::Uint(input.int().cast_unsigned()),
        4 => ScalarValue::F64(f64::from_bits(input.int().cast_unsigned())),
        5 => ScalarValue::Boolean(input.byte().unwrap_or(0).is_multiple_of(2)),
        6 => ScalarValue::Null,
        7 => ScalarValue::Timestamp(input.int()),
        8 => ScalarValue::Counter(input.int().into()),
        _ => ScalarValue::Bytes(input.text().into_bytes()),
    }
}

fn object_type(input: &mut Input<'_>) -> ObjType {
    match input.byte().unwrap_or(0) % 3 {
        0 => ObjType::Map,
        1 => ObjType::List,
        _ => ObjType::Text,
    }
}

/// Every object of `doc`, the root first.
fn objects(doc: &Automerge) -> Vec<ObjId> {
    let mut found = vec![ROOT];
    let mut at = 0;
    while let Some(obj) = found.get(at).cloned() {
        at += 1;
        for (value, id) in doc.values(&obj) {
            if value.is_object() {
                found.push(id);
            }
        }
    }
    found
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&byte, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(byte)
    }

    fn int(&mut self) -> i64 {
        let mut bytes = [0; 8];
        for byte in &mut bytes {
            *byte = self.byte().unwrap_or(0);
        }
        i64::from_le_bytes(bytes)
    }

    /// A length byte, then up to that many bytes as (lossy) UTF-8.
    fn text(&mut self) -> String {
        let len = usize::from(self.byte().unwrap_or(0) % 32).min(self.0.len());
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(text).into_owned()
    }
}
