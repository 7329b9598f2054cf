//! The Reports page in a real browser, over the workspace of `crate::reports` (three teams'
//! entries, deals in several stages, owners and currencies): its charts show the numbers of
//! `rapport report`, and follow a deal written on the node.

use serde_json::json;

use super::{Browser, LocalNode, Page};
use crate::reports::Workspace;

/// The accessible description of the chart in `card` (the numbers it draws).
fn chart(page: &Page<'_>, card: &str) -> String {
    page.script(
        "return document.querySelector(arguments[0])?.getAttribute('aria-label') ?? '';",
        vec![json!(format!("{card} svg.chart"))],
    )
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[test]
fn the_reports_page_charts_the_reports_and_follows_a_new_deal_live() {
    let ws = Workspace::build();
    let node = LocalNode::start(&ws.sam);
    let browser = Browser::start("reports");
    let page = browser.open("sales", &format!("{}#/reports", node.url));
    let stages = "#report-pipeline-stages";
    page.wait_for("the pipeline by stage charted", |page| {
        chart(page, stages).contains("Qualification: 1, Proposal: 2, Negotiation: 1")
    });
    assert_eq!(
        page.text("#stat-open-deals .stat-value").as_deref(),
        Some("4")
    );
    assert_eq!(
        page.text("#stat-win-rate .stat-value").as_deref(),
        Some("50%")
    );
    assert_eq!(
        page.text("#stat-interactions .stat-value").as_deref(),
        Some("6")
    );
    assert_eq!(
        page.text("#stat-attention .stat-value").as_deref(),
        Some("3")
    );
    assert!(
        chart(&page, "#report-pipeline-owners").contains("ana: 2, bo: 1, No owner: 1"),
        "{}",
        chart(&page, "#report-pipeline-owners")
    );
    let win_rate = chart(&page, "#report-win-rate");
    assert!(
        win_rate.contains("ana (0/1): 0%, bo (1/2): 50%, No owner (1/1): 100%"),
        "{win_rate}"
    );
    let teams = chart(&page, "#report-interactions");
    assert!(
        teams.contains("Sales: 2, Marketing: 1, Support: 3"),
        "{teams}"
    );
    let kinds = chart(&page, "#report-interaction-kinds");
    assert!(
        kinds.contains("Ticket: Sales 0, Marketing 0, Support 2"),
        "{kinds}"
    );
    let value_charts: Vec<String> = page
        .script(
            "return [...document.querySelectorAll('#report-pipeline-stages .currency-chart svg')]
                 .map((svg) => svg.getAttribute('aria-label'));",
            vec![],
        )
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        value_charts.len(),
        2,
        "one value chart per currency: {value_charts:?}"
    );
    assert!(
        value_charts[0].starts_with("Open value by stage in EUR."),
        "{value_charts:?}"
    );
    assert!(
        value_charts[1].starts_with("Open value by stage in USD."),
        "{value_charts:?}"
    );
    let ticket = format!("#attention-tickets [data-account=\"{}\"]", ws.globex);
    assert_eq!(page.count(&ticket), 1, "Globex's open ticket is listed");
    assert_eq!(page.count("#attention-untouched .attention-account"), 2);
    page.script(
        "document.querySelector('#report-interaction-kinds').scrollIntoView(); return null;",
        vec![],
    );
    page.screenshot("charts");
    page.script("window.scrollTo(0, 0); return null;", vec![]);

    page.script(
        "fetch(`api/accounts/${arguments[0]}/deals`, {
             method: 'POST',
             headers: { 'Content-Type': 'application/json' },
             body: JSON.stringify({ title: 'Live deal', amount: 150000, currency: 'EUR', stage: 'negotiation' }),
         });
         return null;",
        vec![json!(ws.globex)],
    );
    page.wait_for("the new deal in the stage chart", |page| {
        chart(page, stages).contains("Negotiation: 2")
    });
    assert_eq!(
        page.text("#stat-open-deals .stat-value").as_deref(),
        Some("5")
    );
    assert!(
        page.never_reloaded(),
        "the page followed the change without a reload"
    );
    page.screenshot("after-new-deal");
}
