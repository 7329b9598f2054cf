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

use std::cell::Cell;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::future::Future;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::runtime::Runtime;

use crate::processes::{PATIENCE, RelayServer, Spawned};
use crate::support::{Data, tmp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const INSTALL: &str = "the browser tests need Debian's Chromium and its WebDriver: \
                       install them with `apt-get install chromium chromium-driver`";

/// How long one WebDriver command (a click, a script) may take.
const COMMAND: Duration = Duration::from_secs(30);

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

/// One chromedriver, and the runtime that drives its sessions. Dropped, it kills chromedriver
/// and every process it started (they share its process group).
struct Browser {
    scenario: &'static str,
    webdriver: String,
    driver: Child,
    runtime: Runtime,
    sessions: Cell<usize>,
    /// The browsers' profiles and chromedriver's log.
    dir: TempDir,
}

impl Browser {
    /// Starts chromedriver for the test `scenario` (the prefix of its screenshots' names).
    fn start(scenario: &'static str) -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).is_file(),
                "{program} is missing: {INSTALL}"
            );
        }
        let dir = tmp();
        let log = File::create(dir.path().join("chromedriver.log")).expect("a log file");
        let port = free_port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log);
        own_process_group(&mut command);
        let driver = command
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start ({e}): {INSTALL}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let browser = Self {
            scenario,
            webdriver: format!("http://127.0.0.1:{port}"),
            driver,
            runtime,
            sessions: Cell::new(0),
            dir,
        };
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within {PATIENCE:?}; its log:\n{}",
                browser.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
        browser
    }

    /// A new headless browser session with a fresh profile, showing `url`; `label` names the
    /// page in messages and screenshots.
    fn open(&self, label: &'static str, url: &str) -> Page<'_> {
        let number = self.sessions.replace(self.sessions.get() + 1);
        let profile = self.dir.path().join(format!("profile-{number}"));
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,900",
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are an object")
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = match self.within(PATIENCE, builder.connect(&self.webdriver)) {
            Some(Ok(client)) => client,
            Some(Err(e)) => panic!(
                "chromedriver could not start {CHROMIUM}: {e}\nchromedriver's log:\n{}",
                self.log()
            ),
            None => panic!(
                "chromedriver started no browser within {PATIENCE:?}; its log:\n{}",
                self.log()
            ),
        };
        let page = Page {
            browser: self,
            client,
            label,
        };
        page.run(format!("opening {url}"), page.client.goto(url));
        page.script("window.rapportTestPage = true; return null;", vec![]);
        page
    }

    /// Runs `future` to its end, unless that takes longer than `limit`.
    fn within<T>(&self, limit: Duration, future: impl Future<Output = T>) -> Option<T> {
        self.runtime
            .block_on(async { tokio::time::timeout(limit, future).await.ok() })
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The pages closed their sessions when they were dropped (they borrow the browser);
        // whatever is left of the browsers goes with chromedriver's process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[cfg(unix)]
fn own_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
fn own_process_group(_command: &mut Command) {}

/// A loopback port nobody listens on (for chromedriver, which takes no port 0).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// One browser session showing one page of the UI; dropped, it closes the browser.
struct Page<'b> {
    browser: &'b Browser,
    client: Client,
    label: &'static str,
}

impl Page<'_> {
    /// Runs one WebDriver command, panicking with `what` if it fails or hangs.
    fn run<T>(&self, what: String, command: impl Future<Output = Result<T, CmdError>>) -> T {
        match self.browser.within(COMMAND, command) {
            Some(Ok(value)) => value,
            Some(Err(e)) => panic!("{what} on the {} page failed: {e}", self.label),
            None => panic!(
                "{what} on the {} page took more than {COMMAND:?}",
                self.label
            ),
        }
    }

    /// Clicks the element `css` selects, as a person would.
    fn click(&self, css: &str) {
        self.run(format!("clicking {css}"), async {
            self.client.find(Locator::Css(css)).await?.click().await
        });
    }

    /// Types `text` into the element `css` selects, key by key.
    fn type_into(&self, css: &str, text: &str) {
        self.run(format!("typing into {css}"), async {
            self.client
                .find(Locator::Css(css))
                .await?
                .send_keys(text)
                .await
        });
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.run(
            format!("running {script:?}"),
            self.client.execute(script, args),
        )
    }

    /// The text of the first element `css` selects, if there is one.
    fn text(&self, css: &str) -> Option<String> {
        let text = self.script(
            "return document.querySelector(arguments[0])?.textContent ?? null;",
            vec![json!(css)],
        );
        text.as_str().map(str::to_owned)
    }

    /// Whether the first element `css` selects is rendered (not hidden by the page's CSS).
    fn visible(&self, css: &str) -> bool {
        self.visible_count(css) > 0
    }

    /// How many of the elements `css` selects are rendered.
    fn visible_count(&self, css: &str) -> usize {
        let count = self.script(
            "return [...document.querySelectorAll(arguments[0])]
                 .filter((el) => el.checkVisibility()).length;",
            vec![json!(css)],
        );
        count.as_u64().unwrap_or_default() as usize
    }

    /// How many elements `css` selects.
    fn count(&self, css: &str) -> usize {
        let count = self.script(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(css)],
        );
        count.as_u64().unwrap_or_default() as usize
    }

    /// The sync state the header shows (`#status[data-state]`).
    fn status(&self) -> String {
        self.script(
            "return document.getElementById('status')?.dataset.state ?? '';",
            vec![],
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// How many changes the header says the relay does not hold yet (0 when it hides the count).
    fn unsynced(&self) -> u64 {
        let count = self.script(
            "const c = document.getElementById('unsynced');
             return c && !c.hidden ? Number(c.dataset.count) : 0;",
            vec![],
        );
        count.as_u64().unwrap_or_default()
    }

    /// The teams of the timeline entries whose text is `text`.
    fn teams_of_entry(&self, text: &str) -> Vec<String> {
        let teams = self.script(
            "return [...document.querySelectorAll('.entry[data-entry-id]')]
                 .filter((entry) => entry.querySelector('.entry-text')?.textContent === arguments[0])
                 .map((entry) => entry.dataset.team);",
            vec![json!(text)],
        );
        strings(&teams)
    }

    /// The account's history as shown, newest first: each change's author and edits.
    fn history(&self) -> Vec<(String, Vec<String>)> {
        let changes = self.script(
            "return [...document.querySelectorAll('#history .history-change')].map((change) => [
                 change.dataset.author,
                 [...change.querySelectorAll('.history-edit')].map((edit) => edit.textContent)]);",
            vec![],
        );
        changes
            .as_array()
            .map(|changes| {
                changes
                    .iter()
                    .map(|change| {
                        let author = change[0].as_str().unwrap_or_default().to_owned();
                        (author, strings(&change[1]))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The text of every alert toast shown.
    fn toasts(&self) -> Vec<String> {
        let toasts = self.script(
            "return [...document.querySelectorAll('#toasts .toast')].map((t) => t.textContent);",
            vec![],
        );
        strings(&toasts)
    }

    /// The account ids of the rows the account list shows, top to bottom.
    fn rows(&self) -> Vec<String> {
        let rows = self.script(
            "return [...document.querySelectorAll('tr[data-account-id]')]
                 .map((row) => row.dataset.accountId);",
            vec![],
        );
        strings(&rows)
    }

    /// Whether the document [`Browser::open`] loaded is still the one shown.
    fn never_reloaded(&self) -> bool {
        self.script("return window.rapportTestPage === true;", vec![]) == json!(true)
    }

    #[track_caller]
    fn wait_for_status(&self, state: &str) {
        self.wait_for(&format!("the status {state:?}"), |page| {
            page.status() == state
        });
    }

    /// Waits until `done` holds, checking every 50 ms; after [`PATIENCE`], saves a screenshot
    /// and panics naming `what`, with the text the page shows.
    #[track_caller]
    fn wait_for(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            if Instant::now() >= deadline {
                let shot = self.screenshot("gave-up");
                let shown = self.text("body").unwrap_or_default();
                panic!(
                    "gave up after {PATIENCE:?} waiting for {what} on the {} page \
                     (screenshot {}); it shows:\n{}",
                    self.label,
                    shot.display(),
                    shown.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves what the page shows as `target/browser-screenshots/SCENARIO-LABEL-MOMENT.png`.
    fn screenshot(&self, moment: &str) -> PathBuf {
        let png = self.run("taking a screenshot".to_owned(), self.client.screenshot());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("CARGO_TARGET_TMPDIR is inside the target directory")
            .join("browser-screenshots");
        fs::create_dir_all(&dir).expect("the screenshot directory");
        let file = dir.join(format!(
            "{}-{}-{moment}.png",
            self.browser.scenario, self.label
        ));
        fs::write(&file, png).expect("the screenshot is saved");
        file
    }
}

impl Drop for Page<'_> {
    fn drop(&mut self) {
        let close = self.client.clone().close();
        let _ = self.browser.within(Duration::from_secs(10), close);
    }
}

/// The strings of a JSON array.
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
