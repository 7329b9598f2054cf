//! The JSON API over the replica (`docs/api.md`). Every handler works on the replica on a
//! blocking thread and answers from it; writes hand their documents to the live link.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use rapport_model::account::{self, NewAccount, NewContact, NewDeal, NewEntry, NewTask};
use rapport_model::custom_field;
use rapport_model::{
    AccountAssignment, AlertTarget, ContactAssignment, ContactId, Currency, DealId, DocumentId,
    EntryId, EntryKind, InvalidInput, Money, PipelineStage, Stage, TaskId, Team, UserName,
    check_email, parse_date, reminder,
};
use rapport_store::{Replica, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::Node;
use crate::events::NodeEvent;

mod alerts;
mod boards;
mod merging;
mod settings;
mod team_views;

use alerts::{acknowledge, acknowledge_all, alerts, follow, unfollow};
use boards::{dashboard, pipeline, report};
use merging::{duplicates, merge_account, merge_contact};
use settings::{
    add_segment, define_field, field_definitions, remove_field, remove_segment, segments,
};

type Shared = State<Arc<Node>>;

pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/me", get(me))
        .route("/status", get(status))
        .route("/events", get(events))
        .route("/accounts", get(accounts).post(create_account))
        .route("/accounts/{account}", get(account_view))
        .route("/accounts/{account}/history", get(account_history))
        .route("/accounts/{account}/fields", post(set_fields))
        .route("/accounts/{account}/merge", post(merge_account))
        .route("/accounts/{account}/follow", post(follow))
        .route("/accounts/{account}/unfollow", post(unfollow))
        .route("/duplicates", get(duplicates))
        .route("/contacts/{contact}/merge", post(merge_contact))
        .route("/accounts/{account}/contacts", post(add_contact))
        .route("/accounts/{account}/entries", post(add_entry))
        .route("/accounts/{account}/deals", post(add_deal))
        .route("/accounts/{account}/deals/{deal}/stage", post(move_deal))
        .route("/accounts/{account}/tasks", post(add_task))
        .route("/accounts/{account}/tasks/{task}/done", post(complete_task))
        .route("/alerts", get(alerts))
        .route("/reminders", get(team_views::reminders))
        .route("/alerts/ack", post(acknowledge_all))
        .route("/alerts/{alert}/ack", post(acknowledge))
        .route("/pipeline", get(pipeline))
        .route("/dashboard", get(dashboard))
        .route("/reports/{report}", get(report))
        .route("/segments", get(segments).post(add_segment))
        .route("/segments/{name}/remove", post(remove_segment))
        .route("/fields", get(field_definitions).post(define_field))
        .route("/fields/{name}", delete(remove_field))
        .fallback(|| async { ApiError::NotFound("no such API path".into()) })
}

/// An API failure: an HTTP status and one sentence.
#[derive(Debug)]
pub(crate) enum ApiError {
    BadInput(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    Failed(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadInput(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m),
            ApiError::Failed(m) => {
                tracing::error!(error = %m, "API call failed");
                (StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        match error {
            StoreError::UnknownDocument { .. }
            | StoreError::UnknownSegment { .. }
            | StoreError::UnknownField { .. }
            | StoreError::UnknownAccount { .. }
            | StoreError::UnknownItem { .. } => ApiError::NotFound(message),
            StoreError::AmbiguousAccount { .. }
            | StoreError::AmbiguousItem { .. }
            | StoreError::CannotMerge { .. }
            | StoreError::CannotMergeContacts { .. }
            | StoreError::Segment(_)
            | StoreError::Invalid(_)
            | StoreError::Edit { .. } => ApiError::BadInput(message),
            StoreError::DuplicateSegment { .. } | StoreError::DuplicateField { .. } => {
                ApiError::Conflict(message)
            }
            StoreError::Shape { .. } => ApiError::Conflict(message),
            StoreError::ReadOnly { .. } => ApiError::Forbidden(message),
            _ => ApiError::Failed(message),
        }
    }
}

impl From<InvalidInput> for ApiError {
    fn from(error: InvalidInput) -> Self {
        ApiError::BadInput(error.to_string())
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs `work` on the replica on a blocking thread.
async fn with_replica<T: Send + 'static>(
    node: &Arc<Node>,
    work: impl FnOnce(&mut Replica) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let shared = node.replica.clone();
    tokio::task::spawn_blocking(move || {
        let mut replica = shared
            .lock()
            .map_err(|_| ApiError::Failed("the replica was lost in a failed task".into()))?;
        work(&mut replica)
    })
    .await
    .map_err(|e| ApiError::Failed(format!("the replica task failed: {e}")))?
}

/// After a write: the link syncs the documents, other pages hear of them.
fn written(node: &Node, ids: &[DocumentId]) {
    for id in ids {
        let _ = node.local.send(*id);
    }
    node.events.changed(ids.to_vec());
}

fn document_id(text: &str) -> ApiResult<DocumentId> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("unknown account '{text}'")))
}

fn required(what: &str, text: &str) -> ApiResult<()> {
    if text.trim().is_empty() {
        return Err(ApiError::BadInput(format!("{what} must not be empty")));
    }
    Ok(())
}

/// An optional text field: absent, null and blank are all "not given".
fn given(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn me(State(node): Shared) -> ApiResult<Json<Value>> {
    with_replica(&node, |replica| {
        let workspace = replica.workspace()?;
        let user = replica.user().clone();
        let role = workspace
            .members
            .iter()
            .find(|m| m.user == user)
            .map(|m| m.role.as_str());
        Ok(Json(json!({
            "user": user.as_str(),
            "team": replica.team(),
            "role": role,
            "workspace": workspace,
        })))
    })
    .await
}

async fn status(State(node): Shared) -> ApiResult<Json<Value>> {
    let status = node
        .events
        .status()
        .ok_or_else(|| ApiError::Failed("the status was lost".into()))?;
    Ok(Json(json!(status)))
}

/// Server-sent events: the current status first, then every event as it happens.
async fn events(State(node): Shared) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = node.events.status().map(NodeEvent::Status);
    let receiver = node.events.subscribe();
    let later = stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                // A page that fell behind refetches on the next event it gets.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let all = futures_util::StreamExt::map(
        futures_util::StreamExt::chain(stream::iter(first), later),
        |event| Ok(sse_event(&event)),
    );
    Sse::new(all).keep_alive(KeepAlive::default())
}

fn sse_event(event: &NodeEvent) -> Event {
    let (name, data) = match event {
        NodeEvent::Status(status) => ("status", json!(status)),
        NodeEvent::Changed {
            accounts,
            workspace,
        } => (
            "changed",
            json!({ "accounts": accounts, "workspace": workspace }),
        ),
        NodeEvent::Alert(alert, account_name) => {
            let mut data = json!(alert);
            data["account_name"] = json!(account_name);
            ("alert", data)
        }
    };
    Event::default().event(name).data(data.to_string())
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    stage: Option<String>,
    tier: Option<String>,
    owner: Option<String>,
    segment: Option<String>,
    sort: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
    /// A team's view: rows with its columns' data, and its filters below.
    team: Option<String>,
    /// With `team`: only accounts with an open ticket.
    open_ticket: Option<bool>,
    /// With `team`: only accounts with an open deal.
    open_deals: Option<bool>,
}

async fn accounts(State(node): Shared, Query(query): Query<ListQuery>) -> ApiResult<Json<Value>> {
    let by_score = match query.sort.as_deref() {
        None | Some("" | "name") => false,
        Some("score") => true,
        Some(other) => {
            return Err(ApiError::BadInput(format!(
                "invalid sort '{other}': expected name or score"
            )));
        }
    };
    with_replica(&node, move |replica| {
        let now = jiff::Timestamp::now();
        let segment = given(query.segment)
            .map(|name| replica.segment(&name))
            .transpose()?;
        let found: Option<HashSet<DocumentId>> = match given(query.q) {
            Some(q) => Some(replica.search(&q)?.into_iter().map(|a| a.id).collect()),
            None => None,
        };
        let (stage, tier, owner) = (given(query.stage), given(query.tier), given(query.owner));
        let now_ms = now.as_millisecond();
        let mut matching: Vec<_> = replica
            .scored_accounts(now)?
            .into_iter()
            .filter(|a| found.as_ref().is_none_or(|ids| ids.contains(&a.summary.id)))
            .filter(|a| segment.as_ref().is_none_or(|s| s.filter.matches(a, now_ms)))
            .filter(|a| stage.is_none() || a.summary.stage == stage)
            .filter(|a| tier.is_none() || a.summary.tier == tier)
            .filter(|a| owner.is_none() || a.summary.owner == owner)
            .collect();
        if by_score {
            matching.sort_by_key(|a| std::cmp::Reverse(a.value.score));
        }
        let offset = query.offset.unwrap_or(0);
        let limit = query.limit.unwrap_or(50).clamp(1, 500);
        if let Some(team) = given(query.team) {
            let team: Team = team.parse()?;
            let filters = team_views::TeamFilters {
                open_ticket: query.open_ticket.unwrap_or(false),
                open_deals: query.open_deals.unwrap_or(false),
            };
            return team_views::page(replica, team, &matching, &filters, offset, limit);
        }
        let page: Vec<_> = matching.iter().skip(offset).take(limit).collect();
        Ok(Json(json!({
            "total": matching.len(),
            "offset": offset,
            "accounts": page,
        })))
    })
    .await
}

async fn account_view(State(node): Shared, Path(account): Path<String>) -> ApiResult<Json<Value>> {
    let id = document_id(&account)?;
    with_replica(&node, move |replica| {
        // A merged account shows as the account that stands for it.
        let id = replica.survivor_of(id)?;
        let account = replica.account(id)?;
        let custom = custom_field::present(&replica.field_definitions()?, &account.custom);
        let mut view = json!(account);
        let value = replica.scored_account(id, jiff::Timestamp::now())?;
        view["value"] = json!(value.map(|scored| scored.value));
        view["custom_fields"] = json!(custom);
        Ok(Json(view))
    })
    .await
}

#[derive(Deserialize)]
struct HistoryQuery {
    limit: Option<usize>,
}

async fn account_history(
    State(node): Shared,
    Path(account): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let id = document_id(&account)?;
    with_replica(&node, move |replica| {
        Ok(Json(json!(replica.history(id, query.limit)?)))
    })
    .await
}

#[derive(Deserialize)]
struct AccountBody {
    name: String,
    domain: Option<String>,
    industry: Option<String>,
    tier: Option<String>,
    stage: Option<String>,
    owner: Option<String>,
    phone: Option<String>,
    website: Option<String>,
}

async fn create_account(
    State(node): Shared,
    Json(body): Json<AccountBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    required("account name", &body.name)?;
    let stage = given(body.stage).map(|s| s.parse::<Stage>()).transpose()?;
    let owner = given(body.owner)
        .map(|o| o.parse::<UserName>())
        .transpose()?;
    let new = NewAccount {
        name: body.name.trim().to_owned(),
        domain: given(body.domain).map(|d| d.to_ascii_lowercase()),
        tier: given(body.tier),
        stage,
        owner,
    };
    // Fields the creation form may carry beyond what a new account starts with.
    let extra: Vec<AccountAssignment> = [
        ("industry", body.industry),
        ("phone", body.phone),
        ("website", body.website),
    ]
    .into_iter()
    .filter_map(|(field, value)| given(value).map(|v| format!("{field}={v}")))
    .map(|text| AccountAssignment::parse(&text))
    .collect::<Result<_, _>>()?;
    let (id, workspace) = with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        let id = replica.create_account(&edit, &new)?;
        if !extra.is_empty() {
            replica.change_account(id, &edit, |tx| account::set(tx, &extra))?;
        }
        Ok((id, replica.workspace_id()))
    })
    .await?;
    written(&node, &[id, workspace]);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "url": id.url() })),
    ))
}

#[derive(Deserialize)]
struct FieldsBody {
    fields: BTreeMap<String, String>,
}

async fn set_fields(
    State(node): Shared,
    Path(account): Path<String>,
    Json(body): Json<FieldsBody>,
) -> ApiResult<StatusCode> {
    let id = document_id(&account)?;
    if body.fields.is_empty() {
        return Err(ApiError::BadInput("no fields to set".into()));
    }
    let mut own = Vec::new();
    let mut contacts: HashMap<ContactId, Vec<ContactAssignment>> = HashMap::new();
    for (field, value) in &body.fields {
        match field.strip_prefix("contacts.") {
            Some(rest) => {
                let (contact, name) = rest.split_once('.').ok_or_else(|| {
                    ApiError::BadInput(format!("'{field}' is not contacts.CONTACT.FIELD"))
                })?;
                let contact: ContactId = contact
                    .parse()
                    .map_err(|_| ApiError::BadInput(format!("unknown contact '{contact}'")))?;
                let assignment = ContactAssignment::parse(&format!("{name}={value}"))?;
                contacts.entry(contact).or_default().push(assignment);
            }
            None => own.push(AccountAssignment::parse(&format!("{field}={value}"))?),
        }
    }
    with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        if !own.is_empty() {
            replica.set_account_fields(id, &edit, &own)?;
        }
        for (contact, assignments) in contacts {
            replica.change_account(id, &edit, |tx| {
                account::set_contact(tx, contact, &assignments)
            })?;
        }
        Ok(())
    })
    .await?;
    written(&node, &[id]);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ContactBody {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    title: Option<String>,
}

async fn add_contact(
    State(node): Shared,
    Path(account): Path<String>,
    Json(body): Json<ContactBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = document_id(&account)?;
    required("contact name", &body.name)?;
    let new = NewContact {
        name: body.name.trim().to_owned(),
        email: given(body.email).map(|e| check_email(&e)).transpose()?,
        phone: given(body.phone),
        title: given(body.title),
    };
    let contact = ContactId::new();
    with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        replica.change_account(id, &edit, |tx| {
            account::add_contact(tx, &edit, contact, &new)
        })?;
        Ok(())
    })
    .await?;
    written(&node, &[id]);
    Ok((StatusCode::CREATED, Json(json!({ "id": contact }))))
}

#[derive(Deserialize)]
struct EntryBody {
    kind: Option<String>,
    text: String,
    #[serde(default)]
    alert: Vec<String>,
    /// A task for the author to follow the entry up: `3d` or `YYYY-MM-DD`.
    follow_up: Option<String>,
}

async fn add_entry(
    State(node): Shared,
    Path(account): Path<String>,
    Json(body): Json<EntryBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = document_id(&account)?;
    let kind = match given(body.kind) {
        Some(kind) => kind.parse::<EntryKind>()?,
        None => EntryKind::Note,
    };
    required(&format!("{kind} text"), &body.text)?;
    let alert = body
        .alert
        .iter()
        .map(|a| a.trim().parse::<AlertTarget>())
        .collect::<Result<Vec<_>, _>>()?;
    // Read before anything is written, so that a bad follow-up writes nothing.
    let follow_up = given(body.follow_up)
        .map(|text| reminder::follow_up_due(&text, rapport_store::today()))
        .transpose()?;
    let title = reminder::follow_up_title(&body.text);
    let new = NewEntry {
        kind,
        text: body.text,
        alert,
    };
    let (entry, task) = (EntryId::new(), TaskId::new());
    with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        let new_task = follow_up.map(|due| NewTask {
            title,
            assignee: Some(edit.user.clone()),
            due: Some(due),
        });
        replica.change_account(id, &edit, |tx| {
            let mut touched = account::add_entry(tx, &edit, entry, &new)?;
            if let Some(new_task) = &new_task {
                touched.merge(account::add_task(tx, &edit, task, new_task)?);
            }
            Ok(touched)
        })?;
        Ok(())
    })
    .await?;
    written(&node, &[id]);
    let follow_up = follow_up.map(|due| json!({ "id": task, "due": due }));
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": entry, "follow_up": follow_up })),
    ))
}

#[derive(Deserialize)]
struct DealBody {
    title: String,
    amount: i64,
    currency: Option<String>,
    stage: Option<String>,
    close: Option<String>,
}

async fn add_deal(
    State(node): Shared,
    Path(account): Path<String>,
    Json(body): Json<DealBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = document_id(&account)?;
    required("deal title", &body.title)?;
    if body.amount < 0 {
        return Err(ApiError::BadInput(
            "a deal's amount cannot be negative".into(),
        ));
    }
    let currency = match given(body.currency) {
        Some(code) => code.parse::<Currency>()?,
        None => Currency::DEFAULT,
    };
    let close = given(body.close).map(|c| parse_date(&c)).transpose()?;
    let deal = DealId::new();
    let (title, amount, stage) = (body.title.trim().to_owned(), body.amount, given(body.stage));
    with_replica(&node, move |replica| {
        let stage = pipeline_stage(replica, stage.as_deref())?;
        let new = NewDeal {
            title,
            amount: Money {
                minor: amount,
                currency,
            },
            stage,
            close,
        };
        let edit = replica.edit_now();
        replica.change_account(id, &edit, |tx| account::add_deal(tx, &edit, deal, &new))?;
        Ok(())
    })
    .await?;
    written(&node, &[id]);
    Ok((StatusCode::CREATED, Json(json!({ "id": deal }))))
}

#[derive(Deserialize)]
struct StageBody {
    stage: String,
}

async fn move_deal(
    State(node): Shared,
    Path((account, deal)): Path<(String, String)>,
    Json(body): Json<StageBody>,
) -> ApiResult<StatusCode> {
    let id = document_id(&account)?;
    let deal: DealId = deal
        .parse()
        .map_err(|_| ApiError::NotFound(format!("unknown deal '{deal}'")))?;
    with_replica(&node, move |replica| {
        let stage = pipeline_stage(replica, Some(&body.stage))?;
        let edit = replica.edit_now();
        replica.change_account(id, &edit, |tx| account::move_deal(tx, deal, &stage))?;
        Ok(())
    })
    .await?;
    written(&node, &[id]);
    Ok(StatusCode::NO_CONTENT)
}

/// A stage of the workspace's pipeline: the one named, or the first.
fn pipeline_stage(replica: &mut Replica, wanted: Option<&str>) -> ApiResult<PipelineStage> {
    let pipeline = replica.workspace()?.pipeline;
    let Some(wanted) = wanted else {
        return pipeline
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Conflict("the workspace has no pipeline stages".into()));
    };
    pipeline
        .iter()
        .find(|stage| stage.as_str() == wanted)
        .cloned()
        .ok_or_else(|| {
            let known: Vec<&str> = pipeline.iter().map(PipelineStage::as_str).collect();
            ApiError::BadInput(format!(
                "invalid deal stage '{wanted}': expected one of {}",
                known.join(", ")
            ))
        })
}

#[derive(Deserialize)]
struct TaskBody {
    title: String,
    assignee: Option<String>,
    due: Option<String>,
}

async fn add_task(
    State(node): Shared,
    Path(account): Path<String>,
    Json(body): Json<TaskBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = document_id(&account)?;
    required("task title", &body.title)?;
    let new = NewTask {
        title: body.title.trim().to_owned(),
        assignee: given(body.assignee)
            .map(|a| a.trim_start_matches('@').parse::<UserName>())
            .transpose()?,
        due: given(body.due).map(|d| parse_date(&d)).transpose()?,
    };
    let task = TaskId::new();
    with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        replica.change_account(id, &edit, |tx| account::add_task(tx, &edit, task, &new))?;
        Ok(())
    })
    .await?;
    written(&node, &[id]);
    Ok((StatusCode::CREATED, Json(json!({ "id": task }))))
}

async fn complete_task(
    State(node): Shared,
    Path((account, task)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = document_id(&account)?;
    let task: TaskId = task
        .parse()
        .map_err(|_| ApiError::NotFound(format!("unknown task '{task}'")))?;
    with_replica(&node, move |replica| {
        let edit = replica.edit_now();
        replica.change_account(id, &edit, |tx| account::complete_task(tx, task, true))?;
        Ok(())
    })
    .await?;
    written(&node, &[id]);
    Ok(StatusCode::NO_CONTENT)
}
