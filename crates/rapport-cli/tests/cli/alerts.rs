//! `alerts`, `alerts --all`, `alerts ack ID` and `alerts ack --all`, across two users' replicas:
//! ana of support in one directory, bo of sales in another, documents moved by the store.

use rapport_model::Team;
use serde_json::{Value, json};

use crate::support::{Data, array, copy_documents, exchange, ids, join, keys, str_at, tmp};

/// ana (support) with an account "Globex", and bo (sales) with a copy of everything.
fn ana_and_bo(tmp: &tempfile::TempDir) -> (Data, Data, String) {
    let ana = Data::init(tmp.path().join("ana"), "ana", "support");
    let account = ana.add_account("Globex", &[]);
    let bo = join(&ana, &tmp.path().join("bo"), "bo", Team::Sales);
    assert_eq!(bo.list(), ana.list());
    (ana, bo, account)
}

fn acknowledged(alerts: &Value, id: &str) -> bool {
    array(alerts)
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("alert {id} should be listed in {alerts:#}"))["acknowledged"]
        .as_bool()
        .expect("acknowledged is a boolean")
}

#[test]
fn a_team_alert_reaches_that_team_and_not_its_author() {
    let tmp = tmp();
    let (ana, bo, account) = ana_and_bo(&tmp);
    let note = ana.id_of([
        "note",
        "add",
        &account,
        "Customer asked about the enterprise plan",
        "--alert",
        "sales",
    ]);
    assert_eq!(ana.alerts(false), json!([]), "the author gets no alert");
    assert_eq!(ana.alerts(true), json!([]));
    assert_eq!(bo.alerts(false), json!([]), "nothing copied yet");

    copy_documents(&ana, &bo);
    let inbox = bo.alerts(false);
    assert_eq!(ids(&inbox), [note.as_str()]);
    let alert = &inbox[0];
    assert_eq!(
        keys(alert),
        [
            "account",
            "account_name",
            "acknowledged",
            "alert",
            "at",
            "author",
            "id",
            "kind",
            "reasons",
            "team",
            "text"
        ]
    );
    assert_eq!(alert["account"], account.as_str());
    assert_eq!(alert["account_name"], "Globex");
    assert_eq!(alert["acknowledged"], false);
    assert_eq!(alert["alert"], json!(["sales"]));
    assert_eq!(alert["author"], "ana");
    assert_eq!(alert["team"], "support");
    assert_eq!(alert["kind"], "note");
    assert_eq!(alert["reasons"], json!(["team"]));
    assert_eq!(alert["text"], "Customer asked about the enterprise plan");
    assert_eq!(alert["at"], bo.show(&account)["timeline"][0]["at"]);
    assert_eq!(bo.alerts(true), inbox);

    // A logged interaction can alert too; an alert for another team does not reach bo.
    let ticket = ana.id_of([
        "log",
        &account,
        "--kind",
        "ticket",
        "Escalated: invoice dispute",
        "--alert",
        "sales",
    ]);
    ana.run([
        "note",
        "add",
        &account,
        "For marketing only",
        "--alert",
        "marketing",
    ])
    .ok();
    copy_documents(&ana, &bo);
    let inbox = bo.alerts(false);
    assert_eq!(ids(&inbox), [note.as_str(), ticket.as_str()]);
    assert_eq!(inbox[1]["kind"], "ticket");
    assert_eq!(ana.alerts(true), json!([]));

    let text = bo.run(["alerts"]).ok().stdout;
    assert!(text.contains(&note) && text.contains("Globex"), "{text}");
    assert_eq!(ana.run(["alerts"]).ok().stdout.trim(), "no alerts");
}

#[test]
fn ack_removes_an_alert_from_the_inbox_and_all_still_lists_it() {
    let tmp = tmp();
    let (ana, bo, account) = ana_and_bo(&tmp);
    let first = ana.id_of([
        "note",
        "add",
        &account,
        "Renewal at risk",
        "--alert",
        "sales",
    ]);
    let second = ana.id_of([
        "note",
        "add",
        &account,
        "Asked for a discount",
        "--alert",
        "sales",
    ]);
    copy_documents(&ana, &bo);
    let before = bo.alerts(false);
    assert_eq!(ids(&before), [first.as_str(), second.as_str()]);

    let acked = bo.json(["alerts", "ack", &first]);
    assert_eq!(acked, json!({ "acknowledged": [first] }));
    assert_eq!(ids(&bo.alerts(false)), [second.as_str()]);
    let all = bo.alerts(true);
    assert_eq!(ids(&all), [first.as_str(), second.as_str()]);
    assert!(acknowledged(&all, &first));
    assert!(!acknowledged(&all, &second));
    let text = bo.run(["alerts", "--all"]).ok().stdout;
    assert!(text.contains("(acknowledged)"), "{text}");

    // A lowercase prefix does as well as the id.
    let prefix = second[..20].to_ascii_lowercase();
    let text = bo.run(["alerts", "ack", &prefix]).ok().stdout;
    assert!(text.contains(&second), "{text}");
    assert_eq!(bo.alerts(false), json!([]));
    assert!(acknowledged(&bo.alerts(true), &second));

    // The acknowledgement is bo's, stored in the account: it travels, and ana's view is the same.
    exchange(&bo, &ana);
    assert_eq!(ana.alerts(true), json!([]));
    assert_eq!(bo.alerts(false), json!([]));
    assert_eq!(bo.show(&account), ana.show(&account));
}

#[test]
fn ack_all_acknowledges_every_open_alert() {
    let tmp = tmp();
    let (ana, bo, globex) = ana_and_bo(&tmp);
    let initech = ana.add_account("Initech", &[]);
    let a = ana.id_of(["note", "add", &globex, "one", "--alert", "sales"]);
    let b = ana.id_of(["note", "add", &initech, "two", "--alert", "@bo"]);
    let c = ana.id_of([
        "log", &globex, "--kind", "call", "three", "--alert", "sales",
    ]);
    copy_documents(&ana, &bo);
    assert_eq!(ids(&bo.alerts(false)), [a.as_str(), b.as_str(), c.as_str()]);
    assert_eq!(bo.alerts(false)[1]["account_name"], "Initech");

    let acked = bo.json(["alerts", "ack", "--all"]);
    let mut acked = ids_of_acknowledged(&acked);
    acked.sort();
    let mut expected = vec![a.clone(), b.clone(), c.clone()];
    expected.sort();
    assert_eq!(acked, expected);
    assert_eq!(bo.alerts(false), json!([]));
    let all = bo.alerts(true);
    assert_eq!(ids(&all), [a.as_str(), b.as_str(), c.as_str()]);
    assert!(
        array(&all)
            .iter()
            .all(|alert| alert["acknowledged"] == true)
    );

    // Nothing left: ack --all succeeds and acknowledges nothing.
    assert_eq!(
        bo.json(["alerts", "ack", "--all"]),
        json!({ "acknowledged": [] })
    );
    let text = bo.run(["alerts", "ack", "--all"]).ok().stdout;
    assert!(text.contains("acknowledged 0 alert(s)"), "{text}");

    // A new alert after that is open again.
    let d = ana.id_of(["note", "add", &initech, "four", "--alert", "sales"]);
    copy_documents(&ana, &bo);
    assert_eq!(ids(&bo.alerts(false)), [d.as_str()]);
}

fn ids_of_acknowledged(value: &Value) -> Vec<String> {
    array(&value["acknowledged"])
        .iter()
        .map(|id| id.as_str().expect("ids are strings").to_owned())
        .collect()
}

#[test]
fn a_user_alert_reaches_that_user_only() {
    let tmp = tmp();
    let (ana, bo, account) = ana_and_bo(&tmp);
    let to_bo = ana.id_of([
        "note",
        "add",
        &account,
        "Bo, please call them",
        "--alert",
        "@bo",
    ]);
    ana.run(["note", "add", &account, "For Carol", "--alert", "@carol"])
        .ok();
    copy_documents(&ana, &bo);
    let inbox = bo.alerts(false);
    assert_eq!(ids(&inbox), [to_bo.as_str()]);
    assert_eq!(inbox[0]["alert"], json!(["@bo"]));
    assert_eq!(ana.alerts(true), json!([]));

    // bo answers ana by name; she gets it, he does not.
    let to_ana = bo.id_of(["note", "add", &account, "Called them", "--alert", "@ana"]);
    assert_eq!(ids(&bo.alerts(false)), [to_bo.as_str()]);
    copy_documents(&bo, &ana);
    let inbox = ana.alerts(false);
    assert_eq!(ids(&inbox), [to_ana.as_str()]);
    assert_eq!(inbox[0]["author"], "bo");
    assert_eq!(inbox[0]["team"], "sales");
}

#[test]
fn the_author_never_gets_their_own_alert() {
    let tmp = tmp();
    let (ana, bo, account) = ana_and_bo(&tmp);
    // Each names their own team and themselves.
    ana.run([
        "note",
        "add",
        &account,
        "support, look",
        "--alert",
        "support",
        "--alert",
        "@ana",
    ])
    .ok();
    bo.run([
        "note",
        "add",
        &account,
        "sales, look",
        "--alert",
        "sales",
        "--alert",
        "@bo",
    ])
    .ok();
    assert_eq!(ana.alerts(true), json!([]));
    assert_eq!(bo.alerts(true), json!([]));

    exchange(&ana, &bo);
    assert_eq!(ana.alerts(true), json!([]), "bo alerted sales and @bo only");
    assert_eq!(
        bo.alerts(true),
        json!([]),
        "ana alerted support and @ana only"
    );
    let timeline = ana.show(&account)["timeline"].clone();
    assert_eq!(array(&timeline).len(), 2, "both notes are there");
    assert_eq!(ana.show(&account), bo.show(&account));

    // Once the alert names the other side, it reaches them and still not its author.
    let to_support = bo.id_of(["note", "add", &account, "ping", "--alert", "support"]);
    exchange(&ana, &bo);
    assert_eq!(ids(&ana.alerts(false)), [to_support.as_str()]);
    assert_eq!(bo.alerts(true), json!([]));
    assert_eq!(str_at(&ana.alerts(false)[0], "author"), "bo");
}

/// An entry that is no alert for this user (a plain call, or the user's own note) is not an
/// ALERT_ID: acknowledging it must fail and write nothing.
#[test]
fn ack_of_an_entry_that_is_not_my_alert_fails() {
    let tmp = tmp();
    let ana = Data::init(tmp.path(), "ana", "support");
    let account = ana.add_account("Globex", &[]);
    let call = ana.id_of(["log", &account, "--kind", "call", "Routine check-in"]);
    let own = ana.id_of(["note", "add", &account, "For sales", "--alert", "sales"]);
    let before = ana.snapshot();
    for entry in [&call, &own] {
        ana.run(["alerts", "ack", entry])
            .fails_with(&["alert", entry.as_str()]);
        assert_eq!(
            ana.snapshot(),
            before,
            "alerts ack {entry} changed the replica"
        );
    }
}
