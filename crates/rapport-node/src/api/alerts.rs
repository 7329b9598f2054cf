//! The inbox: following accounts, alerts and their acknowledgements (`docs/api.md`, "Alerts").

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rapport_model::{DocumentId, account};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiResult, Shared, document_id, with_replica, written};
use crate::Node;

pub(super) async fn follow(
    State(node): Shared,
    Path(account): Path<String>,
) -> ApiResult<StatusCode> {
    set_following(node, &account, true).await
}

pub(super) async fn unfollow(
    State(node): Shared,
    Path(account): Path<String>,
) -> ApiResult<StatusCode> {
    set_following(node, &account, false).await
}

/// Makes this replica's user follow account `account`, or stop following it.
pub(super) async fn set_following(
    node: Arc<Node>,
    account: &str,
    following: bool,
) -> ApiResult<StatusCode> {
    let id = document_id(account)?;
    with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        replica.change_account(id, &edit, |tx| match following {
            true => account::follow(tx, &edit),
            false => account::unfollow(tx, &edit),
        })?;
        Ok(())
    })
    .await?;
    written(&node, &[id]);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct AlertsQuery {
    all: Option<bool>,
}

pub(super) async fn alerts(
    State(node): Shared,
    Query(query): Query<AlertsQuery>,
) -> ApiResult<Json<Value>> {
    with_replica(&node, move |replica| {
        let mut alerts = replica.alerts(query.all.unwrap_or(false))?;
        alerts.sort_by_key(|a| std::cmp::Reverse(a.at));
        let names: HashMap<DocumentId, String> = replica
            .accounts()?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        let listed: Vec<Value> = alerts
            .into_iter()
            .map(|alert| {
                let mut value = json!(alert);
                value["account_name"] = json!(names.get(&alert.account));
                value
            })
            .collect();
        Ok(Json(Value::Array(listed)))
    })
    .await
}

pub(super) async fn acknowledge(
    State(node): Shared,
    Path(alert): Path<String>,
) -> ApiResult<StatusCode> {
    let account = with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        let entry = replica.acknowledge(&edit, &alert)?;
        Ok(replica
            .alerts(true)?
            .into_iter()
            .find(|a| a.id == entry.to_string())
            .map(|a| a.account))
    })
    .await?;
    written(&node, &account.into_iter().collect::<Vec<_>>());
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn acknowledge_all(State(node): Shared) -> ApiResult<Json<Value>> {
    let (count, accounts) = with_replica(&node, move |replica| {
        let open: Vec<DocumentId> = replica.alerts(false)?.iter().map(|a| a.account).collect();
        let edit = replica.edit_now();
        let entries = replica.acknowledge_all(&edit)?;
        Ok((entries.len(), open))
    })
    .await?;
    let mut accounts = accounts;
    accounts.sort();
    accounts.dedup();
    written(&node, &accounts);
    Ok(Json(json!({ "acknowledged": count })))
}
