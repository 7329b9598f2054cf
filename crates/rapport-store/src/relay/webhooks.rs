//! The relay's webhooks: each workspace's endpoint (URL and signing secret) and the durable
//! outbox of events waiting to be posted to it.
//!
//! An event is recorded in the transaction of the change that caused it
//! ([`RelayStore::commit_with_events`]), so an acknowledged change never loses its event and a
//! change that failed records none. Outbox rows are keyed `workspace/entry/account`: one row per
//! timeline entry whatever delivers it, a workspace's rows are a key range of their own, and
//! entry ids (ULIDs) sort them oldest first.

use std::fmt;

use rapport_model::DocumentId;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::error::{StorageContext, StoreError};
use crate::relay::{RelayStore, parse_id};

/// Workspace document id -> JSON [`WebhookRecord`].
pub(super) const WEBHOOKS: TableDefinition<&str, &[u8]> = TableDefinition::new("webhooks");
/// `workspace/entry/account` -> JSON [`OutboxRow`]: events not delivered yet.
pub(super) const OUTBOX: TableDefinition<&str, &[u8]> = TableDefinition::new("webhook_outbox");

/// How many undelivered events a workspace keeps unless the relay says otherwise: past it, the
/// oldest are dropped.
pub const OUTBOX_PER_WORKSPACE: usize = 1000;

/// A workspace's webhook as the relay keeps it. The secret is kept in full (the relay signs
/// with it) and never printed: `Debug` leaves it out.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookRecord {
    /// The workspace's name, as events carry it.
    pub workspace_name: String,
    /// Where events are posted (`http://` or `https://`), checked when it was set.
    pub url: String,
    /// The key events are signed with.
    pub secret: String,
}

impl fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("workspace_name", &self.workspace_name)
            .field("url", &"<not shown>")
            .field("secret", &"<not shown>")
            .finish()
    }
}

/// An event to record with a change: a new timeline entry that alerts someone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The workspace document's id.
    pub workspace: DocumentId,
    /// The account document the entry is on.
    pub account: DocumentId,
    /// The entry's id.
    pub entry: String,
    /// The JSON body to post.
    pub body: String,
}

impl OutboxEvent {
    /// The event's id, as receivers see it: `workspace/account/entry`.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.workspace, self.account, self.entry)
    }

    fn key(&self) -> String {
        format!("{}/{}/{}", self.workspace, self.entry, self.account)
    }
}

/// An event waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEvent {
    /// Its row's key, to mark it delivered or retried.
    pub key: String,
    /// The workspace it belongs to.
    pub workspace: DocumentId,
    /// The event's id (`workspace/account/entry`).
    pub id: String,
    /// The JSON body to post.
    pub body: String,
    /// How many deliveries failed so far.
    pub attempts: u32,
    /// When the next delivery is due, in milliseconds since the Unix epoch.
    pub due_ms: u64,
}

/// An outbox row's value.
#[derive(Serialize, Deserialize)]
struct OutboxRow {
    id: String,
    body: String,
    attempts: u32,
    due_ms: u64,
}

/// The events due now, and when the next of the others is.
#[derive(Debug, Default)]
pub struct DueEvents {
    /// Due at or before the time asked about, oldest first within a workspace.
    pub due: Vec<PendingEvent>,
    /// When the earliest event not due yet is, in milliseconds since the Unix epoch.
    pub next_ms: Option<u64>,
}

impl RelayStore {
    /// Keeps at most `events` undelivered webhook events per workspace (at least one).
    pub fn with_outbox_limit(mut self, events: usize) -> Self {
        self.outbox_limit = events.max(1);
        self
    }

    /// The webhook of `workspace`, if one is set.
    pub fn webhook(&self, workspace: DocumentId) -> Result<Option<WebhookRecord>, StoreError> {
        self.with_db(|db| {
            let doing = "reading a webhook";
            let txn = db.begin_read().doing(doing)?;
            let table = txn.open_table(WEBHOOKS).doing(doing)?;
            let row = table.get(workspace.to_string().as_str()).doing(doing)?;
            row.map(|json| from_json(json.value(), "webhooks"))
                .transpose()
        })
    }

    /// Sets the webhook of `workspace`, replacing the one set before (its undelivered events
    /// go to the new one).
    pub fn set_webhook(
        &self,
        workspace: DocumentId,
        record: &WebhookRecord,
    ) -> Result<(), StoreError> {
        let json = to_json(record, "webhooks")?;
        self.with_db(|db| {
            let doing = "setting a webhook";
            let txn = db.begin_write().doing(doing)?;
            txn.open_table(WEBHOOKS)
                .doing(doing)?
                .insert(workspace.to_string().as_str(), json.as_slice())
                .doing(doing)?;
            txn.commit().doing(doing)
        })
    }

    /// Removes the webhook of `workspace` and drops its undelivered events, in one
    /// transaction; `None` when it had none, else how many events were dropped.
    pub fn clear_webhook(&self, workspace: DocumentId) -> Result<Option<usize>, StoreError> {
        self.with_db(|db| {
            let doing = "clearing a webhook";
            let txn = db.begin_write().doing(doing)?;
            let removed = txn
                .open_table(WEBHOOKS)
                .doing(doing)?
                .remove(workspace.to_string().as_str())
                .doing(doing)?
                .is_some();
            let dropped = {
                let mut outbox = txn.open_table(OUTBOX).doing(doing)?;
                let prefix = format!("{workspace}/");
                let keys = keys_under(&outbox, &prefix, usize::MAX)?;
                for key in &keys {
                    outbox.remove(key.as_str()).doing(doing)?;
                }
                keys.len()
            };
            txn.commit().doing(doing)?;
            Ok(removed.then_some(dropped))
        })
    }

    /// How many events of `workspace` wait in the outbox.
    pub fn outbox_len(&self, workspace: DocumentId) -> Result<usize, StoreError> {
        self.with_db(|db| {
            let doing = "counting webhook events";
            let txn = db.begin_read().doing(doing)?;
            let table = txn.open_table(OUTBOX).doing(doing)?;
            Ok(keys_under(&table, &format!("{workspace}/"), usize::MAX)?.len())
        })
    }

    /// At most `limit` events due at `now_ms`, and when the next of the rest is due.
    pub fn due_events(&self, now_ms: u64, limit: usize) -> Result<DueEvents, StoreError> {
        self.with_db(|db| {
            let doing = "reading the webhook outbox";
            let txn = db.begin_read().doing(doing)?;
            let table = txn.open_table(OUTBOX).doing(doing)?;
            let mut found = DueEvents::default();
            for row in table.iter().doing(doing)? {
                let (key, value) = row.doing(doing)?;
                let row: OutboxRow = from_json(value.value(), "webhook_outbox")?;
                if row.due_ms > now_ms {
                    found.next_ms = Some(found.next_ms.map_or(row.due_ms, |n| n.min(row.due_ms)));
                    continue;
                }
                if found.due.len() < limit {
                    let key = key.value().to_owned();
                    let workspace = key.split('/').next().unwrap_or_default();
                    found.due.push(PendingEvent {
                        workspace: parse_id(workspace, "webhook_outbox")?,
                        key,
                        id: row.id,
                        body: row.body,
                        attempts: row.attempts,
                        due_ms: row.due_ms,
                    });
                }
            }
            Ok(found)
        })
    }

    /// Removes a delivered (or given up) event.
    pub fn remove_event(&self, key: &str) -> Result<(), StoreError> {
        self.with_db(|db| {
            let doing = "removing a webhook event";
            let txn = db.begin_write().doing(doing)?;
            txn.open_table(OUTBOX)
                .doing(doing)?
                .remove(key)
                .doing(doing)?;
            txn.commit().doing(doing)
        })
    }

    /// Records a failed delivery of event `key`: `attempts` so far, the next one due at
    /// `due_ms`. An event removed meanwhile (its webhook cleared) stays removed.
    pub fn retry_event(&self, key: &str, attempts: u32, due_ms: u64) -> Result<(), StoreError> {
        self.with_db(|db| {
            let doing = "rescheduling a webhook event";
            let txn = db.begin_write().doing(doing)?;
            {
                let mut table = txn.open_table(OUTBOX).doing(doing)?;
                let row = table
                    .get(key)
                    .doing(doing)?
                    .map(|json| from_json::<OutboxRow>(json.value(), "webhook_outbox"))
                    .transpose()?;
                if let Some(mut row) = row {
                    row.attempts = attempts;
                    row.due_ms = due_ms;
                    let json = to_json(&row, "webhook_outbox")?;
                    table.insert(key, json.as_slice()).doing(doing)?;
                }
            }
            txn.commit().doing(doing)
        })
    }
}

/// Records `events` in `txn`, due at once, unless a row for the same entry is there already;
/// then drops a workspace's oldest events beyond `limit`.
pub(super) fn enqueue(
    txn: &WriteTransaction,
    events: &[OutboxEvent],
    limit: usize,
) -> Result<(), StoreError> {
    let doing = "recording a webhook event";
    let mut table = txn.open_table(OUTBOX).doing(doing)?;
    for event in events {
        let key = event.key();
        if table.get(key.as_str()).doing(doing)?.is_some() {
            continue;
        }
        let row = OutboxRow {
            id: event.id(),
            body: event.body.clone(),
            attempts: 0,
            due_ms: 0,
        };
        let json = to_json(&row, "webhook_outbox")?;
        table.insert(key.as_str(), json.as_slice()).doing(doing)?;
        let prefix = format!("{}/", event.workspace);
        let keys = keys_under(&table, &prefix, usize::MAX)?;
        let excess = keys.len().saturating_sub(limit);
        for old in &keys[..excess] {
            table.remove(old.as_str()).doing(doing)?;
            tracing::warn!(
                workspace = %event.workspace,
                event = %old,
                limit,
                "webhook outbox full: dropped the oldest undelivered event"
            );
        }
    }
    Ok(())
}

/// The keys starting with `prefix`, in order, at most `limit`.
fn keys_under<T: ReadableTable<&'static str, &'static [u8]>>(
    table: &T,
    prefix: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let doing = "listing webhook events";
    let mut keys = Vec::new();
    for row in table.range(prefix..).doing(doing)? {
        let (key, _) = row.doing(doing)?;
        let key = key.value();
        if !key.starts_with(prefix) || keys.len() >= limit {
            break;
        }
        keys.push(key.to_owned());
    }
    Ok(keys)
}

fn to_json<T: Serialize>(value: &T, table: &'static str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::DamagedIndex {
        table,
        reason: e.to_string(),
    })
}

fn from_json<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    table: &'static str,
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::DamagedIndex {
        table,
        reason: e.to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(workspace: DocumentId, entry: &str) -> OutboxEvent {
        OutboxEvent {
            workspace,
            account: DocumentId::random(),
            entry: entry.into(),
            body: format!("{{\"entry\":\"{entry}\"}}"),
        }
    }

    fn enqueue_now(store: &RelayStore, events: &[OutboxEvent]) {
        store
            .with_db(|db| {
                let txn = db.begin_write().doing("test")?;
                enqueue(&txn, events, store.outbox_limit)?;
                txn.commit().doing("test")
            })
            .unwrap();
    }

    #[test]
    fn the_same_entry_recorded_twice_is_one_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let workspace = DocumentId::random();
        let first = event(workspace, "01A");
        enqueue_now(&store, std::slice::from_ref(&first));
        enqueue_now(&store, std::slice::from_ref(&first));
        let due = store.due_events(u64::MAX, 10).unwrap();
        assert_eq!(due.due.len(), 1);
        assert_eq!(due.due[0].id, first.id());
        assert_eq!(due.due[0].body, first.body);
    }

    #[test]
    fn a_full_outbox_drops_its_oldest_events_and_no_other_workspaces() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap().with_outbox_limit(3);
        let (busy, quiet) = (DocumentId::random(), DocumentId::random());
        enqueue_now(&store, &[event(quiet, "01A")]);
        for entry in ["01B", "01C", "01D", "01E", "01F"] {
            enqueue_now(&store, &[event(busy, entry)]);
        }
        assert_eq!(store.outbox_len(busy).unwrap(), 3);
        assert_eq!(store.outbox_len(quiet).unwrap(), 1);
        let kept: Vec<String> = store
            .due_events(u64::MAX, 10)
            .unwrap()
            .due
            .into_iter()
            .filter(|e| e.workspace == busy)
            .map(|e| e.key.split('/').nth(1).unwrap().to_owned())
            .collect();
        assert_eq!(kept, ["01D", "01E", "01F"]);
    }

    #[test]
    fn a_retried_event_waits_until_it_is_due_and_clearing_drops_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let workspace = DocumentId::random();
        let record = WebhookRecord {
            workspace_name: "Acme".into(),
            url: "http://127.0.0.1:9/hook".into(),
            secret: "a secret of some length".into(),
        };
        store.set_webhook(workspace, &record).unwrap();
        enqueue_now(&store, &[event(workspace, "01A")]);
        let key = store.due_events(0, 10).unwrap().due[0].key.clone();
        store.retry_event(&key, 1, 5_000).unwrap();
        let early = store.due_events(4_999, 10).unwrap();
        assert!(early.due.is_empty());
        assert_eq!(early.next_ms, Some(5_000));
        assert_eq!(store.due_events(5_000, 10).unwrap().due[0].attempts, 1);
        assert!(!format!("{record:?}").contains("secret of"));
        assert_eq!(store.clear_webhook(workspace).unwrap(), Some(1));
        assert_eq!(store.webhook(workspace).unwrap(), None);
        assert!(store.due_events(u64::MAX, 10).unwrap().due.is_empty());
        assert_eq!(store.clear_webhook(workspace).unwrap(), None);
    }
}
