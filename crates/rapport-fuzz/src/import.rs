//! `csv_import`: a file given to `rapport import`, read, mapped and planned as the command does
//! before it writes anything.

use rapport_model::DocumentId;
use rapport_model::workspace::DEFAULT_PIPELINE;
use rapport_transfer::{ColumnMap, Existing, Kind, parse_file, plan};

/// Runs one input: its first byte picks the kind of record (told from the headers, or
/// accounts, contacts, deals), the rest is the file, planned against a workspace of two
/// accounts. An error, or a plan with a fate for every row; never a panic.
pub fn import_plan(input: &[u8]) {
    let Some((&choice, bytes)) = input.split_first() else {
        return;
    };
    let kind = match choice % 4 {
        0 => None,
        1 => Some(Kind::Accounts),
        2 => Some(Kind::Contacts),
        _ => Some(Kind::Deals),
    };
    let Ok(file) = parse_file(bytes, kind, &ColumnMap::default()) else {
        return;
    };
    let pipeline = DEFAULT_PIPELINE
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut existing = Existing::new(pipeline);
    existing.add_account(account(1), "Globex", Some("globex.com"));
    existing.add_account(account(2), "Initech", None);
    let planned = plan(&file, &existing);
    assert_eq!(planned.rows.len(), file.rows.len(), "every row gets a fate");
}

/// A fixed account id, so that a run replays.
fn account(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}
