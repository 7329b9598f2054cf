//! The relay as its members meet it: a real relay on a loopback port over a redb store in a
//! temporary directory, real replicas joined through the real client link, and raw websockets
//! for what a well-behaved client never sends. Every wait is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod attacks;
mod disk;
mod hostile;
mod limits;
mod live;
mod protocol;
mod pushed;
mod raw;
mod times;
mod tls;
mod webhooks;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rapport_client::link::{self, LinkError, LinkEvent};
use rapport_model::account::{self, NewAccount, NewEntry};
use rapport_model::{DocumentId, EntryId, EntryKind, Role, Team};
use rapport_relay::hub::Hubs;
use rapport_relay::{Relay, RelayConfig, RelayError, admin};
use rapport_store::Replica;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// How long the client link may take to settle one sync.
pub(crate) const SYNC: Duration = Duration::from_secs(10);

/// How long any single wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// How soon a live change must reach a watching member.
pub(crate) const LIVE: Duration = Duration::from_secs(5);

/// A relay serving on loopback ports until it is stopped (or dropped).
pub(crate) struct RunningRelay {
    pub(crate) url: String,
    pub(crate) address: SocketAddr,
    pub(crate) hubs: Arc<Hubs>,
    pub(crate) stop: oneshot::Sender<()>,
    pub(crate) served: JoinHandle<Result<(), RelayError>>,
}

impl RunningRelay {
    pub(crate) async fn start(dir: &Path, config: RelayConfig) -> Self {
        Self::start_on(dir, config, "127.0.0.1:0").await
    }

    /// [`RunningRelay::start`] on a given address (to come back where clients look for it).
    pub(crate) async fn start_on(dir: &Path, config: RelayConfig, address: &str) -> Self {
        Self::serve(Relay::open(dir, config).unwrap(), address).await
    }

    /// Serves `relay` on `address`.
    pub(crate) async fn serve(relay: Relay, address: &str) -> Self {
        let hubs = relay.hubs().clone();
        let public = TcpListener::bind(address).await.unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = public.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let signal = async move {
            // A dropped sender stops the relay too.
            let _ = stopped.await;
        };
        let served = tokio::spawn(relay.serve(public, admin, signal));
        Self {
            url: format!("ws://{address}/"),
            address,
            hubs,
            stop,
            served,
        }
    }

    /// Invites `user` to workspace `workspace` (creating it on first use); returns the token.
    pub(crate) fn invite(&self, workspace: &str, user: &str, team: Team, role: Role) -> String {
        admin::invite(&self.hubs, workspace, user.parse().unwrap(), team, role)
            .unwrap()
            .token
    }

    /// Signals shutdown and waits for `serve` to return, releasing the store.
    pub(crate) async fn stop(self) {
        let Self {
            hubs, stop, served, ..
        } = self;
        drop(hubs);
        let _ = stop.send(());
        timeout(WAIT, served)
            .await
            .expect("the relay stops within its grace period")
            .unwrap()
            .unwrap();
    }
}

/// A new replica of the workspace `token` belongs to, joined through the client link.
pub(crate) async fn join(relay: &RunningRelay, token: &str) -> (TempDir, Replica) {
    let dir = TempDir::new().unwrap();
    let (replica, _) = timeout(WAIT, link::join(dir.path(), &relay.url, token, SYNC))
        .await
        .expect("join finishes in time")
        .unwrap();
    (dir, replica)
}

/// Syncs `replica` with its relay until both hold the same.
pub(crate) async fn sync(replica: Replica) -> Replica {
    timeout(WAIT, link::sync_once(replica, SYNC))
        .await
        .expect("sync finishes in time")
        .unwrap()
        .0
}

pub(crate) fn add_account(replica: &mut Replica, name: &str) -> DocumentId {
    let edit = replica.edit_now();
    let new = NewAccount {
        name: name.into(),
        ..NewAccount::default()
    };
    replica.create_account(&edit, &new).unwrap()
}

pub(crate) fn note(text: &str, alert: &[&str]) -> NewEntry {
    NewEntry {
        kind: EntryKind::Note,
        text: text.into(),
        alert: alert.iter().map(|a| a.parse().unwrap()).collect(),
    }
}

pub(crate) fn add_note(replica: &mut Replica, account: DocumentId, text: &str, alert: &[&str]) {
    let edit = replica.edit_now();
    let entry = note(text, alert);
    replica
        .change_account(account, &edit, |tx| {
            account::add_entry(tx, &edit, EntryId::new(), &entry)
        })
        .unwrap();
}

/// Whether `text` is one of `texts`.
pub(crate) fn has(texts: &[String], text: &str) -> bool {
    texts.iter().any(|t| t == text)
}

/// The texts of an account's timeline.
pub(crate) fn timeline(replica: &mut Replica, account: DocumentId) -> Vec<String> {
    let view = replica.account(account).unwrap();
    view.timeline.into_iter().map(|entry| entry.text).collect()
}

/// A replica kept live by `link::watch`, its alerts and statuses forwarded to channels.
pub(crate) struct Watcher {
    pub(crate) alerts: mpsc::UnboundedReceiver<String>,
    pub(crate) statuses: mpsc::UnboundedReceiver<String>,
    pub(crate) task: JoinHandle<Result<(), LinkError>>,
}

impl Watcher {
    pub(crate) fn start(replica: Replica) -> Self {
        let (alert_sender, alerts) = mpsc::unbounded_channel();
        let (status_sender, statuses) = mpsc::unbounded_channel();
        let task = tokio::spawn(link::watch(replica, move |event| match event {
            LinkEvent::Alert(alert) => {
                let _ = alert_sender.send(alert.text.clone());
            }
            LinkEvent::Status(status) => {
                let _ = status_sender.send(status.state.as_str().to_owned());
            }
            LinkEvent::Changed(_) | LinkEvent::Indexed { .. } => {}
        }));
        Self {
            alerts,
            statuses,
            task,
        }
    }

    /// The text of the next alert, which must arrive within `within`.
    pub(crate) async fn next_alert(&mut self, within: Duration) -> String {
        timeout(within, self.alerts.recv())
            .await
            .expect("the alert arrives in time")
            .expect("the watcher is still running")
    }

    /// Checks the link connected once and never lost its connection, so that what arrived
    /// was pushed on that one connection.
    pub(crate) fn assert_connected_throughout(&mut self) {
        let mut statuses = Vec::new();
        while let Ok(status) = self.statuses.try_recv() {
            statuses.push(status);
        }
        assert!(!statuses.is_empty(), "the link connected");
        assert!(
            statuses.iter().all(|s| s != "offline"),
            "the link stayed connected: {statuses:?}"
        );
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}
