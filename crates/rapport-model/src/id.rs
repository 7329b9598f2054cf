//! Identifiers: document ids (automerge-repo compatible) and item ids (sortable, ULID).

use std::fmt;
use std::str::FromStr;

use crate::error::InvalidInput;

/// The id of one Automerge document, as automerge-repo spells it: bs58check of 16 random bytes.
///
/// Any automerge-repo peer can open the document at [`DocumentId::url`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; 16]);

impl DocumentId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// The id made of these bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The `automerge:` URL automerge-repo peers use to open the document.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }

    /// Parses either a bare id or an `automerge:` URL.
    pub fn parse_url_or_id(text: &str) -> Result<Self, InvalidInput> {
        text.strip_prefix("automerge:").unwrap_or(text).parse()
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidInput::DocumentId {
            text: text.to_owned(),
        };
        let bytes = bs58::decode(text)
            .with_check(None)
            .into_vec()
            .map_err(|_| invalid())?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| invalid())?;
        Ok(Self(bytes))
    }
}

impl serde::Serialize for DocumentId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DocumentId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Declares an id for items inside an account document: a ULID, so ids sort by creation time
/// and two replicas creating items offline never collide.
macro_rules! item_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(ulid::Ulid);

        impl $name {
            /// A fresh id, ordered after every id made earlier on this machine's clock.
            pub fn new() -> Self {
                Self(ulid::Ulid::generate())
            }

            /// The id made of a millisecond timestamp and random bits (for tests and imports).
            pub fn from_parts(unix_ms: u64, random: u128) -> Self {
                Self(ulid::Ulid::from_parts(unix_ms, random))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidInput;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                ulid::Ulid::from_string(text)
                    .map(Self)
                    .map_err(|_| InvalidInput::ItemId { what: $what, text: text.to_owned() })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    };
}

item_id!(
    /// The id of a timeline entry (note, call, email, ...), its key in the timeline map.
    EntryId,
    "entry"
);
item_id!(
    /// The id of a contact of an account.
    ContactId,
    "contact"
);
item_id!(
    /// The id of a deal of an account.
    DealId,
    "deal"
);
item_id!(
    /// The id of a task of an account.
    TaskId,
    "task"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_id_round_trips_through_text_and_url() -> Result<(), Box<dyn std::error::Error>> {
        let id = DocumentId::from_bytes([7; 16]);
        assert_eq!(id.to_string().parse::<DocumentId>()?, id);
        assert_eq!(DocumentId::parse_url_or_id(&id.url())?, id);
        assert!(id.url().starts_with("automerge:"));
        Ok(())
    }

    #[test]
    fn document_id_rejects_bad_checksum_and_length() -> Result<(), Box<dyn std::error::Error>> {
        let mut text = DocumentId::from_bytes([1; 16]).to_string();
        let last = text.pop().ok_or("empty id")?;
        text.push(if last == 'z' { 'y' } else { 'z' });
        assert!(text.parse::<DocumentId>().is_err());
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        assert!(short.parse::<DocumentId>().is_err());
        assert!("not base58 0OIl".parse::<DocumentId>().is_err());
        Ok(())
    }

    #[test]
    fn entry_ids_sort_by_time() {
        let early = EntryId::from_parts(1_000, u128::MAX);
        let late = EntryId::from_parts(2_000, 0);
        assert!(early < late);
        assert!(early.to_string() < late.to_string());
    }
}
