//! Value scores and segments: every account scored from derived tables only (`accounts`,
//! `touches`, `entry_times` and `deals`; no document is loaded but the workspace), and the
//! saved segments of the workspace document, applied to those scored accounts.
//!
//! What the score means is `rapport_model::value`; the time it is scored at is the caller's
//! (`now`), since recency and frequency move with the clock while nothing changes.

use std::collections::{HashMap, HashSet};

use rapport_model::segment::{self, ScoredAccount, Segment, SegmentFilter};
use rapport_model::value::{self, AccountValue, FREQUENCY_DAYS};
use rapport_model::workspace;
use rapport_model::{DocumentId, Edit, Team, Touched};
use redb::ReadableDatabase;

use crate::documents::PendingChange;
use crate::error::{StorageContext, StoreError};
use crate::replica::Replica;
use crate::reports::Outcome;
use crate::reports::touches::Touch;
use crate::tables::ENTRY_TIMES;

const READING: &str = "scoring accounts";
const DAY_MS: i64 = 86_400_000;

/// The team of each account's latest timeline entry.
type LastTeams = HashMap<DocumentId, Team>;

impl Replica {
    /// Every account with its value score at `now`, by name.
    pub fn scored_accounts(
        &mut self,
        now: jiff::Timestamp,
    ) -> Result<Vec<ScoredAccount>, StoreError> {
        let workspace = self.workspace_id();
        // The pipeline only weighs open deals: a foreign one that does not read weighs each
        // open stage alike rather than keeping the list from showing.
        let pipeline = workspace::pipeline(self.document(workspace)?).unwrap_or_else(|error| {
            tracing::warn!(%error, "workspace pipeline unreadable; open deals weigh alike");
            Vec::new()
        });
        let now_ms = now.as_millisecond();
        let deals = self.deals()?;
        let ranks =
            value::monetary_ranks(&pipeline, deals.iter().map(|row| (row.account, &row.deal)));
        let open: HashSet<DocumentId> = deals
            .iter()
            .filter(|row| Outcome::of(&row.deal.stage) == Outcome::Open)
            .map(|row| row.account)
            .collect();
        let touches = self.touches()?;
        let since = now_ms.saturating_sub(i64::from(FREQUENCY_DAYS) * DAY_MS);
        let (recent, last_teams) = self.entries_since(since, &touches)?;
        let accounts = self.accounts()?;
        Ok(accounts
            .into_iter()
            .map(|summary| {
                let id = summary.id;
                let last_entry = touches.get(&id).and_then(|touch| touch.last_entry);
                let value = AccountValue::of(
                    last_entry,
                    recent.get(&id).copied().unwrap_or(0),
                    ranks.get(&id).copied().unwrap_or(0.0),
                    now_ms,
                );
                ScoredAccount {
                    summary,
                    value,
                    last_entry: last_entry
                        .and_then(|at| jiff::Timestamp::from_millisecond(at).ok()),
                    last_team: last_teams.get(&id).copied(),
                    open_deal: open.contains(&id),
                }
            })
            .collect())
    }

    /// Account `id` with its value score at `now`; `None` when the list does not hold it.
    pub fn scored_account(
        &mut self,
        id: DocumentId,
        now: jiff::Timestamp,
    ) -> Result<Option<ScoredAccount>, StoreError> {
        // The monetary rank compares the account with every other, so all are scored.
        Ok(self
            .scored_accounts(now)?
            .into_iter()
            .find(|account| account.summary.id == id))
    }

    /// The accounts of the segment named `name` at `now`, by name.
    pub fn segment_accounts(
        &mut self,
        name: &str,
        now: jiff::Timestamp,
    ) -> Result<Vec<ScoredAccount>, StoreError> {
        let segment = self.segment(name)?;
        let now_ms = now.as_millisecond();
        Ok(self
            .scored_accounts(now)?
            .into_iter()
            .filter(|account| segment.filter.matches(account, now_ms))
            .collect())
    }

    /// The ids of the accounts of the segment named `name` at `now`: what a report counts.
    pub fn segment_scope(
        &mut self,
        name: &str,
        now: jiff::Timestamp,
    ) -> Result<HashSet<DocumentId>, StoreError> {
        Ok(self
            .segment_accounts(name, now)?
            .into_iter()
            .map(|account| account.summary.id)
            .collect())
    }

    /// The workspace's saved segments, by name.
    pub fn segments(&mut self) -> Result<Vec<Segment>, StoreError> {
        let id = self.workspace_id();
        Ok(segment::segments(self.document(id)?))
    }

    /// The saved segment named `name`. Two replicas saving one name at once leave two; the
    /// first by id is the one used, on every replica.
    pub fn segment(&mut self, name: &str) -> Result<Segment, StoreError> {
        self.segments()?
            .into_iter()
            .find(|segment| segment.name == name.trim())
            .ok_or_else(|| StoreError::UnknownSegment {
                name: name.to_owned(),
            })
    }

    /// Saves a segment in the workspace document, durably; refuses a name already saved and a
    /// filter that keeps everything or nothing sensible, changing nothing.
    pub fn add_segment(
        &mut self,
        edit: &Edit,
        name: &str,
        filter: &SegmentFilter,
    ) -> Result<Segment, StoreError> {
        self.check_writable()?;
        let name = segment::check_name(name)?;
        filter.check()?;
        if self.segments()?.iter().any(|segment| segment.name == name) {
            return Err(StoreError::DuplicateSegment { name });
        }
        let workspace = self.workspace_id();
        let (id, chunk) =
            self.edit_document(workspace, edit, |tx| segment::add(tx, &name, filter))?;
        self.persist(vec![PendingChange {
            id: workspace,
            chunk,
            touched: Touched::default(),
        }])?;
        Ok(Segment {
            id,
            name,
            filter: filter.clone(),
        })
    }

    /// Removes every saved segment named `name` (two when two replicas saved it at once),
    /// durably; returns how many.
    pub fn remove_segment(&mut self, edit: &Edit, name: &str) -> Result<usize, StoreError> {
        self.check_writable()?;
        let ids: Vec<String> = self
            .segments()?
            .into_iter()
            .filter(|segment| segment.name == name.trim())
            .map(|segment| segment.id)
            .collect();
        if ids.is_empty() {
            return Err(StoreError::UnknownSegment {
                name: name.to_owned(),
            });
        }
        let workspace = self.workspace_id();
        let ((), chunk) = self.edit_document(workspace, edit, |tx| {
            ids.iter().try_for_each(|id| segment::remove(tx, id))
        })?;
        self.persist(vec![PendingChange {
            id: workspace,
            chunk,
            touched: Touched::default(),
        }])?;
        Ok(ids.len())
    }

    /// From `entry_times`: how many entries each account has at or after `since`, and the team
    /// of each account's latest entry (found at the time its `touches` row names).
    fn entries_since(
        &self,
        since: i64,
        touches: &HashMap<DocumentId, Touch>,
    ) -> Result<(HashMap<DocumentId, u64>, LastTeams), StoreError> {
        let mut recent: HashMap<DocumentId, u64> = HashMap::new();
        let mut teams = LastTeams::new();
        let txn = self.db.begin_read().doing(READING)?;
        let table = match txn.open_table(ENTRY_TIMES) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok((recent, teams)),
            Err(other) => return Err(other).doing(READING),
        };
        let mut counts: HashMap<String, u64> = HashMap::new();
        for row in table.range((since, "", "")..).doing(READING)? {
            let (key, _) = row.doing(READING)?;
            *counts.entry(key.value().1.to_owned()).or_default() += 1;
        }
        for (account, count) in counts {
            if let Ok(id) = account.parse() {
                recent.insert(id, count);
            }
        }
        for (id, touch) in touches {
            let Some(at) = touch.last_entry else { continue };
            let key = id.to_string();
            let range = (at, key.as_str(), "")..=(at, key.as_str(), "\u{10FFFF}");
            if let Some(row) = table.range(range).doing(READING)?.next() {
                let (_, value) = row.doing(READING)?;
                if let Ok(team) = value.value().0.parse() {
                    teams.insert(*id, team);
                }
            }
        }
        Ok((recent, teams))
    }
}
