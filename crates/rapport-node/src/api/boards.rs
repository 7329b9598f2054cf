//! The pipeline board, the dashboard and the reports (`docs/api.md`, "Pipeline and dashboard"
//! and "Reports").

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use rapport_model::{DocumentId, Team};
use serde::Deserialize;
use serde_json::Value;

use super::{ApiResult, Shared, given, team_views, with_replica};

pub(super) async fn pipeline(State(node): Shared) -> ApiResult<Json<Value>> {
    with_replica(&node, |replica| {
        let stages = replica.workspace()?.pipeline;
        let names: HashMap<DocumentId, String> = replica
            .accounts()?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        let deals = crate::boards::deals(replica)?;
        Ok(Json(crate::boards::pipeline(&stages, deals, &names)))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    days: Option<String>,
    segment: Option<String>,
}

pub(super) async fn report(
    State(node): Shared,
    Path(report): Path<String>,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Json<Value>> {
    with_replica(&node, move |replica| {
        let segment = given(query.segment);
        crate::reports::report(replica, &report, query.days.as_deref(), segment.as_deref())
            .map(Json)
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct DashboardQuery {
    /// Whose recent entries to show [default: the user's team].
    team: Option<String>,
}

pub(super) async fn dashboard(
    State(node): Shared,
    Query(query): Query<DashboardQuery>,
) -> ApiResult<Json<Value>> {
    let team = given(query.team).map(|t| t.parse::<Team>()).transpose()?;
    with_replica(&node, move |replica| {
        let accounts = replica.accounts()?;
        let open_alerts = replica.alerts(false)?.len();
        let weeks = crate::boards::activity(replica)?;
        let mut dashboard = crate::boards::dashboard(&accounts, weeks, open_alerts);
        team_views::add_to_dashboard(replica, team, &mut dashboard)?;
        Ok(Json(dashboard))
    })
    .await
}
