//! What importing a JSON export would do, account by account, and the changes that carry it
//! out.
//!
//! Each account of the file is its own account: two never fold into one. It matches an account
//! of the workspace (by document id when the file comes from this very workspace, else by
//! domain, then by name, as a CSV import matches) or is created. Its contacts, deals, tasks and
//! timeline entries keep their ids, so an item the account has already is the same item:
//! importing a file twice changes nothing the second time. The workspace's settings in the
//! file are planned first (`json_settings`), so that values fit the definitions the file
//! brings.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

use rapport_model::account::{AccountView, NewAccount, NewContact, NewDeal, NewTask};
use rapport_model::custom_field::FieldDefinition;
use rapport_model::{
    AccountAssignment, AccountField, ContactField, ContactId, DealId, DocumentId, PipelineStage,
    TaskId,
};
use serde::Serialize;

use crate::json_file::{FileAccount, FileDeal, JsonFile};
use crate::json_settings::{SettingPlan, WorkspaceChange, plan_settings};
use crate::plan::{
    AccountChange, Existing, Outcome, Target, changed_contact_fields, check_custom, pipeline_words,
};
use crate::record::{Reject, domain_of};

#[cfg(test)]
mod tests;

/// What a JSON import would do: each workspace setting's and each account's fate, the change
/// of the workspace document and the changes of accounts, one per account.
#[derive(Clone, Debug)]
pub struct JsonPlan {
    /// Each setting of the file (field definitions, then rules, then segments).
    pub settings: Vec<SettingPlan>,
    /// The settings to create, written before the accounts (in the same commit).
    pub workspace: WorkspaceChange,
    /// Each account of the file, in file order.
    pub accounts: Vec<AccountPlan>,
    /// The changes to make, one per account that is created or changes.
    pub changes: Vec<AccountChange>,
}

impl JsonPlan {
    /// The accounts rejected.
    pub fn rejected(&self) -> impl Iterator<Item = &AccountPlan> {
        self.accounts
            .iter()
            .filter(|a| a.outcome == Outcome::Rejected)
    }

    /// How many accounts have `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.outcome == outcome)
            .count()
    }
}

/// One account's fate, as the dry run reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountPlan {
    /// Its place in the file, from 1.
    pub account: usize,
    /// Its name in the file.
    pub name: String,
    /// Created, merged into an account of the workspace, or rejected.
    pub outcome: Outcome,
    /// For a merged account: how it was matched.
    pub matched_by: Option<MatchedBy>,
    /// For a merged account: the name of the account of the workspace it goes into.
    pub into: Option<String>,
    /// Account fields (custom fields and the tag set included) that are set.
    pub fields: usize,
    /// Its contacts.
    pub contacts: ItemCounts,
    /// Its deals.
    pub deals: ItemCounts,
    /// Its tasks.
    pub tasks: ItemCounts,
    /// Its timeline entries.
    pub timeline: ItemCounts,
    /// Why it is rejected.
    pub reasons: Vec<String>,
}

impl AccountPlan {
    /// Whether importing it writes anything.
    pub fn changes_anything(&self) -> bool {
        self.outcome == Outcome::Created
            || self.fields > 0
            || [self.contacts, self.deals, self.tasks, self.timeline]
                .iter()
                .any(|c| c.created + c.updated > 0)
    }
}

/// How an account of the file was told to be an account of the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// Its document id, in the workspace the file came from.
    Id,
    /// The account its items are in already.
    Items,
    /// Its domain.
    Domain,
    /// Its name.
    Name,
}

impl MatchedBy {
    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Id => "id",
            MatchedBy::Items => "items",
            MatchedBy::Domain => "domain",
            MatchedBy::Name => "name",
        }
    }
}

/// What happens to the items of one kind of an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ItemCounts {
    /// Items the account does not have yet.
    pub created: usize,
    /// Items it has, with other values: the file's are written.
    pub updated: usize,
    /// Items it has already, as the file has them.
    pub unchanged: usize,
}

impl Existing {
    /// The existing accounts the accounts of `file` match: the ones whose views
    /// [`plan_json`] needs. `workspace` is the id of the workspace imported into.
    pub fn referenced_by_json(&self, file: &JsonFile, workspace: DocumentId) -> Vec<DocumentId> {
        let index = Index::new(self, file.workspace == Some(workspace));
        let mut ids: Vec<DocumentId> = file
            .accounts
            .iter()
            .filter_map(|account| match index.find(self, account) {
                Ok(Some((known, _))) => Some(self.accounts[known].id),
                _ => None,
            })
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// Decides what importing `file` into `existing` (the workspace `workspace`) does, account by
/// account.
pub fn plan_json(file: &JsonFile, existing: &Existing, workspace: DocumentId) -> JsonPlan {
    let index = Index::new(existing, file.workspace == Some(workspace));
    let mut planner = JsonPlanner {
        existing,
        claimed: HashMap::new(),
        accounts_seen: HashMap::new(),
        items_seen: HashSet::new(),
    };
    let (settings, workspace_change) = plan_settings(&file.settings, existing);
    // The file's values are checked against its own definitions where the workspace lacks
    // them: those are created first.
    let definitions: Vec<FieldDefinition> = existing
        .fields
        .iter()
        .chain(&workspace_change.fields)
        .cloned()
        .collect();
    let mut plan = JsonPlan {
        settings,
        workspace: workspace_change,
        accounts: Vec::new(),
        changes: Vec::new(),
    };
    for (position, account) in file.accounts.iter().enumerate() {
        let account = &checked_custom(&definitions, account);
        let found = index.find(existing, account);
        let (report, change) = planner.account(position + 1, account, found);
        plan.accounts.push(report);
        plan.changes.extend(change);
    }
    plan
}

/// The account with its custom values as stored, checked against the definitions: a value
/// that does not fit is a problem of the account.
fn checked_custom<'f>(
    definitions: &[FieldDefinition],
    account: &'f FileAccount,
) -> Cow<'f, FileAccount> {
    let (custom, refused) = check_custom(definitions, &account.custom);
    if custom == account.custom && refused.is_none() {
        return Cow::Borrowed(account);
    }
    let mut checked = account.clone();
    checked.custom = custom;
    checked
        .problems
        .extend(refused.map(|error| error.to_string()));
    Cow::Owned(checked)
}

/// The workspace's accounts by id, normalized domain and lowercased name.
struct Index {
    by_id: HashMap<DocumentId, usize>,
    /// Whether the file's account ids name accounts here: only in the workspace it came from.
    same_workspace: bool,
    by_domain: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
}

impl Index {
    fn new(existing: &Existing, same_workspace: bool) -> Self {
        let mut index = Index {
            by_id: HashMap::new(),
            same_workspace,
            by_domain: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (at, known) in existing.accounts.iter().enumerate() {
            index.by_id.insert(known.id, at);
            if let Some(domain) = &known.domain {
                index.by_domain.entry(domain.clone()).or_default().push(at);
            }
            let name = known.name.to_lowercase();
            index.by_name.entry(name).or_default().push(at);
        }
        index
    }

    /// The existing account a file's account is, and how it was told: by id (in the workspace
    /// the file came from), then by the account its items are in already (an earlier import
    /// of the file), then by domain (the one of that name among several), then by name among
    /// accounts without another domain. `None`: a new account.
    fn find(
        &self,
        existing: &Existing,
        account: &FileAccount,
    ) -> Result<Option<(usize, MatchedBy)>, String> {
        let by_id = account.id.filter(|_| self.same_workspace);
        if let Some(at) = by_id.and_then(|id| self.by_id.get(&id)) {
            return Ok(Some((*at, MatchedBy::Id)));
        }
        let homes: BTreeSet<usize> = item_ids(account)
            .filter_map(|(_, item)| existing.items.get(&item))
            .filter_map(|id| self.by_id.get(id).copied())
            .collect();
        match homes.len() {
            0 => {}
            1 => return Ok(homes.first().map(|at| (*at, MatchedBy::Items))),
            many => {
                let names: Vec<&str> = homes
                    .iter()
                    .map(|at| existing.accounts[*at].name.as_str())
                    .collect();
                return Err(format!(
                    "its items are in {many} accounts of the workspace already: {}",
                    names.join(", ")
                ));
            }
        }
        let lower = account.name.to_lowercase();
        let domain = account.domain.as_deref().and_then(domain_of);
        if let Some(domain) = &domain
            && let Some(found) = self.by_domain.get(domain)
        {
            let named: Vec<usize> = found
                .iter()
                .copied()
                .filter(|at| existing.accounts[*at].name.to_lowercase() == lower)
                .collect();
            return match (found.as_slice(), named.as_slice()) {
                ([one], _) | (_, [one]) => Ok(Some((*one, MatchedBy::Domain))),
                (many, _) => Err(format!(
                    "ambiguous account '{}': {} accounts have the domain {domain}",
                    account.name,
                    many.len()
                )),
            };
        }
        let named: Vec<usize> = self
            .by_name
            .get(&lower)
            .into_iter()
            .flatten()
            .copied()
            .filter(|at| domain.is_none() || existing.accounts[*at].domain.is_none())
            .collect();
        match named.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one, MatchedBy::Name))),
            many => Err(Reject::Ambiguous {
                name: account.name.clone(),
                count: many.len(),
            }
            .to_string()),
        }
    }
}

struct JsonPlanner<'e> {
    existing: &'e Existing,
    /// The existing accounts matched so far, and by which account of the file.
    claimed: HashMap<usize, usize>,
    /// The document ids of the file's accounts so far, and where.
    accounts_seen: HashMap<DocumentId, usize>,
    /// Every item id of the file so far.
    items_seen: HashSet<String>,
}

impl JsonPlanner<'_> {
    fn account(
        &mut self,
        position: usize,
        account: &FileAccount,
        found: Result<Option<(usize, MatchedBy)>, String>,
    ) -> (AccountPlan, Option<AccountChange>) {
        let mut reasons = account.problems.clone();
        self.check_unique(position, account, &mut reasons);
        let matched = found.unwrap_or_else(|reason| {
            reasons.push(reason);
            None
        });
        if let Some((known, _)) = matched {
            match self.claimed.get(&known) {
                Some(first) => reasons.push(format!(
                    "account {first} of the file goes into the same account '{}'",
                    self.existing.accounts[known].name
                )),
                None => {
                    self.claimed.insert(known, position);
                }
            }
        }
        let view = matched.and_then(|(known, _)| self.existing.accounts[known].view.as_ref());
        let (mut change, fields) = match matched {
            Some((known, by)) => {
                let assignments = existing_assignments(account, view, by == MatchedBy::Id);
                let fields = assignments.len();
                let id = self.existing.accounts[known].id;
                let mut change = AccountChange::new(Target::Existing(id));
                change.assignments = assignments;
                (change, fields)
            }
            None => {
                let mut change = AccountChange::new(Target::New(new_account(account)));
                change.assignments = new_assignments(account);
                (change, 0)
            }
        };
        let counts = Items {
            pipeline: &self.existing.pipeline,
            view,
            change: &mut change,
            reasons: &mut reasons,
        }
        .plan(account);
        let outcome = match (reasons.is_empty(), matched) {
            (false, _) => Outcome::Rejected,
            (true, Some(_)) => Outcome::Merged,
            (true, None) => Outcome::Created,
        };
        let report = AccountPlan {
            account: position,
            name: account.name.clone(),
            outcome,
            matched_by: matched.map(|(_, by)| by),
            into: matched.map(|(known, _)| self.existing.accounts[known].name.clone()),
            fields,
            contacts: counts[0],
            deals: counts[1],
            tasks: counts[2],
            timeline: counts[3],
            reasons,
        };
        let change = (outcome != Outcome::Rejected && !change.is_empty()).then_some(change);
        (report, change)
    }

    /// An account or item id given twice in the file is refused: the second would overwrite
    /// the first.
    fn check_unique(&mut self, position: usize, account: &FileAccount, reasons: &mut Vec<String>) {
        if let Some(id) = account.id
            && let Some(first) = self.accounts_seen.insert(id, position)
        {
            reasons.push(format!(
                "the same account id as account {first} of the file"
            ));
        }
        for (what, id) in item_ids(account) {
            if !self.items_seen.insert(id.clone()) {
                reasons.push(format!("{what} {id} appears twice in the file"));
            }
        }
    }
}

/// Every item id of an account, with what the item is.
fn item_ids(account: &FileAccount) -> impl Iterator<Item = (&'static str, String)> {
    let contacts = account
        .contacts
        .iter()
        .map(|(id, _)| ("contact", id.to_string()));
    let deals = account.deals.iter().map(|(id, _)| ("deal", id.to_string()));
    let tasks = account
        .tasks
        .iter()
        .map(|(id, ..)| ("task", id.to_string()));
    let timeline = account
        .timeline
        .iter()
        .map(|(id, ..)| ("timeline entry", id.to_string()));
    contacts.chain(deals).chain(tasks).chain(timeline)
}

fn new_account(account: &FileAccount) -> NewAccount {
    NewAccount {
        name: account.name.clone(),
        domain: account.domain.clone(),
        tier: account.tier.clone(),
        stage: account.stage,
        owner: account.owner.clone(),
    }
}

/// What a new account needs beyond [`NewAccount`].
fn new_assignments(account: &FileAccount) -> Vec<AccountAssignment> {
    let mut out: Vec<AccountAssignment> = [
        (AccountField::Industry, &account.industry),
        (AccountField::Phone, &account.phone),
        (AccountField::Website, &account.website),
    ]
    .into_iter()
    .filter_map(|(field, value)| {
        value.clone().map(|value| AccountAssignment {
            field,
            value: Some(value),
        })
    })
    .collect();
    if !account.tags.is_empty() {
        out.push(AccountAssignment {
            field: AccountField::Tags,
            value: Some(account.tags.join(",")),
        });
    }
    out.extend(
        account
            .custom
            .iter()
            .map(|(name, value)| AccountAssignment {
                field: AccountField::Custom(name.clone()),
                value: Some(value.clone()),
            }),
    );
    out
}

/// The assignments that bring an existing account to the file's values: each value the file
/// gives that differs. Matched by domain or name, the account keeps its name, and its domain
/// if it has one (as a CSV import does); matched by id, both follow the file too.
fn existing_assignments(
    account: &FileAccount,
    view: Option<&AccountView>,
    by_id: bool,
) -> Vec<AccountAssignment> {
    let Some(view) = view else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut put = |field: AccountField, given: Option<String>, has: Option<&String>| {
        if let Some(value) = given
            && Some(&value) != has
        {
            out.push(AccountAssignment {
                field,
                value: Some(value),
            });
        }
    };
    if by_id {
        put(
            AccountField::Name,
            Some(account.name.clone()),
            Some(&view.name),
        );
    }
    if by_id || view.domain.is_none() {
        put(
            AccountField::Domain,
            account.domain.clone(),
            view.domain.as_ref(),
        );
    }
    let stage = view.stage.map(|s| s.as_str().to_owned());
    let fields = [
        (
            AccountField::Industry,
            account.industry.clone(),
            view.industry.as_ref(),
        ),
        (AccountField::Tier, account.tier.clone(), view.tier.as_ref()),
        (
            AccountField::Stage,
            account.stage.map(|s| s.as_str().to_owned()),
            stage.as_ref(),
        ),
        (
            AccountField::Owner,
            account.owner.as_ref().map(ToString::to_string),
            view.owner.as_ref(),
        ),
        (
            AccountField::Phone,
            account.phone.clone(),
            view.phone.as_ref(),
        ),
        (
            AccountField::Website,
            account.website.clone(),
            view.website.as_ref(),
        ),
    ];
    for (field, given, has) in fields {
        put(field, given, has);
    }
    if !account.tags.is_empty() && account.tags != view.tags {
        put(AccountField::Tags, Some(account.tags.join(",")), None);
    }
    for (name, value) in &account.custom {
        put(
            AccountField::Custom(name.clone()),
            Some(value.clone()),
            view.custom.get(name),
        );
    }
    out
}

/// Plans the items of one account against what it has (`view`: none for a new account).
struct Items<'p> {
    pipeline: &'p [PipelineStage],
    view: Option<&'p AccountView>,
    change: &'p mut AccountChange,
    reasons: &'p mut Vec<String>,
}

impl Items<'_> {
    /// Contacts, deals, tasks and timeline entries, counted in that order.
    fn plan(mut self, account: &FileAccount) -> [ItemCounts; 4] {
        let mut counts = [ItemCounts::default(); 4];
        for (id, contact) in &account.contacts {
            self.contact(*id, contact, &mut counts[0]);
        }
        for (id, deal) in &account.deals {
            self.deal(*id, deal, &mut counts[1]);
        }
        for (id, task, done) in &account.tasks {
            self.task(*id, task, *done, &mut counts[2]);
        }
        for (id, author, entry) in &account.timeline {
            let has = self
                .view
                .is_some_and(|v| v.timeline.iter().any(|e| e.id == *id));
            // An entry is a record of what happened: one the account has is never rewritten.
            if has {
                counts[3].unchanged += 1;
            } else {
                counts[3].created += 1;
                self.change
                    .entries
                    .push((*id, author.clone(), entry.clone()));
            }
        }
        counts
    }

    fn contact(&mut self, id: ContactId, contact: &NewContact, counts: &mut ItemCounts) {
        // A contact merged into another is still there: written to, not made again (which
        // would replace it, and its merge with it).
        let found = self.view.and_then(|v| {
            let merged = v.merged_contacts.iter().map(|m| &m.contact);
            v.contacts.iter().chain(merged).find(|c| c.id == id)
        });
        let Some(found) = found else {
            counts.created += 1;
            self.change.contacts.push((id, contact.clone()));
            return;
        };
        let wanted = [
            (ContactField::Name, Some(&contact.name), Some(&found.name)),
            (
                ContactField::Email,
                contact.email.as_ref(),
                found.email.as_ref(),
            ),
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
        if assignments.is_empty() {
            counts.unchanged += 1;
        } else {
            counts.updated += 1;
            self.change.contact_updates.push((id, assignments));
        }
    }

    fn deal(&mut self, id: DealId, deal: &FileDeal, counts: &mut ItemCounts) {
        let Some(stage) = self.pipeline.iter().find(|s| s.as_str() == deal.stage) else {
            let reject = Reject::UnknownStage {
                stage: deal.stage.clone(),
                pipeline: pipeline_words(self.pipeline),
            };
            self.reasons
                .push(format!("deal '{}': {reject}", deal.title));
            return;
        };
        let new = NewDeal {
            title: deal.title.clone(),
            amount: deal.amount,
            stage: stage.clone(),
            close: deal.close,
        };
        let found = self.view.and_then(|v| v.deals.iter().find(|d| d.id == id));
        let Some(found) = found else {
            counts.created += 1;
            self.change.deals.push((id, new));
            return;
        };
        let close = deal.close.map(|d| d.to_string());
        let same = found.title == deal.title
            && found.amount == deal.amount.minor
            && found.currency == deal.amount.currency
            && found.stage == deal.stage
            && (close.is_none() || found.close == close);
        if same {
            counts.unchanged += 1;
        } else {
            counts.updated += 1;
            self.change.deal_updates.push((id, new));
        }
    }

    /// A task the account has follows the file's done mark; its title, assignee and due date
    /// stay as they are (Rapport has no edit of them).
    fn task(&mut self, id: TaskId, task: &NewTask, done: bool, counts: &mut ItemCounts) {
        let found = self.view.and_then(|v| v.tasks.iter().find(|t| t.id == id));
        match found {
            None => {
                counts.created += 1;
                self.change.tasks.push((id, task.clone(), done));
            }
            Some(found) if found.done != done => {
                counts.updated += 1;
                self.change.task_marks.push((id, done));
            }
            Some(_) => counts.unchanged += 1,
        }
    }
}
