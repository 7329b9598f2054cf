//! A public connection's first seconds: from the TCP accept it has
//! [`RelayConfig::handshake_timeout`](crate::RelayConfig) to upgrade to a websocket and send
//! `join`. Until the upgrade the deadline is kept by the socket itself ([`UntilUpgraded`]: reads
//! fail once it passes, which ends the HTTP connection, however slowly its request trickles in);
//! after it, by the connection's task, which knows when `join` arrived.
//!
//! With TLS the listener runs each connection's TLS handshake ([`tls::secure`]) on a task of its
//! own, within the same deadline, and hands axum only the connections whose handshake is done: a
//! slow or silent client holds up no one else's accept.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::{debug, warn};

use crate::tls::{self, TlsIdentity};

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

/// The public listener: TCP connections without Nagle's delay, each with a handshake deadline,
/// and with TLS when the relay has a certificate.
pub(crate) struct HandshakeListener {
    tcp: TcpListener,
    timeout: Duration,
    tls: Option<TlsAcceptor>,
    /// TLS handshakes under way, each on a task of its own; dropped with the listener.
    securing: JoinSet<Option<Transport>>,
    /// Sockets open now, whatever their stage, and how many may be.
    open: Arc<AtomicUsize>,
    max_open: usize,
}

impl HandshakeListener {
    pub(crate) fn new(
        tcp: TcpListener,
        timeout: Duration,
        tls: Option<&TlsIdentity>,
        max_open: usize,
    ) -> Self {
        Self {
            tcp,
            timeout,
            tls: tls.map(TlsIdentity::acceptor),
            securing: JoinSet::new(),
            open: Arc::new(AtomicUsize::new(0)),
            max_open,
        }
    }

    /// Counts `tcp` as open until it is dropped; `None` (and `tcp` closed) when as many
    /// sockets as allowed are open already.
    fn admit(&self, tcp: TcpStream, address: SocketAddr) -> Option<(TcpStream, OpenSocket)> {
        let open = self.open.fetch_add(1, Ordering::AcqRel);
        let counted = OpenSocket(self.open.clone());
        if open >= self.max_open {
            debug!(%address, open, "closed a connection: the relay holds as many as it may");
            return None;
        }
        Some((tcp, counted))
    }
}

/// One open socket, counted until dropped.
#[derive(Debug)]
pub(crate) struct OpenSocket(Arc<AtomicUsize>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Listener for HandshakeListener {
    type Io = Transport;
    type Addr = SocketAddr;

    // Cancel-safe, as axum's graceful shutdown needs: both branches are, and nothing between an
    // accept and its `return` or `spawn` awaits.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                // axum's accept loop for a TcpListener retries (and logs) failed accepts.
                (tcp, address) = Listener::accept(&mut self.tcp) => {
                    let Some((tcp, counted)) = self.admit(tcp, address) else {
                        continue;
                    };
                    let io = until_upgraded(tcp, address, self.timeout, counted);
                    match &self.tls {
                        None => return (Transport::Plain(io), address),
                        Some(acceptor) => {
                            self.securing.spawn(tls::secure(acceptor.clone(), io));
                        }
                    }
                }
                Some(secured) = self.securing.join_next(), if !self.securing.is_empty() => {
                    if let Ok(Some(io)) = secured {
                        let address = io.handshake().address;
                        return (io, address);
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// An accepted socket, with its deadline starting now.
fn until_upgraded(
    tcp: TcpStream,
    address: SocketAddr,
    timeout: Duration,
    counted: OpenSocket,
) -> UntilUpgraded<TcpStream> {
    // Without Nagle's delay: a small frame written just before a connection is dropped (the
    // close frame after an `error`) would otherwise wait for an ACK, and a drop with unread
    // input (an oversized frame) resets the connection and discards it.
    if let Err(error) = tcp.set_nodelay(true) {
        warn!(%error, "cannot disable Nagle's algorithm on a connection");
    }
    let deadline = Instant::now().checked_add(timeout);
    let handshake = Handshake {
        address,
        deadline,
        upgraded: Arc::new(AtomicBool::new(false)),
    };
    UntilUpgraded {
        io: tcp,
        expiry: deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
        handshake,
        _counted: counted,
    }
}

impl Connected<IncomingStream<'_, HandshakeListener>> for Handshake {
    fn connect_info(stream: IncomingStream<'_, HandshakeListener>) -> Self {
        stream.io().handshake().clone()
    }
}

/// A public connection as axum serves it: plain TCP, or TLS over it. Either way the deadline is
/// kept on the TCP socket, so a TLS connection's HTTP request is bounded by it too.
pub(crate) enum Transport {
    Plain(UntilUpgraded<TcpStream>),
    Tls(Box<TlsStream<UntilUpgraded<TcpStream>>>),
}

/// What both kinds of transport are.
trait Stream: AsyncRead + AsyncWrite + Unpin {}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream for T {}

impl Transport {
    fn handshake(&self) -> &Handshake {
        match self {
            Transport::Plain(io) => &io.handshake,
            Transport::Tls(tls) => &tls.get_ref().0.handshake,
        }
    }

    fn stream(&mut self) -> Pin<&mut dyn Stream> {
        match self {
            Transport::Plain(io) => Pin::new(io),
            Transport::Tls(tls) => Pin::new(&mut **tls),
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().stream().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(io) => io.is_write_vectored(),
            Transport::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream().poll_shutdown(cx)
    }
}

/// A socket whose reads fail once the handshake deadline passed without an upgrade.
#[derive(Debug)]
pub(crate) struct UntilUpgraded<T> {
    io: T,
    expiry: Option<Pin<Box<Sleep>>>,
    handshake: Handshake,
    _counted: OpenSocket,
}

impl UntilUpgraded<TcpStream> {
    /// The connection's address and deadline.
    pub(crate) fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The socket itself (to peek at what the client sent first).
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.io
    }
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
