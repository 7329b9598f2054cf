//! samod 0.16, the Rust automerge-repo, as a peer: a samod [`Repo`] serving websockets on
//! loopback with its filesystem storage in a temporary directory, on a runtime of its own. A
//! samod client repo pushes the exported workspace to it under the export's ids, a fresh one
//! fetches every document by those ids, and then our client fetches the workspace from it.
//!
//! Both ends speak websockets through the harness's own tokio-tungstenite: samod's `tungstenite`
//! feature would bring an older tungstenite and OpenSSL for the same binary frames. What samod
//! does with the frames is its own code: [`Repo::make_acceptor`] on the server and
//! [`Repo::dial`] on the clients, each given a [`Transport`].
//!
//! Like the JavaScript clients, each client keeps at most [`IN_FLIGHT`] documents on their way
//! at once, has [`LIMIT_SECONDS`] for connecting and its work, and reports how many documents
//! it finished within them.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow};
use futures_util::future::{BoxFuture, ready};
use futures_util::{SinkExt, StreamExt, stream};
use samod::storage::{Storage, StorageKey, TokioFilesystemStorage};
use samod::{
    AcceptorHandle, BackoffConfig, ConnectionId, DialError, Dialer, DocumentId, Repo, ShareConfig,
    Transport, Url,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message as Frame};

use super::{Export, LIMIT_SECONDS, Measured, Reported, accounts, our_client};
use crate::lab::Lab;
use crate::stats::{Row, millis};

/// Documents on their way at once, as `client.mjs` keeps them.
const IN_FLIGHT: usize = 100;
/// How long a repo may take to flush its storage and stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const NAME: &str = "samod 0.16 (Rust automerge-repo)";

pub(super) fn run(lab: &mut Lab, export: &Export, ours: f64) -> anyhow::Result<Vec<Row>> {
    let documents = read_documents(export)?;
    let storage = tempfile::tempdir()?;
    let server = SamodServer::start(storage.path())?;
    let push = lab.runtime.block_on(push(&server.url, &documents))?;
    let ids: Vec<DocumentId> = documents.into_iter().map(|(id, _)| id).collect();
    let fetch = lab.runtime.block_on(fetch(&server.url, &ids))?;
    let through = our_client(lab, &server.url, export)?;
    server.stop();
    let measured = Measured {
        push,
        fetch,
        through,
    };
    let size = accounts(lab.sizes.accounts);
    Ok(measured.rows(NAME, "samod", size, export.count, ours))
}

/// Every exported document: its id as samod has it, and its saved bytes.
fn read_documents(export: &Export) -> anyhow::Result<Vec<(DocumentId, Vec<u8>)>> {
    let docs = export.docs();
    export
        .ids
        .iter()
        .map(|id| {
            let path = docs.join(format!("{id}.automerge"));
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let id = DocumentId::try_from(id.as_bytes().to_vec())
                .map_err(|e| anyhow!("document id {id} for samod: {e}"))?;
            Ok((id, bytes))
        })
        .collect()
}

/// A samod repo serving websockets on 127.0.0.1, with a runtime of its own so that its work
/// does not queue behind the clients'.
struct SamodServer {
    runtime: Runtime,
    repo: Repo,
    /// `ws://127.0.0.1:PORT`.
    url: String,
}

impl SamodServer {
    /// A sync server as the stock JavaScript one is: it keeps what it is sent and answers
    /// requests, and announces nothing of its own.
    fn start(storage: &Path) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("samod-server")
            .build()
            .context("starting the samod server's runtime")?;
        let (repo, url) = runtime.block_on(async {
            let repo = Repo::builder(tokio::runtime::Handle::current())
                .with_storage(TokioFilesystemStorage::new(storage))
                .with_share_policy(ShareConfig::read_write().with_announce(false))
                .load()
                .await;
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("ws://{}", listener.local_addr()?);
            let acceptor = repo.make_acceptor(Url::parse(&url)?)?;
            tokio::spawn(accept_websockets(listener, acceptor));
            anyhow::Ok((repo, url))
        })?;
        Ok(Self { runtime, repo, url })
    }

    /// Stops the repo (it writes what it still holds), then its runtime. A repo that does not
    /// stop in time is reported and its runtime shut down regardless, as a lingering JavaScript
    /// server is killed: the figures are taken by then.
    fn stop(self) {
        let repo = self.repo;
        let stopped = self
            .runtime
            .block_on(async { tokio::time::timeout(STOP_TIMEOUT, repo.stop()).await });
        if stopped.is_err() {
            eprintln!("samod server: not stopped within {STOP_TIMEOUT:?}");
        }
        self.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

/// Upgrades every connection to a websocket and hands it to the repo.
async fn accept_websockets(listener: TcpListener, acceptor: AcceptorHandle) {
    while let Ok((tcp, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // Small messages go out at once, as Node's `ws` and our relay send them.
            if let Err(error) = tcp.set_nodelay(true) {
                eprintln!("samod server: TCP_NODELAY: {error}");
            }
            let accepted = match tokio_tungstenite::accept_async(tcp).await {
                Ok(socket) => acceptor.accept(websocket_transport(socket)).map(drop),
                Err(error) => return eprintln!("samod server: websocket handshake: {error}"),
            };
            if let Err(stopped) = accepted {
                eprintln!("samod server: {stopped}");
            }
        });
    }
}

/// A websocket as samod's byte transport: one automerge-repo message per binary frame, as
/// samod's own websocket support and the JavaScript adapters send them.
fn websocket_transport<S>(socket: WebSocketStream<S>) -> Transport
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, frames) = socket.split();
    let incoming = frames.filter_map(|frame| {
        ready(match frame {
            Ok(Frame::Binary(bytes)) => Some(Ok(bytes.to_vec())),
            Ok(Frame::Text(_)) => Some(Err(tungstenite::Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a text frame where automerge-repo sends binary ones",
            )))),
            // Pings are answered by tungstenite; a close ends the stream after it.
            Ok(Frame::Ping(_) | Frame::Pong(_) | Frame::Close(_) | Frame::Frame(_)) => None,
            Err(error) => Some(Err(error)),
        })
    });
    let outgoing =
        sink.with(|bytes: Vec<u8>| ready(Ok::<_, tungstenite::Error>(Frame::Binary(bytes.into()))));
    Transport::new(incoming, outgoing)
}

/// Dials the server's websocket; samod reconnects through it if the connection drops.
struct WebsocketDialer {
    url: Url,
}

impl Dialer for WebsocketDialer {
    type Error = std::convert::Infallible;

    fn url(&self) -> Url {
        self.url.clone()
    }

    fn connect(&self) -> BoxFuture<'static, Result<Transport, DialError<Self::Error>>> {
        let url = self.url.to_string();
        Box::pin(async move {
            let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
                .await
                .map_err(DialError::transient)?;
            Ok(websocket_transport(socket))
        })
    }
}

/// A samod client repo: filesystem storage in its own temporary directory, as a durable client
/// would have, and the connection to the server once the server has answered the handshake.
struct SamodClient {
    repo: Repo,
    connection: ConnectionId,
    _dir: tempfile::TempDir,
}

impl SamodClient {
    /// A client over `dir`'s storage, connected to `url` by `deadline`.
    async fn connect(dir: tempfile::TempDir, url: &str, deadline: Instant) -> anyhow::Result<Self> {
        let repo = Repo::build_tokio()
            .with_storage(TokioFilesystemStorage::new(dir.path()))
            .load()
            .await;
        let dialer = WebsocketDialer {
            url: Url::parse(url)?,
        };
        let handle = repo.dial(BackoffConfig::default(), Arc::new(dialer))?;
        tokio::time::timeout_at(deadline, handle.established())
            .await
            .map_err(|_| anyhow!("no connection to {url} within {LIMIT_SECONDS} s"))??;
        let connection = handle
            .connection_id()
            .ok_or_else(|| anyhow!("the connection to {url} dropped at once"))?;
        Ok(Self {
            repo,
            connection,
            _dir: dir,
        })
    }

    /// Stops the repo, bounded: a repo still waiting on documents may not stop at all.
    async fn stop(self) {
        if tokio::time::timeout(STOP_TIMEOUT, self.repo.stop())
            .await
            .is_err()
        {
            eprintln!("samod client: not stopped within {STOP_TIMEOUT:?}");
        }
    }
}

/// Runs `one` on every id, [`IN_FLIGHT`] at a time, until all are done or `deadline` passes:
/// how many `one` counted done, and the milliseconds it took.
async fn each_in_flight<F, Fut>(ids: &[DocumentId], deadline: Instant, one: F) -> Reported
where
    F: Fn(DocumentId) -> Fut,
    Fut: Future<Output = bool>,
{
    let done = AtomicU64::new(0);
    let started = Instant::now();
    let all = stream::iter(ids.iter().cloned()).for_each_concurrent(IN_FLIGHT, |id| {
        let finished = one(id);
        let done = &done;
        async move {
            if finished.await {
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let _ = tokio::time::timeout_at(deadline, all).await;
    Reported {
        done: done.load(Ordering::Relaxed),
        ms: millis(started.elapsed()),
    }
}

/// A client holding every document pushes them: each is found in its storage (where they were
/// put under the export's ids before the clock starts, samod having no import under a given
/// id) and is done once the server's sync state says it has all our changes.
async fn push(url: &str, documents: &[(DocumentId, Vec<u8>)]) -> anyhow::Result<Reported> {
    let dir = tempfile::tempdir()?;
    import(dir.path(), documents).await?;
    let deadline = Instant::now() + Duration::from_secs(LIMIT_SECONDS);
    let client = SamodClient::connect(dir, url, deadline).await?;
    let ids: Vec<DocumentId> = documents.iter().map(|(id, _)| id.clone()).collect();
    let (repo, connection) = (&client.repo, client.connection);
    let reported = each_in_flight(&ids, deadline, |id| async move {
        match repo.find(id.clone()).await {
            Ok(Some(handle)) => {
                handle.they_have_our_changes(connection).await;
                true
            }
            Ok(None) => {
                eprintln!("samod push: {id} is not in the client's storage");
                false
            }
            Err(stopped) => {
                eprintln!("samod push: {id}: {stopped}");
                false
            }
        }
    })
    .await;
    client.stop().await;
    Ok(reported)
}

/// Puts each document into samod's filesystem storage in `dir` as a snapshot under its id,
/// where a repo over `dir` finds it (the layout of automerge-repo's nodefs storage).
async fn import(dir: &Path, documents: &[(DocumentId, Vec<u8>)]) -> anyhow::Result<()> {
    let storage = TokioFilesystemStorage::new(dir);
    for (id, bytes) in documents {
        let key = StorageKey::from_parts([id.to_string().as_str(), "snapshot", "imported"])
            .map_err(|e| anyhow!("a storage key for {id}: {e}"))?;
        storage.put(key, bytes.clone()).await;
    }
    Ok(())
}

/// A fresh client finds every id; a document is done once it is ready with content.
async fn fetch(url: &str, ids: &[DocumentId]) -> anyhow::Result<Reported> {
    let deadline = Instant::now() + Duration::from_secs(LIMIT_SECONDS);
    let client = SamodClient::connect(tempfile::tempdir()?, url, deadline).await?;
    let repo = &client.repo;
    let reported = each_in_flight(ids, deadline, |id| async move {
        match repo.find(id.clone()).await {
            Ok(Some(handle)) => {
                let empty = handle.with_document(|doc| doc.get_heads().is_empty());
                if empty {
                    eprintln!("samod fetch: {id} came back empty");
                }
                !empty
            }
            Ok(None) => {
                eprintln!("samod fetch: the server does not have {id}");
                false
            }
            Err(stopped) => {
                eprintln!("samod fetch: {id}: {stopped}");
                false
            }
        }
    })
    .await;
    client.stop().await;
    Ok(reported)
}
