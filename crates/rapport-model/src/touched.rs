//! What a set of patches touched in an account document, so derived indexes update only that.

use std::collections::BTreeSet;

use automerge::{Patch, PatchAction, Prop};

use crate::id::{ContactId, DealId, EntryId, TaskId};
use crate::schema::{ACKS, CONTACTS, DEALS, TASKS, TIMELINE};
use crate::vocab::UserName;

/// The parts of an account document a change touched, by raw key (keys come from the document
/// and may not parse: the reader of each part decides).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// A whole collection was replaced, or the root changed shape: reread everything.
    pub everything: bool,
    /// Account-level fields, tags or custom fields changed.
    pub fields: bool,
    /// Contacts added, changed or removed.
    pub contacts: BTreeSet<String>,
    /// Timeline entries added, changed or removed.
    pub entries: BTreeSet<String>,
    /// Deals added, changed or removed.
    pub deals: BTreeSet<String>,
    /// Tasks added, changed or removed.
    pub tasks: BTreeSet<String>,
    /// Acknowledgements as (user, entry key).
    pub acks: BTreeSet<(String, String)>,
}

impl Touched {
    /// Whether anything at all was touched.
    pub fn is_empty(&self) -> bool {
        *self == Touched::default()
    }

    /// Whether the account list's summary may have changed.
    pub fn summary(&self) -> bool {
        self.everything || self.fields || !self.contacts.is_empty() || !self.entries.is_empty()
    }

    /// Everything: a new document, or a change whose extent is unknown.
    pub fn everything() -> Self {
        Touched {
            everything: true,
            ..Touched::default()
        }
    }

    /// One contact.
    pub fn contact(id: ContactId) -> Self {
        Touched {
            contacts: [id.to_string()].into(),
            ..Touched::default()
        }
    }

    /// One timeline entry.
    pub fn entry(id: EntryId) -> Self {
        Touched {
            entries: [id.to_string()].into(),
            ..Touched::default()
        }
    }

    /// One deal.
    pub fn deal(id: DealId) -> Self {
        Touched {
            deals: [id.to_string()].into(),
            ..Touched::default()
        }
    }

    /// One task.
    pub fn task(id: TaskId) -> Self {
        Touched {
            tasks: [id.to_string()].into(),
            ..Touched::default()
        }
    }

    /// One user's acknowledgement of one entry.
    pub fn acknowledgement(user: &UserName, entry: EntryId) -> Self {
        Touched {
            acks: [(user.to_string(), entry.to_string())].into(),
            ..Touched::default()
        }
    }

    /// Adds what `other` touched.
    pub fn merge(&mut self, other: Touched) {
        self.everything |= other.everything;
        self.fields |= other.fields;
        self.contacts.extend(other.contacts);
        self.entries.extend(other.entries);
        self.deals.extend(other.deals);
        self.tasks.extend(other.tasks);
        self.acks.extend(other.acks);
    }

    /// Sorts `patches` into what they touched: for changes that arrive from elsewhere (local
    /// edits say what they touch themselves, which is much cheaper than logging patches).
    pub fn from_patches<'p>(patches: impl IntoIterator<Item = &'p Patch>) -> Self {
        let mut touched = Touched::default();
        for patch in patches {
            touched.add(patch);
        }
        touched
    }

    fn add(&mut self, patch: &Patch) {
        // The keys from the root down to the changed property: the patch's path, then the
        // property its action names (when it is a map key), once.
        let mut keys = patch
            .path
            .iter()
            .map(|(_, prop)| prop_key(prop))
            .chain([action_key(&patch.action)]);
        let mut next = || keys.next().flatten();
        let (top, item) = (next(), next());
        let Some(top) = top else {
            self.everything = true;
            return;
        };
        let Some(item) = item else {
            match top {
                CONTACTS | TIMELINE | DEALS | TASKS | ACKS => self.everything = true,
                _ => self.fields = true,
            }
            return;
        };
        let item = item.to_owned();
        match top {
            CONTACTS => _ = self.contacts.insert(item),
            TIMELINE => _ = self.entries.insert(item),
            DEALS => _ = self.deals.insert(item),
            TASKS => _ = self.tasks.insert(item),
            ACKS => match item.split_once(':') {
                Some((user, entry)) => _ = self.acks.insert((user.to_owned(), entry.to_owned())),
                None => self.fields = true,
            },
            _ => self.fields = true,
        }
    }
}

fn prop_key(prop: &Prop) -> Option<&str> {
    match prop {
        Prop::Map(key) => Some(key),
        Prop::Seq(_) => None,
    }
}

fn action_key(action: &PatchAction) -> Option<&str> {
    match action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => Some(key),
        PatchAction::Conflict { prop } | PatchAction::Increment { prop, .. } => prop_key(prop),
        _ => None,
    }
}
