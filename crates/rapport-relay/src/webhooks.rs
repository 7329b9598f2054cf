//! Webhooks: a workspace's alerts, posted as signed JSON to a URL its admin configured, so that
//! a chat channel hears of them with no member's laptop open.
//!
//! - When a change the relay commits adds a timeline entry that alerts someone (its `alert`
//!   list, a mention of a member, a workspace rule; following alone does not count) to an
//!   account of a workspace that has a webhook, `AlertHook::events` turns it into an event
//!   (`detect.rs`) naming who it alerts and why (`audience.rs`, by the model's
//!   `alert::reasons`), which the hub records in the durable outbox in the change's own
//!   transaction ([`rapport_store::RelayStore::commit_with_events`]). A workspace without a
//!   webhook pays one read of a lock per change.
//! - `run` (`deliver.rs`) is the background task that posts the outbox's events
//!   (`post.rs`: HTTP/1 over TCP, or TLS for `https://`, signed with HMAC-SHA256), retries
//!   with exponential backoff, and removes each event once it is delivered or given up.
//!
//! The event id is `workspace/account/entry` and the outbox is keyed by the entry, so one entry
//! is one event, whichever replica brings it and however often. docs/protocol.md specifies the
//! JSON and the signature.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use automerge::{Automerge, ChangeHash};
use hmac::{KeyInit, Mac};
use rapport_model::DocumentId;
use rapport_store::OutboxEvent;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::hub::lock;

mod audience;
mod deliver;
mod detect;
mod post;

use audience::{Audience, AudienceCache};
pub(crate) use deliver::run;

/// The longest webhook URL accepted.
const MAX_URL: usize = 2048;
/// The shortest and longest secrets accepted, in bytes.
const MIN_SECRET: usize = 16;
const MAX_SECRET: usize = 1024;

/// How webhook deliveries are bounded, retried and trusted.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// How long one delivery (connecting, TLS, sending, the answer's status) may take.
    pub timeout: Duration,
    /// How long after a first failed delivery the next is tried; each later wait doubles.
    pub first_retry: Duration,
    /// The longest wait between two tries.
    pub longest_retry: Duration,
    /// How many tries an event gets before it is dropped (with a log line).
    pub attempts: u32,
    /// How many deliveries run at once, all workspaces together.
    pub concurrent: usize,
    /// How many undelivered events a workspace keeps; past it, the oldest are dropped.
    pub outbox_per_workspace: usize,
    /// CA certificates (PEM) trusted for `https://` webhooks besides the system's roots (a
    /// receiver inside the company, with its own CA); checked by [`check_ca_pem`].
    pub extra_ca_pem: Option<String>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            // 30 s, 1, 2, 4, 8, 16 and 32 min, then hourly: twelve tries over about five hours.
            first_retry: Duration::from_secs(30),
            longest_retry: Duration::from_secs(3600),
            attempts: 12,
            concurrent: 8,
            outbox_per_workspace: rapport_store::OUTBOX_PER_WORKSPACE,
            extra_ca_pem: None,
        }
    }
}

impl WebhookConfig {
    /// How long to wait after `failed` failed tries.
    fn backoff(&self, failed: u32) -> Duration {
        let doubled = self
            .first_retry
            .saturating_mul(2u32.saturating_pow(failed.saturating_sub(1)));
        doubled.min(self.longest_retry)
    }
}

/// Why a webhook setting is refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL does not parse, or is not `http://` or `https://` with a host.
    #[error("invalid webhook URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The CA certificates for webhooks do not read.
    #[error("invalid CA certificate for webhooks: {reason}")]
    InvalidCa {
        /// Why.
        reason: String,
    },
    /// The secret is too short, too long, or has spaces or control characters.
    #[error(
        "invalid webhook secret: use {MIN_SECRET} to {MAX_SECRET} printable characters without spaces"
    )]
    InvalidSecret,
}

/// Checks a webhook URL: `http://` or `https://`, a host, no user name or password (they
/// would end up in logs), at most 2,048 bytes.
pub fn check_url(url: &str) -> Result<(), WebhookError> {
    let invalid = |reason: &str| WebhookError::InvalidUrl {
        reason: reason.into(),
    };
    if url.len() > MAX_URL {
        return Err(invalid("longer than 2048 bytes"));
    }
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| invalid(&e.to_string()))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(invalid("it must start with http:// or https://"));
    }
    let authority = uri.authority().ok_or_else(|| invalid("it has no host"))?;
    if authority.as_str().contains('@') {
        return Err(invalid("put no user name or password in it"));
    }
    if authority.host().is_empty() {
        return Err(invalid("it has no host"));
    }
    Ok(())
}

/// Checks CA certificates (PEM) to trust for `https://` webhooks: at least one, each one that
/// rustls takes as a root.
pub fn check_ca_pem(pem: &str) -> Result<(), WebhookError> {
    let mut roots = rustls::RootCertStore::empty();
    post::add_ca_pem(&mut roots, pem).map_err(|reason| WebhookError::InvalidCa { reason })
}

/// Checks a webhook secret.
pub fn check_secret(secret: &str) -> Result<(), WebhookError> {
    let fine = (MIN_SECRET..=MAX_SECRET).contains(&secret.len())
        && secret
            .chars()
            .all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control()))
        && !secret.chars().any(char::is_whitespace);
    if fine {
        Ok(())
    } else {
        Err(WebhookError::InvalidSecret)
    }
}

/// The first 8 bytes of the SHA-256 of `secret`, hex: tells which secret is set, and nothing
/// to sign with.
pub fn secret_fingerprint(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes())[..8])
}

/// The signature of an event: HMAC-SHA256 with `secret` over `timestamp.body`, hex.
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a workspace's hub needs to record webhook events: the workspace's name while it has a
/// webhook, whom its entries alert (kept between changes), and how to wake the delivery task.
#[derive(Debug)]
pub(crate) struct AlertHook {
    workspace_name: RwLock<Option<Arc<str>>>,
    audience: Mutex<AudienceCache>,
    wake: Arc<Notify>,
}

impl AlertHook {
    /// A hook for a workspace named `workspace_name` while it has a webhook (`None`: it has
    /// none), waking the delivery task through `wake`.
    pub(crate) fn new(workspace_name: Option<String>, wake: Arc<Notify>) -> Self {
        Self {
            workspace_name: RwLock::new(workspace_name.map(Arc::from)),
            audience: Mutex::new(AudienceCache::default()),
            wake,
        }
    }

    /// The workspace got a webhook (`Some` of its name) or lost it.
    pub(crate) fn set(&self, workspace_name: Option<String>) {
        let mut name = self
            .workspace_name
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *name = workspace_name.map(Arc::from);
        drop(name);
        lock(&self.audience).replace(None);
    }

    fn name(&self) -> Option<Arc<str>> {
        self.workspace_name
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The events to record with a change that took document `id` of `workspace` from
    /// `before` to its present heads: none unless the workspace has a webhook. `stored_workspace`
    /// reads the workspace document from the store, for a hub that has not committed it yet
    /// (never from the hub's own slots: the caller holds one).
    pub(crate) fn events(
        &self,
        workspace: DocumentId,
        id: DocumentId,
        doc: &Automerge,
        before: &[ChangeHash],
        stored_workspace: impl FnOnce() -> Option<Automerge>,
    ) -> Vec<OutboxEvent> {
        // The workspace document has no timeline: its changes announce nothing.
        if id == workspace {
            return Vec::new();
        }
        match self.name() {
            Some(name) => detect::alert_events(workspace, &name, id, doc, before, || {
                self.audience(workspace, stored_workspace)
            }),
            None => Vec::new(),
        }
    }

    /// The workspace document `doc` of `workspace` was committed: entries from now on alert
    /// its members by its rules.
    pub(crate) fn workspace_committed(&self, workspace: DocumentId, doc: &Automerge) {
        // Without a webhook nobody asks: read it only when an event needs it.
        let audience = self
            .name()
            .map(|_| Arc::new(Audience::read(workspace, doc)));
        lock(&self.audience).replace(audience);
    }

    /// The audience as of the workspace document's last commit, read from the store when the
    /// hub has not committed it since it opened (or since the webhook changed). A workspace
    /// document not stored alerts no one but what alert lists name.
    fn audience(
        &self,
        workspace: DocumentId,
        stored_workspace: impl FnOnce() -> Option<Automerge>,
    ) -> Arc<Audience> {
        let generation = {
            let cache = lock(&self.audience);
            if let Some(audience) = &cache.current {
                return audience.clone();
            }
            cache.generation
        };
        let audience = Arc::new(
            stored_workspace()
                .map(|doc| Audience::read(workspace, &doc))
                .unwrap_or_default(),
        );
        let mut cache = lock(&self.audience);
        // A commit of the workspace document meanwhile brought a newer audience: keep that.
        if cache.generation == generation {
            cache.current = Some(audience.clone());
        }
        audience
    }

    /// Tells the delivery task that events are waiting.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        for good in [
            "http://127.0.0.1:8080/hook",
            "https://hooks.example.com/services/T0/B0/x?y=1",
            "http://[::1]:9/",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "https://",
            "https://user:pw@example.com/",
            "http://exa mple.com/",
            "",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://example.com/{}", "a".repeat(MAX_URL))).is_err());
    }

    #[test]
    fn secrets_are_long_enough_and_printable() {
        assert!(check_secret("0123456789abcdef").is_ok());
        assert!(check_secret("short").is_err());
        assert!(check_secret("0123456789 abcdef").is_err());
        assert!(check_secret("0123456789abcdef\n").is_err());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() {
        // Computed apart, with Python's hmac module.
        assert_eq!(
            signature("0123456789abcdef", 1_700_000_000, r#"{"event":"alert"}"#),
            "f231832d695fa3785b45e09bffec480420810a7987745211fe122194de504b20"
        );
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_the_longest_wait() {
        let limits = WebhookConfig::default();
        let waits: Vec<u64> = (1..=10).map(|n| limits.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }
}
