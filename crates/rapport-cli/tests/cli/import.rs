//! `import` and `export`: files from HubSpot, Salesforce and Pipedrive, `--map`, the dry run,
//! all-or-nothing apply (a rejected row, a killed process), bad files, and the round trip.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{BIN, Data, array, str_at, tmp};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/fixtures/import")
        .join(name)
}

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `import FILE --json` (extra args after), asserting success; the rows it reports.
#[track_caller]
fn import(data: &Data, file: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["import".as_ref(), file.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    array(&data.json(args)).clone()
}

fn outcomes(rows: &[Value]) -> Vec<(&str, &str)> {
    rows.iter()
        .map(|r| {
            (
                str_at(r, "outcome"),
                r["account"]["outcome"].as_str().unwrap_or("-"),
            )
        })
        .collect()
}

fn account(data: &Data, name: &str) -> Value {
    data.show(name)
}

#[test]
fn hubspot_companies_contacts_and_deals_import_and_find_their_accounts() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");

    let companies = import(&data, &fixture("hubspot-companies.csv"), &[]);
    assert_eq!(outcomes(&companies), [("created", "-"); 3]);
    let contacts = import(&data, &fixture("hubspot-contacts.csv"), &[]);
    assert_eq!(
        outcomes(&contacts),
        [
            ("created", "merged"),
            ("created", "merged"),
            ("created", "merged"),
            ("created", "created")
        ]
    );
    let deals = import(&data, &fixture("hubspot-deals.csv"), &[]);
    assert_eq!(outcomes(&deals), [("created", "merged"); 2]);

    let globex = account(&data, "Globex Corporation");
    assert_eq!(str_at(&globex, "domain"), "globex.com");
    assert_eq!(str_at(&globex, "industry"), "Energy");
    assert_eq!(str_at(&globex, "phone"), "+1 555 0100");
    assert_eq!(str_at(&globex, "stage"), "customer");
    let hank = &globex["contacts"][0];
    assert_eq!(
        (
            str_at(hank, "name"),
            str_at(hank, "email"),
            str_at(hank, "title")
        ),
        ("Hank Scorpio", "hank@globex.com", "CEO")
    );
    let upgrade = &globex["deals"][0];
    assert_eq!(upgrade["amount"], 2_400_000);
    assert_eq!(str_at(upgrade, "stage"), "proposal");
    assert_eq!(str_at(upgrade, "close"), "2026-12-31");
    let tps = &account(&data, "Initech")["deals"][0];
    assert_eq!(
        (tps["amount"].as_i64(), str_at(tps, "stage")),
        (Some(150_050), "won")
    );
    assert_eq!(str_at(&account(&data, "Initech"), "stage"), "prospect");
    // A contact of a company not in the workspace brought its company along.
    assert_eq!(
        account(&data, "Hooli")["contacts"][0]["email"],
        "gavin@hooli.com"
    );
    assert_eq!(data.list().as_array().map(Vec::len), Some(4));

    // The same files again merge into what the first import made: nothing is duplicated.
    let again = import(&data, &fixture("hubspot-contacts.csv"), &[]);
    assert!(again.iter().all(|r| r["outcome"] == "merged"), "{again:?}");
    import(&data, &fixture("hubspot-deals.csv"), &[]);
    assert_eq!(array(&account(&data, "Initech")["deals"]).len(), 1);
}

#[test]
fn salesforce_and_pipedrive_exports_import_with_unknown_columns_reported() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");

    let run = data
        .run([
            "import".as_ref(),
            fixture("salesforce-accounts.csv").as_os_str(),
        ])
        .ok();
    assert!(
        run.stderr.contains("ignoring columns") && run.stderr.contains("Account Owner"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("2 accounts: 2 created"),
        "{}",
        run.stdout
    );
    let acme = account(&data, "Acme Corporation");
    assert_eq!(str_at(&acme, "domain"), "acme.example");
    assert_eq!(str_at(&acme, "website"), "https://www.acme.example/");
    assert_eq!(acme["custom"]["city"], "Springfield");

    let opportunities = import(&data, &fixture("salesforce-opportunities.csv"), &[]);
    assert_eq!(outcomes(&opportunities), [("created", "merged"); 2]);
    assert_eq!(
        account(&data, "Acme Corporation")["deals"][0]["stage"],
        "negotiation"
    );

    let deals = import(&data, &fixture("pipedrive-deals.csv"), &[]);
    assert_eq!(outcomes(&deals), [("created", "created"); 2]);
    let persons = import(&data, &fixture("pipedrive-persons.csv"), &[]);
    assert_eq!(outcomes(&persons), [("created", "merged"); 2]);
    let stark = account(&data, "Stark Industries");
    assert_eq!(stark["deals"][0]["currency"], "USD");
    assert_eq!(stark["deals"][0]["amount"], 5_000_000);
    assert_eq!(stark["contacts"][0]["email"], "pepper@stark.example");
}

#[test]
fn a_dry_run_reports_every_row_and_changes_nothing() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");
    data.add_account("Globex", &["--domain", "globex.com"]);
    let file = write(
        tmp.path(),
        "contacts.csv",
        "Name,Email,Company Domain Name,Company Name\n\
         Hank Scorpio,hank@globex.com,globex.com,\n\
         Gavin Belson,gavin@hooli.com,,Hooli\n\
         Milton,milton@,,Initech\n\
         Hank S.,HANK@globex.com,,Globex\n\
         ,nobody@initech.com,,Initech\n",
    );
    // Every document's heads are in the snapshot (redb rewrites its header on every open,
    // even a read-only command's, so the file's bytes say nothing).
    let before = data.snapshot();

    let rows = import(&data, &file, &["--dry-run"]);
    assert_eq!(
        outcomes(&rows),
        [
            ("created", "merged"),
            ("created", "created"),
            ("rejected", "-"),
            ("rejected", "-"),
            ("rejected", "-")
        ]
    );
    let reasons: Vec<&str> = rows[2..].iter().map(|r| str_at(r, "reason")).collect();
    assert!(
        reasons[0].contains("invalid email 'milton@'"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("duplicate in file") && reasons[1].contains("line 2"));
    assert_eq!(reasons[2], "missing contact name");
    assert_eq!(rows[1]["line"], 3);

    let text = data
        .run(["import".as_ref(), file.as_os_str(), "--dry-run".as_ref()])
        .ok();
    assert!(text.stdout.contains("line 4"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("2 created, 0 merged, 3 rejected; dry run: nothing was written"),
        "{}",
        text.stdout
    );
    assert_eq!(data.snapshot(), before);
}

#[test]
fn a_file_with_a_rejected_row_imports_nothing() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");
    data.add_account("Globex", &["--domain", "globex.com"]);
    let file = write(
        tmp.path(),
        "deals.csv",
        "Deal Name,Amount,Deal Stage,Associated Company\n\
         Upgrade,24000,proposal,Globex\n\
         Pilot,5000,qualification,Hooli\n\
         Mystery,ten,proposal,Globex\n\
         Other,10,appointmentscheduled,Globex\n",
    );
    let before = data.snapshot();
    let run = data.run(["import".as_ref(), file.as_os_str()]);
    assert_ne!(run.code, Some(0));
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("line 4") && run.stderr.contains("invalid amount 'ten'"));
    assert!(run.stderr.contains("line 5") && run.stderr.contains("unknown deal stage"));
    assert!(
        run.stderr
            .trim_end()
            .ends_with("error: 2 of 4 row(s) rejected; nothing was imported"),
        "{}",
        run.stderr
    );
    let json = data.run_json(["import".as_ref(), file.as_os_str()]);
    assert_ne!(json.code, Some(0));
    let rows: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(array(&rows).len(), 4);
    assert_eq!(data.snapshot(), before);
}

#[test]
fn map_names_the_columns_of_any_export() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");
    let file = write(
        tmp.path(),
        "people.csv",
        "Org,Site,Person,Mail,Notes,Colour\n\
         Globex,https://globex.com,Hank Scorpio,hank@globex.com,met at fair,blue\n",
    );
    // Without a map the file says nothing Rapport knows.
    data.run(["import".as_ref(), file.as_os_str()])
        .fails_with(&["cannot tell", "--kind"]);
    let run = data
        .run_json([
            "import".as_ref(),
            file.as_os_str(),
            "--map".as_ref(),
            "Org=account.name,Site=account.website".as_ref(),
            "--map".as_ref(),
            "Person=contact.name,Mail=contact.email,Notes=ignore".as_ref(),
        ])
        .ok();
    assert!(
        run.stderr
            .contains("ignoring columns that map to no field: Colour")
    );
    let globex = account(&data, "Globex");
    assert_eq!(str_at(&globex, "domain"), "globex.com");
    assert_eq!(globex["contacts"][0]["name"], "Hank Scorpio");

    data.run([
        "import".as_ref(),
        file.as_os_str(),
        "--map".as_ref(),
        "Org=account.nmae".as_ref(),
    ])
    .fails_with(&["unknown field 'account.nmae'"]);
    data.run([
        "import".as_ref(),
        file.as_os_str(),
        "--kind".as_ref(),
        "invoices".as_ref(),
    ])
    .refused_with(&["invoices"]);
}

#[test]
fn export_then_import_into_a_fresh_workspace_exports_the_same() {
    let tmp = tmp();
    let first = Data::init(tmp.path().join("first"), "ana", "sales");
    first.add_account(
        "Globex",
        &[
            "--domain",
            "globex.com",
            "--tier",
            "gold",
            "--stage",
            "customer",
            "--owner",
            "bo",
        ],
    );
    first.add_account("=HYPERLINK(\"http://evil\",\"x\")", &[]);
    first.add_account("Tokyo Trading", &["--domain", "tokyo.example"]);
    first
        .run([
            "account",
            "set",
            "Globex",
            "phone=+1-555-0100",
            "tags=vip,renewal",
            "custom.region=EMEA",
            "industry=Energy, \"Oil\" & Gas",
        ])
        .ok();
    first
        .run([
            "contact",
            "add",
            "Globex",
            "--name",
            "Hank Scorpio",
            "--email",
            "hank@globex.com",
            "--title",
            "CEO",
        ])
        .ok();
    first
        .run([
            "contact",
            "add",
            "Globex",
            "--name",
            "@mallory",
            "--phone=-1",
        ])
        .ok();
    first
        .run([
            "deal",
            "add",
            "Globex",
            "--title",
            "Upgrade",
            "--amount",
            "24000.5",
            "--stage",
            "proposal",
            "--close",
            "2026-12-31",
        ])
        .ok();
    first
        .run([
            "deal",
            "add",
            "Tokyo Trading",
            "--title",
            "Yen deal",
            "--amount",
            "1500",
            "--currency",
            "JPY",
        ])
        .ok();
    first
        .run(["note", "add", "Globex", "a note that only JSON keeps"])
        .ok();
    first.run(["task", "add", "Globex", "Send the quote"]).ok();

    let export = |data: &Data, kind: &str| {
        let out = data.dir.join(format!("{kind}.csv"));
        data.run([
            "export",
            "--format",
            "csv",
            "--kind",
            kind,
            "--out",
            out.to_str().unwrap(),
        ])
        .ok();
        std::fs::read(out).unwrap()
    };
    let kinds = ["accounts", "contacts", "deals"];
    let exported: Vec<Vec<u8>> = kinds.iter().map(|kind| export(&first, kind)).collect();
    let accounts = String::from_utf8(exported[0].clone()).unwrap();
    assert!(accounts.contains("\"'=HYPERLINK("), "{accounts}");
    assert!(accounts.contains("'+1-555-0100"), "{accounts}");
    assert!(String::from_utf8_lossy(&exported[1]).contains("'@mallory,,'-1"));

    let second = Data::init(tmp.path().join("second"), "bo", "support");
    for (kind, bytes) in kinds.iter().zip(&exported) {
        let file = write(tmp.path(), &format!("in-{kind}.csv"), bytes);
        let rows = import(&second, &file, &[]);
        assert!(
            rows.iter().all(|r| r["outcome"] == "created"),
            "{kind}: {rows:?}"
        );
    }
    for (kind, bytes) in kinds.iter().zip(&exported) {
        assert_eq!(
            String::from_utf8_lossy(&export(&second, kind)),
            String::from_utf8_lossy(bytes),
            "{kind}"
        );
    }
    assert_eq!(
        str_at(&second.show("Globex"), "industry"),
        "Energy, \"Oil\" & Gas"
    );

    // JSON holds everything, tasks and timeline included, on stdout without --out.
    let json: Value =
        serde_json::from_str(&first.run(["export", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(json["format"], "rapport-export-1");
    assert_eq!(json["workspace"]["name"], "Acme");
    let globex = array(&json["accounts"])
        .iter()
        .find(|a| a["name"] == "Globex")
        .unwrap();
    assert_eq!(globex["timeline"][0]["text"], "a note that only JSON keeps");
    assert_eq!(globex["tasks"][0]["title"], "Send the quote");
    first
        .run(["export", "--format", "csv"])
        .refused_with(&["--kind"]);
}

#[test]
fn bad_files_are_refused_with_a_clear_error_and_change_nothing() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");
    data.add_account("Globex", &[]);
    let before = data.snapshot();
    let mut huge = b"Company name\n".to_vec();
    huge.resize(50 * 1024 * 1024, b'x');
    let cases: [(&str, Vec<u8>, &[&str]); 6] = [
        ("empty.csv", Vec::new(), &["the file is empty"]),
        (
            "image.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            &["not a CSV file"],
        ),
        (
            "latin1.csv",
            b"Company name\nCaf\xe9\n".to_vec(),
            &["line 2", "UTF-8"],
        ),
        (
            "ragged.csv",
            b"Company name,Industry\nGlobex\n".to_vec(),
            &["line 2 has 1 cells"],
        ),
        ("huge.csv", huge, &["line 2", "longer than 65536 bytes"]),
        (
            "data.json",
            b"{\"accounts\": []}".to_vec(),
            &["not a Rapport export"],
        ),
    ];
    for (name, bytes, needles) in cases {
        let file = write(tmp.path(), name, bytes);
        data.run(["import".as_ref(), file.as_os_str()])
            .fails_with(needles);
    }
    data.run(["import", "no-such-file.csv"])
        .fails_with(&["cannot read no-such-file.csv"]);
    assert_eq!(data.snapshot(), before);
}

/// 10,000 accounts with a contact each: fast, and killed midway it leaves all or nothing.
#[test]
fn ten_thousand_rows_import_in_seconds_and_a_kill_leaves_all_or_nothing() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");
    let mut text = String::from("Company name,Company Domain Name,First Name,Last Name,Email\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "Company {i},c{i}.example,Ann,Lee {i},ann{i}@c{i}.example\n"
        ));
    }
    let file = write(tmp.path(), "big.csv", text);
    let count = || data.list().as_array().map_or(0, Vec::len);

    for delay in [150, 600, 1200] {
        let mut child = std::process::Command::new(BIN)
            .args([
                "--data".as_ref(),
                data.dir.as_os_str(),
                "import".as_ref(),
                file.as_os_str(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let found = count();
        assert!(
            found == 0 || found == 10_000,
            "a kill after {delay} ms left {found} accounts"
        );
        if found == 10_000 {
            return;
        }
    }
    let started = Instant::now();
    let run = data.run(["import".as_ref(), file.as_os_str()]).ok();
    let took = started.elapsed();
    assert!(
        run.stdout.contains("10000 contacts: 10000 created"),
        "{}",
        run.stdout
    );
    // About 4 s in a release build; unoptimized Automerge in a test build is ten times slower.
    let bound = Duration::from_secs(if cfg!(debug_assertions) { 150 } else { 20 });
    assert!(took < bound, "10,000 rows took {took:?}");
    assert_eq!(count(), 10_000);
    assert_eq!(
        data.json(["account", "list", "--query", "lee"])
            .as_array()
            .map(Vec::len),
        Some(10_000)
    );
}

#[test]
fn an_import_on_a_terminal_shows_its_progress_and_one_through_a_pipe_shows_none() {
    let tmp = tmp();
    let file = fixture("hubspot-companies.csv");
    let piped = Data::init(tmp.path().join("piped"), "ana", "sales");
    let run = piped.run(["import".as_ref(), file.as_os_str()]).ok();
    assert!(!run.stderr.contains("importing ["), "{}", run.stderr);

    let shown = Data::init(tmp.path().join("shown"), "ana", "sales");
    let (succeeded, screen) = shown.on_terminal(&[Path::new("import"), &file]);
    assert!(succeeded, "{screen}");
    // The first step draws the bar; the last clears it before the report.
    assert!(
        screen.contains("\rimporting [##########--------------------] 1/3"),
        "{screen:?}"
    );
    assert!(screen.contains("\r\x1b[2K"), "{screen:?}");
    let names = |data: &Data| -> Vec<String> {
        array(&data.list())
            .iter()
            .map(|a| str_at(a, "name").to_owned())
            .collect()
    };
    assert_eq!(names(&shown), names(&piped));
    assert_eq!(names(&shown).len(), 3);
}
