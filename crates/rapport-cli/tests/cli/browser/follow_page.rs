//! Following an account from its page, and the inbox saying why an alert is there.

use super::{Browser, LocalNode, TwoTeams, account_page};

#[test]
fn following_from_the_account_page_brings_a_ticket_to_the_inbox_marked_following() {
    let team = TwoTeams::start();
    let node = LocalNode::start(&team.sales);
    let browser = Browser::start("follow");
    let sales = browser.open("sales", &account_page(&node, &team.account));
    sales.wait_for_status("online");
    sales.wait_for("Globex's page, not followed", |page| {
        page.text("#account-name").as_deref() == Some("Globex")
            && page.text("#follow-button").as_deref() == Some("Follow")
    });
    assert_eq!(
        sales.text("#account-followers").as_deref(),
        Some("No followers")
    );

    sales.click("#follow-button");
    sales.wait_for("the page to show sam following", |page| {
        page.count("#follow-button[data-following=true]") == 1
            && page.text("#account-followers").as_deref() == Some("Followed by sam")
    });
    assert_eq!(sales.text("#follow-button").as_deref(), Some("Unfollow"));
    sales.screenshot("account-followed");
    sales.wait_for("the follow to reach the relay", |page| page.unsynced() == 0);
    team.support.sync().ok();
    assert_eq!(team.support.show(&team.account)["followers"][0], "sam");

    let ticket = team
        .support
        .id_of(["log", &team.account, "--kind", "ticket", "Login page down"]);
    team.support.sync().ok();
    sales.click("a[href='#/alerts']");
    let reason =
        format!(".alert-item[data-alert-id='{ticket}'] .badge.reason[data-reason=following]");
    sales.wait_for("the ticket in the inbox, marked following", |page| {
        page.count(&reason) == 1
    });
    assert_eq!(sales.text(&reason).as_deref(), Some("Following"));
    sales.screenshot("inbox-following");
    assert!(sales.never_reloaded(), "the page was not reloaded");
}
