//! Alerts derived from mentions, followers and workspace rules: for entries a foreign peer
//! wrote without an alert list too, and re-derived by a rebuild after the rules change.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue};
use rapport_model::alert::rule::{Rule, RuleCondition, RuleTarget};
use rapport_model::workspace::{self, Member};
use rapport_model::{DocumentId, EntryId, EntryKind, Role, Team};
use rapport_store::Replica;
use tempfile::TempDir;

use crate::{member, new_account, workspace};

/// Copies documents `ids` (and the workspace) from `from` to `to`.
fn copy(from: &mut Replica, to: &mut Replica, ids: &[DocumentId]) {
    for id in ids.iter().copied().chain([from.workspace_id()]) {
        to.merge_document(id, &from.document_bytes(id).unwrap())
            .unwrap();
    }
}

/// ana's workspace with bo of sales as a member, and an account "Globex" both replicas hold.
fn ana_and_bo(dir_a: &TempDir, dir_b: &TempDir) -> (Replica, Replica, DocumentId) {
    let mut ana = workspace(dir_a, "ana", Team::Support);
    let edit = ana.edit_now();
    let bo_member = Member {
        user: "bo".parse().unwrap(),
        team: Team::Sales,
        role: Role::Member,
    };
    ana.change_workspace(&edit, |tx| workspace::put_member(tx, &bo_member))
        .unwrap();
    let account = new_account(&mut ana, "Globex");
    let mut bo = member(dir_b, &ana, "bo", Team::Sales);
    copy(&mut ana, &mut bo, &[account]);
    (ana, bo, account)
}

/// Adds to `bytes` a timeline entry as a JavaScript peer writes one: plain strings, no alert
/// list, a number for its time.
fn foreign_entry(bytes: &[u8], kind: &str, text: &str) -> (EntryId, Vec<u8>) {
    let mut doc = AutoCommit::load(bytes).unwrap();
    let (_, timeline) = doc.get(ROOT, "timeline").unwrap().unwrap();
    let id = EntryId::new();
    let entry = doc
        .put_object(&timeline, id.to_string(), ObjType::Map)
        .unwrap();
    doc.put(&entry, "kind", kind).unwrap();
    doc.put(&entry, "team", "marketing").unwrap();
    doc.put(&entry, "author", "cy").unwrap();
    doc.put(&entry, "at", ScalarValue::Timestamp(1_767_225_600_000))
        .unwrap();
    doc.put(&entry, "text", text).unwrap();
    (id, doc.save())
}

#[test]
fn a_foreign_entry_without_an_alert_list_alerts_the_member_it_mentions() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut ana, mut bo, account) = ana_and_bo(&dir_a, &dir_b);
    let bytes = ana.document_bytes(account).unwrap();
    let (entry, foreign) = foreign_entry(&bytes, "note", "ping @BO, not zed@acme.com");
    assert!(bo.merge_document(account, &foreign).unwrap());
    assert!(ana.merge_document(account, &foreign).unwrap());

    let inbox = bo.alerts(false).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].id, entry.to_string());
    assert_eq!(inbox[0].reasons, ["mentioned"]);
    assert!(inbox[0].alert.is_empty());
    assert!(ana.alerts(true).unwrap().is_empty(), "ana is not mentioned");

    // Merged again, the same entry is still one alert.
    assert!(!bo.merge_document(account, &foreign).unwrap());
    assert_eq!(bo.alerts(true).unwrap().len(), 1);
}

#[test]
fn a_rule_applies_to_entries_indexed_after_it_and_a_rebuild_re_derives_the_rest() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut ana, mut bo, account) = ana_and_bo(&dir_a, &dir_b);
    let bytes = ana.document_bytes(account).unwrap();
    let (before_rule, foreign) = foreign_entry(&bytes, "ticket", "printer on fire");
    bo.merge_document(account, &foreign).unwrap();
    assert!(bo.alerts(true).unwrap().is_empty());

    let edit = ana.edit_now();
    let when = RuleCondition {
        kind: Some(EntryKind::Ticket),
        ..RuleCondition::default()
    };
    let rule = Rule::new(
        "tickets".parse().unwrap(),
        when,
        vec![RuleTarget::Team(Team::Sales)],
    )
    .unwrap();
    ana.change_workspace(&edit, |tx| workspace::put_rule(tx, &rule))
        .unwrap();
    copy(&mut ana, &mut bo, &[]);
    assert_eq!(bo.rules().unwrap(), [rule]);
    assert!(
        bo.alerts(true).unwrap().is_empty(),
        "a rule does not revisit entries already indexed"
    );

    let doc = bo.document_bytes(account).unwrap();
    let (after_rule, foreign) = foreign_entry(&doc, "ticket", "printer on fire again");
    bo.merge_document(account, &foreign).unwrap();
    let ids = |replica: &Replica| -> Vec<String> {
        let mut ids: Vec<String> = replica
            .alerts(true)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&bo), [after_rule.to_string()]);
    assert_eq!(bo.alerts(true).unwrap()[0].reasons, ["rule tickets"]);

    bo.rebuild_indexes().unwrap();
    let mut both = vec![before_rule.to_string(), after_rule.to_string()];
    both.sort();
    assert_eq!(
        ids(&bo),
        both,
        "a rebuild derives from the rules as they are now"
    );
}
