//! The inbox's due tasks and the teams' views of the account list and the dashboard
//! (`docs/api.md`, "Reminders" and "Team views"). Which columns a team sees is the page's
//! choice; these answers carry what every team's columns need, from derived tables.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use rapport_model::segment::ScoredAccount;
use rapport_model::value::AccountValue;
use rapport_model::{DocumentId, Team};
use rapport_store::{Replica, TeamAccount};
use serde_json::{Value, json};

use super::{ApiResult, Shared, with_replica};

/// How many of a team's latest timeline entries the dashboard shows.
const RECENT_ENTRIES: usize = 10;

/// `GET /api/reminders`: my open tasks due today or overdue, the most overdue first.
pub(super) async fn reminders(State(node): Shared) -> ApiResult<Json<Value>> {
    with_replica(&node, |replica| {
        Ok(Json(json!(replica.reminders(rapport_store::today())?)))
    })
    .await
}

/// A team view's own filters.
pub(super) struct TeamFilters {
    /// Only accounts with an open ticket (support).
    pub(super) open_ticket: bool,
    /// Only accounts with an open deal (sales).
    pub(super) open_deals: bool,
}

/// One page of the accounts `matching` (already searched, filtered and ordered), as `team`'s
/// view rows, each with its value score.
pub(super) fn page(
    replica: &Replica,
    team: Team,
    matching: &[ScoredAccount],
    filters: &TeamFilters,
    offset: usize,
    limit: usize,
) -> ApiResult<Json<Value>> {
    let mut facts: HashMap<DocumentId, TeamAccount> = replica
        .team_accounts()?
        .into_iter()
        .map(|row| (row.summary.id, row))
        .collect();
    let rows: Vec<(TeamAccount, &AccountValue)> = matching
        .iter()
        .filter_map(|a| Some((facts.remove(&a.summary.id)?, &a.value)))
        .filter(|(row, _)| !filters.open_ticket || row.open_ticket.is_some())
        .filter(|(row, _)| !filters.open_deals || row.open_deals.deals > 0)
        .collect();
    let page: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(row, value)| {
            let mut row = json!(row);
            row["value"] = json!(value);
            row
        })
        .collect();
    Ok(Json(json!({
        "team": team,
        "total": rows.len(),
        "offset": offset,
        "accounts": page,
    })))
}

/// Adds `team`'s view to the dashboard: the team (the user's own when none is asked for) and
/// its latest timeline entries, with their accounts' names.
pub(super) fn add_to_dashboard(
    replica: &mut Replica,
    team: Option<Team>,
    dashboard: &mut Value,
) -> ApiResult<()> {
    let team = team.unwrap_or(replica.team());
    let recent = replica.recent_entries(team, RECENT_ENTRIES)?;
    let names: HashMap<DocumentId, String> = replica
        .accounts()?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let recent: Vec<Value> = recent
        .into_iter()
        .map(|row| {
            let mut value = json!(row);
            value["account_name"] = json!(names.get(&row.account));
            value
        })
        .collect();
    dashboard["team"] = json!(team);
    dashboard["recent"] = Value::Array(recent);
    Ok(())
}
