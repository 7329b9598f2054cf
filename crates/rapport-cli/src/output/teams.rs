//! `rapport account list --team`: the account list with the columns that team works from
//! (the same choice as the web UI's team views; `docs/api.md`, "Team views").

use rapport_model::Team;
use rapport_store::TeamAccount;

use super::Output;
use crate::reports::totals_text;

impl Output {
    /// The account list in `team`'s columns; JSON rows hold every team's fields.
    pub fn team_accounts(&self, team: Team, rows: &[TeamAccount]) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(rows);
        }
        let headers = headers(team);
        let mut lines = vec![headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
        lines.extend(rows.iter().map(|row| cells(team, row)));
        let mut widths = vec![0; headers.len()];
        for line in &lines {
            for (width, cell) in widths.iter_mut().zip(line) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut text = String::new();
        for line in &lines {
            let padded: Vec<String> = line
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            text.push_str(padded.join("  ").trim_end());
            text.push('\n');
        }
        text.push_str(&format!("{} account(s), {team} view", rows.len()));
        self.print(&text)
    }
}

fn headers(team: Team) -> &'static [&'static str] {
    match team {
        Team::Sales => &["ID", "NAME", "OWNER", "STAGE", "OPEN DEALS", "OPEN VALUE"],
        Team::Marketing => &["ID", "NAME", "TIER", "STAGE", "CONTACTS", "LAST TOUCH"],
        Team::Support => &[
            "ID",
            "NAME",
            "OPEN TICKET SINCE",
            "LAST SUPPORT TOUCH",
            "CONTACTS",
        ],
    }
}

fn cells(team: Team, row: &TeamAccount) -> Vec<String> {
    let a = &row.summary;
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let day = |at: Option<jiff::Timestamp>| {
        at.map_or_else(|| "-".to_owned(), |at| at.strftime("%Y-%m-%d").to_string())
    };
    let mut cells = vec![a.id.to_string(), a.name.clone()];
    match team {
        Team::Sales => cells.extend([
            text(&a.owner),
            text(&a.stage),
            row.open_deals.deals.to_string(),
            match totals_text(&row.open_deals.totals) {
                total if total.is_empty() => "-".to_owned(),
                total => total,
            },
        ]),
        Team::Marketing => cells.extend([
            text(&a.tier),
            text(&a.stage),
            a.contacts.to_string(),
            day(row.last_touch),
        ]),
        Team::Support => cells.extend([
            day(row.open_ticket),
            day(row.last_support_touch),
            a.contacts.to_string(),
        ]),
    }
    cells
}
