//! Writing the derived tables: the rows of one account from its document, as a whole or for
//! the items a change touched, with the search terms counted per account.

use std::collections::{BTreeMap, BTreeSet};

use automerge::Automerge;
use rapport_model::account::contact_merge::ContactMerges;
use rapport_model::account::{self, ContactView, EntryView, Section};
use rapport_model::alert::AccountFacts;
use rapport_model::{ContactId, DealId, DocumentId, EntryId, TaskId, Touched, search};
use redb::{ReadableTable, Table, WriteTransaction};

use super::{DOING, FIELDS_ITEM, ItemKind, Reader};
use crate::boards;
use crate::error::{StorageContext, StoreError};
use crate::merge;
use crate::reminders;
use crate::reports;
use crate::tables::{
    ACCOUNTS, ACTIVITY, ALERT_FACTS, ALERTS, DEALS, ENTRY_TIMES, ITEM_INDEX, ITEMS, TERM_ACCOUNTS,
    TOUCHES,
};
use crate::tables::{CONTACT_ROWS, MERGED, OPEN_TASK_KEYS, OPEN_TASKS};

mod alerts;

pub(crate) use alerts::rederive_entry_alerts;
use alerts::{put_alert_facts, rederive_alerts, refresh_acknowledgement, set_alert};

/// The derived tables, open in one write transaction: opened once per change or per batch,
/// not once per row.
pub(crate) struct Derived<'t> {
    accounts: Table<'t, &'static str, &'static [u8]>,
    terms: Table<'t, (&'static str, &'static str), u32>,
    item_index: Table<'t, (&'static str, &'static str), (&'static str, &'static str)>,
    items: Table<'t, &'static str, (&'static str, &'static str)>,
    pub(crate) alerts: Table<'t, (&'static str, &'static str), &'static [u8]>,
    alert_facts: Table<'t, &'static str, &'static [u8]>,
    pub(crate) deals: Table<'t, (&'static str, &'static str), &'static [u8]>,
    pub(crate) activity: Table<'t, (&'static str, &'static str), (&'static str, i64)>,
    pub(crate) entry_times: reports::touches::EntryTimesTable<'t>,
    pub(crate) touches: reports::touches::TouchesTable<'t>,
    pub(crate) merged: Table<'t, &'static str, &'static str>,
    contact_rows: Table<'t, (&'static str, &'static str), (&'static str, &'static str)>,
    pub(crate) open_tasks: reminders::OpenTasksTable<'t>,
    pub(crate) open_task_keys: reminders::OpenTaskKeysTable<'t>,
}

impl<'t> Derived<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            accounts: txn.open_table(ACCOUNTS).doing(DOING)?,
            terms: txn.open_table(TERM_ACCOUNTS).doing(DOING)?,
            item_index: txn.open_table(ITEM_INDEX).doing(DOING)?,
            items: txn.open_table(ITEMS).doing(DOING)?,
            alerts: txn.open_table(ALERTS).doing(DOING)?,
            alert_facts: txn.open_table(ALERT_FACTS).doing(DOING)?,
            deals: txn.open_table(DEALS).doing(DOING)?,
            activity: txn.open_table(ACTIVITY).doing(DOING)?,
            entry_times: txn.open_table(ENTRY_TIMES).doing(DOING)?,
            touches: txn.open_table(TOUCHES).doing(DOING)?,
            merged: txn.open_table(MERGED).doing(DOING)?,
            contact_rows: txn.open_table(CONTACT_ROWS).doing(DOING)?,
            open_tasks: txn.open_table(OPEN_TASKS).doing(DOING)?,
            open_task_keys: txn.open_table(OPEN_TASK_KEYS).doing(DOING)?,
        })
    }
}

/// What an item of an account is indexed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    /// The account's own fields.
    Fields,
    /// A contact, deal, task or timeline entry.
    Item(ItemKind),
}

impl Held {
    fn as_str(self) -> &'static str {
        match self {
            Held::Fields => "fields",
            Held::Item(kind) => kind.as_str(),
        }
    }
}

/// Indexes an account; a document that is not a well-formed account (one from a peer, say) is
/// kept, since it is data, but left out of lists, search and alerts until it reads again.
pub(crate) fn index_or_leave_out(
    derived: &mut Derived<'_>,
    doc: &Automerge,
    id: DocumentId,
    touched: &Touched,
    reader: &Reader,
) -> Result<(), StoreError> {
    // An account merged into another is shown as that one: it keeps no rows of its own.
    if merge::stands_for_another(&mut derived.merged, doc, id)? {
        return clear_account(derived, &id.to_string());
    }
    match index_account(derived, doc, id, touched, reader) {
        Err(StoreError::Shape { source, .. }) => {
            tracing::warn!(document = %id, error = %source, "document left out of the index");
            clear_account(derived, &id.to_string())
        }
        other => other,
    }
}

fn index_account(
    derived: &mut Derived<'_>,
    doc: &Automerge,
    id: DocumentId,
    touched: &Touched,
    reader: &Reader,
) -> Result<(), StoreError> {
    let key = id.to_string();
    let shape = |source| StoreError::Shape { id, source };
    if touched.everything {
        return reindex_everything(derived, doc, id, reader);
    }
    if touched.summary() {
        put_summary(derived, doc, id)?;
    }
    // What the account's alerts read of it; when that changed, every entry's alert follows.
    let facts = account::alert_facts(doc);
    let entries_of = EntriesOf {
        doc,
        id,
        key: &key,
        facts: &facts,
        reader,
    };
    if touched.fields {
        let texts = account::field_texts(doc).map_err(shape)?;
        put_item(
            derived,
            &key,
            FIELDS_ITEM,
            Held::Fields,
            Some(terms_of(&texts)),
        )?;
        if put_alert_facts(derived, &key, &facts)? {
            rederive_alerts(derived, &entries_of)?;
        }
    }
    if !touched.contacts.is_empty() {
        put_contacts(derived, doc, id, &touched.contacts)?;
    }
    for entry_key in &touched.entries {
        // An entry a foreign peer wrote in another shape is left out of the indexes, not fatal.
        let entry = match entry_key.parse::<EntryId>() {
            Ok(entry) => account::read_entry(doc, entry).unwrap_or_else(|error| {
                tracing::warn!(account = %id, entry = entry_key.as_str(), %error, "timeline entry left out of the index");
                None
            }),
            Err(_) => None,
        };
        put_entry(derived, &entries_of, entry_key, entry)?;
    }
    for deal_key in &touched.deals {
        let deal = match deal_key.parse::<DealId>() {
            Ok(deal) => account::read_deal(doc, deal).map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        };
        let deal = deal.unwrap_or_else(|error| {
            tracing::warn!(account = %id, deal = deal_key.as_str(), %error, "deal left off the pipeline board");
            None
        });
        // A deal that is there but does not read is still held, as before it went bad.
        let exists =
            deal.is_some() || account::has_item(doc, Section::Deals, deal_key).unwrap_or(false);
        let terms = exists.then(BTreeSet::new);
        put_item(derived, &key, deal_key, Held::Item(ItemKind::Deal), terms)?;
        boards::set_deal(&mut derived.deals, id, deal_key, deal.as_ref())?;
    }
    for task in &touched.tasks {
        let exists = account::has_item(doc, Section::Tasks, task).unwrap_or(false);
        let terms = exists.then(BTreeSet::new);
        put_item(derived, &key, task, Held::Item(ItemKind::Task), terms)?;
        let view = read_task(doc, id, task);
        reminders::set_task(derived, &key, task, view.as_ref())?;
    }
    for (_, entry) in touched
        .acks
        .iter()
        .filter(|(user, _)| user == reader.user.as_str())
    {
        refresh_acknowledgement(derived, doc, &key, entry, &reader.user)?;
    }
    Ok(())
}

/// Indexes the contacts a change touched, and every contact that carries a merge mark: whether
/// a contact stands for itself can change with another's mark (a loop of merges completed).
/// A contact merged into another keeps its `items` row (commands still find it) but no search
/// terms and no duplicate row: it shows as the one that stands for it.
fn put_contacts(
    derived: &mut Derived<'_>,
    doc: &Automerge,
    id: DocumentId,
    touched: &BTreeSet<String>,
) -> Result<(), StoreError> {
    let key = id.to_string();
    let merges = ContactMerges::read(doc).map_err(|source| StoreError::Shape { id, source })?;
    let mut contacts = touched.clone();
    contacts.extend(merges.marked().map(|contact| contact.to_string()));
    for contact in &contacts {
        let found = contact
            .parse::<ContactId>()
            .ok()
            .and_then(|id| account::read_contact(doc, id).ok().flatten());
        let standing = found.as_ref().filter(|c| !merges.stands_for_another(c.id));
        let terms = found
            .as_ref()
            .map(|_| standing.map(contact_terms).unwrap_or_default());
        put_item(derived, &key, contact, Held::Item(ItemKind::Contact), terms)?;
        merge::set_contact_row(&mut derived.contact_rows, &key, contact, standing)?;
    }
    Ok(())
}

/// Indexes an account from scratch, reading each section of the document in one pass.
fn reindex_everything(
    derived: &mut Derived<'_>,
    doc: &Automerge,
    id: DocumentId,
    reader: &Reader,
) -> Result<(), StoreError> {
    let key = id.to_string();
    let shape = |source| StoreError::Shape { id, source };
    clear_account(derived, &key)?;
    put_summary(derived, doc, id)?;
    let facts = account::alert_facts(doc);
    put_alert_facts(derived, &key, &facts)?;
    // Every item with its terms, written once the reading is done.
    let mut held: Vec<(String, Held, BTreeSet<String>)> = Vec::new();
    let texts = account::field_texts(doc).map_err(shape)?;
    held.push((FIELDS_ITEM.to_owned(), Held::Fields, terms_of(&texts)));
    // A contact or an entry that does not read is left out, as its own update leaves it out.
    let merges = ContactMerges::read(doc).map_err(shape)?;
    for (item, contact) in account::each_contact(doc).map_err(shape)? {
        match contact {
            Ok(contact) if merges.stands_for_another(contact.id) => {
                held.push((item, Held::Item(ItemKind::Contact), BTreeSet::new()));
            }
            Ok(contact) => {
                merge::set_contact_row(&mut derived.contact_rows, &key, &item, Some(&contact))?;
                held.push((item, Held::Item(ItemKind::Contact), contact_terms(&contact)));
            }
            Err(_) => {}
        }
    }
    let entries_of = EntriesOf {
        doc,
        id,
        key: &key,
        facts: &facts,
        reader,
    };
    let mut touch = reports::touches::Touch::default();
    for (item, entry) in account::each_entry(doc).map_err(shape)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                tracing::warn!(account = %id, entry = item.as_str(), %error, "timeline entry left out of the index");
                continue;
            }
        };
        held.push((
            item.clone(),
            Held::Item(ItemKind::Entry),
            terms_of(&[&entry.text]),
        ));
        touch.add(entry.team, entry.kind, entry.at.as_millisecond());
        reports::touches::put_new_entry(derived, &key, &item, &entry)?;
        boards::set_activity(
            &mut derived.activity,
            &key,
            &item,
            Some((entry.team, entry.at)),
        )?;
        set_alert(derived, &entries_of, &item, Some(entry), Rows::Cleared)?;
    }
    reports::touches::put_touch(derived, &key, touch)?;
    for (item, deal) in account::each_deal(doc).map_err(shape)? {
        let deal = deal
            .map_err(|error| {
                tracing::warn!(account = %id, deal = item.as_str(), %error, "deal left off the pipeline board");
            })
            .ok();
        boards::set_deal(&mut derived.deals, id, &item, deal.as_ref())?;
        held.push((item, Held::Item(ItemKind::Deal), BTreeSet::new()));
    }
    for task in account::item_keys(doc, Section::Tasks).map_err(shape)? {
        let view = read_task(doc, id, &task);
        reminders::set_task(derived, &key, &task, view.as_ref())?;
        held.push((task, Held::Item(ItemKind::Task), BTreeSet::new()));
    }
    // The account's rows were cleared above: each goes in without reading an old one, and each
    // term's count once.
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for (item, kind, terms) in &held {
        for term in terms {
            *counts.entry(term.as_str()).or_default() += 1;
        }
        let joined = join_terms(terms);
        derived
            .item_index
            .insert(
                (key.as_str(), item.as_str()),
                (kind.as_str(), joined.as_str()),
            )
            .doing(DOING)?;
        if let Held::Item(kind) = kind {
            derived
                .items
                .insert(item.as_str(), (kind.as_str(), key.as_str()))
                .doing(DOING)?;
        }
    }
    for (term, count) in counts {
        derived
            .terms
            .insert((term, key.as_str()), count)
            .doing(DOING)?;
    }
    Ok(())
}

/// A task as it now reads; one gone, or written by a foreign peer in another shape, is `None`
/// (left out of the open tasks, not fatal).
fn read_task(doc: &Automerge, id: DocumentId, task_key: &str) -> Option<account::TaskView> {
    let task = task_key.parse::<TaskId>().ok()?;
    account::read_task(doc, task).unwrap_or_else(|error| {
        tracing::warn!(account = %id, task = task_key, %error, "task left out of the open tasks");
        None
    })
}

fn put_summary(
    derived: &mut Derived<'_>,
    doc: &Automerge,
    id: DocumentId,
) -> Result<(), StoreError> {
    let summary = account::summary(doc, id).map_err(|source| StoreError::Shape { id, source })?;
    let json = serde_json::to_vec(&summary).map_err(|e| StoreError::DamagedIndex {
        table: "accounts",
        reason: e.to_string(),
    })?;
    derived
        .accounts
        .insert(id.to_string().as_str(), json.as_slice())
        .doing(DOING)?;
    Ok(())
}

/// The search terms of a contact: its name, email, phone and title.
fn contact_terms(contact: &ContactView) -> BTreeSet<String> {
    let texts: Vec<&String> = [
        Some(&contact.name),
        contact.email.as_ref(),
        contact.phone.as_ref(),
        contact.title.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    terms_of(&texts)
}

fn terms_of<S: AsRef<str>>(texts: &[S]) -> BTreeSet<String> {
    texts
        .iter()
        .flat_map(|t| search::terms(t.as_ref()))
        .collect()
}

fn join_terms(terms: &BTreeSet<String>) -> String {
    terms
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The account whose entries are being indexed: its document, id and key, what its alerts
/// read of it, and whose inbox they go to.
struct EntriesOf<'a> {
    doc: &'a Automerge,
    id: DocumentId,
    key: &'a str,
    facts: &'a AccountFacts,
    reader: &'a Reader,
}

/// Indexes one timeline entry as it now reads (`None`: gone, or not readable).
fn put_entry(
    derived: &mut Derived<'_>,
    account: &EntriesOf<'_>,
    entry_key: &str,
    entry: Option<EntryView>,
) -> Result<(), StoreError> {
    let terms = entry.as_ref().map(|e| terms_of(&[&e.text]));
    put_item(
        derived,
        account.key,
        entry_key,
        Held::Item(ItemKind::Entry),
        terms,
    )?;
    let (doc, id, key) = (account.doc, account.id, account.key);
    reports::touches::set_entry(derived, doc, id, key, entry_key, entry.as_ref())?;
    let activity = entry.as_ref().map(|e| (e.team, e.at));
    boards::set_activity(&mut derived.activity, key, entry_key, activity)?;
    set_alert(derived, account, entry_key, entry, Rows::MayHold)
}

/// Whether an account may hold derived rows already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// It may: each row is read or removed before it is written.
    MayHold,
    /// Its rows were just cleared: rows go in without reading or removing an old one.
    Cleared,
}

/// Records item `item` of account `account_key` with its terms, or forgets it (`None`), and
/// moves the account's term counts by the difference.
fn put_item(
    derived: &mut Derived<'_>,
    account_key: &str,
    item: &str,
    held: Held,
    terms: Option<BTreeSet<String>>,
) -> Result<(), StoreError> {
    let old: Option<(String, BTreeSet<String>)> = derived
        .item_index
        .get((account_key, item))
        .doing(DOING)?
        .map(|row| {
            let (kind, joined) = row.value();
            let terms = joined
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            (kind.to_owned(), terms)
        });
    let no_terms = BTreeSet::new();
    let old_terms = old.as_ref().map_or(&no_terms, |(_, terms)| terms);
    let new_terms = terms.as_ref().unwrap_or(&no_terms);
    match &terms {
        Some(new) => {
            let same_kind = old.as_ref().is_some_and(|(kind, _)| kind == held.as_str());
            if same_kind && old_terms == new {
                return Ok(());
            }
            let joined = join_terms(new);
            derived
                .item_index
                .insert((account_key, item), (held.as_str(), joined.as_str()))
                .doing(DOING)?;
            if let (Held::Item(kind), false) = (held, same_kind) {
                derived
                    .items
                    .insert(item, (kind.as_str(), account_key))
                    .doing(DOING)?;
            }
        }
        None => {
            if old.is_none() {
                return Ok(());
            }
            derived
                .item_index
                .remove((account_key, item))
                .doing(DOING)?;
            if held != Held::Fields {
                remove_item_of(&mut derived.items, item, account_key)?;
            }
        }
    }
    for term in old_terms.difference(new_terms) {
        count_term(derived, term, account_key, -1)?;
    }
    for term in new_terms.difference(old_terms) {
        count_term(derived, term, account_key, 1)?;
    }
    Ok(())
}

/// Moves the count of `term` in account `account_key` by `by`; a count that reaches zero
/// drops the row.
fn count_term(
    derived: &mut Derived<'_>,
    term: &str,
    account_key: &str,
    by: i64,
) -> Result<(), StoreError> {
    let now = derived
        .terms
        .get((term, account_key))
        .doing(DOING)?
        .map_or(0, |count| i64::from(count.value()));
    let next = now + by;
    if next > 0 {
        let next = u32::try_from(next).map_err(|_| StoreError::DamagedIndex {
            table: "term_accounts",
            reason: format!("the count of '{term}' overflowed"),
        })?;
        derived
            .terms
            .insert((term, account_key), next)
            .doing(DOING)?;
    } else {
        derived.terms.remove((term, account_key)).doing(DOING)?;
    }
    Ok(())
}

/// Drops every derived row of one account.
fn clear_account(derived: &mut Derived<'_>, account_key: &str) -> Result<(), StoreError> {
    let whole_account = (account_key, "")..=(account_key, "\u{10FFFF}");
    let mut terms = BTreeSet::new();
    for row in derived
        .item_index
        .extract_from_if(whole_account.clone(), |_, _| true)
        .doing(DOING)?
    {
        let (key, value) = row.doing(DOING)?;
        let (kind, joined) = value.value();
        if kind != Held::Fields.as_str() {
            remove_item_of(&mut derived.items, key.value().1, account_key)?;
        }
        terms.extend(
            joined
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
    }
    for term in &terms {
        derived
            .terms
            .remove((term.as_str(), account_key))
            .doing(DOING)?;
    }
    derived
        .alerts
        .retain_in(whole_account.clone(), |_, _| false)
        .doing(DOING)?;
    derived.alert_facts.remove(account_key).doing(DOING)?;
    reports::touches::clear_account(derived, account_key)?;
    merge::clear_contact_rows(&mut derived.contact_rows, account_key)?;
    reminders::clear_account(derived, account_key)?;
    boards::clear_boards(&mut derived.deals, &mut derived.activity, account_key)?;
    derived.accounts.remove(account_key).doing(DOING)?;
    Ok(())
}

/// Forgets where item `item` lives, if it lives in account `account_key`: a merged account and
/// its survivor hold the same item ids, and the survivor's row must stay.
fn remove_item_of(
    items: &mut Table<'_, &'static str, (&'static str, &'static str)>,
    item: &str,
    account_key: &str,
) -> Result<(), StoreError> {
    let here = items
        .get(item)
        .doing(DOING)?
        .is_some_and(|place| place.value().1 == account_key);
    if here {
        items.remove(item).doing(DOING)?;
    }
    Ok(())
}
