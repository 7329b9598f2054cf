//! Which column holds which field: Rapport's own headers (`account.name`, `contact.email`,
//! `deal.amount`, ... as `rapport export` writes them), the headers of common CRM exports
//! (HubSpot, Salesforce, Pipedrive), and `--map` for the rest.

use std::fmt;
use std::str::FromStr;

use crate::error::MappingError;

/// What one file's rows are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One account per row.
    Accounts,
    /// One contact per row, attached to the account the row names.
    Contacts,
    /// One deal per row, attached to the account the row names.
    Deals,
}

impl Kind {
    /// The word for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Accounts => "accounts",
            Kind::Contacts => "contacts",
            Kind::Deals => "deals",
        }
    }

    /// What one row is, in words.
    pub fn record(self) -> &'static str {
        match self {
            Kind::Accounts => "account",
            Kind::Contacts => "contact",
            Kind::Deals => "deal",
        }
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "accounts" => Ok(Kind::Accounts),
            "contacts" => Ok(Kind::Contacts),
            "deals" => Ok(Kind::Deals),
            _ => Err(format!(
                "invalid kind '{text}': expected accounts, contacts or deals"
            )),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field a column can feed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The account's name (in a contacts or deals file: the account the row belongs to).
    AccountName,
    /// The account's web domain.
    AccountDomain,
    /// The account's website.
    AccountWebsite,
    /// Its industry.
    AccountIndustry,
    /// Its tier.
    AccountTier,
    /// Its lifecycle stage.
    AccountStage,
    /// Its owner (a member's user name).
    AccountOwner,
    /// Its main phone.
    AccountPhone,
    /// Its tags, comma separated.
    AccountTags,
    /// A custom field, `account.custom.NAME`.
    AccountCustom(String),
    /// A contact's full name.
    ContactName,
    /// A contact's first name (joined with the last name when no full name is given).
    ContactFirstName,
    /// A contact's last name.
    ContactLastName,
    /// A contact's email.
    ContactEmail,
    /// A contact's phone.
    ContactPhone,
    /// A contact's job title.
    ContactTitle,
    /// A deal's title.
    DealTitle,
    /// A deal's amount, in major units.
    DealAmount,
    /// A deal's currency code.
    DealCurrency,
    /// A deal's pipeline stage.
    DealStage,
    /// A deal's expected close date.
    DealClose,
}

/// The fields every kind of file may hold, by their own names, in export order.
const ACCOUNT_FIELDS: [(Field, &str); 9] = [
    (Field::AccountName, "account.name"),
    (Field::AccountDomain, "account.domain"),
    (Field::AccountWebsite, "account.website"),
    (Field::AccountIndustry, "account.industry"),
    (Field::AccountTier, "account.tier"),
    (Field::AccountStage, "account.stage"),
    (Field::AccountOwner, "account.owner"),
    (Field::AccountPhone, "account.phone"),
    (Field::AccountTags, "account.tags"),
];
const CONTACT_FIELDS: [(Field, &str); 6] = [
    (Field::ContactName, "contact.name"),
    (Field::ContactFirstName, "contact.first_name"),
    (Field::ContactLastName, "contact.last_name"),
    (Field::ContactEmail, "contact.email"),
    (Field::ContactPhone, "contact.phone"),
    (Field::ContactTitle, "contact.title"),
];
const DEAL_FIELDS: [(Field, &str); 5] = [
    (Field::DealTitle, "deal.title"),
    (Field::DealAmount, "deal.amount"),
    (Field::DealCurrency, "deal.currency"),
    (Field::DealStage, "deal.stage"),
    (Field::DealClose, "deal.close"),
];

impl Field {
    /// The field's own name, which is also its header in Rapport's exports.
    pub fn name(&self) -> String {
        if let Field::AccountCustom(name) = self {
            return format!("account.custom.{name}");
        }
        ACCOUNT_FIELDS
            .iter()
            .chain(&CONTACT_FIELDS)
            .chain(&DEAL_FIELDS)
            .find(|(field, _)| field == self)
            .map_or_else(String::new, |(_, name)| (*name).to_owned())
    }

    /// Parses a field's own name, as `--map` and Rapport's headers give it.
    pub fn parse(name: &str, kind: Kind) -> Option<Field> {
        if let Some(custom) = name.strip_prefix("account.custom.") {
            return (!custom.is_empty()).then(|| Field::AccountCustom(custom.to_owned()));
        }
        fields_of(kind)
            .find(|(_, own)| *own == name)
            .map(|(field, _)| field.clone())
    }
}

/// The fields a file of `kind` may fill: the account's always (in a contacts or deals file they
/// name the account), the contact's or the deal's besides.
fn fields_of(kind: Kind) -> impl Iterator<Item = &'static (Field, &'static str)> {
    let own: &'static [(Field, &str)] = match kind {
        Kind::Accounts => &[],
        Kind::Contacts => &CONTACT_FIELDS,
        Kind::Deals => &DEAL_FIELDS,
    };
    ACCOUNT_FIELDS.iter().chain(own)
}

/// A header, lowercased, and the field it feeds in an accounts, a contacts and a deals file.
type KnownHeader = (&'static str, Option<Field>, Option<Field>, Option<Field>);

/// Headers of other CRMs' exports, lowercased, and the field each feeds in a file of each kind.
/// The same header can mean different things: "Phone Number" is the company's in a HubSpot
/// companies export and the person's in a contacts export.
const KNOWN_HEADERS: &[KnownHeader] = {
    use Field::*;
    &[
        // (header, in accounts, in contacts, in deals)
        (
            "name",
            Some(AccountName),
            Some(ContactName),
            Some(DealTitle),
        ),
        (
            "company name",
            Some(AccountName),
            Some(AccountName),
            Some(AccountName),
        ),
        (
            "company",
            Some(AccountName),
            Some(AccountName),
            Some(AccountName),
        ),
        (
            "associated company",
            Some(AccountName),
            Some(AccountName),
            Some(AccountName),
        ),
        (
            "account name",
            Some(AccountName),
            Some(AccountName),
            Some(AccountName),
        ),
        (
            "account: account name",
            None,
            Some(AccountName),
            Some(AccountName),
        ),
        (
            "organization - name",
            Some(AccountName),
            Some(AccountName),
            Some(AccountName),
        ),
        ("person - organization", None, Some(AccountName), None),
        ("deal - organization", None, None, Some(AccountName)),
        (
            "company domain name",
            Some(AccountDomain),
            Some(AccountDomain),
            Some(AccountDomain),
        ),
        (
            "domain",
            Some(AccountDomain),
            Some(AccountDomain),
            Some(AccountDomain),
        ),
        ("website", Some(AccountWebsite), None, None),
        ("website url", Some(AccountWebsite), None, None),
        ("organization - website", Some(AccountWebsite), None, None),
        ("industry", Some(AccountIndustry), None, None),
        ("organization - industry", Some(AccountIndustry), None, None),
        ("tier", Some(AccountTier), None, None),
        ("lifecycle stage", Some(AccountStage), None, None),
        ("phone number", Some(AccountPhone), Some(ContactPhone), None),
        ("phone", Some(AccountPhone), Some(ContactPhone), None),
        (
            "billing city",
            Some(AccountCustom(String::new())),
            None,
            None,
        ),
        ("city", Some(AccountCustom(String::new())), None, None),
        ("full name", None, Some(ContactName), None),
        ("contact name", None, Some(ContactName), None),
        ("person - name", None, Some(ContactName), None),
        ("first name", None, Some(ContactFirstName), None),
        ("contact: first name", None, Some(ContactFirstName), None),
        ("last name", None, Some(ContactLastName), None),
        ("contact: last name", None, Some(ContactLastName), None),
        ("email", None, Some(ContactEmail), None),
        ("email address", None, Some(ContactEmail), None),
        ("contact: email", None, Some(ContactEmail), None),
        ("person - email", None, Some(ContactEmail), None),
        ("person - phone", None, Some(ContactPhone), None),
        ("job title", None, Some(ContactTitle), None),
        ("title", None, Some(ContactTitle), Some(DealTitle)),
        ("person - job title", None, Some(ContactTitle), None),
        ("deal name", None, None, Some(DealTitle)),
        ("opportunity name", None, None, Some(DealTitle)),
        ("deal - title", None, None, Some(DealTitle)),
        ("amount", None, None, Some(DealAmount)),
        ("deal - value", None, None, Some(DealAmount)),
        ("currency", None, None, Some(DealCurrency)),
        ("deal - currency", None, None, Some(DealCurrency)),
        ("opportunity currency", None, None, Some(DealCurrency)),
        ("deal stage", None, None, Some(DealStage)),
        ("stage", None, None, Some(DealStage)),
        ("deal - stage", None, None, Some(DealStage)),
        ("close date", None, None, Some(DealClose)),
        ("deal - expected close date", None, None, Some(DealClose)),
        ("expected close date", None, None, Some(DealClose)),
    ]
};

/// Headers that say, on their own, what a file holds (checked deals first, then contacts).
const DEAL_HEADERS: &[&str] = &[
    "deal.title",
    "deal name",
    "opportunity name",
    "deal - title",
];
const CONTACT_HEADERS: &[&str] = &[
    "contact.name",
    "contact.first_name",
    "contact.email",
    "first name",
    "last name",
    "email",
    "email address",
    "contact: first name",
    "contact: email",
    "person - name",
    "person - email",
];

/// What each column of a file feeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The kind of record each row is.
    pub kind: Kind,
    /// Per column, its field; `None` for a column that is ignored.
    pub columns: Vec<Option<Field>>,
    /// Headers that map to nothing and were not ignored on purpose (`--map 'H=ignore'`).
    pub unknown: Vec<String>,
}

/// `--map` overrides: a header and the field it feeds (`None`: ignore the column).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMap(Vec<(String, Option<String>)>);

impl FromStr for ColumnMap {
    type Err = MappingError;

    /// Parses `Header=field,Other Header=field` (a field `ignore` drops the column).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut pairs = Vec::new();
        for piece in text.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((header, field)) = piece.rsplit_once('=') else {
                return Err(MappingError::MapSyntax {
                    text: piece.to_owned(),
                });
            };
            let (header, field) = (header.trim(), field.trim());
            if header.is_empty() || field.is_empty() {
                return Err(MappingError::MapSyntax {
                    text: piece.to_owned(),
                });
            }
            let field = (field != "ignore").then(|| field.to_owned());
            pairs.push((header.to_owned(), field));
        }
        Ok(Self(pairs))
    }
}

impl ColumnMap {
    /// Adds the pairs of another map after these (later ones win).
    pub fn extend(&mut self, other: ColumnMap) {
        self.0.extend(other.0);
    }
}

/// Decides the kind (`given`, else from the headers) and each column's field: `--map` first,
/// then Rapport's own field names, then the known headers of other CRMs.
pub fn map_columns(
    headers: &[String],
    given: Option<Kind>,
    overrides: &ColumnMap,
) -> Result<Mapping, MappingError> {
    for (header, _) in &overrides.0 {
        if !headers.iter().any(|h| h.eq_ignore_ascii_case(header)) {
            return Err(MappingError::UnknownHeader {
                header: header.clone(),
            });
        }
    }
    let kind = match given {
        Some(kind) => kind,
        None => detect_kind(headers, overrides)?,
    };
    let mut columns = Vec::with_capacity(headers.len());
    let mut unknown = Vec::new();
    for header in headers {
        let chosen = overrides
            .0
            .iter()
            .rev()
            .find(|(h, _)| h.eq_ignore_ascii_case(header));
        let field = match chosen {
            Some((_, None)) => None,
            Some((_, Some(name))) => Some(Field::parse(name, kind).ok_or_else(|| {
                MappingError::UnknownField {
                    field: name.clone(),
                    expected: fields_of(kind)
                        .map(|(_, n)| *n)
                        .chain(["account.custom.NAME"])
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?),
            None => {
                let found = known_field(header, kind);
                if found.is_none() {
                    unknown.push(header.clone());
                }
                found
            }
        };
        columns.push(field);
    }
    check_columns(headers, &columns, kind)?;
    Ok(Mapping {
        kind,
        columns,
        unknown,
    })
}

/// The field a header feeds in a file of `kind` without `--map`.
fn known_field(header: &str, kind: Kind) -> Option<Field> {
    if let Some(field) = Field::parse(header, kind) {
        return Some(field);
    }
    let lower = header.trim().to_lowercase();
    let (_, accounts, contacts, deals) = KNOWN_HEADERS.iter().find(|(h, ..)| *h == lower)?;
    let field = match kind {
        Kind::Accounts => accounts,
        Kind::Contacts => contacts,
        Kind::Deals => deals,
    };
    match field {
        // A known header kept as a custom field takes its name from the header: `city`.
        Some(Field::AccountCustom(_)) => Some(Field::AccountCustom(
            lower.rsplit(' ').next().unwrap_or(&lower).to_owned(),
        )),
        other => other.clone(),
    }
}

fn detect_kind(headers: &[String], overrides: &ColumnMap) -> Result<Kind, MappingError> {
    let mapped = |prefix: &str| {
        overrides
            .0
            .iter()
            .any(|(_, f)| f.as_deref().is_some_and(|f| f.starts_with(prefix)))
    };
    let has = |set: &[&str]| {
        headers
            .iter()
            .any(|h| set.contains(&h.trim().to_lowercase().as_str()))
    };
    if mapped("deal.") || has(DEAL_HEADERS) {
        return Ok(Kind::Deals);
    }
    if mapped("contact.") || has(CONTACT_HEADERS) {
        return Ok(Kind::Contacts);
    }
    let names_accounts = headers
        .iter()
        .any(|h| known_field(h, Kind::Accounts) == Some(Field::AccountName));
    if names_accounts || mapped("account.") {
        return Ok(Kind::Accounts);
    }
    Err(MappingError::UnknownKind {
        headers: headers.join(", "),
    })
}

/// Refuses two columns for one field, and a file without the columns its kind needs.
fn check_columns(
    headers: &[String],
    columns: &[Option<Field>],
    kind: Kind,
) -> Result<(), MappingError> {
    for (index, field) in columns.iter().enumerate() {
        let Some(field) = field else { continue };
        if let Some(first) = columns[..index]
            .iter()
            .position(|f| f.as_ref() == Some(field))
        {
            return Err(MappingError::SameField {
                field: field.name(),
                first: headers[first].clone(),
                second: headers[index].clone(),
            });
        }
    }
    let has = |wanted: &[Field]| columns.iter().flatten().any(|f| wanted.contains(f));
    let account = [Field::AccountName, Field::AccountDomain];
    let missing = match kind {
        Kind::Accounts if !has(&[Field::AccountName]) => Some(("account name", "account.name")),
        Kind::Contacts | Kind::Deals if !has(&account) => {
            Some(("account a row belongs to", "account.name"))
        }
        Kind::Contacts
            if !has(&[
                Field::ContactName,
                Field::ContactFirstName,
                Field::ContactLastName,
            ]) =>
        {
            Some(("contact's name", "contact.name"))
        }
        Kind::Deals if !has(&[Field::DealTitle]) => Some(("deal's title", "deal.title")),
        Kind::Deals if !has(&[Field::DealAmount]) => Some(("deal's amount", "deal.amount")),
        _ => None,
    };
    match missing {
        Some((what, field)) => Err(MappingError::MissingColumn { what, field }),
        None => Ok(()),
    }
}

/// The headers Rapport's own export of `kind` writes (before any custom account fields).
pub fn export_headers(kind: Kind) -> Vec<String> {
    let names: Vec<&str> = match kind {
        Kind::Accounts => ACCOUNT_FIELDS.iter().map(|(_, n)| *n).collect(),
        Kind::Contacts => ["account.name", "account.domain"]
            .into_iter()
            .chain([
                "contact.name",
                "contact.email",
                "contact.phone",
                "contact.title",
            ])
            .collect(),
        Kind::Deals => ["account.name", "account.domain"]
            .into_iter()
            .chain(DEAL_FIELDS.iter().map(|(_, n)| *n))
            .collect(),
    };
    names.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(text: &str) -> Vec<String> {
        text.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn kinds_are_told_from_known_headers() -> Result<(), MappingError> {
        let none = ColumnMap::default();
        let cases = [
            ("Company name,Company Domain Name,Industry", Kind::Accounts),
            (
                "First Name,Last Name,Email,Associated Company",
                Kind::Contacts,
            ),
            (
                "Deal Name,Deal Stage,Amount,Associated Company",
                Kind::Deals,
            ),
            ("Account Name,Website,Billing City", Kind::Accounts),
            (
                "Opportunity Name,Account Name,Stage,Amount,Close Date",
                Kind::Deals,
            ),
            (
                "Person - Name,Person - Email,Organization - Name",
                Kind::Contacts,
            ),
            (
                "Deal - Title,Deal - Value,Deal - Stage,Organization - Name",
                Kind::Deals,
            ),
            (
                "account.name,account.domain,deal.title,deal.amount",
                Kind::Deals,
            ),
        ];
        for (line, kind) in cases {
            assert_eq!(
                map_columns(&headers(line), None, &none)?.kind,
                kind,
                "{line}"
            );
        }
        Ok(())
    }

    #[test]
    fn one_header_means_what_its_kind_says() -> Result<(), MappingError> {
        let none = ColumnMap::default();
        let accounts = map_columns(&headers("Name,Phone Number,Billing City"), None, &none)?;
        assert_eq!(
            accounts.columns,
            [
                Some(Field::AccountName),
                Some(Field::AccountPhone),
                Some(Field::AccountCustom("city".into()))
            ]
        );
        let contacts = map_columns(
            &headers("Name,Phone Number,Company Name"),
            Some(Kind::Contacts),
            &none,
        )?;
        assert_eq!(contacts.columns[1], Some(Field::ContactPhone));
        Ok(())
    }

    #[test]
    fn unknown_columns_are_reported_and_map_overrides() -> Result<(), MappingError> {
        let line = headers("Org,Person,Mail,Favourite colour,Notes");
        let map: ColumnMap =
            "Org=account.name, Person=contact.name,Mail=contact.email,Notes=ignore".parse()?;
        let mapping = map_columns(&line, None, &map)?;
        assert_eq!(mapping.kind, Kind::Contacts);
        assert_eq!(mapping.unknown, ["Favourite colour"]);
        assert_eq!(mapping.columns[4], None);
        assert!(matches!(
            "Org".parse::<ColumnMap>(),
            Err(MappingError::MapSyntax { .. })
        ));
        let bad: ColumnMap = "Org=account.nmae".parse()?;
        assert!(matches!(
            map_columns(&line, Some(Kind::Accounts), &bad),
            Err(MappingError::UnknownField { .. })
        ));
        let absent: ColumnMap = "Nope=account.name".parse()?;
        assert!(map_columns(&line, None, &absent).is_err());
        Ok(())
    }

    #[test]
    fn files_without_the_needed_columns_are_refused() {
        let none = ColumnMap::default();
        let refused = |line: &str, kind| {
            map_columns(&headers(line), kind, &none)
                .err()
                .map(|e| e.to_string())
        };
        assert!(refused("Colour,Size", None).is_some_and(|e| e.contains("--kind")));
        assert!(
            refused("Deal Name,Associated Company", None).is_some_and(|e| e.contains("amount"))
        );
        assert!(refused("Email", Some(Kind::Contacts)).is_some_and(|e| e.contains("account")));
        assert!(
            refused("Name,Company name", Some(Kind::Accounts)).is_some_and(|e| e.contains("both"))
        );
    }

    #[test]
    fn exported_headers_map_back_to_their_fields() -> Result<(), MappingError> {
        for kind in [Kind::Accounts, Kind::Contacts, Kind::Deals] {
            let line = export_headers(kind);
            let mapping = map_columns(&line, None, &ColumnMap::default())?;
            assert_eq!(mapping.kind, kind);
            assert!(mapping.unknown.is_empty());
            for (header, field) in line.iter().zip(&mapping.columns) {
                assert_eq!(
                    field.as_ref().map(Field::name).as_deref(),
                    Some(header.as_str())
                );
            }
        }
        Ok(())
    }
}
