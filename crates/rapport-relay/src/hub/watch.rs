//! How a connection that holds only some documents (an automerge-repo peer, a browser tab)
//! hears of changes: a [`DocumentWatcher`] the hub tells of its documents only, and the
//! [`WatchedChanges`] the connection reads them from.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rapport_model::DocumentId;
use tokio::sync::mpsc;

/// How many changed documents a watcher may have waiting before it is marked behind (and then
/// offers every document it watches again, once, instead).
const WATCHER_BACKLOG: usize = 256;

/// What a connection that holds only some documents is told: which of them changed. A clone
/// tells the same receiver.
#[derive(Clone, Debug)]
pub struct DocumentWatcher {
    connection: u64,
    changed: mpsc::Sender<DocumentId>,
    behind: Arc<AtomicBool>,
}

/// The receiving end of a [`DocumentWatcher`].
#[derive(Debug)]
pub struct WatchedChanges {
    changed: mpsc::Receiver<DocumentId>,
    behind: Arc<AtomicBool>,
}

impl DocumentWatcher {
    /// A watcher for connection `connection`, and what it receives.
    pub fn new(connection: u64) -> (Self, WatchedChanges) {
        let (changed, receiver) = mpsc::channel(WATCHER_BACKLOG);
        let behind = Arc::new(AtomicBool::new(false));
        let watcher = Self {
            connection,
            changed,
            behind: behind.clone(),
        };
        (
            watcher,
            WatchedChanges {
                changed: receiver,
                behind,
            },
        )
    }

    /// The connection it tells.
    pub(super) fn connection(&self) -> u64 {
        self.connection
    }

    pub(super) fn tell(&self, id: DocumentId) {
        if self.changed.try_send(id).is_err() {
            self.behind.store(true, Ordering::Release);
        }
    }
}

impl WatchedChanges {
    /// The next document that changed; `None` once no hub holds the watcher.
    pub async fn next(&mut self) -> Option<DocumentId> {
        self.changed.recv().await
    }

    /// A document that changed, if one is waiting.
    pub fn try_next(&mut self) -> Option<DocumentId> {
        self.changed.try_recv().ok()
    }

    /// Whether changes were dropped since the last call (the channel was full): every watched
    /// document must then be offered again.
    pub fn take_behind(&self) -> bool {
        self.behind.swap(false, Ordering::AcqRel)
    }
}
