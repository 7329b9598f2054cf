//! `deal add|move` and `task add|done`.

use serde_json::json;

use crate::support::{Data, keys, str_at, tmp};

/// The longest common prefix of two ids.
fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let len = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    &a[..len]
}

#[test]
fn deal_add_stores_minor_units_currency_stage_and_close_date() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "bo", "sales");
    let account = data.add_account("Globex", &[]);

    let added = data.json([
        "deal",
        "add",
        "Globex",
        "--title",
        "Enterprise upgrade",
        "--amount",
        "24000.50",
        "--currency",
        "usd",
        "--stage",
        "proposal",
        "--close",
        "2026-12-31",
    ]);
    assert_eq!(keys(&added), ["account", "id", "stage"]);
    assert_eq!(added["account"], account.as_str());
    assert_eq!(added["stage"], "proposal");
    let upgrade = str_at(&added, "id").to_owned();

    let defaults = data.json([
        "deal",
        "add",
        &account,
        "--title",
        "Support plan",
        "--amount",
        "99.5",
    ]);
    assert_eq!(defaults["stage"], "qualification", "the pipeline's first");
    let support = str_at(&defaults, "id").to_owned();
    let yen = data.id_of([
        "deal",
        "add",
        &account,
        "--title",
        "Tokyo office",
        "--amount",
        "120000",
        "--currency",
        "JPY",
    ]);
    let dinar = data.id_of([
        "deal",
        "add",
        &account,
        "--title",
        "Kuwait office",
        "--amount",
        "1.234",
        "--currency",
        "KWD",
        "--stage",
        "won",
    ]);

    let deals = data.show(&account)["deals"].clone();
    assert_eq!(
        deals,
        json!([
            { "id": upgrade, "title": "Enterprise upgrade", "amount": 2_400_050, "currency": "USD", "stage": "proposal", "close": "2026-12-31" },
            { "id": support, "title": "Support plan", "amount": 9_950, "currency": "EUR", "stage": "qualification", "close": null },
            { "id": yen, "title": "Tokyo office", "amount": 120_000, "currency": "JPY", "stage": "qualification", "close": null },
            { "id": dinar, "title": "Kuwait office", "amount": 1_234, "currency": "KWD", "stage": "won", "close": null },
        ])
    );
}

#[test]
fn deal_move_changes_the_stage_by_id_or_prefix() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "bo", "sales");
    let account = data.add_account("Globex", &[]);
    let deal = data.id_of([
        "deal", "add", &account, "--title", "Upgrade", "--amount", "1000",
    ]);

    let moved = data.json(["deal", "move", &deal, "negotiation"]);
    assert_eq!(
        moved,
        json!({ "id": deal, "account": account, "stage": "negotiation" })
    );
    assert_eq!(data.show(&account)["deals"][0]["stage"], "negotiation");

    let prefix = deal[..16].to_ascii_lowercase();
    let text = data.run(["deal", "move", &prefix, "won"]).ok().stdout;
    assert!(text.contains("won"), "{text}");
    let shown = data.show(&account);
    assert_eq!(shown["deals"][0]["stage"], "won");
    assert_eq!(shown["deals"][0]["amount"], 100_000, "only the stage moved");
}

#[test]
fn tasks_are_added_and_done() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "bo", "sales");
    let account = data.add_account("Globex", &[]);
    let added = data.json([
        "task",
        "add",
        "Globex",
        "Send the enterprise quote",
        "--assignee",
        "bo",
        "--due",
        "2026-12-01",
    ]);
    assert_eq!(keys(&added), ["account", "id"]);
    assert_eq!(added["account"], account.as_str());
    let quote = str_at(&added, "id").to_owned();
    let call = data.id_of(["task", "add", &account, "Call Hank"]);

    assert_eq!(
        data.show(&account)["tasks"],
        json!([
            { "id": quote, "title": "Send the enterprise quote", "assignee": "bo", "due": "2026-12-01", "done": false },
            { "id": call, "title": "Call Hank", "assignee": null, "due": null, "done": false },
        ])
    );

    let done = data.json(["task", "done", &quote]);
    assert_eq!(
        done,
        json!({ "id": quote, "account": account, "done": true })
    );
    let tasks = data.show(&account)["tasks"].clone();
    assert_eq!(tasks[0]["done"], true);
    assert_eq!(tasks[1]["done"], false);

    let prefix = call[..18].to_ascii_lowercase();
    data.run(["task", "done", &prefix]).ok();
    assert_eq!(data.show(&account)["tasks"][1]["done"], true);
    // Done twice is still done, and still succeeds.
    data.run(["task", "done", &call]).ok();
    assert_eq!(data.show(&account)["tasks"][1]["done"], true);
}

/// DEAL is "a deal id or unique prefix": a prefix that only one deal has must do, even when a
/// task (or contact, or note) id starts the same way.
#[test]
fn deal_move_accepts_a_prefix_only_one_deal_has() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "bo", "sales");
    let account = data.add_account("Globex", &[]);
    let deal = data.id_of([
        "deal", "add", &account, "--title", "Upgrade", "--amount", "1000",
    ]);
    let task = data.id_of(["task", "add", &account, "Send the quote"]);
    let prefix = common_prefix(&deal, &task);
    assert!(!prefix.is_empty() && prefix.len() < deal.len());

    let moved = data.run_json(["deal", "move", prefix, "won"]);
    assert_eq!(
        moved.code,
        Some(0),
        "only one deal starts with {prefix}, yet: {}",
        moved.stderr
    );
    assert_eq!(data.show(&account)["deals"][0]["stage"], "won");
}

/// TASK is "a task id or unique prefix", whatever other items share the prefix.
#[test]
fn task_done_accepts_a_prefix_only_one_task_has() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "bo", "sales");
    let account = data.add_account("Globex", &[]);
    let task = data.id_of(["task", "add", &account, "Send the quote"]);
    let note = data.id_of(["note", "add", &account, "Quote requested"]);
    let prefix = common_prefix(&task, &note);
    assert!(!prefix.is_empty() && prefix.len() < task.len());

    let done = data.run_json(["task", "done", prefix]);
    assert_eq!(
        done.code,
        Some(0),
        "only one task starts with {prefix}, yet: {}",
        done.stderr
    );
    assert_eq!(data.show(&account)["tasks"][0]["done"], true);
}
