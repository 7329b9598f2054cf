//! Reminders: a member's open tasks due today or overdue, in `rapport alerts` and `rapport task
//! list --mine --due`; follow-ups from `note add --follow-up`; and the teams' views of `account
//! list --team`. The two-member tests sync through the real relay.

use jiff::civil::Date;
use serde_json::{Value, json};

use crate::errors::rejected;
use crate::processes::RelayServer;
use crate::support::{Data, array, ids, str_at, tmp};

/// Today as the binary counts it: the UTC date.
fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

fn days_from_today(days: i64) -> String {
    today()
        .checked_add(jiff::Span::new().days(days))
        .expect("a date near today")
        .to_string()
}

/// ana (sales) and bo (support), members of one workspace on a running relay.
fn ana_and_bo(tmp: &tempfile::TempDir) -> (RelayServer, Data, Data) {
    let store = Data::at(tmp.path().join("relay"));
    let (ana_token, bo_token) = (
        store.invite("ana", "sales", "member"),
        store.invite("bo", "support", "member"),
    );
    let relay = RelayServer::start(&store);
    let ana = Data::join_relay(tmp.path().join("ana"), &relay.url, &ana_token);
    let bo = Data::join_relay(tmp.path().join("bo"), &relay.url, &bo_token);
    (relay, ana, bo)
}

fn task_of<'a>(account: &'a Value, task: &str) -> &'a Value {
    array(&account["tasks"])
        .iter()
        .find(|t| t["id"] == task)
        .unwrap_or_else(|| panic!("task {task} should be on {account:#}"))
}

#[test]
fn a_task_for_bo_due_yesterday_reminds_bo_after_sync_and_not_ana_until_bo_completes_it() {
    let tmp = tmp();
    let (_relay, ana, bo) = ana_and_bo(&tmp);
    let account = ana.add_account("Globex", &[]);
    let yesterday = days_from_today(-1);
    let task = ana.id_of([
        "task",
        "add",
        &account,
        "Send the renewal quote",
        "--assignee",
        "bo",
        "--due",
        &yesterday,
    ]);
    let upcoming = ana.id_of([
        "task",
        "add",
        &account,
        "Quarterly review",
        "--assignee",
        "bo",
        "--due",
        &days_from_today(7),
    ]);
    assert_eq!(ana.reminders(), json!([]), "the task is bo's, not ana's");
    assert_eq!(bo.reminders(), json!([]), "nothing synced yet");

    ana.sync().ok();
    bo.sync().ok();
    let reminders = bo.reminders();
    assert_eq!(
        reminders,
        json!([{
            "id": task,
            "account": account,
            "account_name": "Globex",
            "title": "Send the renewal quote",
            "due": yesterday,
            "days_overdue": 1,
        }]),
        "the task for next week is no reminder"
    );
    assert_eq!(ana.reminders(), json!([]));
    assert_eq!(bo.json(["task", "list", "--mine", "--due"]), reminders);
    let mine = bo.json(["task", "list", "--mine"]);
    assert_eq!(ids(&mine), [task.as_str(), upcoming.as_str()]);
    assert_eq!(mine[1]["days_overdue"], Value::Null);
    assert_eq!(ana.json(["task", "list", "--mine"]), json!([]));
    let inbox = bo.run(["alerts"]).ok().stdout;
    assert!(
        inbox.contains("Due tasks:")
            && inbox.contains("1 day overdue")
            && inbox.contains("Globex: Send the renewal quote"),
        "{inbox}"
    );
    assert!(!inbox.contains("Quarterly review"), "{inbox}");

    bo.run(["task", "done", &task]).ok();
    assert_eq!(bo.reminders(), json!([]), "done on bo's replica at once");
    bo.sync().ok();
    ana.sync().ok();
    assert_eq!(task_of(&ana.show(&account), &task)["done"], true);
    assert_eq!(ana.reminders(), json!([]));
    assert_eq!(bo.reminders(), json!([]));
    assert_eq!(
        ids(&bo.json(["task", "list", "--mine"])),
        [upcoming.as_str()]
    );
    assert_eq!(bo.run(["alerts"]).ok().stdout.trim(), "no alerts");
}

#[test]
fn a_follow_up_gives_the_author_a_task_due_then_that_reminds_only_once_due() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let account = ana.add_account("Globex", &[]);

    let created = ana.json([
        "note",
        "add",
        &account,
        "Asked for a discount on 50 seats\nand a pilot",
        "--follow-up",
        "3d",
    ]);
    let in_three_days = days_from_today(3);
    assert_eq!(created["follow_up"]["due"], in_three_days.as_str());
    assert_eq!(created["follow_up"]["assignee"], "ana");
    let task = str_at(&created["follow_up"], "id").to_owned();
    let shown = ana.show(&account);
    assert_eq!(shown["timeline"][0]["id"], created["id"]);
    assert_eq!(
        task_of(&shown, &task),
        &json!({
            "id": task,
            "title": "Follow up: Asked for a discount on 50 seats",
            "assignee": "ana",
            "due": in_three_days,
            "done": false,
        })
    );
    assert_eq!(ana.reminders(), json!([]), "not due for three days");
    assert_eq!(ana.json(["task", "list", "--mine", "--due"]), json!([]));
    assert_eq!(ids(&ana.json(["task", "list", "--mine"])), [task.as_str()]);

    // A date, and today itself: due today is a reminder, overdue by no day.
    let on_date = days_from_today(20);
    let dated = ana.json([
        "note",
        "add",
        &account,
        "Pilot ends",
        "--follow-up",
        &on_date,
    ]);
    assert_eq!(dated["follow_up"]["due"], on_date.as_str());
    let now = ana.json(["note", "add", &account, "Call back", "--follow-up", "0d"]);
    let reminders = ana.reminders();
    assert_eq!(ids(&reminders), [str_at(&now["follow_up"], "id")]);
    assert_eq!(reminders[0]["days_overdue"], 0);
    assert_eq!(reminders[0]["due"], today().to_string().as_str());
    let text = ana.run(["task", "list", "--mine"]).ok().stdout;
    assert!(
        text.contains("(due today)") && text.contains("(upcoming)"),
        "{text}"
    );
}

#[test]
fn bad_follow_ups_and_due_dates_are_refused_and_change_nothing() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let account = ana.add_account("Globex", &[]);
    let yesterday = days_from_today(-1);
    for bad in [
        "3w",
        "-1d",
        "03d",
        "3651d",
        "2026-13-01",
        "2026-2-3",
        yesterday.as_str(),
    ] {
        rejected(
            &ana,
            &["note", "add", &account, "Hello", "--follow-up", bad],
            &["invalid follow-up", bad],
        );
    }
    rejected(
        &ana,
        &["note", "add", &account, " ", "--follow-up", "3d"],
        &["note text must not be empty"],
    );
    rejected(
        &ana,
        &["task", "add", &account, "Call", "--due", "2026-02-30"],
        &["invalid date '2026-02-30'"],
    );
    ana.run(["task", "list"]).refused_with(&["--mine"]);
    assert_eq!(ana.show(&account)["tasks"], json!([]));
    assert_eq!(ana.json(["task", "list", "--mine"]), json!([]));
}

#[test]
fn account_list_for_a_team_shows_that_teams_columns() {
    let tmp = tmp();
    let cy = Data::init(tmp.path().join("cy"), "cy", "support");
    let globex = cy.add_account("Globex", &["--owner", "ana", "--stage", "customer"]);
    let initech = cy.add_account("Initech", &["--tier", "gold"]);
    cy.run(["log", &globex, "--kind", "ticket", "Invoice dispute"])
        .ok();
    cy.run(["log", &initech, "--kind", "ticket", "Login fails"])
        .ok();
    cy.run(["note", "add", &initech, "Fixed the login"]).ok();
    cy.run([
        "deal", "add", &globex, "--title", "Renewal", "--amount", "1200",
    ])
    .ok();
    let day = today().to_string();

    let support = cy.run(["account", "list", "--team", "support"]).ok().stdout;
    let lines: Vec<Vec<&str>> = support
        .lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        lines[0],
        [
            "ID",
            "NAME",
            "OPEN TICKET SINCE",
            "LAST SUPPORT TOUCH",
            "CONTACTS"
        ],
        "{support}"
    );
    assert_eq!(
        lines[1],
        [globex.as_str(), "Globex", &day, "-", "0"],
        "{support}"
    );
    assert_eq!(
        lines[2],
        [initech.as_str(), "Initech", "-", &day, "0"],
        "{support}"
    );
    assert_eq!(lines[3], ["2 account(s), support view"]);

    let sales = cy.run(["account", "list", "--team", "sales"]).ok().stdout;
    let header = sales.lines().next().unwrap_or_default();
    for column in ["OWNER", "STAGE", "OPEN DEALS", "OPEN VALUE"] {
        assert!(header.contains(column), "{sales}");
    }
    assert!(!header.contains("TICKET"), "{sales}");
    let globex_line = sales
        .lines()
        .find(|l| l.contains("Globex"))
        .unwrap_or_default();
    assert!(
        globex_line.contains("ana")
            && globex_line.contains("customer")
            && globex_line.contains("1200.00 EUR"),
        "{sales}"
    );

    let rows = cy.json(["account", "list", "--team", "support", "--query", "login"]);
    assert_eq!(ids(&rows), [initech.as_str()]);
    assert_eq!(rows[0]["open_ticket"], Value::Null);
    assert_eq!(rows[0]["tier"], "gold");
    assert!(rows[0]["last_support_touch"].is_string(), "{rows:#}");
}
