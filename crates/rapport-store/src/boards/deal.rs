//! Reading one deal from an account document.
//!
//! `rapport_model::account::view` reads deals only as part of the whole account; the pipeline
//! board needs the one deal a change touched. This reads it field by field exactly as the view
//! does (strings as scalars or text objects, the amount as any whole number, EUR when no
//! currency is given), so a board row equals the deal in the account's view.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use rapport_model::account::DealView;
use rapport_model::{Currency, DealId, ShapeError};

/// The deals collection's key in an account document.
const DEALS: &str = "deals";
/// The largest float magnitude read as a whole amount, as the model reads it.
const LARGEST_WHOLE_FLOAT: f64 = 9.0e15;

/// The deal stored under `key`; `None` when there is none, an error naming the field when it
/// has another shape.
pub(crate) fn read_deal<D: ReadDoc>(doc: &D, key: &str) -> Result<Option<DealView>, ShapeError> {
    let Some(deals) = map(doc, &ROOT, DEALS, DEALS)? else {
        return Ok(None);
    };
    let path = format!("{DEALS}.{key}");
    let Some(obj) = map(doc, &deals, key, &path)? else {
        return Ok(None);
    };
    let id: DealId = key.parse().map_err(|source| ShapeError::Invalid {
        path: path.clone(),
        source,
    })?;
    let field = |name: &str| Field {
        obj: &obj,
        name: name.to_owned(),
        path: format!("{path}.{name}"),
    };
    let currency = match field("currency").string(doc)? {
        Some(text) => text.parse().map_err(|source| ShapeError::Invalid {
            path: field("currency").path,
            source,
        })?,
        None => Currency::DEFAULT,
    };
    Ok(Some(DealView {
        id,
        title: field("title").required_string(doc)?,
        amount: field("amount").int(doc)?.unwrap_or(0),
        currency,
        stage: field("stage").required_string(doc)?,
        close: field("close").string(doc)?,
    }))
}

/// One field of the deal's map, with its path for error messages.
struct Field<'o> {
    obj: &'o ObjId,
    name: String,
    path: String,
}

impl Field<'_> {
    fn get<'d, D: ReadDoc>(&self, doc: &'d D) -> Result<Option<(Value<'d>, ObjId)>, ShapeError> {
        doc.get(self.obj, self.name.as_str())
            .map_err(|_| ShapeError::Missing {
                path: self.path.clone(),
            })
    }

    fn string<D: ReadDoc>(&self, doc: &D) -> Result<Option<String>, ShapeError> {
        let Some((value, id)) = self.get(doc)? else {
            return Ok(None);
        };
        match &value {
            Value::Scalar(scalar) => match scalar.as_ref() {
                ScalarValue::Str(text) => Ok(Some(text.to_string())),
                _ => Err(wrong_type(&self.path, "a string", &value)),
            },
            Value::Object(ObjType::Text) => doc
                .text(&id)
                .map(Some)
                .map_err(|_| wrong_type(&self.path, "a string", &value)),
            Value::Object(_) => Err(wrong_type(&self.path, "a string", &value)),
        }
    }

    fn required_string<D: ReadDoc>(&self, doc: &D) -> Result<String, ShapeError> {
        self.string(doc)?.ok_or_else(|| ShapeError::Missing {
            path: self.path.clone(),
        })
    }

    fn int<D: ReadDoc>(&self, doc: &D) -> Result<Option<i64>, ShapeError> {
        let Some((value, _)) = self.get(doc)? else {
            return Ok(None);
        };
        let wrong = || wrong_type(&self.path, "an integer", &value);
        match value.as_scalar() {
            Some(ScalarValue::Int(n)) => Ok(Some(*n)),
            Some(ScalarValue::Uint(n)) => i64::try_from(*n).map(Some).map_err(|_| wrong()),
            Some(ScalarValue::F64(f)) if f.fract() == 0.0 && f.abs() < LARGEST_WHOLE_FLOAT => {
                Ok(Some(*f as i64))
            }
            _ => Err(wrong()),
        }
    }
}

/// The map (or table) at `obj[key]`, if present.
fn map<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<ObjId>, ShapeError> {
    let found = doc.get(obj, key).map_err(|_| ShapeError::Missing {
        path: path.to_owned(),
    })?;
    match found {
        None => Ok(None),
        Some((Value::Object(ObjType::Map | ObjType::Table), id)) => Ok(Some(id)),
        Some((value, _)) => Err(wrong_type(path, "a map", &value)),
    }
}

fn wrong_type(path: &str, expected: &'static str, found: &Value<'_>) -> ShapeError {
    let found = match found {
        Value::Object(kind) => format!("a {kind:?} object").to_lowercase(),
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(_) => "a string".to_owned(),
            ScalarValue::Int(_) | ScalarValue::Uint(_) | ScalarValue::F64(_) => {
                "a number".to_owned()
            }
            other => format!("the value {other}"),
        },
    };
    ShapeError::WrongType {
        path: path.to_owned(),
        expected,
        found,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT, ReadDoc};
    use rapport_model::account::{self, NewAccount, NewDeal};
    use rapport_model::{DealId, DocumentId, Edit, Money, Team};

    use super::read_deal;

    fn account_with_deal() -> (AutoCommit, DealId) {
        let edit = Edit::now("ana".parse().unwrap(), Team::Sales);
        let id = DealId::new();
        let deal = NewDeal {
            title: "Upgrade".into(),
            amount: Money::parse("24000", "usd".parse().unwrap()).unwrap(),
            stage: "proposal".parse().unwrap(),
            close: Some("2026-12-31".parse().unwrap()),
        };
        let mut doc = AutoCommit::new();
        let new = NewAccount {
            name: "Globex".into(),
            ..Default::default()
        };
        account::create(&mut doc, &edit, &new).unwrap();
        account::add_deal(&mut doc, &edit, id, &deal).unwrap();
        (doc, id)
    }

    #[test]
    fn a_deal_reads_as_the_account_view_shows_it() {
        let (doc, id) = account_with_deal();
        let view = account::view(&doc, DocumentId::random()).unwrap();
        assert_eq!(
            read_deal(&doc, &id.to_string()).unwrap(),
            view.deals.first().cloned()
        );
        assert_eq!(read_deal(&doc, &DealId::new().to_string()).unwrap(), None);
    }

    #[test]
    fn a_deal_of_another_shape_names_the_field() {
        let (mut doc, id) = account_with_deal();
        let deals = doc.get(ROOT, "deals").unwrap().unwrap().1;
        let deal = doc.get(&deals, id.to_string()).unwrap().unwrap().1;
        doc.put(&deal, "amount", "a lot").unwrap();
        let err = read_deal(&doc, &id.to_string()).unwrap_err();
        assert!(err.to_string().contains("amount"), "{err}");
        doc.put(&deals, "not-an-id", 1).unwrap();
        assert!(read_deal(&doc, "not-an-id").is_err());
    }
}
