//! The relay's admin channel: JSON requests in websocket text frames on a loopback-only
//! endpoint, so that `rapport relay invite` and `revoke` work while the relay holds its store.

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
    /// The request failed.
    Failed {
        /// Why.
        error: String,
    },
}
