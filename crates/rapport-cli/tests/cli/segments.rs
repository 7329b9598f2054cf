//! Value scores and segments: accounts ranked by their score, segments saved in the workspace
//! document and shared through the real relay, and `account list` and `report` narrowed to a
//! segment's accounts.

use serde_json::{Value, json};

use crate::processes::relay_with;
use crate::support::{Data, array, str_at, tmp};

/// The names of the accounts of an `account list --json`, in its order.
fn names(list: &Value) -> Vec<String> {
    array(list)
        .iter()
        .map(|account| str_at(account, "name").to_owned())
        .collect()
}

/// `account list --json ARGS...`: the names, in order.
fn listed(data: &Data, args: &[&str]) -> Vec<String> {
    let mut all = vec!["account", "list"];
    all.extend_from_slice(args);
    names(&data.json(all))
}

fn deal(data: &Data, account: &str, amount: &str, stage: &str) {
    data.id_of([
        "deal",
        "add",
        account,
        "--title",
        "Deal",
        "--amount",
        amount,
        "--currency",
        "EUR",
        "--stage",
        stage,
    ]);
}

/// Globex: three calls today, a won deal of 50,000 EUR, tagged `enterprise`, a customer.
/// Initech: one note today and an open deal of 1,000 EUR in qualification, tagged
/// `enterprise`, a prospect. Umbrella: nothing at all, a customer.
pub(crate) fn crafted(data: &Data) -> [String; 3] {
    let globex = data.add_account("Globex", &["--stage", "customer", "--owner", "ana"]);
    let initech = data.add_account("Initech", &["--stage", "prospect", "--owner", "bo"]);
    let umbrella = data.add_account("Umbrella", &["--stage", "customer", "--owner", "ana"]);
    for account in [&globex, &initech] {
        data.run(["account", "set", account, "tags=enterprise,emea"])
            .ok();
    }
    data.run(["account", "set", &umbrella, "custom.region=north"])
        .ok();
    for text in ["Kickoff", "Review", "Renewal"] {
        data.id_of(["log", &globex, "--kind", "call", text]);
    }
    deal(data, &globex, "50000", "won");
    data.id_of(["note", "add", &initech, "First meeting"]);
    deal(data, &initech, "1000", "qualification");
    [globex, initech, umbrella]
}

#[test]
fn a_recent_busy_account_with_won_deals_scores_high_and_an_untouched_one_low() {
    let tmp = tmp();
    let sam = Data::init(tmp.path().join("sam"), "sam", "sales");
    let [globex, _, umbrella] = crafted(&sam);

    let list = sam.json(["account", "list", "--sort", "score"]);
    assert_eq!(names(&list), ["Globex", "Initech", "Umbrella"]);
    let scores: Vec<(u64, &str)> = array(&list)
        .iter()
        .map(|a| {
            (
                a["value"]["score"].as_u64().unwrap(),
                str_at(&a["value"], "tier"),
            )
        })
        .collect();
    // Globex: recency 100, frequency 3/12, the most euros: 0.35*100 + 0.25*25 + 0.40*100.
    // Initech: recency 100, frequency 1/12, a quarter of its deal, second of two in euros.
    assert_eq!(scores, [(81, "high"), (57, "medium"), (0, "low")]);
    assert_eq!(list[0]["last_team"], "sales");
    assert_eq!(list[1]["open_deal"], true);
    assert_eq!(list[2]["last_entry"], Value::Null);
    assert_eq!(
        listed(&sam, &[]),
        ["Globex", "Initech", "Umbrella"],
        "by name unless asked"
    );

    let shown = sam.show(&globex);
    assert_eq!(
        shown["value"],
        json!({ "score": 81, "tier": "high", "recency": 100, "frequency": 25, "monetary": 100 })
    );
    let text = sam.run(["account", "show", &umbrella]).ok().stdout;
    assert!(text.contains("value    0 (low)"), "{text}");
    let table = sam.run(["account", "list", "--sort", "score"]).ok().stdout;
    let first = table.lines().next().unwrap();
    assert!(
        first.contains("Globex") && first.ends_with(" 81 high"),
        "{table}"
    );
}

#[test]
fn conditions_on_the_command_line_narrow_the_account_list() {
    let tmp = tmp();
    let sam = Data::init(tmp.path().join("sam"), "sam", "sales");
    crafted(&sam);
    let cases: [(&[&str], &[&str]); 9] = [
        (&["--stage", "customer"], &["Globex", "Umbrella"]),
        (&["--tag", "enterprise", "--min-score", "60"], &["Globex"]),
        (&["--value-tier", "medium"], &["Initech"]),
        (&["--max-score", "10"], &["Umbrella"]),
        (&["--owner", "ana", "--open-deal"], &[]),
        (&["--no-open-deal"], &["Globex", "Umbrella"]),
        (
            &["--last-team", "sales", "--stage", "prospect"],
            &["Initech"],
        ),
        (&["--untouched-days", "7"], &["Umbrella"]),
        (&["--custom", "region=north"], &["Umbrella"]),
    ];
    for (args, expected) in cases {
        assert_eq!(listed(&sam, args), expected, "{args:?}");
    }
}

#[test]
fn a_segment_saved_on_one_replica_filters_the_same_accounts_on_another_after_sync() {
    let tmp = tmp();
    let (_relay, [sam, sue]) = relay_with(&tmp, [("sam", "sales"), ("sue", "support")]);
    crafted(&sam);
    sam.run([
        "segment",
        "add",
        "Big enterprise",
        "--tag",
        "enterprise",
        "--min-score",
        "60",
    ])
    .ok();
    let here = listed(&sam, &["--segment", "Big enterprise"]);
    assert_eq!(here, ["Globex"]);
    sam.sync().ok();
    sue.sync().ok();

    let segments = sue.json(["segment", "list"]);
    assert_eq!(array(&segments).len(), 1);
    assert_eq!(segments[0]["name"], "Big enterprise");
    assert_eq!(
        segments[0]["filter"],
        json!({ "tag": "enterprise", "min_score": 60 })
    );
    assert_eq!(listed(&sue, &["--segment", "Big enterprise"]), here);
}

#[test]
fn segments_added_on_two_replicas_at_once_both_survive_the_relay() {
    let tmp = tmp();
    let (_relay, [sam, sue]) = relay_with(&tmp, [("sam", "sales"), ("sue", "support")]);
    // Offline for each other: both write their first segment before either syncs.
    sam.run(["segment", "add", "Customers", "--stage", "customer"])
        .ok();
    sue.run(["segment", "add", "Quiet", "--untouched-days", "30"])
        .ok();
    for member in [&sam, &sue, &sam] {
        member.sync().ok();
    }
    for data in [&sam, &sue] {
        let segments = data.json(["segment", "list"]);
        let names: Vec<&str> = array(&segments).iter().map(|s| str_at(s, "name")).collect();
        assert_eq!(names, ["Customers", "Quiet"], "on {}", data.dir.display());
    }
    let text = sam.run(["segment", "list"]).ok().stdout;
    assert!(text.contains("Quiet  {\"untouched_days\":30}"), "{text}");

    sue.run(["segment", "remove", "Customers"]).ok();
    sue.sync().ok();
    sam.sync().ok();
    let left = sam.json(["segment", "list"]);
    assert_eq!(array(&left).len(), 1);
    assert_eq!(left[0]["name"], "Quiet");
}

#[test]
fn list_and_reports_with_a_segment_count_only_its_accounts() {
    let tmp = tmp();
    let sam = Data::init(tmp.path().join("sam"), "sam", "sales");
    crafted(&sam);
    sam.run(["segment", "add", "Prospects", "--stage", "prospect"])
        .ok();
    sam.run(["segment", "add", "Customers", "--stage", "customer"])
        .ok();
    assert_eq!(listed(&sam, &["--segment", "Prospects"]), ["Initech"]);

    let pipeline = sam.json(["report", "pipeline", "--segment", "Prospects"]);
    assert_eq!(pipeline["deals"], 1);
    assert_eq!(
        pipeline["totals"],
        json!([{ "currency": "EUR", "amount": 100000 }])
    );
    let everyone = sam.json(["report", "pipeline"]);
    assert_eq!(everyone["deals"], 1, "the won deal is not open");

    let win_rate = sam.json(["report", "win-rate", "--segment", "Prospects"]);
    assert_eq!(
        win_rate["overall"]["won"], 0,
        "Globex's won deal is not a prospect's"
    );
    let win_rate = sam.json(["report", "win-rate", "--segment", "Customers"]);
    assert_eq!(win_rate["overall"]["won"], 1);

    let interactions = sam.json(["report", "interactions", "--segment", "Customers"]);
    assert_eq!(
        interactions["entries"], 3,
        "Globex's calls, not Initech's note"
    );
    let all = sam.json(["report", "interactions"]);
    assert_eq!(all["entries"], 4);

    let attention = sam.json(["report", "attention", "--segment", "Prospects"]);
    assert_eq!(
        attention["untouched"],
        json!([]),
        "Umbrella is not a prospect"
    );
    let attention = sam.json(["report", "attention", "--segment", "Customers"]);
    let untouched: Vec<&str> = array(&attention["untouched"])
        .iter()
        .map(|a| str_at(a, "name"))
        .collect();
    assert_eq!(untouched, ["Umbrella"]);
}

#[test]
fn bad_segment_input_is_refused_with_a_clear_error_and_changes_nothing() {
    let tmp = tmp();
    let sam = Data::init(tmp.path().join("sam"), "sam", "sales");
    crafted(&sam);
    sam.run(["segment", "add", "Customers", "--stage", "customer"])
        .ok();
    let before = sam.snapshot();

    sam.run(["account", "list", "--segment", "Nope"])
        .fails_with(&["unknown segment 'Nope'"]);
    sam.run(["report", "pipeline", "--segment", "Nope"])
        .fails_with(&["unknown segment 'Nope'"]);
    sam.run(["segment", "remove", "Nope"])
        .fails_with(&["unknown segment 'Nope'"]);
    sam.run(["segment", "add", "Everything"])
        .fails_with(&["at least one condition"]);
    sam.run(["segment", "add", "Customers", "--tag", "vip"])
        .fails_with(&["'Customers' exists already"]);
    sam.run([
        "segment",
        "add",
        "Odd",
        "--min-score",
        "70",
        "--max-score",
        "20",
    ])
    .fails_with(&["invalid score range 70..20"]);
    sam.run(["segment", "add", "  ", "--tag", "vip"])
        .fails_with(&["invalid segment name"]);
    sam.run(["segment", "add", "High", "--min-score", "101"])
        .refused_with(&["101"]);
    sam.run(["segment", "add", "Stage", "--stage", "whale"])
        .refused_with(&["whale"]);
    sam.run(["segment", "add", "Custom", "--custom", "region"])
        .refused_with(&["NAME=VALUE"]);
    sam.run(["account", "list", "--min-score", "70", "--max-score", "20"])
        .fails_with(&["invalid score range"]);

    assert_eq!(sam.snapshot(), before);
    assert_eq!(array(&sam.json(["segment", "list"])).len(), 1);
}
