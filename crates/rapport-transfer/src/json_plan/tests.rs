//! The JSON import's planner: matching accounts, settings, and what each change writes.

use super::*;
use crate::json_file::parse_json;
use crate::plan::tests::{pipeline, written};

fn export(workspace: &DocumentId, accounts: &str) -> Result<JsonFile, crate::JsonError> {
    let text = format!(
        r#"{{"format": "rapport-export-1", "workspace": {{"id": "{workspace}"}}, "accounts": [{accounts}]}}"#
    );
    parse_json(text.as_bytes())
}

fn globex(id: &DocumentId, stage: &str) -> String {
    format!(
        r#"{{"id": "{id}", "name": "Globex", "domain": "globex.com", "tags": ["vip"],
            "contacts": [{{"id": "01JCZ0000000000000000000C1", "name": "Hank", "email": "hank@globex.com"}}],
            "deals": [{{"id": "01JCZ0000000000000000000D1", "title": "Upgrade", "amount": 2400050, "currency": "USD", "stage": "{stage}"}}],
            "tasks": [{{"id": "01JCZ0000000000000000000T1", "title": "Call", "done": true}}],
            "timeline": [{{"id": "01JCZ0000000000000000000E1", "kind": "note", "team": "support", "author": "cy", "at": "2026-01-02T03:04:05.678Z", "text": "hi", "alert": ["sales", "@ana"]}}]}}"#
    )
}

#[test]
fn a_new_account_is_written_with_its_items_under_their_ids_and_authors()
-> Result<(), Box<dyn std::error::Error>> {
    let file = export(&DocumentId::random(), &globex(&DocumentId::random(), "won"))?;
    let plan = plan_json(&file, &Existing::new(pipeline()), DocumentId::random());
    assert_eq!(plan.accounts[0].outcome, Outcome::Created);
    let view = written(&plan.changes[0], "bo")?;
    assert_eq!(
        view.contacts[0].id.to_string(),
        "01JCZ0000000000000000000C1"
    );
    assert_eq!(
        (view.deals[0].amount, view.deals[0].stage.as_str()),
        (2_400_050, "won")
    );
    assert!(view.tasks[0].done);
    let entry = &view.timeline[0];
    assert_eq!(
        (
            entry.author.as_str(),
            entry.team,
            entry.at.to_string(),
            entry.alert.len()
        ),
        (
            "cy",
            rapport_model::Team::Support,
            "2026-01-02T03:04:05.678Z".to_owned(),
            2
        )
    );
    assert_eq!(view.tags, ["vip"]);

    // The same file against the account it made: nothing to write.
    let mut existing = Existing::new(pipeline());
    existing.add_account(view.id, "Globex", Some("globex.com"));
    existing.add_view(view.clone());
    assert_eq!(
        existing.referenced_by_json(&file, DocumentId::random()),
        [view.id]
    );
    let again = plan_json(&file, &existing, DocumentId::random());
    assert_eq!(again.accounts[0].outcome, Outcome::Merged);
    assert_eq!(again.accounts[0].matched_by, Some(MatchedBy::Domain));
    assert!(
        !again.accounts[0].changes_anything(),
        "{:?}",
        again.accounts[0]
    );
    assert!(again.changes.is_empty());
    Ok(())
}

#[test]
fn an_unknown_stage_or_two_accounts_into_one_are_rejected() -> Result<(), Box<dyn std::error::Error>>
{
    let file = export(
        &DocumentId::random(),
        &format!(
            r#"{}, {{"id": "{}", "name": "GLOBEX"}}"#,
            globex(&DocumentId::random(), "signed"),
            DocumentId::random()
        ),
    )?;
    let mut existing = Existing::new(pipeline());
    existing.add_account(DocumentId::random(), "Globex", None);
    let plan = plan_json(&file, &existing, DocumentId::random());
    assert_eq!(plan.count(Outcome::Rejected), 2);
    assert!(plan.accounts[0].reasons[0].contains("deal 'Upgrade': unknown deal stage 'signed'"));
    assert!(
        plan.accounts[1]
            .reasons
            .iter()
            .any(|r| r.contains("account 1 of the file"))
    );
    assert!(plan.changes.is_empty());
    Ok(())
}

#[test]
fn an_account_renamed_since_an_earlier_import_is_found_by_its_items()
-> Result<(), Box<dyn std::error::Error>> {
    let file = export(&DocumentId::random(), &globex(&DocumentId::random(), "won"))?;
    let mut existing = Existing::new(pipeline());
    let renamed = DocumentId::random();
    existing.add_account(renamed, "Globex Inc", Some("globex.example"));
    existing.add_item("01JCZ0000000000000000000E1".to_owned(), renamed);
    let plan = plan_json(&file, &existing, DocumentId::random());
    assert_eq!(plan.accounts[0].matched_by, Some(MatchedBy::Items));
    assert_eq!(plan.accounts[0].into.as_deref(), Some("Globex Inc"));
    let other = DocumentId::random();
    existing.add_account(other, "Globex", None);
    existing.add_item("01JCZ0000000000000000000C1".to_owned(), other);
    let split = plan_json(&file, &existing, DocumentId::random());
    assert!(split.accounts[0].reasons[0].contains("in 2 accounts"));
    Ok(())
}

#[test]
fn a_file_of_this_workspace_matches_accounts_by_id() -> Result<(), Box<dyn std::error::Error>> {
    let (id, workspace) = (DocumentId::random(), DocumentId::random());
    let file = export(&workspace, &globex(&id, "won"))?;
    let mut existing = Existing::new(pipeline());
    existing.add_account(id, "Renamed", Some("other.example"));
    let plan = plan_json(&file, &existing, workspace);
    assert_eq!(plan.accounts[0].matched_by, Some(MatchedBy::Id));
    let elsewhere = plan_json(&file, &existing, DocumentId::random());
    assert_eq!(elsewhere.accounts[0].outcome, Outcome::Created);
    Ok(())
}
