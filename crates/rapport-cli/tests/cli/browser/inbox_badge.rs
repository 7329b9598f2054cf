//! Alerts as they reach an open page: the toast says in words why each is mine, and the Alerts
//! badge counts my due tasks with my unacknowledged alerts, kept current without a reload.

use serde_json::json;

use super::{Browser, LocalNode, Page, TwoTeams, strings};

/// The badge as shown: its number, then the alerts and due tasks it adds up.
fn badge(page: &Page<'_>) -> Vec<String> {
    strings(&page.script(
        "const badge = document.getElementById('alert-count');
         return [badge.textContent, badge.dataset.alerts ?? '', badge.dataset.due ?? ''];",
        vec![],
    ))
}

/// The UTC date `days` from today, as `--due` takes it.
fn utc_day(days: i32) -> String {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_add(jiff::Span::new().days(days))
        .expect("a date near today")
        .to_string()
}

#[test]
fn a_toast_says_why_the_alert_is_mine_and_the_badge_counts_due_tasks_and_alerts_live() {
    let team = TwoTeams::start();
    let (sam, sue, globex) = (&team.sales, &team.support, team.account.as_str());
    sue.run(["account", "set", globex, "tier=gold", "owner=sam"])
        .ok();
    sue.add_rule(
        "gold-tickets",
        &["--when-kind", "ticket", "--when-tier", "gold"],
        "owner",
    );
    let overdue = sue.id_of([
        "task",
        "add",
        globex,
        "Send the renewal quote",
        "--assignee",
        "sam",
        "--due",
        &utc_day(-1),
    ]);
    sue.id_of([
        "task",
        "add",
        globex,
        "Plan the kickoff",
        "--assignee",
        "sam",
        "--due",
        &utc_day(7),
    ]);
    sue.sync().ok();
    sam.json(["account", "follow", globex]);
    sam.sync().ok();
    sue.sync().ok();

    let node = LocalNode::start(sam);
    let browser = Browser::start("inbox-badge");
    let page = browser.open("sales", &node.url);
    page.wait_for_status("online");
    page.wait_for("a badge of one due task (next week's is not due)", |page| {
        badge(page) == ["1", "0", "1"]
    });

    // A task due today arrives by sync.
    sue.id_of([
        "task",
        "add",
        globex,
        "Call Hank",
        "--assignee",
        "sam",
        "--due",
        &utc_day(0),
    ]);
    sue.sync().ok();
    page.wait_for("a badge of two due tasks", |page| {
        badge(page) == ["2", "0", "2"]
    });
    assert_eq!(
        page.script(
            "return document.getElementById('alert-count').title;",
            vec![]
        ),
        json!("0 unacknowledged alerts, 2 due tasks")
    );
    page.screenshot("badge-two-due-tasks");

    // A ticket that mentions sam, on the gold account he owns and follows.
    let text = "@sam the login page is down";
    sue.id_of(["log", globex, "--kind", "ticket", text]);
    sue.sync().ok();
    page.wait_for("a toast for the ticket", |page| {
        page.toasts().iter().any(|toast| toast.contains(text))
    });
    page.screenshot("toast-why");
    assert_eq!(
        page.text("#toasts .toast .toast-why").as_deref(),
        Some("Why: mentioned you · you follow Globex · rule gold-tickets")
    );
    page.wait_for("a badge of one alert and two due tasks", |page| {
        badge(page) == ["3", "1", "2"]
    });

    // What the inbox settles leaves the badge.
    page.click("a[href='#/alerts']");
    let done = format!("#due-tasks li[data-task-id=\"{overdue}\"] button");
    page.wait_for("the overdue task in the inbox", |page| page.visible(&done));
    page.click(&done);
    page.wait_for("a badge of one alert and one due task", |page| {
        badge(page) == ["2", "1", "1"]
    });
    page.click("#ack-all");
    page.wait_for("a badge of one due task", |page| {
        badge(page) == ["1", "0", "1"]
    });
    page.screenshot("badge-after-done-and-ack");
    assert!(page.never_reloaded(), "the page was not reloaded");
}
