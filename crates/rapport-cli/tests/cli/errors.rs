//! Every refusal: a non-zero exit, one line on stderr naming the problem, nothing on stdout, and
//! nothing changed in the replica.

use std::collections::BTreeMap;

use crate::support::{Data, tmp};

/// A replica with one account holding one of everything.
pub(crate) struct Fixture {
    pub(crate) data: Data,
    pub(crate) account: String,
    pub(crate) contact: String,
    pub(crate) deal: String,
    pub(crate) task: String,
    pub(crate) note: String,
}

pub(crate) fn fixture(tmp: &tempfile::TempDir) -> Fixture {
    let data = Data::init(tmp.path().join("data"), "ana", "support");
    let account = data.add_account("Globex", &["--domain", "globex.com", "--stage", "customer"]);
    let contact = data.id_of([
        "contact",
        "add",
        &account,
        "--name",
        "Hank",
        "--email",
        "hank@globex.com",
    ]);
    let deal = data.id_of([
        "deal", "add", &account, "--title", "Upgrade", "--amount", "1000",
    ]);
    let task = data.id_of(["task", "add", &account, "Send the quote"]);
    let note = data.id_of(["note", "add", &account, "Asked about SSO"]);
    data.run(["account", "set", &account, "phone=+1-555-0100"])
        .ok();
    Fixture {
        data,
        account,
        contact,
        deal,
        task,
        note,
    }
}

/// Runs `args` in text and in JSON mode: both must fail as the binary reports errors, naming
/// every needle, and leave the replica as it was.
#[track_caller]
pub(crate) fn rejected(data: &Data, args: &[&str], needles: &[&str]) {
    let before = data.snapshot();
    data.run(args).fails_with(needles);
    data.run_json(args).fails_with(needles);
    assert_eq!(
        data.snapshot(),
        before,
        "rapport {args:?} changed the replica"
    );
}

/// Like [`rejected`], for arguments that clap refuses before the command runs.
#[track_caller]
fn refused(data: &Data, args: &[&str], needles: &[&str]) {
    let before = data.snapshot();
    data.run(args).refused_with(needles);
    data.run_json(args).refused_with(needles);
    assert_eq!(
        data.snapshot(),
        before,
        "rapport {args:?} changed the replica"
    );
}

#[test]
fn an_unknown_account_is_named_by_every_command_that_takes_one() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let unknown = ["unknown account 'Nope'"];
    for args in [
        &["account", "show", "Nope"][..],
        &["account", "set", "Nope", "phone=1"],
        &["contact", "add", "Nope", "--name", "N"],
        &["note", "add", "Nope", "text"],
        &["log", "Nope", "--kind", "call", "text"],
        &["deal", "add", "Nope", "--title", "T", "--amount", "1"],
        &["task", "add", "Nope", "T"],
    ] {
        rejected(&f.data, args, &unknown);
    }
    rejected(&f.data, &["account", "show", ""], &["unknown account"]);
    // A prefix of no id is read as a name, and no account has it.
    rejected(
        &f.data,
        &["account", "show", "Globe"],
        &["unknown account 'Globe'"],
    );
}

#[test]
fn an_ambiguous_id_prefix_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let mut by_first: BTreeMap<char, Vec<String>> = BTreeMap::new();
    by_first
        .entry(f.account.chars().next().unwrap())
        .or_default()
        .push(f.account.clone());
    let mut n = 0;
    let (first, twins) = loop {
        if let Some((c, ids)) = by_first.iter().find(|(_, ids)| ids.len() > 1) {
            break (c.to_string(), ids.clone());
        }
        n += 1;
        assert!(
            n < 100,
            "two of {n} random ids should share a first character"
        );
        let id = f.data.add_account(&format!("Account {n}"), &[]);
        by_first
            .entry(id.chars().next().unwrap())
            .or_default()
            .push(id);
    };
    let needles = [
        format!("'{first}' matches 2 accounts"),
        twins[0].clone(),
        twins[1].clone(),
    ];
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    for args in [
        &["account", "show", first.as_str()][..],
        &["account", "set", &first, "phone=1"],
        &["note", "add", &first, "text"],
        &["deal", "add", &first, "--title", "T", "--amount", "1"],
    ] {
        rejected(&f.data, args, &needles);
    }
    // Enough of the id picks one.
    assert_eq!(f.data.show(&twins[1])["id"], twins[1].as_str());
}

#[test]
fn an_ambiguous_name_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let a = f.data.add_account("Twin", &[]);
    let b = f.data.add_account("Twin", &[]);
    rejected(
        &f.data,
        &["account", "show", "Twin"],
        &["'Twin' matches 2 accounts", &a, &b],
    );
    rejected(
        &f.data,
        &["note", "add", "twin", "hello"],
        &["matches 2 accounts"],
    );
}

#[test]
fn an_invalid_stage_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    refused(
        &f.data,
        &["account", "add", "Initech", "--stage", "vip"],
        &["invalid stage 'vip'", "lead, prospect, customer, churned"],
    );
    rejected(
        &f.data,
        &["account", "set", &f.account, "stage=vip"],
        &["invalid stage 'vip'", "lead, prospect, customer, churned"],
    );
    // One bad assignment refuses the whole command.
    rejected(
        &f.data,
        &[
            "account",
            "set",
            &f.account,
            "phone=+1-555-0000",
            "stage=Customer",
        ],
        &["invalid stage 'Customer'"],
    );
    assert_eq!(f.data.show(&f.account)["phone"], "+1-555-0100");
}

#[test]
fn an_invalid_team_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let fresh = Data::at(tmp.path().join("fresh"));
    fresh
        .run([
            "init",
            "--workspace",
            "Acme",
            "--user",
            "bo",
            "--team",
            "hr",
        ])
        .refused_with(&["invalid team 'hr'", "sales, marketing, support"]);
    assert!(!fresh.dir.exists(), "nothing is created");
    refused(
        &f.data,
        &["note", "add", &f.account, "text", "--alert", "hr"],
        &["invalid alert target 'hr'"],
    );
    refused(
        &f.data,
        &[
            "log", &f.account, "--kind", "call", "text", "--alert", "Sales",
        ],
        &["invalid alert target 'Sales'"],
    );
    refused(
        &f.data,
        &["note", "add", &f.account, "text", "--alert", "@"],
        &["invalid user name"],
    );
}

#[test]
fn an_invalid_user_name_or_entry_kind_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let fresh = Data::at(tmp.path().join("fresh"));
    fresh
        .run([
            "init",
            "--workspace",
            "Acme",
            "--user",
            "bo smith",
            "--team",
            "sales",
        ])
        .refused_with(&["invalid user name 'bo smith'"]);
    assert!(!fresh.dir.exists());
    refused(
        &f.data,
        &["account", "add", "Initech", "--owner", "a/b"],
        &["invalid user name 'a/b'"],
    );
    rejected(
        &f.data,
        &["account", "set", &f.account, "owner=bo smith"],
        &["invalid user name 'bo smith'"],
    );
    refused(
        &f.data,
        &["task", "add", &f.account, "T", "--assignee", "bo smith"],
        &["invalid user name 'bo smith'"],
    );
    refused(
        &f.data,
        &["log", &f.account, "--kind", "fax", "text"],
        &["invalid entry kind 'fax'"],
    );
}

#[test]
fn a_bad_email_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    for bad in [
        "hank",
        "hank@",
        "@globex.com",
        "hank@globex",
        "hank @globex.com",
    ] {
        let needle = format!("invalid email '{}'", bad.trim());
        rejected(
            &f.data,
            &[
                "contact", "add", &f.account, "--name", "Hank", "--email", bad,
            ],
            &[&needle],
        );
        rejected(
            &f.data,
            &["contact", "set", &f.contact, &format!("email={bad}")],
            &[&needle],
        );
    }
    assert_eq!(
        f.data.show(&f.account)["contacts"][0]["email"],
        "hank@globex.com"
    );
}

#[test]
fn a_bad_amount_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    for bad in [
        "12,5",
        "abc",
        "1.234",
        "",
        "1e3",
        ".5",
        "-5",
        "+5",
        "99999999999999999999",
    ] {
        let needle = format!("invalid amount '{bad}' for EUR");
        let amount = format!("--amount={bad}");
        rejected(
            &f.data,
            &["deal", "add", &f.account, "--title", "T", &amount],
            &[&needle],
        );
    }
    rejected(
        &f.data,
        &[
            "deal",
            "add",
            &f.account,
            "--title",
            "T",
            "--amount",
            "100.5",
            "--currency",
            "JPY",
        ],
        &["invalid amount '100.5' for JPY"],
    );
    refused(
        &f.data,
        &[
            "deal",
            "add",
            &f.account,
            "--title",
            "T",
            "--amount",
            "5",
            "--currency",
            "EURO",
        ],
        &["invalid currency 'EURO'"],
    );
}

#[test]
fn a_bad_date_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    for bad in [
        "2026-13-01",
        "2026-02-30",
        "31/12/2026",
        "2026-1-1",
        "tomorrow",
        "",
    ] {
        let needle = format!("invalid date '{bad}'");
        let close = format!("--close={bad}");
        rejected(
            &f.data,
            &[
                "deal", "add", &f.account, "--title", "T", "--amount", "1", &close,
            ],
            &[&needle, "YYYY-MM-DD"],
        );
        let due = format!("--due={bad}");
        rejected(
            &f.data,
            &["task", "add", &f.account, "T", &due],
            &[&needle, "YYYY-MM-DD"],
        );
    }
}

#[test]
fn an_unknown_deal_stage_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let pipeline = "qualification, proposal, negotiation, won, lost";
    rejected(
        &f.data,
        &[
            "deal", "add", &f.account, "--title", "T", "--amount", "1", "--stage", "closing",
        ],
        &["invalid deal stage 'closing'", pipeline],
    );
    for stage in ["closing", "Won", ""] {
        rejected(
            &f.data,
            &["deal", "move", &f.deal, stage],
            &[&format!("invalid deal stage '{stage}'"), pipeline],
        );
    }
    assert_eq!(
        f.data.show(&f.account)["deals"][0]["stage"],
        "qualification"
    );
}

#[test]
fn unknown_deal_task_contact_and_alert_ids_are_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    // A well-formed id that no item has, and text that is no id at all.
    for id in ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "zzz"] {
        let upper = id;
        rejected(
            &f.data,
            &["deal", "move", id, "won"],
            &[&format!("unknown deal '{upper}'")],
        );
        rejected(
            &f.data,
            &["task", "done", id],
            &[&format!("unknown task '{upper}'")],
        );
        rejected(
            &f.data,
            &["contact", "set", id, "phone=1"],
            &[&format!("unknown contact '{upper}'")],
        );
        rejected(
            &f.data,
            &["alerts", "ack", id],
            &[&format!("unknown alert '{upper}'")],
        );
    }
    // The id of another kind of item is not a deal, a task or a contact.
    rejected(
        &f.data,
        &["deal", "move", &f.task, "won"],
        &["deal", &f.task],
    );
    rejected(&f.data, &["task", "done", &f.deal], &["task", &f.deal]);
    rejected(
        &f.data,
        &["contact", "set", &f.note, "phone=1"],
        &["contact", &f.note],
    );
    rejected(&f.data, &["alerts", "ack", &f.contact], &[&f.contact]);
}

#[test]
fn empty_names_titles_and_texts_are_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let a = f.account.as_str();
    for (args, needle) in [
        (
            &["account", "add", "  "][..],
            "account name must not be empty",
        ),
        (
            &["account", "set", a, "name="],
            "account name must not be empty",
        ),
        (
            &["contact", "add", a, "--name", ""],
            "contact name must not be empty",
        ),
        (
            &["contact", "set", &f.contact, "name= "],
            "contact name must not be empty",
        ),
        (&["note", "add", a, " "], "note text must not be empty"),
        (
            &["log", a, "--kind", "email", ""],
            "email text must not be empty",
        ),
        (
            &["deal", "add", a, "--title", "", "--amount", "1"],
            "deal title must not be empty",
        ),
        (&["task", "add", a, "  "], "task title must not be empty"),
    ] {
        rejected(&f.data, args, &[needle]);
    }
}

#[test]
fn invalid_assignments_are_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let a = f.account.as_str();
    rejected(
        &f.data,
        &["account", "set", a, "phone"],
        &["invalid assignment 'phone'", "FIELD=VALUE"],
    );
    rejected(
        &f.data,
        &["account", "set", a, "bogus=1"],
        &["unknown field 'bogus'"],
    );
    rejected(
        &f.data,
        &["account", "set", a, "custom.=x"],
        &["custom field name must not be empty"],
    );
    rejected(
        &f.data,
        &["contact", "set", &f.contact, "company=Globex"],
        &["unknown field 'company'"],
    );
    refused(&f.data, &["account", "set", a], &["required arguments"]);
}
