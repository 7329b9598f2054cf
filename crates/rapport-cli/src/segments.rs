//! `rapport segment` and `rapport account list`: saved filters, and the account list with value
//! scores, filtered by a segment or by conditions given on the command line.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use rapport_model::segment::{ScoredAccount, SegmentFilter};
use rapport_model::{DocumentId, Team};
use rapport_store::{Replica, TeamAccount};
use serde_json::json;

use crate::cli::{AccountOrder, SegmentCommand, SegmentFilterArgs};
use crate::output::Output;

/// What `rapport account list` was asked for.
pub struct ListRequest {
    pub query: Option<String>,
    /// Show that team's columns ([`Replica::team_accounts`]) for the accounts listed.
    pub team: Option<Team>,
    pub segment: Option<String>,
    pub sort: AccountOrder,
    pub filter: SegmentFilterArgs,
}

pub fn segment(replica: &mut Replica, command: SegmentCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        SegmentCommand::Add { name, filter } => {
            let edit = replica.edit_now();
            let saved = replica
                .add_segment(&edit, &name, &filter.into_filter())
                .with_context(|| format!("cannot save segment '{name}'"))?;
            out.done(
                &format!("saved segment {}", saved.name),
                json!({ "id": saved.id, "name": saved.name, "filter": saved.filter }),
            )
        }
        SegmentCommand::List => out.segments(&replica.segments()?),
        SegmentCommand::Remove { name } => {
            let edit = replica.edit_now();
            let removed = replica.remove_segment(&edit, &name)?;
            out.done(
                &format!("removed segment {name}"),
                json!({ "name": name, "removed": removed }),
            )
        }
    }
}

pub fn list(replica: &mut Replica, request: ListRequest, out: &Output) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    // The segment is looked up first, so an unknown one fails before any work.
    let segment = match &request.segment {
        Some(name) => Some(replica.segment(name)?),
        None => None,
    };
    let conditions = request.filter.into_filter();
    if conditions != SegmentFilter::default() {
        conditions.check()?;
    }
    let found: Option<HashSet<DocumentId>> = match &request.query {
        Some(query) => Some(replica.search(query)?.into_iter().map(|a| a.id).collect()),
        None => None,
    };
    let now_ms = now.as_millisecond();
    let mut accounts: Vec<ScoredAccount> = replica
        .scored_accounts(now)?
        .into_iter()
        .filter(|account| {
            found
                .as_ref()
                .is_none_or(|ids| ids.contains(&account.summary.id))
        })
        .filter(|account| {
            segment
                .as_ref()
                .is_none_or(|s| s.filter.matches(account, now_ms))
        })
        .filter(|account| conditions.matches(account, now_ms))
        .collect();
    if request.sort == AccountOrder::Score {
        // A stable sort keeps the list's name order among equal scores.
        accounts.sort_by_key(|a| std::cmp::Reverse(a.value.score));
    }
    let Some(team) = request.team else {
        return out.scored_accounts(&accounts);
    };
    let mut rows: HashMap<DocumentId, TeamAccount> = replica
        .team_accounts()?
        .into_iter()
        .map(|row| (row.summary.id, row))
        .collect();
    let rows: Vec<TeamAccount> = accounts
        .iter()
        .filter_map(|account| rows.remove(&account.summary.id))
        .collect();
    out.team_accounts(team, &rows)
}

impl SegmentFilterArgs {
    /// The conditions, as the model keeps them.
    pub fn into_filter(self) -> SegmentFilter {
        SegmentFilter {
            stage: self.stage,
            tier: self.tier,
            owner: self.owner.map(|owner| owner.as_str().to_owned()),
            tag: self.tag,
            last_team: self.last_team,
            value_tier: self.value_tier,
            min_score: self.min_score,
            max_score: self.max_score,
            untouched_days: self.untouched_days,
            open_deal: match (self.open_deal, self.no_open_deal) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            custom: self.custom.into_iter().collect(),
        }
    }
}
