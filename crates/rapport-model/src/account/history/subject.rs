//! What one change touched, as the parts of an account a person knows: a field, a tag, an item,
//! a field of an item. Sorted from the paths its operations write to, by the keys from the root
//! down.

use std::collections::BTreeSet;

use automerge::Prop;

use crate::schema::*;

/// One part of an account a change touched. Keys come from the document and may be anything a
/// peer wrote: the reader of each part decides what they mean.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Subject {
    /// A single-valued field at the root: `name`, `stage`, ... or a key Rapport does not know.
    Field(String),
    /// A tag of the tag set.
    Tag(String),
    /// A custom field.
    Custom(String),
    /// An item of a collection (`contacts`, `deals`, `tasks`, `timeline`) added or removed.
    Item(&'static str, String),
    /// One field of an existing item.
    ItemField(&'static str, String, String),
    /// An acknowledgement, by its `<user>:<entry>` key.
    Ack(String),
    /// A follower, by their `follower:<user>` root key.
    Follower(String),
    /// Anything else, by its raw path.
    Other(Vec<Prop>),
}

/// The parts that operations writing to `paths` touched, each once, in the order they were first
/// touched. The fields of an item added by the same change are part of its addition; the
/// identity and collections written by the change that `created` the account are part of its
/// creation.
pub(super) fn subjects(paths: impl IntoIterator<Item = Vec<Prop>>, created: bool) -> Vec<Subject> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for path in paths {
        let subject = classify(&path);
        if seen.insert(subject.clone()) {
            found.push(subject);
        }
    }
    let added: BTreeSet<(&'static str, String)> = found
        .iter()
        .filter_map(|subject| match subject {
            Subject::Item(section, id) => Some((*section, id.clone())),
            _ => None,
        })
        .collect();
    found.retain(|subject| match subject {
        Subject::ItemField(section, id, _) => !added.contains(&(*section, id.clone())),
        Subject::Other(path) if created => !is_collection(path),
        // The name is the creation's own.
        Subject::Field(key) if created => !IDENTITY.contains(&key.as_str()) && key != "name",
        _ => true,
    });
    found
}

fn classify(props: &[Prop]) -> Subject {
    let key = |index: usize| match props.get(index) {
        Some(Prop::Map(key)) => Some(key.as_str()),
        _ => None,
    };
    let other = || Subject::Other(props.to_vec());
    let Some(top) = key(0) else {
        return other();
    };
    match top {
        TAGS => key(1).map_or_else(other, |tag| Subject::Tag(tag.to_owned())),
        CUSTOM => key(1).map_or_else(other, |name| Subject::Custom(name.to_owned())),
        ACKS => key(1).map_or_else(other, |ack| Subject::Ack(ack.to_owned())),
        CONTACTS => item(CONTACTS, props).unwrap_or_else(other),
        DEALS => item(DEALS, props).unwrap_or_else(other),
        TASKS => item(TASKS, props).unwrap_or_else(other),
        TIMELINE => item(TIMELINE, props).unwrap_or_else(other),
        field if field.starts_with(FOLLOWER_PREFIX) && props.len() == 1 => {
            Subject::Follower(field.to_owned())
        }
        field => Subject::Field(field.to_owned()),
    }
}

/// An item of `section` (`props[1]`), or one of its fields (`props[2]`).
fn item(section: &'static str, props: &[Prop]) -> Option<Subject> {
    match props {
        [_, Prop::Map(id)] => Some(Subject::Item(section, id.clone())),
        [_, Prop::Map(id), Prop::Map(field), ..] => {
            Some(Subject::ItemField(section, id.clone(), field.clone()))
        }
        _ => None,
    }
}

/// The root keys that say what the document is, written once by its creation.
const IDENTITY: [&str; 4] = [TYPE, SCHEMA, CREATED, CREATED_BY];

fn is_collection(path: &[Prop]) -> bool {
    matches!(path, [Prop::Map(key)] if ACCOUNT_COLLECTIONS.contains(&key.as_str()))
}
