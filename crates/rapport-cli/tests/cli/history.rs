//! `rapport history ACCOUNT`: who changed what on an account and when, read from the account
//! document's own changes, after two replicas edited it offline and synced through a real relay.

use serde_json::{Value, json};

use crate::processes::RelayServer;
use crate::support::{Data, array, tmp};

/// Every edit of `history` (the JSON of `rapport history --json`) with its change's author.
fn edits_by_author(history: &Value) -> Vec<(Value, Value)> {
    array(&history["changes"])
        .iter()
        .flat_map(|change| {
            array(&change["edits"])
                .iter()
                .map(|edit| (change["author"].clone(), edit.clone()))
        })
        .collect()
}

fn hashes(history: &Value) -> Vec<String> {
    let mut hashes: Vec<String> = array(&history["changes"])
        .iter()
        .map(|change| change["hash"].as_str().expect("a hash").to_owned())
        .collect();
    hashes.sort_unstable();
    hashes
}

#[test]
fn offline_edits_from_two_replicas_show_both_authors_with_old_and_new_values() {
    let tmp = tmp();
    let store = Data::at(tmp.path().join("relay"));
    let sam_token = store.invite("sam", "sales", "member");
    let sue_token = store.invite("sue", "support", "member");
    let relay = RelayServer::start(&store);
    let sam = Data::join_relay(tmp.path().join("sam"), &relay.url, &sam_token);
    let sue = Data::join_relay(tmp.path().join("sue"), &relay.url, &sue_token);
    let account = sue.add_account("Globex", &["--domain", "globex.com"]);
    sue.sync().ok();
    sam.sync().ok();

    // Offline, each on their own replica: sam moves the stage, sue sets a field and adds a note.
    sam.run(["account", "set", &account, "stage=prospect"]).ok();
    sue.run(["account", "set", &account, "custom.region=emea"])
        .ok();
    sue.id_of(["note", "add", &account, "Asked about single sign-on"]);
    sam.sync().ok();
    sue.sync().ok();
    sam.sync().ok();

    let on_sam = sam.json(["history", &account]);
    let on_sue = sue.json(["history", &account]);
    assert_eq!(on_sam["account"], account.as_str());
    assert_eq!(
        on_sam["total"], 4,
        "creation, stage, field, note: {on_sam:#}"
    );
    assert_eq!(
        hashes(&on_sam),
        hashes(&on_sue),
        "both replicas read the same changes"
    );
    for history in [&on_sam, &on_sue] {
        let edits = edits_by_author(history);
        let has = |author: &str, edit: Value| {
            assert!(
                edits.contains(&(json!(author), edit.clone())),
                "{author}'s {edit} is in the history: {history:#}"
            );
        };
        has("sue", json!({ "kind": "created", "name": "Globex" }));
        has(
            "sue",
            json!({ "kind": "field", "field": "stage", "from": null, "to": "lead" }),
        );
        has(
            "sam",
            json!({ "kind": "field", "field": "stage", "from": "lead", "to": "prospect" }),
        );
        has(
            "sue",
            json!({ "kind": "field", "field": "custom.region", "from": null, "to": "emea" }),
        );
        let note = edits
            .iter()
            .find(|(_, edit)| edit["kind"] == "entry_added")
            .unwrap_or_else(|| panic!("the note is in the history: {history:#}"));
        assert_eq!(note.0, "sue");
        assert_eq!(
            (&note.1["entry_kind"], &note.1["team"], &note.1["excerpt"]),
            (
                &json!("note"),
                &json!("support"),
                &json!("Asked about single sign-on")
            )
        );
        for change in array(&history["changes"]) {
            assert!(
                change["at"].is_string(),
                "every change has a time: {change}"
            );
        }
    }
    // The creation comes first; the concurrent changes after it, in causal order.
    assert_eq!(on_sam["changes"][0]["edits"][0]["kind"], "created");

    let text = sam.run(["history", &account]).ok().stdout;
    for line in [
        "sue",
        "sam",
        "    created account Globex",
        "    stage: lead -> prospect",
        "    custom.region: (none) -> emea",
        "    note added (support): Asked about single sign-on",
        "4 change(s)",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
}

#[test]
fn a_limit_shows_the_latest_changes_of_all() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let account = ana.add_account("Initech", &[]);
    for stage in ["prospect", "customer", "churned"] {
        ana.run(["account", "set", "Initech", &format!("stage={stage}")])
            .ok();
    }
    let latest = ana.json(["history", &account, "--limit", "2"]);
    assert_eq!(latest["total"], 4);
    let edits: Vec<Value> = edits_by_author(&latest)
        .into_iter()
        .map(|(_, edit)| edit)
        .collect();
    assert_eq!(
        edits,
        [
            json!({ "kind": "field", "field": "stage", "from": "prospect", "to": "customer" }),
            json!({ "kind": "field", "field": "stage", "from": "customer", "to": "churned" }),
        ]
    );
    let text = ana.run(["history", "Initech", "--limit", "1"]).ok().stdout;
    assert!(
        text.contains("stage: customer -> churned")
            && !text.contains("prospect")
            && text.contains("4 change(s), the latest 1 shown"),
        "{text}"
    );
}

#[test]
fn the_history_of_an_unknown_account_is_an_error() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    ana.add_account("Initech", &[]);
    ana.run(["history", "Globex"])
        .fails_with(&["unknown account 'Globex'"]);
    ana.run_json(["history", "Globex"])
        .fails_with(&["unknown account 'Globex'"]);
    ana.run(["history", "Initech", "--limit", "many"])
        .refused_with(&["--limit"]);
}
