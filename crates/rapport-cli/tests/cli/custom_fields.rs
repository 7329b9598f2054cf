//! Custom fields the workspace defines: `workspace field add / list / remove`, values checked by
//! `account set` and by imports, defined fields shown first by `account show`, and definitions
//! made on two replicas offline meeting through the real relay.

use std::path::Path;

use serde_json::{Value, json};

use crate::processes::RelayServer;
use crate::support::{Data, array, tmp};

/// Defines the three fields most tests use: a choice with a label, a number, a date.
fn define_fields(data: &Data) {
    let added = data.json([
        "workspace",
        "field",
        "add",
        "region",
        "--type",
        "choice",
        "--options",
        "EMEA, Americas,APAC",
        "--label",
        "Sales region",
    ]);
    assert_eq!(
        added,
        json!({ "added": { "name": "region", "label": "Sales region", "type": "choice",
                           "options": ["EMEA", "Americas", "APAC"] } })
    );
    data.json(["workspace", "field", "add", "employees", "--type", "number"]);
    let renewal = ["workspace", "field", "add", "renewal", "--type", "date"];
    data.json(renewal.into_iter().chain(["--label", "Renewal"]));
}

/// The `(name, value, valid)` of each custom field `account show --json` lists, in its order.
fn custom_fields(account: &Value) -> Vec<(String, Value, bool)> {
    array(&account["custom_fields"])
        .iter()
        .map(|field| {
            let name = field["name"].as_str().unwrap_or_default().to_owned();
            let valid = field["valid"].as_bool().expect("valid is a boolean");
            (name, field["value"].clone(), valid)
        })
        .collect()
}

#[test]
fn values_of_a_defined_field_are_checked_and_account_show_lists_defined_fields_first() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("ana"), "ana", "sales");
    let account = data.add_account("Globex", &[]);
    // Values set before any definition: one will not fit the type defined later.
    data.json(["account", "set", &account, "custom.city=Lyon"]);
    data.json(["account", "set", &account, "custom.employees=forty"]);
    define_fields(&data);
    assert_eq!(
        data.json(["workspace", "field", "list"]),
        json!([
            { "name": "region", "label": "Sales region", "type": "choice",
              "options": ["EMEA", "Americas", "APAC"] },
            { "name": "employees", "label": "employees", "type": "number", "options": [] },
            { "name": "renewal", "label": "Renewal", "type": "date", "options": [] },
        ])
    );

    let before = data.snapshot();
    data.run(["account", "set", &account, "custom.region=Mars"])
        .fails_with(&[
            "invalid value 'Mars' for custom.region",
            "expected one of EMEA, Americas, APAC",
        ]);
    let mixed = ["tier=gold", "custom.renewal=2027-02-30"];
    data.run(["account", "set", &account].into_iter().chain(mixed))
        .fails_with(&[
            "invalid value '2027-02-30' for custom.renewal",
            "YYYY-MM-DD",
        ]);
    data.run(["account", "set", &account, "custom.employees=12 people"])
        .fails_with(&["for custom.employees: expected a number"]);
    assert_eq!(data.snapshot(), before, "a refused value changes nothing");

    let set = [
        "custom.region=emea",
        "custom.renewal=2027-03-31",
        "custom.city=Paris",
    ];
    let changed = data.json(["account", "set", &account].into_iter().chain(set));
    assert_eq!(
        changed["custom_fields"],
        json!([
            { "name": "region", "label": "Sales region", "type": "choice",
              "options": ["EMEA", "Americas", "APAC"], "value": "EMEA", "valid": true },
            { "name": "employees", "label": "employees", "type": "number",
              "value": "forty", "valid": false },
            { "name": "renewal", "label": "Renewal", "type": "date",
              "value": "2027-03-31", "valid": true },
            { "name": "city", "label": "city", "type": null, "value": "Paris", "valid": true },
        ]),
        "defined fields first in definition order (a choice as the option spells it), then \
         the undefined one; the value set before the definition is shown as it is, flagged"
    );
    assert_eq!(
        changed["custom"],
        json!({ "city": "Paris", "employees": "forty", "region": "EMEA", "renewal": "2027-03-31" })
    );
    assert_eq!(
        data.show(&account)["custom_fields"],
        changed["custom_fields"]
    );

    let text = data.run(["account", "show", &account]).ok().stdout;
    let region = text.find("Sales region EMEA").expect(&text);
    let city = text.find("city     Paris").expect(&text);
    assert!(region < city, "defined fields come first:\n{text}");
    assert!(
        text.contains("employees forty  (does not fit its type, number)"),
        "{text}"
    );
    data.json(["account", "set", &account, "custom.employees=40"]);
    assert_eq!(data.show(&account)["custom_fields"][1]["valid"], true);
}

#[test]
fn a_field_is_defined_once_with_a_valid_name_type_and_options() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("ana"), "ana", "sales");
    define_fields(&data);
    let before = data.snapshot();
    let add = |extra: &[&str]| {
        let mut args = vec!["workspace", "field", "add"];
        args.extend_from_slice(extra);
        data.run(args)
    };
    add(&["region", "--type", "text"]).fails_with(&["'region' is defined already"]);
    add(&["size", "--type", "choice"]).fails_with(&["needs at least one option"]);
    add(&["size", "--type", "number", "--options", "1,2"])
        .fails_with(&["only a choice field has options"]);
    add(&["size", "--type", "choice", "--options", "S,M,s"])
        .fails_with(&["option 's' is given twice"]);
    add(&["two.words", "--type", "text"]).refused_with(&["invalid custom field name 'two.words'"]);
    add(&["size", "--type", "colour"]).refused_with(&["invalid field type 'colour'"]);
    assert_eq!(data.snapshot(), before);
    let text = data.run(["workspace", "field", "list"]).ok().stdout;
    assert_eq!(
        text,
        "region  Sales region  choice: EMEA, Americas, APAC\n\
         employees  employees  number\n\
         renewal  Renewal  date\n"
    );
}

#[test]
fn removing_a_definition_keeps_the_values_accounts_hold() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("ana"), "ana", "sales");
    let account = data.add_account("Globex", &[]);
    define_fields(&data);
    data.json(["account", "set", &account, "custom.region=APAC"]);

    let removed = data.json(["workspace", "field", "remove", "region"]);
    assert_eq!(removed, json!({ "removed": "region" }));
    let shown = data.show(&account);
    assert_eq!(shown["custom"], json!({ "region": "APAC" }));
    assert_eq!(
        custom_fields(&shown),
        [
            ("employees".to_owned(), Value::Null, true),
            ("renewal".to_owned(), Value::Null, true),
            ("region".to_owned(), json!("APAC"), true),
        ],
        "the value stays, as a field nobody defined"
    );
    assert_eq!(shown["custom_fields"][2]["type"], Value::Null);
    data.run(["workspace", "field", "remove", "region"])
        .fails_with(&["no custom field named 'region' is defined"]);
    // Undefined again, the field takes any value, as custom fields always did.
    data.json(["account", "set", &account, "custom.region=Mars"]);
    assert_eq!(data.show(&account)["custom"]["region"], "Mars");
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the file is written");
    path
}

#[test]
fn imports_check_the_values_of_defined_fields_and_store_them_as_defined() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("ana"), "ana", "sales");
    define_fields(&data);
    let bad = write(
        tmp.path(),
        "bad.csv",
        "account.name,account.custom.region,account.custom.employees,account.custom.city\n\
         Globex,emea,40,Lyon\n\
         Initech,Mars,12,Paris\n",
    );
    let before = data.snapshot();
    let run = data.run(["import".as_ref(), bad.as_os_str()]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("line 3")
            && run
                .stderr
                .contains("invalid value 'Mars' for custom.region"),
        "{}",
        run.stderr
    );
    assert_eq!(data.snapshot(), before, "a rejected row imports nothing");

    let good = write(
        tmp.path(),
        "good.csv",
        "account.name,account.custom.region,account.custom.employees,account.custom.city\n\
         Globex,emea,40,Lyon\n",
    );
    data.json(["import".as_ref(), good.as_os_str()]);
    let globex = data.show("Globex");
    assert_eq!(
        globex["custom"],
        json!({ "region": "EMEA", "employees": "40", "city": "Lyon" }),
        "the choice is stored as the option spells it"
    );

    // A JSON export imported where the field offers other options: that account is refused.
    let export = tmp.path().join("export.json");
    data.run([
        "export".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--out".as_ref(),
        export.as_os_str(),
    ])
    .ok();
    let other = Data::init(tmp.path().join("bo"), "bo", "sales");
    let add = ["workspace", "field", "add", "region", "--type", "choice"];
    other.json(add.into_iter().chain(["--options", "North,South"]));
    let run = other.run(["import".as_ref(), export.as_os_str()]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr
            .contains("invalid value 'EMEA' for custom.region"),
        "{}",
        run.stderr
    );
    assert_eq!(other.account_ids(), Vec::<String>::new());
    other.json(["workspace", "field", "remove", "region"]);
    other.json(["import".as_ref(), export.as_os_str()]);
    assert_eq!(other.show("Globex")["custom"]["region"], "EMEA");
}

#[test]
fn fields_defined_on_two_replicas_offline_both_arrive_through_the_relay() {
    let tmp = tmp();
    let store = Data::at(tmp.path().join("relay"));
    let tokens = [("sam", "member"), ("sue", "member"), ("vic", "viewer")]
        .map(|(user, role)| (user, store.invite(user, "sales", role)));
    let relay = RelayServer::start(&store);
    let [sam, sue, vic] =
        tokens.map(|(user, token)| Data::join_relay(tmp.path().join(user), &relay.url, &token));
    let account = sam.add_account("Globex", &[]);
    let everyone = [&sam, &sue, &vic];
    let sync_all = || {
        for _ in 0..2 {
            for member in everyone {
                member.sync().ok();
            }
        }
    };
    sync_all();

    // Neither has synced since: each defines its own field and uses it.
    let region = ["workspace", "field", "add", "region", "--type", "choice"];
    sam.json(region.into_iter().chain(["--options", "EMEA,APAC"]));
    sam.json(["account", "set", &account, "custom.region=APAC"]);
    sue.json(["workspace", "field", "add", "employees", "--type", "number"]);
    sue.json(["account", "set", &account, "custom.employees=40"]);
    sync_all();

    let names = |data: &Data| -> Vec<String> {
        let list = data.json(["workspace", "field", "list"]);
        let mut names: Vec<String> = array(&list)
            .iter()
            .map(|d| d["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    };
    for member in everyone {
        assert_eq!(names(member), ["employees", "region"]);
        assert_eq!(
            member.json(["workspace", "field", "list"]),
            sam.json(["workspace", "field", "list"]),
            "every replica lists them in the same order"
        );
        let shown = member.show(&account);
        assert_eq!(
            shown["custom"],
            json!({ "region": "APAC", "employees": "40" })
        );
        assert!(custom_fields(&shown).iter().all(|(_, _, valid)| *valid));
    }
    // Sue's definition checks sam's values now.
    sam.run(["account", "set", &account, "custom.employees=many"])
        .fails_with(&["for custom.employees: expected a number"]);
    vic.run(["workspace", "field", "add", "tier2", "--type", "text"])
        .fails_with(&["vic is a viewer of this workspace"]);
    vic.run(["workspace", "field", "remove", "region"])
        .fails_with(&["vic is a viewer of this workspace"]);
    assert_eq!(names(&vic), ["employees", "region"]);
}
