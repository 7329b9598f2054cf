//! What the hub's unit tests write into and read from their documents: one number at the root.

#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use automerge::{Automerge, ReadDoc};

/// Sets the number to `value`, in a change of its own.
pub(super) fn put(doc: &mut Automerge, value: i64) {
    let mut tx = doc.transaction();
    tx.put(automerge::ROOT, "n", value).unwrap();
    tx.commit();
}

/// The number, if one was set.
pub(super) fn value(doc: &Automerge) -> Option<i64> {
    match doc.get(automerge::ROOT, "n").unwrap() {
        Some((automerge::Value::Scalar(s), _)) => s.as_i64(),
        _ => None,
    }
}
