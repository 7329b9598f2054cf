//! The custom fields a workspace defines: which `custom.NAME` fields its accounts have, with a
//! label and a type that values are checked against.
//!
//! Each definition is one root key of the workspace document, `field:<name>`, holding a map
//! `{ label, type, options, defined }`. Workspace documents made before definitions existed
//! have no collection for them, and two replicas creating one concurrently would each make
//! their own map and one would hide the other; independent root keys never collide, so fields
//! defined on two replicas at once both survive. Two definitions of the same name keep one, as
//! any field does. A key that does not read as a definition (a foreign peer's, or a type from a
//! later version) is left out: its values then show as undefined custom fields.
//!
//! Values stay where they always were, in the account's `custom` map, as text. A definition
//! checks new values ([`FieldDefinition::check`]); a value that does not fit (written before
//! the definition, or by a peer that does not check) is shown as it is and flagged
//! ([`CustomValue::valid`]). Removing a definition leaves every value in place.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc, ScalarValue};
use serde::Serialize;

use crate::edit::Edit;
use crate::error::{EditError, InvalidInput};
use crate::fields::{AccountAssignment, AccountField, check_email, parse_date};
use crate::read;
use crate::schema::FIELD_PREFIX;

/// The longest label, in characters.
pub const MAX_LABEL: usize = 100;
/// The most options a choice field offers.
pub const MAX_OPTIONS: usize = 100;
/// The longest option, in characters.
pub const MAX_OPTION: usize = 100;

/// The name of a defined custom field: what follows `custom.` in `custom.NAME`. One to 64
/// letters, digits, `_` or `-`, so that it reads the same in a command line, a CSV header
/// (`account.custom.NAME`) and a document key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldName(String);

impl FieldName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for FieldName {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-');
        if text.is_empty() || text.chars().count() > 64 || !text.chars().all(valid_char) {
            return Err(InvalidInput::FieldName {
                text: text.to_owned(),
            });
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl Serialize for FieldName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// What a custom field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Any text.
    Text,
    /// A decimal number: `1200`, `-3`, `99.50`.
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of the definition's options.
    Choice,
    /// An `http://` or `https://` address.
    Url,
    /// An email address.
    Email,
}

impl FieldType {
    /// Every type, in the order help texts list them.
    pub const ALL: [FieldType; 6] = [
        FieldType::Text,
        FieldType::Number,
        FieldType::Date,
        FieldType::Choice,
        FieldType::Url,
        FieldType::Email,
    ];

    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Date => "date",
            FieldType::Choice => "choice",
            FieldType::Url => "url",
            FieldType::Email => "email",
        }
    }
}

impl FromStr for FieldType {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| InvalidInput::Word {
                what: "field type",
                text: text.to_owned(),
                expected: "text, number, date, choice, url, email".to_owned(),
            })
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A custom field the workspace defines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldDefinition {
    /// Its name: values live under `custom.NAME`.
    pub name: FieldName,
    /// What people see.
    pub label: String,
    /// What its values are.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// For a choice field, the values it offers, in order; empty for the others.
    pub options: Vec<String>,
}

impl FieldDefinition {
    /// A definition checked as given: the label (trimmed; the name when blank) fits
    /// [`MAX_LABEL`], a choice field has one to [`MAX_OPTIONS`] distinct options of at most
    /// [`MAX_OPTION`] characters without commas, and other types have none.
    pub fn new(
        name: FieldName,
        kind: FieldType,
        label: Option<&str>,
        options: &[String],
    ) -> Result<Self, InvalidInput> {
        let label = label
            .map(str::trim)
            .filter(|label| !label.is_empty())
            .unwrap_or(name.as_str());
        if label.chars().count() > MAX_LABEL {
            return Err(InvalidInput::FieldLabel {
                text: label.to_owned(),
            });
        }
        let options = check_options(kind, options)?;
        Ok(Self {
            label: label.to_owned(),
            name,
            kind,
            options,
        })
    }

    /// Checks a value given for the field, returning it as stored: trimmed, a date as
    /// `YYYY-MM-DD`, a choice as the option spells it (matched without case).
    pub fn check(&self, text: &str) -> Result<String, InvalidInput> {
        let text = text.trim();
        let refuse = |expected: String| InvalidInput::FieldValue {
            field: self.name.to_string().into(),
            text: text.to_owned(),
            expected: expected.into(),
        };
        match self.kind {
            FieldType::Text => Ok(text.to_owned()),
            FieldType::Number if is_decimal(text) => Ok(text.to_owned()),
            FieldType::Number => Err(refuse("a number such as 1200, -3 or 99.50".to_owned())),
            FieldType::Date => parse_date(text)
                .map(|date| date.to_string())
                .map_err(|_| refuse("a date YYYY-MM-DD".to_owned())),
            FieldType::Choice => self
                .options
                .iter()
                .find(|option| option.to_lowercase() == text.to_lowercase())
                .cloned()
                .ok_or_else(|| refuse(format!("one of {}", self.options.join(", ")))),
            FieldType::Url if is_web_address(text) => Ok(text.to_owned()),
            FieldType::Url => Err(refuse("an address starting http:// or https://".to_owned())),
            FieldType::Email => {
                check_email(text).map_err(|_| refuse("an email address name@domain".to_owned()))
            }
        }
    }

    /// Whether `text`, as stored, is a value the field accepts exactly so.
    pub fn fits(&self, text: &str) -> bool {
        self.check(text).is_ok_and(|checked| checked == text)
    }
}

/// The options of a field of type `kind`, checked and trimmed, in the order given.
fn check_options(kind: FieldType, options: &[String]) -> Result<Vec<String>, InvalidInput> {
    let options: Vec<String> = options
        .iter()
        .map(|option| option.trim().to_owned())
        .filter(|option| !option.is_empty())
        .collect();
    let problem = match kind {
        FieldType::Choice if options.is_empty() => {
            Some("a choice field needs at least one option".to_owned())
        }
        FieldType::Choice if options.len() > MAX_OPTIONS => Some(format!(
            "a choice field offers at most {MAX_OPTIONS} options"
        )),
        FieldType::Choice => None,
        _ if !options.is_empty() => Some(format!("only a choice field has options, not {kind}")),
        _ => None,
    };
    if let Some(reason) = problem {
        return Err(InvalidInput::FieldOptions { reason });
    }
    for (at, option) in options.iter().enumerate() {
        let reason = if option.contains(',') {
            format!("option '{option}' holds a comma")
        } else if option.chars().count() > MAX_OPTION {
            format!("option '{option}' is longer than {MAX_OPTION} characters")
        } else if options[..at]
            .iter()
            .any(|earlier| earlier.to_lowercase() == option.to_lowercase())
        {
            format!("option '{option}' is given twice")
        } else {
            continue;
        };
        return Err(InvalidInput::FieldOptions { reason });
    }
    Ok(options)
}

/// An optional sign, digits, and an optional fraction: `1200`, `-3`, `99.50`.
fn is_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// `http://` or `https://`, a host, and no blanks.
fn is_web_address(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !text.contains(char::is_whitespace)
    })
}

/// Writes a definition under its own root key, `field:<name>`, replacing one of that name.
pub fn put_definition<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    definition: &FieldDefinition,
) -> Result<(), EditError> {
    let obj = tx.put_object(ROOT, definition_key(&definition.name), ObjType::Map)?;
    tx.put(&obj, "label", definition.label.as_str())?;
    tx.put(&obj, "type", definition.kind.as_str())?;
    if definition.kind == FieldType::Choice {
        tx.put(&obj, "options", definition.options.join(","))?;
    }
    tx.put(&obj, "defined", ScalarValue::Timestamp(edit.at_millis()))?;
    Ok(())
}

/// Writes several definitions in one change, in the order given, each a millisecond after the
/// one before: definitions are listed by when they were made, so they keep this order (an
/// import keeps its file's).
pub fn put_definitions<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    definitions: &[FieldDefinition],
) -> Result<(), EditError> {
    let mut at = edit.clone();
    for definition in definitions {
        put_definition(tx, &at, definition)?;
        at.at = at
            .at
            .checked_add(jiff::SignedDuration::from_millis(1))
            .unwrap_or(at.at);
    }
    Ok(())
}

/// Removes the definition of `name`; the values accounts hold stay.
pub fn remove_definition<T: Transactable>(tx: &mut T, name: &FieldName) -> Result<(), EditError> {
    let key = definition_key(name);
    if tx.get(ROOT, key.as_str())?.is_none() {
        return Err(EditError::UnknownFieldDefinition {
            name: name.to_string(),
        });
    }
    tx.delete(ROOT, key.as_str())?;
    Ok(())
}

/// The workspace's custom fields, in the order they were defined (ties by name; a definition
/// without a time comes last). One that does not read is left out.
pub fn definitions<D: ReadDoc>(doc: &D) -> Vec<FieldDefinition> {
    let mut found: Vec<(i64, FieldDefinition)> = doc
        .keys(ROOT)
        .filter_map(|key| read_definition(doc, &key))
        .collect();
    found.sort_by(|(a_at, a), (b_at, b)| a_at.cmp(b_at).then_with(|| a.name.cmp(&b.name)));
    found
        .into_iter()
        .map(|(_, definition)| definition)
        .collect()
}

/// One definition and when it was made, if the key holds one that reads. Keys a later
/// version may add beside these are ignored: they cannot make a value this version accepts
/// unreadable.
fn read_definition<D: ReadDoc>(doc: &D, key: &str) -> Option<(i64, FieldDefinition)> {
    let name: FieldName = key.strip_prefix(FIELD_PREFIX)?.parse().ok()?;
    let obj = read::object(doc, &ROOT, key, ObjType::Map, "").ok()??;
    let text = |field| read::string(doc, &obj, field, key).ok().flatten();
    let kind: FieldType = text("type")?.parse().ok()?;
    let options: Vec<String> = match kind {
        FieldType::Choice => text("options")?.split(',').map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let label = text("label");
    let definition = FieldDefinition::new(name, kind, label.as_deref(), &options).ok()?;
    let defined = match doc.get(&obj, "defined").ok().flatten() {
        Some((value, _)) => match value.as_scalar() {
            Some(ScalarValue::Timestamp(at) | ScalarValue::Int(at)) => *at,
            _ => i64::MAX,
        },
        None => i64::MAX,
    };
    Some((defined, definition))
}

fn definition_key(name: &FieldName) -> String {
    format!("{FIELD_PREFIX}{name}")
}

/// Checks the custom fields among `assignments` against the definitions, returning the
/// assignments with their values as stored. A field nobody defined keeps its value as given,
/// and clearing a field is always allowed.
pub fn check_assignments(
    definitions: &[FieldDefinition],
    assignments: &[AccountAssignment],
) -> Result<Vec<AccountAssignment>, InvalidInput> {
    assignments
        .iter()
        .map(|assignment| {
            let AccountField::Custom(name) = &assignment.field else {
                return Ok(assignment.clone());
            };
            let defined = definitions.iter().find(|d| d.name.as_str() == name);
            let value = match (defined, &assignment.value) {
                (Some(definition), Some(value)) => Some(definition.check(value)?),
                (_, value) => value.clone(),
            };
            Ok(AccountAssignment {
                field: assignment.field.clone(),
                value,
            })
        })
        .collect()
}

/// One custom field of an account as people see it: a defined field (with or without a value)
/// or a value nobody defined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomValue {
    /// The field's name (`custom.NAME`).
    pub name: String,
    /// Its label: the definition's, else the name.
    pub label: String,
    /// The definition's type; `None` for a field nobody defined.
    #[serde(rename = "type")]
    pub kind: Option<FieldType>,
    /// A choice field's options.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// The account's value, if it has one.
    pub value: Option<String>,
    /// Whether the value fits the definition (always true without one, or without a value).
    pub valid: bool,
}

/// An account's custom fields for display: every defined field first, in definition order,
/// with or without a value, then the values of fields nobody defined, by name.
pub fn present(
    definitions: &[FieldDefinition],
    custom: &BTreeMap<String, String>,
) -> Vec<CustomValue> {
    let defined = definitions.iter().map(|definition| {
        let value = custom.get(definition.name.as_str()).cloned();
        CustomValue {
            name: definition.name.to_string(),
            label: definition.label.clone(),
            kind: Some(definition.kind),
            options: definition.options.clone(),
            valid: value.as_deref().is_none_or(|v| definition.fits(v)),
            value,
        }
    });
    let undefined = custom
        .iter()
        .filter(|(name, _)| !definitions.iter().any(|d| d.name.as_str() == *name))
        .map(|(name, value)| CustomValue {
            name: name.clone(),
            label: name.clone(),
            kind: None,
            options: Vec::new(),
            value: Some(value.clone()),
            valid: true,
        });
    defined.chain(undefined).collect()
}

#[cfg(test)]
mod tests;
