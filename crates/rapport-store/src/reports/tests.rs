#![allow(clippy::unwrap_used)]

use rapport_model::account::AccountSummary;

use super::touches::Touch;
use super::*;

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

fn deal(account: u8, owner: Option<&str>, stage: &str, amount: i64, currency: &str) -> OwnedDeal {
    deal_closing(account, owner, stage, amount, currency, None)
}

fn deal_closing(
    account: u8,
    owner: Option<&str>,
    stage: &str,
    amount: i64,
    currency: &str,
    close: Option<&str>,
) -> OwnedDeal {
    OwnedDeal {
        account: id(account),
        owner: owner.map(str::to_owned),
        deal: DealView {
            id: rapport_model::DealId::new(),
            title: format!("{stage} deal"),
            amount,
            currency: currency.parse().unwrap(),
            stage: stage.to_owned(),
            close: close.map(str::to_owned),
        },
    }
}

fn count(deals: u64, totals: &[(&str, i64)]) -> DealCount {
    DealCount {
        deals,
        totals: totals
            .iter()
            .map(|(currency, amount)| CurrencyTotal {
                currency: currency.parse().unwrap(),
                amount: *amount,
            })
            .collect(),
    }
}

fn pipeline() -> Vec<PipelineStage> {
    rapport_model::workspace::DEFAULT_PIPELINE
        .iter()
        .map(|stage| stage.parse().unwrap())
        .collect()
}

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

#[test]
fn the_pipeline_counts_open_deals_per_stage_and_owner_and_never_adds_currencies_together() {
    let deals = [
        deal(1, Some("ana"), "proposal", 100_000, "EUR"),
        deal(1, Some("ana"), "proposal", 50_000, "USD"),
        deal(2, Some("bo"), "proposal", 25_000, "EUR"),
        deal(2, Some("bo"), "qualification", 10_000, "EUR"),
        deal(3, None, "discovery", 7_000, "JPY"),
        deal(1, Some("ana"), "won", 999_900, "EUR"),
        deal(2, Some("bo"), "lost", 999_900, "EUR"),
    ];
    let report = pipeline_of(&pipeline(), &deals);
    assert_eq!(
        report.open,
        count(5, &[("EUR", 135_000), ("JPY", 7_000), ("USD", 50_000)])
    );
    let stages: Vec<(&str, &DealCount)> = report
        .stages
        .iter()
        .map(|s| (s.stage.as_str(), &s.open))
        .collect();
    assert_eq!(
        stages,
        [
            ("qualification", &count(1, &[("EUR", 10_000)])),
            ("proposal", &count(3, &[("EUR", 125_000), ("USD", 50_000)])),
            ("negotiation", &count(0, &[])),
            ("discovery", &count(1, &[("JPY", 7_000)])),
        ],
        "open stages in pipeline order, empty ones too, then stages outside the pipeline"
    );
    let owners: Vec<(Option<&str>, &DealCount)> = report
        .owners
        .iter()
        .map(|o| (o.owner.as_deref(), &o.open))
        .collect();
    assert_eq!(
        owners,
        [
            (Some("ana"), &count(2, &[("EUR", 100_000), ("USD", 50_000)])),
            (Some("bo"), &count(2, &[("EUR", 35_000)])),
            (None, &count(1, &[("JPY", 7_000)])),
        ]
    );
    let json = serde_json::to_value(&report.stages[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "stage": "qualification", "deals": 1, "totals": [{ "currency": "EUR", "amount": 10000 }] })
    );
}

#[test]
fn the_win_rate_is_won_over_won_and_lost_overall_and_per_owner() {
    let deals = [
        deal(1, Some("ana"), "won", 1, "EUR"),
        deal(1, Some("ana"), "won", 1, "EUR"),
        deal(1, Some("ana"), "lost", 1, "EUR"),
        deal(2, Some("bo"), "lost", 1, "EUR"),
        deal(3, None, "won", 1, "EUR"),
        deal(3, None, "proposal", 1, "EUR"),
    ];
    let report = win_rate_of(&deals, None, None);
    assert_eq!(
        report.overall,
        WinRate {
            won: 3,
            lost: 2,
            rate: Some(0.6)
        }
    );
    let owners: Vec<(Option<&str>, u64, u64, Option<f64>)> = report
        .owners
        .iter()
        .map(|o| (o.owner.as_deref(), o.rate.won, o.rate.lost, o.rate.rate))
        .collect();
    assert_eq!(
        owners,
        [
            (Some("ana"), 2, 1, Some(2.0 / 3.0)),
            (Some("bo"), 0, 1, Some(0.0)),
            (None, 1, 0, Some(1.0)),
        ]
    );
    let none = win_rate_of(&deals[5..], None, None);
    assert_eq!(none.overall.rate, None, "nothing closed: no rate");
    assert!(none.owners.is_empty());
}

#[test]
fn a_win_rate_window_counts_deals_by_their_close_date_and_reports_the_undated() {
    let deals = [
        deal_closing(1, Some("ana"), "won", 1, "EUR", Some("2026-11-20")),
        deal_closing(1, Some("ana"), "lost", 1, "EUR", Some("2026-11-01")),
        deal_closing(1, Some("ana"), "won", 1, "EUR", Some("2026-10-31")),
        deal_closing(1, Some("ana"), "won", 1, "EUR", Some("2027-01-15")),
        deal_closing(1, Some("ana"), "lost", 1, "EUR", None),
        deal_closing(1, Some("ana"), "proposal", 1, "EUR", None),
    ];
    let now = at("2026-12-01T10:00:00Z");
    let since = Some(day_of(window_start(30, now)));
    assert_eq!(since.as_deref(), Some("2026-11-01"));
    let report = win_rate_of(&deals, Some(30), since);
    assert_eq!((report.overall.won, report.overall.lost), (2, 1));
    assert_eq!(report.undated, 1);
    assert_eq!(report.days, Some(30));
    let all = win_rate_of(&deals, None, None);
    assert_eq!((all.overall.won, all.overall.lost), (3, 2));
    assert_eq!(all.undated, 0);
}

#[test]
fn interactions_are_counted_per_team_and_kind_with_every_team_and_kind_present() {
    let report = interactions_of(
        30,
        at("2026-11-01T00:00:00Z"),
        [
            (Team::Sales, EntryKind::Call),
            (Team::Sales, EntryKind::Call),
            (Team::Support, EntryKind::Ticket),
        ],
    );
    assert_eq!(report.entries, 3);
    let teams: Vec<(Team, u64)> = report.teams.iter().map(|t| (t.team, t.entries)).collect();
    assert_eq!(
        teams,
        [(Team::Sales, 2), (Team::Marketing, 0), (Team::Support, 1)]
    );
    assert_eq!(report.teams[0].kinds[&EntryKind::Call], 2);
    assert_eq!(report.teams[0].kinds.len(), EntryKind::ALL.len());
    let json = serde_json::to_value(&report.teams[2]).unwrap();
    assert_eq!(
        json["kinds"],
        serde_json::json!({ "note": 0, "call": 0, "email": 0, "meeting": 0, "ticket": 1, "campaign": 0 })
    );
}

fn summary(n: u8, name: &str) -> AccountSummary {
    AccountSummary {
        id: id(n),
        name: name.to_owned(),
        domain: None,
        tier: None,
        stage: Some("customer".into()),
        owner: Some("ana".into()),
        contacts: 0,
        entries: 0,
        tags: Vec::new(),
        custom: Default::default(),
    }
}

#[test]
fn attention_lists_accounts_untouched_in_the_window_and_open_tickets_on_open_deals() {
    let ms = |text: &str| at(text).as_millisecond();
    let accounts = [
        summary(1, "Fresh"),
        summary(2, "Stale"),
        summary(3, "Never"),
        summary(4, "Ticket with deal"),
        summary(5, "Ticket without open deal"),
        summary(6, "Ticket answered"),
    ];
    let mut touches = HashMap::new();
    let mut touch = |n: u8, entries: &[(Team, EntryKind, &str)]| {
        let mut t = Touch::default();
        for (team, kind, when) in entries {
            t.add(*team, *kind, ms(when));
        }
        touches.insert(id(n), t);
    };
    touch(1, &[(Team::Sales, EntryKind::Call, "2026-11-30T00:00:00Z")]);
    touch(2, &[(Team::Sales, EntryKind::Call, "2026-10-01T00:00:00Z")]);
    let ticket = "2026-11-20T00:00:00Z";
    touch(4, &[(Team::Support, EntryKind::Ticket, ticket)]);
    touch(5, &[(Team::Support, EntryKind::Ticket, ticket)]);
    touch(
        6,
        &[
            (Team::Support, EntryKind::Ticket, ticket),
            (Team::Support, EntryKind::Note, "2026-11-21T00:00:00Z"),
        ],
    );
    let deals = [
        deal(4, None, "proposal", 100, "EUR"),
        deal(4, None, "won", 100, "EUR"),
        deal(5, None, "lost", 100, "EUR"),
        deal(6, None, "proposal", 100, "EUR"),
    ];
    let since = at("2026-11-01T00:00:00Z");
    let report = attention_of(30, since, &accounts, &touches, &deals);
    let untouched: Vec<(&str, Option<jiff::Timestamp>)> = report
        .untouched
        .iter()
        .map(|a| (a.name.as_str(), a.last_entry))
        .collect();
    assert_eq!(
        untouched,
        [("Never", None), ("Stale", Some(at("2026-10-01T00:00:00Z")))]
    );
    assert_eq!(report.open_tickets.len(), 1);
    let open = &report.open_tickets[0];
    assert_eq!(
        (open.name.as_str(), open.ticket_at),
        ("Ticket with deal", at(ticket))
    );
    assert_eq!(open.open, count(1, &[("EUR", 100)]));
}

#[test]
fn windows_longer_than_the_calendar_start_at_its_beginning() {
    let now = at("2026-12-01T00:00:00Z");
    assert_eq!(window_start(0, now), now);
    assert_eq!(window_start(1, now), at("2026-11-30T00:00:00Z"));
    let far = window_start(u32::MAX, now);
    assert_eq!(far, window_start(MAX_REPORT_DAYS, now));
    assert_eq!(
        window_start(MAX_REPORT_DAYS, jiff::Timestamp::MIN),
        jiff::Timestamp::MIN
    );
}
