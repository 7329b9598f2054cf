//! Why a frame does not decode.

/// A frame that is not a protocol message. The connection that sent it gets an `error` message
/// and is closed; nothing else is affected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not CBOR at all.
    #[error("frame is not valid CBOR: {reason}")]
    Cbor {
        /// The decoder's complaint.
        reason: String,
    },
    /// The frame (or a nested part) ends early.
    #[error("frame is truncated")]
    Truncated,
    /// The frame, or its peer metadata, is not a CBOR map.
    #[error("{what} is not a CBOR map (found {found})")]
    NotAMap {
        /// Which part.
        what: &'static str,
        /// What it is instead.
        found: String,
    },
    /// A field the message type requires is absent.
    #[error("message has no {field}")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong type or an unacceptable value.
    #[error("message field {field} is invalid: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A key appears twice.
    #[error("message field {field} appears twice")]
    DuplicateField {
        /// The field.
        field: String,
    },
    /// Bytes follow the message.
    #[error("frame has bytes after the message (at byte {at})")]
    TrailingBytes {
        /// Where the message ended.
        at: usize,
    },
}
