//! Writing an account document: each function applies one edit inside an open transaction.
//!
//! The caller (the store) opens the transaction, commits it with [`Edit::commit_options`] and
//! persists the change; these functions only decide which operations express the edit, and
//! return what they [`Touched`] so that derived indexes update without patches. Every
//! write is a targeted put on one entry: appending to a timeline of 20,000 entries costs the same
//! as appending to an empty one.

mod added;
pub mod contact_merge;
mod history;
pub mod merge;
mod view;

pub use added::{account_name, entries_added};
pub use history::{AccountHistory, FieldEdit, HistoryChange, history};
pub use view::{
    AccountSummary, AccountView, Conflict, ContactView, DealView, EntryView, ItemRead,
    MergedContact, Section, TaskView, alert_facts, each_contact, each_deal, each_entry,
    field_texts, followers, has_item, is_acknowledged, item_keys, read_contact, read_deal,
    read_entry, read_task, summary, view,
};

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT, ScalarValue};

use crate::edit::Edit;
use crate::error::{EditError, ShapeError};
use crate::fields::{AccountAssignment, AccountField, ContactAssignment, PipelineStage};
use crate::id::{ContactId, DealId, EntryId, TaskId};
use crate::read;
use crate::schema::*;
use crate::touched::Touched;
use crate::vocab::{AlertTarget, EntryKind, Money, Stage, UserName};

/// What a new account starts with.
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    /// Its name (required, non-empty).
    pub name: String,
    /// Its web domain.
    pub domain: Option<String>,
    /// Its tier or value segment.
    pub tier: Option<String>,
    /// Its lifecycle stage; `lead` when not given.
    pub stage: Option<Stage>,
    /// The owning member.
    pub owner: Option<UserName>,
}

/// A new contact.
#[derive(Clone, Debug, Default)]
pub struct NewContact {
    /// Full name.
    pub name: String,
    /// Email address, already checked.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Job title.
    pub title: Option<String>,
}

/// A new timeline entry: a note or a logged interaction.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// What kind of interaction.
    pub kind: EntryKind,
    /// Its text.
    pub text: String,
    /// Who should be alerted.
    pub alert: Vec<AlertTarget>,
}

/// A new deal.
#[derive(Clone, Debug)]
pub struct NewDeal {
    /// Title.
    pub title: String,
    /// Value.
    pub amount: Money,
    /// Stage in the workspace pipeline.
    pub stage: PipelineStage,
    /// Expected close date.
    pub close: Option<jiff::civil::Date>,
}

/// A new task.
#[derive(Clone, Debug)]
pub struct NewTask {
    /// What to do.
    pub title: String,
    /// Who does it.
    pub assignee: Option<UserName>,
    /// By when.
    pub due: Option<jiff::civil::Date>,
}

/// Writes a new account's first change: its type, its fields, and every collection it has.
pub fn create<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    new: &NewAccount,
) -> Result<Touched, EditError> {
    tx.put(ROOT, TYPE, ACCOUNT_TYPE)?;
    tx.put(ROOT, SCHEMA, SCHEMA_VERSION)?;
    tx.put(ROOT, CREATED, ScalarValue::Timestamp(edit.at_millis()))?;
    tx.put(ROOT, CREATED_BY, edit.user.as_str())?;
    tx.put(ROOT, "name", new.name.trim())?;
    tx.put(ROOT, "stage", new.stage.unwrap_or(Stage::Lead).as_str())?;
    let optional = [
        ("domain", new.domain.as_deref()),
        ("tier", new.tier.as_deref()),
        ("owner", new.owner.as_ref().map(UserName::as_str)),
    ];
    for (key, value) in optional {
        if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
            tx.put(ROOT, key, value)?;
        }
    }
    for collection in ACCOUNT_COLLECTIONS {
        tx.put_object(ROOT, collection, ObjType::Map)?;
    }
    Ok(Touched::everything())
}

/// Applies field assignments. Setting a field that has concurrent values resolves the conflict.
pub fn set<T: Transactable>(
    tx: &mut T,
    assignments: &[AccountAssignment],
) -> Result<Touched, EditError> {
    for assignment in assignments {
        match &assignment.field {
            AccountField::Tags => set_tags(tx, assignment.value.as_deref().unwrap_or(""))?,
            AccountField::Custom(name) => {
                let custom = collection(tx, CUSTOM)?;
                put_or_delete(tx, &custom, name, assignment.value.as_deref())?;
            }
            field => put_or_delete(tx, &ROOT, field.key(), assignment.value.as_deref())?,
        }
    }
    Ok(Touched {
        fields: true,
        ..Touched::default()
    })
}

/// Replaces the tag set with the comma-separated `tags`, touching only tags that change.
fn set_tags<T: Transactable>(tx: &mut T, tags: &str) -> Result<(), EditError> {
    let map = collection(tx, TAGS)?;
    let wanted: std::collections::BTreeSet<&str> = tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let existing: Vec<String> = tx.keys(&map).collect();
    for tag in existing.iter().filter(|t| !wanted.contains(t.as_str())) {
        tx.delete(&map, tag.as_str())?;
    }
    for tag in wanted.iter().filter(|t| !existing.iter().any(|e| e == *t)) {
        tx.put(&map, *tag, true)?;
    }
    Ok(())
}

/// Adds a contact.
pub fn add_contact<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    id: ContactId,
    contact: &NewContact,
) -> Result<Touched, EditError> {
    let contacts = collection(tx, CONTACTS)?;
    let obj = tx.put_object(&contacts, id.to_string(), ObjType::Map)?;
    tx.put(&obj, "name", contact.name.trim())?;
    tx.put(&obj, CREATED, ScalarValue::Timestamp(edit.at_millis()))?;
    for (key, value) in [
        ("email", &contact.email),
        ("phone", &contact.phone),
        ("title", &contact.title),
    ] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            tx.put(&obj, key, value)?;
        }
    }
    Ok(Touched::contact(id))
}

/// Changes fields of an existing contact.
pub fn set_contact<T: Transactable>(
    tx: &mut T,
    id: ContactId,
    assignments: &[ContactAssignment],
) -> Result<Touched, EditError> {
    let obj = item(tx, CONTACTS, "contact", &id.to_string())?;
    for assignment in assignments {
        put_or_delete(
            tx,
            &obj,
            assignment.field.key(),
            assignment.value.as_deref(),
        )?;
    }
    Ok(Touched::contact(id))
}

/// Appends an entry to the timeline: one new key in the timeline map, its text an Automerge text.
pub fn add_entry<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    id: EntryId,
    entry: &NewEntry,
) -> Result<Touched, EditError> {
    let timeline = collection(tx, TIMELINE)?;
    let obj = tx.put_object(&timeline, id.to_string(), ObjType::Map)?;
    tx.put(&obj, "kind", entry.kind.as_str())?;
    tx.put(&obj, "team", edit.team.as_str())?;
    tx.put(&obj, "author", edit.user.as_str())?;
    tx.put(&obj, "at", ScalarValue::Timestamp(edit.at_millis()))?;
    let text = tx.put_object(&obj, "text", ObjType::Text)?;
    tx.splice_text(&text, 0, 0, &entry.text)?;
    let alert = tx.put_object(&obj, "alert", ObjType::List)?;
    for (index, target) in entry.alert.iter().enumerate() {
        tx.insert(&alert, index, target.to_string())?;
    }
    Ok(Touched::entry(id))
}

/// Adds a deal.
pub fn add_deal<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    id: DealId,
    deal: &NewDeal,
) -> Result<Touched, EditError> {
    let deals = collection(tx, DEALS)?;
    let obj = tx.put_object(&deals, id.to_string(), ObjType::Map)?;
    tx.put(&obj, "title", deal.title.trim())?;
    tx.put(&obj, "amount", deal.amount.minor)?;
    tx.put(&obj, "currency", deal.amount.currency.as_str())?;
    tx.put(&obj, "stage", deal.stage.as_str())?;
    tx.put(&obj, CREATED, ScalarValue::Timestamp(edit.at_millis()))?;
    if let Some(close) = deal.close {
        tx.put(&obj, "close", close.to_string())?;
    }
    Ok(Touched::deal(id))
}

/// Moves a deal to another pipeline stage.
pub fn move_deal<T: Transactable>(
    tx: &mut T,
    id: DealId,
    stage: &PipelineStage,
) -> Result<Touched, EditError> {
    let obj = item(tx, DEALS, "deal", &id.to_string())?;
    tx.put(&obj, "stage", stage.as_str())?;
    Ok(Touched::deal(id))
}

/// Rewrites a deal's title, amount, stage and close date (an import merging a row into a deal
/// it already has); a close date of `None` leaves the stored one.
pub fn update_deal<T: Transactable>(
    tx: &mut T,
    id: DealId,
    deal: &NewDeal,
) -> Result<Touched, EditError> {
    let obj = item(tx, DEALS, "deal", &id.to_string())?;
    tx.put(&obj, "title", deal.title.trim())?;
    tx.put(&obj, "amount", deal.amount.minor)?;
    tx.put(&obj, "currency", deal.amount.currency.as_str())?;
    tx.put(&obj, "stage", deal.stage.as_str())?;
    if let Some(close) = deal.close {
        tx.put(&obj, "close", close.to_string())?;
    }
    Ok(Touched::deal(id))
}

/// Adds a task.
pub fn add_task<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    id: TaskId,
    task: &NewTask,
) -> Result<Touched, EditError> {
    let tasks = collection(tx, TASKS)?;
    let obj = tx.put_object(&tasks, id.to_string(), ObjType::Map)?;
    tx.put(&obj, "title", task.title.trim())?;
    tx.put(&obj, "done", false)?;
    tx.put(&obj, CREATED, ScalarValue::Timestamp(edit.at_millis()))?;
    if let Some(assignee) = &task.assignee {
        tx.put(&obj, "assignee", assignee.as_str())?;
    }
    if let Some(due) = task.due {
        tx.put(&obj, "due", due.to_string())?;
    }
    Ok(Touched::task(id))
}

/// Marks a task done or not done.
pub fn complete_task<T: Transactable>(
    tx: &mut T,
    id: TaskId,
    done: bool,
) -> Result<Touched, EditError> {
    let obj = item(tx, TASKS, "task", &id.to_string())?;
    tx.put(&obj, "done", done)?;
    Ok(Touched::task(id))
}

/// Records that the editing user has seen the alert on `entry`: data in the document, so the
/// acknowledgement follows the user to every device.
pub fn acknowledge<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    entry: EntryId,
) -> Result<Touched, EditError> {
    item(tx, TIMELINE, "timeline entry", &entry.to_string())?;
    let acks = collection(tx, ACKS)?;
    tx.put(
        &acks,
        view::ack_key(&edit.user, entry),
        ScalarValue::Timestamp(edit.at_millis()),
    )?;
    Ok(Touched::acknowledgement(&edit.user, entry))
}

/// Makes the editing user a follower of the account from the edit's time on: they are alerted
/// by entries written since. Following again changes nothing (the first time stands). A
/// follower is a flat root key `follower:<user>` holding that time, not an entry of a followers
/// map: existing documents have no such map, and two replicas creating it concurrently would
/// hide one side's followers.
pub fn follow<T: Transactable>(tx: &mut T, edit: &Edit) -> Result<Touched, EditError> {
    let key = view::follower_key(&edit.user);
    if tx.get(ROOT, key.as_str())?.is_some() {
        return Ok(Touched::default());
    }
    tx.put(ROOT, key, ScalarValue::Timestamp(edit.at_millis()))?;
    Ok(Touched {
        fields: true,
        ..Touched::default()
    })
}

/// Stops the editing user following the account; nothing to do when they do not.
pub fn unfollow<T: Transactable>(tx: &mut T, edit: &Edit) -> Result<Touched, EditError> {
    let key = view::follower_key(&edit.user);
    if tx.get(ROOT, key.as_str())?.is_some() {
        tx.delete(ROOT, key.as_str())?;
    }
    Ok(Touched {
        fields: true,
        ..Touched::default()
    })
}

/// The collection map `key` at the root. Documents Rapport creates always have it; one written by
/// a foreign peer may not, and then it is created here.
fn collection<T: Transactable>(tx: &mut T, key: &str) -> Result<ObjId, EditError> {
    match read::object(tx, &ROOT, key, ObjType::Map, "")? {
        Some(obj) => Ok(obj),
        None => Ok(tx.put_object(ROOT, key, ObjType::Map)?),
    }
}

/// The map of item `id` in collection `key`, which must exist.
fn item<T: Transactable>(
    tx: &mut T,
    key: &str,
    what: &'static str,
    id: &str,
) -> Result<ObjId, EditError> {
    let unknown = || EditError::UnknownItem {
        what,
        id: id.to_owned(),
    };
    let parent = read::object(tx, &ROOT, key, ObjType::Map, "")?.ok_or_else(unknown)?;
    read::object(tx, &parent, id, ObjType::Map, key)?.ok_or_else(unknown)
}

fn put_or_delete<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
) -> Result<(), EditError> {
    match value {
        Some(value) => tx.put(obj, key, value)?,
        None => tx.delete(obj, key)?,
    }
    Ok(())
}

/// Checks that a document is a Rapport account document.
pub fn check_kind<D: automerge::ReadDoc>(doc: &D) -> Result<(), ShapeError> {
    let found = read::string(doc, &ROOT, TYPE, "")?;
    match found.as_deref() {
        Some(ACCOUNT_TYPE) => Ok(()),
        other => Err(ShapeError::WrongKind {
            expected: ACCOUNT_TYPE,
            found: other.unwrap_or("missing").to_owned(),
        }),
    }
}
