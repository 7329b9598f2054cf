//! Skipping a value the codec does not read (an unknown key's), in memory that does not grow
//! with the value.
//!
//! minicbor's own `Decoder::skip` keeps a stack that grows with indefinite-length arrays and
//! maps nested inside definite ones: a frame of such nesting costs about sixteen times its size
//! in memory while it is skipped. Here definite-length containers are only counted, however
//! deep, and at most [`MAX_INDEFINITE_DEPTH`] indefinite-length ones may be open at once.

use minicbor::Decoder;
use minicbor::data::Type;

use crate::error::DecodeError;

use super::{invalid, static_name};

/// The most indefinite-length arrays and maps an unknown value may have open at once.
pub(super) const MAX_INDEFINITE_DEPTH: usize = 64;

/// Skips the value at the decoder's position, which belongs to `field`.
pub(super) fn skip_value(d: &mut Decoder<'_>, field: &str) -> Result<(), DecodeError> {
    // Items still to skip before the innermost open indefinite-length container (or the value)
    // is done; for each open indefinite-length container, the count of the level around it.
    let mut remaining: u64 = 1;
    let mut outer: Vec<u64> = Vec::new();
    loop {
        let kind = d.datatype().map_err(|e| invalid(field, e))?;
        if remaining == 0 {
            // Between the items of an indefinite-length container: an item or its end.
            if kind == Type::Break {
                d.skip().map_err(|e| invalid(field, e))?;
                remaining = outer.pop().unwrap_or(0);
                if remaining == 0 && outer.is_empty() {
                    return Ok(());
                }
                continue;
            }
            remaining = 1;
        }
        match kind {
            Type::Tag => {
                // A tag is followed by the item it tags: nothing counted yet.
                d.tag().map_err(|e| invalid(field, e))?;
                continue;
            }
            Type::Array | Type::Map => {
                let items = match kind {
                    Type::Array => d.array(),
                    _ => d.map().map(|pairs| pairs.map(|n| n.saturating_mul(2))),
                }
                .map_err(|e| invalid(field, e))?
                .unwrap_or(0);
                // The container is one item of its level; its items are counted with that
                // level's (the input runs out long before a count can saturate).
                remaining = (remaining - 1).saturating_add(items);
            }
            Type::ArrayIndef | Type::MapIndef => {
                if outer.len() == MAX_INDEFINITE_DEPTH {
                    return Err(DecodeError::InvalidField {
                        field: static_name(field),
                        reason: format!(
                            "more than {MAX_INDEFINITE_DEPTH} indefinite-length arrays or maps \
                             nested"
                        ),
                    });
                }
                if kind == Type::ArrayIndef {
                    d.array().map_err(|e| invalid(field, e))?;
                } else {
                    d.map().map_err(|e| invalid(field, e))?;
                }
                outer.push(remaining - 1);
                remaining = 0;
                continue;
            }
            Type::Break => {
                return Err(DecodeError::InvalidField {
                    field: static_name(field),
                    reason: "unexpected break".into(),
                });
            }
            // Numbers, strings (also in chunks), simple values: no nesting.
            _ => {
                d.skip().map_err(|e| invalid(field, e))?;
                remaining -= 1;
            }
        }
        if remaining == 0 && outer.is_empty() {
            return Ok(());
        }
    }
}
