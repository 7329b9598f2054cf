//! The web UI in a real browser: Debian's Chromium driven through WebDriver by chromedriver,
//! against `rapport ui` nodes whose replicas sync through `rapport relay serve`. Without
//! `/usr/bin/chromium` and `/usr/bin/chromedriver` these tests fail, saying to install the
//! Debian packages `chromium chromium-driver`; they never skip, and never download a browser.
//!
//! Each test runs its own chromedriver on a free loopback port and one headless browser
//! session per page, each with a fresh profile; all are closed and killed when the test ends,
//! by a panic too. The tests are synchronous like the others here: a [`Browser`] keeps a small
//! tokio runtime of its own to drive the WebDriver client. Pages are read with small scripts
//! (one round trip, never a stale element) and used as a person would: clicks and keystrokes.
//! Screenshots of the key moments, and of any page a wait gave up on, go to
//! `target/browser-screenshots/`.

use std::ffi::OsStr;

use tempfile::TempDir;

use crate::processes::{PATIENCE, RelayServer, Spawned};
use crate::support::{Data, tmp};

mod driver;
use driver::{Browser, Page, strings};

mod custom_fields_page;
mod due_tasks;
mod duplicate_contacts;
mod follow_page;
mod inbox_badge;
mod reports_page;
mod segments_page;

#[test]
fn a_note_with_an_alert_written_on_the_support_page_appears_live_on_the_sales_page() {
    let team = TwoTeams::start();
    let sales_node = LocalNode::start(&team.sales);
    let support_node = LocalNode::start(&team.support);
    let browser = Browser::start("alert");
    let sales = browser.open("sales", &sales_node.url);
    let support = browser.open("support", &support_node.url);
    sales.wait_for_status("online");
    support.wait_for_status("online");

    let row = row_of(&team.account);
    support.wait_for("Globex in the account list", |page| page.count(&row) == 1);
    support.click(&row);
    support.wait_for("Globex's page", |page| {
        page.text("#account-name").as_deref() == Some("Globex")
    });
    let text = "Customer asked about the enterprise plan";
    support.type_into("#entry-text", text);
    support.click("input[name=alert-team][value=sales]");
    support.click("#entry-submit");
    support.wait_for("the note in support's timeline", |page| {
        page.teams_of_entry(text) == ["support"]
    });
    support.screenshot("support-account-with-note");

    // The toast stays 8 seconds: look for it before anything else.
    sales.wait_for("a toast with the note", |page| {
        page.toasts().iter().any(|toast| toast.contains(text))
    });
    sales.screenshot("sales-toast");
    let toast = sales.toasts().join("\n");
    assert!(toast.contains("sue"), "the toast names the author: {toast}");
    assert!(
        toast.contains("Globex"),
        "the toast names the account (the `alert` event carries `account_name`, as in \
         /api/alerts): {toast}"
    );
    sales.wait_for("an alert count of 1", |page| {
        page.text("#alert-count").as_deref() == Some("1")
    });
    sales.click(&row);
    sales.wait_for("support's note in the sales timeline", |page| {
        page.teams_of_entry(text) == ["support"]
    });
    sales.screenshot("sales-account-with-support-note");
    assert!(sales.never_reloaded(), "the sales page was not reloaded");
}

#[test]
fn editing_offline_works_and_syncs_when_the_relay_returns() {
    let TwoTeams {
        store,
        relay,
        sales: sam,
        support: sue,
        account,
        tmp: _tmp,
    } = TwoTeams::start();
    let sales_node = LocalNode::start(&sam);
    let support_node = LocalNode::start(&sue);
    let browser = Browser::start("offline");
    let sales = browser.open("sales", &account_page(&sales_node, &account));
    let support = browser.open("support", &account_page(&support_node, &account));
    for page in [&sales, &support] {
        page.wait_for_status("online");
        page.wait_for("Globex's page", |page| {
            page.text("#account-name").as_deref() == Some("Globex")
        });
    }

    let address = relay.address().to_owned();
    relay.terminate(PATIENCE).ok();
    sales.wait_for_status("offline");
    sales.screenshot("sales-offline");
    let text = "Renewal call booked while the relay was down";
    sales.type_into("#entry-text", text);
    sales.click("#entry-submit");
    sales.wait_for("the offline note in sales' timeline", |page| {
        page.teams_of_entry(text) == ["sales"]
    });
    sales.wait_for("a count of unsynced changes", |page| page.unsynced() > 0);
    assert_eq!(sales.status(), "offline");
    sales.screenshot("sales-offline-note-unsynced");

    let _relay = RelayServer::start_on(&store, &address);
    sales.wait_for_status("online");
    sales.wait_for("no unsynced changes", |page| page.unsynced() == 0);
    support.wait_for("sales' note in support's timeline", |page| {
        page.teams_of_entry(text) == ["sales"]
    });
    support.screenshot("support-after-the-relay-returned");
    assert!(sales.never_reloaded(), "the sales page was not reloaded");
    assert!(
        support.never_reloaded(),
        "the support page was not reloaded"
    );
}

#[test]
fn search_finds_an_account_by_a_word_in_one_of_its_notes() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("sam"), "sam", "sales");
    let [globex, _initech, umbrella, hooli, _vandelay] =
        ["Globex", "Initech", "Umbrella", "Hooli", "Vandelay"]
            .map(|name| data.add_account(name, &[]));
    for (account, note) in [
        (&umbrella, "Wants to sponsor the zeppelin race in June"),
        (&hooli, "Asked for zebra stripes on the invoice"),
        (&globex, "Renewal call booked for March"),
    ] {
        data.id_of(["note", "add", account, note]);
    }
    let node = LocalNode::start(&data);
    let browser = Browser::start("search");
    let page = browser.open("sales", &node.url);
    page.wait_for("all five accounts listed", |page| page.rows().len() == 5);

    page.type_into("#search", "zepp");
    page.wait_for("Umbrella alone listed", |page| {
        page.rows() == [umbrella.as_str()]
    });
    page.screenshot("search-zepp");
    page.type_into("#search", "\u{e003}\u{e003}");
    page.wait_for("Umbrella and Hooli listed for 'ze'", |page| {
        let mut rows = page.rows();
        rows.sort_unstable();
        let mut expected = [umbrella.clone(), hooli.clone()];
        expected.sort_unstable();
        rows == expected
    });
}

#[test]
fn keeping_one_of_two_duplicates_moves_the_others_timeline_to_it() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("sam"), "sam", "sales");
    let keep = data.add_account("Acme", &["--domain", "acme.com"]);
    let other = data.add_account("Acme Holdings", &["--domain", "https://www.acme.com"]);
    data.add_account("Initech", &["--domain", "initech.com"]);
    let note = data.id_of(["note", "add", &other, "Asked for a quote"]);
    let node = LocalNode::start(&data);
    let browser = Browser::start("duplicates");
    let page = browser.open("sales", &format!("{}#/duplicates", node.url));
    let pair = "#duplicate-accounts .duplicate-pair";
    page.wait_for("one pair of accounts listed", |page| page.count(pair) == 1);
    let shown = page.text(pair).unwrap_or_default();
    assert!(shown.contains("Same domain acme.com"), "{shown}");
    assert!(!shown.contains("Initech"), "{shown}");
    page.screenshot("pair");

    page.click(&format!(".merge-button[data-keep=\"{keep}\"]"));
    page.wait_for("the pair gone once merged", |page| {
        page.count(pair) == 0
            && page
                .text("#duplicate-accounts")
                .is_some_and(|text| text.contains("No accounts look alike"))
    });
    page.screenshot("merged");
    let notices = page.text("#notices").unwrap_or_default();
    assert!(
        notices.contains("Merged Acme Holdings into Acme (1 item moved)"),
        "{notices}"
    );

    // The merged account's address now shows the kept account, with the note it had.
    let merged = browser.open("merged", &account_page(&node, &other));
    let entry = format!(".entry[data-entry-id=\"{note}\"]");
    merged.wait_for("the note on the kept account's page", |page| {
        page.count(&entry) == 1 && page.text("#account-name").as_deref() == Some("Acme")
    });
}

#[test]
fn a_viewer_sees_the_account_and_is_offered_no_way_to_change_it() {
    let team = TwoTeams::start();
    // Invited while the relay runs: the invitation goes through its admin endpoint.
    let vic = team.store.invite("vic", "marketing", "viewer");
    let viewer = Data::join_relay(team.tmp.path().join("vic"), &team.relay.url, &vic);
    let node = LocalNode::start(&viewer);
    let browser = Browser::start("viewer");
    let page = browser.open("viewer", &account_page(&node, &team.account));
    page.wait_for_status("online");
    page.wait_for("Globex's page", |page| {
        page.text("#account-name").as_deref() == Some("Globex")
    });
    page.wait_for("the read-only pill", |page| page.count(".read-only") == 1);
    page.screenshot("viewer-account");
    for control in ["#entry-text", "#entry-submit"] {
        assert!(!page.visible(control), "{control} is hidden from a viewer");
    }
    page.script("location.hash = '#/accounts';", vec![]);
    page.wait_for("Globex in the account list", |page| {
        page.count(&row_of(&team.account)) == 1
    });
    assert_eq!(
        page.visible_count("button.write-only, .write-only button"),
        0
    );
}

#[test]
fn the_history_shows_who_changed_what_and_another_replicas_change_arrives_live() {
    let team = TwoTeams::start();
    let sales_node = LocalNode::start(&team.sales);
    let browser = Browser::start("history");
    let sales = browser.open("sales", &account_page(&sales_node, &team.account));
    sales.wait_for_status("online");
    sales.wait_for("sue's creation of Globex in the history", |page| {
        page.history()
            == [change(
                "sue",
                &[
                    "Created the account Globex",
                    "Stage: (empty) → lead",
                    "Domain: (empty) → globex.com",
                ],
            )]
    });

    let text = "Renewal call booked for March";
    sales.type_into("#entry-text", text);
    sales.click("#entry-submit");
    sales.wait_for("sam's note at the top of the history", |page| {
        page.history().first() == Some(&change("sam", &[&format!("Note added (sales): {text}")]))
    });

    // sue, on her own replica, moves the stage and sets a field; the relay brings it here.
    team.support
        .run([
            "account",
            "set",
            &team.account,
            "stage=prospect",
            "custom.region=emea",
        ])
        .ok();
    team.support.sync().ok();
    sales.wait_for("sue's change at the top of the history", |page| {
        page.history().first()
            == Some(&change(
                "sue",
                &["Stage: lead → prospect", "region: (empty) → emea"],
            ))
    });
    assert_eq!(
        sales.history().len(),
        3,
        "newest first: {:?}",
        sales.history()
    );
    sales.script(
        "document.getElementById('history-title').scrollIntoView(); return null;",
        vec![],
    );
    sales.screenshot("account-history");
    assert!(sales.never_reloaded(), "the sales page was not reloaded");
}

/// One change as the history shows it: its author and the text of each of its edits.
fn change(author: &str, edits: &[&str]) -> (String, Vec<String>) {
    (
        author.to_owned(),
        edits.iter().map(|e| (*e).to_owned()).collect(),
    )
}

/// A relay with two members who joined it, sam of sales and sue of support, and one account
/// that sue made and both replicas hold: "Globex".
struct TwoTeams {
    store: Data,
    relay: RelayServer,
    sales: Data,
    support: Data,
    account: String,
    /// Last, so that it is deleted after the processes above are gone.
    tmp: TempDir,
}

impl TwoTeams {
    fn start() -> Self {
        let tmp = tmp();
        let store = Data::at(tmp.path().join("relay"));
        let sam = store.invite("sam", "sales", "member");
        let sue = store.invite("sue", "support", "member");
        let relay = RelayServer::start(&store);
        let sales = Data::join_relay(tmp.path().join("sam"), &relay.url, &sam);
        let support = Data::join_relay(tmp.path().join("sue"), &relay.url, &sue);
        let account = support.add_account("Globex", &["--domain", "globex.com"]);
        support.sync().ok();
        sales.sync().ok();
        assert_eq!(sales.account_ids(), [account.as_str()]);
        Self {
            store,
            relay,
            sales,
            support,
            account,
            tmp,
        }
    }
}

/// The CSS selector of an account's row in the list.
fn row_of(account: &str) -> String {
    format!("tr[data-account-id=\"{account}\"]")
}

/// The address of an account's page on `node`.
fn account_page(node: &LocalNode, account: &str) -> String {
    format!("{}#/accounts/{account}", node.url)
}

/// `rapport ui` on a replica, serving the web UI on a loopback port of its own choosing;
/// killed when dropped.
struct LocalNode {
    url: String,
    _process: Spawned,
}

impl LocalNode {
    #[track_caller]
    fn start(data: &Data) -> Self {
        let process = Spawned::start([
            OsStr::new("--data"),
            data.dir.as_os_str(),
            OsStr::new("ui"),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
        ]);
        // "Rapport for USER (TEAM): URL"
        let first = process.next_line(PATIENCE);
        let url = first
            .rsplit_once(": ")
            .map(|(_, url)| url.to_owned())
            .unwrap_or_else(|| panic!("`rapport ui` should print its address first: {first}"));
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Self {
            url,
            _process: process,
        }
    }
}
