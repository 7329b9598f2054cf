//! `note add` and `log`: timeline entries, their shape and their order.

use rapport_model::account::{self, NewEntry};
use rapport_model::{Edit, EntryId, EntryKind, Team};
use rapport_store::Replica;
use serde_json::{Value, json};

use crate::support::{Data, array, document_id, ids, keys, str_at, tmp};

/// The timeline's `(at, id)` pairs, with `at` parsed.
fn order(timeline: &Value) -> Vec<(jiff::Timestamp, String)> {
    array(timeline)
        .iter()
        .map(|entry| {
            let at = str_at(entry, "at")
                .parse()
                .unwrap_or_else(|e| panic!("`at` is a timestamp: {e} in {entry}"));
            (at, str_at(entry, "id").to_owned())
        })
        .collect()
}

#[test]
fn notes_and_logged_interactions_join_the_timeline() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let account = data.add_account("Globex", &[]);

    let note = data.json(["note", "add", "Globex", "Customer asked about SSO"]);
    assert_eq!(keys(&note), ["account", "id", "kind"]);
    assert_eq!(note["account"], account.as_str());
    assert_eq!(note["kind"], "note");
    let mut written = vec![(
        str_at(&note, "id").to_owned(),
        "note",
        "Customer asked about SSO",
    )];
    for (kind, text) in [
        ("call", "Walked Hank through the renewal"),
        ("email", "Sent the renewal quote"),
        ("meeting", "Quarterly review on site"),
        ("ticket", "Login fails with SSO"),
        ("campaign", "Invited to the spring webinar"),
    ] {
        let logged = data.json(["log", &account, "--kind", kind, text]);
        assert_eq!(logged["kind"], kind);
        assert_eq!(logged["account"], account.as_str());
        written.push((str_at(&logged, "id").to_owned(), kind, text));
    }
    let plain = data.id_of(["note", "add", &account, "Text mode prints the id"]);
    written.push((plain, "note", "Text mode prints the id"));

    let shown = data.show(&account);
    let timeline = array(&shown["timeline"]);
    assert_eq!(timeline.len(), written.len());
    for (entry, (id, kind, text)) in timeline.iter().zip(&written) {
        assert_eq!(
            keys(entry),
            ["alert", "at", "author", "id", "kind", "team", "text"]
        );
        assert_eq!(entry["id"], id.as_str());
        assert_eq!(entry["kind"], *kind);
        assert_eq!(entry["text"], *text);
        assert_eq!(entry["author"], "ana");
        assert_eq!(entry["team"], "support");
        assert_eq!(entry["alert"], json!([]));
    }
    let order = order(&shown["timeline"]);
    assert!(order.is_sorted(), "ordered by time, then id: {order:?}");
    assert_eq!(data.list()[0]["entries"], written.len());
    assert_eq!(
        data.alerts(true),
        json!([]),
        "entries without --alert alert nobody"
    );
}

#[test]
fn alert_targets_are_kept_on_the_entry() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let account = data.add_account("Globex", &[]);
    data.run([
        "note",
        "add",
        &account,
        "Wants a quote for 50 seats",
        "--alert",
        "sales",
        "--alert",
        "@bo",
    ])
    .ok();
    data.run([
        "log",
        &account,
        "--kind",
        "ticket",
        "Outage reported",
        "--alert",
        "marketing",
    ])
    .ok();
    let timeline = data.show(&account)["timeline"].clone();
    assert_eq!(timeline[0]["alert"], json!(["sales", "@bo"]));
    assert_eq!(timeline[1]["alert"], json!(["marketing"]));
    assert_eq!(timeline[1]["kind"], "ticket");
}

#[test]
fn timeline_is_ordered_by_time_then_by_id() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let account = data.add_account("Globex", &[]);
    let first_cli = data.id_of(["note", "add", &account, "written now"]);

    // Entries another member wrote at chosen times, with ids chosen against their time order:
    // the latest has the smallest id, and two share one instant.
    let base = jiff::Timestamp::from_second(1_600_000_000).unwrap();
    let base_ms = u64::try_from(base.as_millisecond()).unwrap();
    let late = EntryId::from_parts(base_ms - 60_000, 7);
    let tie_b = EntryId::from_parts(base_ms, 2);
    let tie_a = EntryId::from_parts(base_ms, 1);
    {
        let mut replica = Replica::open(&data.dir).unwrap();
        let id = document_id(&account);
        for (entry, at) in [
            (late, base + jiff::SignedDuration::from_secs(1)),
            (tie_b, base),
            (tie_a, base),
        ] {
            let edit = Edit {
                user: "carol".parse().unwrap(),
                team: Team::Marketing,
                at,
            };
            let new = NewEntry {
                kind: EntryKind::Campaign,
                text: format!("entry {entry}"),
                alert: vec!["support".parse().unwrap()],
            };
            replica
                .change_account(id, &edit, |tx| account::add_entry(tx, &edit, entry, &new))
                .unwrap();
        }
    }
    let last_cli = data.id_of(["log", &account, "--kind", "call", "also now"]);

    let shown = data.show(&account);
    let expected = [
        tie_a.to_string(),
        tie_b.to_string(),
        late.to_string(),
        first_cli,
        last_cli,
    ];
    assert_eq!(ids(&shown["timeline"]), expected);
    assert!(order(&shown["timeline"]).is_sorted());
    assert_eq!(shown["timeline"][0]["at"], shown["timeline"][1]["at"]);
    assert_eq!(shown["timeline"][0]["author"], "carol");
    assert_eq!(shown["timeline"][0]["team"], "marketing");

    // The alert inbox keeps the same order.
    assert_eq!(ids(&data.alerts(false)), expected[..3]);
}
