//! What the edit commands did (acknowledged or killed) and where the kills landed; the checks
//! of a replica against it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use super::MEMBERS;
use super::plan::Kind;
use super::replicas::View;
use crate::support::{array, str_at};

/// One edit command that ran: acknowledged (status 0) or killed.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub cycle: usize,
    pub client: usize,
    pub kind: Kind,
    /// The account it edits (the new account's id, for an acknowledged `account add`).
    pub account: String,
    /// The note's text, the contact's name, the field's value, or the account's name.
    pub text: String,
    /// The id the command printed.
    pub id: Option<String>,
    pub acknowledged: bool,
}

impl Attempt {
    /// This acknowledged change is in `view` (`user`'s replica), as it was written. (Field
    /// values are checked together, by [`Ledger::check`].)
    fn check_present(&self, user: &str, view: &View) {
        let lost = || {
            format!(
                "acknowledged change lost: {:?} {} (cycle {}, by {}) is missing on {user}'s replica",
                self.kind,
                self.id.as_deref().unwrap_or("-"),
                self.cycle,
                MEMBERS[self.client].0
            )
        };
        let account = view
            .accounts
            .get(&self.account)
            .unwrap_or_else(|| panic!("{}", lost()));
        let (items, key) = match self.kind {
            Kind::Field(_) => return,
            Kind::Account => {
                assert_eq!(account["name"], self.text.as_str(), "{}", lost());
                return;
            }
            Kind::Note | Kind::BigNote => (&account["timeline"], "text"),
            Kind::Contact => (&account["contacts"], "name"),
        };
        let id = self.id.as_deref().expect("an acknowledged id");
        let item = array(items)
            .iter()
            .find(|item| item["id"] == id)
            .unwrap_or_else(|| panic!("{}", lost()));
        assert_eq!(
            item[key],
            self.text.as_str(),
            "{:?} {id} is damaged on {user}'s replica",
            self.kind
        );
    }
}

/// Where a kill of an edit command landed.
#[derive(Clone, Copy, Debug)]
pub enum Hit {
    /// The command had finished: its change is acknowledged.
    AfterExit,
    /// The change is absent: the kill came before its transaction committed.
    BeforeCommit,
    /// The change is present, but the command was killed before it could report it.
    AfterCommit,
    /// The same, for a big note whose write compacted the account.
    AfterCompaction,
    /// A field edit: a later value may hide whether it committed.
    Unknown,
}

/// Every edit command run, how long they take, and where the kills landed.
#[derive(Default)]
pub struct Ledger {
    pub attempts: Vec<Attempt>,
    pub timings: Timings,
    pub tally: Tally,
}

/// How long the edit commands that were not killed took, big notes apart.
#[derive(Default)]
pub struct Timings {
    small: Vec<Duration>,
    big: Vec<Duration>,
}

impl Timings {
    pub fn record(&mut self, big: bool, took: Duration) {
        self.of(big).push(took);
    }

    /// The median so far (a guess before the first).
    pub fn usual(&mut self, big: bool) -> Duration {
        let guess = Duration::from_millis(if big { 300 } else { 80 });
        let took = self.of(big);
        took.sort_unstable();
        took.get(took.len() / 2).copied().unwrap_or(guess)
    }

    fn of(&mut self, big: bool) -> &mut Vec<Duration> {
        if big { &mut self.big } else { &mut self.small }
    }
}

impl Ledger {
    /// Every acknowledged change is in `view` (`user`'s replica), and every note, contact and
    /// account there is one a command wrote, whole.
    pub fn check(&self, user: &str, view: &View) {
        for attempt in self.attempts.iter().filter(|a| a.acknowledged) {
            attempt.check_present(user, view);
        }
        self.check_fields(user, view);
        self.check_no_strangers(user, view);
    }

    /// Each member's own custom field holds their last acknowledged value, or a value a later
    /// killed command may have committed.
    fn check_fields(&self, user: &str, view: &View) {
        for (account_id, account) in &view.accounts {
            for (client, (member, _)) in MEMBERS.iter().enumerate() {
                let field = Kind::Field(format!("custom.{member}"));
                let tries: Vec<&Attempt> = self
                    .attempts
                    .iter()
                    .filter(|a| a.client == client && a.kind == field && a.account == *account_id)
                    .collect();
                // After the last acknowledged value come killed commands only.
                let last = tries.iter().rposition(|a| a.acknowledged);
                let mut allowed: BTreeSet<Option<&str>> = tries[last.unwrap_or(0)..]
                    .iter()
                    .map(|a| Some(a.text.as_str()))
                    .collect();
                if last.is_none() {
                    allowed.insert(None);
                }
                let shown = account["custom"][member].as_str();
                assert!(
                    allowed.contains(&shown),
                    "{member}'s field custom.{member} on {account_id} reads {shown:?} on \
                     {user}'s replica, expected one of {allowed:?}"
                );
            }
        }
    }

    /// Every note and contact on the replica was written by a command of this test, whole.
    fn check_no_strangers(&self, user: &str, view: &View) {
        let written: BTreeSet<&str> = self.attempts.iter().map(|a| a.text.as_str()).collect();
        for (id, account) in &view.accounts {
            for entry in array(&account["timeline"]) {
                let text = str_at(entry, "text");
                assert!(
                    written.contains(text),
                    "{user}'s replica has a note on {id} no command wrote: {}",
                    &text[..text.len().min(200)]
                );
            }
            for contact in array(&account["contacts"]) {
                let name = str_at(contact, "name");
                assert!(
                    written.contains(name),
                    "{user}'s replica has a contact on {id} no command wrote: {name}"
                );
            }
        }
    }
}

/// How many kills landed where.
#[derive(Default)]
pub struct Tally {
    pub relay: usize,
    /// Relay kills while some watcher was in the middle of a sync.
    pub relay_mid_sync: usize,
    /// Watcher kills, by what the watcher was doing.
    pub watchers: BTreeMap<&'static str, usize>,
    /// Edit kills, by kind and where they landed.
    pub edits: BTreeMap<String, usize>,
    /// Big notes written without a kill, and how many of them left one snapshot behind.
    pub big_notes: usize,
    pub big_notes_compacted: usize,
    /// The usual run times of a small edit and a big note, at the end.
    pub usual: (Duration, Duration),
}

impl Tally {
    pub fn relay_killed(&mut self, states: &[&str]) {
        self.relay += 1;
        if states.contains(&"syncing") {
            self.relay_mid_sync += 1;
        }
    }

    pub fn watcher_killed(&mut self, state: &'static str) {
        *self.watchers.entry(state).or_default() += 1;
    }

    /// An edit command killed at `fraction` of its usual run time; a kill before the commit
    /// late in the run (from 0.7 on) most likely hit the commit itself.
    pub fn edit_killed(&mut self, kind: &Kind, hit: Hit, fraction: f64) {
        let kind = match kind {
            Kind::Field(_) => "Field".to_owned(),
            other => format!("{other:?}"),
        };
        let late = match hit {
            Hit::BeforeCommit if fraction >= 0.7 => " (late)",
            _ => "",
        };
        *self
            .edits
            .entry(format!("{kind} {hit:?}{late}"))
            .or_default() += 1;
    }

    pub fn big_note_written(&mut self, compacted: bool) {
        self.big_notes += 1;
        self.big_notes_compacted += usize::from(compacted);
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "kills: relay {} ({} while a watcher was syncing)",
            self.relay, self.relay_mid_sync
        )?;
        writeln!(f, "kills: watchers by state {:?}", self.watchers)?;
        writeln!(f, "kills: edit commands {:?}", self.edits)?;
        writeln!(
            f,
            "big notes written whole: {}, of which {} compacted their account",
            self.big_notes, self.big_notes_compacted
        )?;
        write!(
            f,
            "usual run time: small edit {:?}, big note {:?}",
            self.usual.0, self.usual.1
        )
    }
}
