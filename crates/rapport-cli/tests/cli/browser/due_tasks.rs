//! The inbox's "Due tasks" in a real browser, with its Done button, and the account list
//! switched to another team's view.

use serde_json::json;

use super::{Browser, LocalNode, Page, account_page, strings};
use crate::support::{Data, array, ids, tmp};

/// The headers of the account list's columns, left to right.
fn headers(page: &Page<'_>) -> Vec<String> {
    strings(&page.script(
        "return [...document.querySelectorAll('.accounts-table thead th')].map((th) => th.textContent);",
        vec![],
    ))
}

/// The text of the cells of an account's row.
fn cells(page: &Page<'_>, account: &str) -> Vec<String> {
    strings(&page.script(
        "return [...document.querySelectorAll(`tr[data-account-id=\"${arguments[0]}\"] td`)]
             .map((td) => td.textContent);",
        vec![json!(account)],
    ))
}

#[test]
fn a_due_task_is_done_from_the_inbox_and_the_account_list_switches_to_supports_view() {
    let tmp = tmp();
    let sam = Data::init(tmp.path().join("sam"), "sam", "sales");
    let globex = sam.add_account("Globex", &["--owner", "sam", "--stage", "customer"]);
    let initech = sam.add_account("Initech", &["--tier", "gold"]);
    let yesterday = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .yesterday()
        .expect("a yesterday")
        .to_string();
    let task = sam.id_of([
        "task",
        "add",
        &globex,
        "Send the renewal quote",
        "--assignee",
        "sam",
        "--due",
        &yesterday,
    ]);
    sam.run(["log", &globex, "--kind", "ticket", "Invoice dispute"])
        .ok();
    sam.run([
        "deal", "add", &initech, "--title", "Pilot", "--amount", "5000",
    ])
    .ok();

    let node = LocalNode::start(&sam);
    let browser = Browser::start("due-tasks");
    let page = browser.open("sales", &format!("{}#/alerts", node.url));
    let item = format!("#due-tasks li[data-task-id=\"{task}\"]");
    page.wait_for("the task under Due tasks", |page| page.visible(&item));
    let shown = page.text(&item).unwrap_or_default();
    assert!(
        shown.contains("Globex")
            && shown.contains("Send the renewal quote")
            && shown.contains("1 day overdue"),
        "{shown}"
    );
    page.screenshot("inbox-due-task");
    page.click(&format!("{item} button"));
    page.wait_for("the task gone from the inbox", |page| {
        page.count(&item) == 0 && !page.visible("#due-tasks")
    });
    page.screenshot("inbox-after-done");

    // A note with a follow-up for today, from the account's page, is a due task at once.
    page.run(
        "opening Globex".to_owned(),
        page.client.goto(&account_page(&node, &initech)),
    );
    page.wait_for("Initech's note form", |page| {
        page.visible("#entry-follow-up")
    });
    page.type_into("#entry-text", "Hank wants a pilot");
    page.type_into("#entry-follow-up", "0d");
    page.click("#entry-submit");
    page.wait_for("the follow-up's notice", |page| {
        page.text("#notices")
            .is_some_and(|t| t.contains("Follow-up task due"))
    });
    page.click("a[href=\"#/alerts\"]");
    page.wait_for("the follow-up under Due tasks", |page| {
        page.text("#due-tasks")
            .is_some_and(|t| t.contains("Follow up: Hank wants a pilot") && t.contains("Due today"))
    });

    page.click("a[href=\"#/accounts\"]");
    page.wait_for("both accounts in sales' view", |page| {
        page.rows().len() == 2
    });
    assert_eq!(
        headers(&page),
        [
            "Name",
            "Owner",
            "Stage",
            "Open deals",
            "Open value",
            "Score"
        ]
    );
    let initech_cells = cells(&page, &initech);
    assert_eq!(initech_cells[3], "1", "{initech_cells:?}");
    assert!(initech_cells[4].contains("5,000.00"), "{initech_cells:?}");
    assert!(!page.visible("#filter-open-ticket"));

    page.click("#team-view option[value=\"support\"]");
    page.wait_for("support's columns", |page| {
        headers(page)
            == [
                "Name",
                "Open ticket since",
                "Last support touch",
                "Contacts",
                "Owner",
                "Score",
            ]
    });
    let globex_cells = cells(&page, &globex);
    assert_ne!(
        globex_cells[1], "—",
        "Globex has an open ticket: {globex_cells:?}"
    );
    assert_eq!(cells(&page, &initech)[1], "—");
    page.click("#filter-open-ticket");
    page.wait_for("only the account with an open ticket", |page| {
        page.rows() == [globex.as_str()]
    });
    page.screenshot("accounts-support-view");

    // The dashboard opens on sam's team, sales, whose ticket is its latest entry.
    page.click("a[href=\"#/dashboard\"]");
    page.wait_for("sales' latest entries", |page| {
        page.text("#recent-entries")
            .is_some_and(|t| t.contains("Invoice dispute"))
    });
    page.click("#dashboard-team option[value=\"marketing\"]");
    page.wait_for("marketing's latest entries: none", |page| {
        page.text("#recent-entries")
            .is_some_and(|t| t.contains("No timeline entries"))
    });
    page.script(
        "document.querySelector('#recent-entries').scrollIntoView(); return null;",
        vec![],
    );
    page.screenshot("dashboard-marketing");
    drop(page);
    drop(node);

    let due = sam.json(["task", "list", "--mine", "--due"]);
    assert_eq!(due[0]["title"], "Follow up: Hank wants a pilot");
    assert_eq!(due[0]["account"], initech.as_str());
    assert_eq!(array(&due).len(), 1, "{due:#}");
    let tasks = sam.show(&globex)["tasks"].clone();
    assert_eq!(ids(&tasks), [task.as_str()]);
    assert_eq!(tasks[0]["done"], true, "the Done button completed the task");
}
