//! Reading an account document into plain values: the whole 360° view, a summary for lists, or
//! one timeline entry for the indexes.

use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, ROOT, ReadDoc};
use serde::Serialize;

use crate::error::ShapeError;
use crate::fields::{AccountField, ContactField};
use crate::id::{ContactId, DealId, DocumentId, EntryId, TaskId};
use crate::read::{self, join};
use crate::schema::*;
use crate::vocab::{AlertTarget, Currency, EntryKind, Stage, Team, UserName};

/// Everything about one account, as merged from every replica.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AccountView {
    /// The account's document id.
    pub id: DocumentId,
    /// Its `automerge:` URL.
    pub url: String,
    /// Name.
    pub name: String,
    /// Web domain.
    pub domain: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Tier or value segment.
    pub tier: Option<String>,
    /// Lifecycle stage.
    pub stage: Option<Stage>,
    /// Owning member.
    pub owner: Option<String>,
    /// Main phone.
    pub phone: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Custom fields.
    pub custom: BTreeMap<String, String>,
    /// Contacts, oldest first.
    pub contacts: Vec<ContactView>,
    /// Deals, oldest first.
    pub deals: Vec<DealView>,
    /// Tasks, oldest first.
    pub tasks: Vec<TaskView>,
    /// Timeline, ordered by time, ties by id.
    pub timeline: Vec<EntryView>,
    /// Fields with concurrent values that nobody has resolved yet.
    pub conflicts: Vec<Conflict>,
}

/// A contact.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ContactView {
    /// Id.
    pub id: ContactId,
    /// Full name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Job title.
    pub title: Option<String>,
}

/// A deal.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DealView {
    /// Id.
    pub id: DealId,
    /// Title.
    pub title: String,
    /// Amount in minor units of `currency`.
    pub amount: i64,
    /// Currency code.
    pub currency: Currency,
    /// Pipeline stage.
    pub stage: String,
    /// Expected close date, `YYYY-MM-DD`.
    pub close: Option<String>,
}

/// A task.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TaskView {
    /// Id.
    pub id: TaskId,
    /// What to do.
    pub title: String,
    /// Who does it.
    pub assignee: Option<String>,
    /// Due date, `YYYY-MM-DD`.
    pub due: Option<String>,
    /// Done or not.
    pub done: bool,
}

/// One timeline entry.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EntryView {
    /// Id (sortable).
    pub id: EntryId,
    /// Kind of interaction.
    pub kind: EntryKind,
    /// The author's team.
    pub team: Team,
    /// The author.
    pub author: UserName,
    /// When it was written.
    pub at: jiff::Timestamp,
    /// Its text, with concurrent edits merged.
    pub text: String,
    /// Who it alerts.
    pub alert: Vec<AlertTarget>,
}

/// A field whose value was set concurrently on different replicas.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Conflict {
    /// The field, like `phone`, `custom.region` or `contacts.<id>.phone`.
    pub field: String,
    /// The value every replica shows (the deterministic winner).
    pub value: String,
    /// The concurrent values that lost, still kept by the document.
    pub others: Vec<String>,
}

/// What the account list shows of an account: small enough to keep in an index.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct AccountSummary {
    /// Document id.
    pub id: DocumentId,
    /// Name.
    pub name: String,
    /// Domain.
    pub domain: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Lifecycle stage word.
    pub stage: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// How many contacts.
    pub contacts: usize,
    /// How many timeline entries.
    pub entries: usize,
}

/// Reads the whole account.
pub fn view<D: ReadDoc>(doc: &D, id: DocumentId) -> Result<AccountView, ShapeError> {
    super::check_kind(doc)?;
    let s = |key| read::string(doc, &ROOT, key, "");
    let tags = match read::object(doc, &ROOT, TAGS, ObjType::Map, "")? {
        Some(obj) => doc.keys(&obj).collect(),
        None => Vec::new(),
    };
    let mut custom = BTreeMap::new();
    if let Some(obj) = read::object(doc, &ROOT, CUSTOM, ObjType::Map, "")? {
        for key in doc.keys(&obj) {
            if let Some(value) = read::string(doc, &obj, &key, CUSTOM)? {
                custom.insert(key, value);
            }
        }
    }
    let mut timeline = items(doc, TIMELINE, |obj, id: EntryId, path| {
        entry(doc, obj, id, path)
    })?;
    timeline.sort_by_key(|entry| (entry.at, entry.id));
    Ok(AccountView {
        id,
        url: id.url(),
        name: read::required_string(doc, &ROOT, "name", "")?,
        domain: s("domain")?,
        industry: s("industry")?,
        tier: s("tier")?,
        stage: read::parsed(doc, &ROOT, "stage", "")?,
        owner: s("owner")?,
        phone: s("phone")?,
        website: s("website")?,
        tags,
        custom,
        contacts: items(doc, CONTACTS, |obj, id, path| contact(doc, obj, id, path))?,
        deals: items(doc, DEALS, |obj, id, path| deal(doc, obj, id, path))?,
        tasks: items(doc, TASKS, |obj, id, path| task(doc, obj, id, path))?,
        timeline,
        conflicts: conflicts(doc)?,
    })
}

/// Reads what the account list needs, without touching the timeline's entries.
pub fn summary<D: ReadDoc>(doc: &D, id: DocumentId) -> Result<AccountSummary, ShapeError> {
    super::check_kind(doc)?;
    let count = |key| -> Result<usize, ShapeError> {
        Ok(read::object(doc, &ROOT, key, ObjType::Map, "")?.map_or(0, |obj| doc.length(&obj)))
    };
    Ok(AccountSummary {
        id,
        name: read::required_string(doc, &ROOT, "name", "")?,
        domain: read::string(doc, &ROOT, "domain", "")?,
        tier: read::string(doc, &ROOT, "tier", "")?,
        stage: read::string(doc, &ROOT, "stage", "")?,
        owner: read::string(doc, &ROOT, "owner", "")?,
        contacts: count(CONTACTS)?,
        entries: count(TIMELINE)?,
    })
}

/// Reads one timeline entry, if it exists.
pub fn read_entry<D: ReadDoc>(doc: &D, id: EntryId) -> Result<Option<EntryView>, ShapeError> {
    let Some(timeline) = read::object(doc, &ROOT, TIMELINE, ObjType::Map, "")? else {
        return Ok(None);
    };
    let key = id.to_string();
    let path = join(TIMELINE, &key);
    match read::object(doc, &timeline, &key, ObjType::Map, TIMELINE)? {
        Some(obj) => entry(doc, &obj, id, &path).map(Some),
        None => Ok(None),
    }
}

/// Whether `user` has acknowledged the alert on `entry`.
pub fn is_acknowledged<D: ReadDoc>(
    doc: &D,
    user: &UserName,
    entry: EntryId,
) -> Result<bool, ShapeError> {
    let Some(acks) = read::object(doc, &ROOT, ACKS, ObjType::Map, "")? else {
        return Ok(false);
    };
    Ok(doc
        .get(&acks, ack_key(user, entry))
        .ok()
        .flatten()
        .is_some())
}

/// The key of one acknowledgement in the flat `acks` map: `<user>:<entry>`. Flat, so that two
/// devices of one user acknowledging offline never create competing per-user maps.
pub(crate) fn ack_key(user: &UserName, entry: EntryId) -> String {
    format!("{user}:{entry}")
}

/// Reads every item of a collection, ordered by id (ids sort by creation time).
fn items<D: ReadDoc, I, T>(
    doc: &D,
    key: &str,
    read_one: impl Fn(&ObjId, I, &str) -> Result<T, ShapeError>,
) -> Result<Vec<T>, ShapeError>
where
    I: std::str::FromStr<Err = crate::InvalidInput>,
{
    let Some(collection) = read::object(doc, &ROOT, key, ObjType::Map, "")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item_key in doc.keys(&collection) {
        let path = join(key, &item_key);
        let id = item_key.parse().map_err(|source| ShapeError::Invalid {
            path: path.clone(),
            source,
        })?;
        if let Some(obj) = read::object(doc, &collection, &item_key, ObjType::Map, key)? {
            out.push(read_one(&obj, id, &path)?);
        }
    }
    Ok(out)
}

fn contact<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    id: ContactId,
    path: &str,
) -> Result<ContactView, ShapeError> {
    Ok(ContactView {
        id,
        name: read::required_string(doc, obj, "name", path)?,
        email: read::string(doc, obj, "email", path)?,
        phone: read::string(doc, obj, "phone", path)?,
        title: read::string(doc, obj, "title", path)?,
    })
}

fn deal<D: ReadDoc>(doc: &D, obj: &ObjId, id: DealId, path: &str) -> Result<DealView, ShapeError> {
    Ok(DealView {
        id,
        title: read::required_string(doc, obj, "title", path)?,
        amount: read::int(doc, obj, "amount", path)?.unwrap_or(0),
        currency: read::parsed(doc, obj, "currency", path)?.unwrap_or(Currency::DEFAULT),
        stage: read::required_string(doc, obj, "stage", path)?,
        close: read::string(doc, obj, "close", path)?,
    })
}

fn task<D: ReadDoc>(doc: &D, obj: &ObjId, id: TaskId, path: &str) -> Result<TaskView, ShapeError> {
    Ok(TaskView {
        id,
        title: read::required_string(doc, obj, "title", path)?,
        assignee: read::string(doc, obj, "assignee", path)?,
        due: read::string(doc, obj, "due", path)?,
        done: read::boolean(doc, obj, "done", path)?.unwrap_or(false),
    })
}

fn entry<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    id: EntryId,
    path: &str,
) -> Result<EntryView, ShapeError> {
    let millis = read::millis(doc, obj, "at", path)?.ok_or_else(|| ShapeError::Missing {
        path: join(path, "at"),
    })?;
    let at = jiff::Timestamp::from_millisecond(millis).map_err(|_| ShapeError::WrongType {
        path: join(path, "at"),
        expected: "a timestamp",
        found: millis.to_string(),
    })?;
    let mut alert = Vec::new();
    if let Some(list) = read::object(doc, obj, "alert", ObjType::List, path)? {
        let alert_path = join(path, "alert");
        for (value, value_id) in doc
            .list_range(&list, ..)
            .map(|item| (automerge::Value::from(item.value.clone()), item.id()))
        {
            let text = read::value_to_string(doc, &value, &value_id, &alert_path)?;
            alert.push(text.parse().map_err(|source| ShapeError::Invalid {
                path: alert_path.clone(),
                source,
            })?);
        }
    }
    Ok(EntryView {
        id,
        kind: read::required_parsed(doc, obj, "kind", path)?,
        team: read::required_parsed(doc, obj, "team", path)?,
        author: read::required_parsed(doc, obj, "author", path)?,
        at,
        text: read::string(doc, obj, "text", path)?.unwrap_or_default(),
        alert,
    })
}

/// Every single-valued field with concurrent values, in document order.
fn conflicts<D: ReadDoc>(doc: &D) -> Result<Vec<Conflict>, ShapeError> {
    let mut out = Vec::new();
    let root_keys = AccountField::ROOT.map(|f| f.key().to_owned());
    collect_conflicts(
        doc,
        &ROOT,
        root_keys.iter().map(String::as_str),
        "",
        &mut out,
    );
    if let Some(custom) = read::object(doc, &ROOT, CUSTOM, ObjType::Map, "")? {
        let keys: Vec<String> = doc.keys(&custom).collect();
        collect_conflicts(
            doc,
            &custom,
            keys.iter().map(String::as_str),
            CUSTOM,
            &mut out,
        );
    }
    let item_fields: [(&str, &[&str]); 3] = [
        (CONTACTS, &ContactField::ALL.map(ContactField::key)),
        (DEALS, &["title", "amount", "currency", "stage", "close"]),
        (TASKS, &["title", "assignee", "due", "done"]),
    ];
    for (key, fields) in item_fields {
        let Some(collection) = read::object(doc, &ROOT, key, ObjType::Map, "")? else {
            continue;
        };
        for item_key in doc.keys(&collection) {
            if let Some(obj) = read::object(doc, &collection, &item_key, ObjType::Map, key)? {
                collect_conflicts(
                    doc,
                    &obj,
                    fields.iter().copied(),
                    &join(key, &item_key),
                    &mut out,
                );
            }
        }
    }
    Ok(out)
}

fn collect_conflicts<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    keys: impl Iterator<Item = &'k str>,
    prefix: &str,
    out: &mut Vec<Conflict>,
) {
    for key in keys {
        let all = doc.get_all(obj, key).unwrap_or_default();
        if all.len() < 2 {
            continue;
        }
        let Ok(Some((winner, winner_id))) = doc.get(obj, key) else {
            continue;
        };
        let value = read::display(doc, &winner, &winner_id);
        let mut others: Vec<String> = all
            .iter()
            .filter(|(_, id)| *id != winner_id)
            .map(|(v, id)| read::display(doc, v, id))
            .collect();
        // Replicas that typed the same value concurrently agree: that is not a conflict.
        others.retain(|other| *other != value);
        others.dedup();
        if !others.is_empty() {
            out.push(Conflict {
                field: join(prefix, key),
                value,
                others,
            });
        }
    }
}

/// The item collections of an account document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Contacts.
    Contacts,
    /// Deals.
    Deals,
    /// Tasks.
    Tasks,
    /// Timeline entries.
    Timeline,
}

impl Section {
    fn key(self) -> &'static str {
        match self {
            Section::Contacts => CONTACTS,
            Section::Deals => DEALS,
            Section::Tasks => TASKS,
            Section::Timeline => TIMELINE,
        }
    }
}

/// The keys of every item in a section.
pub fn item_keys<D: ReadDoc>(doc: &D, section: Section) -> Result<Vec<String>, ShapeError> {
    Ok(
        match read::object(doc, &ROOT, section.key(), ObjType::Map, "")? {
            Some(obj) => doc.keys(&obj).collect(),
            None => Vec::new(),
        },
    )
}

/// Whether a section holds an item with this key.
pub fn has_item<D: ReadDoc>(doc: &D, section: Section, key: &str) -> Result<bool, ShapeError> {
    let Some(obj) = read::object(doc, &ROOT, section.key(), ObjType::Map, "")? else {
        return Ok(false);
    };
    Ok(read::object(doc, &obj, key, ObjType::Map, section.key())?.is_some())
}

/// Reads one contact, if it exists.
pub fn read_contact<D: ReadDoc>(doc: &D, id: ContactId) -> Result<Option<ContactView>, ShapeError> {
    let Some(contacts) = read::object(doc, &ROOT, CONTACTS, ObjType::Map, "")? else {
        return Ok(None);
    };
    let key = id.to_string();
    match read::object(doc, &contacts, &key, ObjType::Map, CONTACTS)? {
        Some(obj) => contact(doc, &obj, id, &join(CONTACTS, &key)).map(Some),
        None => Ok(None),
    }
}

/// The account-level texts a search should find it by: its fields, tags and custom values.
pub fn field_texts<D: ReadDoc>(doc: &D) -> Result<Vec<String>, ShapeError> {
    let mut texts = Vec::new();
    for field in AccountField::ROOT {
        texts.extend(read::string(doc, &ROOT, field.key(), "")?);
    }
    if let Some(tags) = read::object(doc, &ROOT, TAGS, ObjType::Map, "")? {
        texts.extend(doc.keys(&tags));
    }
    if let Some(custom) = read::object(doc, &ROOT, CUSTOM, ObjType::Map, "")? {
        for key in doc.keys(&custom) {
            texts.extend(read::string(doc, &custom, &key, CUSTOM)?);
        }
    }
    Ok(texts)
}
