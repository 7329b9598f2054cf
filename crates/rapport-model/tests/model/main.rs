//! Integration tests of rapport-model: merging replicas, conflicts, document shapes, what
//! patches touch, acknowledgements and alerts, and the workspace document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acks;
mod convergence;
mod following;
mod history;
mod history_replicas;
mod merge;
mod shape;
mod touched;
mod workspace;

use automerge::transaction::Transaction;
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc};
use rapport_model::account::{self, AccountView, NewAccount, NewEntry};
use rapport_model::{DocumentId, Edit, EditError, EntryId, EntryKind, Team, Touched, UserName};

/// 2026-01-01T00:00:00Z in milliseconds: a fixed base for edits whose time matters.
pub(crate) const BASE_MS: i64 = 1_767_225_600_000;

pub(crate) fn user(name: &str) -> UserName {
    name.parse().unwrap()
}

/// An edit by `name` of `team` at a fixed time.
pub(crate) fn edit_at(name: &str, team: Team, millis: i64) -> Edit {
    Edit {
        user: user(name),
        team,
        at: jiff::Timestamp::from_millisecond(millis).unwrap(),
    }
}

/// Applies one edit in its own transaction, committed with the edit's options.
pub(crate) fn write<O>(
    doc: &mut Automerge,
    edit: &Edit,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<O, EditError>,
) -> O {
    doc.transact_with(|_| edit.commit_options(), f)
        .map_err(|failure| failure.error)
        .unwrap()
        .result
}

/// Applies one edit and returns what its patches touched, after checking that the edit declared
/// at least that much itself (the store indexes local edits from the declaration alone).
pub(crate) fn write_touched(
    doc: &mut Automerge,
    edit: &Edit,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<Touched, EditError>,
) -> Touched {
    let mut success = doc
        .transact_and_log_patches_with(|_| edit.commit_options(), f)
        .map_err(|failure| failure.error)
        .unwrap();
    let patches = doc.make_patches(&mut success.patch_log);
    let from_patches = Touched::from_patches(&patches);
    assert!(
        covers(&success.result, &from_patches),
        "the edit declared {:?} but its patches touched {from_patches:?}",
        success.result
    );
    from_patches
}

/// Whether `declared` names everything `actual` touched.
fn covers(declared: &Touched, actual: &Touched) -> bool {
    declared.everything
        || (declared.fields >= actual.fields
            && !actual.everything
            && actual.contacts.is_subset(&declared.contacts)
            && actual.entries.is_subset(&declared.entries)
            && actual.deals.is_subset(&declared.deals)
            && actual.tasks.is_subset(&declared.tasks)
            && actual.acks.is_subset(&declared.acks))
}

/// A new account document named `name`, created by ana of sales.
pub(crate) fn new_account(name: &str) -> Automerge {
    let mut doc = Automerge::new();
    let creator = edit_at("ana", Team::Sales, BASE_MS);
    write(&mut doc, &creator, |tx| {
        account::create(
            tx,
            &creator,
            &NewAccount {
                name: name.into(),
                ..Default::default()
            },
        )
    });
    doc
}

/// Another replica of `doc`, with an actor of its own.
pub(crate) fn replica(doc: &Automerge) -> Automerge {
    let mut fork = doc.fork();
    fork.set_actor(ActorId::random());
    fork
}

/// Merges `a` into `b` and `b` into `a`.
pub(crate) fn sync(a: &mut Automerge, b: &mut Automerge) {
    a.merge(&mut b.clone()).unwrap();
    b.merge(&mut a.clone()).unwrap();
}

pub(crate) fn note(text: &str, alert: &[&str]) -> NewEntry {
    NewEntry {
        kind: EntryKind::Note,
        text: text.into(),
        alert: alert.iter().map(|a| a.parse().unwrap()).collect(),
    }
}

/// Adds a note with id `id` and returns that id.
pub(crate) fn add_note(doc: &mut Automerge, edit: &Edit, id: EntryId, text: &str) -> EntryId {
    write(doc, edit, |tx| {
        account::add_entry(tx, edit, id, &note(text, &[]))
    });
    id
}

/// The id of the text object of timeline entry `id`.
pub(crate) fn entry_text(doc: &Automerge, id: EntryId) -> ObjId {
    let (_, timeline) = doc.get(ROOT, "timeline").unwrap().unwrap();
    let (_, entry) = doc.get(&timeline, id.to_string()).unwrap().unwrap();
    let (value, text) = doc.get(&entry, "text").unwrap().unwrap();
    assert_eq!(value, automerge::Value::Object(ObjType::Text));
    text
}

/// The fixed id every test reads its account with.
pub(crate) fn doc_id() -> DocumentId {
    DocumentId::from_bytes([42; 16])
}

pub(crate) fn view(doc: &Automerge) -> AccountView {
    account::view(doc, doc_id()).unwrap()
}
