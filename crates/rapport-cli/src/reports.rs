//! `rapport report`: one report from the replica's derived tables, as text or `--json` (the
//! same JSON as the local node's `GET /api/reports/{report}`).

use rapport_model::Money;
use rapport_store::{
    AttentionReport, CurrencyTotal, DEFAULT_REPORT_DAYS, DealCount, InteractionsReport,
    PipelineReport, Replica, WinRate, WinRateReport,
};

use crate::cli::{ReportArgs, ReportKind};
use crate::output::Output;

pub fn run(replica: &mut Replica, args: ReportArgs, out: &Output) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let window = args.days.unwrap_or(DEFAULT_REPORT_DAYS);
    let segment = match &args.segment {
        Some(name) => Some(replica.segment_scope(name, now)?),
        None => None,
    };
    let scope = segment.as_ref();
    match args.report {
        ReportKind::Pipeline => {
            let report = replica.pipeline_report(scope)?;
            out.report(&report, || pipeline_text(&report))
        }
        ReportKind::WinRate => {
            let report = replica.win_rate_report(args.days, now, scope)?;
            out.report(&report, || win_rate_text(&report))
        }
        ReportKind::Interactions => {
            let report = replica.interactions_report(window, now, scope)?;
            out.report(&report, || interactions_text(&report))
        }
        ReportKind::Attention => {
            let report = replica.attention_report(window, now, scope)?;
            out.report(&report, || attention_text(&report))
        }
    }
}

/// "3 deal(s): 1250.00 EUR, 500.00 USD".
fn deals_text(count: &DealCount) -> String {
    if count.totals.is_empty() {
        return format!("{} deal(s)", count.deals);
    }
    format!("{} deal(s): {}", count.deals, totals_text(&count.totals))
}

pub(crate) fn totals_text(totals: &[CurrencyTotal]) -> String {
    totals
        .iter()
        .map(|total| {
            Money {
                minor: total.amount,
                currency: total.currency,
            }
            .to_string()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn owner_name(owner: &Option<String>) -> &str {
    owner.as_deref().unwrap_or("(no owner)")
}

fn pipeline_text(report: &PipelineReport) -> String {
    let mut text = format!("open pipeline: {}\nby stage", deals_text(&report.open));
    for stage in &report.stages {
        text.push_str(&format!(
            "\n  {:<20} {}",
            stage.stage,
            deals_text(&stage.open)
        ));
    }
    text.push_str("\nby owner");
    for owner in &report.owners {
        let name = owner_name(&owner.owner);
        text.push_str(&format!("\n  {name:<20} {}", deals_text(&owner.open)));
    }
    text
}

fn rate_text(rate: &WinRate) -> String {
    let share = rate
        .rate
        .map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0));
    format!("{share} ({} won, {} lost)", rate.won, rate.lost)
}

fn win_rate_text(report: &WinRateReport) -> String {
    let window = match (&report.days, &report.since) {
        (Some(days), Some(since)) => format!(", closing since {since} ({days} days)"),
        _ => String::new(),
    };
    let mut text = format!("win rate{window}: {}", rate_text(&report.overall));
    for owner in &report.owners {
        let name = owner_name(&owner.owner);
        text.push_str(&format!("\n  {name:<20} {}", rate_text(&owner.rate)));
    }
    if report.undated > 0 {
        text.push_str(&format!(
            "\n{} deal(s) won or lost without a close date left out",
            report.undated
        ));
    }
    text
}

fn interactions_text(report: &InteractionsReport) -> String {
    let mut text = format!(
        "interactions in the last {} days (since {}): {}",
        report.days, report.since, report.entries
    );
    for team in &report.teams {
        let kinds: Vec<String> = team
            .kinds
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        let line = format!(
            "{:<10} {:>5}  {}",
            team.team,
            team.entries,
            kinds.join(", ")
        );
        text.push_str(&format!("\n  {}", line.trim_end()));
    }
    text
}

fn attention_text(report: &AttentionReport) -> String {
    let mut text = format!(
        "no timeline entry in the last {} days: {} account(s)",
        report.days,
        report.untouched.len()
    );
    for account in &report.untouched {
        let last = account
            .last_entry
            .map_or_else(|| "never".to_owned(), |at| at.to_string());
        text.push_str(&format!(
            "\n  {}  {:<28} {:<12} last entry {last}",
            account.account,
            account.name,
            owner_name(&account.owner)
        ));
    }
    text.push_str(&format!(
        "\nopen ticket and open deal: {} account(s)",
        report.open_tickets.len()
    ));
    for account in &report.open_tickets {
        text.push_str(&format!(
            "\n  {}  {:<28} {:<12} ticket {}, {}",
            account.account,
            account.name,
            owner_name(&account.owner),
            account.ticket_at,
            deals_text(&account.open)
        ));
    }
    text
}
