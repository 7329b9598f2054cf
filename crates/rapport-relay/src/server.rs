//! The relay's HTTP side: the websocket endpoint at `/` (authenticated at the upgrade),
//! `/healthz`, the loopback admin endpoint, and graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use rapport_proto::{ADMIN_FILE, AdminEndpoint, AdminRequest, AdminResponse, PeerId};
use rapport_store::{OpenError, RelayStore, StoreError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::admin;
use crate::admission::{FailedLogins, OpenConnections, Source, TokenSlot};
use crate::auth::{Member, Token};
use crate::connection;
use crate::handshake::{Handshake, HandshakeListener};
use crate::hub::Hubs;
use crate::rate::RateLimit;
use crate::tls::TlsIdentity;
use crate::webhooks::{self, WebhookConfig};

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
    /// How long a connection has, from the TCP accept, to upgrade to a websocket and send
    /// `join`; one that has not is closed (a slow or silent HTTP request, a socket that never
    /// joins). Other HTTP connections (`/healthz`) last at most this long too.
    pub handshake_timeout: Duration,
    /// How often a source may fail to authenticate (a wrong or unknown token): past it, its
    /// upgrade attempts get `429 Too Many Requests` without their token being looked at. A
    /// source is an IPv4 address or an IPv6 /64 network; behind a proxy, all clients are one.
    pub failed_logins_per_source: RateLimit,
    /// How many connections one token may hold open at once; one more gets
    /// `429 Too Many Requests`.
    pub max_connections_per_token: usize,
    /// How many sockets the public listener holds open at once, whatever their stage (TLS,
    /// HTTP, websocket); past it a new one is closed as soon as it is accepted. Keep it under
    /// the process's file descriptor limit.
    pub max_open_connections: usize,
    /// How often a connection may ask for documents its workspace does not have (each
    /// answered `doc-unavailable`); past it, the relay reads nothing more from that connection
    /// until it is within the limit again.
    pub unknown_documents_per_connection: RateLimit,
    /// The certificate and key the public listener serves TLS with (`wss://`); `None`: plain
    /// `ws://`. The admin endpoint, on loopback, stays plain either way.
    pub tls: Option<TlsIdentity>,
    /// How webhook deliveries are bounded, retried and trusted.
    pub webhooks: WebhookConfig,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024 * 1024,
            ping_interval: Duration::from_secs(20),
            cache_documents: 1024,
            shutdown_grace: Duration::from_secs(5),
            event_backlog: 4096,
            handshake_timeout: Duration::from_secs(10),
            // Ten wrong tokens at once, then one a minute: a brute force of a 24-byte secret
            // gets nowhere, a person who mistyped waits a minute.
            failed_logins_per_source: RateLimit {
                burst: 10,
                refill_every: Duration::from_secs(60),
            },
            // A member's devices and windows; the sync of one replica needs one.
            max_connections_per_token: 64,
            // Well under the usual limits on open files, with room for redb and the admin end.
            max_open_connections: 8192,
            // An automerge-repo peer asking for a few hundred ids it holds from elsewhere goes
            // through at once; a flood is answered a hundred a second.
            unknown_documents_per_connection: RateLimit {
                burst: 1024,
                refill_every: Duration::from_millis(10),
            },
            tls: None,
            webhooks: WebhookConfig::default(),
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
    failed_logins: Arc<FailedLogins>,
    open: Arc<OpenConnections>,
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
        Ok(Self::with_store(RelayStore::open(dir)?, config))
    }

    /// A relay over a store already open (one on a test's failing disk, say); its data
    /// directory is the store's.
    pub fn with_store(store: RelayStore, config: RelayConfig) -> Self {
        let dir = store
            .path()
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default();
        let store = Arc::new(store.with_outbox_limit(config.webhooks.outbox_per_workspace));
        let (stop, shutdown) = watch::channel(false);
        let peer_id = PeerId::new(format!(
            "rapport-relay-{}",
            bs58::encode(rand::random::<[u8; 8]>()).into_string()
        ))
        .unwrap_or_else(|| unreachable!("a fixed-shape id is valid"));
        let cache = config.cache_documents;
        let hubs = Arc::new(Hubs::new(store, cache).with_event_backlog(config.event_backlog));
        hubs.check_unchecked();
        Self {
            state: RelayState {
                hubs,
                failed_logins: Arc::new(FailedLogins::new(config.failed_logins_per_source)),
                open: Arc::new(OpenConnections::default()),
                config: Arc::new(config),
                shutdown,
                peer_id,
                connections: Arc::new(AtomicUsize::new(0)),
            },
            stop,
            dir,
        }
    }

    /// The workspaces and their members' tokens (to invite or revoke in-process).
    pub fn hubs(&self) -> &Arc<Hubs> {
        &self.state.hubs
    }

    /// The public router: the websocket endpoint and `/healthz`. The handshake deadline and
    /// the holding off of sources that fail to authenticate need to know the socket: they apply
    /// when it is served by [`Relay::serve`].
    pub fn app(&self) -> Router {
        Router::new()
            .route("/", get(websocket))
            .route("/healthz", get(healthz))
            .with_state(self.state.clone())
    }

    /// Serves members on `public` and the admin endpoint on `admin` (which should be a
    /// loopback address) until `signal` resolves: [`Relay::listen`], then [`Listening::serve`].
    pub async fn serve(
        self,
        public: TcpListener,
        admin: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RelayError> {
        self.listen(public, admin)?.serve(signal).await
    }

    /// Takes the listeners and writes `admin.json` in the data directory, which says where the
    /// admin endpoint is: once this returns, admin commands reach the relay, so a caller
    /// announces that the relay is up only after it.
    pub fn listen(self, public: TcpListener, admin: TcpListener) -> Result<Listening, RelayError> {
        let secret = bs58::encode(rand::random::<[u8; 24]>()).into_string();
        let endpoint = AdminEndpoint {
            url: format!("ws://{}/admin", admin.local_addr()?),
            secret: secret.clone(),
        };
        let admin_file = self.dir.join(ADMIN_FILE);
        write_private(&admin_file, &endpoint)?;
        Ok(Listening {
            relay: self,
            public,
            admin,
            secret,
            admin_file,
        })
    }
}

/// A relay holding its listeners, its admin endpoint advertised: see [`Relay::listen`].
pub struct Listening {
    relay: Relay,
    public: TcpListener,
    admin: TcpListener,
    secret: String,
    admin_file: PathBuf,
}

impl Listening {
    /// The address members connect to.
    pub fn public_address(&self) -> std::io::Result<std::net::SocketAddr> {
        self.public.local_addr()
    }

    /// Serves members and the admin endpoint until `signal` resolves, then closes every
    /// connection, waiting at most the configured grace period, and removes `admin.json`.
    pub async fn serve(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RelayError> {
        let Listening {
            relay,
            public,
            admin,
            secret,
            admin_file,
        } = self;
        relay.run(public, admin, secret, admin_file, signal).await
    }
}

impl Relay {
    async fn run(
        self,
        public: TcpListener,
        admin: TcpListener,
        secret: String,
        admin_file: PathBuf,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RelayError> {
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
        let config = &self.state.config;
        let tls = config.tls.is_some();
        info!(address = %public.local_addr()?, tls, "relay listening");
        let public = HandshakeListener::new(
            public,
            config.handshake_timeout,
            config.tls.as_ref(),
            config.max_open_connections,
        );
        let public_server = axum::serve(
            public,
            self.app()
                .into_make_service_with_connect_info::<Handshake>(),
        )
        .with_graceful_shutdown(until_stopped(self.state.shutdown.clone()));
        let admin_server = axum::serve(admin, admin_app)
            .with_graceful_shutdown(until_stopped(self.state.shutdown.clone()));
        let webhooks = tokio::spawn(webhooks::run(
            self.state.hubs.store().clone(),
            self.state.hubs.webhook_wake(),
            config.webhooks.clone(),
            self.state.shutdown.clone(),
        ));
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
        // It holds the store: once it is done, the store closes with the relay (stopped here
        // too when a server failed before a shutdown signal).
        let _ = self.stop.send(true);
        let _ = webhooks.await;
        let hubs = self.state.hubs.clone();
        let _ = tokio::task::spawn_blocking(move || hubs.stop_checking()).await;
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
    #[error("too many failed authentications from this address; retry in {retry_after} s")]
    HeldOff { retry_after: u64 },
    #[error("this token already has {limit} connections open, the most the relay allows")]
    TooManyConnections { limit: usize },
    #[error("the relay's storage failed")]
    Storage(#[from] StoreError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::NoToken | AppError::BadToken => StatusCode::UNAUTHORIZED,
            AppError::HeldOff { .. } | AppError::TooManyConnections { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Storage(error) => {
                warn!(%error, "storage failed while authenticating");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let body = serde_json::json!({ "error": self.to_string() }).to_string();
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let AppError::HeldOff { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn websocket(
    State(state): State<RelayState>,
    connect_info: Option<Extension<ConnectInfo<Handshake>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let handshake = connect_info.map(|Extension(ConnectInfo(handshake))| handshake);
    let presented = bearer(&headers).or_else(|| query.get("token").cloned());
    let from = handshake.as_ref().map(|h| h.address.ip());
    let member = authenticate_from(&state, from, presented).await?;
    let limit = state.config.max_connections_per_token;
    let Some(slot) = state.open.admit(&member.token_id, limit) else {
        info!(
            user = %member.user,
            workspace = %member.workspace,
            limit,
            "refused a connection over its token's limit"
        );
        return Err(AppError::TooManyConnections { limit });
    };
    let hub = {
        let hubs = state.hubs.clone();
        let workspace = member.workspace;
        tokio::task::spawn_blocking(move || hubs.hub(workspace))
            .await
            .map_err(|_| AppError::BadToken)??
    };
    let max = state.config.max_frame_bytes;
    let join_by = handshake.as_ref().and_then(|h| h.deadline);
    Ok(upgrade
        .read_buffer_size(rapport_proto::READ_BUFFER_BYTES)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            if let Some(handshake) = &handshake {
                handshake.upgraded();
            }
            let admitted = Admitted {
                member,
                slot,
                join_by,
            };
            connection::serve(socket, hub, admitted, state)
        }))
}

/// A connection let in: who it is, its place under its token's limit, and when it must have
/// joined by.
pub(crate) struct Admitted {
    pub(crate) member: Member,
    pub(crate) slot: TokenSlot,
    pub(crate) join_by: Option<Instant>,
}

/// The member `presented` names, unless the address it comes from (when known) failed too
/// often lately, in which case the token is not even looked at. A wrong token counts against
/// its address.
async fn authenticate_from(
    state: &RelayState,
    from: Option<IpAddr>,
    presented: Option<String>,
) -> Result<Member, AppError> {
    let Some(address) = from else {
        return authenticate(state, &presented.ok_or(AppError::NoToken)?).await;
    };
    let source = Source::from(address);
    let logins = &state.failed_logins;
    let attempt = logins
        .attempt(source, Instant::now())
        .map_err(|wait| AppError::HeldOff {
            retry_after: wait.as_secs_f64().ceil() as u64,
        })?;
    let authenticated = match presented {
        Some(presented) => authenticate(state, &presented).await,
        None => Err(AppError::NoToken),
    };
    let failed = matches!(authenticated, Err(AppError::BadToken));
    logins.outcome(source, attempt, failed, Instant::now());
    if failed && logins.holds_off(source, Instant::now()) {
        warn!(%address, "too many failed authentications; holding the address off");
    }
    authenticated
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
