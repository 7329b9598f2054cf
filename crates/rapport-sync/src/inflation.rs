//! A limit on what a peer's bytes may inflate to. Automerge stores columns of documents (and
//! whole changes) DEFLATE-compressed, and inflates them as it parses, with no bound: a few
//! kilobytes of zeros compressed can become a gigabyte in memory. So before any bytes from a
//! peer reach Automerge, [`check`] walks their chunks, inflates each compressed part into a
//! small buffer that is thrown away, and refuses the bytes once the total passes the limit.
//!
//! The walk reads only what it needs of Automerge's binary format: each chunk's header (magic
//! bytes, checksum, type, length), and for documents and bundles the column metadata that says
//! which columns are compressed. Chunks it cannot make sense of are left to Automerge, which
//! refuses them before it inflates anything.

use std::io::Read;

/// The magic bytes that open every Automerge chunk.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Chunk types: a document, one change, one compressed change, a bundle of changes.
const DOCUMENT: u8 = 0;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;
/// The column-spec bit that says a column is compressed.
const DEFLATE_BIT: u64 = 0b1000;

/// Bytes may inflate to this many times their own size...
const RATIO: u64 = 64;
/// ... but always to at least this much (small messages of text compress well) ...
const FLOOR: u64 = 1024 * 1024;
/// ... and never to more than this.
const CEILING: u64 = 256 * 1024 * 1024;

/// Bytes that would inflate past the limit.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("its compressed data inflates to more than {limit} bytes ({size} bytes as sent)")]
pub struct TooLarge {
    /// The limit for bytes of that size.
    pub limit: u64,
    /// Their size as sent.
    pub size: u64,
}

/// What `size` bytes from a peer may inflate to.
pub fn limit_for(size: usize) -> u64 {
    (size as u64).saturating_mul(RATIO).clamp(FLOOR, CEILING)
}

/// Checks that `bytes` (concatenated Automerge chunks: a saved document, or changes) inflate
/// to no more than [`limit_for`] their size.
pub fn check(bytes: &[u8]) -> Result<(), TooLarge> {
    check_all(&[bytes])
}

/// [`check`] for several byte strings that arrive together (the changes of one sync message):
/// their inflated sizes count against one limit, that of their total size.
pub fn check_all(parts: &[&[u8]]) -> Result<(), TooLarge> {
    let size: usize = parts.iter().map(|part| part.len()).sum();
    let mut budget = Budget {
        left: limit_for(size),
        refused: TooLarge {
            limit: limit_for(size),
            size: size as u64,
        },
    };
    for part in parts {
        walk_chunks(part, &mut budget)?;
    }
    Ok(())
}

/// What may still be inflated.
struct Budget {
    left: u64,
    refused: TooLarge,
}

impl Budget {
    /// Inflates `compressed` into scratch space, counting. A stream that does not decode ends
    /// the count where it fails: Automerge fails at the same place.
    fn inflate(&mut self, compressed: &[u8]) -> Result<(), TooLarge> {
        let mut decoder = flate2::read::DeflateDecoder::new(compressed);
        let mut scratch = [0u8; 16 * 1024];
        loop {
            match decoder.read(&mut scratch) {
                Ok(0) | Err(_) => return Ok(()),
                Ok(read) => {
                    self.left = self
                        .left
                        .checked_sub(read as u64)
                        .ok_or_else(|| self.refused.clone())?;
                }
            }
        }
    }
}

fn walk_chunks(mut rest: &[u8], budget: &mut Budget) -> Result<(), TooLarge> {
    while let Some((chunk_type, data, after)) = chunk(rest) {
        match chunk_type {
            COMPRESSED_CHANGE => budget.inflate(data)?,
            DOCUMENT => compressed_columns(data, false, budget)?,
            BUNDLE => compressed_columns(data, true, budget)?,
            _ => {}
        }
        rest = after;
    }
    Ok(())
}

/// The next chunk of `bytes`: its type, its data and what follows it; `None` at the end or
/// where the bytes are not a chunk.
fn chunk(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let rest = bytes.strip_prefix(&MAGIC)?;
    let (_checksum, rest) = rest.split_at_checked(4)?;
    let (&chunk_type, rest) = rest.split_first()?;
    let (length, rest) = uleb(rest)?;
    let length = usize::try_from(length).ok()?;
    let (data, after) = rest.split_at_checked(length)?;
    Some((chunk_type, data, after))
}

/// Inflates the compressed columns of a document chunk's data (or a bundle's, whose change
/// columns come before its op metadata).
fn compressed_columns(data: &[u8], bundle: bool, budget: &mut Budget) -> Result<(), TooLarge> {
    let Some(columns) = columns(data, bundle) else {
        return Ok(());
    };
    for column in columns {
        budget.inflate(column)?;
    }
    Ok(())
}

/// The compressed columns' bytes, or `None` if the data is not laid out as a document (or a
/// bundle): Automerge then refuses it before inflating anything.
fn columns(data: &[u8], bundle: bool) -> Option<Vec<&[u8]>> {
    let mut rest = data;
    if bundle {
        rest = hashes(rest)?;
        rest = actors(rest)?;
        let (change_meta, after) = column_meta(rest)?;
        let (change_data, after) = take(after, total(&change_meta)?)?;
        let (op_meta, after) = column_meta(after)?;
        let (op_data, _) = take(after, total(&op_meta)?)?;
        let mut compressed = deflated(&change_meta, change_data)?;
        compressed.extend(deflated(&op_meta, op_data)?);
        return Some(compressed);
    }
    rest = actors(rest)?;
    rest = hashes(rest)?;
    let (change_meta, after) = column_meta(rest)?;
    let (op_meta, after) = column_meta(after)?;
    let (change_data, after) = take(after, total(&change_meta)?)?;
    let (op_data, _) = take(after, total(&op_meta)?)?;
    let mut compressed = deflated(&change_meta, change_data)?;
    compressed.extend(deflated(&op_meta, op_data)?);
    Some(compressed)
}

/// Skips a length-prefixed list of actor ids (each length-prefixed bytes).
fn actors(bytes: &[u8]) -> Option<&[u8]> {
    let (count, mut rest) = uleb(bytes)?;
    for _ in 0..count {
        let (length, after) = uleb(rest)?;
        rest = take(after, usize::try_from(length).ok()?)?.1;
    }
    Some(rest)
}

/// Skips a length-prefixed list of 32-byte change hashes.
fn hashes(bytes: &[u8]) -> Option<&[u8]> {
    let (count, rest) = uleb(bytes)?;
    let length = usize::try_from(count).ok()?.checked_mul(32)?;
    Some(take(rest, length)?.1)
}

/// A column's spec (its id, type and whether it is compressed) and its length in bytes.
type Column = (u64, u64);

/// A column list, and what follows it.
fn column_meta(bytes: &[u8]) -> Option<(Vec<Column>, &[u8])> {
    let (count, mut rest) = uleb(bytes)?;
    let mut columns = Vec::new();
    for _ in 0..count {
        let (spec, after) = uleb(rest)?;
        let (length, after) = uleb(after)?;
        columns.push((spec, length));
        rest = after;
    }
    Some((columns, rest))
}

fn total(columns: &[Column]) -> Option<usize> {
    let sum = columns
        .iter()
        .try_fold(0u64, |sum, (_, length)| sum.checked_add(*length))?;
    usize::try_from(sum).ok()
}

/// The slices of `data` that hold the compressed columns of `columns`.
fn deflated<'a>(columns: &[Column], data: &'a [u8]) -> Option<Vec<&'a [u8]>> {
    let mut rest = data;
    let mut compressed = Vec::new();
    for (spec, length) in columns {
        let (column, after) = take(rest, usize::try_from(*length).ok()?)?;
        if spec & DEFLATE_BIT != 0 {
            compressed.push(column);
        }
        rest = after;
    }
    Some(compressed)
}

fn take(bytes: &[u8], length: usize) -> Option<(&[u8], &[u8])> {
    bytes.split_at_checked(length)
}

/// An unsigned LEB128 number and what follows it.
fn uleb(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (index, byte) in bytes.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        value |= bits.checked_shl(7 * index as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, &bytes[index + 1..]));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};

    use super::*;

    /// A compressed-change chunk whose data inflates to `size` zero bytes.
    fn bomb(size: usize) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..size / zeros.len() {
            encoder.write_all(&zeros).unwrap();
        }
        let data = encoder.finish().unwrap();
        let mut chunk = MAGIC.to_vec();
        chunk.extend([0; 4]);
        chunk.push(COMPRESSED_CHANGE);
        let mut length = data.len() as u64;
        loop {
            let byte = (length & 0x7f) as u8;
            length >>= 7;
            if length == 0 {
                chunk.push(byte);
                break;
            }
            chunk.push(byte | 0x80);
        }
        chunk.extend(data);
        chunk
    }

    /// A document with compressed columns: long text compresses.
    fn document_with_text(notes: usize) -> Vec<u8> {
        let mut doc = AutoCommit::new();
        let list = doc.put_object(ROOT, "notes", ObjType::List).unwrap();
        for i in 0..notes {
            let text = doc.insert_object(&list, i, ObjType::Text).unwrap();
            let words = format!("note {i} about the renewal and the next call with the team. ");
            doc.splice_text(&text, 0, 0, &words.repeat(20)).unwrap();
        }
        doc.save()
    }

    #[test]
    fn a_compressed_change_that_inflates_a_thousandfold_is_refused() {
        let bytes = bomb(16 * 1024 * 1024);
        assert!(bytes.len() < 32 * 1024, "{} bytes", bytes.len());
        let refused = check(&bytes).unwrap_err();
        assert_eq!(refused.size, bytes.len() as u64);
        assert_eq!(refused.limit, FLOOR);
        // Automerge itself would inflate it whole before finding it invalid.
        assert!(automerge::Automerge::load(&bytes).is_err());
    }

    #[test]
    fn real_documents_and_their_changes_pass_whatever_their_size() {
        for notes in [0, 1, 10, 200] {
            let saved = document_with_text(notes);
            check(&saved).unwrap();
            let doc = automerge::Automerge::load(&saved).unwrap();
            let changes: Vec<Vec<u8>> = doc
                .get_changes(&[])
                .into_iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect();
            let parts: Vec<&[u8]> = changes.iter().map(Vec::as_slice).collect();
            check_all(&parts).unwrap();
        }
    }

    #[test]
    fn a_document_whose_columns_are_compressed_is_measured_inflated() {
        let saved = document_with_text(200);
        let chunk = chunk(&saved).unwrap();
        assert_eq!(chunk.0, DOCUMENT);
        let compressed = columns(chunk.1, false).unwrap();
        assert!(!compressed.is_empty(), "long text makes compressed columns");
        let mut budget = Budget {
            left: 64,
            refused: TooLarge { limit: 64, size: 0 },
        };
        assert!(compressed_columns(chunk.1, false, &mut budget).is_err());
    }

    #[test]
    fn bytes_that_are_not_chunks_are_left_to_automerge() {
        for junk in [
            &b""[..],
            b"\x85\x6f\x4a",
            b"not automerge at all",
            &[0xff; 64],
        ] {
            check(junk).unwrap();
        }
        let mut truncated = bomb(8 * 1024 * 1024);
        truncated.truncate(truncated.len() / 2);
        check(&truncated).unwrap();
    }
}
