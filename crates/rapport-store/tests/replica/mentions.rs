//! Alerts derived from mentions, followers and workspace rules: for entries a foreign peer
//! wrote without an alert list too, by the entries' times, so that replicas that merge rules,
//! follows and entries in different orders derive the same inbox.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue};
use rapport_model::AccountAssignment;
use rapport_model::account;
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
fn foreign_entry(bytes: &[u8], kind: &str, text: &str, at: i64) -> (EntryId, Vec<u8>) {
    let mut doc = AutoCommit::load(bytes).unwrap();
    let (_, timeline) = doc.get(ROOT, "timeline").unwrap().unwrap();
    let id = EntryId::new();
    let entry = doc
        .put_object(&timeline, id.to_string(), ObjType::Map)
        .unwrap();
    doc.put(&entry, "kind", kind).unwrap();
    doc.put(&entry, "team", "marketing").unwrap();
    doc.put(&entry, "author", "cy").unwrap();
    doc.put(&entry, "at", ScalarValue::Timestamp(at)).unwrap();
    doc.put(&entry, "text", text).unwrap();
    (id, doc.save())
}

#[test]
fn a_foreign_entry_without_an_alert_list_alerts_the_member_it_mentions() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut ana, mut bo, account) = ana_and_bo(&dir_a, &dir_b);
    let bytes = ana.document_bytes(account).unwrap();
    let (entry, foreign) = foreign_entry(
        &bytes,
        "note",
        "ping @BO, not zed@acme.com",
        1_767_225_600_000,
    );
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

/// The ids of `replica`'s alerts, acknowledged ones included, sorted.
fn alert_ids(replica: &Replica) -> Vec<String> {
    let mut ids: Vec<String> = replica
        .alerts(true)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    ids.sort();
    ids
}

fn ticket_rule(name: &str, when: RuleCondition, targets: &str) -> Rule {
    let when = RuleCondition {
        kind: Some(EntryKind::Ticket),
        ..when
    };
    Rule::new(
        name.parse().unwrap(),
        when,
        RuleTarget::parse_list(targets).unwrap(),
    )
    .unwrap()
}

#[test]
fn a_rule_fires_for_the_entries_written_since_it_whichever_a_replica_merged_first() {
    let dir_c = TempDir::new().unwrap();
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut ana, mut bo, account) = ana_and_bo(&dir_a, &dir_b);
    // bo's second device, which hears of the rule before the entries.
    let mut bo2 = member(&dir_c, &ana, "bo", Team::Sales);
    copy(&mut ana, &mut bo2, &[account]);

    let edit = ana.edit_now();
    let rule = ticket_rule("tickets", RuleCondition::default(), "sales");
    ana.change_workspace(&edit, |tx| workspace::put_rule(tx, &edit, &rule))
        .unwrap();
    let created = edit.at.as_millisecond();
    let bytes = ana.document_bytes(account).unwrap();
    let (older, with_older) = foreign_entry(&bytes, "ticket", "printer on fire", created - 1);
    let (newer, with_both) = foreign_entry(&with_older, "ticket", "again", created + 1);
    let (_, with_note) = foreign_entry(&with_both, "note", "a note", created + 2);

    // bo merges the entries first, then the rule.
    bo.merge_document(account, &with_note).unwrap();
    assert!(bo.alerts(true).unwrap().is_empty());
    copy(&mut ana, &mut bo, &[]);
    let stored_at = jiff::Timestamp::from_millisecond(created).unwrap();
    assert_eq!(bo.rules().unwrap(), [rule.clone().created_at(stored_at)]);
    assert_eq!(alert_ids(&bo), [newer.to_string()]);
    assert_eq!(bo.alerts(true).unwrap()[0].reasons, ["rule tickets"]);

    // bo2 merges the rule first, then the entries: the same inbox.
    copy(&mut ana, &mut bo2, &[]);
    bo2.merge_document(account, &with_note).unwrap();
    assert_eq!(alert_ids(&bo2), alert_ids(&bo));
    bo2.rebuild_indexes().unwrap();
    assert_eq!(alert_ids(&bo2), [newer.to_string()], "a rebuild agrees");
    assert_ne!(older, newer);

    // Removing the rule keeps what it raised and covers no later entry, on every replica.
    let edit = ana.edit_now();
    ana.change_workspace(&edit, |tx| workspace::remove_rule(tx, &edit, &rule.name))
        .unwrap();
    let removed = edit.at.as_millisecond();
    let (_, after_removal) = foreign_entry(&with_note, "ticket", "third", removed + 1);
    ana.merge_document(account, &after_removal).unwrap();
    copy(&mut ana, &mut bo, &[account]);
    assert!(bo.rules().unwrap().is_empty());
    assert_eq!(alert_ids(&bo), [newer.to_string()]);
    bo.rebuild_indexes().unwrap();
    assert_eq!(alert_ids(&bo), [newer.to_string()]);
}

#[test]
fn a_change_to_what_a_rule_reads_of_an_account_re_derives_its_alerts() {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut ana, mut bo, account) = ana_and_bo(&dir_a, &dir_b);
    let edit = ana.edit_now();
    let gold = RuleCondition {
        tier: Some("gold".to_owned()),
        ..RuleCondition::default()
    };
    let rule = ticket_rule("gold-tickets", gold, "owner");
    ana.change_workspace(&edit, |tx| workspace::put_rule(tx, &edit, &rule))
        .unwrap();
    let later = edit.at.as_millisecond() + 1;
    let bytes = ana.document_bytes(account).unwrap();
    let (ticket, foreign) = foreign_entry(&bytes, "ticket", "down", later);
    ana.merge_document(account, &foreign).unwrap();
    copy(&mut ana, &mut bo, &[account]);
    assert!(bo.alerts(true).unwrap().is_empty(), "not gold, no owner");

    let set = |replica: &mut Replica, assignments: &[&str]| {
        let edit = replica.edit_now();
        let assignments: Vec<AccountAssignment> = assignments
            .iter()
            .map(|a| AccountAssignment::parse(a).unwrap())
            .collect();
        replica
            .change_account(account, &edit, |tx| account::set(tx, &assignments))
            .unwrap();
    };
    set(&mut ana, &["tier=Gold", "owner=bo"]);
    copy(&mut ana, &mut bo, &[account]);
    assert_eq!(alert_ids(&bo), [ticket.to_string()]);
    assert_eq!(bo.alerts(true).unwrap()[0].reasons, ["rule gold-tickets"]);

    // bo's own edit of the tier takes it back, and a follow only counts from its own time.
    set(&mut bo, &["tier=silver"]);
    assert!(bo.alerts(true).unwrap().is_empty());
    let follow = bo.edit_now();
    bo.change_account(account, &follow, |tx| account::follow(tx, &follow))
        .unwrap();
    assert!(
        bo.alerts(true).unwrap().is_empty(),
        "the ticket is older than the follow"
    );
    let bytes = bo.document_bytes(account).unwrap();
    let after_follow = follow.at.as_millisecond() + 1;
    let (followed, foreign) = foreign_entry(&bytes, "note", "hello", after_follow);
    bo.merge_document(account, &foreign).unwrap();
    assert_eq!(alert_ids(&bo), [followed.to_string()]);
    assert_eq!(bo.alerts(true).unwrap()[0].reasons, ["following"]);
}
