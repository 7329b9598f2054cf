//! Light protocol peers: a real `rapport_sync::Session` over in-memory documents, on a raw
//! websocket, announcing no extension (so the relay treats each as a plain automerge-repo peer,
//! as it would a browser tab). They stand in for the hundreds of connections a workload needs
//! where a replica in a temporary directory each would measure the harness, not the relay.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, Stream, StreamExt};
use rapport_model::DocumentId;
use rapport_proto::{Message, PeerId, PeerMetadata, decode, encode};
use rapport_sync::{MemoryDocuments, Session};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How many peers connect at once (the listener's backlog is finite).
const CONNECT_AT_ONCE: usize = 64;
/// How long one connection and handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The nice value of the threads that do the peers' own work when they yield: the lowest
/// CPU priority there is.
const YIELDING_NICE: i32 = 19;

/// Where the peers of a crowd do their own work on what they receive (decode it, apply it to
/// their copy of the document, answer). Each peer's socket is always read, and what it reads
/// stamped, by a task on the harness's runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerWork {
    /// On the harness's runtime, at the relay's CPU priority: on this machine, a thousand
    /// peers' work competes with the relay for the same two cores.
    Alongside,
    /// On a runtime of the crowd's own whose threads have the lowest CPU priority: they run
    /// on whatever the relay and the readers leave, as if the peers were on machines of their
    /// own; the relay still gets every answer, only later.
    Yielding,
}

/// What a peer reports to the workload.
#[derive(Debug)]
pub enum PeerEvent {
    /// Documents changed by what arrived, and when that was.
    Changed {
        /// The documents.
        ids: Vec<DocumentId>,
        /// When the message that changed them was read off the socket.
        at: Instant,
    },
    /// Everything asked for is held, the same as the relay's.
    Settled,
    /// The connection failed; the workload fails with it.
    Failed(String),
}

/// A crowd of light peers of one workspace.
pub struct Crowd {
    wants: Vec<mpsc::UnboundedSender<DocumentId>>,
    events: mpsc::UnboundedReceiver<PeerEvent>,
    tasks: Vec<JoinHandle<()>>,
    /// The runtime of the peers' own work, when it yields.
    yielding: Option<Runtime>,
}

impl Crowd {
    /// Connects `count` peers to `url` with `token`, each through the handshake; their own
    /// work is done as `work` says.
    pub async fn connect(
        url: &str,
        token: &str,
        count: usize,
        work: PeerWork,
    ) -> anyhow::Result<Self> {
        let (report, events) = mpsc::unbounded_channel();
        let yielding = match work {
            PeerWork::Alongside => None,
            PeerWork::Yielding => Some(yielding_runtime().await?),
        };
        let mut crowd = Self {
            wants: Vec::with_capacity(count),
            events,
            tasks: Vec::with_capacity(2 * count),
            yielding,
        };
        let mut index = 0;
        while index < count {
            let wave = CONNECT_AT_ONCE.min(count - index);
            let handshakes = (0..wave).map(|i| handshake(url, token, index + i));
            for joined in futures_util::future::join_all(handshakes).await {
                let (socket, session) = joined?;
                let (want, wants) = mpsc::unbounded_channel();
                let (sink, stream) = socket.split();
                let (inbox, read) = mpsc::unbounded_channel();
                crowd.tasks.push(tokio::spawn(read_into(stream, inbox)));
                let work = run(sink, read, session, wants, report.clone());
                crowd.tasks.push(match &crowd.yielding {
                    Some(runtime) => runtime.spawn(work),
                    None => tokio::spawn(work),
                });
                crowd.wants.push(want);
            }
            index += wave;
        }
        Ok(crowd)
    }

    /// Has every peer sync document `id`, and waits until all hold what the relay holds.
    pub async fn fetch_all(&mut self, id: DocumentId, timeout: Duration) -> anyhow::Result<()> {
        for want in &self.wants {
            want.send(id)
                .map_err(|_| anyhow!("a light peer has stopped"))?;
        }
        let mut settled = 0;
        let deadline = tokio::time::Instant::now() + timeout;
        while settled < self.wants.len() {
            match self.next_event(deadline).await? {
                PeerEvent::Settled => settled += 1,
                PeerEvent::Changed { .. } => {}
                PeerEvent::Failed(reason) => bail!("a light peer failed: {reason}"),
            }
        }
        Ok(())
    }

    /// When each peer saw document `id` change, waiting at most until `timeout` from now.
    pub async fn arrivals(
        &mut self,
        id: DocumentId,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Instant>> {
        let mut seen = Vec::with_capacity(self.wants.len());
        let deadline = tokio::time::Instant::now() + timeout;
        while seen.len() < self.wants.len() {
            match self.next_event(deadline).await.with_context(|| {
                format!(
                    "{} of {} peers received the note",
                    seen.len(),
                    self.wants.len()
                )
            })? {
                PeerEvent::Changed { ids, at } if ids.contains(&id) => seen.push(at),
                PeerEvent::Changed { .. } | PeerEvent::Settled => {}
                PeerEvent::Failed(reason) => bail!("a light peer failed: {reason}"),
            }
        }
        Ok(seen)
    }

    async fn next_event(&mut self, deadline: tokio::time::Instant) -> anyhow::Result<PeerEvent> {
        match tokio::time::timeout_at(deadline, self.events.recv()).await {
            Ok(Some(event)) => Ok(event),
            Ok(None) => bail!("every light peer stopped"),
            Err(_) => bail!("timed out waiting for the light peers"),
        }
    }
}

impl Drop for Crowd {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        // Dropped inside the harness's runtime, where a runtime may not block to shut down.
        if let Some(runtime) = self.yielding.take() {
            runtime.shutdown_background();
        }
    }
}

/// A runtime whose threads run at the lowest CPU priority, checked: a crowd meant to yield
/// that did not would measure something else.
async fn yielding_runtime() -> anyhow::Result<Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("bench-peer-work")
        .on_thread_start(|| {
            // Linux keeps a nice value per thread; failing here is caught just below.
            let _ = rustix::process::setpriority_process(None, YIELDING_NICE);
        })
        .enable_all()
        .build()
        .context("the light peers' runtime")?;
    let niceness: Vec<_> = (0..cores)
        .map(|_| runtime.spawn(async { rustix::process::getpriority_process(None) }))
        .collect();
    for nice in niceness {
        let nice = nice.await.context("reading a peer thread's priority")?;
        if nice.ok() != Some(YIELDING_NICE) {
            runtime.shutdown_background();
            bail!("the light peers' threads could not lower their priority: {nice:?}");
        }
    }
    Ok(runtime)
}

/// Connects peer `index` and completes the handshake.
pub(crate) async fn handshake(
    url: &str,
    token: &str,
    index: usize,
) -> anyhow::Result<(Socket, Session)> {
    let connecting = async {
        let mut request = url.into_client_request()?;
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))?;
        request.headers_mut().insert("authorization", bearer);
        // The clients' own read buffer, so that a thousand light peers on the relay's machine
        // do not spend its cores zero-filling the library's default of 128 KiB per read.
        let config = WebSocketConfig::default().read_buffer_size(rapport_proto::READ_BUFFER_BYTES);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
        let me = PeerId::new(format!("bench-light-{index}"))
            .ok_or_else(|| anyhow!("invalid peer id"))?;
        let (mut session, join) = Session::initiate(me, PeerMetadata::default());
        socket.send(Frame::Binary(encode(&join).into())).await?;
        let mut docs = MemoryDocuments::default();
        while session.remote().is_none() {
            let message = next_message(&mut socket).await?;
            let outcome = session.receive(message, &mut docs)?;
            if let Some(reason) = outcome.closed {
                bail!("the relay closed the handshake: {reason}");
            }
        }
        Ok::<_, anyhow::Error>((socket, session))
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
        .await
        .map_err(|_| anyhow!("light peer {index} did not connect within {HANDSHAKE_TIMEOUT:?}"))?
        .with_context(|| format!("light peer {index}"))
}

/// Reads one peer's socket, stamping each message as it is read, until the socket fails.
async fn read_into(
    mut stream: SplitStream<Socket>,
    inbox: mpsc::UnboundedSender<(anyhow::Result<Message>, Instant)>,
) {
    loop {
        let message = next_message(&mut stream).await;
        // Stamped as it is read, before this peer's own work on it: on a machine shared with a
        // thousand peers, their CPU would otherwise count as the relay's delay.
        let read = Instant::now();
        let failed = message.is_err();
        if inbox.send((message, read)).is_err() || failed {
            return;
        }
    }
}

type Sink = SplitSink<Socket, Frame>;

/// One peer's own work, until its connection fails or it is aborted.
async fn run(
    mut sink: Sink,
    mut read: mpsc::UnboundedReceiver<(anyhow::Result<Message>, Instant)>,
    mut session: Session,
    mut wants: mpsc::UnboundedReceiver<DocumentId>,
    report: mpsc::UnboundedSender<PeerEvent>,
) {
    let mut docs = MemoryDocuments::default();
    let mut fetching = false;
    let ended = loop {
        let step = tokio::select! {
            message = read.recv() => match message {
                Some((Ok(message), at)) => {
                    receive(&mut sink, &mut session, &mut docs, message, at, &report).await
                }
                Some((Err(error), _)) => Err(error),
                None => Err(anyhow!("the peer's reader stopped")),
            },
            Some(id) = wants.recv() => {
                fetching = true;
                want(&mut sink, &mut session, &mut docs, id).await
            }
        };
        if let Err(error) = step {
            break error;
        }
        if fetching && session.settled() {
            fetching = false;
            let _ = report.send(PeerEvent::Settled);
        }
    };
    let _ = report.send(PeerEvent::Failed(format!("{ended:#}")));
}

async fn receive(
    sink: &mut Sink,
    session: &mut Session,
    docs: &mut MemoryDocuments,
    message: Message,
    read: Instant,
    report: &mpsc::UnboundedSender<PeerEvent>,
) -> anyhow::Result<()> {
    let outcome = session.receive(message, docs)?;
    if !outcome.changed.is_empty() {
        let _ = report.send(PeerEvent::Changed {
            ids: outcome.changed,
            at: read,
        });
    }
    for message in &outcome.send {
        sink.send(Frame::Binary(encode(message).into())).await?;
    }
    match outcome.closed {
        Some(reason) => bail!("the relay closed the connection: {reason}"),
        None => Ok(()),
    }
}

async fn want(
    sink: &mut Sink,
    session: &mut Session,
    docs: &mut MemoryDocuments,
    id: DocumentId,
) -> anyhow::Result<()> {
    for message in session.sync_document(id, docs)? {
        sink.send(Frame::Binary(encode(&message).into())).await?;
    }
    Ok(())
}

/// The next protocol message (pings are answered by tungstenite on the way).
pub(crate) async fn next_message<S>(socket: &mut S) -> anyhow::Result<Message>
where
    S: Stream<Item = Result<Frame, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match socket.next().await {
            None => bail!("the relay dropped the connection"),
            Some(frame) => match frame? {
                Frame::Binary(bytes) => return Ok(decode(&bytes)?),
                Frame::Close(frame) => bail!("the relay closed the connection: {frame:?}"),
                _ => {}
            },
        }
    }
}
