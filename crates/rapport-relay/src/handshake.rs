//! A public connection's first seconds: from the TCP accept it has
//! [`RelayConfig::handshake_timeout`](crate::RelayConfig) to upgrade to a websocket and send
//! `join`. Until the upgrade the deadline is kept by the socket itself ([`UntilUpgraded`]: reads
//! fail once it passes, which ends the HTTP connection, however slowly its request trickles in);
//! after it, by the connection's task, which knows when `join` arrived.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tracing::warn;

/// Where a connection comes from and until when it may take to join; what the public router's
/// handlers learn of the socket (as its `ConnectInfo`).
#[derive(Clone, Debug)]
pub(crate) struct Handshake {
    /// The peer's address.
    pub(crate) address: SocketAddr,
    /// When the handshake must be over (`None`: a timeout too long to matter).
    pub(crate) deadline: Option<Instant>,
    upgraded: Arc<AtomicBool>,
}

impl Handshake {
    /// The websocket upgrade is done: from now on the connection's task keeps the deadline.
    pub(crate) fn upgraded(&self) {
        self.upgraded.store(true, Ordering::Relaxed);
    }
}

/// The public listener: TCP connections without Nagle's delay, each with a handshake deadline.
#[derive(Debug)]
pub(crate) struct HandshakeListener {
    tcp: TcpListener,
    timeout: Duration,
}

impl HandshakeListener {
    pub(crate) fn new(tcp: TcpListener, timeout: Duration) -> Self {
        Self { tcp, timeout }
    }
}

impl Listener for HandshakeListener {
    type Io = UntilUpgraded<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // axum's accept loop for a TcpListener retries (and logs) failed accepts.
        let (tcp, address) = Listener::accept(&mut self.tcp).await;
        // Without Nagle's delay: a small frame written just before a connection is dropped (the
        // close frame after an `error`) would otherwise wait for an ACK, and a drop with unread
        // input (an oversized frame) resets the connection and discards it.
        if let Err(error) = tcp.set_nodelay(true) {
            warn!(%error, "cannot disable Nagle's algorithm on a connection");
        }
        let deadline = Instant::now().checked_add(self.timeout);
        let handshake = Handshake {
            address,
            deadline,
            upgraded: Arc::new(AtomicBool::new(false)),
        };
        let io = UntilUpgraded {
            io: tcp,
            expiry: deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
            handshake,
        };
        (io, address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

impl Connected<IncomingStream<'_, HandshakeListener>> for Handshake {
    fn connect_info(stream: IncomingStream<'_, HandshakeListener>) -> Self {
        stream.io().handshake.clone()
    }
}

/// A socket whose reads fail once the handshake deadline passed without an upgrade.
#[derive(Debug)]
pub(crate) struct UntilUpgraded<T> {
    io: T,
    expiry: Option<Pin<Box<Sleep>>>,
    handshake: Handshake,
}

impl<T: AsyncRead + Unpin> AsyncRead for UntilUpgraded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(expiry) = &mut this.expiry {
            if this.handshake.upgraded.load(Ordering::Relaxed) {
                this.expiry = None;
            } else if expiry.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no websocket upgrade within the handshake timeout",
                )));
            }
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for UntilUpgraded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
