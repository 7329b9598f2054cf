//! The relay's HTTP side: the websocket endpoint at `/` (authenticated at the upgrade),
//! `/healthz`, the loopback admin endpoint, and graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use rapport_proto::{ADMIN_FILE, AdminEndpoint, AdminRequest, AdminResponse, PeerId};
use rapport_store::{OpenError, RelayStore, StoreError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::admin;
use crate::auth::{Member, Token};
use crate::connection;
use crate::hub::Hubs;

/// The relay's limits and timings.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// The largest websocket message accepted, in bytes.
    pub max_frame_bytes: usize,
    /// How often an idle connection is pinged; one silent for three intervals is closed.
    pub ping_interval: Duration,
    /// How many idle documents each workspace keeps loaded.
    pub cache_documents: usize,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// How many changes of its workspace a connection may fall behind before it is closed
    /// (it catches up by reconnecting).
    pub event_backlog: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024 * 1024,
            ping_interval: Duration::from_secs(20),
            cache_documents: 1024,
            shutdown_grace: Duration::from_secs(5),
            event_backlog: 4096,
        }
    }
}

/// What every request handler shares.
#[derive(Clone, Debug)]
pub struct RelayState {
    pub(crate) hubs: Arc<Hubs>,
    pub(crate) config: Arc<RelayConfig>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) peer_id: PeerId,
    connections: Arc<AtomicUsize>,
}

/// Counts a connection while it lives.
pub(crate) struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RelayState {
    pub(crate) fn count_connection(&self) -> Counted {
        self.connections.fetch_add(1, Ordering::SeqCst);
        Counted(self.connections.clone())
    }
}

/// Why a relay could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The store did not open.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A socket failed.
    #[error("relay network error: {0}")]
    Io(#[from] std::io::Error),
}

/// A relay over its store, ready to serve.
#[derive(Debug)]
pub struct Relay {
    state: RelayState,
    stop: watch::Sender<bool>,
    dir: PathBuf,
}

impl Relay {
    /// Opens (or creates) the relay store in `dir`.
    pub fn open(dir: &Path, config: RelayConfig) -> Result<Self, RelayError> {
        let store = Arc::new(RelayStore::open(dir)?);
        let (stop, shutdown) = watch::channel(false);
        let peer_id = PeerId::new(format!(
            "rapport-relay-{}",
            bs58::encode(rand::random::<[u8; 8]>()).into_string()
        ))
        .unwrap_or_else(|| unreachable!("a fixed-shape id is valid"));
        let cache = config.cache_documents;
        Ok(Self {
            state: RelayState {
                hubs: Arc::new(Hubs::new(store, cache).with_event_backlog(config.event_backlog)),
                config: Arc::new(config),
                shutdown,
                peer_id,
                connections: Arc::new(AtomicUsize::new(0)),
            },
            stop,
            dir: dir.to_owned(),
        })
    }

    /// The workspaces and their members' tokens (to invite or revoke in-process).
    pub fn hubs(&self) -> &Arc<Hubs> {
        &self.state.hubs
    }

    /// The public router: the websocket endpoint and `/healthz`.
    pub fn app(&self) -> Router {
        Router::new()
            .route("/", get(websocket))
            .route("/healthz", get(healthz))
            .with_state(self.state.clone())
    }

    /// Serves members on `public` and the admin endpoint on `admin` (which should be a
    /// loopback address) until `signal` resolves, then closes every connection, waiting at most
    /// the configured grace period. While it runs, `admin.json` in the data directory says where
    /// the admin endpoint is.
    pub async fn serve(
        self,
        public: TcpListener,
        admin: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RelayError> {
        let secret = bs58::encode(rand::random::<[u8; 24]>()).into_string();
        let endpoint = AdminEndpoint {
            url: format!("ws://{}/admin", admin.local_addr()?),
            secret: secret.clone(),
        };
        let admin_file = self.dir.join(ADMIN_FILE);
        write_private(&admin_file, &endpoint)?;
        let admin_app = Router::new()
            .route("/admin", get(admin_socket))
            .with_state(AdminState {
                hubs: self.state.hubs.clone(),
                secret: Arc::new(secret),
            });
        let mut stopping = self.state.shutdown.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            signal.await;
            let _ = stop.send(true);
        });
        let until_stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        info!(address = %public.local_addr()?, "relay listening");
        // Without Nagle's delay: a small frame written just before a connection is dropped (the
        // close frame after an `error`) would otherwise wait for an ACK, and a drop with unread
        // input (an oversized frame) resets the connection and discards it.
        let public = public.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                warn!(%error, "cannot disable Nagle's algorithm on a connection");
            }
        });
        let public_server = axum::serve(
            public,
            self.app()
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(until_stopped(self.state.shutdown.clone()));
        let admin_server = axum::serve(admin, admin_app)
            .with_graceful_shutdown(until_stopped(self.state.shutdown.clone()));
        let served = tokio::try_join!(
            async { public_server.await },
            async { admin_server.await },
            async {
                let _ = stopping.wait_for(|stop| *stop).await;
                self.drain().await;
                Ok(())
            }
        );
        let _ = std::fs::remove_file(&admin_file);
        served?;
        info!("relay stopped");
        Ok(())
    }

    /// Waits for open connections to close after shutdown was signalled.
    async fn drain(&self) {
        let deadline = tokio::time::Instant::now() + self.state.config.shutdown_grace;
        while self.state.connections.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                warn!(
                    open = self.state.connections.load(Ordering::SeqCst),
                    "shutdown grace period over; dropping connections"
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Every failure a request can meet, as an HTTP answer.
#[derive(Debug, thiserror::Error)]
enum AppError {
    #[error("a token is required: send `Authorization: Bearer TOKEN` or `?token=TOKEN`")]
    NoToken,
    #[error("invalid or revoked token")]
    BadToken,
    #[error("the relay's storage failed")]
    Storage(#[from] StoreError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::NoToken | AppError::BadToken => StatusCode::UNAUTHORIZED,
            AppError::Storage(error) => {
                warn!(%error, "storage failed while authenticating");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let body = serde_json::json!({ "error": self.to_string() }).to_string();
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn websocket(
    State(state): State<RelayState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let presented = bearer(&headers)
        .or_else(|| query.get("token").cloned())
        .ok_or(AppError::NoToken)?;
    let member = authenticate(&state, &presented).await?;
    let hub = {
        let hubs = state.hubs.clone();
        let workspace = member.workspace;
        tokio::task::spawn_blocking(move || hubs.hub(workspace))
            .await
            .map_err(|_| AppError::BadToken)??
    };
    let max = state.config.max_frame_bytes;
    Ok(upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connection::serve(socket, hub, member, state)))
}

async fn authenticate(state: &RelayState, presented: &str) -> Result<Member, AppError> {
    let token = Token::parse(presented).ok_or(AppError::BadToken)?;
    let hubs = state.hubs.clone();
    let id = token.id().to_owned();
    let record = tokio::task::spawn_blocking(move || hubs.store().token(&id))
        .await
        .map_err(|_| AppError::BadToken)??;
    let member = record.and_then(|record| token.verify(&record));
    member.ok_or(AppError::BadToken)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?;
    Some(token.trim().to_owned())
}

#[derive(Clone)]
struct AdminState {
    hubs: Arc<Hubs>,
    secret: Arc<String>,
}

async fn admin_socket(
    State(state): State<AdminState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let presented = bearer(&headers).unwrap_or_default();
    let matches: bool =
        subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), state.secret.as_bytes()).into();
    if !matches {
        return AppError::BadToken.into_response();
    }
    upgrade.on_upgrade(move |socket| admin_session(socket, state.hubs))
}

/// Answers each JSON request in a text frame with a JSON response.
async fn admin_session(mut socket: WebSocket, hubs: Arc<Hubs>) {
    while let Some(Ok(frame)) = socket.recv().await {
        let Frame::Text(text) = frame else {
            continue;
        };
        let response = match serde_json::from_str::<AdminRequest>(&text) {
            Ok(request) => {
                info!(?request, "admin request");
                let hubs = hubs.clone();
                tokio::task::spawn_blocking(move || admin::handle(&hubs, request))
                    .await
                    .unwrap_or_else(|e| AdminResponse::Failed {
                        error: format!("admin task failed: {e}"),
                    })
            }
            Err(error) => AdminResponse::Failed {
                error: format!("invalid admin request: {error}"),
            },
        };
        let json = serde_json::to_string(&response).unwrap_or_default();
        if socket.send(Frame::Text(json.into())).await.is_err() {
            return;
        }
    }
}

/// Writes `value` as JSON to `path`, readable by its owner only.
fn write_private(path: &Path, value: &AdminEndpoint) -> std::io::Result<()> {
    use std::io::Write;
    let json = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(&json)?;
    file.sync_all()
}
