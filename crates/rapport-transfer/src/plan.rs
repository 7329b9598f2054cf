//! What importing a parsed file would do, row by row (created, merged or rejected), and the
//! changes per account that carry it out. Deciding needs only the workspace's accounts (names
//! and domains) and, for the accounts the file names, their views.

use std::collections::HashMap;

use automerge::transaction::Transactable;
use rapport_model::account::{
    self, AccountView, NewAccount, NewContact, NewDeal, NewEntry, NewTask,
};
use rapport_model::{
    AccountAssignment, ContactAssignment, ContactField, ContactId, DealId, DocumentId, Edit,
    EditError, EntryId, PipelineStage, TaskId, Touched,
};
use serde::Serialize;

use crate::error::MappingError;
use crate::mapping::{ColumnMap, Kind, Mapping, map_columns};
use crate::record::{AccountRecord, ContactRecord, DealRecord, Item, Record, Reject, read_record};
use crate::table::read_table;

mod existing;
mod fields;
#[cfg(test)]
pub(crate) mod tests;

pub use existing::Existing;
use existing::Lookup;
pub(crate) use existing::check_custom;
use fields::{account_assignments, pipeline_stage};
pub(crate) use fields::{changed_contact_fields, pipeline_words};

/// A file read and mapped: each row a record or the reason it is rejected.
#[derive(Clone, Debug)]
pub struct ParsedFile {
    /// What each column feeds.
    pub mapping: Mapping,
    /// The rows, in file order.
    pub rows: Vec<ParsedRow>,
}

/// One row of a parsed file.
#[derive(Clone, Debug)]
pub struct ParsedRow {
    /// The line it starts on.
    pub line: u64,
    /// Its record, or why it cannot be imported.
    pub record: Result<Record, Reject>,
}

/// Reads, maps and checks a file's bytes: the pure entry point of an import (a fuzz target's
/// too). `kind` forces the kind of record; otherwise the headers tell it.
pub fn parse_file(
    bytes: &[u8],
    kind: Option<Kind>,
    overrides: &ColumnMap,
) -> Result<ParsedFile, MappingError> {
    let table = read_table(bytes)?;
    let mapping = map_columns(&table.headers, kind, overrides)?;
    let rows = table
        .rows
        .iter()
        .map(|row| ParsedRow {
            line: row.line,
            record: read_record(&mapping, &row.cells),
        })
        .collect();
    Ok(ParsedFile { mapping, rows })
}

/// What happens to a row, or to the account a row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A new record.
    Created,
    /// Folded into a record that exists (or that an earlier row of the file creates).
    Merged,
    /// Not imported; see the reason.
    Rejected,
}

impl Outcome {
    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Merged => "merged",
            Outcome::Rejected => "rejected",
        }
    }
}

/// One row's fate, as the dry run reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowPlan {
    /// The line the row starts on.
    pub line: u64,
    /// Created, merged or rejected.
    pub outcome: Outcome,
    /// What the row is: account, contact or deal.
    pub record: &'static str,
    /// Its name or title, when it has one.
    pub name: Option<String>,
    /// For a contact or deal: the account it goes to, and whether that is created.
    pub account: Option<AccountRef>,
    /// Why it is rejected.
    pub reason: Option<String>,
}

/// The account a contact or deal row goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountRef {
    /// Its name.
    pub name: String,
    /// Created by this import, or an existing one (merged into).
    pub outcome: Outcome,
}

/// Whether a change makes a new account or changes one that exists.
#[derive(Clone, Debug)]
pub enum Target {
    /// An account of the workspace.
    Existing(DocumentId),
    /// A new account, created with these values.
    New(NewAccount),
}

/// Everything an import does to one account, written as one change. Items carry the ids they
/// are written under: new ones for a CSV row, the file's own for a JSON export read back.
#[derive(Clone, Debug)]
pub struct AccountChange {
    /// The account.
    pub target: Target,
    /// Fields to set.
    pub assignments: Vec<AccountAssignment>,
    /// Contacts to add, under their ids.
    pub contacts: Vec<(ContactId, NewContact)>,
    /// Existing contacts to update.
    pub contact_updates: Vec<(ContactId, Vec<ContactAssignment>)>,
    /// Deals to add, under their ids.
    pub deals: Vec<(DealId, NewDeal)>,
    /// Existing deals to rewrite.
    pub deal_updates: Vec<(DealId, NewDeal)>,
    /// Tasks to add, under their ids, with whether they are done.
    pub tasks: Vec<(TaskId, NewTask, bool)>,
    /// Existing tasks to mark done or not done.
    pub task_marks: Vec<(TaskId, bool)>,
    /// Timeline entries to add, under their ids, each by its own author, team and time.
    pub entries: Vec<(EntryId, Edit, NewEntry)>,
}

impl AccountChange {
    pub(crate) fn new(target: Target) -> Self {
        Self {
            target,
            assignments: Vec::new(),
            contacts: Vec::new(),
            contact_updates: Vec::new(),
            deals: Vec::new(),
            deal_updates: Vec::new(),
            tasks: Vec::new(),
            task_marks: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Whether the change writes nothing (an account that has everything the import gives).
    pub fn is_empty(&self) -> bool {
        matches!(self.target, Target::Existing(_))
            && self.assignments.is_empty()
            && self.contacts.is_empty()
            && self.contact_updates.is_empty()
            && self.deals.is_empty()
            && self.deal_updates.is_empty()
            && self.tasks.is_empty()
            && self.task_marks.is_empty()
            && self.entries.is_empty()
    }

    /// Writes the change into an open transaction on the account's document (after
    /// `account::create` for a new one).
    pub fn write<T: Transactable>(&self, tx: &mut T, edit: &Edit) -> Result<Touched, EditError> {
        let mut touched = Touched::default();
        if !self.assignments.is_empty() {
            touched.merge(account::set(tx, &self.assignments)?);
        }
        for (id, contact) in &self.contacts {
            touched.merge(account::add_contact(tx, edit, *id, contact)?);
        }
        for (id, assignments) in &self.contact_updates {
            touched.merge(account::set_contact(tx, *id, assignments)?);
        }
        for (id, deal) in &self.deals {
            touched.merge(account::add_deal(tx, edit, *id, deal)?);
        }
        for (id, deal) in &self.deal_updates {
            touched.merge(account::update_deal(tx, *id, deal)?);
        }
        for (id, task, done) in &self.tasks {
            touched.merge(account::add_task(tx, edit, *id, task)?);
            if *done {
                touched.merge(account::complete_task(tx, *id, true)?);
            }
        }
        for (id, done) in &self.task_marks {
            touched.merge(account::complete_task(tx, *id, *done)?);
        }
        for (id, author, entry) in &self.entries {
            touched.merge(account::add_entry(tx, author, *id, entry)?);
        }
        Ok(touched)
    }
}

/// What an import would do: each row's fate and the changes, one per account.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The kind of record the file holds.
    pub kind: Kind,
    /// Each row's fate, in file order.
    pub rows: Vec<RowPlan>,
    /// The changes to make, one per account, in the order the file first names them.
    pub changes: Vec<AccountChange>,
}

impl Plan {
    /// The rows rejected.
    pub fn rejected(&self) -> impl Iterator<Item = &RowPlan> {
        self.rows.iter().filter(|r| r.outcome == Outcome::Rejected)
    }

    /// How many rows have `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.rows.iter().filter(|r| r.outcome == outcome).count()
    }
}

/// Decides what importing `file` into `existing` does, row by row.
pub fn plan(file: &ParsedFile, existing: &Existing) -> Plan {
    let mut planner = Planner {
        existing,
        lookup: Lookup::new(existing),
        changes: Vec::new(),
        of_existing: HashMap::new(),
        new_by_domain: HashMap::new(),
        new_by_name: HashMap::new(),
        seen: HashMap::new(),
    };
    let rows = file
        .rows
        .iter()
        .map(|row| {
            let result = match &row.record {
                Ok(record) => planner.row(row.line, record),
                Err(reject) => Err(reject.clone()),
            };
            result.unwrap_or_else(|reject| RowPlan {
                line: row.line,
                outcome: Outcome::Rejected,
                record: file.mapping.kind.record(),
                name: row.record.as_ref().ok().and_then(record_name),
                account: None,
                reason: Some(reject.to_string()),
            })
        })
        .collect();
    Plan {
        kind: file.mapping.kind,
        rows,
        changes: planner.changes,
    }
}

fn record_name(record: &Record) -> Option<String> {
    match &record.item {
        Item::None => record.account.name.clone(),
        Item::Contact(contact) => Some(contact.name.clone()),
        Item::Deal(deal) => Some(deal.title.clone()),
    }
}

/// Where a row's account is: an existing account (its index) or one this import creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Place {
    Existing(usize),
    New(usize),
}

struct Planner<'e> {
    existing: &'e Existing,
    lookup: Lookup,
    changes: Vec<AccountChange>,
    /// The change of each existing account touched so far.
    of_existing: HashMap<usize, usize>,
    new_by_domain: HashMap<String, usize>,
    new_by_name: HashMap<String, usize>,
    /// What earlier rows imported, per change, and on which line: the account itself (key ""),
    /// `contact:EMAIL-OR-NAME`, `deal:TITLE`.
    seen: HashMap<(usize, String), u64>,
}

impl<'e> Planner<'e> {
    fn row(&mut self, line: u64, record: &Record) -> Result<RowPlan, Reject> {
        // Checked before anything is planned, so that a rejected row creates no account.
        let (custom, refused) = self.existing.check_custom(&record.account.custom);
        if let Some(error) = refused {
            return Err(Reject::Invalid(error));
        }
        let checked;
        let record = if custom == record.account.custom {
            record
        } else {
            checked = Record {
                account: AccountRecord {
                    custom,
                    ..record.account.clone()
                },
                item: record.item.clone(),
            };
            &checked
        };
        if let Item::Deal(deal) = &record.item {
            pipeline_stage(deal.stage.as_deref(), &self.existing.pipeline)?;
        }
        let place = self.find(&record.account)?;
        let created = place.is_none();
        let (index, account_name) = match place {
            Some(place) => (self.change_of(place), self.name_of(place)),
            None => self.create(&record.account)?,
        };
        let account_outcome = if created {
            Outcome::Created
        } else {
            Outcome::Merged
        };
        let (outcome, name, what) = match &record.item {
            Item::None => {
                self.once(index, String::new(), "account", line)?;
                if !created {
                    self.merge_account(index, place, &record.account);
                }
                (account_outcome, account_name.clone(), "account")
            }
            Item::Contact(contact) => {
                let key = contact
                    .email
                    .as_ref()
                    .unwrap_or(&contact.name)
                    .to_lowercase();
                self.once(index, format!("contact:{key}"), "contact", line)?;
                let outcome = self.contact(index, place, contact);
                (outcome, contact.name.clone(), "contact")
            }
            Item::Deal(deal) => {
                self.once(
                    index,
                    format!("deal:{}", deal.title.to_lowercase()),
                    "deal",
                    line,
                )?;
                let outcome = self.deal(index, place, deal)?;
                (outcome, deal.title.clone(), "deal")
            }
        };
        let account = (what != "account").then_some(AccountRef {
            name: account_name,
            outcome: account_outcome,
        });
        Ok(RowPlan {
            line,
            outcome,
            record: what,
            name: Some(name),
            account,
            reason: None,
        })
    }

    /// The account a row names: by domain, then by exact name (any case) among accounts
    /// without another domain; existing accounts first, then those this import creates.
    fn find(&self, account: &AccountRecord) -> Result<Option<Place>, Reject> {
        if let Some(domain) = &account.domain {
            if let Some(index) = self.lookup.by_domain.get(domain).and_then(|v| v.first()) {
                return Ok(Some(Place::Existing(*index)));
            }
            if let Some(index) = self.new_by_domain.get(domain) {
                return Ok(Some(Place::New(*index)));
            }
        }
        let Some(name) = &account.name else {
            return Ok(None);
        };
        let lower = name.to_lowercase();
        // With a domain given, an account named alike but with a domain of its own is another.
        let fits = |domain: Option<&String>| account.domain.is_none() || domain.is_none();
        let named: Vec<usize> = self
            .lookup
            .by_name
            .get(&lower)
            .into_iter()
            .flatten()
            .copied()
            .filter(|i| fits(self.existing.accounts[*i].domain.as_ref()))
            .collect();
        match named.as_slice() {
            [one] => return Ok(Some(Place::Existing(*one))),
            [] => {}
            many => {
                return Err(Reject::Ambiguous {
                    name: name.clone(),
                    count: many.len(),
                });
            }
        }
        Ok(self
            .new_by_name
            .get(&lower)
            .filter(|i| fits(new_domain(&self.changes[**i])))
            .map(|i| Place::New(*i)))
    }

    fn change_of(&mut self, place: Place) -> usize {
        match place {
            Place::New(index) => index,
            Place::Existing(known) => *self.of_existing.entry(known).or_insert_with(|| {
                let id = self.existing.accounts[known].id;
                self.changes.push(AccountChange::new(Target::Existing(id)));
                self.changes.len() - 1
            }),
        }
    }

    fn name_of(&self, place: Place) -> String {
        match place {
            Place::Existing(known) => self.existing.accounts[known].name.clone(),
            Place::New(index) => match &self.changes[index].target {
                Target::New(new) => new.name.clone(),
                Target::Existing(_) => String::new(),
            },
        }
    }

    /// A new account from a row's account values; returns its change and name.
    fn create(&mut self, account: &AccountRecord) -> Result<(usize, String), Reject> {
        let name = account.name.clone().ok_or(Reject::Missing {
            what: "account name",
        })?;
        let new = NewAccount {
            name: name.clone(),
            domain: account.domain.clone(),
            tier: account.tier.clone(),
            stage: account.stage,
            owner: account.owner.clone(),
        };
        let mut change = AccountChange::new(Target::New(new));
        change.assignments = account_assignments(account, None);
        self.changes.push(change);
        let index = self.changes.len() - 1;
        if let Some(domain) = &account.domain {
            self.new_by_domain.entry(domain.clone()).or_insert(index);
        }
        self.new_by_name.entry(name.to_lowercase()).or_insert(index);
        Ok((index, name))
    }

    /// Refuses a second row for the same record.
    fn once(
        &mut self,
        change: usize,
        key: String,
        what: &'static str,
        line: u64,
    ) -> Result<(), Reject> {
        match self.seen.get(&(change, key.clone())) {
            Some(first) => Err(Reject::Duplicate { what, line: *first }),
            None => {
                self.seen.insert((change, key), line);
                Ok(())
            }
        }
    }

    fn view(&self, place: Option<Place>) -> Option<&'e AccountView> {
        let existing: &'e Existing = self.existing;
        match place {
            Some(Place::Existing(known)) => existing.accounts[known].view.as_ref(),
            _ => None,
        }
    }

    /// An accounts row for an account that exists: its given fields are set where they differ.
    fn merge_account(&mut self, change: usize, place: Option<Place>, account: &AccountRecord) {
        let assignments = account_assignments(account, self.view(place));
        self.changes[change].assignments.extend(assignments);
    }

    fn contact(&mut self, change: usize, place: Option<Place>, contact: &ContactRecord) -> Outcome {
        // Contacts merged into another come last: a row naming one is not a new contact.
        let existing = self.view(place).and_then(|view| {
            let merged = view.merged_contacts.iter().map(|m| &m.contact);
            view.contacts
                .iter()
                .chain(merged)
                .find(|c| match (&contact.email, &c.email) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    (None, _) => c.name.eq_ignore_ascii_case(&contact.name),
                    (Some(_), None) => false,
                })
        });
        let Some(found) = existing else {
            let new = NewContact {
                name: contact.name.clone(),
                email: contact.email.clone(),
                phone: contact.phone.clone(),
                title: contact.title.clone(),
            };
            self.changes[change].contacts.push((ContactId::new(), new));
            return Outcome::Created;
        };
        let wanted = [
            (ContactField::Name, Some(&contact.name), Some(&found.name)),
            (
                ContactField::Phone,
                contact.phone.as_ref(),
                found.phone.as_ref(),
            ),
            (
                ContactField::Title,
                contact.title.as_ref(),
                found.title.as_ref(),
            ),
        ];
        let assignments = changed_contact_fields(wanted);
        if !assignments.is_empty() {
            let id = found.id;
            self.changes[change].contact_updates.push((id, assignments));
        }
        Outcome::Merged
    }

    fn deal(
        &mut self,
        change: usize,
        place: Option<Place>,
        deal: &DealRecord,
    ) -> Result<Outcome, Reject> {
        let stage = pipeline_stage(deal.stage.as_deref(), &self.existing.pipeline)?;
        let existing = self.view(place).and_then(|view| {
            view.deals
                .iter()
                .find(|d| d.title.eq_ignore_ascii_case(&deal.title))
        });
        let Some(found) = existing else {
            let stage = match stage.or_else(|| self.existing.pipeline.first().cloned()) {
                Some(stage) => stage,
                None => {
                    return Err(Reject::UnknownStage {
                        stage: String::new(),
                        pipeline: "no stages".to_owned(),
                    });
                }
            };
            let new = NewDeal {
                title: deal.title.clone(),
                amount: deal.amount,
                stage,
                close: deal.close,
            };
            self.changes[change].deals.push((DealId::new(), new));
            return Ok(Outcome::Created);
        };
        let kept_stage = found.stage.parse::<PipelineStage>().ok();
        let Some(stage) = stage.or(kept_stage) else {
            return Err(Reject::UnknownStage {
                stage: found.stage.clone(),
                pipeline: pipeline_words(&self.existing.pipeline),
            });
        };
        let same = found.title == deal.title
            && found.amount == deal.amount.minor
            && found.currency == deal.amount.currency
            && found.stage == stage.as_str()
            && (deal.close.is_none() || found.close == deal.close.map(|d| d.to_string()));
        if !same {
            let update = NewDeal {
                title: deal.title.clone(),
                amount: deal.amount,
                stage,
                close: deal.close,
            };
            self.changes[change].deal_updates.push((found.id, update));
        }
        Ok(Outcome::Merged)
    }
}

fn new_domain(change: &AccountChange) -> Option<&String> {
    match &change.target {
        Target::New(new) => new.domain.as_ref(),
        Target::Existing(_) => None,
    }
}
