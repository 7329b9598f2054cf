//! Fields set concurrently on different replicas: the value every replica shows and the values
//! that lost, which the document still keeps.

use automerge::{ObjId, ObjType, ROOT, ReadDoc};
use serde::Serialize;

use crate::error::ShapeError;
use crate::fields::{AccountField, ContactField};
use crate::read::{self, join};
use crate::schema::*;

/// A field whose value was set concurrently on different replicas.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Conflict {
    /// The field, like `phone`, `custom.region` or `contacts.<id>.phone`.
    pub field: String,
    /// The value every replica shows (the deterministic winner).
    pub value: String,
    /// The concurrent values that lost, still kept by the document.
    pub others: Vec<String>,
}

/// Every single-valued field with concurrent values, in document order.
pub(super) fn conflicts<D: ReadDoc>(doc: &D) -> Result<Vec<Conflict>, ShapeError> {
    let mut out = Vec::new();
    let root_keys = AccountField::ROOT.map(|f| f.key().to_owned());
    collect_conflicts(
        doc,
        &ROOT,
        root_keys.iter().map(String::as_str),
        "",
        &mut out,
    );
    if let Some(custom) = read::object(doc, &ROOT, CUSTOM, ObjType::Map, "")? {
        let keys: Vec<String> = doc.keys(&custom).collect();
        collect_conflicts(
            doc,
            &custom,
            keys.iter().map(String::as_str),
            CUSTOM,
            &mut out,
        );
    }
    let item_fields: [(&str, &[&str]); 3] = [
        (CONTACTS, &ContactField::ALL.map(ContactField::key)),
        (DEALS, &["title", "amount", "currency", "stage", "close"]),
        (TASKS, &["title", "assignee", "due", "done"]),
    ];
    for (key, fields) in item_fields {
        let Some(collection) = read::object(doc, &ROOT, key, ObjType::Map, "")? else {
            continue;
        };
        for item_key in doc.keys(&collection) {
            if let Some(obj) = read::object(doc, &collection, &item_key, ObjType::Map, key)? {
                collect_conflicts(
                    doc,
                    &obj,
                    fields.iter().copied(),
                    &join(key, &item_key),
                    &mut out,
                );
            }
        }
    }
    Ok(out)
}

fn collect_conflicts<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    keys: impl Iterator<Item = &'k str>,
    prefix: &str,
    out: &mut Vec<Conflict>,
) {
    for key in keys {
        let all = doc.get_all(obj, key).unwrap_or_default();
        if all.len() < 2 {
            continue;
        }
        let Ok(Some((winner, winner_id))) = doc.get(obj, key) else {
            continue;
        };
        let value = read::display(doc, &winner, &winner_id);
        let mut others: Vec<String> = all
            .iter()
            .filter(|(_, id)| *id != winner_id)
            .map(|(v, id)| read::display(doc, v, id))
            .collect();
        // Replicas that typed the same value concurrently agree: that is not a conflict.
        others.retain(|other| *other != value);
        others.dedup();
        if !others.is_empty() {
            out.push(Conflict {
                field: join(prefix, key),
                value,
                others,
            });
        }
    }
}
