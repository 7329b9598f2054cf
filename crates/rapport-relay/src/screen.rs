//! What the relay refuses in a peer's Automerge sync message before Automerge reads it.
//!
//! Automerge takes the Bloom filters of a sync message (its `have`s) at their word when it works
//! out which changes to send: a filter claiming four billion probes has it allocate 16 GiB and
//! loop as often for every change it checks, a filter with entries but no bits has it divide by
//! zero, and every filter is checked for every change. A message whose filters could do that is
//! refused as invalid; the counts a message claims (heads, changes) cost nothing until read, as
//! Automerge reads them one by one from the bytes there are.

use automerge::sync::{self, BloomFilter};
use rapport_proto::Message;
use rapport_sync::ProtocolError;

/// The most probes per hash a filter may ask for (Automerge's filters use 7).
const MAX_PROBES: u64 = 32;

/// The most filters a message may carry (Automerge sends at most one).
const MAX_FILTERS: usize = 4;

/// Refuses `message` if it is a `sync` or `request` that Automerge should not read.
pub(crate) fn check(message: &Message) -> Result<(), ProtocolError> {
    let (Message::Sync(m) | Message::Request(m)) = message else {
        return Ok(());
    };
    sync_data(&m.data).map_err(|reason| ProtocolError::InvalidSyncMessage {
        document: m.document_id.as_str().to_owned(),
        reason,
    })
}

fn sync_data(data: &[u8]) -> Result<(), String> {
    let message = sync::Message::decode(data).map_err(|e| e.to_string())?;
    if message.have.len() > MAX_FILTERS {
        return Err(format!("more than {MAX_FILTERS} bloom filters"));
    }
    message.have.iter().try_for_each(|have| filter(&have.bloom))
}

/// Checks a filter's parameters, read back from its wire form (entries, bits per entry, probes,
/// then the bits; nothing at all for an empty filter, which is never probed).
fn filter(bloom: &BloomFilter) -> Result<(), String> {
    let bytes = bloom.to_bytes();
    let mut rest = bytes.as_slice();
    if rest.is_empty() {
        return Ok(());
    }
    let _entries = leb128(&mut rest)?;
    let _bits_per_entry = leb128(&mut rest)?;
    let probes = leb128(&mut rest)?;
    if probes > MAX_PROBES {
        return Err(format!(
            "a bloom filter asks for {probes} probes (at most {MAX_PROBES})"
        ));
    }
    if rest.is_empty() {
        return Err("a bloom filter has entries but no bits".into());
    }
    Ok(())
}

/// An unsigned LEB128 number (as Automerge writes them: at most 64 bits).
fn leb128(input: &mut &[u8]) -> Result<u64, String> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let Some((&byte, rest)) = input.split_first() else {
            break;
        };
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a bloom filter's parameters do not read".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use automerge::ChangeHash;
    use automerge::sync::Have;

    use super::*;

    /// A filter from its wire form: entries, bits per entry, probes, then the bits.
    fn bloom(wire: &[u8]) -> BloomFilter {
        BloomFilter::try_from(wire).unwrap()
    }

    fn with_filters(filters: Vec<BloomFilter>) -> Vec<u8> {
        sync::Message {
            heads: Vec::new(),
            need: Vec::new(),
            have: filters
                .into_iter()
                .map(|bloom| Have {
                    last_sync: Vec::new(),
                    bloom,
                })
                .collect(),
            changes: Vec::<Vec<u8>>::new().into(),
            flags: None,
            version: sync::MessageVersion::V1,
        }
        .encode()
    }

    #[test]
    fn the_filters_automerge_makes_pass() {
        let hashes = [ChangeHash([1; 32]), ChangeHash([2; 32])];
        let made = BloomFilter::from_hashes(hashes.iter());
        assert_eq!(sync_data(&with_filters(vec![made])), Ok(()));
        assert_eq!(
            sync_data(&with_filters(vec![BloomFilter::default()])),
            Ok(())
        );
    }

    #[test]
    fn filters_that_would_make_automerge_allocate_loop_or_divide_by_zero_are_refused() {
        // Four billion probes (0xffffffff as LEB128), one byte of bits.
        let probes = bloom(&[1, 8, 0xff, 0xff, 0xff, 0xff, 0x0f, 0]);
        let error = sync_data(&with_filters(vec![probes])).unwrap_err();
        assert!(error.contains("4294967295 probes"), "{error}");
        // One entry of zero bits: no bits at all.
        let empty = bloom(&[1, 0, 7]);
        let error = sync_data(&with_filters(vec![empty])).unwrap_err();
        assert!(error.contains("no bits"), "{error}");
        let many = vec![BloomFilter::default(); MAX_FILTERS + 1];
        let error = sync_data(&with_filters(many)).unwrap_err();
        assert!(error.contains("bloom filters"), "{error}");
    }
}
