//! One function per command: open the replica, do the work through `rapport-store`, print.

use std::path::Path;

use anyhow::{Context, bail};
use rapport_model::account::{self, NewAccount, NewContact, NewDeal, NewEntry, NewTask};
use rapport_model::alert::rule::{Rule, RuleCondition, RuleTarget};
use rapport_model::custom_field;
use rapport_model::value::AccountValue;
use rapport_model::workspace;
use rapport_model::{
    AccountAssignment, ContactAssignment, ContactId, Currency, DealId, DocumentId, EntryId,
    EntryKind, Money, PipelineStage, TaskId, check_email, parse_date, reminder,
};
use rapport_store::{ItemKind, Replica};
use serde_json::json;

use crate::cli::{
    AccountCommand, AlertsArgs, AlertsCommand, Command, ContactCommand, DealCommand, NoteCommand,
    RuleCommand, TaskCommand, WorkspaceCommand,
};
use crate::network;
use crate::output::Output;

pub fn run(command: Command, data: &Path, out: &Output) -> anyhow::Result<()> {
    let open = || open_indexed(data);
    match command {
        Command::Init(args) => {
            require_text("workspace name", &args.workspace)?;
            let mut replica =
                Replica::create_workspace(data, &args.workspace, args.user, args.team)?;
            out.workspace_created(&replica.workspace()?, data)
        }
        Command::Account(command) => account(&mut open()?, command, out),
        Command::Segment(command) => crate::segments::segment(&mut open()?, command, out),
        Command::Contact(command) => contact(&mut open()?, command, out),
        Command::Note(NoteCommand::Add {
            account,
            text,
            alert,
            follow_up,
        }) => {
            let note = NewEntry {
                kind: EntryKind::Note,
                text,
                alert,
            };
            match follow_up {
                Some(follow_up) => {
                    note_with_follow_up(&mut open()?, &account, note, &follow_up, out)
                }
                None => entry(&mut open()?, &account, note, out),
            }
        }
        Command::Log(args) => {
            let logged = NewEntry {
                kind: args.kind,
                text: args.text,
                alert: args.alert,
            };
            entry(&mut open()?, &args.account, logged, out)
        }
        Command::History(args) => history(&mut open()?, args, out),
        Command::Deal(command) => deal(&mut open()?, command, out),
        Command::Task(command) => task(&mut open()?, command, out),
        Command::Alerts(args) => alerts(&mut open()?, args, out),
        Command::Report(args) => crate::reports::run(&mut open()?, args, out),
        Command::Duplicates => out.duplicates(&open()?.duplicates()?),
        Command::Workspace(WorkspaceCommand::Show) => out.workspace(&open()?.workspace()?),
        Command::Workspace(WorkspaceCommand::Rule(command)) => rule(&mut open()?, command, out),
        Command::Workspace(WorkspaceCommand::Field(command)) => {
            crate::custom_fields::field(&mut open()?, command, out)
        }
        Command::Import(args) => crate::transfer::import(&mut open()?, args, out),
        Command::Export(args) => crate::transfer::export(&mut open()?, args, out),
        Command::Join(args) => network::join(data, args, out),
        // The link checks and indexes what a join left (before a one-off sync returns; in the
        // background of a live one), so neither waits for it first.
        Command::Sync(args) => network::sync(Replica::open(data)?, args, out),
        Command::Relay(command) => network::relay(data, command, out),
        Command::Ui(args) => network::ui(Replica::open(data)?, args, out),
        Command::Demo(args) => crate::demo::run(args, out),
    }
}

/// Opens the replica, first finishing the indexing of documents fetched whole that an earlier
/// command did not get to (an interrupted `rapport join`).
fn open_indexed(data: &Path) -> anyhow::Result<Replica> {
    let mut replica = Replica::open(data)?;
    index_fetched(&mut replica)?;
    Ok(replica)
}

/// Checks and indexes every document fetched whole that is still waiting (most of a large
/// workspace after `rapport join`), with a progress bar on a terminal.
pub(crate) fn index_fetched(replica: &mut Replica) -> anyhow::Result<()> {
    const CHUNK: usize = 512;
    let waiting = replica.unindexed()?;
    if waiting == 0 {
        return Ok(());
    }
    let mut progress = crate::progress::Progress::new("indexing", waiting);
    loop {
        let left = replica.index_pending(CHUNK)?;
        progress.set(waiting.saturating_sub(left));
        if left == 0 {
            break;
        }
    }
    progress.finish();
    Ok(())
}

/// Account `id`'s value score now, as `account show` prints it beside the account.
fn value_of(replica: &mut Replica, id: DocumentId) -> anyhow::Result<Option<AccountValue>> {
    Ok(replica
        .scored_account(id, jiff::Timestamp::now())?
        .map(|scored| scored.value))
}

/// Account `id` as `account show` prints it (as a change's result when `changed`): with its
/// value score and its custom fields, the defined ones first.
fn print_account(
    replica: &mut Replica,
    id: DocumentId,
    out: &Output,
    changed: bool,
) -> anyhow::Result<()> {
    let value = value_of(replica, id)?;
    let view = replica.account(id)?;
    let custom = custom_field::present(&replica.field_definitions()?, &view.custom);
    if changed {
        out.account_changed(&view, value.as_ref(), &custom)
    } else {
        out.account(&view, value.as_ref(), &custom)
    }
}

/// Refuses a name, title or text that is empty or only blanks.
fn require_text(what: &str, text: &str) -> anyhow::Result<()> {
    if text.trim().is_empty() {
        bail!("{what} must not be empty");
    }
    Ok(())
}

fn account(replica: &mut Replica, command: AccountCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        AccountCommand::Add {
            name,
            domain,
            tier,
            stage,
            owner,
        } => {
            require_text("account name", &name)?;
            let new = NewAccount {
                name,
                domain: domain.map(|d| d.to_ascii_lowercase()),
                tier,
                stage,
                owner,
            };
            let edit = replica.edit_now();
            let id = replica.create_account(&edit, &new)?;
            out.created(&id.to_string(), json!({ "id": id, "url": id.url() }))
        }
        AccountCommand::List {
            query,
            team,
            segment,
            sort,
            filter,
        } => {
            let request = crate::segments::ListRequest {
                query,
                team,
                segment,
                sort,
                filter,
            };
            crate::segments::list(replica, request, out)
        }
        AccountCommand::Show { account } => {
            let named = replica.resolve_named_account(&account)?;
            let id = replica.survivor_of(named)?;
            if named != id {
                eprintln!("account {named} was merged into {id}");
            }
            print_account(replica, id, out, false)
        }
        AccountCommand::Follow { account } => {
            let id = replica.resolve_account(&account)?;
            let edit = replica.edit_now();
            replica.change_account(id, &edit, |tx| account::follow(tx, &edit))?;
            out.done(
                &format!("following account {id}"),
                json!({ "account": id, "following": true }),
            )
        }
        AccountCommand::Unfollow { account } => {
            let id = replica.resolve_account(&account)?;
            let edit = replica.edit_now();
            replica.change_account(id, &edit, |tx| account::unfollow(tx, &edit))?;
            out.done(
                &format!("no longer following account {id}"),
                json!({ "account": id, "following": false }),
            )
        }
        AccountCommand::Merge { other, into } => {
            let other = replica.resolve_named_account(&other)?;
            let keep = replica.resolve_named_account(&into)?;
            let edit = replica.edit_now();
            let (other, keep, copied) = replica.merge_accounts(&edit, other, keep)?;
            out.done(
                &format!("merged account {other} into {keep} ({copied} items copied)"),
                json!({ "merged": other, "into": keep, "copied": copied }),
            )
        }
        AccountCommand::Set {
            account,
            assignments,
        } => {
            let assignments = assignments
                .iter()
                .map(|a| AccountAssignment::parse(a))
                .collect::<Result<Vec<_>, _>>()?;
            let id = replica.resolve_account(&account)?;
            let edit = replica.edit_now();
            replica.set_account_fields(id, &edit, &assignments)?;
            print_account(replica, id, out, true)
        }
    }
}

fn rule(replica: &mut Replica, command: RuleCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        RuleCommand::Add(args) => {
            let when = RuleCondition {
                kind: args.when_kind,
                tier: args.when_tier,
                stage: args.when_stage,
                team: args.when_team,
            };
            let rule = Rule::new(args.name, when, RuleTarget::parse_list(&args.alert)?)?;
            if replica.rules()?.iter().any(|r| r.name == rule.name) {
                bail!(
                    "an alert rule named '{}' exists already: remove it first",
                    rule.name
                );
            }
            let edit = replica.edit_now();
            replica.change_workspace(&edit, |tx| workspace::put_rule(tx, &edit, &rule))?;
            let rule = rule.created_at(edit.at);
            out.done(
                &format!("added rule {}", crate::output::rule_text(&rule)),
                json!({ "added": rule }),
            )
        }
        RuleCommand::List => out.rules(&replica.rules()?),
        RuleCommand::Remove { name } => {
            let edit = replica.edit_now();
            replica.change_workspace(&edit, |tx| workspace::remove_rule(tx, &edit, &name))?;
            out.done(&format!("removed rule {name}"), json!({ "removed": name }))
        }
    }
}

fn contact(replica: &mut Replica, command: ContactCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        ContactCommand::Add {
            account,
            name,
            email,
            phone,
            title,
        } => {
            require_text("contact name", &name)?;
            let email = email.map(|e| check_email(&e)).transpose()?;
            let id = replica.resolve_account(&account)?;
            let contact = ContactId::new();
            let new = NewContact {
                name,
                email,
                phone,
                title,
            };
            let edit = replica.edit_now();
            replica.change_account(id, &edit, |tx| {
                account::add_contact(tx, &edit, contact, &new)
            })?;
            out.created(
                &contact.to_string(),
                json!({ "id": contact, "account": id }),
            )
        }
        ContactCommand::Set {
            contact,
            assignments,
        } => {
            let assignments = assignments
                .iter()
                .map(|a| ContactAssignment::parse(a))
                .collect::<Result<Vec<_>, _>>()?;
            let (id, item) = replica.resolve_item(ItemKind::Contact, &contact)?;
            let contact: ContactId = item.parse()?;
            let edit = replica.edit_now();
            replica.change_account(id, &edit, |tx| {
                account::set_contact(tx, contact, &assignments)
            })?;
            print_account(replica, id, out, true)
        }
        ContactCommand::Merge { other, into } => {
            let (_, other) = replica.resolve_item(ItemKind::Contact, &other)?;
            let (_, keep) = replica.resolve_item(ItemKind::Contact, &into)?;
            let edit = replica.edit_now();
            let merge = replica.merge_contacts(&edit, other.parse()?, keep.parse()?)?;
            out.contact_merged(&merge)
        }
    }
}

fn entry(replica: &mut Replica, account: &str, new: NewEntry, out: &Output) -> anyhow::Result<()> {
    require_text(&format!("{} text", new.kind), &new.text)?;
    let id = replica.resolve_account(account)?;
    let entry = EntryId::new();
    let edit = replica.edit_now();
    replica.change_account(id, &edit, |tx| account::add_entry(tx, &edit, entry, &new))?;
    out.created(
        &entry.to_string(),
        json!({ "id": entry, "account": id, "kind": new.kind }),
    )
}

/// A note and a task for its author to follow it up, in one change: the follow-up is read
/// first, so a bad one writes nothing.
fn note_with_follow_up(
    replica: &mut Replica,
    account: &str,
    note: NewEntry,
    follow_up: &str,
    out: &Output,
) -> anyhow::Result<()> {
    require_text("note text", &note.text)?;
    let due = reminder::follow_up_due(follow_up, rapport_store::today())?;
    let id = replica.resolve_account(account)?;
    let (entry, task) = (EntryId::new(), TaskId::new());
    let new_task = NewTask {
        title: reminder::follow_up_title(&note.text),
        assignee: Some(replica.user().clone()),
        due: Some(due),
    };
    let edit = replica.edit_now();
    replica.change_account(id, &edit, |tx| {
        let mut touched = account::add_entry(tx, &edit, entry, &note)?;
        touched.merge(account::add_task(tx, &edit, task, &new_task)?);
        Ok(touched)
    })?;
    out.created(
        &entry.to_string(),
        json!({
            "id": entry,
            "account": id,
            "kind": note.kind,
            "follow_up": { "id": task, "due": due, "assignee": new_task.assignee },
        }),
    )
}

fn history(
    replica: &mut Replica,
    args: crate::cli::HistoryArgs,
    out: &Output,
) -> anyhow::Result<()> {
    let id = replica.resolve_account(&args.account)?;
    out.history(&replica.history(id, args.limit)?)
}

fn deal(replica: &mut Replica, command: DealCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        DealCommand::Add {
            account,
            title,
            amount,
            currency,
            stage,
            close,
        } => {
            require_text("deal title", &title)?;
            let amount = Money::parse(amount.trim(), currency.unwrap_or(Currency::DEFAULT))?;
            let close = close.map(|c| parse_date(&c)).transpose()?;
            let id = replica.resolve_account(&account)?;
            let stage = pipeline_stage(replica, stage.as_deref())?;
            let deal = DealId::new();
            let new = NewDeal {
                title,
                amount,
                stage,
                close,
            };
            let edit = replica.edit_now();
            replica.change_account(id, &edit, |tx| account::add_deal(tx, &edit, deal, &new))?;
            out.created(
                &deal.to_string(),
                json!({ "id": deal, "account": id, "stage": new.stage }),
            )
        }
        DealCommand::Move { deal, stage } => {
            let (id, item) = replica.resolve_item(ItemKind::Deal, &deal)?;
            let deal: DealId = item.parse()?;
            let stage = pipeline_stage(replica, Some(&stage))?;
            let edit = replica.edit_now();
            replica.change_account(id, &edit, |tx| account::move_deal(tx, deal, &stage))?;
            out.done(
                &format!("moved deal {deal} to {stage}"),
                json!({ "id": deal, "account": id, "stage": stage }),
            )
        }
    }
}

/// A stage of the workspace's pipeline: the one named, or the first.
fn pipeline_stage(replica: &mut Replica, wanted: Option<&str>) -> anyhow::Result<PipelineStage> {
    let pipeline = replica.workspace()?.pipeline;
    let Some(wanted) = wanted else {
        return pipeline
            .into_iter()
            .next()
            .context("the workspace has no pipeline stages");
    };
    match pipeline.iter().find(|stage| stage.as_str() == wanted) {
        Some(stage) => Ok(stage.clone()),
        None => {
            let known: Vec<&str> = pipeline.iter().map(PipelineStage::as_str).collect();
            bail!(
                "invalid deal stage '{wanted}': expected one of {}",
                known.join(", ")
            )
        }
    }
}

fn task(replica: &mut Replica, command: TaskCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        TaskCommand::Add {
            account,
            title,
            assignee,
            due,
        } => {
            require_text("task title", &title)?;
            let due = due.map(|d| parse_date(&d)).transpose()?;
            let id = replica.resolve_account(&account)?;
            let task = TaskId::new();
            let new = NewTask {
                title,
                assignee,
                due,
            };
            let edit = replica.edit_now();
            replica.change_account(id, &edit, |tx| account::add_task(tx, &edit, task, &new))?;
            out.created(&task.to_string(), json!({ "id": task, "account": id }))
        }
        TaskCommand::Done { task } => {
            let (id, item) = replica.resolve_item(ItemKind::Task, &task)?;
            let task: TaskId = item.parse()?;
            let edit = replica.edit_now();
            replica.change_account(id, &edit, |tx| account::complete_task(tx, task, true))?;
            out.done(
                &format!("task {task} done"),
                json!({ "id": task, "account": id, "done": true }),
            )
        }
        TaskCommand::List { mine: _, due } => {
            let today = rapport_store::today();
            let tasks = if due {
                replica.reminders(today)?
            } else {
                replica.open_tasks(today)?
            };
            out.open_tasks(&tasks)
        }
    }
}

fn alerts(replica: &mut Replica, args: AlertsArgs, out: &Output) -> anyhow::Result<()> {
    let edit = replica.edit_now();
    match args.action {
        None => {
            let alerts = replica.alerts(args.all)?;
            let reminders = replica.reminders(rapport_store::today())?;
            let names = replica
                .accounts()?
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect();
            out.alerts(&alerts, &reminders, &names)
        }
        Some(AlertsCommand::Ack {
            alert: Some(alert), ..
        }) => {
            let entry = replica.acknowledge(&edit, &alert)?;
            out.done(
                &format!("acknowledged {entry}"),
                json!({ "acknowledged": [entry] }),
            )
        }
        Some(AlertsCommand::Ack { alert: None, .. }) => {
            let entries = replica.acknowledge_all(&edit)?;
            out.done(
                &format!("acknowledged {} alert(s)", entries.len()),
                json!({ "acknowledged": entries }),
            )
        }
    }
}
