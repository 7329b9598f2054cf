//! What hostile clients send, by hand: sockets that never finish their handshake, frames
//! that claim more than they hold, and messages built to make the relay allocate, loop or
//! recurse beyond what they weigh.

use std::time::{Duration, Instant};

use automerge::sync::{self as automerge_sync, BloomFilter, Have};
use futures_util::SinkExt;
use rapport_model::DocumentId;
use rapport_proto::{Message, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::raw::{Socket, connect_raw, doc_message, error_then_close, handshake, send};
use crate::{RunningRelay, WAIT};

/// Reads until the peer closes; how long that took.
pub(crate) async fn closed_after(stream: &mut TcpStream, started: Instant) -> Duration {
    let mut buffer = [0u8; 1024];
    let reading = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    };
    timeout(WAIT, reading)
        .await
        .expect("the relay closes the connection in time")
}

/// Writes `GET / HTTP/1.1` and one endless header, a byte every 50 ms, until the relay hangs up.
pub(crate) async fn trickle_headers(stream: &mut TcpStream) {
    let start = b"GET / HTTP/1.1\r\nHost: relay\r\nX-Slow: ";
    let trickling = async {
        for byte in start.iter().chain(std::iter::repeat(&b'z')) {
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
            sleep(Duration::from_millis(50)).await;
        }
    };
    timeout(WAIT, trickling)
        .await
        .expect("the relay hangs up in time");
}

/// The first bytes of a websocket frame (binary, masked) that claims `len` bytes of payload.
fn frame_header_claiming(len: u64) -> Vec<u8> {
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    header
}

/// An Automerge sync message carrying one Bloom filter, given in its wire form.
fn sync_with_filter(wire: &[u8]) -> Vec<u8> {
    automerge_sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: vec![Have {
            last_sync: Vec::new(),
            bloom: BloomFilter::try_from(wire).unwrap(),
        }],
        changes: Vec::<Vec<u8>>::new().into(),
        flags: None,
        version: automerge_sync::MessageVersion::V1,
    }
    .encode()
}

/// A `leave` frame with an unknown key holding pairs whose first item is an indefinite-length
/// array holding the next pair, `depth` deep, each closed: 4 bytes a level.
fn nested_frame(depth: usize) -> Vec<u8> {
    let mut frame = vec![0xa3]; // a map of three
    for text in ["type", "leave", "senderId", "mallory", "junk"] {
        frame.push(0x60 | text.len() as u8);
        frame.extend_from_slice(text.as_bytes());
    }
    frame.extend([0x82, 0x9f].repeat(depth));
    frame.push(0x00);
    frame.extend([0xff, 0x00].repeat(depth));
    frame
}

/// Sync data claiming 2^62 changes, and none there.
const HUGE_CHANGE_COUNT: [u8; 13] = [
    0x42, 0, 0, 0, // version, no heads, no needs, no filters
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, // 2^62 as LEB128
];

/// Sync data carrying a thousand changes, each compressed from a mebibyte of zeros to about a
/// kilobyte: Automerge inflates a compressed change before it can tell whether it is one, so a
/// megabyte sent costs a mebibyte per change parsed.
fn compressed_zeros() -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
    let deflated = encoder.finish().unwrap();
    // A compressed-change chunk: magic bytes, a checksum (checked only after inflating), type 2.
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    leb128(&mut chunk, deflated.len() as u64);
    chunk.extend(&deflated);
    let mut data = vec![0x42, 0, 0, 0]; // version, no heads, no needs, no filters
    leb128(&mut data, 1000);
    for _ in 0..1000 {
        leb128(&mut data, chunk.len() as u64);
        data.extend(&chunk);
    }
    data
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// What a hostile peer sends, and what the relay must say before closing on it.
pub(crate) struct Hostile {
    pub(crate) send: HostileFrame,
    pub(crate) error: &'static str,
}

pub(crate) enum HostileFrame {
    /// A frame as it is.
    Frame(Vec<u8>),
    /// A `sync` for `document` with this data.
    Sync(DocumentId, Vec<u8>),
    /// Raw bytes on the socket: a frame header.
    Raw(Vec<u8>),
}

/// Everything a peer can send to make the relay allocate, loop or recurse beyond what it sent,
/// against document `target` (which has changes for Automerge to check filters against), with
/// CBOR nested `nesting` deep.
pub(crate) fn hostile_messages(target: DocumentId, nesting: usize) -> Vec<Hostile> {
    vec![
        Hostile {
            send: HostileFrame::Frame(nested_frame(nesting)),
            error: "indefinite-length arrays or maps nested",
        },
        Hostile {
            send: HostileFrame::Sync(target, HUGE_CHANGE_COUNT.to_vec()),
            error: "invalid sync message",
        },
        Hostile {
            // Four billion probes per hash.
            send: HostileFrame::Sync(
                target,
                sync_with_filter(&[1, 8, 0xff, 0xff, 0xff, 0xff, 0x0f, 0]),
            ),
            error: "4294967295 probes",
        },
        Hostile {
            // Entries, but no bits to probe: a division by zero.
            send: HostileFrame::Sync(target, sync_with_filter(&[1, 0, 7])),
            error: "no bits",
        },
        Hostile {
            send: HostileFrame::Sync(target, compressed_zeros()),
            error: "inflates to more than",
        },
        Hostile {
            send: HostileFrame::Raw(frame_header_claiming(1 << 40)),
            error: "unreadable frame",
        },
    ]
}

/// Joins as `token`, sends `hostile`, and checks the relay's `error` and close.
pub(crate) async fn send_hostile(relay: &RunningRelay, token: &str, hostile: Hostile) {
    let mut socket: Socket = connect_raw(relay, token).await;
    let me = PeerId::new("mallory").unwrap();
    let relay_id = handshake(&mut socket, &me).await;
    match hostile.send {
        HostileFrame::Frame(bytes) => socket.send(Frame::Binary(bytes.into())).await.unwrap(),
        HostileFrame::Sync(id, data) => {
            send(
                &mut socket,
                &Message::Sync(doc_message(&me, &relay_id, id, &data)),
            )
            .await;
        }
        HostileFrame::Raw(bytes) => match socket.get_mut() {
            MaybeTlsStream::Plain(tcp) => tcp.write_all(&bytes).await.unwrap(),
            _ => unreachable!("loopback is plain TCP"),
        },
    }
    let error = error_then_close(&mut socket).await;
    assert!(error.contains(hostile.error), "{error}");
}
