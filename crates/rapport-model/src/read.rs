//! Typed reads from an Automerge document that report an unexpected shape instead of guessing.
//!
//! Strings are accepted both as scalar strings (what Rapport writes for single-valued fields) and
//! as text objects (what a JavaScript automerge-repo peer writes by default), so that documents
//! edited by foreign peers still read.

use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};

use crate::error::ShapeError;

/// A short name for a value's type, for error messages.
pub(crate) fn type_name(value: &Value<'_>) -> String {
    match value {
        Value::Object(kind) => format!("a {kind:?} object").to_lowercase(),
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Bytes(_) => "bytes".into(),
            ScalarValue::Str(_) => "a string".into(),
            ScalarValue::Int(_) | ScalarValue::Uint(_) | ScalarValue::F64(_) => "a number".into(),
            ScalarValue::Counter(_) => "a counter".into(),
            ScalarValue::Timestamp(_) => "a timestamp".into(),
            ScalarValue::Boolean(_) => "a boolean".into(),
            ScalarValue::Null => "null".into(),
            ScalarValue::Unknown { .. } => "an unknown scalar".into(),
        },
    }
}

/// Reads the value at `obj[key]`, turning automerge's error into a shape error.
fn get<'d, D: ReadDoc>(
    doc: &'d D,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<(Value<'d>, ObjId)>, ShapeError> {
    doc.get(obj, key).map_err(|_| ShapeError::Missing {
        path: path.to_owned(),
    })
}

/// Joins a path prefix and a key for error messages.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A string at `obj[key]` (scalar string or text object), if present.
pub(crate) fn string<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    prefix: &str,
) -> Result<Option<String>, ShapeError> {
    let path = join(prefix, key);
    match get(doc, obj, key, &path)? {
        None => Ok(None),
        Some((value, id)) => value_to_string(doc, &value, &id, &path).map(Some),
    }
}

/// The text of a value that holds a string or a text object.
pub(crate) fn value_to_string<D: ReadDoc>(
    doc: &D,
    value: &Value<'_>,
    id: &ObjId,
    path: &str,
) -> Result<String, ShapeError> {
    match value {
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(s) => Ok(s.to_string()),
            _ => Err(wrong(path, "a string", value)),
        },
        Value::Object(ObjType::Text) => doc.text(id).map_err(|_| wrong(path, "a string", value)),
        Value::Object(_) => Err(wrong(path, "a string", value)),
    }
}

/// A required string at `obj[key]`.
pub(crate) fn required_string<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    prefix: &str,
) -> Result<String, ShapeError> {
    string(doc, obj, key, prefix)?.ok_or_else(|| ShapeError::Missing {
        path: join(prefix, key),
    })
}

/// A string parsed into `T`, if present.
pub(crate) fn parsed<D: ReadDoc, T>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    prefix: &str,
) -> Result<Option<T>, ShapeError>
where
    T: std::str::FromStr<Err = crate::InvalidInput>,
{
    match string(doc, obj, key, prefix)? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|source| ShapeError::Invalid {
                path: join(prefix, key),
                source,
            }),
    }
}

/// A required string parsed into `T`.
pub(crate) fn required_parsed<D: ReadDoc, T>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    prefix: &str,
) -> Result<T, ShapeError>
where
    T: std::str::FromStr<Err = crate::InvalidInput>,
{
    parsed(doc, obj, key, prefix)?.ok_or_else(|| ShapeError::Missing {
        path: join(prefix, key),
    })
}

/// An integer at `obj[key]`, if present.
pub(crate) fn int<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    prefix: &str,
) -> Result<Option<i64>, ShapeError> {
    let path = join(prefix, key);
    match get(doc, obj, key, &path)? {
        None => Ok(None),
        Some((value, _)) => match value.as_scalar() {
            Some(ScalarValue::Int(n)) => Ok(Some(*n)),
            Some(ScalarValue::Uint(n)) => i64::try_from(*n)
                .map(Some)
                .map_err(|_| wrong(&path, "an integer", &value)),
            Some(ScalarValue::F64(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Ok(Some(*f as i64))
            }
            _ => Err(wrong(&path, "an integer", &value)),
        },
    }
}

/// A time at `obj[key]`, if present: a timestamp, or an integer of Unix milliseconds (as a
/// JavaScript peer may write it).
pub(crate) fn time<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    prefix: &str,
) -> Result<Option<jiff::Timestamp>, ShapeError> {
    let path = join(prefix, key);
    match get(doc, obj, key, &path)? {
        None => Ok(None),
        Some((value, _)) => {
            let millis = match value.as_scalar() {
                Some(ScalarValue::Timestamp(ms) | ScalarValue::Int(ms)) => Some(*ms),
                Some(ScalarValue::Uint(ms)) => i64::try_from(*ms).ok(),
                _ => None,
            };
            millis
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                .map(Some)
                .ok_or_else(|| wrong(&path, "a timestamp", &value))
        }
    }
}

/// A boolean at `obj[key]`, if present.
pub(crate) fn boolean<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    prefix: &str,
) -> Result<Option<bool>, ShapeError> {
    let path = join(prefix, key);
    match get(doc, obj, key, &path)? {
        None => Ok(None),
        Some((value, _)) => match value.as_scalar() {
            Some(ScalarValue::Boolean(b)) => Ok(Some(*b)),
            _ => Err(wrong(&path, "a boolean", &value)),
        },
    }
}

/// The object of type `kind` at `obj[key]`, if present.
pub(crate) fn object<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    kind: ObjType,
    prefix: &str,
) -> Result<Option<ObjId>, ShapeError> {
    let path = join(prefix, key);
    match get(doc, obj, key, &path)? {
        None => Ok(None),
        Some((Value::Object(found), id))
            if found == kind || (kind == ObjType::Map && found == ObjType::Table) =>
        {
            Ok(Some(id))
        }
        Some((value, _)) => Err(wrong(
            &path,
            if kind == ObjType::List {
                "a list"
            } else {
                "a map"
            },
            &value,
        )),
    }
}

/// A scalar (or text) rendered for people, as conflicts show it.
pub(crate) fn display<D: ReadDoc>(doc: &D, value: &Value<'_>, id: &ObjId) -> String {
    match value {
        Value::Object(ObjType::Text) => doc.text(id).unwrap_or_default(),
        Value::Object(kind) => format!("({kind:?})").to_lowercase(),
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            other => other.to_string(),
        },
    }
}

fn wrong(path: &str, expected: &'static str, found: &Value<'_>) -> ShapeError {
    ShapeError::WrongType {
        path: path.to_owned(),
        expected,
        found: type_name(found),
    }
}
