//! Followers and alert rules written concurrently on two replicas: neither hides the other, and
//! rules of a foreign shape are skipped rather than firing.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT};
use rapport_model::account;
use rapport_model::alert::rule::{Rule, RuleCondition, RuleTarget};
use rapport_model::workspace;
use rapport_model::{EntryKind, Team};

use crate::{BASE_MS, edit_at, new_account, replica, sync, user, write, write_touched};

fn rule(name: &str, kind: EntryKind) -> Rule {
    let when = RuleCondition {
        kind: Some(kind),
        ..RuleCondition::default()
    };
    Rule::new(name.parse().unwrap(), when, vec![RuleTarget::Owner]).unwrap()
}

#[test]
fn concurrent_follows_from_two_replicas_both_count() {
    let mut a = new_account("Globex");
    let mut b = replica(&a);
    let bo = edit_at("bo", Team::Sales, BASE_MS + 1);
    let cy = edit_at("cy", Team::Support, BASE_MS + 2);
    let touched = write_touched(&mut a, &bo, |tx| account::follow(tx, &bo));
    assert!(touched.fields, "a follow touches the account's fields");
    write(&mut b, &cy, |tx| account::follow(tx, &cy));
    write(&mut b, &cy, |tx| account::follow(tx, &cy));
    sync(&mut a, &mut b);
    assert_eq!(account::followers(&a), [user("bo"), user("cy")]);
    assert_eq!(account::followers(&b), account::followers(&a));
    assert_eq!(crate::view(&a).followers, [user("bo"), user("cy")]);

    write(&mut a, &bo, |tx| account::unfollow(tx, &bo));
    write(&mut a, &bo, |tx| account::unfollow(tx, &bo));
    sync(&mut a, &mut b);
    assert_eq!(account::followers(&b), [user("cy")]);
    let facts = account::alert_facts(&b);
    let following: Vec<_> = facts.followers.iter().map(|f| &f.user).collect();
    assert_eq!(following, [&user("cy")]);
    assert_eq!(facts.followers[0].since, Some(cy.at));

    let edits: Vec<String> = account::history(&a, crate::doc_id(), None)
        .unwrap()
        .changes
        .iter()
        .flat_map(|change| change.edits.iter().map(ToString::to_string))
        .collect();
    let follows: Vec<&String> = edits.iter().filter(|e| e.contains("follow")).collect();
    assert_eq!(
        follows,
        [
            "bo followed the account",
            "cy followed the account",
            "bo stopped following the account"
        ],
        "{edits:?}"
    );
}

#[test]
fn concurrent_rules_from_two_replicas_both_hold_and_a_foreign_rule_is_skipped() {
    let mut a = Automerge::new();
    let ana = edit_at("ana", Team::Sales, BASE_MS);
    write(&mut a, &ana, |tx| workspace::create(tx, &ana, "Acme"));
    let mut b = replica(&a);
    write(&mut a, &ana, |tx| {
        workspace::put_rule(tx, &ana, &rule("tickets", EntryKind::Ticket))
    });
    write(&mut b, &ana, |tx| {
        workspace::put_rule(tx, &ana, &rule("calls", EntryKind::Call))
    });
    write(&mut b, &ana, |tx| {
        let odd = tx.put_object(ROOT, "rule:odd", ObjType::Map)?;
        tx.put(&odd, "kind", "ticket")?;
        tx.put(&odd, "alert", "owner")?;
        tx.put(&odd, "when_weekday", "monday")?;
        tx.put(ROOT, "rule:flat", "kind=ticket")?;
        Ok(())
    });
    sync(&mut a, &mut b);
    let names: Vec<String> = workspace::rules(&a)
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(names, ["calls", "tickets"]);
    assert_eq!(workspace::rules(&a), workspace::rules(&b));

    write(&mut a, &ana, |tx| {
        workspace::remove_rule(tx, &ana, &"calls".parse().unwrap())
    });
    let unknown = a
        .transact(|tx| workspace::remove_rule(tx, &ana, &"calls".parse().unwrap()))
        .map_err(|failure| failure.error.to_string());
    assert_eq!(
        unknown.err().as_deref(),
        Some("no alert rule named 'calls' in this workspace")
    );
    sync(&mut a, &mut b);
    assert_eq!(
        workspace::rules(&b),
        [rule("tickets", EntryKind::Ticket).created_at(ana.at)],
        "a rule carries the time it was written"
    );
}

#[test]
fn following_again_keeps_the_time_of_the_first_follow() {
    let mut a = new_account("Globex");
    let first = edit_at("bo", Team::Sales, BASE_MS + 10);
    let again = edit_at("bo", Team::Sales, BASE_MS + 20);
    write(&mut a, &first, |tx| account::follow(tx, &first));
    let touched = write_touched(&mut a, &again, |tx| account::follow(tx, &again));
    assert!(touched.is_empty(), "following again changes nothing");
    let since: Vec<_> = account::alert_facts(&a)
        .followers
        .iter()
        .map(|f| (f.user.to_string(), f.since))
        .collect();
    assert_eq!(since, [("bo".to_owned(), Some(first.at))]);
}
