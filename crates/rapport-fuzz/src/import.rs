//! `csv_import`: a file given to `rapport import`, read, mapped and planned as the command does
//! before it writes anything.

use rapport_model::DocumentId;
use rapport_model::workspace::DEFAULT_PIPELINE;
use rapport_transfer::{ColumnMap, Existing, Kind, parse_file, parse_json, plan, plan_json};

/// Runs one input: its first byte picks the kind of record (told from the headers, or
/// accounts, contacts, deals) or a JSON export, the rest is the file, planned against a
/// workspace of two accounts. An error, or a plan with a fate for every row or account; never
/// a panic.
pub fn import_plan(input: &[u8]) {
    let Some((&choice, bytes)) = input.split_first() else {
        return;
    };
    let kind = match choice % 5 {
        0 => None,
        1 => Some(Kind::Accounts),
        2 => Some(Kind::Contacts),
        3 => Some(Kind::Deals),
        _ => return json_plan(bytes),
    };
    let Ok(file) = parse_file(bytes, kind, &ColumnMap::default()) else {
        return;
    };
    let planned = plan(&file, &workspace());
    assert_eq!(planned.rows.len(), file.rows.len(), "every row gets a fate");
}

/// The bytes as a JSON export, planned into the workspace it names (so that accounts match by
/// id too): an error, or a fate for every account.
fn json_plan(bytes: &[u8]) {
    let Ok(file) = parse_json(bytes) else {
        return;
    };
    let mut existing = workspace();
    existing.add_item("01JCZ0000000000000000000C1".to_owned(), account(1));
    let into = file.workspace.unwrap_or(account(3));
    let planned = plan_json(&file, &existing, into);
    assert_eq!(
        planned.accounts.len(),
        file.accounts.len(),
        "every account gets a fate"
    );
}

/// A workspace of two accounts with the default pipeline.
fn workspace() -> Existing {
    let pipeline = DEFAULT_PIPELINE
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut existing = Existing::new(pipeline);
    existing.add_account(account(1), "Globex", Some("globex.com"));
    existing.add_account(account(2), "Initech", None);
    existing
}

/// A fixed account id, so that a run replays.
fn account(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}
