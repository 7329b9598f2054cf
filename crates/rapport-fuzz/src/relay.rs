//! What the relay runs for one connection's frames, in process and without sockets: the same
//! calls `rapport-relay`'s `connection.rs` makes (decode each frame, hand a batch to the
//! session over the workspace hub's documents, encode the answers, serve whole documents,
//! offer each change to the workspace's other connections), on a real `RelayStore`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use automerge::Automerge;
use rapport_model::DocumentId;
use rapport_proto::{
    Join, MemberIdentity, Message, PROTOCOL_V1, PeerId, PeerMetadata, decode, encode,
};
use rapport_relay::hub::{HubDocuments, Hubs, WorkspaceHub};
use rapport_store::{RelayStore, StoreError};
use rapport_sync::{SUMMARY_V1, Session, SessionError};

use crate::fixtures::{self, FixtureError};
use crate::frames::{self, JOINED, SAME_DIGEST, VIEWER};
use crate::scratch;

/// How many idle documents a hub keeps loaded (the relay's default is 1024; a workspace here
/// holds a handful).
const CACHE_DOCUMENTS: usize = 64;

/// How many connections (each on a workspace of its own) share one store before it is thrown
/// away, so that a long run does not fill the disk.
const CONNECTIONS_PER_STORE: u64 = 20_000;

/// How many whole documents are served per step, as the relay does.
const SERVE_CHUNK: usize = 64;

/// Why a connection ended, as the relay would close it. None of these is a failure: only a
/// panic is.
#[derive(Debug)]
pub enum Ended {
    /// The peer broke the protocol.
    Protocol(String),
    /// The store failed.
    Relay(String),
    /// The peer left or reported an error.
    Peer(String),
}

impl<E: std::error::Error> From<SessionError<E>> for Ended {
    fn from(error: SessionError<E>) -> Self {
        match error {
            SessionError::Protocol(error) => Ended::Protocol(error.to_string()),
            storage => Ended::Relay(storage.to_string()),
        }
    }
}

/// A relay store in a scratch directory (on tmpfs when there is one) and its hubs; each
/// connection gets a workspace of its own (a new key in the store) holding the [`fixtures`],
/// whose ids are the same every time.
pub struct RelayHarness {
    dir: PathBuf,
    hubs: Hubs,
    fixtures: Vec<(DocumentId, Automerge, Vec<u8>)>,
    connections: u64,
}

impl RelayHarness {
    /// A fresh store.
    pub fn new() -> Result<Self, FixtureError> {
        let dir = scratch::directory("relay");
        let fixtures = fixtures::documents()?
            .into_iter()
            .map(|(id, doc)| {
                let bytes = doc.save();
                (id, doc, bytes)
            })
            .collect();
        let hubs = open_hubs(&dir.join("0"))?;
        Ok(Self {
            dir,
            hubs,
            fixtures,
            connections: 0,
        })
    }

    /// What `relay_sync` does with one input: see [`frames`].
    pub fn run(&mut self, data: &[u8]) -> Result<(), Ended> {
        let (options, batches) = frames::parse(data);
        // A store that cannot even take the fixtures is the machine's problem, not a finding;
        // said loudly rather than fuzzing nothing.
        let mut connection = self
            .connect(options & VIEWER != 0)
            .unwrap_or_else(|ended| panic!("the harness cannot open a workspace: {ended:?}"));
        if options & JOINED != 0 {
            let join = connection.client_join(options & SAME_DIGEST != 0);
            connection.messages(vec![join])?;
        }
        for batch in batches {
            connection.frames(&batch)?;
        }
        Ok(())
    }

    /// A connection of member bo (or of a viewer) to a new workspace holding the fixtures,
    /// with a second member connected to it.
    pub fn connect(&mut self, viewer: bool) -> Result<Connection, Ended> {
        self.connections += 1;
        if self.connections.is_multiple_of(CONNECTIONS_PER_STORE) {
            let generation = self.connections / CONNECTIONS_PER_STORE;
            let fresh = open_hubs(&self.dir.join(generation.to_string()))
                .map_err(|e| Ended::Relay(e.to_string()))?;
            drop(std::mem::replace(&mut self.hubs, fresh));
            let _ = std::fs::remove_dir_all(self.dir.join((generation - 1).to_string()));
        }
        let mut key = [0x77; 16];
        key[..8].copy_from_slice(&self.connections.to_le_bytes());
        let hub = self
            .hubs
            .hub(DocumentId::from_bytes(key))
            .map_err(relay_error)?;
        hub.import_new(&self.fixtures).map_err(relay_error)?;
        let session = accept(&hub, viewer);
        let docs = HubDocuments::new(hub.clone(), !viewer);
        let mut other = accept(&hub, false);
        let mut other_docs = HubDocuments::new(hub.clone(), true);
        let join = client_join(&hub, "other-member", true);
        other.receive(join, &mut other_docs)?;
        Ok(Connection {
            hub,
            session,
            docs,
            other,
            other_docs,
        })
    }
}

impl Drop for RelayHarness {
    fn drop(&mut self) {
        scratch::remove(&self.dir);
    }
}

fn open_hubs(dir: &Path) -> Result<Hubs, FixtureError> {
    let _ = std::fs::remove_dir_all(dir);
    let store = RelayStore::open(dir)?;
    Ok(Hubs::new(Arc::new(store), CACHE_DOCUMENTS))
}

fn relay_error(error: StoreError) -> Ended {
    Ended::Relay(error.to_string())
}

/// The relay's side of a connection, as `connection.rs` starts it.
fn accept(hub: &WorkspaceHub, viewer: bool) -> Session {
    let metadata = PeerMetadata {
        extensions: vec![SUMMARY_V1.into()],
        summary_digest: Some(hub.digest().0.to_vec()),
        identity: Some(MemberIdentity {
            workspace: hub.id().into(),
            user: "bo".into(),
            team: "support".into(),
            role: if viewer { "viewer" } else { "member" }.into(),
        }),
        ..PeerMetadata::default()
    };
    Session::accept(peer("relay-fuzz"), metadata, viewer)
}

/// A Rapport client's `join`: extension `summary-1`, and the workspace's digest or another.
fn client_join(hub: &WorkspaceHub, sender: &str, same_digest: bool) -> Message {
    let digest = if same_digest {
        hub.digest().0.to_vec()
    } else {
        vec![0; 32]
    };
    Message::Join(Join {
        sender_id: peer(sender),
        supported_protocol_versions: vec![PROTOCOL_V1.into()],
        peer_metadata: PeerMetadata {
            extensions: vec![SUMMARY_V1.into()],
            summary_digest: Some(digest),
            ..PeerMetadata::default()
        },
    })
}

fn peer(id: &str) -> PeerId {
    PeerId::new(id).unwrap_or_else(|| unreachable!("a short, non-empty peer id"))
}

/// One connection to a workspace, and another member's connection that hears of its changes.
pub struct Connection {
    hub: Arc<WorkspaceHub>,
    session: Session,
    docs: HubDocuments,
    other: Session,
    other_docs: HubDocuments,
}

impl Connection {
    /// A Rapport client's `join`, claiming the workspace's digest or another one.
    pub fn client_join(&self, same_digest: bool) -> Message {
        client_join(&self.hub, "fuzz-client", same_digest)
    }

    /// One batch of websocket frames, as the relay handles what has arrived at once: each
    /// decoded, the messages before a bad frame handled, then the connection closed.
    pub fn frames(&mut self, frames: &[&[u8]]) -> Result<Vec<Message>, Ended> {
        let mut batch = Vec::with_capacity(frames.len());
        let mut then = Ok(());
        for frame in frames {
            match decode(frame) {
                Ok(message) => batch.push(message),
                Err(error) => {
                    then = Err(Ended::Protocol(error.to_string()));
                    break;
                }
            }
        }
        let sent = self.messages(batch)?;
        then.map(|()| sent)
    }

    /// One batch of decoded messages: what the relay sends back, in order, or why it closes.
    pub fn messages(&mut self, batch: Vec<Message>) -> Result<Vec<Message>, Ended> {
        let mut joined = self.session.remote().is_some();
        for message in &batch {
            joined |= matches!(message, Message::Join(_));
            if joined {
                bloom_filters_as_automerge_writes(message)?;
            }
        }
        // As the relay's connection does: several sync messages are held and committed together.
        let outcome = match rapport_relay::hub::documents_of(&batch) {
            Some(ids) if joined => {
                let session = &mut self.session;
                // (The session's error is boxed only to cross the closure.)
                let received = self
                    .docs
                    .together(&ids, |held| {
                        session.receive_all(batch, held).map_err(Box::new)
                    })
                    .map_err(SessionError::from)?;
                received.map_err(|error| *error)?
            }
            _ => self.session.receive_all(batch, &mut self.docs)?,
        };
        let mut sent = outcome.send;
        for id in outcome.changed {
            self.offer_to_other(id);
        }
        for ids in outcome.serve.chunks(SERVE_CHUNK) {
            sent.extend(self.session.document_messages(ids, &mut self.docs)?);
        }
        for message in &sent {
            encode(message);
        }
        match outcome.closed {
            Some(reason) => Err(Ended::Peer(reason)),
            None => Ok(sent),
        }
    }

    /// A change this connection made, as the workspace's other connection handles its event:
    /// it syncs the document to its member. Its errors end that connection, not this one.
    fn offer_to_other(&mut self, id: DocumentId) {
        if !(self.other.summary_agreed() || self.other.syncing(&id)) {
            return;
        }
        if let Ok(messages) = self.other.sync_document(id, &mut self.other_docs) {
            for message in &messages {
                encode(message);
            }
        }
    }
}

/// The relay refuses a sync message whose Bloom filters would make Automerge allocate or loop
/// without bound, or divide by zero, before Automerge reads it (`screen.rs`, private to
/// `rapport-relay`, so not callable from here, and tested in its crate). This refuses more, so
/// that the target never feeds Automerge what the relay would not: any filter other than the
/// shape Automerge writes (10 bits per entry, 7 probes, every bit there).
fn bloom_filters_as_automerge_writes(message: &Message) -> Result<(), Ended> {
    let (Message::Sync(m) | Message::Request(m)) = message else {
        return Ok(());
    };
    // What does not decode, the session refuses itself.
    let Ok(sync) = automerge::sync::Message::decode(&m.data) else {
        return Ok(());
    };
    if sync
        .have
        .iter()
        .all(|have| automerge_shaped(&have.bloom.to_bytes()))
    {
        Ok(())
    } else {
        Err(Ended::Protocol(
            "a bloom filter the relay would refuse".into(),
        ))
    }
}

/// A filter's wire form (entries, bits per entry, probes, bits) as Automerge writes it.
fn automerge_shaped(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return true;
    }
    let mut entries: u64 = 0;
    let mut rest = bytes;
    for shift in (0..35).step_by(7) {
        let Some((&byte, tail)) = rest.split_first() else {
            return false;
        };
        rest = tail;
        entries |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            let bits = (entries * 10).div_ceil(8);
            return rest.first_chunk() == Some(&[10, 7])
                && u64::try_from(rest.len() - 2).is_ok_and(|len| len == bits);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use automerge::ChangeHash;
    use automerge::sync::BloomFilter;

    use super::*;

    #[test]
    fn the_filters_automerge_writes_pass_and_others_do_not() {
        for count in [0u8, 1, 2, 7, 200] {
            let hashes: Vec<ChangeHash> = (0..count).map(|i| ChangeHash([i; 32])).collect();
            let made = BloomFilter::from_hashes(hashes.iter());
            assert!(automerge_shaped(&made.to_bytes()), "{count}");
        }
        assert!(!automerge_shaped(&[1, 0, 7]));
        assert!(!automerge_shaped(&[1, 8, 0xff, 0xff, 0xff, 0xff, 0x0f, 0]));
        assert!(!automerge_shaped(&[1, 10, 7]));
    }

    #[test]
    fn a_client_syncs_with_the_harness_relay() {
        let mut harness = RelayHarness::new().unwrap();
        let mut connection = harness.connect(false).unwrap();
        let join = connection.client_join(false);
        let answers = connection.messages(vec![join]).unwrap();
        assert!(matches!(answers[0], Message::Peer(_)), "{answers:?}");
        assert!(matches!(answers[1], Message::Summary(_)), "{answers:?}");
    }
}
