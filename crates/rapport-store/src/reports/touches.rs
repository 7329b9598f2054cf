//! Writing the report tables of one account: `entry_times`, every timeline entry by its time,
//! and `touches`, the account's last entry, last ticket and last support follow-up.
//!
//! A new entry moves the account's `touches` row forward, whatever the timeline's length; an
//! entry that changes its time, team or kind, or goes away (a foreign peer's edit), has the row
//! recomputed from the document's timeline.

use automerge::Automerge;
use rapport_model::account::{self, EntryView};
use rapport_model::{DocumentId, EntryKind, Team};
use redb::{ReadableTable, Table, WriteTransaction};

use crate::error::{StorageContext, StoreError};
use crate::index::Derived;
use crate::tables::{META, REPORTS_KEPT_KEY, TouchRow};

const WRITING: &str = "updating the reports";

/// The `entry_times` table, open in a write transaction.
pub(crate) type EntryTimesTable<'t> =
    Table<'t, (i64, &'static str, &'static str), (&'static str, &'static str)>;
/// The `touches` table, open in a write transaction.
pub(crate) type TouchesTable<'t> = Table<'t, &'static str, TouchRow>;

/// An account's latest entries, in Unix milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Touch {
    /// Its latest entry of any kind.
    pub(crate) last_entry: Option<i64>,
    /// Its latest ticket.
    pub(crate) last_ticket: Option<i64>,
    /// Its latest entry by support that is not a ticket: a follow-up.
    pub(crate) last_support: Option<i64>,
}

impl Touch {
    pub(crate) fn from_row((last_entry, last_ticket, last_support): TouchRow) -> Self {
        Self {
            last_entry,
            last_ticket,
            last_support,
        }
    }

    fn row(self) -> TouchRow {
        (self.last_entry, self.last_ticket, self.last_support)
    }

    /// Counts an entry of `team` and `kind` written at `at`.
    pub(crate) fn add(&mut self, team: Team, kind: EntryKind, at: i64) {
        let later = |last: Option<i64>| Some(last.map_or(at, |last| last.max(at)));
        self.last_entry = later(self.last_entry);
        if kind == EntryKind::Ticket {
            self.last_ticket = later(self.last_ticket);
        } else if team == Team::Support {
            self.last_support = later(self.last_support);
        }
    }

    /// When the open ticket was logged, if the account has one: its latest ticket is later than
    /// support's latest follow-up.
    pub(crate) fn open_ticket(&self) -> Option<i64> {
        let ticket = self.last_ticket?;
        self.last_support
            .is_none_or(|support| support < ticket)
            .then_some(ticket)
    }
}

/// What the report tables hold of one entry: its time, team and kind.
type EntryRow = (i64, String, String);

/// Rewrites the report rows of timeline entry `entry_key` as it now reads (`None`: gone, or
/// not readable). Runs before the entry's `activity` row is rewritten: that row says where
/// its old `entry_times` row is.
pub(crate) fn set_entry(
    derived: &mut Derived<'_>,
    doc: &Automerge,
    id: DocumentId,
    account_key: &str,
    entry_key: &str,
    entry: Option<&EntryView>,
) -> Result<(), StoreError> {
    let old_at = derived
        .activity
        .get((account_key, entry_key))
        .doing(WRITING)?
        .map(|row| row.value().1);
    let old: Option<EntryRow> = match old_at {
        Some(at) => derived
            .entry_times
            .remove((at, account_key, entry_key))
            .doing(WRITING)?
            .map(|row| {
                let (team, kind) = row.value();
                (at, team.to_owned(), kind.to_owned())
            }),
        None => None,
    };
    if let Some(entry) = entry {
        derived
            .entry_times
            .insert(
                (entry.at.as_millisecond(), account_key, entry_key),
                (entry.team.as_str(), entry.kind.as_str()),
            )
            .doing(WRITING)?;
    }
    let new: Option<EntryRow> = entry.map(|e| {
        (
            e.at.as_millisecond(),
            e.team.as_str().to_owned(),
            e.kind.as_str().to_owned(),
        )
    });
    match (old, new) {
        (None, None) => Ok(()),
        (old, new) if old == new => Ok(()),
        (None, Some(_)) => {
            let Some(entry) = entry else { return Ok(()) };
            let mut touch = read_touch(&derived.touches, account_key)?;
            touch.add(entry.team, entry.kind, entry.at.as_millisecond());
            write_touch(&mut derived.touches, account_key, touch)
        }
        _ => {
            let touch = touch_of_timeline(doc, id)?;
            write_touch(&mut derived.touches, account_key, touch)
        }
    }
}

/// Writes the `entry_times` row of an entry of an account whose report rows were just cleared
/// (its `touches` row is written once, with [`put_touch`], after all its entries).
pub(crate) fn put_new_entry(
    derived: &mut Derived<'_>,
    account_key: &str,
    entry_key: &str,
    entry: &EntryView,
) -> Result<(), StoreError> {
    derived
        .entry_times
        .insert(
            (entry.at.as_millisecond(), account_key, entry_key),
            (entry.team.as_str(), entry.kind.as_str()),
        )
        .doing(WRITING)?;
    Ok(())
}

/// Writes an account's `touches` row as `touch` says.
pub(crate) fn put_touch(
    derived: &mut Derived<'_>,
    account_key: &str,
    touch: Touch,
) -> Result<(), StoreError> {
    write_touch(&mut derived.touches, account_key, touch)
}

/// Drops the report rows of one account. Runs before its `activity` rows are dropped: they
/// say where its `entry_times` rows are.
pub(crate) fn clear_account(
    derived: &mut Derived<'_>,
    account_key: &str,
) -> Result<(), StoreError> {
    let whole_account = (account_key, "")..=(account_key, "\u{10FFFF}");
    let mut times = Vec::new();
    for row in derived.activity.range(whole_account).doing(WRITING)? {
        let (key, value) = row.doing(WRITING)?;
        times.push((value.value().1, key.value().1.to_owned()));
    }
    for (at, entry) in times {
        derived
            .entry_times
            .remove((at, account_key, entry.as_str()))
            .doing(WRITING)?;
    }
    derived.touches.remove(account_key).doing(WRITING)?;
    Ok(())
}

/// Records, in the caller's transaction, that every indexed account has its report rows.
pub(crate) fn mark_reports_kept(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META)
        .doing(WRITING)?
        .insert(REPORTS_KEPT_KEY, b"1".as_slice())
        .doing(WRITING)?;
    Ok(())
}

fn read_touch(touches: &TouchesTable<'_>, account_key: &str) -> Result<Touch, StoreError> {
    Ok(touches
        .get(account_key)
        .doing(WRITING)?
        .map(|row| Touch::from_row(row.value()))
        .unwrap_or_default())
}

fn write_touch(
    touches: &mut TouchesTable<'_>,
    account_key: &str,
    touch: Touch,
) -> Result<(), StoreError> {
    if touch == Touch::default() {
        touches.remove(account_key).doing(WRITING)?;
    } else {
        touches.insert(account_key, touch.row()).doing(WRITING)?;
    }
    Ok(())
}

/// The latest entries of the whole timeline; entries that do not read are left out, as the
/// index leaves them out.
fn touch_of_timeline(doc: &Automerge, id: DocumentId) -> Result<Touch, StoreError> {
    let entries = account::each_entry(doc).map_err(|source| StoreError::Shape { id, source })?;
    let mut touch = Touch::default();
    for (_, entry) in entries {
        if let Ok(entry) = entry {
            touch.add(entry.team, entry.kind, entry.at.as_millisecond());
        }
    }
    Ok(touch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_stays_open_until_support_writes_something_else_after_it() {
        let mut touch = Touch::default();
        touch.add(Team::Sales, EntryKind::Note, 10);
        assert_eq!(touch.open_ticket(), None, "no ticket yet");
        touch.add(Team::Sales, EntryKind::Ticket, 20);
        assert_eq!(touch.open_ticket(), Some(20));
        touch.add(Team::Marketing, EntryKind::Email, 30);
        assert_eq!(touch.open_ticket(), Some(20), "only support follows up");
        touch.add(Team::Support, EntryKind::Call, 40);
        assert_eq!(touch.open_ticket(), None);
        touch.add(Team::Support, EntryKind::Ticket, 50);
        assert_eq!(touch.open_ticket(), Some(50), "a new ticket opens again");
        assert_eq!(touch.last_entry, Some(50));
    }

    #[test]
    fn entries_counted_out_of_order_keep_the_latest() {
        let mut touch = Touch::default();
        touch.add(Team::Support, EntryKind::Note, 40);
        touch.add(Team::Support, EntryKind::Ticket, 30);
        touch.add(Team::Sales, EntryKind::Call, 5);
        assert_eq!(
            touch,
            Touch {
                last_entry: Some(40),
                last_ticket: Some(30),
                last_support: Some(40),
            }
        );
        assert_eq!(touch.open_ticket(), None, "followed up after the ticket");
    }
}
