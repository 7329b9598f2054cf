//! The websocket itself: connecting with a token (over TLS for `wss://`), framing protocol
//! messages, and the admin endpoint's one-shot exchange.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use rapport_proto::{Message, PeerId, decode, encode};
use rapport_store::Remote;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tracing::warn;

use super::{LinkError, connection, trust};

/// The largest websocket message accepted from the relay.
const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a link reaches its relay: the URL, the token to present, and for a `wss://` URL the TLS
/// settings, made once and used by every reconnection.
pub(super) struct Dialer {
    url: String,
    token: Option<String>,
    tls: Option<Arc<ClientConfig>>,
}

impl Dialer {
    /// Reads the system's root certificates for a `wss://` remote; fails on a CA certificate
    /// that cannot be used.
    pub(super) async fn new(remote: &Remote) -> Result<Self, LinkError> {
        let tls = if remote.url.starts_with("wss://") {
            let extra_ca = remote.ca_cert.clone();
            let config = connection::blocking(move || trust::client_config(extra_ca.as_deref()));
            Some(config.await??)
        } else {
            None
        };
        Ok(Self {
            url: remote.url.clone(),
            token: remote.token.clone(),
            tls,
        })
    }

    /// Opens a websocket to the relay.
    pub(super) async fn connect(&self) -> Result<Socket, LinkError> {
        connect(&self.url, self.token.as_deref(), self.tls.clone()).await
    }
}

/// Opens a websocket to `url`, presenting `token` as a bearer token, over TLS with `tls` for a
/// `wss://` URL.
async fn connect(
    url: &str,
    token: Option<&str>,
    tls: Option<Arc<ClientConfig>>,
) -> Result<Socket, LinkError> {
    let bad_url = |reason: String| LinkError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(bad_url("it must start with ws:// or wss://".into()));
    }
    let mut request = url
        .into_client_request()
        .map_err(|e| bad_url(e.to_string()))?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| bad_url("the token has characters a header cannot carry".into()))?;
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(rapport_proto::READ_BUFFER_BYTES)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let connector = tls.map(Connector::Rustls);
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, connector);
    match connecting.await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) if response.status() == 401 => {
            Err(LinkError::Refused {
                url: url.to_owned(),
            })
        }
        Err(tungstenite::Error::Http(response)) => Err(LinkError::Unreachable {
            url: url.to_owned(),
            reason: refusal(response.status(), response.body().as_deref()),
        }),
        Err(tungstenite::Error::Url(error)) => Err(bad_url(error.to_string())),
        Err(tungstenite::Error::Io(error)) => Err(trust::connect_failure(url, error)),
        Err(error) => Err(LinkError::Unreachable {
            url: url.to_owned(),
            reason: error.to_string(),
        }),
    }
}

pub(super) async fn send(socket: &mut Socket, message: &Message) -> Result<(), LinkError> {
    socket
        .send(Frame::Binary(encode(message).into()))
        .await
        .map_err(closed)
}

/// The next protocol message; pings and pongs are handled on the way.
pub(super) async fn next_message(socket: &mut Socket) -> Result<Message, LinkError> {
    loop {
        if let Some(message) = frame_message(socket.next().await)? {
            return Ok(message);
        }
    }
}

/// A protocol message that has already arrived, without waiting; pings and pongs are handled
/// on the way.
pub(super) fn ready_message(socket: &mut Socket) -> Result<Option<Message>, LinkError> {
    loop {
        let Some(frame) = socket.next().now_or_never() else {
            return Ok(None);
        };
        if let Some(message) = frame_message(frame)? {
            return Ok(Some(message));
        }
    }
}

/// Messages read off the socket while the link was busy with work of its own, in the order they
/// came; a read error ends the reading and waits its turn like a message.
#[derive(Default)]
pub(super) struct Inbox {
    waiting: VecDeque<Result<Message, LinkError>>,
    failed: bool,
}

impl Inbox {
    /// Forgets what a previous connection left.
    pub(super) fn clear(&mut self) {
        self.waiting.clear();
        self.failed = false;
    }

    /// The next protocol message: the first one read while busy, else the socket's next.
    pub(super) async fn next(&mut self, socket: &mut Socket) -> Result<Message, LinkError> {
        match self.waiting.pop_front() {
            Some(message) => message,
            None => next_message(socket).await,
        }
    }

    /// A protocol message that has already arrived, without waiting.
    pub(super) fn ready(&mut self, socket: &mut Socket) -> Result<Option<Message>, LinkError> {
        match self.waiting.pop_front() {
            Some(message) => message.map(Some),
            None if self.failed => Ok(None),
            None => ready_message(socket),
        }
    }

    /// Runs `work` to its end while reading the socket, keeping what arrives for later. Reading
    /// is what answers the peer's pings (the websocket library does it on the way), and a peer
    /// that pings, as the JavaScript sync servers do every 5 s, drops a connection whose pong
    /// comes late: a long batch of work must not leave the socket unread.
    pub(super) async fn while_busy<T>(
        &mut self,
        socket: &mut Socket,
        work: impl Future<Output = T>,
    ) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                done = &mut work => return done,
                frame = socket.next(), if !self.failed => match frame_message(frame) {
                    Ok(Some(message)) => self.waiting.push_back(Ok(message)),
                    Ok(None) => {}
                    Err(error) => {
                        self.failed = true;
                        self.waiting.push_back(Err(error));
                    }
                },
            }
        }
    }
}

/// Why the relay refused the upgrade: its status, and the reason its JSON body gives (the
/// relay answers `{"error": "..."}`; another server's body is not shown).
fn refusal(status: tungstenite::http::StatusCode, body: Option<&[u8]>) -> String {
    let reason = body
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(body).ok())
        .and_then(|json| json.get("error")?.as_str().map(str::to_owned));
    match reason {
        Some(reason) => format!("HTTP {status}: {reason}"),
        None => format!("HTTP {status}"),
    }
}

/// The protocol message a frame carries; `None` for frames that carry none.
fn frame_message(
    frame: Option<Result<Frame, tungstenite::Error>>,
) -> Result<Option<Message>, LinkError> {
    let frame = frame.ok_or_else(|| LinkError::Closed {
        reason: "connection dropped".into(),
    })?;
    match frame.map_err(closed)? {
        Frame::Binary(bytes) => decode(&bytes).map(Some).map_err(|e| LinkError::Protocol {
            reason: e.to_string(),
        }),
        Frame::Close(frame) => Err(LinkError::Closed {
            reason: frame.map_or_else(|| "closed".into(), |f| f.reason.to_string()),
        }),
        Frame::Text(_) => {
            warn!("ignoring a text frame from the relay");
            Ok(None)
        }
        Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => Ok(None),
    }
}

pub(super) fn closed(error: tungstenite::Error) -> LinkError {
    LinkError::Closed {
        reason: error.to_string(),
    }
}

pub(super) fn peer_id() -> PeerId {
    let id = format!("rapport-{:016x}", rand::random::<u64>());
    PeerId::new(id).unwrap_or_else(|| unreachable!("a fixed-shape id is valid"))
}

/// Sends one request to a running relay's admin endpoint and returns its answer.
pub async fn admin(
    endpoint: &rapport_proto::AdminEndpoint,
    request: &rapport_proto::AdminRequest,
) -> Result<rapport_proto::AdminResponse, LinkError> {
    // On loopback, plain: the relay's TLS is for its public listener only.
    let mut socket = connect(&endpoint.url, Some(&endpoint.secret), None).await?;
    let json = serde_json::to_string(request).map_err(|e| LinkError::Protocol {
        reason: e.to_string(),
    })?;
    socket
        .send(Frame::Text(json.into()))
        .await
        .map_err(closed)?;
    loop {
        let frame = socket.next().await.ok_or_else(|| LinkError::Closed {
            reason: "the admin endpoint hung up".into(),
        })?;
        if let Frame::Text(text) = frame.map_err(closed)? {
            let _ = socket.close(None).await;
            return serde_json::from_str(&text).map_err(|e| LinkError::Protocol {
                reason: format!("admin answer: {e}"),
            });
        }
    }
}
