//! @mentions, following accounts and workspace alert rules, through the real relay: each
//! member's replica derives their own inbox from the documents it holds, with the reasons.

use serde_json::{Value, json};

use crate::processes::{RelayServer, relay_with, sync_all};
use crate::support::{Data, array, copy_documents, tmp};

/// The alerts of an inbox for entry `id`.
fn alerts_for<'a>(inbox: &'a Value, id: &str) -> Vec<&'a Value> {
    array(inbox).iter().filter(|a| a["id"] == id).collect()
}

/// The reasons of the one alert for entry `id`, asserted to be there once.
#[track_caller]
fn reasons_for(inbox: &Value, id: &str) -> Value {
    let found = alerts_for(inbox, id);
    assert_eq!(found.len(), 1, "one alert for {id} in {inbox:#}");
    found[0]["reasons"].clone()
}

#[test]
fn a_mention_alerts_the_mentioned_member_on_their_replica_and_no_one_else() {
    let tmp = tmp();
    let (_relay, [sam, mia, sue]) = relay_with(
        &tmp,
        [("sam", "sales"), ("mia", "marketing"), ("sue", "support")],
    );
    let account = sam.add_account("Globex", &[]);
    sync_all(&[&sam, &mia, &sue]);

    let note = sam.id_of([
        "note",
        "add",
        &account,
        "@Mia can you send the deck? Copy sue@globex.com and @zed, not @sam.",
    ]);
    sync_all(&[&sam, &mia, &sue]);

    let inbox = mia.alerts(false);
    assert_eq!(array(&inbox).len(), 1, "{inbox:#}");
    assert_eq!(reasons_for(&inbox, &note), json!(["mentioned"]));
    assert_eq!(inbox[0]["alert"], json!([]), "no alert list was given");
    assert_eq!(
        sue.alerts(true),
        json!([]),
        "an e-mail address is not a mention"
    );
    assert_eq!(
        sam.alerts(true),
        json!([]),
        "an author's own mention alerts no one"
    );
    let text = mia.run(["alerts"]).ok().stdout;
    assert!(text.contains("why: mentioned"), "{text}");
}

#[test]
fn a_follower_hears_a_support_ticket_on_the_followed_account() {
    let tmp = tmp();
    let (_relay, [sam, mia, sue]) = relay_with(
        &tmp,
        [("sam", "sales"), ("mia", "marketing"), ("sue", "support")],
    );
    let account = sam.add_account("Globex", &[]);
    sync_all(&[&sam, &mia, &sue]);

    mia.json(["account", "follow", "Globex"]);
    sue.json(["account", "follow", &account]);
    sync_all(&[&sam, &mia, &sue]);
    assert_eq!(sam.show(&account)["followers"], json!(["mia", "sue"]));
    let text = sam.run(["account", "show", &account]).ok().stdout;
    assert!(text.contains("followers mia, sue"), "{text}");

    let ticket = sue.id_of(["log", &account, "--kind", "ticket", "Login broken"]);
    sync_all(&[&sam, &mia, &sue]);
    assert_eq!(
        reasons_for(&mia.alerts(false), &ticket),
        json!(["following"])
    );
    assert_eq!(sam.alerts(true), json!([]), "sam does not follow Globex");
    assert_eq!(
        sue.alerts(true),
        json!([]),
        "a follower's own entry alerts them not"
    );

    // Unfollowing mutes the account for mia: what following raised leaves her inbox, on each
    // of her replicas alike, and new entries no longer reach her.
    mia.json(["account", "unfollow", &account]);
    sync_all(&[&sam, &mia, &sue]);
    assert_eq!(sam.show(&account)["followers"], json!(["sue"]));
    assert_eq!(mia.alerts(true), json!([]));
    sue.id_of(["log", &account, "--kind", "ticket", "Login broken again"]);
    sync_all(&[&sam, &mia, &sue]);
    assert_eq!(mia.alerts(true), json!([]));
}

#[test]
fn a_rule_for_tickets_on_gold_accounts_alerts_the_owner_and_followers() {
    let tmp = tmp();
    let (_relay, [sam, mia, sue]) = relay_with(
        &tmp,
        [("sam", "sales"), ("mia", "marketing"), ("sue", "support")],
    );
    let gold = sam.add_account("Globex", &["--tier", "Gold", "--owner", "sam"]);
    let silver = sam.add_account("Initech", &["--tier", "silver", "--owner", "sam"]);
    let added = sue.add_rule(
        "gold-tickets",
        &["--when-kind", "ticket", "--when-tier", "gold"],
        "owner,followers",
    );
    assert_eq!(added["added"]["name"], "gold-tickets");
    sync_all(&[&sam, &mia, &sue]);
    mia.json(["account", "follow", &gold]);
    sync_all(&[&sam, &mia, &sue]);
    let mut rules = sam.json(["workspace", "rule", "list"]);
    assert_eq!(rules[0]["created"], added["added"]["created"]);
    assert!(rules[0]["created"].is_string(), "{rules:#}");
    rules[0].as_object_mut().map(|rule| rule.remove("created"));
    assert_eq!(
        rules,
        json!([{
            "name": "gold-tickets",
            "when": { "kind": "ticket", "tier": "gold", "stage": null, "team": null },
            "alert": ["owner", "followers"],
        }])
    );

    let ticket = sue.id_of(["log", &gold, "--kind", "ticket", "Outage in EU region"]);
    let note = sue.id_of(["note", "add", &gold, "Renewal is in March"]);
    let elsewhere = sue.id_of(["log", &silver, "--kind", "ticket", "Password reset"]);
    sync_all(&[&sam, &mia, &sue]);

    let owner = sam.alerts(false);
    assert_eq!(reasons_for(&owner, &ticket), json!(["rule gold-tickets"]));
    assert!(
        alerts_for(&owner, &note).is_empty(),
        "a note is not a ticket"
    );
    assert!(
        alerts_for(&owner, &elsewhere).is_empty(),
        "silver is not gold"
    );
    assert_eq!(array(&owner).len(), 1, "{owner:#}");
    let follower = mia.alerts(false);
    assert_eq!(
        reasons_for(&follower, &ticket),
        json!(["following", "rule gold-tickets"])
    );
    assert_eq!(sue.alerts(true), json!([]), "the author is never alerted");
    let text = sam.run(["alerts"]).ok().stdout;
    assert!(text.contains("why: rule gold-tickets"), "{text}");

    // Removing the rule stops it for entries written from then on; what it raised stays.
    sue.json(["workspace", "rule", "remove", "gold-tickets"]);
    sync_all(&[&sam, &mia, &sue]);
    assert_eq!(sam.json(["workspace", "rule", "list"]), json!([]));
    sue.id_of(["log", &gold, "--kind", "ticket", "Outage again"]);
    sync_all(&[&sam, &mia, &sue]);
    assert_eq!(ids_of(&sam.alerts(false)), [ticket]);
}

#[test]
fn a_rule_or_a_follow_that_arrives_after_the_entries_still_alerts_for_those_written_since() {
    let tmp = tmp();
    let (relay, [sam, mia, sue]) = relay_with(
        &tmp,
        [("sam", "sales"), ("mia", "marketing"), ("sue", "support")],
    );
    let account = sam.add_account("Globex", &["--owner", "sam"]);
    sync_all(&[&sam, &mia, &sue]);
    let old_ticket = sue.id_of(["log", &account, "--kind", "ticket", "Old outage"]);
    sue.sync().ok();

    // sam writes a rule and mia follows, both offline; sue's ticket written afterwards reaches
    // their replicas before their own edits reach the relay.
    sam.add_rule("tickets", &["--when-kind", "ticket"], "owner,marketing");
    mia.json(["account", "follow", &account]);
    let ticket = sue.id_of(["log", &account, "--kind", "ticket", "Outage in EU region"]);
    sue.sync().ok();
    mia.sync().ok();
    assert_eq!(
        reasons_for(&mia.alerts(false), &ticket),
        json!(["following"]),
        "mia's follow is older than the ticket; the rule has not reached her"
    );
    sam.sync().ok();
    assert_eq!(ids_of(&sam.alerts(false)), [ticket.as_str()]);
    mia.sync().ok();
    let inbox = mia.alerts(false);
    assert_eq!(
        reasons_for(&inbox, &ticket),
        json!(["following", "rule tickets"]),
        "the rule reached back to the ticket written after it"
    );
    assert_eq!(ids_of(&inbox), [ticket.as_str()], "never the older ticket");
    assert!(alerts_for(&sam.alerts(true), &old_ticket).is_empty());

    // A replica that learns everything at once derives the same inbox.
    let mia_token = Data::at(tmp.path().join("relay")).invite("mia", "marketing", "member");
    let fresh = Data::join_relay(tmp.path().join("mia-fresh"), &relay.url, &mia_token);
    assert_eq!(fresh.alerts(false), mia.alerts(false));
}

fn ids_of(inbox: &Value) -> Vec<String> {
    array(inbox)
        .iter()
        .map(|a| a["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn one_entry_merged_in_different_orders_alerts_each_user_once_and_one_ack_clears_it_everywhere() {
    let tmp = tmp();
    let store = Data::at(tmp.path().join("relay"));
    let sam_token = store.invite("sam", "sales", "member");
    let sue_token = store.invite("sue", "support", "member");
    let mia_token = store.invite("mia", "marketing", "member");
    let relay = RelayServer::start(&store);
    let sam = Data::join_relay(tmp.path().join("sam"), &relay.url, &sam_token);
    let sue = Data::join_relay(tmp.path().join("sue"), &relay.url, &sue_token);
    let laptop = Data::join_relay(tmp.path().join("mia-laptop"), &relay.url, &mia_token);
    let desktop = Data::join_relay(tmp.path().join("mia-desktop"), &relay.url, &mia_token);
    let everyone = [&sam, &sue, &laptop, &desktop];
    let account = sam.add_account("Globex", &["--tier", "gold", "--owner", "sam"]);
    sam.add_rule("tickets", &["--when-kind", "ticket"], "support,@mia");
    sync_all(&everyone);
    laptop.json(["account", "follow", &account]);
    sync_all(&everyone);

    // One entry that reaches mia four ways and sue three.
    let ticket = sam.id_of([
        "log",
        &account,
        "--kind",
        "ticket",
        "@mia @sue outage",
        "--alert",
        "@mia",
        "--alert",
        "support",
    ]);
    // The desktop gets it first straight from sam's replica, and again through the relay;
    // sue's replica through the relay, then the same bytes again; the laptop through the relay
    // after both others already answered.
    copy_documents(&sam, &desktop);
    sam.sync().ok();
    desktop.sync().ok();
    sue.sync().ok();
    copy_documents(&sam, &sue);
    sue.sync().ok();
    laptop.sync().ok();
    copy_documents(&desktop, &laptop);

    let mia_reasons = json!(["direct", "mentioned", "following", "rule tickets"]);
    for mia in [&laptop, &desktop] {
        let inbox = mia.alerts(false);
        assert_eq!(array(&inbox).len(), 1, "{inbox:#}");
        assert_eq!(reasons_for(&inbox, &ticket), mia_reasons);
    }
    let inbox = sue.alerts(false);
    assert_eq!(array(&inbox).len(), 1, "{inbox:#}");
    assert_eq!(
        reasons_for(&inbox, &ticket),
        json!(["team", "mentioned", "rule tickets"])
    );
    assert_eq!(sam.alerts(true), json!([]));

    laptop.json(["alerts", "ack", &ticket]);
    sync_all(&everyone);
    assert_eq!(
        desktop.alerts(false),
        json!([]),
        "acknowledged on the laptop"
    );
    assert_eq!(desktop.alerts(true)[0]["acknowledged"], true);
    assert_eq!(
        reasons_for(&sue.alerts(false), &ticket)
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[test]
fn unknown_accounts_and_bad_rules_are_refused_and_change_nothing() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("ana"), "ana", "support");
    data.add_account("Globex", &[]);
    data.add_rule("gold", &["--when-tier", "gold"], "owner");
    let before = data.snapshot();

    data.run(["account", "follow", "Nowhere Inc"])
        .fails_with(&["Nowhere Inc"]);
    data.run(["account", "unfollow", "Nowhere Inc"])
        .fails_with(&["Nowhere Inc"]);
    data.run(["workspace", "rule", "add", "all", "--alert", "owner"])
        .fails_with(&["rule 'all' has no condition", "--when-kind"]);
    data.run([
        "workspace",
        "rule",
        "add",
        "blank",
        "--when-tier",
        " ",
        "--alert",
        "owner",
    ])
    .fails_with(&["has no condition"]);
    data.run([
        "workspace",
        "rule",
        "add",
        "boss",
        "--when-kind",
        "ticket",
        "--alert",
        "owner,boss",
    ])
    .fails_with(&["invalid rule target 'boss'", "followers"]);
    data.run([
        "workspace",
        "rule",
        "add",
        "empty",
        "--when-kind",
        "ticket",
        "--alert",
        ",",
    ])
    .fails_with(&["alert list must not be empty"]);
    data.run([
        "workspace",
        "rule",
        "add",
        "odd",
        "--when-kind",
        "tickets",
        "--alert",
        "owner",
    ])
    .refused_with(&["tickets"]);
    data.run([
        "workspace",
        "rule",
        "add",
        "bad name",
        "--when-kind",
        "ticket",
        "--alert",
        "owner",
    ])
    .refused_with(&["invalid rule name 'bad name'"]);
    data.run([
        "workspace",
        "rule",
        "add",
        "gold",
        "--when-kind",
        "ticket",
        "--alert",
        "owner",
    ])
    .fails_with(&["alert rule named 'gold' exists already"]);
    data.run(["workspace", "rule", "remove", "silver"])
        .fails_with(&["no alert rule named 'silver'"]);

    assert_eq!(data.snapshot(), before);
    assert_eq!(array(&data.json(["workspace", "rule", "list"])).len(), 1);
}
