//! The pipeline board and the activity dashboard, served from derived tables so that neither
//! loads a document: `deals` holds every deal that reads, `activity` every timeline entry's
//! team and time. [`crate::index`] keeps both in step with each change, through the writers
//! here.

use std::collections::BTreeSet;

use rapport_model::account::DealView;
use rapport_model::{DocumentId, Team, Touched};
use redb::{ReadableDatabase, ReadableTable, Table, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::error::{StorageContext, StoreError};
use crate::index::{Derived, index_or_leave_out};
use crate::replica::Replica;
use crate::tables::{ACTIVITY, BOARDS_KEPT_KEY, DEALS, META, REPORTS_KEPT_KEY, UNINDEXED};

const READING: &str = "reading the boards";
const WRITING: &str = "updating the boards";
const BACKFILLING: &str = "filling the boards of an older replica";

/// [`Replica::activity_by_week`] counts at most this many weeks (about a hundred years).
pub const MAX_ACTIVITY_WEEKS: usize = 5_200;
const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// Day 0 of Unix time, 1970-01-01, was a Thursday: three days after a Monday.
const EPOCH_DAYS_AFTER_MONDAY: i64 = 3;

/// One deal on the pipeline board, with the account that holds it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DealRow {
    /// The account holding the deal.
    pub account: DocumentId,
    /// The deal, as the account's view shows it. In JSON its fields sit beside `account`.
    #[serde(flatten)]
    pub deal: DealView,
}

/// The timeline entries written in one week, counted by their author's team.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct WeekActivity {
    /// The week's Monday, `YYYY-MM-DD` (weeks run Monday to Sunday, UTC).
    pub week: String,
    /// Entries written by sales.
    pub sales: u64,
    /// Entries written by marketing.
    pub marketing: u64,
    /// Entries written by support.
    pub support: u64,
}

impl WeekActivity {
    fn empty(week: String) -> Self {
        Self {
            week,
            sales: 0,
            marketing: 0,
            support: 0,
        }
    }

    fn count(&mut self, team: Team) {
        let counter = match team {
            Team::Sales => &mut self.sales,
            Team::Marketing => &mut self.marketing,
            Team::Support => &mut self.support,
        };
        *counter += 1;
    }
}

/// A deal row as the `deals` table keeps it (the model's `DealView` does not deserialize).
#[derive(Serialize, Deserialize)]
struct StoredDeal {
    account: DocumentId,
    id: String,
    title: String,
    amount: i64,
    currency: String,
    stage: String,
    close: Option<String>,
}

impl Replica {
    /// Every deal of every account, from the index (no document is loaded), by account id, then
    /// by deal id (oldest first within an account). A deal that does not read (a foreign peer's
    /// shape) is left out.
    pub fn deals(&self) -> Result<Vec<DealRow>, StoreError> {
        let txn = self.db.begin_read().doing(READING)?;
        let table = match txn.open_table(DEALS) {
            Ok(table) => table,
            // A replica from before the table existed fills it on open; until then it is empty.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(other) => return Err(other).doing(READING),
        };
        let mut out = Vec::new();
        for row in table.iter().doing(READING)? {
            out.push(decode_deal(row.doing(READING)?.1.value())?);
        }
        Ok(out)
    }

    /// Timeline entries counted per author team per week, from the index (no document is
    /// loaded): the last `weeks` weeks (at most [`MAX_ACTIVITY_WEEKS`]), ending with the week
    /// that holds `now`, oldest first, weeks without entries included. Weeks start on Monday,
    /// UTC; an entry counts in the week of its own time.
    pub fn activity_by_week(
        &self,
        weeks: usize,
        now: jiff::Timestamp,
    ) -> Result<Vec<WeekActivity>, StoreError> {
        let calendar = Weeks::ending_at(weeks, now);
        let mut out: Vec<WeekActivity> = calendar
            .labels
            .into_iter()
            .map(WeekActivity::empty)
            .collect();
        let txn = self.db.begin_read().doing(READING)?;
        let table = match txn.open_table(ACTIVITY) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(out),
            Err(other) => return Err(other).doing(READING),
        };
        for row in table.iter().doing(READING)? {
            let (_, value) = row.doing(READING)?;
            let (team, at) = value.value();
            let Some(week) = calendar
                .first
                .and_then(|first| week_index(first, at, out.len()))
            else {
                continue;
            };
            let team = team.parse().map_err(|_| StoreError::DamagedIndex {
                table: "activity",
                reason: format!("unknown team {team}"),
            })?;
            if let Some(row) = out.get_mut(week) {
                row.count(team);
            }
        }
        Ok(out)
    }

    /// Fills `deals` and `activity` (and the reports' `entry_times` and `touches`) once in a
    /// replica written before they existed, by reindexing every indexed account whole. Documents still waiting in `unindexed` get their
    /// rows when [`Replica::index_pending`] indexes them; one that no longer loads is skipped,
    /// with a warning, rather than keeping the replica from opening.
    pub(crate) fn backfill_boards_once(&mut self) -> Result<(), StoreError> {
        {
            let txn = self.db.begin_read().doing(BACKFILLING)?;
            let meta = txn.open_table(META).doing(BACKFILLING)?;
            let boards = meta.get(BOARDS_KEPT_KEY).doing(BACKFILLING)?.is_some();
            let reports = meta.get(REPORTS_KEPT_KEY).doing(BACKFILLING)?.is_some();
            if boards && reports {
                return Ok(());
            }
        }
        let pending = self.pending_keys()?;
        let ids: Vec<DocumentId> = self
            .stored_account_ids()?
            .into_iter()
            .filter(|id| !pending.contains(&id.to_string()))
            .collect();
        let reader = self.reader();
        let everything = Touched::everything();
        let txn = self.begin_write().doing(BACKFILLING)?;
        let mut derived = Derived::open(&txn)?;
        for id in ids {
            let doc = match self.document(id) {
                Ok(doc) => doc,
                Err(error @ StoreError::DamagedDocument { .. }) => {
                    tracing::warn!(document = %id, %error, "document left off the boards");
                    continue;
                }
                Err(other) => return Err(other),
            };
            index_or_leave_out(&mut derived, doc, id, &everything, &reader)?;
        }
        drop(derived);
        mark_boards_kept(&txn)?;
        crate::reports::touches::mark_reports_kept(&txn)?;
        txn.commit().doing(BACKFILLING)?;
        Ok(())
    }

    /// The keys of the documents waiting in `unindexed`.
    fn pending_keys(&self) -> Result<BTreeSet<String>, StoreError> {
        let txn = self.db.begin_read().doing(BACKFILLING)?;
        let table = match txn.open_table(UNINDEXED) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(BTreeSet::new()),
            Err(other) => return Err(other).doing(BACKFILLING),
        };
        let mut keys = BTreeSet::new();
        for row in table.iter().doing(BACKFILLING)? {
            keys.insert(row.doing(BACKFILLING)?.0.value().to_owned());
        }
        Ok(keys)
    }
}

/// Records, in the caller's transaction, that every indexed account has its board rows.
pub(crate) fn mark_boards_kept(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META)
        .doing(WRITING)?
        .insert(BOARDS_KEPT_KEY, b"1".as_slice())
        .doing(WRITING)?;
    Ok(())
}

/// The `deals` table, open in a write transaction.
pub(crate) type DealsTable<'t> = Table<'t, (&'static str, &'static str), &'static [u8]>;
/// The `activity` table, open in a write transaction.
pub(crate) type ActivityTable<'t> = Table<'t, (&'static str, &'static str), (&'static str, i64)>;

/// Rewrites the board row of deal `deal_key` of account `account` as it now reads: a deal that
/// is gone, or does not read (`None`), has none.
pub(crate) fn set_deal(
    deals: &mut DealsTable<'_>,
    account: DocumentId,
    deal_key: &str,
    deal: Option<&DealView>,
) -> Result<(), StoreError> {
    let account_key = account.to_string();
    match deal {
        Some(deal) => {
            let json = encode_deal(account, deal)?;
            deals
                .insert((account_key.as_str(), deal_key), json.as_slice())
                .doing(WRITING)?;
        }
        None => {
            deals
                .remove((account_key.as_str(), deal_key))
                .doing(WRITING)?;
        }
    }
    Ok(())
}

/// Records the author's team and time of timeline entry `entry_key`, or forgets them when the
/// entry is gone or does not read (`None`).
pub(crate) fn set_activity(
    activity: &mut ActivityTable<'_>,
    account_key: &str,
    entry_key: &str,
    entry: Option<(Team, jiff::Timestamp)>,
) -> Result<(), StoreError> {
    match entry {
        Some((team, at)) => {
            activity
                .insert(
                    (account_key, entry_key),
                    (team.as_str(), at.as_millisecond()),
                )
                .doing(WRITING)?;
        }
        None => {
            activity.remove((account_key, entry_key)).doing(WRITING)?;
        }
    }
    Ok(())
}

/// Drops the board rows of one account.
pub(crate) fn clear_boards(
    deals: &mut DealsTable<'_>,
    activity: &mut ActivityTable<'_>,
    account_key: &str,
) -> Result<(), StoreError> {
    let whole_account = (account_key, "")..=(account_key, "\u{10FFFF}");
    deals
        .retain_in(whole_account.clone(), |_, _| false)
        .doing(WRITING)?;
    activity
        .retain_in(whole_account, |_, _| false)
        .doing(WRITING)?;
    Ok(())
}

fn encode_deal(account: DocumentId, deal: &DealView) -> Result<Vec<u8>, StoreError> {
    let stored = StoredDeal {
        account,
        id: deal.id.to_string(),
        title: deal.title.clone(),
        amount: deal.amount,
        currency: deal.currency.to_string(),
        stage: deal.stage.clone(),
        close: deal.close.clone(),
    };
    serde_json::to_vec(&stored).map_err(|e| damaged(e.to_string()))
}

fn decode_deal(bytes: &[u8]) -> Result<DealRow, StoreError> {
    let stored: StoredDeal = serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
    let id = stored
        .id
        .parse()
        .map_err(|_| damaged(format!("bad deal id {}", stored.id)))?;
    let currency = stored
        .currency
        .parse()
        .map_err(|_| damaged(format!("bad currency {}", stored.currency)))?;
    Ok(DealRow {
        account: stored.account,
        deal: DealView {
            id,
            title: stored.title,
            amount: stored.amount,
            currency,
            stage: stored.stage,
            close: stored.close,
        },
    })
}

fn damaged(reason: String) -> StoreError {
    StoreError::DamagedIndex {
        table: "deals",
        reason,
    }
}

/// The weeks a dashboard shows, oldest first.
struct Weeks {
    /// The first week's Monday, 00:00 UTC, in Unix milliseconds; `None` when there are no weeks.
    first: Option<i64>,
    /// Each week's Monday, `YYYY-MM-DD`.
    labels: Vec<String>,
}

impl Weeks {
    /// The last `count` weeks (at most [`MAX_ACTIVITY_WEEKS`]) up to the one holding `now`;
    /// weeks before the calendar's start are left out.
    fn ending_at(count: usize, now: jiff::Timestamp) -> Self {
        let this_monday = monday_of(now.as_millisecond());
        let mut mondays: Vec<(i64, String)> = (0..count.min(MAX_ACTIVITY_WEEKS))
            .map_while(|back| {
                let start = this_monday.checked_sub(WEEK_MS.checked_mul(back as i64)?)?;
                Some((start, monday_label(start)?))
            })
            .collect();
        mondays.reverse();
        Weeks {
            first: mondays.first().map(|(start, _)| *start),
            labels: mondays.into_iter().map(|(_, label)| label).collect(),
        }
    }
}

/// The start (00:00 UTC) of the Monday of the week holding `millis`.
fn monday_of(millis: i64) -> i64 {
    let day = millis.div_euclid(DAY_MS);
    let since_monday = (day + EPOCH_DAYS_AFTER_MONDAY).rem_euclid(7);
    (day - since_monday) * DAY_MS
}

/// `YYYY-MM-DD` of the day starting at `millis`; `None` outside the calendar.
fn monday_label(millis: i64) -> Option<String> {
    let day = jiff::Timestamp::from_millisecond(millis).ok()?;
    Some(day.to_zoned(jiff::tz::TimeZone::UTC).date().to_string())
}

/// Which of `weeks` weeks starting at `first` holds `at`, if any.
fn week_index(first: i64, at: i64, weeks: usize) -> Option<usize> {
    let week = usize::try_from(at.checked_sub(first)?.div_euclid(WEEK_MS)).ok()?;
    (week < weeks).then_some(week)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn weeks_start_on_monday_utc_and_end_with_the_week_holding_now() {
        // 2026-11-29 is a Sunday.
        let weeks = Weeks::ending_at(3, at("2026-11-29T23:59:59Z"));
        assert_eq!(weeks.labels, ["2026-11-09", "2026-11-16", "2026-11-23"]);
        let first = weeks.first.unwrap();
        assert_eq!(first, at("2026-11-09T00:00:00Z").as_millisecond());
        let index = |t: &str| week_index(first, at(t).as_millisecond(), 3);
        assert_eq!(index("2026-11-08T23:59:59.999Z"), None);
        assert_eq!(index("2026-11-09T00:00:00Z"), Some(0));
        assert_eq!(index("2026-11-23T00:00:00Z"), Some(2));
        assert_eq!(index("2026-11-30T00:00:00Z"), None);
    }

    #[test]
    fn odd_week_counts_give_what_the_calendar_holds() {
        assert!(
            Weeks::ending_at(0, at("2026-11-29T00:00:00Z"))
                .labels
                .is_empty()
        );
        let many = Weeks::ending_at(usize::MAX, at("2026-11-29T00:00:00Z"));
        assert_eq!(many.labels.len(), MAX_ACTIVITY_WEEKS);
        let early = Weeks::ending_at(usize::MAX, jiff::Timestamp::MIN);
        assert!(early.labels.len() <= 1, "{:?}", early.labels);
        assert_eq!(monday_of(0), -3 * DAY_MS, "1970-01-01 was a Thursday");
    }
}
