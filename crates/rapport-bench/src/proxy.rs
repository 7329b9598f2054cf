//! A TCP proxy on loopback that counts what crosses it: bytes on the wire both ways (websocket
//! framing and the HTTP upgrade included), per connection.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes one connection carried.
#[derive(Clone, Copy, Debug)]
pub struct Traffic {
    /// Client to relay.
    pub up: u64,
    /// Relay to client.
    pub down: u64,
}

/// A running proxy in front of one relay.
pub struct CountingProxy {
    /// The relay's URL, through the proxy.
    pub url: String,
    finished: mpsc::UnboundedReceiver<anyhow::Result<Traffic>>,
    task: JoinHandle<()>,
}

impl CountingProxy {
    /// Starts a proxy to the relay at `relay_url` (`ws://127.0.0.1:PORT`).
    pub async fn start(relay_url: &str) -> anyhow::Result<Self> {
        let target: SocketAddr = relay_url
            .strip_prefix("ws://")
            .and_then(|rest| rest.trim_end_matches('/').parse().ok())
            .ok_or_else(|| anyhow!("'{relay_url}' is not ws://ADDRESS"))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("ws://{}", listener.local_addr()?);
        let (report, finished) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let report = report.clone();
                tokio::spawn(async move {
                    let _ = report.send(forward(client, target).await);
                });
            }
        });
        Ok(Self {
            url,
            finished,
            task,
        })
    }

    /// What the next connection to end carried, waiting at most `timeout`.
    pub async fn next_finished(&mut self, timeout: Duration) -> anyhow::Result<Traffic> {
        tokio::time::timeout(timeout, self.finished.recv())
            .await
            .map_err(|_| anyhow!("no proxied connection ended within {timeout:?}"))?
            .ok_or_else(|| anyhow!("the proxy stopped"))?
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies both ways until both sides have closed. A connection reset ends a direction like a
/// close does: the bytes that crossed before it still count.
async fn forward(client: TcpStream, target: SocketAddr) -> anyhow::Result<Traffic> {
    let relay = TcpStream::connect(target)
        .await
        .context("the proxy cannot reach the relay")?;
    // As the relay and the client do: no Nagle delay, or the proxy would add its own.
    client.set_nodelay(true)?;
    relay.set_nodelay(true)?;
    let (client_in, client_out) = client.into_split();
    let (relay_in, relay_out) = relay.into_split();
    let (up, down) = tokio::join!(pump(client_in, relay_out), pump(relay_in, client_out));
    Ok(Traffic { up, down })
}

/// Copies `from` to `to` until either ends; the bytes copied.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf) -> u64 {
    let mut buffer = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
        total += read as u64;
    }
    let _ = to.shutdown().await;
    total
}
