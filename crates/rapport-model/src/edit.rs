//! Who makes an edit and when: stamped on every change Rapport commits.

use automerge::transaction::CommitOptions;

use crate::vocab::{Team, UserName};

/// The author and time of one edit.
///
/// The user name becomes the Automerge change's message, so the document's own history says
/// who changed what.
#[derive(Clone, Debug)]
pub struct Edit {
    /// The member making the edit.
    pub user: UserName,
    /// Their team; timeline entries are marked with it.
    pub team: Team,
    /// When the edit is made.
    pub at: jiff::Timestamp,
}

impl Edit {
    /// An edit by `user` of `team` now, to the millisecond (what documents store), so that a
    /// time read back equals the edit's.
    pub fn now(user: UserName, team: Team) -> Self {
        let now = jiff::Timestamp::now();
        Self {
            user,
            team,
            at: jiff::Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now),
        }
    }

    /// The time in milliseconds since the Unix epoch, as stored in documents.
    pub fn at_millis(&self) -> i64 {
        self.at.as_millisecond()
    }

    /// Commit options that record this edit in the Automerge change: message = user, time in seconds.
    pub fn commit_options(&self) -> CommitOptions {
        CommitOptions::default()
            .with_message(self.user.as_str())
            .with_time(self.at.as_second())
    }
}
