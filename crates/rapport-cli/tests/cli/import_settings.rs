//! The workspace's own settings in a JSON export (custom field definitions, standing alert
//! rules, segments): carried into a fresh workspace, reported by a dry run, kept where the
//! workspace has them otherwise, absent from older files, and refused whole when one does not
//! read.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Data, array, str_at, tmp};

/// A workspace with a number field and a choice field (defined in that order, against the
/// order of their names), a standing rule and a removed one, a segment, and an account whose
/// values fit the fields.
fn configured_workspace(dir: &Path) -> Data {
    let ana = Data::init(dir.join("ana"), "ana", "sales");
    ana.json(["workspace", "field", "add", "seats", "--type", "number"]);
    ana.json([
        "workspace",
        "field",
        "add",
        "region",
        "--type",
        "choice",
        "--options",
        "EMEA,US",
        "--label",
        "Sales region",
    ]);
    ana.add_rule(
        "gold-tickets",
        &["--when-kind", "ticket", "--when-tier", "gold"],
        "owner,followers",
    );
    let calls = ["workspace", "rule", "add", "calls", "--when-kind", "call"];
    ana.json(calls.into_iter().chain(["--alert", "sales"]));
    ana.json(["workspace", "rule", "remove", "calls"]);
    ana.json([
        "segment",
        "add",
        "EMEA customers",
        "--stage",
        "customer",
        "--custom",
        "region=EMEA",
    ]);
    ana.add_account("Globex", &["--tier", "gold", "--stage", "customer"]);
    ana.run([
        "account",
        "set",
        "Globex",
        "custom.region=emea",
        "custom.seats=250",
    ])
    .ok();
    ana
}

/// `export --format json --out FILE`: the file and its JSON.
#[track_caller]
fn export(data: &Data, name: &str) -> (PathBuf, Value) {
    let file = data.dir.join(name);
    let out = file.as_os_str();
    let args = ["export".as_ref(), "--format".as_ref(), "json".as_ref()];
    data.run(args.into_iter().chain(["--out".as_ref(), out]))
        .ok();
    let json = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    (file, json)
}

fn write(dir: &Path, name: &str, json: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(json).unwrap()).unwrap();
    path
}

/// `import FILE --json` (extra args after), asserting success.
#[track_caller]
fn import(data: &Data, file: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["import".as_ref(), file.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    data.json(args)
}

/// Each reported setting as `(setting, name, outcome)`.
fn settings(report: &Value) -> Vec<(String, String, String)> {
    array(&report["settings"])
        .iter()
        .map(|s| {
            let at = |key| str_at(s, key).to_owned();
            (at("setting"), at("name"), at("outcome"))
        })
        .collect()
}

fn all(outcome: &str) -> Vec<(String, String, String)> {
    [
        ("field", "seats"),
        ("field", "region"),
        ("rule", "gold-tickets"),
        ("segment", "EMEA customers"),
    ]
    .map(|(setting, name)| (setting.to_owned(), name.to_owned(), outcome.to_owned()))
    .to_vec()
}

/// `workspace rule list --json` without the rules' creation times, which are the import's.
fn rules_without_times(data: &Data) -> Value {
    let mut rules = data.json(["workspace", "rule", "list"]);
    for rule in rules.as_array_mut().unwrap() {
        assert!(rule.as_object_mut().unwrap().remove("created").is_some());
    }
    rules
}

/// The export without what a fresh workspace legitimately has otherwise: the workspace's id,
/// URL, name and members, each account's document id and URL, and each rule's creation time
/// (a rule imported is new there, and fires from the import on).
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
    for rule in export["rules"].as_array_mut().unwrap() {
        assert!(rule.as_object_mut().unwrap().remove("created").is_some());
    }
    export
}

#[test]
fn field_definitions_rules_and_segments_round_trip_into_a_fresh_workspace() {
    let tmp = tmp();
    let ana = configured_workspace(tmp.path());
    let (file, exported) = export(&ana, "acme.json");
    let names = |key: &str| -> Vec<String> {
        array(&exported[key])
            .iter()
            .map(|s| str_at(s, "name").to_owned())
            .collect()
    };
    assert_eq!(names("fields"), ["seats", "region"], "in definition order");
    assert_eq!(
        names("rules"),
        ["gold-tickets"],
        "the removed rule is left out"
    );
    assert_eq!(names("segments"), ["EMEA customers"]);

    let bo = Data::init(tmp.path().join("bo"), "bo", "sales");
    let before = bo.snapshot();
    let planned = import(&bo, &file, &["--dry-run"]);
    assert_eq!(settings(&planned), all("created"));
    assert_eq!(planned["accounts"][0]["outcome"], "created");
    let text = bo
        .run(["import".as_ref(), file.as_os_str(), "--dry-run".as_ref()])
        .ok()
        .stdout;
    for line in [
        "field   created   seats\n",
        "rule    created   gold-tickets\n",
        "segment created   EMEA customers\n",
        "4 workspace settings: 4 created, 0 unchanged, 0 kept as the workspace has them\n",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert_eq!(bo.snapshot(), before, "a dry run writes nothing");
    assert_eq!(
        bo.json(["workspace", "field", "list"]),
        Value::Array(vec![])
    );

    let imported = import(&bo, &file, &[]);
    assert_eq!(settings(&imported), all("created"));
    assert_eq!(
        bo.json(["workspace", "field", "list"]),
        ana.json(["workspace", "field", "list"])
    );
    assert_eq!(rules_without_times(&bo), rules_without_times(&ana));
    assert_eq!(
        bo.json(["segment", "list"]),
        ana.json(["segment", "list"]),
        "segments keep their ids"
    );
    let globex = bo.show("Globex");
    let fields: Vec<(&str, bool)> = array(&globex["custom_fields"])
        .iter()
        .map(|f| {
            (
                str_at(f, "name"),
                f["valid"] == true && f["type"].is_string(),
            )
        })
        .collect();
    assert_eq!(fields, [("seats", true), ("region", true)], "{globex:#}");
    let (_, reexported) = export(&bo, "again.json");
    assert_eq!(portable(&reexported), portable(&exported));

    // Again: every setting there as the file has it, nothing written.
    let before = bo.snapshot();
    let again = import(&bo, &file, &[]);
    assert_eq!(settings(&again), all("unchanged"));
    assert_eq!(bo.snapshot(), before);
}

#[test]
fn settings_the_workspace_has_otherwise_are_kept_and_reported() {
    let tmp = tmp();
    let ana = configured_workspace(tmp.path());
    let (file, _) = export(&ana, "acme.json");
    let bo = Data::init(tmp.path().join("bo"), "bo", "sales");
    let rule = ["workspace", "rule", "add", "gold-tickets", "--when-kind"];
    bo.json(rule.into_iter().chain(["ticket", "--alert", "support"]));
    bo.json(["workspace", "field", "add", "seats", "--type", "text"]);
    let rules = bo.json(["workspace", "rule", "list"]);

    let text = bo
        .run(["import".as_ref(), file.as_os_str(), "--dry-run".as_ref()])
        .ok()
        .stdout;
    for line in [
        "field   kept      seats: the workspace's differs from the file's and stays as it is: 'seats', text\n",
        "rule    kept      gold-tickets: the workspace's differs from the file's and stays as it is: when kind ticket, alerts support\n",
        "4 workspace settings: 2 created, 0 unchanged, 2 kept as the workspace has them\n",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    let imported = import(&bo, &file, &[]);
    let outcomes: Vec<String> = settings(&imported).into_iter().map(|s| s.2).collect();
    assert_eq!(outcomes, ["kept", "created", "kept", "created"]);
    assert_eq!(
        bo.json(["workspace", "rule", "list"]),
        rules,
        "never overwritten"
    );
    let fields = bo.json(["workspace", "field", "list"]);
    let types: Vec<(&str, &str)> = array(&fields)
        .iter()
        .map(|f| (str_at(f, "name"), str_at(f, "type")))
        .collect();
    assert_eq!(types, [("seats", "text"), ("region", "choice")]);
    assert_eq!(array(&bo.json(["segment", "list"])).len(), 1);
}

#[test]
fn an_export_without_settings_from_before_they_were_exported_still_imports() {
    let tmp = tmp();
    let ana = configured_workspace(tmp.path());
    let (_, mut exported) = export(&ana, "acme.json");
    let top = exported.as_object_mut().unwrap();
    for key in ["fields", "rules", "segments"] {
        assert!(top.remove(key).is_some(), "the export has {key}");
    }
    let file = write(tmp.path(), "old.json", &exported);
    let bo = Data::init(tmp.path().join("bo"), "bo", "sales");

    let imported = import(&bo, &file, &[]);
    assert_eq!(settings(&imported), []);
    assert_eq!(imported["accounts"][0]["outcome"], "created");
    assert_eq!(
        bo.json(["workspace", "field", "list"]),
        Value::Array(vec![])
    );
    assert_eq!(bo.json(["segment", "list"]), Value::Array(vec![]));
    assert_eq!(
        bo.show("Globex")["custom"],
        serde_json::json!({ "region": "EMEA", "seats": "250" }),
        "values land as fields nobody defined"
    );
}

#[test]
fn a_file_with_a_setting_that_does_not_read_is_refused_naming_it_and_changes_nothing() {
    let tmp = tmp();
    let ana = configured_workspace(tmp.path());
    let (_, exported) = export(&ana, "acme.json");
    let bo = Data::init(tmp.path().join("bo"), "bo", "sales");
    let before = bo.snapshot();
    let edits: [(&str, &str, Value, &[&str]); 4] = [
        (
            "fields",
            "type",
            "colour".into(),
            &[
                "field definition 'seats' in the file does not read",
                "invalid field type 'colour'",
            ],
        ),
        (
            "fields",
            "options",
            serde_json::json!(["EMEA"]),
            &[
                "field definition 'seats'",
                "only a choice field has options",
            ],
        ),
        (
            "rules",
            "alert",
            serde_json::json!(["owner", "@"]),
            &["alert rule 'gold-tickets' in the file does not read"],
        ),
        (
            "segments",
            "filter",
            serde_json::json!({ "planet": "mars" }),
            &[
                "segment 'EMEA customers' in the file does not read",
                "unknown field `planet`",
            ],
        ),
    ];
    for (key, field, value, needles) in edits {
        let mut edited = exported.clone();
        edited[key][0][field] = value;
        let file = write(tmp.path(), "edited.json", &edited);
        for dry_run in [&[][..], &["--dry-run"]] {
            let mut args = vec!["import".as_ref(), file.as_os_str()];
            args.extend(dry_run.iter().map(OsStr::new));
            let run = bo.run(args);
            run.fails_with(needles);
            assert!(run.stderr.contains("cannot import"), "{}", run.stderr);
        }
        assert_eq!(
            bo.snapshot(),
            before,
            "nothing imported after {key}.{field}"
        );
    }
}
