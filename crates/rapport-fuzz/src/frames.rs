//! How `relay_sync` cuts its input into websocket frames, in batches as the relay reads them.
//!
//! The input is one options byte, then frames: each a two-byte little-endian length and that
//! many bytes (a shorter tail is the last frame). A length of zero ends a batch: the relay
//! hands every frame that has already arrived to the session at once, and a batch behaves
//! differently from the same frames one by one (whole documents in a row are merged together).

/// The options byte: the peer is a viewer (its changes are never applied).
pub const VIEWER: u8 = 1;
/// The options byte: the harness sends a Rapport client's `join` (extension `summary-1`) before
/// the input's frames, so that the fuzzer starts past the handshake.
pub const JOINED: u8 = 2;
/// The options byte, with [`JOINED`]: the `join` claims the workspace's digest, so no summary
/// is exchanged.
pub const SAME_DIGEST: u8 = 4;

/// The options and the batches of frames of an input.
pub fn parse(data: &[u8]) -> (u8, Vec<Vec<&[u8]>>) {
    let Some((&options, mut rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = match rest {
            [low, high, tail @ ..] => (usize::from(u16::from_le_bytes([*low, *high])), tail),
            short => (short.len(), short),
        };
        rest = tail;
        if len == 0 {
            batches.push(std::mem::take(&mut batch));
            continue;
        }
        let (frame, tail) = rest.split_at(len.min(rest.len()));
        batch.push(frame);
        rest = tail;
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    (options, batches)
}

/// The input that [`parse`] reads as `options` and `batches` (for the seed corpus). A frame
/// longer than 65,535 bytes does not fit.
pub fn write(options: u8, batches: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = vec![options];
    for batch in batches {
        for frame in batch.iter().filter(|f| !f.is_empty()) {
            let len = u16::try_from(frame.len()).unwrap_or(u16::MAX);
            out.extend(len.to_le_bytes());
            out.extend(&frame[..usize::from(len)]);
        }
        out.extend([0, 0]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_write_writes_parses_back() {
        let batches = vec![vec![b"ab".to_vec(), b"c".to_vec()], vec![b"def".to_vec()]];
        let input = write(JOINED, &batches);
        let (options, parsed) = parse(&input);
        assert_eq!(options, JOINED);
        assert_eq!(parsed, vec![vec![&b"ab"[..], b"c"], vec![b"def"]]);
    }

    #[test]
    fn a_short_tail_is_the_last_frame() {
        assert_eq!(parse(&[0, 9, 0, 1, 2]).1, vec![vec![&[1u8, 2][..]]]);
        assert_eq!(parse(&[0, 9]).1, vec![vec![&[9u8][..]]]);
    }
}
