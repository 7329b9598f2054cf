//! The workspace's settings: saved segments and custom field definitions (`docs/api.md`,
//! "Segments" and "Custom fields").

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rapport_model::custom_field::{FieldDefinition, FieldName, FieldType};
use rapport_model::segment::SegmentFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Shared, with_replica, written};

pub(super) async fn segments(State(node): Shared) -> ApiResult<Json<Value>> {
    with_replica(&node, |replica| Ok(Json(json!(replica.segments()?)))).await
}

#[derive(Deserialize)]
pub(super) struct SegmentBody {
    name: String,
    filter: SegmentFilter,
}

pub(super) async fn add_segment(
    State(node): Shared,
    Json(body): Json<SegmentBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (saved, workspace) = with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        let saved = replica.add_segment(&edit, &body.name, &body.filter)?;
        Ok((saved, replica.workspace_id()))
    })
    .await?;
    written(&node, &[workspace]);
    Ok((StatusCode::CREATED, Json(json!(saved))))
}

pub(super) async fn remove_segment(
    State(node): Shared,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let (removed, workspace) = with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        let removed = replica.remove_segment(&edit, &name)?;
        Ok((
            json!({ "name": name, "removed": removed }),
            replica.workspace_id(),
        ))
    })
    .await?;
    written(&node, &[workspace]);
    Ok(Json(removed))
}

pub(super) async fn field_definitions(State(node): Shared) -> ApiResult<Json<Value>> {
    with_replica(&node, |replica| {
        Ok(Json(json!(replica.field_definitions()?)))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct FieldBody {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    label: Option<String>,
    #[serde(default)]
    options: Vec<String>,
}

pub(super) async fn define_field(
    State(node): Shared,
    Json(body): Json<FieldBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name: FieldName = body.name.trim().parse()?;
    let kind: FieldType = body.kind.trim().parse()?;
    let definition = FieldDefinition::new(name, kind, body.label.as_deref(), &body.options)?;
    let answer = json!(definition);
    let workspace = with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        replica.define_field(&edit, &definition)?;
        Ok(replica.workspace_id())
    })
    .await?;
    written(&node, &[workspace]);
    Ok((StatusCode::CREATED, Json(answer)))
}

pub(super) async fn remove_field(
    State(node): Shared,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let field: FieldName = name
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no custom field named '{name}'")))?;
    let workspace = with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        replica.remove_field(&edit, &field)?;
        Ok(replica.workspace_id())
    })
    .await?;
    written(&node, &[workspace]);
    Ok(StatusCode::NO_CONTENT)
}
