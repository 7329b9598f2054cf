//! `rapport import FILE.json`: a JSON export read back, planned setting by setting and account
//! by account, and written through one `AccountBatch` (the workspace's new settings staged in
//! it first) as a CSV import is.

use anyhow::{Context, bail};
use rapport_store::{ItemKind, Replica, StoreError};
use rapport_transfer::{
    AccountPlan, Existing, JsonFile, JsonPlan, Outcome, SettingOutcome, SettingPlan, Target,
};
use serde::Serialize;

use crate::cli::ImportArgs;
use crate::output::Output;
use crate::progress::Progress;

pub fn import(
    replica: &mut Replica,
    args: &ImportArgs,
    bytes: &[u8],
    out: &Output,
) -> anyhow::Result<()> {
    if args.kind.is_some() || !args.map.is_empty() {
        bail!(
            "--kind and --map are for CSV files; {} is a JSON export",
            args.file.display()
        );
    }
    let mut file = rapport_transfer::parse_json(bytes)
        .with_context(|| format!("cannot import {}", args.file.display()))?;
    let workspace = replica.workspace()?;
    if file.workspace == Some(workspace.id) {
        follow_merges(replica, &mut file)?;
    }
    let mut existing = Existing::new(workspace.pipeline);
    existing.set_field_definitions(replica.field_definitions()?);
    existing.set_rules(replica.rules()?);
    existing.set_segments(replica.segments()?);
    for summary in replica.accounts()? {
        existing.add_account(summary.id, &summary.name, summary.domain.as_deref());
    }
    find_items(replica, &file, &mut existing)?;
    for id in existing.referenced_by_json(&file, workspace.id) {
        existing.add_view(replica.account(id)?);
    }
    let plan = rapport_transfer::plan_json(&file, &existing, workspace.id);
    if args.dry_run {
        return report(&plan, out, "dry run: nothing was written");
    }
    let rejected = plan.count(Outcome::Rejected);
    if rejected > 0 {
        if out.json {
            out.print_json(&Report::of(&plan))?;
        } else {
            for account in plan.rejected() {
                eprintln!("{}", account_line(account));
            }
        }
        bail!(
            "{rejected} of {} account(s) rejected; nothing was imported",
            plan.accounts.len()
        );
    }
    apply(replica, &plan)?;
    report(&plan, out, "imported")
}

/// In the workspace the file came from, an account merged since stands for its survivor.
fn follow_merges(replica: &Replica, file: &mut JsonFile) -> anyhow::Result<()> {
    for account in &mut file.accounts {
        if let Some(id) = account.id {
            account.id = Some(replica.survivor_of(id)?);
        }
    }
    Ok(())
}

/// Where the file's items live in the workspace already, from the item index: what finds an
/// account an earlier import made, even renamed since.
fn find_items(replica: &Replica, file: &JsonFile, existing: &mut Existing) -> anyhow::Result<()> {
    for account in &file.accounts {
        let contacts = account
            .contacts
            .iter()
            .map(|(id, _)| (ItemKind::Contact, id.to_string()));
        let deals = account
            .deals
            .iter()
            .map(|(id, _)| (ItemKind::Deal, id.to_string()));
        let tasks = account
            .tasks
            .iter()
            .map(|(id, ..)| (ItemKind::Task, id.to_string()));
        let entries = account
            .timeline
            .iter()
            .map(|(id, ..)| (ItemKind::Entry, id.to_string()));
        for (kind, item) in contacts.chain(deals).chain(tasks).chain(entries) {
            match replica.resolve_item(kind, &item) {
                Ok((home, _)) => existing.add_item(item, home),
                Err(StoreError::UnknownItem { .. } | StoreError::AmbiguousItem { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(())
}

/// Writes every change of the plan in one batch: one durable commit, or nothing. The
/// workspace's new settings go first. A plan that changes nothing writes nothing.
fn apply(replica: &mut Replica, plan: &JsonPlan) -> anyhow::Result<()> {
    if plan.changes.is_empty() && plan.workspace.is_empty() {
        return Ok(());
    }
    let edit = replica.edit_now();
    let mut progress = Progress::new("importing", plan.changes.len() as u64);
    let mut batch = replica.batch(&edit)?;
    if !plan.workspace.is_empty() {
        batch.change_workspace(|tx| plan.workspace.write(tx, &edit))?;
    }
    for (done, change) in plan.changes.iter().enumerate() {
        match &change.target {
            Target::New(new) => {
                batch.create_account(new, |tx| change.write(tx, &edit))?;
            }
            Target::Existing(id) => {
                batch.change_account(*id, |tx| change.write(tx, &edit))?;
            }
        }
        progress.set(done as u64 + 1);
    }
    progress.finish();
    batch.commit().context("the import was not written")?;
    Ok(())
}

/// What `--json` prints: the workspace settings' fates and the accounts'.
#[derive(Serialize)]
struct Report<'p> {
    settings: &'p [SettingPlan],
    accounts: &'p [AccountPlan],
}

impl<'p> Report<'p> {
    fn of(plan: &'p JsonPlan) -> Self {
        Report {
            settings: &plan.settings,
            accounts: &plan.accounts,
        }
    }
}

/// Every setting's and account's fate (as JSON: a [`Report`]), then the counts.
fn report(plan: &JsonPlan, out: &Output, done: &str) -> anyhow::Result<()> {
    if out.json {
        return out.print_json(&Report::of(plan));
    }
    let mut text = String::new();
    for setting in &plan.settings {
        text.push_str(&setting_line(setting));
        text.push('\n');
    }
    if !plan.settings.is_empty() {
        let count = |outcome| {
            plan.settings
                .iter()
                .filter(|s| s.outcome == outcome)
                .count()
        };
        text.push_str(&format!(
            "{} workspace settings: {} created, {} unchanged, {} kept as the workspace has them\n",
            plan.settings.len(),
            count(SettingOutcome::Created),
            count(SettingOutcome::Unchanged),
            count(SettingOutcome::Kept),
        ));
    }
    for account in &plan.accounts {
        text.push_str(&account_line(account));
        text.push('\n');
    }
    let items = plan
        .accounts
        .iter()
        .filter(|a| a.outcome != Outcome::Rejected)
        .flat_map(|a| [a.contacts, a.deals, a.tasks, a.timeline]);
    let (created, updated) = items.fold((0, 0), |(c, u), i| (c + i.created, u + i.updated));
    text.push_str(&format!(
        "{} accounts: {} created, {} merged, {} rejected; {created} items created, {updated} updated; {done}",
        plan.accounts.len(),
        plan.count(Outcome::Created),
        plan.count(Outcome::Merged),
        plan.count(Outcome::Rejected),
    ));
    out.print(&text)
}

/// `field   created   region`, or `rule    kept      gold-tickets: ` and how the workspace's
/// differs.
fn setting_line(setting: &SettingPlan) -> String {
    let mut line = format!(
        "{:<7} {:<9} {}",
        setting.setting.as_str(),
        setting.outcome.as_str(),
        setting.name
    );
    if let Some(reason) = &setting.reason {
        line.push_str(&format!(": {reason}"));
    }
    line
}

/// `account 2    merged   Initech (into Initech, by domain): contacts 1 new, 2 unchanged`, or
/// the reasons it is rejected.
fn account_line(account: &AccountPlan) -> String {
    let mut line = format!(
        "account {:<4} {:<8} {}",
        account.account,
        account.outcome.as_str(),
        account.name
    );
    if let (Some(into), Some(by)) = (&account.into, account.matched_by) {
        line.push_str(&format!(" (into {into}, by {})", by.as_str()));
    }
    if account.outcome == Outcome::Rejected {
        line.push_str(&format!(": {}", account.reasons.join("; ")));
        return line;
    }
    let mut parts = Vec::new();
    if account.fields > 0 {
        parts.push(format!("{} field(s) set", account.fields));
    }
    let kinds = [
        ("contacts", account.contacts),
        ("deals", account.deals),
        ("tasks", account.tasks),
        ("timeline entries", account.timeline),
    ];
    for (what, counts) in kinds {
        let said: Vec<String> = [
            (counts.created, "new"),
            (counts.updated, "updated"),
            (counts.unchanged, "unchanged"),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, word)| format!("{count} {word}"))
        .collect();
        if !said.is_empty() {
            parts.push(format!("{what} {}", said.join(", ")));
        }
    }
    if !account.changes_anything() {
        parts.push("nothing to change".to_owned());
    }
    if !parts.is_empty() {
        line.push_str(&format!(": {}", parts.join("; ")));
    }
    line
}
