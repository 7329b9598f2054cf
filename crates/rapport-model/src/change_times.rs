//! A bound on the times Automerge changes carry. Automerge keeps a document's change times in a
//! delta-encoded column, and the column code it uses (hexane) adds and subtracts them with an
//! unconditional `expect`: one change timed near `i64::MIN` or `i64::MAX` beside ordinary ones
//! makes applying it, saving the document or loading it panic, in release builds too. So bytes
//! from elsewhere (a peer's changes or documents, and documents read back from disk) are
//! checked with [`check`] before Automerge reads them, and refused when any change's time lies
//! outside ±[`LIMIT`].
//!
//! The walk reads only what it needs of Automerge's binary format: each chunk's header; for a
//! change, the fields up to its time; for a document (or a bundle of changes), the time column
//! of its change metadata, summed as Automerge sums it. Chunks whose layout it cannot make sense
//! of are left to Automerge, which refuses them before it reads any time.

use std::io::Read;

/// The largest time (either side of the epoch) a change may carry: 2^53 − 1, the largest
/// integer JavaScript holds exactly. Rapport writes seconds and JavaScript Automerge
/// milliseconds, both far inside it (milliseconds reach it in the year 287,396); any two times
/// inside it differ by far less than `i64` holds.
pub const LIMIT: i64 = (1 << 53) - 1;

/// Bytes holding a change whose time Automerge cannot be trusted with.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangeTimeError {
    /// A change's time lies outside ±[`LIMIT`] (as read, or as a document's deltas sum to).
    #[error("a change's time {time} is outside ±{LIMIT} of the epoch")]
    OutOfRange {
        /// The time.
        time: i128,
    },
    /// A document's column of change times does not decode, or a compressed change (or
    /// column) inflates past what the walk reads before its times: Automerge would still
    /// read them, so they cannot be left to it.
    #[error("its change times do not decode within what they may inflate to")]
    Undecodable,
}

/// The magic bytes that open every Automerge chunk.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Chunk types: a document, one change, one compressed change, a bundle of changes.
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;
/// The column-spec bit that says a column is compressed.
const DEFLATE_BIT: u64 = 0b1000;
/// The specs (without the deflate bit) of the change-time column: a delta-encoded column with
/// id 2 in a document's change metadata, id 3 in a bundle's.
const DOCUMENT_TIME_SPEC: u64 = (2 << 4) | 3;
const BUNDLE_TIME_SPEC: u64 = (3 << 4) | 3;

/// Checks every change time in `bytes` (concatenated Automerge chunks: a saved document,
/// changes, or both).
pub fn check(bytes: &[u8]) -> Result<(), ChangeTimeError> {
    let mut rest = bytes;
    while let Some((chunk_type, data, after)) = chunk(rest) {
        match chunk_type {
            CHANGE => plain_change_time(data)?,
            COMPRESSED_CHANGE => compressed_change_time(data)?,
            DOCUMENT => column_times(data, false)?,
            BUNDLE => column_times(data, true)?,
            _ => {}
        }
        rest = after;
    }
    Ok(())
}

/// [`check`] for several byte strings (the changes of one sync message).
pub fn check_all(parts: &[&[u8]]) -> Result<(), ChangeTimeError> {
    parts.iter().try_for_each(|part| check(part))
}

fn in_range(time: i128) -> Result<(), ChangeTimeError> {
    if time.unsigned_abs() > LIMIT.unsigned_abs().into() {
        return Err(ChangeTimeError::OutOfRange { time });
    }
    Ok(())
}

/// How far the walk inflates compressed bytes: 64 times their size, at least a mebibyte (as
/// far as the sync session lets a peer's bytes inflate). Real changes and columns stay far
/// inside; bytes that go past it are refused.
fn inflate_limit(compressed: &[u8]) -> u64 {
    (compressed.len() as u64).saturating_mul(64).max(1 << 20)
}

/// A plain change's time. A header cut short is left to Automerge, which parses the same
/// fields and refuses it.
fn plain_change_time(body: &[u8]) -> Result<(), ChangeTimeError> {
    match header_time(body) {
        Some(time) => in_range(time.into()),
        None => Ok(()),
    }
}

/// A compressed change's time, read from its body as it inflates. A header that does not
/// decode within [`inflate_limit`] is refused: its time could lie past it.
fn compressed_change_time(compressed: &[u8]) -> Result<(), ChangeTimeError> {
    let body = flate2::read::DeflateDecoder::new(compressed).take(inflate_limit(compressed));
    match header_time(body) {
        Some(time) => in_range(time.into()),
        None => Err(ChangeTimeError::Undecodable),
    }
}

/// The time in a change's body (what follows the chunk header): dependencies, actor, sequence
/// number and first op come before it.
fn header_time(mut body: impl Read) -> Option<i64> {
    let deps = read_uleb(&mut body)?;
    skip(&mut body, deps.checked_mul(32)?)?;
    let actor = read_uleb(&mut body)?;
    skip(&mut body, actor)?;
    read_uleb(&mut body)?; // sequence number
    read_uleb(&mut body)?; // first op
    read_sleb(&mut body)
}

/// The change times of a document chunk's data (or a bundle's, whose change columns come
/// first), summed from their deltas.
fn column_times(data: &[u8], bundle: bool) -> Result<(), ChangeTimeError> {
    let Some((spec, column)) = time_column(data, bundle) else {
        return Ok(());
    };
    if spec & DEFLATE_BIT != 0 {
        deflated_times(column)
    } else {
        sum_deltas(column)
    }
}

/// A compressed column of change times, inflated whole first (refused past
/// [`inflate_limit`]: the times beyond it would go unchecked).
fn deflated_times(column: &[u8]) -> Result<(), ChangeTimeError> {
    let limit = inflate_limit(column);
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(column)
        .take(limit.saturating_add(1))
        .read_to_end(&mut inflated)
        .map_err(|_| ChangeTimeError::Undecodable)?;
    if inflated.len() as u64 > limit {
        return Err(ChangeTimeError::Undecodable);
    }
    sum_deltas(inflated.as_slice())
}

/// The spec and bytes of the change-time column, or `None` if the data is not laid out as a
/// document (or a bundle), or has no such column (every time is then 0).
fn time_column(data: &[u8], bundle: bool) -> Option<(u64, &[u8])> {
    let (change_meta, change_data) = if bundle {
        let (meta, after) = column_meta(actors(hashes(data)?)?)?;
        let length = total(&meta)?;
        (meta, take(after, length)?.0)
    } else {
        let (meta, after) = column_meta(hashes(actors(data)?)?)?;
        let (_op_meta, after) = column_meta(after)?;
        let length = total(&meta)?;
        (meta, take(after, length)?.0)
    };
    let wanted = if bundle {
        BUNDLE_TIME_SPEC
    } else {
        DOCUMENT_TIME_SPEC
    };
    let mut rest = change_data;
    for (spec, length) in change_meta {
        let (column, after) = take(rest, usize::try_from(length).ok()?)?;
        if spec & !DEFLATE_BIT == wanted {
            return Some((spec, column));
        }
        rest = after;
    }
    None
}

/// Walks a delta-encoded column of run-length encoded signed numbers, checking each running
/// sum: runs of one number repeated (a positive count), of literal numbers (a negative count)
/// and of nulls (a zero count, then how many), which leave the sum where it is.
fn sum_deltas(mut column: impl Read) -> Result<(), ChangeTimeError> {
    let mut sum: i128 = 0;
    loop {
        let count = match read_sleb_or_end(&mut column) {
            Ok(None) => return Ok(()),
            Ok(Some(count)) => count,
            Err(()) => return Err(ChangeTimeError::Undecodable),
        };
        let undecodable = || ChangeTimeError::Undecodable;
        match count {
            0 => {
                read_uleb(&mut column).ok_or_else(undecodable)?;
            }
            repeat if repeat > 0 => {
                let delta = read_sleb(&mut column).ok_or_else(undecodable)?;
                // The sum moves one way along the run: its ends are its extremes.
                sum += i128::from(delta);
                in_range(sum)?;
                sum += i128::from(delta) * i128::from(repeat - 1);
                in_range(sum)?;
            }
            literals => {
                for _ in 0..literals.unsigned_abs() {
                    sum += i128::from(read_sleb(&mut column).ok_or_else(undecodable)?);
                    in_range(sum)?;
                }
            }
        }
    }
}

/// The next chunk of `bytes`: its type, its data and what follows it; `None` at the end or
/// where the bytes are not a chunk.
fn chunk(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let rest = bytes.strip_prefix(&MAGIC)?;
    let (_checksum, rest) = rest.split_at_checked(4)?;
    let (&chunk_type, mut rest) = rest.split_first()?;
    let length = read_uleb(&mut rest)?;
    let (data, after) = rest.split_at_checked(usize::try_from(length).ok()?)?;
    Some((chunk_type, data, after))
}

/// Skips a length-prefixed list of actor ids (each length-prefixed bytes).
fn actors(mut bytes: &[u8]) -> Option<&[u8]> {
    for _ in 0..read_uleb(&mut bytes)? {
        let length = read_uleb(&mut bytes)?;
        bytes = take(bytes, usize::try_from(length).ok()?)?.1;
    }
    Some(bytes)
}

/// Skips a length-prefixed list of 32-byte change hashes.
fn hashes(mut bytes: &[u8]) -> Option<&[u8]> {
    let count = read_uleb(&mut bytes)?;
    let length = usize::try_from(count).ok()?.checked_mul(32)?;
    Some(take(bytes, length)?.1)
}

/// A column's spec (its id, type and whether it is compressed) and its length in bytes.
type Column = (u64, u64);

/// A column list, and what follows it.
fn column_meta(mut bytes: &[u8]) -> Option<(Vec<Column>, &[u8])> {
    let count = read_uleb(&mut bytes)?;
    let mut columns = Vec::new();
    for _ in 0..count {
        let spec = read_uleb(&mut bytes)?;
        let length = read_uleb(&mut bytes)?;
        columns.push((spec, length));
    }
    Some((columns, bytes))
}

fn total(columns: &[Column]) -> Option<usize> {
    let sum = columns
        .iter()
        .try_fold(0u64, |sum, (_, length)| sum.checked_add(*length))?;
    usize::try_from(sum).ok()
}

fn take(bytes: &[u8], length: usize) -> Option<(&[u8], &[u8])> {
    bytes.split_at_checked(length)
}

fn skip(bytes: &mut impl Read, length: u64) -> Option<()> {
    let skipped = std::io::copy(&mut bytes.take(length), &mut std::io::sink()).ok()?;
    (skipped == length).then_some(())
}

fn read_byte(bytes: &mut impl Read) -> Option<u8> {
    let mut byte = [0u8];
    match bytes.read_exact(&mut byte) {
        Ok(()) => Some(byte[0]),
        Err(_) => None,
    }
}

/// An unsigned LEB128 number.
fn read_uleb(bytes: &mut impl Read) -> Option<u64> {
    let mut value = 0u64;
    for index in 0..10 {
        let byte = read_byte(bytes)?;
        value |= u64::from(byte & 0x7f).checked_shl(7 * index)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A signed LEB128 number that fits in `i64`.
fn read_sleb(bytes: &mut impl Read) -> Option<i64> {
    read_sleb_or_end(bytes).ok().flatten()
}

/// A signed LEB128 number, `Ok(None)` where the bytes end cleanly before it, `Err` where it is
/// cut short or does not fit in `i64`.
fn read_sleb_or_end(bytes: &mut impl Read) -> Result<Option<i64>, ()> {
    let mut value: i128 = 0;
    for index in 0..10u32 {
        let Some(byte) = read_byte(bytes) else {
            return if index == 0 { Ok(None) } else { Err(()) };
        };
        value |= i128::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            if byte & 0x40 != 0 {
                value -= 1i128 << (7 * (index + 1));
            }
            return i64::try_from(value).map(Some).map_err(|_| ());
        }
    }
    Err(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use automerge::transaction::{CommitOptions, Transactable};
    use automerge::{Automerge, ROOT};

    use super::*;

    /// A document with one change per time, in order.
    fn document(times: &[i64]) -> Automerge {
        let mut doc = Automerge::new();
        for (i, time) in times.iter().enumerate() {
            let mut tx = doc.transaction();
            tx.put(ROOT, "step", i as i64).unwrap();
            tx.put(
                ROOT,
                format!("note {i}"),
                "a note long enough to be worth compressing",
            )
            .unwrap();
            tx.commit_with(CommitOptions::default().with_time(*time));
        }
        doc
    }

    fn change_bytes(doc: &Automerge) -> Vec<Vec<u8>> {
        doc.get_changes(&[])
            .into_iter()
            .map(|change| change.raw_bytes().to_vec())
            .collect()
    }

    #[test]
    fn real_documents_and_changes_pass_whatever_their_times() {
        let now_ms = 1_764_680_000_000;
        let many: Vec<i64> = (0..300)
            .map(|i| now_ms + i * 61_234 - (i % 7) * 9)
            .collect();
        for times in [
            vec![],
            vec![0],
            vec![now_ms / 1000, now_ms],
            vec![-LIMIT, LIMIT, 0, LIMIT],
            many,
        ] {
            let doc = document(&times);
            let saved = doc.save();
            check(&saved).unwrap();
            for change in change_bytes(&doc) {
                check(&change).unwrap();
            }
            let mut joined = doc.save_nocompress();
            joined.extend(document(&[now_ms]).save_after(&[]));
            check(&joined).unwrap();
            let compressed: Vec<u8> = doc
                .get_changes(&[])
                .into_iter()
                .flat_map(|mut change| change.bytes().to_vec())
                .collect();
            check(&compressed).unwrap();
        }
    }

    #[test]
    fn a_change_timed_past_the_limit_is_refused_as_a_change_and_in_a_document() {
        for time in [i64::MIN, i64::MAX, LIMIT + 1, -LIMIT - 1] {
            let doc = document(&[time]);
            let expected = ChangeTimeError::OutOfRange { time: time.into() };
            let change = &change_bytes(&doc)[0];
            assert_eq!(check(change), Err(expected.clone()));
            assert_eq!(check_all(&[b"", change]), Err(expected.clone()));
            assert_eq!(check(&doc.save()), Err(expected.clone()));
            let mut after_a_document = document(&[1, 2]).save();
            after_a_document.extend(change);
            assert_eq!(check(&after_a_document), Err(expected));
        }
    }

    #[test]
    fn a_time_far_out_in_a_long_time_column_is_found_plain_or_compressed() {
        use std::io::Write;

        let mut times: Vec<i64> = (0..400).map(|i| 1_700_000_000_000 + i * 1_001).collect();
        times.push(i64::MAX);
        let saved = document(&times).save();
        let expected = Err(ChangeTimeError::OutOfRange {
            time: i64::MAX.into(),
        });
        assert_eq!(check(&saved), expected);
        // Automerge 0.12 writes the column plain; older writers deflate it.
        let (spec, column) = time_column(chunk(&saved).unwrap().1, false).unwrap();
        assert_eq!(spec, DOCUMENT_TIME_SPEC);
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(column).unwrap();
        let deflated = encoder.finish().unwrap();
        assert_eq!(deflated_times(&deflated), expected);
        times.pop();
        let saved = document(&times).save();
        let (_, column) = time_column(chunk(&saved).unwrap().1, false).unwrap();
        assert_eq!(sum_deltas(column), Ok(()));
    }

    #[test]
    fn a_large_change_is_read_inflated() {
        for (time, expected) in [
            (1_700_000_000_000, Ok(())),
            (
                i64::MIN,
                Err(ChangeTimeError::OutOfRange {
                    time: i64::MIN.into(),
                }),
            ),
        ] {
            let mut doc = Automerge::new();
            let mut tx = doc.transaction();
            tx.put(ROOT, "text", "a long note ".repeat(400)).unwrap();
            tx.commit_with(CommitOptions::default().with_time(time));
            let mut change = doc.get_changes(&[]).remove(0);
            let compressed = change.bytes().to_vec();
            assert_eq!(compressed[8], COMPRESSED_CHANGE);
            assert_eq!(check(&compressed), expected);
        }
    }

    #[test]
    fn compressed_bytes_that_inflate_past_the_limit_before_their_times_are_refused() {
        use std::io::Write;

        let deflate = |bytes: &[u8]| {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        };
        // A change claiming 2^20 dependencies of zeros (32 MiB) before its time.
        let mut body = Vec::new();
        let mut count = 1u64 << 20;
        while count >= 0x80 {
            body.push((count as u8 & 0x7f) | 0x80);
            count >>= 7;
        }
        body.push(count as u8);
        body.extend(vec![0u8; 32 << 20]);
        let compressed = deflate(&body);
        assert!(inflate_limit(&compressed) < body.len() as u64);
        assert_eq!(
            compressed_change_time(&compressed),
            Err(ChangeTimeError::Undecodable)
        );
        // A column of 2 MiB of null runs, compressed a thousandfold.
        let column = deflate(&vec![0u8; 2 << 20]);
        assert_eq!(deflated_times(&column), Err(ChangeTimeError::Undecodable));
        assert_eq!(deflated_times(&deflate(&[0, 5])), Ok(()));
    }

    #[test]
    fn a_time_column_whose_deltas_overflow_is_refused_before_automerge_sees_it() {
        // A repeated run of huge deltas: its sum passes i64 without any one value doing so.
        let mut column = Vec::new();
        leb128_signed(&mut column, 3);
        leb128_signed(&mut column, i64::MAX / 2);
        assert!(matches!(
            sum_deltas(column.as_slice()),
            Err(ChangeTimeError::OutOfRange { .. })
        ));
        assert_eq!(sum_deltas(&[0x80u8][..]), Err(ChangeTimeError::Undecodable));
    }

    #[test]
    fn bytes_that_are_not_chunks_are_left_to_automerge() {
        for junk in [&b""[..], b"\x85\x6f\x4a", b"not automerge", &[0xff; 64]] {
            check(junk).unwrap();
        }
        let change = &change_bytes(&document(&[i64::MAX]))[0];
        check(&change[..change.len() / 2]).unwrap();
    }

    fn leb128_signed(out: &mut Vec<u8>, mut value: i64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
            out.push(if done { byte } else { byte | 0x80 });
            if done {
                return;
            }
        }
    }
}
