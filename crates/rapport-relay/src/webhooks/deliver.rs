//! The delivery task: takes the outbox's due events, posts each (a bounded number at once),
//! and removes it once delivered or given up, or schedules its next try. Everything it knows
//! is in the outbox, so a restarted relay goes on where the last one stopped.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rapport_proto::url_origin;
use rapport_store::{PendingEvent, RelayStore, StoreError};
use tokio::sync::{Notify, RwLock, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::WebhookConfig;
use super::post::{Outcome, Poster};

/// How long the task sleeps with nothing due, unless woken: a bound on how late it notices an
/// event it was not told of.
const IDLE: Duration = Duration::from_secs(60);
/// How long it waits after the store failed before trying again.
const AFTER_STORE_ERROR: Duration = Duration::from_secs(1);

/// Held (shared) by every store call a delivery makes on a blocking thread. A delivery aborted
/// at shutdown leaves its call running there, holding the store; `run` takes this exclusively
/// before it returns, so that the store is closed once the relay has stopped (a relay started
/// again on the same directory opens it).
type StoreCalls = Arc<RwLock<()>>;

/// Delivers the outbox of `store` until `shutdown` turns true; `wake` says new events wait.
/// Deliveries in flight at shutdown are abandoned: their events stay in the outbox and go out
/// after the restart. It returns once no store call of theirs still runs.
pub(crate) async fn run(
    store: Arc<RelayStore>,
    wake: Arc<Notify>,
    limits: WebhookConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let poster = Arc::new(Poster::new(limits.timeout, limits.extra_ca_pem.as_deref()));
    let limits = Arc::new(limits);
    let concurrent = limits.concurrent.max(1);
    let mut running: JoinSet<String> = JoinSet::new();
    let calls: StoreCalls = Arc::default();
    let mut in_flight: HashSet<String> = HashSet::new();
    loop {
        let now = now_ms();
        let wanted = concurrent + in_flight.len();
        let scan = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.due_events(now, wanted)).await
        };
        let wait = match scan {
            Ok(Ok(found)) => {
                for event in found.due {
                    if running.len() >= concurrent {
                        break;
                    }
                    if in_flight.insert(event.key.clone()) {
                        let store = Store {
                            store: store.clone(),
                            calls: calls.clone(),
                        };
                        running.spawn(deliver(store, poster.clone(), limits.clone(), event));
                    }
                }
                found
                    .next_ms
                    .map_or(IDLE, |next| Duration::from_millis(next.saturating_sub(now)))
                    .min(IDLE)
            }
            Ok(Err(error)) => {
                warn!(%error, "cannot read the webhook outbox; trying again shortly");
                AFTER_STORE_ERROR
            }
            Err(error) => {
                warn!(%error, "reading the webhook outbox failed");
                AFTER_STORE_ERROR
            }
        };
        tokio::select! {
            () = wake.notified() => {}
            Some(done) = running.join_next() => {
                if let Ok(key) = done {
                    in_flight.remove(&key);
                }
            }
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
        while let Some(done) = running.try_join_next() {
            if let Ok(key) = done {
                in_flight.remove(&key);
            }
        }
    }
    running.abort_all();
    while running.join_next().await.is_some() {}
    let _settled = calls.write().await;
}

/// The store as a delivery reaches it: each call on a blocking thread, counted in `calls`.
struct Store {
    store: Arc<RelayStore>,
    calls: StoreCalls,
}

impl Store {
    /// Runs `f` on the store on a blocking thread.
    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&RelayStore) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (store, held) = (self.store.clone(), self.calls.clone().read_owned().await);
        tokio::task::spawn_blocking(move || {
            let _held = held;
            f(&store)
        })
        .await
        .unwrap_or_else(|e| {
            Err(StoreError::CommitFailed {
                reason: format!("the store task failed: {e}"),
            })
        })
    }
}

/// Posts one event and records how it went; returns its key.
async fn deliver(
    store: Store,
    poster: Arc<Poster>,
    limits: Arc<WebhookConfig>,
    event: PendingEvent,
) -> String {
    let key = event.key.clone();
    let webhook = store
        .call({
            let workspace = event.workspace;
            move |store| store.webhook(workspace)
        })
        .await;
    let webhook = match webhook {
        Ok(Some(webhook)) => webhook,
        Ok(None) => {
            // Cleared since: clearing drops the outbox too, this one was in flight.
            let _ = store
                .call(move |store| store.remove_event(&event.key))
                .await;
            return key;
        }
        Err(error) => {
            warn!(%error, event = %event.id, "cannot read the webhook; trying again shortly");
            tokio::time::sleep(AFTER_STORE_ERROR).await;
            return key;
        }
    };
    let endpoint = url_origin(&webhook.url).to_owned();
    let outcome = poster
        .post(&webhook.url, &webhook.secret, &event.id, &event.body)
        .await;
    let attempts = event.attempts.saturating_add(1);
    let recorded = match outcome {
        Outcome::Delivered(status) => {
            info!(event = %event.id, %endpoint, %status, attempts, "webhook event delivered");
            store
                .call(move |store| store.remove_event(&event.key))
                .await
        }
        Outcome::Refused(status) => {
            warn!(
                event = %event.id, %endpoint, %status,
                "the webhook refused the event; it is not sent again"
            );
            store
                .call(move |store| store.remove_event(&event.key))
                .await
        }
        Outcome::Failed(reason) if attempts >= limits.attempts => {
            warn!(
                event = %event.id, %endpoint, %reason, attempts,
                "webhook event dropped: every try failed"
            );
            store
                .call(move |store| store.remove_event(&event.key))
                .await
        }
        Outcome::Failed(reason) => {
            let wait = limits.backoff(attempts);
            info!(
                event = %event.id, %endpoint, %reason, attempts, retry_in = ?wait,
                "webhook delivery failed; it is tried again"
            );
            let due = now_ms().saturating_add(wait.as_millis() as u64);
            store
                .call(move |store| store.retry_event(&event.key, attempts, due))
                .await
        }
    };
    if let Err(error) = recorded {
        warn!(%error, %key, "cannot record how a webhook delivery went; it may be sent again");
    }
    key
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}
