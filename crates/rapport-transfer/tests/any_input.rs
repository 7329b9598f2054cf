//! Whatever a file holds, reading and planning it returns rows or an error: never a panic.

use proptest::prelude::*;
use rapport_model::DocumentId;
use rapport_transfer::{
    ColumnMap, Existing, Kind, export_csv, parse_file, parse_json, plan, plan_json,
};

/// Cells drawn from what breaks parsers: quotes, separators, line breaks, formula starts,
/// multi-byte characters, and the headers and values the mapping knows.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\"".to_owned()),
        Just("a,b".to_owned()),
        Just("x\ny".to_owned()),
        Just("=1+2".to_owned()),
        Just("'@x".to_owned()),
        Just("é€😀".to_owned()),
        Just("Company name".to_owned()),
        Just("Email".to_owned()),
        Just("Deal Name".to_owned()),
        Just("Amount".to_owned()),
        Just("Stage".to_owned()),
        Just("Close Date".to_owned()),
        Just("globex.com".to_owned()),
        Just("2026-12-31 00:00".to_owned()),
        Just("1,500.50".to_owned()),
        "[a-zA-Z0-9 .@,;\"'=-]{0,12}",
    ]
}

fn pipeline() -> Vec<rapport_model::PipelineStage> {
    ["qualification", "won"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// JSON values drawn from what breaks a reader of the export: wrong types, huge and negative
/// numbers, blank and odd strings, and the words the export holds.
fn json_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("true".to_owned()),
        Just("-1".to_owned()),
        Just("1.5".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("1e400".to_owned()),
        Just("\"\"".to_owned()),
        Just("\" \"".to_owned()),
        Just("\"won\"".to_owned()),
        Just("\"EUR\"".to_owned()),
        Just("\"note\"".to_owned()),
        Just("\"sales\"".to_owned()),
        Just("\"@ana\"".to_owned()),
        Just("\"2026-01-02T03:04:05Z\"".to_owned()),
        Just("\"2026-12-31\"".to_owned()),
        Just("\"01JCZ0000000000000000000C1\"".to_owned()),
        Just("[\"sales\", \"@\"]".to_owned()),
        "\"[a-zA-Z0-9 .@-]{0,8}\"",
    ]
}

proptest! {
    #[test]
    fn any_bytes_read_as_a_json_export_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(file) = parse_json(&bytes) {
            let _ = plan_json(&file, &Existing::new(pipeline()), DocumentId::random());
        }
    }

    #[test]
    fn any_export_of_tricky_values_plans_a_fate_for_every_account(
        values in proptest::collection::vec(json_value(), 16),
        accounts in 1..4usize,
    ) {
        let v = |i: usize| values[i].as_str();
        let account = format!(
            r#"{{"id": {}, "name": {}, "domain": {}, "stage": {}, "tags": [{}],
                "contacts": [{{"id": {}, "name": {}, "email": {}}}],
                "deals": [{{"id": {}, "title": {}, "amount": {}, "currency": {}, "stage": {}}}],
                "timeline": [{{"id": {}, "kind": {}, "team": {}, "author": "ana", "at": {}, "alert": {}}}]}}"#,
            v(0), v(1), v(2), v(3), v(4), v(5), v(1), v(6), v(7), v(1), v(8), v(9), v(10),
            v(11), v(12), v(13), v(14), v(15)
        );
        let text = format!(
            r#"{{"format": "rapport-export-1", "workspace": {{"id": "x"}}, "accounts": [{}]}}"#,
            vec![account; accounts].join(",")
        );
        let mut existing = Existing::new(pipeline());
        existing.add_account(DocumentId::random(), "Globex", Some("globex.com"));
        if let Ok(file) = parse_json(text.as_bytes()) {
            let planned = plan_json(&file, &existing, DocumentId::random());
            prop_assert_eq!(planned.accounts.len(), accounts);
        }
    }

    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(file) = parse_file(&bytes, None, &ColumnMap::default()) {
            let _ = plan(&file, &Existing::new(pipeline()));
        }
    }

    #[test]
    fn any_table_of_tricky_cells_plans_without_panicking(
        rows in proptest::collection::vec(proptest::collection::vec(cell(), 1..6), 1..8),
        separator in prop_oneof![Just(','), Just(';'), Just('\t')],
        kind in prop_oneof![Just(None), Just(Some(Kind::Accounts)), Just(Some(Kind::Contacts)), Just(Some(Kind::Deals))],
    ) {
        let text: String = rows
            .iter()
            .map(|row| row.join(&separator.to_string()) + "\n")
            .collect();
        let mut existing = Existing::new(pipeline());
        existing.add_account(DocumentId::random(), "Globex", Some("globex.com"));
        if let Ok(file) = parse_file(text.as_bytes(), kind, &ColumnMap::default()) {
            let planned = plan(&file, &existing);
            prop_assert_eq!(planned.rows.len(), file.rows.len());
        }
    }
}

#[test]
fn an_empty_workspace_exports_headers_only() -> Result<(), csv::Error> {
    let accounts = export_csv(Kind::Accounts, &[])?;
    assert_eq!(
        String::from_utf8_lossy(&accounts),
        "account.name,account.domain,account.website,account.industry,account.tier,account.stage,account.owner,account.phone,account.tags\n"
    );
    Ok(())
}
