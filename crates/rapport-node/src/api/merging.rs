//! Likely duplicates and merging accounts and contacts (`docs/api.md`, "Duplicates and
//! merging").

use axum::Json;
use axum::extract::{Path, State};
use rapport_model::ContactId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Shared, document_id, with_replica, written};

pub(super) async fn duplicates(State(node): Shared) -> ApiResult<Json<Value>> {
    with_replica(&node, |replica| Ok(Json(json!(replica.duplicates()?)))).await
}

#[derive(Deserialize)]
pub(super) struct MergeBody {
    into: String,
}

/// Merges the account of the path into the account `into`.
pub(super) async fn merge_account(
    State(node): Shared,
    Path(account): Path<String>,
    Json(body): Json<MergeBody>,
) -> ApiResult<Json<Value>> {
    let other = document_id(&account)?;
    let keep = document_id(body.into.trim())?;
    let (other, keep, copied) = with_replica(&node, move |replica| {
        for id in [other, keep] {
            // Only accounts this replica lists or has merged: not the workspace, not a guess.
            replica.resolve_named_account(&id.to_string())?;
        }
        let edit = replica.edit_now();
        Ok(replica.merge_accounts(&edit, other, keep)?)
    })
    .await?;
    written(&node, &[other, keep]);
    Ok(Json(
        json!({ "merged": other, "into": keep, "copied": copied }),
    ))
}

/// Merges the contact of the path into the contact `into` of the same account.
pub(super) async fn merge_contact(
    State(node): Shared,
    Path(contact): Path<String>,
    Json(body): Json<MergeBody>,
) -> ApiResult<Json<Value>> {
    let parse = |text: &str| -> ApiResult<ContactId> {
        text.trim()
            .parse()
            .map_err(|_| ApiError::NotFound(format!("unknown contact '{text}'")))
    };
    let (other, keep) = (parse(&contact)?, parse(&body.into)?);
    let merge = with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        Ok(replica.merge_contacts(&edit, other, keep)?)
    })
    .await?;
    if merge.changed {
        written(&node, &[merge.account]);
    }
    Ok(Json(json!(merge)))
}
