//! Membership: inviting members (creating a workspace on its first invitation) and revoking
//! their tokens; and each workspace's webhook. The same operations run in-process on a stopped
//! relay's store and, through the loopback admin endpoint, inside a running relay.

use automerge::Automerge;
use rapport_model::workspace::{self, Member as WorkspaceMember};
use rapport_model::{DocumentId, Edit, EditError, Role, Team, UserName};
use rapport_proto::{AdminRequest, AdminResponse, WebhookInfo, WebhookUrl};
use rapport_store::{StoreError, WebhookRecord};

use crate::auth::Token;
use crate::hub::{Event, Hubs};
use crate::webhooks::{self, WebhookError};

/// The longest workspace name.
const MAX_WORKSPACE_NAME: usize = 100;

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The workspace name is empty, too long or has control characters.
    #[error("invalid workspace name '{name}': use 1 to {MAX_WORKSPACE_NAME} printable characters")]
    InvalidWorkspaceName {
        /// The name given.
        name: String,
    },
    /// A field of the request does not parse.
    #[error("invalid {field} '{value}'")]
    InvalidField {
        /// Which field.
        field: &'static str,
        /// What was given.
        value: String,
    },
    /// No workspace has this name.
    #[error("unknown workspace '{name}'")]
    UnknownWorkspace {
        /// The name given.
        name: String,
    },
    /// The workspace document does not take the edit.
    #[error("workspace document: {0}")]
    Edit(#[from] EditError),
    /// A webhook setting is refused.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new member's token.
#[derive(Debug)]
pub struct Invitation {
    /// The token text, shown once.
    pub token: String,
    /// The workspace document's id.
    pub workspace: DocumentId,
    /// Whether this invitation created the workspace.
    pub created: bool,
}

/// Adds `user` to workspace `name` (creating it if new) and returns their new token.
pub fn invite(
    hubs: &Hubs,
    name: &str,
    user: UserName,
    team: Team,
    role: Role,
) -> Result<Invitation, AdminError> {
    check_name(name)?;
    let store = hubs.store();
    let existing = store.workspace_named(name)?;
    let (workspace, created) = match existing {
        Some(id) => (id, false),
        None => (DocumentId::random(), true),
    };
    let member = WorkspaceMember {
        user: user.clone(),
        team,
        role,
    };
    let edit = Edit::now(user.clone(), team);
    let hub = hubs.hub(workspace)?;
    let written = hub.update(workspace, created, |doc: &mut Automerge| {
        doc.transact_with(
            |_| edit.commit_options(),
            |tx| {
                if created {
                    workspace::create(tx, &edit, name)?;
                }
                workspace::put_member(tx, &member)
            },
        )
        .map(drop)
        .map_err(|failure| failure.error)
    })?;
    match written {
        Some(result) => result?,
        None => return Err(AdminError::UnknownWorkspace { name: name.into() }),
    }
    if created {
        store.put_workspace(name, workspace)?;
    }
    let token = Token::generate();
    store.put_token(token.id(), &token.record(workspace, &user, team, role))?;
    hub.announce(Event::Changed {
        id: workspace,
        origin: 0,
    });
    Ok(Invitation {
        token: token.reveal(),
        workspace,
        created,
    })
}

/// Revokes every token of `user` in workspace `name`, closing their open connections; returns
/// how many tokens there were.
pub fn revoke(hubs: &Hubs, name: &str, user: &UserName) -> Result<usize, AdminError> {
    let workspace = hubs
        .store()
        .workspace_named(name)?
        .ok_or_else(|| AdminError::UnknownWorkspace { name: name.into() })?;
    let token_ids = hubs.store().revoke_user(workspace, user.as_str())?;
    let count = token_ids.len();
    if let Some(hub) = hubs.live(workspace) {
        hub.announce(Event::Revoked { token_ids });
    }
    Ok(count)
}

/// Gives workspace `name` a webhook at `url` signed with `secret` (replacing the one it had),
/// after checking both; returns it as [`show_webhook`] does.
pub fn set_webhook(
    hubs: &Hubs,
    name: &str,
    url: &str,
    secret: &str,
) -> Result<WebhookInfo, AdminError> {
    webhooks::check_url(url)?;
    webhooks::check_secret(secret)?;
    let workspace = workspace_id(hubs, name)?;
    let record = WebhookRecord {
        workspace_name: name.to_owned(),
        url: url.to_owned(),
        secret: secret.to_owned(),
    };
    hubs.store().set_webhook(workspace, &record)?;
    // After the store: a hub opened meanwhile read the new setting, one open before is told.
    if let Some(hub) = hubs.live(workspace) {
        hub.alerts().set(Some(name.to_owned()));
    }
    tracing::info!(
        workspace = name,
        endpoint = rapport_proto::url_origin(url),
        "webhook set"
    );
    show_webhook(hubs, name)?.ok_or_else(|| AdminError::UnknownWorkspace { name: name.into() })
}

/// Removes the webhook of workspace `name` and its undelivered events; `None` when it had
/// none, else how many events were dropped.
pub fn clear_webhook(hubs: &Hubs, name: &str) -> Result<Option<usize>, AdminError> {
    let workspace = workspace_id(hubs, name)?;
    let cleared = hubs.store().clear_webhook(workspace)?;
    if let Some(hub) = hubs.live(workspace) {
        hub.alerts().set(None);
    }
    if cleared.is_some() {
        tracing::info!(workspace = name, "webhook cleared");
    }
    Ok(cleared)
}

/// The webhook of workspace `name`, without its secret (a fingerprint of it instead).
pub fn show_webhook(hubs: &Hubs, name: &str) -> Result<Option<WebhookInfo>, AdminError> {
    let workspace = workspace_id(hubs, name)?;
    let Some(record) = hubs.store().webhook(workspace)? else {
        return Ok(None);
    };
    Ok(Some(WebhookInfo {
        secret_sha256: webhooks::secret_fingerprint(&record.secret),
        url: WebhookUrl(record.url),
        pending: hubs.store().outbox_len(workspace)?,
    }))
}

fn workspace_id(hubs: &Hubs, name: &str) -> Result<DocumentId, AdminError> {
    hubs.store()
        .workspace_named(name)?
        .ok_or_else(|| AdminError::UnknownWorkspace { name: name.into() })
}

/// Carries out one admin request.
pub fn handle(hubs: &Hubs, request: AdminRequest) -> AdminResponse {
    let result = match request {
        AdminRequest::Invite {
            workspace,
            user,
            team,
            role,
        } => parse_member(&user, &team, &role).and_then(|(user, team, role)| {
            invite(hubs, &workspace, user, team, role).map(|invitation| AdminResponse::Invited {
                token: invitation.token,
                workspace_id: invitation.workspace.to_string(),
                created: invitation.created,
            })
        }),
        AdminRequest::Revoke { workspace, user } => parse_user(&user)
            .and_then(|user| revoke(hubs, &workspace, &user))
            .map(|tokens| AdminResponse::Revoked { tokens }),
        AdminRequest::SetWebhook {
            workspace,
            url,
            secret,
        } => {
            set_webhook(hubs, &workspace, &url.0, &secret.0).map(|webhook| AdminResponse::Webhook {
                workspace,
                webhook: Some(webhook),
            })
        }
        AdminRequest::ClearWebhook { workspace } => {
            clear_webhook(hubs, &workspace).map(|cleared| AdminResponse::WebhookCleared {
                had_webhook: cleared.is_some(),
                dropped_events: cleared.unwrap_or(0),
            })
        }
        AdminRequest::ShowWebhook { workspace } => show_webhook(hubs, &workspace)
            .map(|webhook| AdminResponse::Webhook { workspace, webhook }),
    };
    result.unwrap_or_else(|error| AdminResponse::Failed {
        error: error.to_string(),
    })
}

fn parse_user(user: &str) -> Result<UserName, AdminError> {
    user.parse().map_err(|_| AdminError::InvalidField {
        field: "user",
        value: user.into(),
    })
}

fn parse_member(user: &str, team: &str, role: &str) -> Result<(UserName, Team, Role), AdminError> {
    let team_parsed = team.parse().map_err(|_| AdminError::InvalidField {
        field: "team",
        value: team.into(),
    })?;
    let role_parsed = role.parse().map_err(|_| AdminError::InvalidField {
        field: "role",
        value: role.into(),
    })?;
    Ok((parse_user(user)?, team_parsed, role_parsed))
}

fn check_name(name: &str) -> Result<(), AdminError> {
    let fine = !name.trim().is_empty()
        && name.len() <= MAX_WORKSPACE_NAME
        && !name.chars().any(char::is_control);
    if fine {
        Ok(())
    } else {
        Err(AdminError::InvalidWorkspaceName { name: name.into() })
    }
}
