//! One row read into typed values through the file's mapping, or rejected with the reason.

use std::collections::BTreeMap;

use rapport_model::{Currency, InvalidInput, Money, Stage, UserName, check_email, parse_date};

use crate::mapping::{Field, Kind, Mapping};

/// Why a row cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// A required name or title is blank.
    #[error("missing {what}")]
    Missing {
        /// What is missing ("account name", "contact name", "deal title").
        what: &'static str,
    },
    /// A contact or deal row that names no account.
    #[error("missing account: the row has no account name or domain")]
    NoAccount,
    /// A value that does not parse: bad email, amount, date, currency, owner, stage.
    #[error("{0}")]
    Invalid(#[from] InvalidInput),
    /// A deal stage the workspace's pipeline does not have.
    #[error("unknown deal stage '{stage}': the pipeline has {pipeline}")]
    UnknownStage {
        /// The stage given.
        stage: String,
        /// The pipeline's stages, comma separated.
        pipeline: String,
    },
    /// The same record twice in the file.
    #[error("duplicate in file: same {what} as line {line}")]
    Duplicate {
        /// What is the same.
        what: &'static str,
        /// The earlier line.
        line: u64,
    },
    /// A name matching several existing accounts and no domain to choose.
    #[error("ambiguous account '{name}': {count} accounts have that name; add its domain")]
    Ambiguous {
        /// The name.
        name: String,
        /// How many match.
        count: usize,
    },
}

/// An account as a row gives it: the row's record in an accounts file, the account it belongs
/// to in a contacts or deals file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountRecord {
    /// Name.
    pub name: Option<String>,
    /// Domain, lowercased, without scheme or path.
    pub domain: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Lifecycle stage.
    pub stage: Option<Stage>,
    /// Owner.
    pub owner: Option<UserName>,
    /// Phone.
    pub phone: Option<String>,
    /// Tags, sorted.
    pub tags: Option<Vec<String>>,
    /// Custom fields.
    pub custom: BTreeMap<String, String>,
}

/// A contact as a row gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    /// Full name.
    pub name: String,
    /// Email, checked.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Job title.
    pub title: Option<String>,
}

/// A deal as a row gives it; its stage is checked against the pipeline when planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealRecord {
    /// Title.
    pub title: String,
    /// Amount.
    pub amount: Money,
    /// Stage as written, if any.
    pub stage: Option<String>,
    /// Expected close date.
    pub close: Option<jiff::civil::Date>,
}

/// What one row holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The account (the record itself in an accounts file).
    pub account: AccountRecord,
    /// The contact or deal of a contacts or deals file.
    pub item: Item,
}

/// The item a contacts or deals row adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// An accounts file's row: the account alone.
    None,
    /// A contact.
    Contact(ContactRecord),
    /// A deal.
    Deal(DealRecord),
}

/// Reads one row's cells through the mapping. Blank cells count as not given.
pub fn read_record(mapping: &Mapping, cells: &[String]) -> Result<Record, Reject> {
    let mut values: Vec<(&Field, String)> = Vec::new();
    for (field, cell) in mapping.columns.iter().zip(cells) {
        if let Some(field) = field {
            let text = unescape(cell.trim());
            if !text.is_empty() {
                values.push((field, text.to_owned()));
            }
        }
    }
    let get = |wanted: &Field| {
        values
            .iter()
            .find(|(field, _)| *field == wanted)
            .map(|(_, v)| v.clone())
    };
    let domain_mapped = mapping.columns.contains(&Some(Field::AccountDomain));
    let account = read_account(&values, domain_mapped)?;
    let item = match mapping.kind {
        Kind::Accounts => {
            if account.name.is_none() {
                return Err(Reject::Missing {
                    what: "account name",
                });
            }
            Item::None
        }
        Kind::Contacts => Item::Contact(read_contact(&get)?),
        Kind::Deals => Item::Deal(read_deal(&get)?),
    };
    if mapping.kind != Kind::Accounts && account.name.is_none() && account.domain.is_none() {
        return Err(Reject::NoAccount);
    }
    Ok(Record { account, item })
}

/// Undoes the quote Rapport's export puts before a cell a spreadsheet would run as a formula.
fn unescape(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(crate::export::FORMULA_STARTS) => rest,
        _ => cell,
    }
}

fn read_account(values: &[(&Field, String)], domain_mapped: bool) -> Result<AccountRecord, Reject> {
    let mut account = AccountRecord::default();
    for (field, value) in values {
        let value = value.clone();
        match field {
            Field::AccountName => account.name = Some(value),
            Field::AccountDomain => account.domain = domain_of(&value),
            Field::AccountWebsite => account.website = Some(value),
            Field::AccountIndustry => account.industry = Some(value),
            Field::AccountTier => account.tier = Some(value),
            Field::AccountStage => account.stage = Some(lifecycle_stage(&value)?),
            Field::AccountOwner => account.owner = Some(value.parse()?),
            Field::AccountPhone => account.phone = Some(value),
            Field::AccountTags => {
                let mut tags: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect();
                tags.sort();
                tags.dedup();
                account.tags = Some(tags);
            }
            Field::AccountCustom(name) => {
                account.custom.insert(name.clone(), value);
            }
            _ => {}
        }
    }
    // Exports that give a website and no domain column: the domain is the website's host,
    // so that contacts and deals files can find the account by it.
    if !domain_mapped {
        account.domain = account.website.as_deref().and_then(domain_of);
    }
    Ok(account)
}

fn read_contact(get: &dyn Fn(&Field) -> Option<String>) -> Result<ContactRecord, Reject> {
    let joined = [get(&Field::ContactFirstName), get(&Field::ContactLastName)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = get(&Field::ContactName)
        .or((!joined.is_empty()).then_some(joined))
        .ok_or(Reject::Missing {
            what: "contact name",
        })?;
    let email = get(&Field::ContactEmail)
        .map(|e| check_email(&e))
        .transpose()?;
    Ok(ContactRecord {
        name,
        email,
        phone: get(&Field::ContactPhone),
        title: get(&Field::ContactTitle),
    })
}

fn read_deal(get: &dyn Fn(&Field) -> Option<String>) -> Result<DealRecord, Reject> {
    let title = get(&Field::DealTitle).ok_or(Reject::Missing { what: "deal title" })?;
    let currency = match get(&Field::DealCurrency) {
        Some(code) => code.parse::<Currency>()?,
        None => Currency::DEFAULT,
    };
    let amount = get(&Field::DealAmount).ok_or(Reject::Missing {
        what: "deal amount",
    })?;
    let amount =
        Money::parse(&plain_amount(&amount), currency).map_err(|_| InvalidInput::Amount {
            text: amount.clone(),
            currency: currency.to_string(),
        })?;
    let close = get(&Field::DealClose)
        .map(|date| parse_date(date_part(&date)).map_err(|_| InvalidInput::Date { text: date }))
        .transpose()?;
    Ok(DealRecord {
        title,
        amount,
        stage: get(&Field::DealStage),
        close,
    })
}

/// An amount as exports write it, in the form `Money::parse` reads: thousands separators
/// (`24,000.50`) and trailing zeros beyond the currency's digits (`24000.000`) dropped.
fn plain_amount(text: &str) -> String {
    let grouped = text.split(',').collect::<Vec<_>>();
    let thousands = grouped.len() > 1
        && (1..=3).contains(&grouped[0].len())
        && grouped[1..]
            .iter()
            .all(|g| g.len() == 3 || (g.len() > 3 && g.as_bytes()[3] == b'.'));
    let text = if thousands {
        text.replace(',', "")
    } else {
        text.to_owned()
    };
    match text.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        None => text,
    }
}

/// The date of `2026-12-31`, `2026-12-31 00:00` or `2026-12-31T00:00:00Z`.
fn date_part(text: &str) -> &str {
    match text.get(..10) {
        Some(date) if text[10..].starts_with([' ', 'T']) => date,
        _ => text,
    }
}

/// A lifecycle stage, in Rapport's words or HubSpot's.
fn lifecycle_stage(text: &str) -> Result<Stage, InvalidInput> {
    let word: String = text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let stage = match word.as_str() {
        "subscriber" | "marketingqualifiedlead" | "mql" => Stage::Lead,
        "salesqualifiedlead" | "sql" | "opportunity" => Stage::Prospect,
        "evangelist" => Stage::Customer,
        "formercustomer" => Stage::Churned,
        other => other.parse().map_err(|_| InvalidInput::Word {
            what: "account stage",
            text: text.to_owned(),
            expected: "lead, prospect, customer, churned".to_owned(),
        })?,
    };
    Ok(stage)
}

/// A domain from a domain or a website: lowercased, without scheme, `www.`, port or path.
pub fn domain_of(text: &str) -> Option<String> {
    let lower = text.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or(rest);
    let host = host.strip_prefix("www.").unwrap_or(host);
    (!host.is_empty()).then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{ColumnMap, map_columns};

    fn read(headers: &str, row: &str) -> Result<Record, Reject> {
        let headers: Vec<String> = headers.split(',').map(str::to_owned).collect();
        let cells: Vec<String> = row.split(',').map(str::to_owned).collect();
        let mapping =
            map_columns(&headers, None, &ColumnMap::default()).map_err(|_| Reject::NoAccount)?;
        read_record(&mapping, &cells)
    }

    #[test]
    fn contacts_join_first_and_last_names_and_check_emails() -> Result<(), Reject> {
        let record = read(
            "First Name,Last Name,Email,Associated Company",
            "Hank,Scorpio,hank@globex.com,Globex",
        )?;
        let Item::Contact(contact) = record.item else {
            return Err(Reject::NoAccount);
        };
        assert_eq!(contact.name, "Hank Scorpio");
        assert_eq!(record.account.name.as_deref(), Some("Globex"));
        let bad = read("First Name,Email,Associated Company", "Hank,hank@,Globex");
        assert!(bad.is_err_and(|e| e.to_string().contains("invalid email")));
        let nameless = read(
            "First Name,Email,Associated Company",
            ",hank@globex.com,Globex",
        );
        assert_eq!(
            nameless,
            Err(Reject::Missing {
                what: "contact name"
            })
        );
        let homeless = read("First Name,Email,Associated Company", "Hank,,");
        assert_eq!(homeless, Err(Reject::NoAccount));
        Ok(())
    }

    #[test]
    fn amounts_and_dates_read_as_exports_write_them() -> Result<(), Reject> {
        let headers = "Deal Name,Amount,Close Date,Account Name,Currency";
        assert_eq!(plain_amount("24,000.50"), "24000.5");
        assert_eq!(plain_amount("1,234,567"), "1234567");
        assert_eq!(plain_amount("1,0000"), "1,0000");
        for (amount, minor) in [
            ("24000", 2_400_000),
            ("24000.50", 2_400_050),
            ("99.500", 9_950),
        ] {
            let record = read(headers, &format!("Up,{amount},2026-12-31 00:00,Globex,EUR"))?;
            let Item::Deal(deal) = record.item else {
                return Err(Reject::NoAccount);
            };
            assert_eq!(deal.amount.minor, minor, "{amount}");
            assert_eq!(
                deal.close.map(|d| d.to_string()).as_deref(),
                Some("2026-12-31")
            );
        }
        for bad in ["24.001", "-5", "ten", "1e3"] {
            let refused = read(headers, &format!("Up,{bad},,Globex,EUR"));
            assert!(
                refused.is_err_and(|e| e.to_string().contains("invalid amount")),
                "{bad}"
            );
        }
        assert!(read(headers, "Up,5,12/31/2026,Globex,EUR").is_err());
        assert!(read(headers, "Up,5,,Globex,EURO").is_err());
        Ok(())
    }

    #[test]
    fn websites_give_domains_and_hubspot_stages_read() -> Result<(), Reject> {
        let record = read(
            "Account Name,Website,Lifecycle Stage",
            "Globex,https://www.Globex.com/about,salesqualifiedlead",
        )?;
        assert_eq!(record.account.domain.as_deref(), Some("globex.com"));
        assert_eq!(record.account.stage, Some(Stage::Prospect));
        assert!(read("Account Name,Lifecycle Stage", "Globex,other").is_err());
        assert_eq!(
            read("Account Name,Industry", ",Retail"),
            Err(Reject::Missing {
                what: "account name"
            })
        );
        Ok(())
    }

    #[test]
    fn a_quoted_formula_reads_back_as_written() -> Result<(), Reject> {
        let record = read("account.name,account.phone", "'=HYPERLINK(x),'+1 555")?;
        assert_eq!(record.account.name.as_deref(), Some("=HYPERLINK(x)"));
        assert_eq!(record.account.phone.as_deref(), Some("+1 555"));
        let plain = read("account.name", "'quoted'")?;
        assert_eq!(plain.account.name.as_deref(), Some("'quoted'"));
        Ok(())
    }
}
