//! An account's history, read from the document's own Automerge changes: who changed what, when,
//! and from which value. Nothing is kept beside the document, so nothing can change an account
//! without showing here.
//!
//! Every change Rapport commits carries its author as the change message and its time in
//! seconds ([`crate::Edit::commit_options`]). For each change, in causal order, its operations
//! say which parts of the account it wrote to (the path of each operation's object, learnt from
//! the operation that made the object, then the key it writes), and the values are read before it (at its dependencies)
//! and after it (at the change itself). So a change is seen from its own point of view: two
//! replicas that set the stage concurrently each show the stage they replaced. The cost is that
//! of the change's own operations and a few reads, not of the document: a diff of the document
//! per change would cost about a millisecond each on an account of 600 changes.
//!
//! Changes Rapport did not write (a JavaScript peer's) read too: an author that is not a user
//! name is unknown, and a part of the document Rapport does not know is shown by its raw path.

mod describe;
mod subject;

use std::collections::HashMap;
use std::fmt;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, Automerge, Prop, ReadDoc};
use serde::Serialize;

use crate::error::ShapeError;
use crate::id::DocumentId;
use crate::vocab::UserName;
use describe::At;

/// An account's changes.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AccountHistory {
    /// The account's document id.
    pub account: DocumentId,
    /// How many changes the document has in all.
    pub total: usize,
    /// The changes read, in causal order (oldest first): all of them, or the latest ones when
    /// a limit was given.
    pub changes: Vec<HistoryChange>,
}

/// One Automerge change of an account document.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HistoryChange {
    /// The change's hash, in hex.
    pub hash: String,
    /// Who made it: the change's message, when that is a user name.
    pub author: Option<UserName>,
    /// When it was made, as its author's clock said; absent when the change has no time.
    pub at: Option<jiff::Timestamp>,
    /// What it did, part by part. Empty for a change that left every value as it was.
    pub edits: Vec<FieldEdit>,
}

/// What one change did to one part of an account. Ids are the document's keys as they are.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldEdit {
    /// The account was created.
    Created {
        /// Its name.
        name: Option<String>,
    },
    /// A single-valued field (`stage`, `owner`, ...) or a custom field (`custom.NAME`) was
    /// set or cleared.
    Field {
        /// The field, as `rapport account set` names it.
        field: String,
        /// The value before; several, `a | b`, when concurrent values were kept.
        from: Option<String>,
        /// The value after.
        to: Option<String>,
    },
    /// A tag was added.
    TagAdded {
        /// The tag.
        tag: String,
    },
    /// A tag was removed.
    TagRemoved {
        /// The tag.
        tag: String,
    },
    /// A contact was added.
    ContactAdded {
        /// Its id.
        contact: String,
        /// Its name.
        name: Option<String>,
    },
    /// A field of a contact changed.
    ContactChanged {
        /// Its id.
        contact: String,
        /// Its name.
        name: Option<String>,
        /// The field.
        field: String,
        /// The value before.
        from: Option<String>,
        /// The value after.
        to: Option<String>,
    },
    /// A deal was added.
    DealAdded {
        /// Its id.
        deal: String,
        /// Its title.
        title: Option<String>,
        /// Its pipeline stage.
        stage: Option<String>,
        /// Its amount with the currency, `1200.00 EUR`.
        amount: Option<String>,
    },
    /// A field of a deal changed: its stage, its amount (`amount`, shown with the currency), ...
    DealChanged {
        /// Its id.
        deal: String,
        /// Its title.
        title: Option<String>,
        /// The field.
        field: String,
        /// The value before.
        from: Option<String>,
        /// The value after.
        to: Option<String>,
    },
    /// A task was added.
    TaskAdded {
        /// Its id.
        task: String,
        /// What to do.
        title: Option<String>,
        /// Who does it.
        assignee: Option<String>,
        /// By when.
        due: Option<String>,
    },
    /// A task was marked done, or not done again.
    TaskDone {
        /// Its id.
        task: String,
        /// What to do.
        title: Option<String>,
        /// Done after the change.
        done: bool,
    },
    /// Another field of a task changed.
    TaskChanged {
        /// Its id.
        task: String,
        /// What to do.
        title: Option<String>,
        /// The field.
        field: String,
        /// The value before.
        from: Option<String>,
        /// The value after.
        to: Option<String>,
    },
    /// A timeline entry was added.
    EntryAdded {
        /// Its id.
        entry: String,
        /// Its kind: `note`, `call`, ...
        entry_kind: Option<String>,
        /// Its author's team.
        team: Option<String>,
        /// Its first words.
        excerpt: String,
    },
    /// A field of an existing timeline entry changed (its text, by a peer that edits texts).
    EntryEdited {
        /// Its id.
        entry: String,
        /// Its first words after the change.
        excerpt: String,
        /// The field.
        field: String,
    },
    /// A contact, deal, task or timeline entry was removed.
    Removed {
        /// Its collection: `contacts`, `deals`, `tasks` or `timeline`.
        section: String,
        /// Its id.
        item: String,
        /// Its name, title or first words.
        label: Option<String>,
    },
    /// A user acknowledged the alert on a timeline entry.
    Acknowledged {
        /// The user.
        user: String,
        /// The entry.
        entry: String,
    },
    /// A user started or stopped following the account.
    Followed {
        /// The user.
        user: String,
        /// Following after the change.
        following: bool,
    },
    /// A part of the document Rapport does not know, by its path from the root.
    Other {
        /// Keys from the root, joined with `.`; list positions as `[n]`.
        path: String,
        /// The value before.
        from: Option<String>,
        /// The value after.
        to: Option<String>,
    },
}

/// Reads the history of account document `doc`: every change, or the latest `limit`.
///
/// An account of 600 changes reads whole in about 35 ms, its latest 50 changes in 10 ms
/// (`rapport-store`'s `replica` bench).
pub fn history(
    doc: &Automerge,
    id: DocumentId,
    limit: Option<usize>,
) -> Result<AccountHistory, ShapeError> {
    super::check_kind(doc)?;
    let hashes: Vec<_> = doc
        .get_changes_meta(&[])
        .into_iter()
        .map(|meta| meta.hash)
        .collect();
    let skip = limit.map_or(0, |limit| hashes.len().saturating_sub(limit));
    // Every change is read for the objects it makes (their paths), even those a limit leaves
    // out: a later change may write inside them.
    let mut paths = ObjectPaths::default();
    let mut changes = Vec::with_capacity(hashes.len() - skip);
    for (index, hash) in hashes.iter().enumerate() {
        let Some(change) = doc.get_change_by_hash(hash) else {
            continue;
        };
        let change = change.decode();
        paths.learn(&change);
        if index >= skip {
            changes.push(read_change(doc, *hash, &change, &paths));
        }
    }
    Ok(AccountHistory {
        account: id,
        total: hashes.len(),
        changes,
    })
}

fn read_change(
    doc: &Automerge,
    hash: automerge::ChangeHash,
    change: &automerge::ExpandedChange,
    paths: &ObjectPaths,
) -> HistoryChange {
    let after_heads = [hash];
    let (before, after) = (At::new(doc, &change.deps), At::new(doc, &after_heads));
    let created = describe::creates(&before, &after);
    let written = change
        .operations
        .iter()
        .filter_map(|op| paths.written(&op.obj, &op.key));
    let mut edits = Vec::new();
    if created {
        edits.push(FieldEdit::Created {
            name: after.text(&automerge::ROOT, "name"),
        });
    }
    for subject in subject::subjects(written, created) {
        if let Some(edit) = describe::describe(&subject, &before, &after)
            && !edits.contains(&edit)
        {
            edits.push(edit);
        }
    }
    HistoryChange {
        hash: hash.to_string(),
        author: change.message.as_deref().and_then(|m| m.parse().ok()),
        at: (change.time > 0)
            .then(|| jiff::Timestamp::from_second(change.time).ok())
            .flatten(),
        edits,
    }
}

/// The path of every object made so far, from the root down, learnt from the changes' own
/// `make` operations in causal order (an object never moves, and is made before anything
/// writes in it). Asking Automerge for an object's parents instead would seek through lists,
/// whose lookup checks itself with a debug assertion that a fuzzed document fails.
#[derive(Default)]
struct ObjectPaths {
    /// Keyed by the id of the operation that made the object; `None` for an object made
    /// inside a list or a text, whose position Rapport's documents never need.
    known: HashMap<(u64, ActorId), Option<Vec<Prop>>>,
}

impl ObjectPaths {
    /// Records where each object `change` makes lives.
    fn learn(&mut self, change: &automerge::ExpandedChange) {
        let start = change.start_op.get();
        for (offset, op) in (0u64..).zip(&change.operations) {
            if !matches!(op.action, OpType::Make(_)) {
                continue;
            }
            let path = match &op.key {
                Key::Map(key) => self.path_of(&op.obj).map(|mut path| {
                    path.push(Prop::Map(key.to_string()));
                    path
                }),
                Key::Seq(_) => None,
            };
            let made = start.saturating_add(offset);
            self.known.insert((made, change.actor_id.clone()), path);
        }
    }

    fn path_of(&self, obj: &ObjectId) -> Option<Vec<Prop>> {
        match obj {
            ObjectId::Root => Some(Vec::new()),
            ObjectId::Id(OpId(counter, actor)) => self
                .known
                .get(&(*counter, actor.clone()))
                .cloned()
                .flatten(),
        }
    }

    /// Where an operation on `obj` at `key` writes: the object's path, then the map key; an
    /// edit of a list or a text is a change of that object. `None` when the object's path is
    /// not known.
    fn written(&self, obj: &ObjectId, key: &Key) -> Option<Vec<Prop>> {
        let mut path = self.path_of(obj)?;
        if let Key::Map(key) = key {
            path.push(Prop::Map(key.to_string()));
        }
        Some(path)
    }
}

impl fmt::Display for FieldEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldEdit::Created { name } => write!(f, "created account {}", or_none(name)),
            FieldEdit::Field { field, from, to } => write!(f, "{field}: {}", values(from, to)),
            FieldEdit::TagAdded { tag } => write!(f, "tag added: {tag}"),
            FieldEdit::TagRemoved { tag } => write!(f, "tag removed: {tag}"),
            FieldEdit::ContactAdded { contact, name } => {
                write!(f, "contact added: {}", label(name, contact))
            }
            FieldEdit::ContactChanged {
                contact,
                name,
                field,
                from,
                to,
            } => write!(
                f,
                "contact {}, {field}: {}",
                label(name, contact),
                values(from, to)
            ),
            FieldEdit::DealAdded {
                deal,
                title,
                stage,
                amount,
            } => {
                let details: Vec<&str> = [amount.as_deref(), stage.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                write!(
                    f,
                    "deal added: {} ({})",
                    label(title, deal),
                    details.join(", ")
                )
            }
            FieldEdit::DealChanged {
                deal,
                title,
                field,
                from,
                to,
            } => write!(
                f,
                "deal {}, {field}: {}",
                label(title, deal),
                values(from, to)
            ),
            FieldEdit::TaskAdded {
                task,
                title,
                assignee,
                due,
            } => {
                write!(f, "task added: {}", label(title, task))?;
                if let Some(assignee) = assignee {
                    write!(f, " @{assignee}")?;
                }
                if let Some(due) = due {
                    write!(f, " due {due}")?;
                }
                Ok(())
            }
            FieldEdit::TaskDone { task, title, done } => {
                let what = if *done { "done" } else { "reopened" };
                write!(f, "task {what}: {}", label(title, task))
            }
            FieldEdit::TaskChanged {
                task,
                title,
                field,
                from,
                to,
            } => write!(
                f,
                "task {}, {field}: {}",
                label(title, task),
                values(from, to)
            ),
            FieldEdit::EntryAdded {
                entry_kind,
                team,
                excerpt,
                ..
            } => {
                write!(f, "{} added", entry_kind.as_deref().unwrap_or("entry"))?;
                if let Some(team) = team {
                    write!(f, " ({team})")?;
                }
                write!(f, ": {excerpt}")
            }
            FieldEdit::EntryEdited {
                entry,
                excerpt,
                field,
            } => write!(f, "entry {entry} edited ({field}): {excerpt}"),
            FieldEdit::Removed {
                section,
                item,
                label: name,
            } => write!(f, "removed from {section}: {}", label(name, item)),
            FieldEdit::Acknowledged { user, entry } => {
                write!(f, "{user} acknowledged the alert on entry {entry}")
            }
            FieldEdit::Followed {
                user,
                following: true,
            } => write!(f, "{user} followed the account"),
            FieldEdit::Followed {
                user,
                following: false,
            } => write!(f, "{user} stopped following the account"),
            FieldEdit::Other { path, from, to } => write!(f, "{path}: {}", values(from, to)),
        }
    }
}

fn values(from: &Option<String>, to: &Option<String>) -> String {
    format!("{} -> {}", or_none(from), or_none(to))
}

fn or_none(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(none)")
}

fn label<'a>(name: &'a Option<String>, id: &'a str) -> &'a str {
    name.as_deref().unwrap_or(id)
}
