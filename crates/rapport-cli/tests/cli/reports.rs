//! `rapport report`: the pipeline, win rate, interactions and attention reports, over replicas
//! of three members of three teams whose documents were exchanged.

use rapport_model::account::{self, NewEntry};
use rapport_model::{Edit, EntryId, EntryKind, Team};
use rapport_store::Replica;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{Data, array, copy_documents, document_id, join, str_at, tmp};

/// A workspace as sam (sales) sees it after sue (support) and mia (marketing) wrote on it:
///
/// - Globex (owner ana): open Upgrade 24,000 EUR in proposal and Seats 500 USD in
///   negotiation, a deal lost closing 2999-02-01; sam's note; sue's ticket, not followed up.
/// - Initech (owner bo): open Renewal 1,000 EUR in qualification, Pilot won closing
///   2999-01-01, Audit lost closing 2001-01-01; sam's call; sue's ticket and then her call.
/// - Hooli (no owner): open Expansion 700 EUR in proposal, a deal won without a close date;
///   mia's campaign.
/// - Umbrella: one note from 2020. Vandelay: nothing at all.
pub(crate) struct Workspace {
    pub(crate) sam: Data,
    pub(crate) globex: String,
    umbrella: String,
    vandelay: String,
    _tmp: TempDir,
}

impl Workspace {
    pub(crate) fn build() -> Self {
        let tmp = tmp();
        let sam = Data::init(tmp.path().join("sam"), "sam", "sales");
        let globex = sam.add_account("Globex", &["--owner", "ana", "--stage", "customer"]);
        let initech = sam.add_account("Initech", &["--owner", "bo"]);
        let hooli = sam.add_account("Hooli", &[]);
        let umbrella = sam.add_account("Umbrella", &["--owner", "ana"]);
        let vandelay = sam.add_account("Vandelay", &["--owner", "bo"]);
        for (account, title, amount, currency, stage, close) in [
            (&globex, "Upgrade", "24000", "EUR", "proposal", None),
            (&globex, "Seats", "500", "USD", "negotiation", None),
            (
                &globex,
                "Support plan",
                "80",
                "EUR",
                "lost",
                Some("2999-02-01"),
            ),
            (&initech, "Renewal", "1000", "EUR", "qualification", None),
            (&initech, "Pilot", "300", "EUR", "won", Some("2999-01-01")),
            (&initech, "Audit", "200", "EUR", "lost", Some("2001-01-01")),
            (&hooli, "Expansion", "700", "EUR", "proposal", None),
            (&hooli, "Starter", "90", "EUR", "won", None),
        ] {
            let mut args = vec![
                "deal",
                "add",
                account,
                "--title",
                title,
                "--amount",
                amount,
                "--currency",
                currency,
                "--stage",
                stage,
            ];
            if let Some(close) = close {
                args.extend(["--close", close]);
            }
            sam.id_of(args);
        }
        sam.id_of(["log", &globex, "--kind", "note", "Kickoff with the CTO"]);
        sam.id_of(["log", &initech, "--kind", "call", "Renewal call"]);
        old_note(&sam, &umbrella);

        let sue = join(&sam, &tmp.path().join("sue"), "sue", Team::Support);
        let mia = join(&sam, &tmp.path().join("mia"), "mia", Team::Marketing);
        sue.id_of(["log", &globex, "--kind", "ticket", "Exports fail"]);
        sue.id_of(["log", &initech, "--kind", "ticket", "Login loops"]);
        sue.id_of(["log", &initech, "--kind", "call", "Fixed the login loop"]);
        mia.id_of(["log", &hooli, "--kind", "campaign", "Webinar invite"]);
        copy_documents(&sue, &sam);
        copy_documents(&mia, &sam);
        Self {
            sam,
            globex,
            umbrella,
            vandelay,
            _tmp: tmp,
        }
    }

    fn report(&self, args: &[&str]) -> Value {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        self.sam.json(all)
    }
}

/// A note sam wrote on `account` in March 2020, through the store (the binary writes the time
/// of the command).
fn old_note(sam: &Data, account: &str) {
    let mut replica = Replica::open(&sam.dir).expect("sam's replica opens");
    let edit = Edit {
        user: "sam".parse().unwrap(),
        team: Team::Sales,
        at: "2020-03-02T10:00:00Z".parse().unwrap(),
    };
    let note = NewEntry {
        kind: EntryKind::Note,
        text: "Met at a trade fair".into(),
        alert: Vec::new(),
    };
    replica
        .change_account(document_id(account), &edit, |tx| {
            account::add_entry(tx, &edit, EntryId::new(), &note)
        })
        .expect("the old note is written");
}

fn totals(pairs: &[(&str, i64)]) -> Value {
    pairs
        .iter()
        .map(|(currency, amount)| json!({ "currency": currency, "amount": amount }))
        .collect()
}

#[test]
fn reports_count_open_pipeline_win_rate_interactions_and_accounts_needing_attention() {
    let ws = Workspace::build();

    let pipeline = ws.report(&["pipeline"]);
    assert_eq!(
        pipeline,
        json!({
            "deals": 4,
            "totals": totals(&[("EUR", 2_570_000), ("USD", 50_000)]),
            "stages": [
                { "stage": "qualification", "deals": 1, "totals": totals(&[("EUR", 100_000)]) },
                { "stage": "proposal", "deals": 2, "totals": totals(&[("EUR", 2_470_000)]) },
                { "stage": "negotiation", "deals": 1, "totals": totals(&[("USD", 50_000)]) },
            ],
            "owners": [
                { "owner": "ana", "deals": 2, "totals": totals(&[("EUR", 2_400_000), ("USD", 50_000)]) },
                { "owner": "bo", "deals": 1, "totals": totals(&[("EUR", 100_000)]) },
                { "owner": null, "deals": 1, "totals": totals(&[("EUR", 70_000)]) },
            ],
        })
    );

    let win_rate = ws.report(&["win-rate"]);
    assert_eq!(
        win_rate,
        json!({
            "days": null,
            "since": null,
            "overall": { "won": 2, "lost": 2, "rate": 0.5 },
            "owners": [
                { "owner": "ana", "won": 0, "lost": 1, "rate": 0.0 },
                { "owner": "bo", "won": 1, "lost": 1, "rate": 0.5 },
                { "owner": null, "won": 1, "lost": 0, "rate": 1.0 },
            ],
            "undated": 0,
        })
    );
    let recent = ws.report(&["win-rate", "--days", "30"]);
    let today = jiff::Timestamp::now();
    let since: jiff::civil::Date = str_at(&recent, "since").parse().unwrap();
    let expected_since = (today - jiff::SignedDuration::from_hours(30 * 24))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    assert_eq!(since, expected_since);
    assert_eq!(
        (
            &recent["days"],
            &recent["overall"],
            &recent["owners"],
            &recent["undated"]
        ),
        (
            &json!(30),
            &json!({ "won": 1, "lost": 1, "rate": 0.5 }),
            &json!([
                { "owner": "ana", "won": 0, "lost": 1, "rate": 0.0 },
                { "owner": "bo", "won": 1, "lost": 0, "rate": 1.0 },
            ]),
            &json!(1),
        ),
        "closing 2001 is outside the window, the undated win is left out and counted: {recent:#}"
    );

    let interactions = ws.report(&["interactions", "--days", "30"]);
    let kinds = |pairs: &[(&str, u64)]| {
        let mut all =
            json!({ "note": 0, "call": 0, "email": 0, "meeting": 0, "ticket": 0, "campaign": 0 });
        for (kind, count) in pairs {
            all[*kind] = json!(count);
        }
        all
    };
    assert_eq!(interactions["days"], 30);
    assert_eq!(interactions["entries"], 6, "the 2020 note is outside");
    assert_eq!(
        interactions["teams"],
        json!([
            { "team": "sales", "entries": 2, "kinds": kinds(&[("note", 1), ("call", 1)]) },
            { "team": "marketing", "entries": 1, "kinds": kinds(&[("campaign", 1)]) },
            { "team": "support", "entries": 3, "kinds": kinds(&[("ticket", 2), ("call", 1)]) },
        ])
    );

    let attention = ws.report(&["attention"]);
    assert_eq!(attention["days"], 30, "30 days unless told");
    assert_eq!(
        attention["untouched"],
        json!([
            { "account": ws.vandelay, "name": "Vandelay", "owner": "bo", "stage": "lead", "last_entry": null },
            { "account": ws.umbrella, "name": "Umbrella", "owner": "ana", "stage": "lead", "last_entry": "2020-03-02T10:00:00Z" },
        ])
    );
    let ticket = array(&ws.sam.show(&ws.globex)["timeline"])
        .iter()
        .find(|entry| entry["kind"] == "ticket")
        .map(|entry| entry["at"].clone())
        .expect("Globex's ticket");
    assert_eq!(
        attention["open_tickets"],
        json!([{
            "account": ws.globex,
            "name": "Globex",
            "owner": "ana",
            "stage": "customer",
            "ticket_at": ticket,
            "deals": 2,
            "totals": totals(&[("EUR", 2_400_000), ("USD", 50_000)]),
        }]),
        "Initech's ticket was followed up by support"
    );
    let longer = ws.report(&["attention", "--days", "3650"]);
    let names: Vec<&str> = array(&longer["untouched"])
        .iter()
        .map(|a| str_at(a, "name"))
        .collect();
    assert_eq!(names, ["Vandelay"], "2020 is within ten years");
}

#[test]
fn reports_print_as_text_for_people() {
    let ws = Workspace::build();
    let text = ws.sam.run(["report", "pipeline"]).ok().stdout;
    assert!(
        text.starts_with("open pipeline: 4 deal(s): 25700.00 EUR, 500.00 USD\nby stage\n"),
        "{text}"
    );
    assert!(
        text.contains("  proposal             2 deal(s): 24700.00 EUR\n"),
        "{text}"
    );
    assert!(
        text.contains("  (no owner)           1 deal(s): 700.00 EUR"),
        "{text}"
    );
    let text = ws.sam.run(["report", "win-rate"]).ok().stdout;
    assert!(
        text.starts_with("win rate: 50% (2 won, 2 lost)\n"),
        "{text}"
    );
    let text = ws.sam.run(["report", "interactions"]).ok().stdout;
    assert!(
        text.contains("  support        3  call 1, ticket 2\n"),
        "{text}"
    );
    let text = ws.sam.run(["report", "attention"]).ok().stdout;
    assert!(
        text.contains("no timeline entry in the last 30 days: 2 account(s)"),
        "{text}"
    );
    assert!(
        text.contains("open ticket and open deal: 1 account(s)"),
        "{text}"
    );
}

#[test]
fn a_report_window_outside_one_day_to_a_century_or_an_unknown_report_is_refused() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "sales");
    data.run(["report", "attention", "--days", "0"])
        .refused_with(&["--days", "0", "1..=36525"]);
    data.run(["report", "interactions", "--days", "36526"])
        .refused_with(&["36526"]);
    data.run(["report", "forecast"])
        .refused_with(&["forecast", "pipeline, win-rate, interactions, attention"]);
    let empty = data.json(["report", "pipeline"]);
    assert_eq!(empty["deals"], 0);
    assert_eq!(
        array(&empty["stages"]).len(),
        3,
        "every open stage, even empty"
    );
}
