//! `import` of a JSON export: into another workspace (the round trip), into the workspace it
//! came from, twice, as a dry run, killed midway, and bad files.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rapport_model::{ContactId, DocumentId, EntryId, Team};
use serde_json::Value;

use crate::support::{BIN, Data, array, copy_documents, join, str_at, tmp};

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `export --format json --out FILE`: the file and its JSON.
#[track_caller]
fn export(data: &Data, name: &str) -> (PathBuf, Value) {
    let file = data.dir.join(name);
    data.run([
        "export",
        "--format",
        "json",
        "--out",
        file.to_str().unwrap(),
    ])
    .ok();
    let json = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    (file, json)
}

/// `import FILE --json` (extra args after), asserting success: the accounts it reports.
#[track_caller]
fn import(data: &Data, file: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["import".as_ref(), file.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    array(&data.json(args)["accounts"]).clone()
}

fn outcomes(accounts: &[Value]) -> Vec<(&str, &str)> {
    accounts
        .iter()
        .map(|a| (str_at(a, "name"), str_at(a, "outcome")))
        .collect()
}

/// How many items of every kind the report says are created and updated.
fn written(accounts: &[Value]) -> (u64, u64) {
    let kinds = ["contacts", "deals", "tasks", "timeline"];
    let count = |word: &str| {
        accounts
            .iter()
            .flat_map(|a| kinds.iter().map(move |k| a[k][word].as_u64().unwrap()))
            .sum()
    };
    (count("created"), count("updated"))
}

/// The export without what belongs to the workspace it was made in: the workspace's id, URL,
/// name and members, and each account's document id and URL. Everything else must survive.
fn portable(export: &Value) -> Value {
    let mut export = export.clone();
    let workspace = export["workspace"].as_object_mut().unwrap();
    for key in ["id", "url", "name", "members"] {
        assert!(workspace.remove(key).is_some(), "the export has {key}");
    }
    for account in export["accounts"].as_array_mut().unwrap() {
        let account = account.as_object_mut().unwrap();
        assert!(account.remove("id").is_some() && account.remove("url").is_some());
    }
    export
}

/// A workspace with accounts with contacts, deals in several stages and currencies, tasks done
/// and not, notes and logged calls from three teams with alerts, tags and custom fields.
fn rich_workspace(dir: &Path) -> Data {
    let ana = Data::init(dir.join("ana"), "ana", "sales");
    ana.add_account(
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
    ana.add_account("Initech", &[]);
    ana.add_account("Tokyo Trading", &["--domain", "tokyo.example"]);
    ana.run([
        "account",
        "set",
        "Globex",
        "phone=+1 555 0100",
        "website=https://globex.com",
        "industry=Energy",
        "tags=vip,renewal",
        "custom.region=EMEA",
        "custom.seats=250",
    ])
    .ok();
    ana.run(["account", "set", "Initech", "tags=smb", "custom.region=US"])
        .ok();
    for (name, extra) in [
        (
            "Hank Scorpio",
            ["--email", "hank@globex.com", "--title", "CEO"],
        ),
        (
            "Frank Grimes",
            ["--phone", "+1 555 0101", "--title", "Engineer"],
        ),
    ] {
        let mut args = vec!["contact", "add", "Globex", "--name", name];
        args.extend(extra);
        ana.id_of(args);
    }
    ana.id_of(["contact", "add", "Initech", "--name", "Milton"]);
    let deal = |account: &str, title: &str, amount: &str, extra: &[&str]| {
        let mut args = vec!["deal", "add", account, "--title", title, "--amount", amount];
        args.extend_from_slice(extra);
        ana.id_of(args)
    };
    deal(
        "Globex",
        "Upgrade",
        "24000.5",
        &[
            "--stage",
            "proposal",
            "--currency",
            "USD",
            "--close",
            "2026-12-31",
        ],
    );
    let pilot = deal("Globex", "Pilot", "5000", &[]);
    ana.run(["deal", "move", &pilot, "won"]).ok();
    deal("Initech", "TPS reports", "1500.05", &["--stage", "lost"]);
    deal(
        "Tokyo Trading",
        "Yen deal",
        "1500",
        &["--currency", "JPY", "--stage", "negotiation"],
    );
    let quote = ana.id_of([
        "task",
        "add",
        "Globex",
        "Send the quote",
        "--assignee",
        "bo",
        "--due",
        "2026-12-01",
    ]);
    ana.run(["task", "done", &quote]).ok();
    ana.id_of(["task", "add", "Globex", "Book the visit"]);
    ana.id_of([
        "note",
        "add",
        "Globex",
        "asked about enterprise",
        "--alert",
        "support",
    ]);

    let cy = join(&ana, &dir.join("cy"), "cy", Team::Support);
    cy.id_of([
        "log",
        "--kind",
        "call",
        "Globex",
        "outage call",
        "--alert",
        "@ana",
        "--alert",
        "sales",
    ]);
    cy.id_of(["note", "add", "Initech", "printer on fire"]);
    let dee = join(&ana, &dir.join("dee"), "dee", Team::Marketing);
    dee.id_of([
        "log",
        "--kind",
        "campaign",
        "Tokyo Trading",
        "spring mailing",
    ]);
    copy_documents(&cy, &ana);
    copy_documents(&dee, &ana);
    ana
}

#[test]
fn a_json_export_imports_into_another_workspace_and_exports_the_same() {
    let tmp = tmp();
    let ana = rich_workspace(tmp.path());
    let (file, exported) = export(&ana, "acme.json");
    let globex = array(&exported["accounts"])
        .iter()
        .find(|a| a["name"] == "Globex")
        .unwrap();
    let teams: Vec<&str> = array(&globex["timeline"])
        .iter()
        .map(|e| str_at(e, "team"))
        .collect();
    assert_eq!(teams, ["sales", "support"]);

    let bo = Data::at(tmp.path().join("bo"));
    bo.run([
        "init",
        "--workspace",
        "Umbrella",
        "--user",
        "bo",
        "--team",
        "marketing",
    ])
    .ok();
    let before = bo.snapshot();
    let planned = import(&bo, &file, &["--dry-run"]);
    assert_eq!(
        outcomes(&planned),
        [
            ("Globex", "created"),
            ("Initech", "created"),
            ("Tokyo Trading", "created")
        ]
    );
    assert_eq!(planned[0]["deals"]["created"], 2);
    assert_eq!(planned[0]["timeline"]["created"], 2);
    assert_eq!(bo.snapshot(), before, "a dry run writes nothing");

    let text = bo
        .run(["import".as_ref(), file.as_os_str(), "--dry-run".as_ref()])
        .ok();
    assert!(
        text.stdout.contains(
            "account 1    created  Globex: contacts 2 new; deals 2 new; tasks 2 new; timeline entries 2 new"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.trim_end().ends_with(
            "3 accounts: 3 created, 0 merged, 0 rejected; 13 items created, 0 updated; dry run: nothing was written"
        ),
        "{}",
        text.stdout
    );

    let imported = import(&bo, &file, &[]);
    assert_eq!(written(&imported), (13, 0));
    let (_, reexported) = export(&bo, "again.json");
    assert_eq!(reexported["workspace"]["name"], "Umbrella");
    assert_ne!(
        reexported["accounts"][0]["id"],
        exported["accounts"][0]["id"]
    );
    assert_eq!(portable(&reexported), portable(&exported));

    // The same file again: every account found, every item there already, nothing written.
    let before = bo.snapshot();
    let again = import(&bo, &file, &[]);
    assert!(again.iter().all(|a| a["outcome"] == "merged"), "{again:?}");
    assert_eq!(written(&again), (0, 0));
    assert!(again.iter().all(|a| a["fields"] == 0), "{again:?}");
    assert_eq!(bo.snapshot(), before, "a second import changes no heads");
    let text = bo.run(["import".as_ref(), file.as_os_str()]).ok();
    assert!(
        text.stdout.starts_with(
            "account 1    merged   Globex (into Globex, by items): contacts 2 unchanged; deals 2 unchanged; tasks 2 unchanged; timeline entries 2 unchanged; nothing to change\n"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.trim_end().ends_with(
            "3 accounts: 0 created, 3 merged, 0 rejected; 0 items created, 0 updated; imported"
        ),
        "{}",
        text.stdout
    );
    assert_eq!(bo.snapshot(), before);

    // A broken copy of the file changes nothing either.
    let bytes = std::fs::read(&file).unwrap();
    let cut = write(tmp.path(), "cut.json", &bytes[..bytes.len() / 2]);
    bo.run(["import".as_ref(), cut.as_os_str()])
        .fails_with(&["cannot import", "not JSON", "EOF"]);
    assert_eq!(bo.snapshot(), before);

    // Renamed since, with another domain, an account is still found by the items the first
    // import gave it.
    bo.run([
        "account",
        "set",
        "Globex",
        "name=Globex Inc",
        "domain=globex.example",
    ])
    .ok();
    let renamed = import(&bo, &file, &[]);
    assert_eq!(renamed[0]["matched_by"], "items");
    assert_eq!(renamed[0]["into"], "Globex Inc");
    assert_eq!(written(&renamed), (0, 0));
    assert_eq!(array(&bo.list()).len(), 3);
}

#[test]
fn a_json_export_imported_into_its_own_workspace_finds_accounts_by_id_and_keeps_later_work() {
    let tmp = tmp();
    let ana = rich_workspace(tmp.path());
    let (file, exported) = export(&ana, "backup.json");
    ana.run([
        "account",
        "set",
        "Globex",
        "name=Globex Corp",
        "domain=globex.example",
    ])
    .ok();
    let note = ana.id_of(["note", "add", "Globex Corp", "written after the backup"]);
    let quote = &exported["accounts"][0]["tasks"];
    let open = array(quote)
        .iter()
        .find(|t| t["done"] == false)
        .map(|t| str_at(t, "id").to_owned())
        .unwrap();
    ana.run(["task", "done", &open]).ok();

    let restored = import(&ana, &file, &[]);
    assert_eq!(
        restored
            .iter()
            .map(|a| str_at(a, "matched_by"))
            .collect::<Vec<_>>(),
        ["id", "id", "id"]
    );
    assert_eq!(restored[0]["into"], "Globex Corp");
    assert_eq!(written(&restored), (0, 1), "the task is open again");
    let globex = ana.show(str_at(&exported["accounts"][0], "id"));
    assert_eq!(str_at(&globex, "name"), "Globex");
    assert_eq!(str_at(&globex, "domain"), "globex.com");
    assert!(
        array(&globex["timeline"])
            .iter()
            .any(|e| e["id"] == note.as_str())
    );
    assert_eq!(array(&ana.list()).len(), 3, "nothing was duplicated");
}

#[test]
fn a_json_file_with_a_rejected_account_imports_nothing_and_says_why() {
    let tmp = tmp();
    let ana = rich_workspace(tmp.path());
    let (_, mut exported) = export(&ana, "acme.json");
    exported["accounts"][0]["deals"][0]["stage"] = "signed".into();
    exported["accounts"][2]["deals"][0]["currency"] = "YENS".into();
    let file = write(
        tmp.path(),
        "edited.json",
        serde_json::to_vec(&exported).unwrap(),
    );
    let bo = Data::init(tmp.path().join("bo"), "bo", "sales");
    let before = bo.snapshot();

    let planned = import(&bo, &file, &["--dry-run"]);
    assert_eq!(
        outcomes(&planned),
        [
            ("Globex", "rejected"),
            ("Initech", "created"),
            ("Tokyo Trading", "rejected")
        ]
    );
    let reason = |at: usize| planned[at]["reasons"][0].as_str().unwrap().to_owned();
    assert!(
        reason(0).contains("unknown deal stage 'signed'") && reason(0).contains("proposal"),
        "{}",
        reason(0)
    );
    assert!(
        reason(2).contains("invalid currency 'YENS'"),
        "{}",
        reason(2)
    );

    let run = bo.run(["import".as_ref(), file.as_os_str()]);
    assert_ne!(run.code, Some(0));
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains("account 1    rejected Globex: deal 'Upgrade'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .trim_end()
            .ends_with("error: 2 of 3 account(s) rejected; nothing was imported"),
        "{}",
        run.stderr
    );
    assert_eq!(bo.snapshot(), before);
}

#[test]
fn bad_json_files_are_refused_with_a_clear_error_and_change_nothing() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");
    data.add_account("Globex", &[]);
    let before = data.snapshot();
    let export = |accounts: &str| {
        format!(
            r#"{{"format": "rapport-export-1", "workspace": {{"id": "x"}}, "accounts": {accounts}}}"#
        )
        .into_bytes()
    };
    let deal = |amount: &str| {
        export(&format!(
            r#"[{{"id": "x", "name": "A", "deals": [{{"id": "01JCZ0000000000000000000D1", "title": "T", "amount": {amount}, "currency": "EUR", "stage": "won"}}]}}]"#
        ))
    };
    // Nested deeper than any parser's stack: refused, never a crash.
    let mut deep = b"{\"format\": ".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    deep.extend(std::iter::repeat_n(b']', 100_000));
    deep.push(b'}');
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("empty.json", b" \n".to_vec(), &["the file is empty"]),
        (
            "text.json",
            b"Company name\nGlobex\n".to_vec(),
            &["not JSON", "line 1"],
        ),
        (
            "other.json",
            b"{\"accounts\": []}".to_vec(),
            &["not a Rapport export", "\"format\""],
        ),
        (
            "newer.json",
            b"{\"format\": \"rapport-export-2\"}".to_vec(),
            &["\"rapport-export-2\"", "expected \"rapport-export-1\""],
        ),
        (
            "list.json",
            export("{}"),
            &["export's shape", "expected a sequence"],
        ),
        (
            "float.json",
            deal("12.5"),
            &["export's shape", "floating point"],
        ),
        (
            "text-amount.json",
            deal("\"12\""),
            &["export's shape", "string \"12\""],
        ),
        ("deep.json", deep, &["recursion limit"]),
        // Content tells too: an object where a CSV header would be.
        (
            "export.csv",
            b"{\"format\": 1}".to_vec(),
            &["its format is 1"],
        ),
    ];
    for (name, bytes, needles) in cases {
        let file = write(tmp.path(), name, bytes);
        data.run(["import".as_ref(), file.as_os_str()])
            .fails_with(needles);
    }
    let huge = std::fs::File::create(tmp.path().join("huge.json")).unwrap();
    huge.set_len(512 * 1024 * 1024 + 1).unwrap();
    data.run(["import".as_ref(), tmp.path().join("huge.json").as_os_str()])
        .fails_with(&["the most an import reads is 536870912"]);
    let valid = write(tmp.path(), "valid.json", export("[]"));
    data.run([
        "import".as_ref(),
        valid.as_os_str(),
        "--kind".as_ref(),
        "accounts".as_ref(),
    ])
    .fails_with(&["--kind and --map are for CSV files"]);
    assert_eq!(data.snapshot(), before);
}

/// A JSON export of `accounts` accounts with a contact and a note each, written here.
fn generated_export(accounts: usize) -> Vec<u8> {
    let accounts: Vec<Value> = (0..accounts)
        .map(|i| {
            serde_json::json!({
                "id": DocumentId::random().to_string(),
                "name": format!("Company {i}"),
                "domain": format!("c{i}.example"),
                "contacts": [{
                    "id": ContactId::new().to_string(),
                    "name": format!("Ann Lee {i}"),
                    "email": format!("ann{i}@c{i}.example"),
                }],
                "timeline": [{
                    "id": EntryId::new().to_string(),
                    "kind": "note",
                    "team": "support",
                    "author": "cy",
                    "at": "2026-01-02T03:04:05.678Z",
                    "text": format!("note {i}"),
                    "alert": ["sales"],
                }],
            })
        })
        .collect();
    let export = serde_json::json!({
        "format": "rapport-export-1",
        "workspace": { "id": DocumentId::random().to_string(), "name": "Elsewhere" },
        "accounts": accounts,
    });
    serde_json::to_vec(&export).unwrap()
}

/// Killed midway, a JSON import leaves all of it or none: one redb transaction.
#[test]
fn a_json_import_killed_midway_leaves_all_or_nothing() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("d"), "ana", "sales");
    let file = write(tmp.path(), "big.json", generated_export(2_000));
    let count = || array(&data.list()).len();
    for delay in [100, 400, 1_000, 2_500] {
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
            found == 0 || found == 2_000,
            "a kill after {delay} ms left {found} accounts"
        );
        if found == 2_000 {
            break;
        }
    }
    let rows = import(&data, &file, &[]);
    assert_eq!(rows.len(), 2_000);
    assert_eq!(count(), 2_000);
    assert_eq!(
        array(&data.alerts(false)).len(),
        2_000,
        "every note alerts sales"
    );
}
