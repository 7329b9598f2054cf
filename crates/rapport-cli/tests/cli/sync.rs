//! Concurrent edits on two replicas, merged through the store: the same result on both sides.

use rapport_model::Team;
use serde_json::json;

use crate::support::{Data, array, exchange, join, tmp};

#[test]
fn concurrent_field_edits_show_one_winner_and_a_conflict_until_settled() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "support");
    let account = ana.add_account("Globex", &["--domain", "globex.com"]);
    let bo = join(&ana, &tmp.path().join("bo"), "bo", Team::Sales);

    ana.run(["account", "set", &account, "phone=+1-555-0100"])
        .ok();
    bo.run(["account", "set", &account, "phone=+1-555-0199", "tier=gold"])
        .ok();
    assert_eq!(ana.show(&account)["conflicts"], json!([]));
    assert_eq!(bo.show(&account)["conflicts"], json!([]));

    exchange(&ana, &bo);
    let on_ana = ana.show(&account);
    let on_bo = bo.show(&account);
    assert_eq!(on_ana, on_bo, "both replicas show the same account");
    let winner = on_ana["phone"].as_str().expect("a phone").to_owned();
    let loser = if winner == "+1-555-0100" {
        "+1-555-0199"
    } else {
        assert_eq!(winner, "+1-555-0199");
        "+1-555-0100"
    };
    assert_eq!(
        on_ana["conflicts"],
        json!([{ "field": "phone", "value": winner, "others": [loser] }])
    );
    assert_eq!(on_ana["tier"], "gold", "edits to other fields merge");
    assert_eq!(on_ana["domain"], "globex.com");
    assert_eq!(ana.list(), bo.list());
    let text = ana.run(["account", "show", &account]).ok().stdout;
    assert!(text.contains("conflict on phone"), "{text}");

    // Settling the field on one side clears the conflict on both once they exchange again.
    let settled = bo.json(["account", "set", &account, "phone=+1-555-0142"]);
    assert_eq!(settled["conflicts"], json!([]));
    exchange(&ana, &bo);
    let on_ana = ana.show(&account);
    assert_eq!(on_ana, bo.show(&account));
    assert_eq!(on_ana["phone"], "+1-555-0142");
    assert_eq!(on_ana["conflicts"], json!([]));
}

#[test]
fn concurrent_notes_both_survive_in_the_same_order() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "support");
    let account = ana.add_account("Globex", &[]);
    let bo = join(&ana, &tmp.path().join("bo"), "bo", Team::Sales);

    let from_ana = ana.id_of(["note", "add", &account, "Ticket closed"]);
    let from_bo = bo.id_of(["log", &account, "--kind", "call", "Renewal call"]);
    let deal = bo.id_of([
        "deal", "add", &account, "--title", "Renewal", "--amount", "5000",
    ]);
    let contact = ana.id_of(["contact", "add", &account, "--name", "Hank"]);
    exchange(&ana, &bo);

    let on_ana = ana.show(&account);
    assert_eq!(on_ana, bo.show(&account));
    let timeline = array(&on_ana["timeline"]);
    let mut ids: Vec<&str> = timeline.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut expected = [from_ana.as_str(), from_bo.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert_eq!(on_ana["deals"][0]["id"], deal.as_str());
    assert_eq!(on_ana["contacts"][0]["id"], contact.as_str());
    assert_eq!(on_ana["conflicts"], json!([]));
    assert_eq!(ana.list()[0]["entries"], 2);
    assert_eq!(bo.list()[0]["contacts"], 1);

    // Items that came from the other replica can be changed by id there.
    ana.run(["deal", "move", &deal, "won"]).ok();
    bo.run(["contact", "set", &contact, "title=CTO"]).ok();
    exchange(&ana, &bo);
    let on_bo = bo.show(&account);
    assert_eq!(on_bo, ana.show(&account));
    assert_eq!(on_bo["deals"][0]["stage"], "won");
    assert_eq!(on_bo["contacts"][0]["title"], "CTO");
}
