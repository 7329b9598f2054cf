//! The browser side of the browser tests: chromedriver and its headless Chromium sessions,
//! and a page of the UI driven through them as a person would (see `browser.rs`).

use std::cell::Cell;
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

use crate::processes::PATIENCE;
use crate::support::tmp;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const INSTALL: &str = "the browser tests need Debian's Chromium and its WebDriver: \
                       install them with `apt-get install chromium chromium-driver`";

/// How long one WebDriver command (a click, a script) may take.
const COMMAND: Duration = Duration::from_secs(30);

/// One chromedriver, and the runtime that drives its sessions. Dropped, it kills chromedriver
/// and every process it started (they share its process group).
pub(super) struct Browser {
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
    pub(super) fn start(scenario: &'static str) -> Self {
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
    pub(super) fn open(&self, label: &'static str, url: &str) -> Page<'_> {
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
    pub(super) fn within<T>(&self, limit: Duration, future: impl Future<Output = T>) -> Option<T> {
        self.runtime
            .block_on(async { tokio::time::timeout(limit, future).await.ok() })
    }

    pub(super) fn log(&self) -> String {
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
pub(super) fn own_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
pub(super) fn own_process_group(_command: &mut Command) {}

/// A loopback port nobody listens on (for chromedriver, which takes no port 0).
pub(super) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// One browser session showing one page of the UI; dropped, it closes the browser.
pub(super) struct Page<'b> {
    browser: &'b Browser,
    pub(super) client: Client,
    label: &'static str,
}

impl Page<'_> {
    /// Runs one WebDriver command, panicking with `what` if it fails or hangs.
    pub(super) fn run<T>(
        &self,
        what: String,
        command: impl Future<Output = Result<T, CmdError>>,
    ) -> T {
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
    pub(super) fn click(&self, css: &str) {
        self.run(format!("clicking {css}"), async {
            self.client.find(Locator::Css(css)).await?.click().await
        });
    }

    /// Types `text` into the element `css` selects, key by key.
    pub(super) fn type_into(&self, css: &str, text: &str) {
        self.run(format!("typing into {css}"), async {
            self.client
                .find(Locator::Css(css))
                .await?
                .send_keys(text)
                .await
        });
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub(super) fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.run(
            format!("running {script:?}"),
            self.client.execute(script, args),
        )
    }

    /// The text of the first element `css` selects, if there is one.
    pub(super) fn text(&self, css: &str) -> Option<String> {
        let text = self.script(
            "return document.querySelector(arguments[0])?.textContent ?? null;",
            vec![json!(css)],
        );
        text.as_str().map(str::to_owned)
    }

    /// Whether the first element `css` selects is rendered (not hidden by the page's CSS).
    pub(super) fn visible(&self, css: &str) -> bool {
        self.visible_count(css) > 0
    }

    /// How many of the elements `css` selects are rendered.
    pub(super) fn visible_count(&self, css: &str) -> usize {
        let count = self.script(
            "return [...document.querySelectorAll(arguments[0])]
                 .filter((el) => el.checkVisibility()).length;",
            vec![json!(css)],
        );
        count.as_u64().unwrap_or_default() as usize
    }

    /// How many elements `css` selects.
    pub(super) fn count(&self, css: &str) -> usize {
        let count = self.script(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(css)],
        );
        count.as_u64().unwrap_or_default() as usize
    }

    /// The sync state the header shows (`#status[data-state]`).
    pub(super) fn status(&self) -> String {
        self.script(
            "return document.getElementById('status')?.dataset.state ?? '';",
            vec![],
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// How many changes the header says the relay does not hold yet (0 when it hides the count).
    pub(super) fn unsynced(&self) -> u64 {
        let count = self.script(
            "const c = document.getElementById('unsynced');
             return c && !c.hidden ? Number(c.dataset.count) : 0;",
            vec![],
        );
        count.as_u64().unwrap_or_default()
    }

    /// The teams of the timeline entries whose text is `text`.
    pub(super) fn teams_of_entry(&self, text: &str) -> Vec<String> {
        let teams = self.script(
            "return [...document.querySelectorAll('.entry[data-entry-id]')]
                 .filter((entry) => entry.querySelector('.entry-text')?.textContent === arguments[0])
                 .map((entry) => entry.dataset.team);",
            vec![json!(text)],
        );
        strings(&teams)
    }

    /// The account's history as shown, newest first: each change's author and edits.
    pub(super) fn history(&self) -> Vec<(String, Vec<String>)> {
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
    pub(super) fn toasts(&self) -> Vec<String> {
        let toasts = self.script(
            "return [...document.querySelectorAll('#toasts .toast')].map((t) => t.textContent);",
            vec![],
        );
        strings(&toasts)
    }

    /// The account ids of the rows the account list shows, top to bottom.
    pub(super) fn rows(&self) -> Vec<String> {
        let rows = self.script(
            "return [...document.querySelectorAll('tr[data-account-id]')]
                 .map((row) => row.dataset.accountId);",
            vec![],
        );
        strings(&rows)
    }

    /// Whether the document [`Browser::open`] loaded is still the one shown.
    pub(super) fn never_reloaded(&self) -> bool {
        self.script("return window.rapportTestPage === true;", vec![]) == json!(true)
    }

    #[track_caller]
    pub(super) fn wait_for_status(&self, state: &str) {
        self.wait_for(&format!("the status {state:?}"), |page| {
            page.status() == state
        });
    }

    /// Waits until `done` holds, checking every 50 ms; after [`PATIENCE`], saves a screenshot
    /// and panics naming `what`, with the text the page shows.
    #[track_caller]
    pub(super) fn wait_for(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
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
    pub(super) fn screenshot(&self, moment: &str) -> PathBuf {
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
pub(super) fn strings(value: &Value) -> Vec<String> {
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
