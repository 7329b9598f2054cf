//! `rapport import` and `rapport export`: the file is read and written here; what it means is
//! decided by `rapport-transfer`, and the store writes an import in one batch. A JSON export
//! is imported by `json.rs`.

mod json;

use std::path::Path;

use anyhow::{Context, bail};
use rapport_model::account::AccountView;
use rapport_store::Replica;
use rapport_transfer::{
    ColumnMap, Existing, ExportSettings, JsonExport, Outcome, Plan, RowPlan, Target,
};

use crate::cli::{ExportArgs, ExportFormat, ImportArgs};
use crate::output::Output;
use crate::progress::Progress;

/// The largest file `rapport import` reads.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

pub fn import(replica: &mut Replica, args: ImportArgs, out: &Output) -> anyhow::Result<()> {
    let bytes = read_file(&args.file)?;
    if is_json(&args.file, &bytes) {
        return json::import(replica, &args, &bytes, out);
    }
    let mut overrides = ColumnMap::default();
    for map in args.map {
        overrides.extend(map);
    }
    let file = rapport_transfer::parse_file(&bytes, args.kind, &overrides)
        .with_context(|| format!("cannot import {}", args.file.display()))?;
    if !file.mapping.unknown.is_empty() {
        eprintln!(
            "warning: ignoring columns that map to no field: {} (map them with --map 'HEADER=FIELD', or HEADER=ignore)",
            file.mapping.unknown.join(", ")
        );
    }
    let existing = existing(replica, &file)?;
    let plan = rapport_transfer::plan(&file, &existing);
    if args.dry_run {
        return report(&plan, out, "dry run: nothing was written");
    }
    let rejected = plan.count(Outcome::Rejected);
    if rejected > 0 {
        if out.json {
            out.print_json(&plan.rows)?;
        } else {
            for row in plan.rejected() {
                eprintln!("{}", row_line(row));
            }
        }
        bail!(
            "{rejected} of {} row(s) rejected; nothing was imported",
            plan.rows.len()
        );
    }
    apply(replica, &plan)?;
    report(&plan, out, "imported")
}

/// A JSON export is told by its extension, or by an object where a CSV header would be.
fn is_json(path: &Path, bytes: &[u8]) -> bool {
    let extension = path.extension().and_then(|e| e.to_str());
    extension.is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || rapport_transfer::looks_like_json(bytes)
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!(
            "{} is {size} bytes; the most an import reads is {MAX_FILE_BYTES}",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The workspace as the plan needs it: every account's name and domain from the index, and
/// the views of the accounts the file may name.
fn existing(
    replica: &mut Replica,
    file: &rapport_transfer::ParsedFile,
) -> anyhow::Result<Existing> {
    let mut existing = Existing::new(replica.workspace()?.pipeline);
    existing.set_field_definitions(replica.field_definitions()?);
    for summary in replica.accounts()? {
        existing.add_account(summary.id, &summary.name, summary.domain.as_deref());
    }
    for id in existing.referenced(file) {
        existing.add_view(replica.account(id)?);
    }
    Ok(existing)
}

/// Writes every change of the plan in one batch: one durable commit, or nothing.
fn apply(replica: &mut Replica, plan: &Plan) -> anyhow::Result<()> {
    let edit = replica.edit_now();
    let mut progress = Progress::new("importing", plan.changes.len() as u64);
    let mut batch = replica.batch(&edit)?;
    for (done, change) in plan.changes.iter().enumerate() {
        match &change.target {
            Target::New(new) => {
                batch.create_account(new, |tx| change.write(tx, &edit))?;
            }
            Target::Existing(id) if !change.is_empty() => {
                batch.change_account(*id, |tx| change.write(tx, &edit))?;
            }
            Target::Existing(_) => {}
        }
        progress.set(done as u64 + 1);
    }
    progress.finish();
    batch.commit().context("the import was not written")?;
    Ok(())
}

/// Every row's fate (as JSON: an array of rows), then the counts.
fn report(plan: &Plan, out: &Output, done: &str) -> anyhow::Result<()> {
    if out.json {
        return out.print_json(&plan.rows);
    }
    let mut text = String::new();
    for row in &plan.rows {
        text.push_str(&row_line(row));
        text.push('\n');
    }
    text.push_str(&format!(
        "{} {}: {} created, {} merged, {} rejected; {done}",
        plan.rows.len(),
        plan.kind,
        plan.count(Outcome::Created),
        plan.count(Outcome::Merged),
        plan.count(Outcome::Rejected),
    ));
    out.print(&text)
}

/// `line 3  created  contact Hank Scorpio (account Globex, new)`, or the reason it is rejected.
fn row_line(row: &RowPlan) -> String {
    let mut line = format!(
        "line {:<6} {:<8} {}",
        row.line,
        row.outcome.as_str(),
        row.record
    );
    if let Some(name) = &row.name {
        line.push_str(&format!(" {name}"));
    }
    if let Some(account) = &row.account {
        let new = if account.outcome == Outcome::Created {
            ", new"
        } else {
            ""
        };
        line.push_str(&format!(" (account {}{new})", account.name));
    }
    if let Some(reason) = &row.reason {
        line.push_str(&format!(": {reason}"));
    }
    line
}

pub fn export(replica: &mut Replica, args: ExportArgs, out: &Output) -> anyhow::Result<()> {
    let accounts = every_account(replica)?;
    let bytes = match (args.format, args.kind) {
        (ExportFormat::Json, _) => {
            let workspace = replica.workspace()?;
            let (fields, rules, segments) = (
                replica.field_definitions()?,
                replica.rules()?,
                replica.segments()?,
            );
            let settings = ExportSettings {
                fields: &fields,
                rules: &rules,
                segments: &segments,
            };
            let export = JsonExport::new(&workspace, settings, &accounts);
            let mut bytes = serde_json::to_vec_pretty(&export)?;
            bytes.push(b'\n');
            bytes
        }
        (ExportFormat::Csv, Some(kind)) => rapport_transfer::export_csv(kind, &accounts)?,
        (ExportFormat::Csv, None) => bail!("--format csv needs --kind accounts|contacts|deals"),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.done(
                &format!(
                    "exported {} account(s) to {}",
                    accounts.len(),
                    path.display()
                ),
                serde_json::json!({ "out": path, "accounts": accounts.len() }),
            )
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
            Ok(())
        }
    }
}

fn every_account(replica: &mut Replica) -> anyhow::Result<Vec<AccountView>> {
    let summaries = replica.accounts()?;
    let mut progress = Progress::new("reading", summaries.len() as u64);
    let mut accounts = Vec::with_capacity(summaries.len());
    for (done, summary) in summaries.iter().enumerate() {
        accounts.push(replica.account(summary.id)?);
        progress.set(done as u64 + 1);
    }
    progress.finish();
    Ok(accounts)
}
