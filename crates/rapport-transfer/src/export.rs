//! The workspace written out: CSV files of accounts, contacts or deals whose headers
//! `rapport import` reads back, and the JSON document of everything.

use std::collections::BTreeSet;

use rapport_model::account::AccountView;
use rapport_model::alert::rule::Rule;
use rapport_model::custom_field::FieldDefinition;
use rapport_model::segment::Segment;
use rapport_model::workspace::WorkspaceView;
use serde::Serialize;

use crate::mapping::{Kind, export_headers};

/// First characters that make a spreadsheet run a cell as a formula. Export puts a `'` before
/// such a cell (the usual defence against CSV injection); import takes it off again.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The JSON export: the workspace, its settings (custom field definitions, standing alert
/// rules, segments) and every account with its contacts, deals, tasks and timeline.
///
/// The settings keys came after the format's first files; a reader of `rapport-export-1`
/// takes a file without them as one with none, and older readers skip them.
#[derive(Debug, Serialize)]
pub struct JsonExport<'a> {
    /// Names the format, for readers of the file.
    pub format: &'static str,
    /// The workspace: name, members, pipeline.
    pub workspace: &'a WorkspaceView,
    /// Its custom field definitions, in the order they were defined.
    pub fields: &'a [FieldDefinition],
    /// Its standing alert rules, by name (removed ones are left out).
    pub rules: &'a [Rule],
    /// Its segments, by name.
    pub segments: &'a [Segment],
    /// Every account, by name.
    pub accounts: &'a [AccountView],
}

/// A workspace's settings, as the export writes them.
#[derive(Clone, Copy, Debug)]
pub struct ExportSettings<'a> {
    /// Custom field definitions, in definition order.
    pub fields: &'a [FieldDefinition],
    /// Standing alert rules: removed ones are not the workspace's settings any more.
    pub rules: &'a [Rule],
    /// Segments.
    pub segments: &'a [Segment],
}

impl<'a> JsonExport<'a> {
    /// The export of `workspace`, its `settings` and its `accounts`.
    pub fn new(
        workspace: &'a WorkspaceView,
        settings: ExportSettings<'a>,
        accounts: &'a [AccountView],
    ) -> Self {
        Self {
            format: crate::JSON_FORMAT,
            workspace,
            fields: settings.fields,
            rules: settings.rules,
            segments: settings.segments,
            accounts,
        }
    }
}

/// Writes the CSV export of one kind of record: rows ordered by account name and domain, then
/// by contact name or deal title, so that the same content always exports the same bytes.
pub fn export_csv(kind: Kind, accounts: &[AccountView]) -> Result<Vec<u8>, csv::Error> {
    let mut accounts: Vec<&AccountView> = accounts.iter().collect();
    accounts.sort_by_cached_key(|a| account_order(a));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut headers = export_headers(kind);
    let custom: BTreeSet<&String> = accounts.iter().flat_map(|a| a.custom.keys()).collect();
    if kind == Kind::Accounts {
        headers.extend(custom.iter().map(|name| format!("account.custom.{name}")));
    }
    writer.write_record(&headers)?;
    for account in accounts {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let named = [account.name.clone(), opt(&account.domain)];
        match kind {
            Kind::Accounts => {
                let mut row = vec![
                    account.name.clone(),
                    opt(&account.domain),
                    opt(&account.website),
                    opt(&account.industry),
                    opt(&account.tier),
                    account
                        .stage
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    opt(&account.owner),
                    opt(&account.phone),
                    account.tags.join(","),
                ];
                row.extend(
                    custom
                        .iter()
                        .map(|name| account.custom.get(*name).cloned().unwrap_or_default()),
                );
                write_row(&mut writer, row)?;
            }
            Kind::Contacts => {
                let mut contacts: Vec<_> = account.contacts.iter().collect();
                contacts.sort_by_key(|c| (c.name.to_lowercase(), c.name.clone(), c.email.clone()));
                for contact in contacts {
                    let mut row = named.to_vec();
                    row.extend([
                        contact.name.clone(),
                        opt(&contact.email),
                        opt(&contact.phone),
                        opt(&contact.title),
                    ]);
                    write_row(&mut writer, row)?;
                }
            }
            Kind::Deals => {
                let mut deals: Vec<_> = account.deals.iter().collect();
                deals.sort_by_key(|d| (d.title.to_lowercase(), d.title.clone(), d.amount));
                for deal in deals {
                    let mut row = named.to_vec();
                    row.extend([
                        deal.title.clone(),
                        major_units(deal.amount, deal.currency.minor_digits()),
                        deal.currency.to_string(),
                        deal.stage.clone(),
                        opt(&deal.close),
                    ]);
                    write_row(&mut writer, row)?;
                }
            }
        }
    }
    writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))
}

fn account_order(account: &AccountView) -> (String, String, Option<String>) {
    (
        account.name.to_lowercase(),
        account.name.clone(),
        account.domain.clone(),
    )
}

fn write_row(writer: &mut csv::Writer<Vec<u8>>, row: Vec<String>) -> Result<(), csv::Error> {
    writer.write_record(row.iter().map(|cell| defuse(cell).into_owned()))
}

/// A cell a spreadsheet would run as a formula, quoted so that it shows as text.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// An amount in minor units written in major units: 2400050 with 2 digits is `24000.50`.
fn major_units(minor: i64, digits: u32) -> String {
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted_and_amounts_written_in_major_units() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("Globex"), "Globex");
        assert_eq!(major_units(2_400_050, 2), "24000.50");
        assert_eq!(major_units(5, 2), "0.05");
        assert_eq!(major_units(1500, 0), "1500");
        assert_eq!(major_units(1, 3), "0.001");
    }
}
