//! What the node tests share: a relay on loopback with three members, nodes over their
//! replicas, and HTTP and server-sent events as a page speaks them.

use std::net::SocketAddr;
use std::time::Duration;

use rapport_client::link;
use rapport_model::{Role, Team};
use rapport_node::LocalNode;
use rapport_relay::{Relay, RelayConfig, admin};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Setup {
    pub _dirs: Vec<TempDir>,
    pub sales: SocketAddr,
    pub support: SocketAddr,
    pub viewer: SocketAddr,
}

/// A relay on loopback with three members of "Acme": sam of sales, ana of support and vic, a
/// viewer; its directory, its URL and their tokens, in that order.
pub async fn start_relay() -> (TempDir, String, Vec<String>) {
    let relay_dir = TempDir::new().unwrap();
    let relay = Relay::open(relay_dir.path(), RelayConfig::default()).unwrap();
    let mut tokens = Vec::new();
    let people = [
        ("sam", Team::Sales, Role::Member),
        ("ana", Team::Support, Role::Member),
        ("vic", Team::Marketing, Role::Viewer),
    ];
    for (user, team, role) in people {
        let invitation =
            admin::invite(relay.hubs(), "Acme", user.parse().unwrap(), team, role).unwrap();
        tokens.push(invitation.token);
    }
    let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", public.local_addr().unwrap());
    tokio::spawn(relay.serve(public, admin_listener, std::future::pending()));
    (relay_dir, url, tokens)
}

/// A relay, and a sales, a support and a viewer's replica joined to it, each served by a node.
pub async fn setup() -> Setup {
    let (relay_dir, url, tokens) = start_relay().await;
    let mut dirs = vec![relay_dir];
    let mut addresses = Vec::new();
    for token in &tokens {
        let dir = TempDir::new().unwrap();
        let (replica, _) = link::join(dir.path(), &url, token, WAIT).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addresses.push(listener.local_addr().unwrap());
        tokio::spawn(LocalNode::new(replica).serve(listener, std::future::pending()));
        dirs.push(dir);
    }
    Setup {
        _dirs: dirs,
        sales: addresses[0],
        support: addresses[1],
        viewer: addresses[2],
    }
}

/// One HTTP/1.1 request; the status and the body.
pub async fn request(
    at: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(at).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = String::new();
    timeout(WAIT, stream.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    let status = answer[9..12].parse().unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    (status, body.to_owned())
}

pub async fn json_of(at: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, text) = request(at, method, path, body).await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap()
}

/// Reads server-sent events until one named `name` whose data contains `needle`.
pub async fn wait_for_event(events: &mut BufReader<TcpStream>, name: &str, needle: &str) -> String {
    let mut current = String::new();
    let found = timeout(WAIT, async {
        loop {
            let mut line = String::new();
            assert!(
                events.read_line(&mut line).await.unwrap() > 0,
                "events ended"
            );
            if let Some(event) = line.strip_prefix("event: ") {
                current = event.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data: ")
                && current == name
                && data.contains(needle)
            {
                return data.trim().to_owned();
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {name} event with {needle:?} in time"))
}

pub async fn subscribe(at: SocketAddr) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(at).await.unwrap();
    let head =
        format!("GET /api/events HTTP/1.1\r\nHost: {at}\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    BufReader::new(stream)
}

/// Creates an account through `at`'s API from `body`; its id.
pub async fn create_account(at: SocketAddr, body: Value) -> String {
    let created = json_of(at, "POST", "/api/accounts", Some(body)).await;
    created["id"]
        .as_str()
        .expect("the new account's id")
        .to_owned()
}
