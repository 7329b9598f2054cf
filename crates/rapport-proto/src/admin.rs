//! The relay's admin channel: JSON requests in websocket text frames on a loopback-only
//! endpoint, so that `rapport relay invite`, `revoke` and `webhook` work while the relay holds
//! its store.

use serde::{Deserialize, Serialize};

/// The file in a relay's data directory that says where its admin endpoint listens, and the
/// secret it wants. Written (readable by its owner only) while the relay runs.
pub const ADMIN_FILE: &str = "admin.json";

/// Where a running relay's admin endpoint is.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdminEndpoint {
    /// `ws://127.0.0.1:PORT/admin`.
    pub url: String,
    /// Presented as `Authorization: Bearer`.
    pub secret: String,
}

/// One admin request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum AdminRequest {
    /// Adds a member (creating the workspace if new) and makes a token for them.
    Invite {
        /// Workspace name.
        workspace: String,
        /// User name.
        user: String,
        /// Team.
        team: String,
        /// Role.
        role: String,
    },
    /// Revokes every token of a member, closing their connections.
    Revoke {
        /// Workspace name.
        workspace: String,
        /// User name.
        user: String,
    },
    /// Sets the workspace's webhook, replacing the one set before.
    SetWebhook {
        /// Workspace name.
        workspace: String,
        /// Where alert events are posted: `http://` or `https://`.
        url: WebhookUrl,
        /// The key events are signed with.
        secret: WebhookSecret,
    },
    /// Removes the workspace's webhook and drops its undelivered events.
    ClearWebhook {
        /// Workspace name.
        workspace: String,
    },
    /// Shows the workspace's webhook (never its secret).
    ShowWebhook {
        /// Workspace name.
        workspace: String,
    },
}

/// A webhook's URL. Its path may be a credential of its own (chat services put one there), so
/// `Debug` (what the relay logs) shows its scheme and host only.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct WebhookUrl(pub String);

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/…", url_origin(&self.0))
    }
}

/// The scheme and host of `url` (everything before the path).
pub fn url_origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

/// A webhook's signing secret: `Debug` never shows it.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct WebhookSecret(pub String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// A webhook as the admin channel shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookInfo {
    /// Where events are posted.
    pub url: WebhookUrl,
    /// The first 8 bytes of the SHA-256 of the secret, hex: enough to tell which secret is set,
    /// nothing to sign with.
    pub secret_sha256: String,
    /// How many events wait to be delivered.
    pub pending: usize,
}

/// The answer to an [`AdminRequest`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum AdminResponse {
    /// A member was invited.
    Invited {
        /// The token to hand to the member (shown once, stored hashed).
        token: String,
        /// The workspace document's id.
        workspace_id: String,
        /// Whether the workspace was created by this invitation.
        created: bool,
    },
    /// Tokens were revoked.
    Revoked {
        /// How many.
        tokens: usize,
    },
    /// The workspace's webhook, after a set or a show; `None` when it has none.
    Webhook {
        /// Workspace name.
        workspace: String,
        /// The webhook.
        webhook: Option<WebhookInfo>,
    },
    /// A webhook was removed.
    WebhookCleared {
        /// Whether the workspace had one.
        had_webhook: bool,
        /// How many undelivered events were dropped with it.
        dropped_events: usize,
    },
    /// The request failed.
    Failed {
        /// Why.
        error: String,
    },
}
