//! Editable fields and `FIELD=VALUE` assignments, validated before they touch a document.

use std::fmt;

use crate::error::InvalidInput;
use crate::vocab::{Stage, UserName};

/// A single-valued field of an account (or one of its custom fields), or its tag set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountField {
    /// The account's name; cannot be cleared.
    Name,
    /// Its web domain, `acme.com`.
    Domain,
    /// Its industry.
    Industry,
    /// Its tier or value segment (`gold`, `smb`, ...).
    Tier,
    /// Its lifecycle stage.
    Stage,
    /// The member who owns it.
    Owner,
    /// Its main phone number.
    Phone,
    /// Its website.
    Website,
    /// Its tags, given comma separated; replaces the set.
    Tags,
    /// A workspace-specific field, `custom.NAME`.
    Custom(String),
}

impl AccountField {
    /// The single-valued fields stored at the root of an account document.
    pub const ROOT: [AccountField; 8] = [
        AccountField::Name,
        AccountField::Domain,
        AccountField::Industry,
        AccountField::Tier,
        AccountField::Stage,
        AccountField::Owner,
        AccountField::Phone,
        AccountField::Website,
    ];

    /// The key the field has in its map in the document.
    pub fn key(&self) -> &str {
        match self {
            AccountField::Name => "name",
            AccountField::Domain => "domain",
            AccountField::Industry => "industry",
            AccountField::Tier => "tier",
            AccountField::Stage => "stage",
            AccountField::Owner => "owner",
            AccountField::Phone => "phone",
            AccountField::Website => "website",
            AccountField::Tags => "tags",
            AccountField::Custom(name) => name,
        }
    }

    /// Parses a field name as typed: `stage`, `custom.region`, ...
    pub fn parse(name: &str) -> Result<Self, InvalidInput> {
        if let Some(custom) = name.strip_prefix("custom.") {
            if custom.is_empty() {
                return Err(InvalidInput::Empty {
                    what: "custom field name",
                });
            }
            return Ok(AccountField::Custom(custom.to_owned()));
        }
        Self::ROOT
            .into_iter()
            .chain([AccountField::Tags])
            .find(|field| field.key() == name)
            .ok_or_else(|| InvalidInput::UnknownField {
                field: name.to_owned(),
                expected: "name, domain, industry, tier, stage, owner, phone, website, tags"
                    .to_owned(),
            })
    }
}

impl fmt::Display for AccountField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountField::Custom(name) => write!(f, "custom.{name}"),
            other => f.write_str(other.key()),
        }
    }
}

/// A validated new value for an account field. An empty value clears an optional field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountAssignment {
    /// The field.
    pub field: AccountField,
    /// The new value, trimmed and checked; `None` clears the field.
    pub value: Option<String>,
}

impl AccountAssignment {
    /// Parses `FIELD=VALUE`, checking the value against the field.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let (name, value) = split_assignment(text)?;
        let field = AccountField::parse(name)?;
        let value = match (&field, value) {
            (AccountField::Name, "") => {
                return Err(InvalidInput::Empty {
                    what: "account name",
                });
            }
            (_, "") => None,
            (AccountField::Stage, stage) => Some(stage.parse::<Stage>()?.as_str().to_owned()),
            (AccountField::Owner, owner) => Some(owner.parse::<UserName>()?.to_string()),
            (AccountField::Domain, domain) => Some(domain.to_ascii_lowercase()),
            (_, value) => Some(value.to_owned()),
        };
        Ok(Self { field, value })
    }
}

/// A single-valued field of a contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactField {
    /// Full name; cannot be cleared.
    Name,
    /// Email address.
    Email,
    /// Phone number.
    Phone,
    /// Job title.
    Title,
}

impl ContactField {
    /// Every contact field.
    pub const ALL: [ContactField; 4] = [
        ContactField::Name,
        ContactField::Email,
        ContactField::Phone,
        ContactField::Title,
    ];

    /// The key in the contact's map.
    pub fn key(self) -> &'static str {
        match self {
            ContactField::Name => "name",
            ContactField::Email => "email",
            ContactField::Phone => "phone",
            ContactField::Title => "title",
        }
    }
}

/// A validated new value for a contact field. An empty value clears an optional field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactAssignment {
    /// The field.
    pub field: ContactField,
    /// The new value; `None` clears it.
    pub value: Option<String>,
}

impl ContactAssignment {
    /// Parses `FIELD=VALUE` for a contact.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let (name, value) = split_assignment(text)?;
        let field = ContactField::ALL
            .into_iter()
            .find(|f| f.key() == name)
            .ok_or_else(|| InvalidInput::UnknownField {
                field: name.to_owned(),
                expected: "name, email, phone, title".to_owned(),
            })?;
        let value = match (field, value) {
            (ContactField::Name, "") => {
                return Err(InvalidInput::Empty {
                    what: "contact name",
                });
            }
            (_, "") => None,
            (ContactField::Email, email) => Some(check_email(email)?),
            (_, value) => Some(value.to_owned()),
        };
        Ok(Self { field, value })
    }
}

/// Splits `FIELD=VALUE` into its trimmed halves.
fn split_assignment(text: &str) -> Result<(&str, &str), InvalidInput> {
    match text.split_once('=') {
        Some((name, value)) => Ok((name.trim(), value.trim())),
        None => Err(InvalidInput::Assignment {
            text: text.to_owned(),
        }),
    }
}

/// Checks that `text` looks like `name@domain.tld`; returns it trimmed.
pub fn check_email(text: &str) -> Result<String, InvalidInput> {
    let text = text.trim();
    let valid = match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(text.to_owned())
    } else {
        Err(InvalidInput::Email {
            text: text.to_owned(),
        })
    }
}

/// Parses a calendar date written `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<jiff::civil::Date, InvalidInput> {
    let invalid = || InvalidInput::Date {
        text: text.to_owned(),
    };
    if text.len() != 10 {
        return Err(invalid());
    }
    text.parse::<jiff::civil::Date>().map_err(|_| invalid())
}

/// A stage of the workspace's deal pipeline: a lowercase word such as `proposal`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PipelineStage(String);

impl PipelineStage {
    /// The stage name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for PipelineStage {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = !text.is_empty()
            && text.len() <= 40
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidInput::Word {
                what: "pipeline stage",
                text: text.to_owned(),
                expected: "a lowercase word such as proposal".to_owned(),
            })
        }
    }
}

impl fmt::Display for PipelineStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for PipelineStage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_validate_their_values() -> Result<(), Box<dyn std::error::Error>> {
        let stage = AccountAssignment::parse("stage=customer")?;
        assert_eq!(
            stage,
            AccountAssignment {
                field: AccountField::Stage,
                value: Some("customer".into())
            }
        );
        assert!(AccountAssignment::parse("stage=vip").is_err());
        assert!(AccountAssignment::parse("name=").is_err());
        assert!(
            AccountAssignment::parse("stge=lead")
                .err()
                .ok_or("stge should be refused")?
                .to_string()
                .contains("unknown field 'stge'")
        );
        assert_eq!(AccountAssignment::parse("domain=")?.value, None);
        assert_eq!(
            AccountAssignment::parse("custom.region=EMEA")?.field,
            AccountField::Custom("region".into())
        );
        assert!(AccountAssignment::parse("no equals sign").is_err());
        Ok(())
    }

    #[test]
    fn emails_and_dates_are_checked() {
        assert!(check_email("ana@acme.com").is_ok());
        for bad in ["ana", "ana@", "@acme.com", "ana@acme", "a na@acme.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(parse_date("2026-12-01").is_ok());
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("1 Dec").is_err());
    }
}
