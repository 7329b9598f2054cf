//! CBOR encoding and decoding of [`Message`]s, one per websocket binary frame.
//!
//! Decoding reads the frame's top-level map key by key: known keys are checked and kept, unknown
//! keys are skipped (without recursion and in bounded memory, so nesting can exhaust neither the
//! stack nor the heap: see `skip`), duplicate keys and trailing bytes are errors. Nothing is
//! allocated beyond what the frame itself holds.

use std::convert::Infallible;

use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};

use crate::error::DecodeError;
use crate::message::*;

mod skip;

use skip::skip_value;

/// CBOR tag for a typed array of `u8`, which some encoders put around byte strings.
const TAG_UINT8_ARRAY: u64 = 64;
/// The longest `error` message text accepted, in bytes.
const MAX_ERROR_TEXT: usize = 4096;
/// The most protocol versions a `join` may list.
const MAX_VERSIONS: u64 = 16;
/// The most extensions a peer may announce.
const MAX_EXTENSIONS: u64 = 32;
/// The longest summary digest accepted, in bytes.
const MAX_DIGEST_BYTES: usize = 64;
/// The most documents a summary may list: a hundred times the workspaces Rapport is built for,
/// and a bound on what decoding one takes (some 80 bytes per entry, which can be 4 bytes of a
/// frame: without it, a 64 MiB frame of one-letter ids would take over a gigabyte).
const MAX_SUMMARY_DOCUMENTS: usize = 1 << 20;

/// Decodes one frame.
pub fn decode(frame: &[u8]) -> Result<Message, DecodeError> {
    let mut d = Decoder::new(frame);
    let fields = Fields::read(&mut d)?;
    if d.position() != frame.len() {
        return Err(DecodeError::TrailingBytes { at: d.position() });
    }
    fields.into_message()
}

/// Encodes one message as a frame.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    match write(message, &mut e) {
        Ok(()) => e.into_writer(),
        // Writing into a Vec cannot fail, and no value written here can refuse to encode.
        Err(error) => unreachable!("encoding into memory failed: {error}"),
    }
}

type EncodeResult = Result<(), minicbor::encode::Error<Infallible>>;

fn write(message: &Message, e: &mut Encoder<Vec<u8>>) -> EncodeResult {
    match message {
        Message::Join(join) => {
            e.map(4)?.str("type")?.str("join")?;
            e.str("senderId")?.str(join.sender_id.as_str())?;
            e.str("supportedProtocolVersions")?
                .array(join.supported_protocol_versions.len() as u64)?;
            for version in &join.supported_protocol_versions {
                e.str(version)?;
            }
            e.str("peerMetadata")?;
            write_metadata(&join.peer_metadata, e)
        }
        Message::Peer(peer) => {
            e.map(5)?.str("type")?.str("peer")?;
            e.str("senderId")?.str(peer.sender_id.as_str())?;
            e.str("targetId")?.str(peer.target_id.as_str())?;
            e.str("selectedProtocolVersion")?
                .str(&peer.selected_protocol_version)?;
            e.str("peerMetadata")?;
            write_metadata(&peer.peer_metadata, e)
        }
        Message::Leave { sender_id } => {
            e.map(2)?
                .str("type")?
                .str("leave")?
                .str("senderId")?
                .str(sender_id.as_str())?;
            Ok(())
        }
        Message::Request(m) | Message::Sync(m) => {
            e.map(5)?.str("type")?.str(message.message_type())?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("documentId")?.str(m.document_id.as_str())?;
            e.str("data")?.bytes(&m.data)?;
            Ok(())
        }
        Message::DocUnavailable(m) => {
            e.map(4)?.str("type")?.str("doc-unavailable")?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("documentId")?.str(m.document_id.as_str())?;
            Ok(())
        }
        Message::Ephemeral(m) => {
            e.map(7)?.str("type")?.str("ephemeral")?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("count")?.u64(m.count)?;
            e.str("sessionId")?.str(&m.session_id)?;
            e.str("documentId")?.str(m.document_id.as_str())?;
            e.str("data")?.bytes(&m.data)?;
            Ok(())
        }
        Message::Summary(m) => {
            e.map(4)?.str("type")?.str("rapport-summary")?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("documents")?.array(m.documents.len() as u64)?;
            for (id, heads) in &m.documents {
                e.array(2)?.str(id.as_str())?;
                write_heads(heads, e)?;
            }
            Ok(())
        }
        Message::Document(m) => {
            e.map(6)?.str("type")?.str("rapport-doc")?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("documentId")?.str(m.document_id.as_str())?;
            e.str("heads")?;
            write_heads(&m.heads, e)?;
            e.str("data")?.bytes(&m.data)?;
            Ok(())
        }
        Message::Have(m) => {
            e.map(5)?.str("type")?.str("rapport-have")?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("documentId")?.str(m.document_id.as_str())?;
            e.str("heads")?;
            write_heads(&m.heads, e)
        }
        Message::Error { message } => {
            e.map(2)?
                .str("type")?
                .str("error")?
                .str("message")?
                .str(message)?;
            Ok(())
        }
        Message::Other { message_type } => {
            e.map(1)?.str("type")?.str(message_type)?;
            Ok(())
        }
    }
}

fn write_heads(heads: &Heads, e: &mut Encoder<Vec<u8>>) -> EncodeResult {
    e.array(heads.len() as u64)?;
    for head in heads {
        e.bytes(head)?;
    }
    Ok(())
}

fn write_metadata(metadata: &PeerMetadata, e: &mut Encoder<Vec<u8>>) -> EncodeResult {
    let len = 1
        + u64::from(metadata.storage_id.is_some())
        + u64::from(!metadata.extensions.is_empty())
        + u64::from(metadata.summary_digest.is_some())
        + u64::from(metadata.identity.is_some());
    e.map(len)?;
    if let Some(storage_id) = &metadata.storage_id {
        e.str("storageId")?.str(storage_id)?;
    }
    e.str("isEphemeral")?.bool(metadata.is_ephemeral)?;
    if !metadata.extensions.is_empty() {
        e.str("rapportExtensions")?
            .array(metadata.extensions.len() as u64)?;
        for extension in &metadata.extensions {
            e.str(extension)?;
        }
    }
    if let Some(digest) = &metadata.summary_digest {
        e.str("rapportDigest")?.bytes(digest)?;
    }
    if let Some(identity) = &metadata.identity {
        e.str("rapportIdentity")?.map(4)?;
        e.str("workspace")?.str(identity.workspace.as_str())?;
        e.str("user")?.str(&identity.user)?;
        e.str("team")?.str(&identity.team)?;
        e.str("role")?.str(&identity.role)?;
    }
    Ok(())
}

/// The fields a message may carry, as read from its map.
#[derive(Default)]
struct Fields {
    message_type: Option<String>,
    sender_id: Option<String>,
    target_id: Option<String>,
    document_id: Option<String>,
    data: Option<Vec<u8>>,
    supported_protocol_versions: Option<Vec<String>>,
    selected_protocol_version: Option<String>,
    peer_metadata: Option<PeerMetadata>,
    message: Option<String>,
    count: Option<u64>,
    session_id: Option<String>,
    documents: Option<Vec<(WireDocumentId, Heads)>>,
    heads: Option<Heads>,
}

impl Fields {
    fn read(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut fields = Fields::default();
        for_each_entry(d, "message", |d, key| {
            match key {
                "type" => set(&mut fields.message_type, key, text(d, key, MAX_ID_BYTES)?),
                "senderId" => set(&mut fields.sender_id, key, text(d, key, MAX_ID_BYTES)?),
                "targetId" => set(&mut fields.target_id, key, text(d, key, MAX_ID_BYTES)?),
                "documentId" => set(&mut fields.document_id, key, text(d, key, MAX_ID_BYTES)?),
                "sessionId" => set(&mut fields.session_id, key, text(d, key, MAX_ID_BYTES)?),
                "message" => set(&mut fields.message, key, text(d, key, MAX_ERROR_TEXT)?),
                "selectedProtocolVersion" => set(
                    &mut fields.selected_protocol_version,
                    key,
                    text(d, key, MAX_ID_BYTES)?,
                ),
                "supportedProtocolVersions" => {
                    set(&mut fields.supported_protocol_versions, key, versions(d)?)
                }
                "data" => set(&mut fields.data, key, bytes(d, key)?),
                "documents" => set(&mut fields.documents, key, documents(d)?),
                "heads" => set(&mut fields.heads, key, heads(d, "heads")?),
                "count" => set(
                    &mut fields.count,
                    key,
                    d.u64().map_err(|e| invalid(key, e))?,
                ),
                // The protocol's README spells it `metadata`, the implementation `peerMetadata`.
                "peerMetadata" | "metadata" => {
                    set(&mut fields.peer_metadata, "peerMetadata", metadata(d)?)
                }
                _ => skip_value(d, key),
            }
        })?;
        Ok(fields)
    }

    fn into_message(self) -> Result<Message, DecodeError> {
        let message_type = self
            .message_type
            .clone()
            .ok_or(DecodeError::MissingField { field: "type" })?;
        let message = match message_type.as_str() {
            "join" => Message::Join(Join {
                sender_id: self.peer("senderId", &self.sender_id)?,
                supported_protocol_versions: self
                    .supported_protocol_versions
                    .clone()
                    .unwrap_or_default(),
                peer_metadata: self.peer_metadata.clone().unwrap_or_default(),
            }),
            "peer" => Message::Peer(Peer {
                sender_id: self.peer("senderId", &self.sender_id)?,
                target_id: self.peer("targetId", &self.target_id)?,
                selected_protocol_version: required(
                    self.selected_protocol_version.clone(),
                    "selectedProtocolVersion",
                )?,
                peer_metadata: self.peer_metadata.clone().unwrap_or_default(),
            }),
            "leave" => Message::Leave {
                sender_id: self.peer("senderId", &self.sender_id)?,
            },
            "request" => Message::Request(self.doc_message()?),
            "sync" => Message::Sync(self.doc_message()?),
            "doc-unavailable" => Message::DocUnavailable(DocNotice {
                sender_id: self.peer("senderId", &self.sender_id)?,
                target_id: self.peer("targetId", &self.target_id)?,
                document_id: self.document()?,
            }),
            "ephemeral" => Message::Ephemeral(Ephemeral {
                sender_id: self.peer("senderId", &self.sender_id)?,
                target_id: self.peer("targetId", &self.target_id)?,
                count: required(self.count, "count")?,
                session_id: required(self.session_id.clone(), "sessionId")?,
                document_id: self.document()?,
                data: required(self.data.clone(), "data")?,
            }),
            "rapport-summary" => Message::Summary(Summary {
                sender_id: self.peer("senderId", &self.sender_id)?,
                target_id: self.peer("targetId", &self.target_id)?,
                documents: required(self.documents.clone(), "documents")?,
            }),
            "rapport-doc" => Message::Document(WholeDocument {
                sender_id: self.peer("senderId", &self.sender_id)?,
                target_id: self.peer("targetId", &self.target_id)?,
                document_id: self.document()?,
                heads: required(self.heads.clone(), "heads")?,
                data: required(self.data.clone(), "data")?,
            }),
            "rapport-have" => Message::Have(DocHeads {
                sender_id: self.peer("senderId", &self.sender_id)?,
                target_id: self.peer("targetId", &self.target_id)?,
                document_id: self.document()?,
                heads: required(self.heads.clone(), "heads")?,
            }),
            "error" => Message::Error {
                message: self.message.clone().unwrap_or_default(),
            },
            _ => Message::Other { message_type },
        };
        Ok(message)
    }

    fn doc_message(&self) -> Result<DocMessage, DecodeError> {
        Ok(DocMessage {
            sender_id: self.peer("senderId", &self.sender_id)?,
            target_id: self.peer("targetId", &self.target_id)?,
            document_id: self.document()?,
            data: required(self.data.clone(), "data")?,
        })
    }

    fn peer(&self, field: &'static str, value: &Option<String>) -> Result<PeerId, DecodeError> {
        let text = required(value.clone(), field)?;
        PeerId::new(text).ok_or(DecodeError::InvalidField {
            field,
            reason: "empty".into(),
        })
    }

    fn document(&self) -> Result<WireDocumentId, DecodeError> {
        let text = required(self.document_id.clone(), "documentId")?;
        WireDocumentId::new(text).ok_or(DecodeError::InvalidField {
            field: "documentId",
            reason: "empty".into(),
        })
    }
}

fn required<T>(value: Option<T>, field: &'static str) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField { field })
}

fn set<T>(slot: &mut Option<T>, field: &str, value: T) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::DuplicateField {
            field: field.to_owned(),
        });
    }
    *slot = Some(value);
    Ok(())
}

/// Calls `f` with each key of the map at the decoder's position (definite or indefinite length).
fn for_each_entry<'b>(
    d: &mut Decoder<'b>,
    what: &'static str,
    mut f: impl FnMut(&mut Decoder<'b>, &str) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let len = match d.datatype() {
        Ok(Type::Map | Type::MapIndef) => d.map().map_err(|e| invalid(what, e))?,
        Ok(other) => {
            return Err(DecodeError::NotAMap {
                what,
                found: format!("{other}"),
            });
        }
        Err(e) if e.is_end_of_input() => return Err(DecodeError::Truncated),
        Err(e) => {
            return Err(DecodeError::Cbor {
                reason: e.to_string(),
            });
        }
    };
    let mut remaining = len;
    loop {
        match remaining {
            Some(0) => return Ok(()),
            Some(n) => remaining = Some(n - 1),
            None => {
                if d.datatype().map_err(|e| invalid(what, e))? == Type::Break {
                    d.skip().map_err(|e| invalid(what, e))?;
                    return Ok(());
                }
            }
        }
        let key = d.str().map_err(|e| invalid(what, e))?;
        // JavaScript encoders write a property set to `undefined` (or `null`) as its own CBOR
        // value: the property is absent.
        if matches!(d.datatype(), Ok(Type::Undefined | Type::Null)) {
            d.skip().map_err(|e| invalid(key, e))?;
            continue;
        }
        f(d, key)?;
    }
}

fn text(d: &mut Decoder<'_>, field: &str, max: usize) -> Result<String, DecodeError> {
    let value = d.str().map_err(|e| invalid(field, e))?;
    if value.len() > max {
        return Err(DecodeError::InvalidField {
            field: static_name(field),
            reason: format!("longer than {max} bytes"),
        });
    }
    Ok(value.to_owned())
}

/// A byte string, also when wrapped in the typed-array tag some encoders add.
fn bytes(d: &mut Decoder<'_>, field: &str) -> Result<Vec<u8>, DecodeError> {
    if d.datatype().map_err(|e| invalid(field, e))? == Type::Tag {
        let tag = d.tag().map_err(|e| invalid(field, e))?;
        if tag != Tag::new(TAG_UINT8_ARRAY) {
            return Err(DecodeError::InvalidField {
                field: static_name(field),
                reason: format!("unexpected tag {tag}"),
            });
        }
    }
    Ok(d.bytes().map_err(|e| invalid(field, e))?.to_vec())
}

/// `supportedProtocolVersions`: an array of strings (or, as the README's grammar has it, one).
fn versions(d: &mut Decoder<'_>) -> Result<Vec<String>, DecodeError> {
    let field = "supportedProtocolVersions";
    if d.datatype().map_err(|e| invalid(field, e))? == Type::String {
        return Ok(vec![text(d, field, MAX_ID_BYTES)?]);
    }
    string_array(d, field, MAX_VERSIONS)
}

fn string_array(
    d: &mut Decoder<'_>,
    field: &'static str,
    max_items: u64,
) -> Result<Vec<String>, DecodeError> {
    let len = d.array().map_err(|e| invalid(field, e))?;
    let too_many = || DecodeError::InvalidField {
        field,
        reason: format!("more than {max_items} items"),
    };
    let mut out = Vec::new();
    match len {
        Some(n) if n > max_items => Err(too_many()),
        Some(n) => {
            for _ in 0..n {
                out.push(text(d, field, MAX_ID_BYTES)?);
            }
            Ok(out)
        }
        None => loop {
            if d.datatype().map_err(|e| invalid(field, e))? == Type::Break {
                d.skip().map_err(|e| invalid(field, e))?;
                return Ok(out);
            }
            if out.len() as u64 >= max_items {
                return Err(too_many());
            }
            out.push(text(d, field, MAX_ID_BYTES)?);
        },
    }
}

/// The length of a definite-length array, refusing indefinite ones and more than `max` items.
fn array_len(d: &mut Decoder<'_>, field: &'static str, max: usize) -> Result<u64, DecodeError> {
    let len = d.array().map_err(|e| invalid(field, e))?;
    match len {
        Some(n) if n <= max as u64 => Ok(n),
        Some(_) => Err(DecodeError::InvalidField {
            field,
            reason: format!("more than {max} items"),
        }),
        None => Err(DecodeError::InvalidField {
            field,
            reason: "indefinite-length array".into(),
        }),
    }
}

/// `heads`: an array of 32-byte change hashes.
fn heads(d: &mut Decoder<'_>, field: &'static str) -> Result<Heads, DecodeError> {
    let len = array_len(d, field, MAX_HEADS)?;
    let mut out = Vec::with_capacity(len as usize);
    for _ in 0..len {
        let hash = bytes(d, field)?;
        let hash: [u8; 32] = hash.try_into().map_err(|_| DecodeError::InvalidField {
            field,
            reason: "a head is not 32 bytes".into(),
        })?;
        out.push(hash);
    }
    Ok(out)
}

/// `documents` of a summary: an array of `[documentId, heads]` pairs.
fn documents(d: &mut Decoder<'_>) -> Result<Vec<(WireDocumentId, Heads)>, DecodeError> {
    let field = "documents";
    // Each pair takes at least 3 bytes, so a frame cannot claim more pairs than it has bytes.
    let remaining = d.input().len().saturating_sub(d.position());
    let len = array_len(d, field, (remaining / 3).min(MAX_SUMMARY_DOCUMENTS))?;
    let mut out = Vec::with_capacity(len as usize);
    for _ in 0..len {
        if array_len(d, field, 2)? != 2 {
            return Err(DecodeError::InvalidField {
                field,
                reason: "an entry is not a [documentId, heads] pair".into(),
            });
        }
        let id = WireDocumentId::new(text(d, field, MAX_ID_BYTES)?).ok_or(
            DecodeError::InvalidField {
                field,
                reason: "empty document id".into(),
            },
        )?;
        out.push((id, heads(d, "heads")?));
    }
    Ok(out)
}

fn identity(d: &mut Decoder<'_>) -> Result<MemberIdentity, DecodeError> {
    let field = "rapportIdentity";
    let (mut workspace, mut user, mut team, mut role) = (None, None, None, None);
    for_each_entry(d, field, |d, key| match key {
        "workspace" => set(&mut workspace, key, text(d, field, MAX_ID_BYTES)?),
        "user" => set(&mut user, key, text(d, field, MAX_ID_BYTES)?),
        "team" => set(&mut team, key, text(d, field, MAX_ID_BYTES)?),
        "role" => set(&mut role, key, text(d, field, MAX_ID_BYTES)?),
        _ => skip_value(d, key),
    })?;
    let missing = || DecodeError::MissingField { field };
    Ok(MemberIdentity {
        workspace: workspace
            .and_then(WireDocumentId::new)
            .ok_or_else(missing)?,
        user: user.ok_or_else(missing)?,
        team: team.ok_or_else(missing)?,
        role: role.ok_or_else(missing)?,
    })
}

fn metadata(d: &mut Decoder<'_>) -> Result<PeerMetadata, DecodeError> {
    let mut metadata = PeerMetadata::default();
    let (mut storage, mut ephemeral, mut extensions) = (None, None, None);
    let (mut digest, mut member) = (None, None);
    for_each_entry(d, "peerMetadata", |d, key| match key {
        "storageId" => set(&mut storage, key, text(d, key, MAX_ID_BYTES)?),
        "isEphemeral" => set(&mut ephemeral, key, d.bool().map_err(|e| invalid(key, e))?),
        "rapportExtensions" => set(
            &mut extensions,
            key,
            string_array(d, "rapportExtensions", MAX_EXTENSIONS)?,
        ),
        "rapportDigest" => {
            let value = bytes(d, key)?;
            if value.len() > MAX_DIGEST_BYTES {
                return Err(DecodeError::InvalidField {
                    field: "rapportDigest",
                    reason: format!("longer than {MAX_DIGEST_BYTES} bytes"),
                });
            }
            set(&mut digest, key, value)
        }
        "rapportIdentity" => set(&mut member, key, identity(d)?),
        _ => skip_value(d, key),
    })?;
    metadata.summary_digest = digest;
    metadata.identity = member;
    metadata.storage_id = storage;
    metadata.is_ephemeral = ephemeral.unwrap_or(false);
    metadata.extensions = extensions.unwrap_or_default();
    Ok(metadata)
}

fn invalid(field: &str, error: minicbor::decode::Error) -> DecodeError {
    if error.is_end_of_input() {
        return DecodeError::Truncated;
    }
    DecodeError::InvalidField {
        field: static_name(field),
        reason: error.to_string(),
    }
}

/// The field names this codec knows, as static strings for errors; others are "field".
fn static_name(field: &str) -> &'static str {
    const KNOWN: [&str; 19] = [
        "documents",
        "heads",
        "rapportDigest",
        "rapportIdentity",
        "type",
        "senderId",
        "targetId",
        "documentId",
        "sessionId",
        "message",
        "selectedProtocolVersion",
        "supportedProtocolVersions",
        "data",
        "count",
        "peerMetadata",
        "storageId",
        "isEphemeral",
        "rapportExtensions",
        "metadata",
    ];
    KNOWN.into_iter().find(|k| *k == field).unwrap_or("field")
}
