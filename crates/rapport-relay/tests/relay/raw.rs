//! Raw websockets and hand-made protocol messages, for what a well-behaved client never sends.

use automerge::Automerge;
use automerge::sync::{self as automerge_sync, SyncDoc};
use futures_util::{SinkExt, StreamExt};
use rapport_model::account::{self};
use rapport_model::{Edit, EntryId, Team};
use rapport_proto::{
    DocMessage, Join, Message, PROTOCOL_V1, PeerId, PeerMetadata, WireDocumentId, decode, encode,
};
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{RunningRelay, WAIT, note};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) fn request(url: &str, token: Option<&str>) -> Request {
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    request
}

/// A websocket to the relay that speaks only when the test says so.
pub(crate) async fn connect_raw(relay: &RunningRelay, token: &str) -> Socket {
    let connecting = tokio_tungstenite::connect_async(request(&relay.url, Some(token)));
    let (socket, _) = timeout(WAIT, connecting)
        .await
        .expect("the relay accepts in time")
        .unwrap();
    socket
}

/// The HTTP status the relay turns a connection away with, before any upgrade.
pub(crate) async fn refusal(url: &str, token: Option<&str>) -> StatusCode {
    let connecting = tokio_tungstenite::connect_async(request(url, token));
    match timeout(WAIT, connecting)
        .await
        .expect("the relay answers in time")
    {
        Err(tungstenite::Error::Http(response)) => response.status(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the relay upgraded a connection it should have refused"),
    }
}

/// A TCP connection to the relay from `from` (any 127.x.y.z address reaches it on loopback:
/// another source, as far as the relay can tell).
pub(crate) async fn tcp_from(from: IpAddr, relay: &RunningRelay) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    timeout(WAIT, socket.connect(relay.address))
        .await
        .expect("the relay accepts in time")
        .unwrap()
}

/// A websocket to the relay from `from`, or how the relay refused it.
pub(crate) async fn connect_from(
    from: IpAddr,
    relay: &RunningRelay,
    token: Option<&str>,
) -> Result<Socket, Box<Response>> {
    let tcp = MaybeTlsStream::Plain(tcp_from(from, relay).await);
    let connecting = tokio_tungstenite::client_async(request(&relay.url, token), tcp);
    match timeout(WAIT, connecting)
        .await
        .expect("the relay answers in time")
    {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => Err(response),
        Err(other) => panic!("expected an upgrade or an HTTP refusal, got {other}"),
    }
}

/// The JSON `error` of a refusal's body.
pub(crate) fn refusal_reason(response: &Response) -> String {
    let body = response.body().as_deref().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    json["error"].as_str().unwrap().to_owned()
}

pub(crate) async fn send(socket: &mut Socket, message: &Message) {
    socket
        .send(Frame::Binary(encode(message).into()))
        .await
        .unwrap();
}

/// The next protocol message from the relay; `None` once it closed.
pub(crate) async fn receive(socket: &mut Socket) -> Option<Message> {
    let next = async {
        while let Some(frame) = socket.next().await {
            match frame.unwrap() {
                Frame::Binary(bytes) => return Some(decode(&bytes).unwrap()),
                Frame::Close(_) => return None,
                Frame::Text(text) => panic!("the relay sent a text frame: {text}"),
                Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => {}
            }
        }
        None
    };
    timeout(WAIT, next)
        .await
        .expect("the relay says something in time")
}

/// Sends `join`; returns the relay's peer id from its `peer` answer.
pub(crate) async fn handshake(socket: &mut Socket, me: &PeerId) -> PeerId {
    let join = Message::Join(Join {
        sender_id: me.clone(),
        supported_protocol_versions: vec![PROTOCOL_V1.into()],
        peer_metadata: PeerMetadata::default(),
    });
    send(socket, &join).await;
    match receive(socket).await {
        Some(Message::Peer(peer)) => peer.sender_id,
        other => panic!("expected a peer message, got {other:?}"),
    }
}

/// The `error` message the relay sends before it closes the connection with a close frame.
pub(crate) async fn error_then_close(socket: &mut Socket) -> String {
    let error = match receive(socket).await {
        Some(Message::Error { message }) => message,
        other => panic!("expected an error message, got {other:?}"),
    };
    let closing = async {
        loop {
            match socket.next().await {
                Some(Ok(Frame::Close(_))) => return,
                Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => {}
                other => panic!("expected a close frame after the error, got {other:?}"),
            }
        }
    };
    timeout(WAIT, closing)
        .await
        .expect("the relay closes in time");
    error
}

pub(crate) fn doc_message(
    me: &PeerId,
    relay: &PeerId,
    id: impl Into<WireDocumentId>,
    data: &[u8],
) -> DocMessage {
    DocMessage {
        sender_id: me.clone(),
        target_id: relay.clone(),
        document_id: id.into(),
        data: data.to_vec(),
    }
}

/// The first Automerge sync message of a peer holding nothing: what a `request` carries.
pub(crate) fn empty_document_sync() -> Vec<u8> {
    let mut state = automerge_sync::State::new();
    Automerge::new()
        .generate_sync_message(&mut state)
        .unwrap()
        .encode()
}

/// An Automerge sync message that carries a new note on the account `saved` holds, pushed
/// without waiting to be asked, as only a client ignoring the relay's read-only flag would.
pub(crate) fn pushed_note(saved: &[u8], text: &str, author: &str, team: Team) -> Vec<u8> {
    pushed_alert(saved, text, author, team, &[])
}

/// [`pushed_note`] with the note alerting `alert` (team names or `@user`).
pub(crate) fn pushed_alert(
    saved: &[u8],
    text: &str,
    author: &str,
    team: Team,
    alert: &[&str],
) -> Vec<u8> {
    let mut doc = Automerge::load(saved).unwrap();
    let before = doc.get_heads();
    let edit = Edit::now(author.parse().unwrap(), team);
    let entry = note(text, alert);
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| account::add_entry(tx, &edit, EntryId::new(), &entry),
    )
    .map_err(|failure| failure.error)
    .unwrap();
    let message = automerge_sync::Message {
        heads: doc.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: doc.save_after(&before).into(),
        flags: None,
        version: automerge_sync::MessageVersion::V1,
    };
    message.encode()
}
