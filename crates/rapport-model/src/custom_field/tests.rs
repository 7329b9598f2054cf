#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ScalarValue};

use super::*;
use crate::vocab::Team;

fn name(text: &str) -> FieldName {
    text.parse().unwrap()
}

fn options(list: &[&str]) -> Vec<String> {
    list.iter().map(|o| (*o).to_owned()).collect()
}

fn define(kind: FieldType, field: &str, choices: &[&str]) -> FieldDefinition {
    FieldDefinition::new(name(field), kind, None, &options(choices)).unwrap()
}

/// An edit by ana at `millis`.
fn edit_at(millis: i64) -> Edit {
    Edit {
        user: "ana".parse().unwrap(),
        team: Team::Sales,
        at: jiff::Timestamp::from_millisecond(millis).unwrap(),
    }
}

fn put(doc: &mut AutoCommit, at: i64, definition: &FieldDefinition) {
    put_definition(doc, &edit_at(at), definition).unwrap();
}

fn names(doc: &AutoCommit) -> Vec<String> {
    definitions(doc)
        .iter()
        .map(|d| d.name.to_string())
        .collect()
}

#[test]
fn values_are_checked_against_the_type_and_stored_normalized() {
    let number = define(FieldType::Number, "employees", &[]);
    for good in ["1200", "-3", "+7", "99.50", " 42 "] {
        assert_eq!(number.check(good).unwrap(), good.trim(), "{good}");
    }
    for bad in ["", "12a", "1,200", "1.", ".5", "1e3", "--1", "NaN"] {
        let error = number.check(bad).unwrap_err().to_string();
        assert!(
            error.contains("for custom.employees: expected a number"),
            "{bad}: {error}"
        );
    }

    let date = define(FieldType::Date, "renewal", &[]);
    assert_eq!(date.check("2027-03-31").unwrap(), "2027-03-31");
    for bad in ["2027-02-30", "31/03/2027", "2027-3-1", "soon"] {
        assert!(date.check(bad).is_err(), "{bad}");
    }

    let region = define(FieldType::Choice, "region", &["EMEA", "Americas", "APAC"]);
    assert_eq!(
        region.check("emea").unwrap(),
        "EMEA",
        "matched without case"
    );
    let error = region.check("Mars").unwrap_err().to_string();
    assert_eq!(
        error,
        "invalid value 'Mars' for custom.region: expected one of EMEA, Americas, APAC"
    );

    let site = define(FieldType::Url, "portal", &[]);
    assert!(site.check("https://acme.example/login").is_ok());
    for bad in [
        "acme.example",
        "https://",
        "http://a b",
        "ftp://acme.example",
    ] {
        assert!(site.check(bad).is_err(), "{bad}");
    }
    let email = define(FieldType::Email, "billing", &[]);
    assert!(email.check("ap@acme.example").is_ok());
    assert!(email.check("accounts payable").is_err());
    let text = define(FieldType::Text, "notes", &[]);
    assert_eq!(text.check("  anything at all ").unwrap(), "anything at all");
}

#[test]
fn a_definition_is_checked_when_made() {
    let choice = |list: &[&str]| {
        FieldDefinition::new(name("region"), FieldType::Choice, None, &options(list))
    };
    assert!(choice(&[]).is_err(), "a choice needs options");
    assert!(choice(&[" ", ""]).is_err(), "blank options are none");
    assert!(choice(&["EMEA", "emea"]).is_err(), "options are distinct");
    assert!(choice(&["a,b"]).is_err(), "an option holds no comma");
    assert_eq!(
        choice(&[" EMEA ", "APAC"]).unwrap().options,
        ["EMEA", "APAC"]
    );
    let error = FieldDefinition::new(name("size"), FieldType::Number, None, &options(&["1"]));
    assert!(
        error
            .unwrap_err()
            .to_string()
            .contains("only a choice field")
    );

    let labelled = FieldDefinition::new(name("arr"), FieldType::Number, Some(" ARR "), &[]);
    assert_eq!(labelled.unwrap().label, "ARR");
    let unlabelled = FieldDefinition::new(name("arr"), FieldType::Number, Some(""), &[]);
    assert_eq!(
        unlabelled.unwrap().label,
        "arr",
        "a blank label is the name"
    );
    let long = "x".repeat(MAX_LABEL + 1);
    assert!(FieldDefinition::new(name("arr"), FieldType::Text, Some(&long), &[]).is_err());

    for bad in ["", "two words", "a.b", "custom:x", &"n".repeat(65)] {
        assert!(bad.parse::<FieldName>().is_err(), "{bad}");
    }
    assert!("région_2-b".parse::<FieldName>().is_ok());
    assert!("wrong".parse::<FieldType>().is_err());
}

#[test]
fn definitions_read_back_in_the_order_they_were_made_and_can_be_removed() {
    let mut doc = AutoCommit::new();
    let region = FieldDefinition::new(
        name("region"),
        FieldType::Choice,
        Some("Sales region"),
        &options(&["EMEA", "APAC"]),
    )
    .unwrap();
    put(
        &mut doc,
        3_000,
        &define(FieldType::Number, "employees", &[]),
    );
    put(&mut doc, 1_000, &region);
    put(&mut doc, 2_000, &define(FieldType::Date, "renewal", &[]));
    assert_eq!(names(&doc), ["region", "renewal", "employees"]);
    assert_eq!(definitions(&doc)[0], region);

    remove_definition(&mut doc, &name("renewal")).unwrap();
    assert_eq!(names(&doc), ["region", "employees"]);
    let error = remove_definition(&mut doc, &name("renewal")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no custom field named 'renewal'")
    );
}

#[test]
fn definitions_made_in_one_change_keep_the_order_they_were_given() {
    let mut doc = AutoCommit::new();
    let given = [
        define(FieldType::Number, "seats", &[]),
        define(FieldType::Choice, "region", &["EMEA"]),
        define(FieldType::Text, "city", &[]),
    ];
    put_definitions(&mut doc, &edit_at(1_000), &given).unwrap();
    assert_eq!(definitions(&doc), given);
}

#[test]
fn definitions_made_on_two_replicas_at_once_both_survive_the_merge() {
    let mut ana = AutoCommit::new();
    ana.put(ROOT, "type", "workspace").unwrap();
    let mut bo = ana.fork();
    put(
        &mut ana,
        1_000,
        &define(FieldType::Number, "employees", &[]),
    );
    put(
        &mut bo,
        1_000,
        &define(FieldType::Choice, "region", &["EMEA"]),
    );
    ana.merge(&mut bo).unwrap();
    bo.merge(&mut ana).unwrap();
    assert_eq!(names(&ana), ["employees", "region"]);
    assert_eq!(definitions(&ana), definitions(&bo));
}

#[test]
fn definitions_of_another_shape_are_skipped_not_fatal() {
    let mut doc = AutoCommit::new();
    put(&mut doc, 1_000, &define(FieldType::Text, "good", &[]));
    // A foreign peer's ideas of a definition, each unreadable in its own way.
    doc.put(ROOT, "field:as-text", "{\"type\":\"number\"}")
        .unwrap();
    let unknown = doc.put_object(ROOT, "field:later", ObjType::Map).unwrap();
    doc.put(&unknown, "type", "currency").unwrap();
    let untyped = doc.put_object(ROOT, "field:untyped", ObjType::Map).unwrap();
    doc.put(&untyped, "label", "No type").unwrap();
    let empty = doc
        .put_object(ROOT, "field:no-options", ObjType::Map)
        .unwrap();
    doc.put(&empty, "type", "choice").unwrap();
    let numeric = doc
        .put_object(ROOT, "field:odd-label", ObjType::Map)
        .unwrap();
    doc.put(&numeric, "type", "text").unwrap();
    doc.put(&numeric, "label", 7).unwrap();
    let bad_name = doc
        .put_object(ROOT, "field:two words", ObjType::Map)
        .unwrap();
    doc.put(&bad_name, "type", "text").unwrap();
    // A readable one written the JavaScript way: text objects, no time, an extra key.
    let foreign = doc.put_object(ROOT, "field:tier2", ObjType::Map).unwrap();
    let kind = doc.put_object(&foreign, "type", ObjType::Text).unwrap();
    doc.splice_text(&kind, 0, 0, "choice").unwrap();
    let list = doc.put_object(&foreign, "options", ObjType::Text).unwrap();
    doc.splice_text(&list, 0, 0, "a,b").unwrap();
    doc.put(&foreign, "color", "red").unwrap();
    doc.put(&foreign, "defined", ScalarValue::Str("yesterday".into()))
        .unwrap();

    let read = definitions(&doc);
    assert_eq!(names(&doc), ["good", "odd-label", "tier2"]);
    assert_eq!(
        read[1].label, "odd-label",
        "a label that is not text is the name"
    );
    assert_eq!(read[2].kind, FieldType::Choice);
    assert_eq!(read[2].options, ["a", "b"]);
}

#[test]
fn an_account_shows_defined_fields_first_then_the_others_and_flags_what_does_not_fit() {
    let definitions = [
        define(FieldType::Choice, "region", &["EMEA", "APAC"]),
        define(FieldType::Number, "employees", &[]),
        define(FieldType::Date, "renewal", &[]),
    ];
    let custom: BTreeMap<String, String> = [
        ("employees", "about forty"),
        ("region", "EMEA"),
        ("city", "Lyon"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let shown = present(&definitions, &custom);
    let rows: Vec<(&str, Option<&str>, bool)> = shown
        .iter()
        .map(|c| (c.name.as_str(), c.value.as_deref(), c.valid))
        .collect();
    assert_eq!(
        rows,
        [
            ("region", Some("EMEA"), true),
            ("employees", Some("about forty"), false),
            ("renewal", None, true),
            ("city", Some("Lyon"), true),
        ]
    );
    assert_eq!(shown[3].kind, None);
    let json = serde_json::to_value(&shown[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "name": "region", "label": "region", "type": "choice",
            "options": ["EMEA", "APAC"], "value": "EMEA", "valid": true,
        })
    );
}

#[test]
fn assignments_are_checked_only_where_a_definition_exists() {
    let definitions = [define(FieldType::Number, "employees", &[])];
    let parse = |texts: &[&str]| -> Vec<AccountAssignment> {
        texts
            .iter()
            .map(|t| AccountAssignment::parse(t).unwrap())
            .collect()
    };
    let checked = check_assignments(
        &definitions,
        &parse(&["custom.employees= 40 ", "custom.city=Lyon", "tier=gold"]),
    )
    .unwrap();
    assert_eq!(
        checked,
        parse(&["custom.employees=40", "custom.city=Lyon", "tier=gold"])
    );
    assert!(check_assignments(&definitions, &parse(&["custom.employees=many"])).is_err());
    let cleared = check_assignments(&definitions, &parse(&["custom.employees="])).unwrap();
    assert_eq!(
        cleared[0].value, None,
        "clearing a defined field is allowed"
    );
}
