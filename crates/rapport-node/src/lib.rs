//! The local node (`rapport ui`): one process that owns this user's replica, keeps it live with
//! the relay, and serves the web UI in `web/` with a JSON API over the replica on a loopback
//! address. `docs/api.md` is the API's reference.
//!
//! - Every API call reads or writes the local replica on a blocking thread; none waits for the
//!   network, so the UI works the same with the relay down.
//! - A write is durable when its answer goes out, and its document is handed to the live link,
//!   which syncs it to the relay at once when connected.
//! - Pages learn what changed from a stream of server-sent events (`/api/events`): the link's
//!   state, documents changed by sync or by another page, and new alerts.

mod api;
mod assets;
mod boards;
mod events;
mod reports;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use rapport_client::link::{self, LinkError, LinkEvent, SharedReplica};
use rapport_model::DocumentId;
use rapport_store::{AlertRecord, Replica};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use events::{NodeEvent, Status};

use crate::events::Events;

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Serving HTTP failed.
    #[error("the local web server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// What the handlers share.
pub(crate) struct Node {
    pub(crate) replica: SharedReplica,
    /// Documents changed here, for the live link to sync.
    pub(crate) local: mpsc::UnboundedSender<DocumentId>,
    pub(crate) events: Events,
}

/// A node ready to serve: its router, and the link task to run beside it.
pub struct LocalNode {
    node: Arc<Node>,
    local: mpsc::UnboundedReceiver<DocumentId>,
}

impl LocalNode {
    /// A node over `replica`.
    pub fn new(replica: Replica) -> Self {
        let relay = replica.remote().ok().flatten().map(|remote| remote.url);
        let indexing = replica.unindexed().unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot count the documents waiting to be indexed");
            0
        });
        let events = Events::new(relay.is_some(), indexing);
        events.set_context(relay, replica.workspace_id());
        let (local_sender, local) = mpsc::unbounded_channel();
        let node = Node {
            replica: Arc::new(Mutex::new(replica)),
            local: local_sender,
            events,
        };
        Self {
            node: Arc::new(node),
            local,
        }
    }

    /// The replica the node serves, shared with its link.
    pub fn replica(&self) -> SharedReplica {
        self.node.replica.clone()
    }

    /// The web UI and the API.
    fn router(&self) -> Router {
        Router::new()
            .nest("/api", api::routes())
            .fallback(get(assets::serve))
            .layer(axum::middleware::from_fn(only_local_names))
            .layer(axum::middleware::from_fn(guard_pages))
            .with_state(self.node.clone())
    }

    /// Serves on `listener` until `shutdown` completes, keeping the replica live with its relay
    /// (when it has one) meanwhile.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        let router = self.router();
        let node = self.node.clone();
        let link = tokio::spawn(live(node, self.local));
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        link.abort();
        served.map_err(NodeError::from)
    }
}

/// Runs the live link, turning what it reports into events for the pages.
async fn live(node: Arc<Node>, local: mpsc::UnboundedReceiver<DocumentId>) {
    let events = node.events.clone();
    // A toast names the account: looking the name up takes the replica's lock, which is for
    // blocking threads only, so alerts go through a task that does it there.
    let (alerts, mut to_name) = mpsc::unbounded_channel::<AlertRecord>();
    let namer = {
        let node = node.clone();
        tokio::spawn(async move {
            while let Some(alert) = to_name.recv().await {
                let replica = node.replica.clone();
                let account = alert.account;
                let name = tokio::task::spawn_blocking(move || account_name(&replica, account))
                    .await
                    .ok()
                    .flatten();
                node.events.alert(&alert, name);
            }
        })
    };
    let ended = link::watch_shared(
        node.replica.clone(),
        Some(local),
        move |event| match event {
            LinkEvent::Status(status) => events.link_status(status),
            LinkEvent::Changed(ids) => events.changed(ids.to_vec()),
            LinkEvent::Indexed { left } => events.indexed(left),
            LinkEvent::Alert(alert) => {
                let _ = alerts.send(alert.clone());
            }
        },
    )
    .await;
    // The link and its sender are gone: the namer finishes what is queued and stops.
    let _ = namer.await;
    match ended {
        Err(LinkError::NoRemote) | Ok(()) => {}
        Err(error) => {
            tracing::warn!(%error, "the live link stopped");
            node.events.link_stopped(&error);
        }
    }
}

/// The name of account `account` from the account list (no document load).
fn account_name(replica: &SharedReplica, account: DocumentId) -> Option<String> {
    let replica = replica.lock().ok()?;
    let accounts = replica.accounts().ok()?;
    accounts
        .into_iter()
        .find(|a| a.id == account)
        .map(|a| a.name)
}

/// Refuses a request that names another host than this machine's loopback: a web page elsewhere
/// that rebinds its own name to 127.0.0.1 (DNS rebinding) must not reach the replica.
async fn only_local_names(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if is_local_name(host) {
        return next.run(request).await;
    }
    let refusal = serde_json::json!({ "error": format!("host '{host}' is not this machine") });
    (axum::http::StatusCode::FORBIDDEN, axum::Json(refusal)).into_response()
}

/// What every answer allows the browser to do with it: the pages load only their own scripts,
/// styles and connections, and no other site may frame them (a framed replica could be clicked
/// through by a page the user did not mean to trust).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
    style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Adds the browser protections of [`CONTENT_SECURITY_POLICY`] and friends to every answer.
async fn guard_pages(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header::{self, HeaderValue};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Whether a `Host` header names this machine's loopback (any port).
fn is_local_name(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    matches!(name, "127.0.0.1" | "localhost" | "::1")
}

/// The address a node listens on by default: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7420";

/// Binds `address`, which must be a loopback address: the API has no authentication of its own
/// and must not be reachable from other machines.
pub async fn bind_loopback(address: SocketAddr) -> Result<TcpListener, std::io::Error> {
    if !address.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{address} is not a loopback address; the local node only listens on this machine"
            ),
        ));
    }
    TcpListener::bind(address).await
}
