//! Which timeline entries are alerts for whom.

use crate::account::EntryView;
use crate::vocab::{Team, UserName};

/// Whether `entry` alerts `user` of `team`: it targets the user or the team, and someone else
/// wrote it (an alert never alerts its own author).
pub fn alerts(entry: &EntryView, user: &UserName, team: Team) -> bool {
    entry.author != *user && entry.alert.iter().any(|target| target.includes(user, team))
}
