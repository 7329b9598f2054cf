//! The replica on real redb files in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod boards;
mod files;
mod index;
mod mentions;
mod merge;
mod merged_accounts;
mod reports;
mod summary;
mod times;

use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{EntryId, EntryKind, Team};
use rapport_store::Replica;
use tempfile::TempDir;

pub(crate) fn workspace(dir: &TempDir, user: &str, team: Team) -> Replica {
    Replica::create_workspace(dir.path(), "Acme Corp", user.parse().unwrap(), team).unwrap()
}

/// A replica for another member of `of`'s workspace, which has none of its documents yet.
pub(crate) fn member(dir: &TempDir, of: &Replica, user: &str, team: Team) -> Replica {
    Replica::create(dir.path(), of.workspace_id(), user.parse().unwrap(), team).unwrap()
}

pub(crate) fn note(
    replica: &mut Replica,
    account: rapport_model::DocumentId,
    text: &str,
    alert: &[&str],
) -> EntryId {
    let edit = replica.edit_now();
    let id = EntryId::new();
    let entry = NewEntry {
        kind: EntryKind::Note,
        text: text.into(),
        alert: alert.iter().map(|a| a.parse().unwrap()).collect(),
    };
    replica
        .change_account(account, &edit, |tx| {
            account::add_entry(tx, &edit, id, &entry)
        })
        .unwrap();
    id
}

pub(crate) fn new_account(replica: &mut Replica, name: &str) -> rapport_model::DocumentId {
    let edit = replica.edit_now();
    replica
        .create_account(
            &edit,
            &NewAccount {
                name: name.into(),
                ..Default::default()
            },
        )
        .unwrap()
}
