//! The reports: open pipeline by stage and by owner, win rate, interactions per team, and the
//! accounts that need attention. Each reads derived tables only, never a document: `deals` and
//! `accounts` for the deals and their owners, `entry_times` (every timeline entry by time) for
//! the interactions of the last days, and `touches` (per account, its last entry, last ticket
//! and last support entry) for attention. [`crate::index`] keeps the last two in step with each
//! change through the writers in [`touches`].
//!
//! Words the reports rely on:
//! - a deal is **won** in stage `won`, **lost** in stage `lost`, and **open** in any other stage
//!   (the workspace pipeline's last two stages, `DEFAULT_PIPELINE`);
//! - a deal's **owner** is its account's owner;
//! - amounts are summed per currency, never across currencies;
//! - an account has an **open ticket** when its latest `ticket` entry is later than every entry
//!   that support wrote on it that is not a ticket: support has not followed it up.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rapport_model::account::{AccountSummary, DealView};
use rapport_model::{Currency, DocumentId, EntryKind, PipelineStage, Team};
use redb::{ReadableDatabase, ReadableTable};
use serde::Serialize;

use crate::error::{StorageContext, StoreError};
use crate::replica::Replica;
use crate::tables::{ENTRY_TIMES, TOUCHES};

pub(crate) mod touches;

const READING: &str = "reading a report";
const DAY_MS: i64 = 86_400_000;

/// The stage of a won deal.
pub const WON_STAGE: &str = "won";
/// The stage of a lost deal.
pub const LOST_STAGE: &str = "lost";
/// The longest window a report looks back over, in days (about a hundred years).
pub const MAX_REPORT_DAYS: u32 = 36_525;
/// The window of the interactions and attention reports when none is given, in days.
pub const DEFAULT_REPORT_DAYS: u32 = 30;

/// An amount in one currency, in its minor units.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CurrencyTotal {
    /// The currency.
    pub currency: Currency,
    /// The sum, in minor units of `currency`.
    pub amount: i64,
}

/// How many deals, and their value per currency.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct DealCount {
    /// How many deals.
    pub deals: u64,
    /// Their amounts summed per currency, by currency code; a currency without deals is absent.
    pub totals: Vec<CurrencyTotal>,
}

/// The open deals in one pipeline stage.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StagePipeline {
    /// The stage.
    pub stage: String,
    /// Its open deals. In JSON, `deals` and `totals` sit beside `stage`.
    #[serde(flatten)]
    pub open: DealCount,
}

/// The open deals of the accounts of one owner.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OwnerPipeline {
    /// The accounts' owner; `None` for accounts without one.
    pub owner: Option<String>,
    /// Their open deals.
    #[serde(flatten)]
    pub open: DealCount,
}

/// The open pipeline: every deal not won or lost.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PipelineReport {
    /// Every open deal.
    #[serde(flatten)]
    pub open: DealCount,
    /// Per open stage of the workspace pipeline, in its order (empty stages included), then any
    /// other stage a deal is in, by name.
    pub stages: Vec<StagePipeline>,
    /// Per owner, by owner name, accounts without an owner last.
    pub owners: Vec<OwnerPipeline>,
}

/// Deals won and lost, and the share won.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct WinRate {
    /// Deals in stage `won`.
    pub won: u64,
    /// Deals in stage `lost`.
    pub lost: u64,
    /// `won / (won + lost)`, from 0 to 1; `None` when no deal is won or lost.
    pub rate: Option<f64>,
}

/// The win rate of one owner's accounts.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OwnerWinRate {
    /// The accounts' owner; `None` for accounts without one.
    pub owner: Option<String>,
    /// Their deals won and lost.
    #[serde(flatten)]
    pub rate: WinRate,
}

/// Win rate overall and per owner.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WinRateReport {
    /// The window, in days; `None` for every deal ever closed.
    pub days: Option<u32>,
    /// With a window: its first day (UTC), `YYYY-MM-DD`. A closed deal counts when its close
    /// date is on or after it.
    pub since: Option<String>,
    /// Every owner together.
    pub overall: WinRate,
    /// Per owner with a deal won or lost, by owner name, accounts without an owner last.
    pub owners: Vec<OwnerWinRate>,
    /// With a window: deals won or lost that have no close date, and so count in no window.
    pub undated: u64,
}

/// One team's timeline entries.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TeamInteractions {
    /// The authors' team.
    pub team: Team,
    /// How many entries.
    pub entries: u64,
    /// How many of each kind, every kind present.
    pub kinds: BTreeMap<EntryKind, u64>,
}

/// Timeline entries per team and kind over the last days.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InteractionsReport {
    /// The window, in days.
    pub days: u32,
    /// Its start: entries written at or after this time count.
    pub since: jiff::Timestamp,
    /// Every entry in the window.
    pub entries: u64,
    /// Per team, every team present, in the order sales, marketing, support.
    pub teams: Vec<TeamInteractions>,
}

/// An account with no timeline entry in the window.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct UntouchedAccount {
    /// The account.
    pub account: DocumentId,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: Option<String>,
    /// Its lifecycle stage.
    pub stage: Option<String>,
    /// Its latest entry's time; `None` when it has none.
    pub last_entry: Option<jiff::Timestamp>,
}

/// An account with an open ticket and an open deal.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TicketOnOpenDeal {
    /// The account.
    pub account: DocumentId,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: Option<String>,
    /// Its lifecycle stage.
    pub stage: Option<String>,
    /// When its latest ticket was logged.
    pub ticket_at: jiff::Timestamp,
    /// Its open deals. In JSON, `deals` and `totals` sit beside the rest.
    #[serde(flatten)]
    pub open: DealCount,
}

/// Accounts that need attention.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AttentionReport {
    /// The window, in days.
    pub days: u32,
    /// Its start.
    pub since: jiff::Timestamp,
    /// Accounts without an entry at or after `since`: never touched first, then the longest
    /// untouched, ties by name.
    pub untouched: Vec<UntouchedAccount>,
    /// Accounts with an open ticket and an open deal, the oldest ticket first.
    pub open_tickets: Vec<TicketOnOpenDeal>,
}

/// What a deal's stage says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still in the pipeline.
    Open,
    /// Won.
    Won,
    /// Lost.
    Lost,
}

impl Outcome {
    /// The outcome of a deal in `stage`.
    pub fn of(stage: &str) -> Self {
        match stage {
            WON_STAGE => Outcome::Won,
            LOST_STAGE => Outcome::Lost,
            _ => Outcome::Open,
        }
    }
}

/// The accounts a report counts: `None` for every account, or those of a segment
/// ([`Replica::segment_scope`]).
pub type AccountScope<'a> = Option<&'a HashSet<DocumentId>>;

fn in_scope(scope: AccountScope<'_>, id: &DocumentId) -> bool {
    scope.is_none_or(|scope| scope.contains(id))
}

/// A deal with its account's owner.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedDeal {
    /// The account holding it.
    pub account: DocumentId,
    /// The account's owner.
    pub owner: Option<String>,
    /// The deal.
    pub deal: DealView,
}

impl Replica {
    /// The open pipeline by stage and by owner of the accounts in `scope`, from the index.
    pub fn pipeline_report(
        &mut self,
        scope: AccountScope<'_>,
    ) -> Result<PipelineReport, StoreError> {
        let stages = self.workspace()?.pipeline;
        Ok(pipeline_of(&stages, &self.owned_deals(scope)?))
    }

    /// Win rate overall and per owner, of every deal closed or, with `days`, of those whose
    /// close date falls in the last `days` days up to `now` (at most [`MAX_REPORT_DAYS`]), of
    /// the accounts in `scope`.
    pub fn win_rate_report(
        &self,
        days: Option<u32>,
        now: jiff::Timestamp,
        scope: AccountScope<'_>,
    ) -> Result<WinRateReport, StoreError> {
        let since = days.map(|days| day_of(window_start(days, now)));
        Ok(win_rate_of(&self.owned_deals(scope)?, days, since))
    }

    /// Timeline entries per team and kind written in the last `days` days up to `now` on the
    /// accounts in `scope`. Reads only the entries of the window.
    pub fn interactions_report(
        &self,
        days: u32,
        now: jiff::Timestamp,
        scope: AccountScope<'_>,
    ) -> Result<InteractionsReport, StoreError> {
        let since = window_start(days, now);
        let scope: Option<HashSet<String>> =
            scope.map(|ids| ids.iter().map(ToString::to_string).collect());
        let mut rows = Vec::new();
        let txn = self.db.begin_read().doing(READING)?;
        match txn.open_table(ENTRY_TIMES) {
            Ok(table) => {
                let from = (since.as_millisecond(), "", "");
                for row in table.range(from..).doing(READING)? {
                    let (key, value) = row.doing(READING)?;
                    if scope
                        .as_ref()
                        .is_some_and(|scope| !scope.contains(key.value().1))
                    {
                        continue;
                    }
                    let (team, kind) = value.value();
                    rows.push((parse_word(team, "team")?, parse_word(kind, "kind")?));
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(other) => return Err(other).doing(READING),
        }
        Ok(interactions_of(days.min(MAX_REPORT_DAYS), since, rows))
    }

    /// Accounts without a timeline entry in the last `days` days up to `now`, and accounts with
    /// an open ticket and an open deal, among the accounts in `scope`.
    pub fn attention_report(
        &self,
        days: u32,
        now: jiff::Timestamp,
        scope: AccountScope<'_>,
    ) -> Result<AttentionReport, StoreError> {
        let since = window_start(days, now);
        let touches = self.touches()?;
        let mut accounts = self.accounts()?;
        accounts.retain(|account| in_scope(scope, &account.id));
        let ticketed: BTreeSet<DocumentId> = touches
            .iter()
            .filter(|(_, touch)| touch.open_ticket().is_some())
            .map(|(id, _)| *id)
            .collect();
        let deals: Vec<OwnedDeal> = self
            .deals()?
            .into_iter()
            .filter(|row| ticketed.contains(&row.account))
            .map(|row| OwnedDeal {
                account: row.account,
                owner: None,
                deal: row.deal,
            })
            .collect();
        Ok(attention_of(days, since, &accounts, &touches, &deals))
    }

    /// Every deal of the accounts in `scope`, with its account's owner.
    fn owned_deals(&self, scope: AccountScope<'_>) -> Result<Vec<OwnedDeal>, StoreError> {
        let owners: HashMap<DocumentId, Option<String>> = self
            .accounts()?
            .into_iter()
            .map(|a| (a.id, a.owner))
            .collect();
        Ok(self
            .deals()?
            .into_iter()
            .filter(|row| in_scope(scope, &row.account))
            .map(|row| OwnedDeal {
                account: row.account,
                owner: owners.get(&row.account).cloned().flatten(),
                deal: row.deal,
            })
            .collect())
    }

    /// Each account's last entries, from the `touches` table.
    pub(crate) fn touches(&self) -> Result<HashMap<DocumentId, touches::Touch>, StoreError> {
        let txn = self.db.begin_read().doing(READING)?;
        let table = match txn.open_table(TOUCHES) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(HashMap::new()),
            Err(other) => return Err(other).doing(READING),
        };
        let mut out = HashMap::new();
        for row in table.iter().doing(READING)? {
            let (key, value) = row.doing(READING)?;
            let id = key.value().parse().map_err(|_| StoreError::DamagedIndex {
                table: "touches",
                reason: format!("bad account id {}", key.value()),
            })?;
            out.insert(id, touches::Touch::from_row(value.value()));
        }
        Ok(out)
    }
}

/// The start of a window of `days` days (at most [`MAX_REPORT_DAYS`]) ending at `now`.
fn window_start(days: u32, now: jiff::Timestamp) -> jiff::Timestamp {
    let back = i64::from(days.min(MAX_REPORT_DAYS)) * DAY_MS;
    jiff::Timestamp::from_millisecond(now.as_millisecond().saturating_sub(back))
        .unwrap_or(jiff::Timestamp::MIN)
}

/// The UTC day holding `at`, `YYYY-MM-DD`.
fn day_of(at: jiff::Timestamp) -> String {
    at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()
}

fn parse_word<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::DamagedIndex {
        table: "entry_times",
        reason: format!("unknown {what} {text}"),
    })
}

impl DealCount {
    pub(crate) fn add(&mut self, deal: &DealView) {
        self.deals += 1;
        match self
            .totals
            .binary_search_by(|total| total.currency.cmp(&deal.currency))
        {
            Ok(at) => {
                if let Some(total) = self.totals.get_mut(at) {
                    total.amount = total.amount.saturating_add(deal.amount);
                }
            }
            Err(at) => self.totals.insert(
                at,
                CurrencyTotal {
                    currency: deal.currency,
                    amount: deal.amount,
                },
            ),
        }
    }
}

impl WinRate {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Won => self.won += 1,
            Outcome::Lost => self.lost += 1,
            Outcome::Open => return,
        }
        self.rate = Some(self.won as f64 / (self.won + self.lost) as f64);
    }
}

/// Owners by name, `None` (accounts without an owner) last.
fn owner_order(owner: &Option<String>) -> (bool, Option<&str>) {
    (owner.is_none(), owner.as_deref())
}

/// The open pipeline of `deals`, with the open stages of `pipeline` first, in its order.
pub fn pipeline_of(pipeline: &[PipelineStage], deals: &[OwnedDeal]) -> PipelineReport {
    let mut open = DealCount::default();
    let mut stages: Vec<StagePipeline> = pipeline
        .iter()
        .filter(|stage| Outcome::of(stage.as_str()) == Outcome::Open)
        .map(|stage| StagePipeline {
            stage: stage.as_str().to_owned(),
            open: DealCount::default(),
        })
        .collect();
    let mut elsewhere: BTreeMap<&str, DealCount> = BTreeMap::new();
    let mut owners: BTreeMap<(bool, Option<&str>), DealCount> = BTreeMap::new();
    for owned in deals {
        let deal = &owned.deal;
        if Outcome::of(&deal.stage) != Outcome::Open {
            continue;
        }
        open.add(deal);
        match stages.iter_mut().find(|s| s.stage == deal.stage) {
            Some(stage) => stage.open.add(deal),
            None => elsewhere.entry(&deal.stage).or_default().add(deal),
        }
        owners
            .entry(owner_order(&owned.owner))
            .or_default()
            .add(deal);
    }
    stages.extend(elsewhere.into_iter().map(|(stage, open)| StagePipeline {
        stage: stage.to_owned(),
        open,
    }));
    let owners = owners
        .into_iter()
        .map(|((_, owner), open)| OwnerPipeline {
            owner: owner.map(str::to_owned),
            open,
        })
        .collect();
    PipelineReport {
        open,
        stages,
        owners,
    }
}

/// The win rate of `deals`; with `since`, of those whose close date is on or after it.
pub fn win_rate_of(deals: &[OwnedDeal], days: Option<u32>, since: Option<String>) -> WinRateReport {
    let mut overall = WinRate::default();
    let mut owners: BTreeMap<(bool, Option<&str>), WinRate> = BTreeMap::new();
    let mut undated = 0;
    for owned in deals {
        let outcome = Outcome::of(&owned.deal.stage);
        if outcome == Outcome::Open {
            continue;
        }
        if let Some(since) = &since {
            // Close dates are `YYYY-MM-DD`, so their text orders as their dates do.
            match &owned.deal.close {
                None => {
                    undated += 1;
                    continue;
                }
                Some(close) if close.as_str() < since.as_str() => continue,
                Some(_) => {}
            }
        }
        overall.count(outcome);
        owners
            .entry(owner_order(&owned.owner))
            .or_default()
            .count(outcome);
    }
    WinRateReport {
        days: days.map(|days| days.min(MAX_REPORT_DAYS)),
        since,
        overall,
        owners: owners
            .into_iter()
            .map(|((_, owner), rate)| OwnerWinRate {
                owner: owner.map(str::to_owned),
                rate,
            })
            .collect(),
        undated,
    }
}

/// Entries per team and kind, from the (team, kind) of each entry in the window.
pub fn interactions_of(
    days: u32,
    since: jiff::Timestamp,
    entries: impl IntoIterator<Item = (Team, EntryKind)>,
) -> InteractionsReport {
    let mut teams: Vec<TeamInteractions> = Team::ALL
        .iter()
        .map(|team| TeamInteractions {
            team: *team,
            entries: 0,
            kinds: EntryKind::ALL.iter().map(|kind| (*kind, 0)).collect(),
        })
        .collect();
    let mut total = 0;
    for (team, kind) in entries {
        total += 1;
        if let Some(line) = teams.iter_mut().find(|line| line.team == team) {
            line.entries += 1;
            *line.kinds.entry(kind).or_default() += 1;
        }
    }
    InteractionsReport {
        days,
        since,
        entries: total,
        teams,
    }
}

/// The accounts needing attention among `accounts`, given each one's `touches` and the
/// `deals` of the accounts with an open ticket.
fn attention_of(
    days: u32,
    since: jiff::Timestamp,
    accounts: &[AccountSummary],
    touches: &HashMap<DocumentId, touches::Touch>,
    deals: &[OwnedDeal],
) -> AttentionReport {
    let mut open_deals: HashMap<DocumentId, DealCount> = HashMap::new();
    for owned in deals {
        if Outcome::of(&owned.deal.stage) == Outcome::Open {
            open_deals
                .entry(owned.account)
                .or_default()
                .add(&owned.deal);
        }
    }
    let time = |millis: i64| jiff::Timestamp::from_millisecond(millis).ok();
    let mut untouched = Vec::new();
    let mut open_tickets = Vec::new();
    for account in accounts {
        let touch = touches.get(&account.id).copied().unwrap_or_default();
        let last_entry = touch.last_entry.and_then(time);
        if last_entry.is_none_or(|last| last < since) {
            untouched.push(UntouchedAccount {
                account: account.id,
                name: account.name.clone(),
                owner: account.owner.clone(),
                stage: account.stage.clone(),
                last_entry,
            });
        }
        let ticket = touch.open_ticket().and_then(time);
        if let (Some(ticket_at), Some(open)) = (ticket, open_deals.remove(&account.id)) {
            open_tickets.push(TicketOnOpenDeal {
                account: account.id,
                name: account.name.clone(),
                owner: account.owner.clone(),
                stage: account.stage.clone(),
                ticket_at,
                open,
            });
        }
    }
    untouched.sort_by(|a, b| (a.last_entry, &a.name).cmp(&(b.last_entry, &b.name)));
    open_tickets.sort_by(|a, b| (a.ticket_at, &a.name).cmp(&(b.ticket_at, &b.name)));
    AttentionReport {
        days: days.min(MAX_REPORT_DAYS),
        since,
        untouched,
        open_tickets,
    }
}

#[cfg(test)]
mod tests;
