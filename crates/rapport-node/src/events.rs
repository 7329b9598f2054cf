//! What pages hear live: the link's state, documents that changed, new alerts.

use std::sync::{Arc, Mutex};

use rapport_client::link::{LinkError, LinkState, LinkStatus};
use rapport_model::DocumentId;
use rapport_store::AlertRecord;
use serde::Serialize;
use tokio::sync::broadcast;

/// How many events a slow page may fall behind before it misses some (it then refetches).
const BACKLOG: usize = 256;

/// The node's sync state, as `/api/status` and `status` events give it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// `online`, `syncing`, `offline`, or `local` (no relay).
    pub state: &'static str,
    /// The relay's URL.
    pub relay: Option<String>,
    /// Documents changed here that the relay has not confirmed.
    pub unsynced: usize,
    /// Why it is offline.
    pub error: Option<String>,
    /// Documents fetched from the relay that are not in lists, search and alerts yet: the
    /// link indexes them in the background.
    pub indexing: u64,
}

/// One event for the pages.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "lowercase")]
pub enum NodeEvent {
    /// The sync state changed.
    Status(Status),
    /// Documents changed here; `workspace` when lists may have changed too.
    Changed {
        /// Account documents that changed.
        accounts: Vec<DocumentId>,
        /// Whether the workspace document changed, or documents were indexed.
        workspace: bool,
    },
    /// A new alert for this user, and the name of its account.
    Alert(AlertRecord, Option<String>),
}

/// The node's event stream and current status.
#[derive(Clone)]
pub(crate) struct Events {
    sender: broadcast::Sender<NodeEvent>,
    status: Arc<Mutex<Status>>,
    workspace: Arc<Mutex<Option<DocumentId>>>,
}

impl Events {
    pub(crate) fn new(has_relay: bool, indexing: u64) -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        let state = if has_relay { "offline" } else { "local" };
        Self {
            sender,
            status: Arc::new(Mutex::new(Status {
                state,
                relay: None,
                unsynced: 0,
                error: None,
                indexing,
            })),
            workspace: Arc::new(Mutex::new(None)),
        }
    }

    /// Names the relay and the workspace document, once known.
    pub(crate) fn set_context(&self, relay: Option<String>, workspace: DocumentId) {
        if let Ok(mut status) = self.status.lock() {
            status.relay = relay;
        }
        if let Ok(mut known) = self.workspace.lock() {
            *known = Some(workspace);
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.sender.subscribe()
    }

    pub(crate) fn status(&self) -> Option<Status> {
        self.status.lock().ok().map(|s| s.clone())
    }

    pub(crate) fn link_status(&self, link: &LinkStatus) {
        let state = match link.state {
            LinkState::Offline => "offline",
            LinkState::Syncing => "syncing",
            LinkState::Online => "online",
        };
        self.update_status(|status| {
            status.state = state;
            status.unsynced = link.unsynced;
            status.error = link.error.clone();
        });
    }

    pub(crate) fn link_stopped(&self, error: &LinkError) {
        let reason = error.to_string();
        self.update_status(|status| {
            status.state = "offline";
            status.error = Some(reason);
        });
    }

    /// Documents were indexed, `left` are still waiting: lists may have changed.
    pub(crate) fn indexed(&self, left: u64) {
        self.update_status(|status| status.indexing = left);
        self.changed(Vec::new());
    }

    fn update_status(&self, change: impl FnOnce(&mut Status)) {
        let Ok(mut status) = self.status.lock() else {
            return;
        };
        change(&mut status);
        let _ = self.sender.send(NodeEvent::Status(status.clone()));
    }

    /// Documents changed (by sync, by a page, or by indexing when `ids` is empty).
    pub(crate) fn changed(&self, ids: Vec<DocumentId>) {
        let workspace = self.workspace.lock().ok().and_then(|w| *w);
        let touches_workspace = ids.is_empty() || ids.iter().any(|id| Some(*id) == workspace);
        let accounts = ids
            .into_iter()
            .filter(|id| Some(*id) != workspace)
            .collect();
        let _ = self.sender.send(NodeEvent::Changed {
            accounts,
            workspace: touches_workspace,
        });
    }

    pub(crate) fn alert(&self, alert: &AlertRecord, account_name: Option<String>) {
        let _ = self
            .sender
            .send(NodeEvent::Alert(alert.clone(), account_name));
    }
}
