//! What each team's view of the account list and dashboard is built from: every account's
//! summary beside its open deals and its last touches (`deals`, `touches`), and a team's latest
//! timeline entries (`entry_times`). Which of these a team's view shows is the caller's choice
//! (`docs/api.md`, "Team views").

use std::collections::HashMap;

use rapport_model::account::{self, AccountSummary, EntryView};
use rapport_model::{DocumentId, EntryId, Team};
use redb::{ReadableDatabase, ReadableTable};
use serde::Serialize;

use crate::error::{StorageContext, StoreError};
use crate::replica::Replica;
use crate::reports::{DealCount, Outcome};
use crate::tables::ENTRY_TIMES;

const READING: &str = "reading the team views";
/// The most entries [`Replica::recent_entries`] returns.
pub const MAX_RECENT_ENTRIES: usize = 100;

/// One account with what the teams' views show of it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TeamAccount {
    /// The account list's row. In JSON its fields sit beside the others.
    #[serde(flatten)]
    pub summary: AccountSummary,
    /// Its open deals (not won or lost) and their value per currency.
    pub open_deals: DealCount,
    /// Its latest timeline entry.
    pub last_touch: Option<jiff::Timestamp>,
    /// When its open ticket was logged, if it has one (a ticket with no support entry since).
    pub open_ticket: Option<jiff::Timestamp>,
    /// Support's latest entry on it that is not a ticket.
    pub last_support_touch: Option<jiff::Timestamp>,
}

/// A timeline entry with the account it is on.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecentEntry {
    /// The account.
    pub account: DocumentId,
    /// The entry. In JSON its fields sit beside `account`.
    #[serde(flatten)]
    pub entry: EntryView,
}

impl Replica {
    /// Every account, by name, with its open deals and last touches: three table scans, no
    /// document loaded.
    pub fn team_accounts(&self) -> Result<Vec<TeamAccount>, StoreError> {
        let mut deals: HashMap<DocumentId, DealCount> = HashMap::new();
        for row in self.deals()? {
            if Outcome::of(&row.deal.stage) == Outcome::Open {
                deals.entry(row.account).or_default().add(&row.deal);
            }
        }
        let touches = self.touches()?;
        let at =
            |millis: Option<i64>| millis.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
        Ok(self
            .accounts()?
            .into_iter()
            .map(|summary| {
                let touch = touches.get(&summary.id).copied().unwrap_or_default();
                TeamAccount {
                    open_deals: deals.remove(&summary.id).unwrap_or_default(),
                    last_touch: at(touch.last_entry),
                    open_ticket: at(touch.open_ticket()),
                    last_support_touch: at(touch.last_support),
                    summary,
                }
            })
            .collect())
    }

    /// The latest `limit` (at most [`MAX_RECENT_ENTRIES`]) timeline entries written by `team`,
    /// newest first: read from the end of `entry_times`, loading only the accounts they are on.
    pub fn recent_entries(
        &mut self,
        team: Team,
        limit: usize,
    ) -> Result<Vec<RecentEntry>, StoreError> {
        let limit = limit.min(MAX_RECENT_ENTRIES);
        let mut found: Vec<(DocumentId, EntryId)> = Vec::new();
        {
            let txn = self.db.begin_read().doing(READING)?;
            let table = txn.open_table(ENTRY_TIMES).doing(READING)?;
            for row in table.iter().doing(READING)?.rev() {
                if found.len() >= limit {
                    break;
                }
                let (key, value) = row.doing(READING)?;
                let (_, account, entry) = key.value();
                if value.value().0 != team.as_str() {
                    continue;
                }
                if let (Ok(account), Ok(entry)) = (account.parse(), entry.parse()) {
                    found.push((account, entry));
                }
            }
        }
        let mut out = Vec::new();
        for (account, entry) in found {
            let doc = self.document(account)?;
            // An entry that no longer reads is left out, as the index leaves it out.
            if let Ok(Some(entry)) = account::read_entry(doc, entry) {
                out.push(RecentEntry { account, entry });
            }
        }
        Ok(out)
    }
}
