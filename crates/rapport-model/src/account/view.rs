//! Reading an account document into plain values: the whole 360° view, a summary for lists, or
//! one timeline entry for the indexes.

use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, ROOT, ReadDoc};
use serde::Serialize;

use super::contact_merge::ContactMerges;
use crate::alert::{AccountFacts, Follower};
use crate::error::ShapeError;
use crate::fields::AccountField;
use crate::id::{ContactId, DealId, DocumentId, EntryId, TaskId};
use crate::read::{self, join};
use crate::schema::*;
use crate::vocab::{AlertTarget, Currency, EntryKind, Stage, Team, UserName};

mod conflicts;

pub use conflicts::Conflict;
use conflicts::conflicts;

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
    /// Contacts, oldest first; not those merged into another.
    pub contacts: Vec<ContactView>,
    /// Contacts merged into another, oldest first, each as it now reads (with what was written
    /// to it after the merge) and with the contact that stands for it.
    pub merged_contacts: Vec<MergedContact>,
    /// Deals, oldest first.
    pub deals: Vec<DealView>,
    /// Tasks, oldest first.
    pub tasks: Vec<TaskView>,
    /// Timeline, ordered by time, ties by id.
    pub timeline: Vec<EntryView>,
    /// Fields with concurrent values that nobody has resolved yet.
    pub conflicts: Vec<Conflict>,
    /// Members following the account, by name.
    pub followers: Vec<UserName>,
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

/// A contact merged into another of the account.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MergedContact {
    /// The contact, as it reads.
    #[serde(flatten)]
    pub contact: ContactView,
    /// The contact that stands for it (merges followed to the end).
    pub into: ContactId,
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
    /// Tags, sorted.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom fields that read as text, by name.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
}

/// Reads the whole account.
pub fn view<D: ReadDoc>(doc: &D, id: DocumentId) -> Result<AccountView, ShapeError> {
    super::check_kind(doc)?;
    let s = |key| read::string(doc, &ROOT, key, "");
    let tags = tags(doc)?;
    let custom = custom_fields(doc, Custom::Strict)?;
    let mut timeline = items(doc, TIMELINE, |obj, id: EntryId, path| {
        entry(doc, obj, id, path)
    })?;
    timeline.sort_by_key(|entry| (entry.at, entry.id));
    let merges = ContactMerges::read(doc)?;
    let (contacts, merged_contacts) = standing_and_merged(
        items(doc, CONTACTS, |obj, id, path| contact(doc, obj, id, path))?,
        &merges,
    );
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
        contacts,
        merged_contacts,
        deals: items(doc, DEALS, |obj, id, path| deal(doc, obj, id, path))?,
        tasks: items(doc, TASKS, |obj, id, path| task(doc, obj, id, path))?,
        timeline,
        conflicts: conflicts(doc)?,
        followers: followers(doc),
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
        contacts: count(CONTACTS)?.saturating_sub(merged_count(doc)),
        entries: count(TIMELINE)?,
        // Kept for segments; an odd shape from a foreign peer leaves them out, not the account.
        tags: tags(doc).unwrap_or_default(),
        custom: custom_fields(doc, Custom::TextOnly).unwrap_or_default(),
    })
}

/// Sorts contacts into those that stand for themselves and those merged into another.
fn standing_and_merged(
    contacts: Vec<ContactView>,
    merges: &ContactMerges,
) -> (Vec<ContactView>, Vec<MergedContact>) {
    let mut standing = Vec::new();
    let mut merged = Vec::new();
    for contact in contacts {
        let into = merges.survivor(contact.id);
        if into == contact.id {
            standing.push(contact);
        } else {
            merged.push(MergedContact { contact, into });
        }
    }
    (standing, merged)
}

/// How many contacts another stands for; a contacts map that does not read counts none.
fn merged_count<D: ReadDoc>(doc: &D) -> usize {
    ContactMerges::read(doc).map_or(0, |merges| merges.hidden())
}

/// How custom fields that are not text read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Custom {
    /// As a shape error: the account view shows every field or none.
    Strict,
    /// Left out: the list keeps showing an account a foreign peer gave an odd custom field.
    TextOnly,
}

fn tags<D: ReadDoc>(doc: &D) -> Result<Vec<String>, ShapeError> {
    Ok(match read::object(doc, &ROOT, TAGS, ObjType::Map, "")? {
        Some(obj) => doc.keys(&obj).collect(),
        None => Vec::new(),
    })
}

/// The text of a scalar other than a string at `obj[key]`: `Some(None)` for a null, `None`
/// when it is no such scalar (an object, bytes).
fn scalar_text<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<Option<String>> {
    let (value, _) = doc.get(obj, key).ok().flatten()?;
    match value.as_scalar()? {
        automerge::ScalarValue::Null => Some(None),
        automerge::ScalarValue::Bytes(_) | automerge::ScalarValue::Unknown { .. } => None,
        scalar => Some(Some(scalar.to_string())),
    }
}

fn custom_fields<D: ReadDoc>(doc: &D, how: Custom) -> Result<BTreeMap<String, String>, ShapeError> {
    let mut custom = BTreeMap::new();
    if let Some(obj) = read::object(doc, &ROOT, CUSTOM, ObjType::Map, "")? {
        for key in doc.keys(&obj) {
            let value = match read::string(doc, &obj, &key, CUSTOM) {
                Ok(value) => value,
                // A number, a flag or a time a foreign peer wrote reads as its text.
                Err(_) if let Some(text) = scalar_text(doc, &obj, &key) => text,
                Err(_) if how == Custom::TextOnly => None,
                Err(error) => return Err(error),
            };
            if let Some(value) = value {
                custom.insert(key, value);
            }
        }
    }
    Ok(custom)
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

/// The members following the account, by name: the root keys `follower:<user>`. A key whose
/// name does not parse is skipped (no member could have it).
pub fn followers<D: ReadDoc>(doc: &D) -> Vec<UserName> {
    let mut out: Vec<UserName> = doc
        .keys(&ROOT)
        .filter_map(|key| key.strip_prefix(FOLLOWER_PREFIX)?.parse().ok())
        .collect();
    out.sort();
    out
}

/// The key of one follower at the root: `follower:<user>`.
pub(crate) fn follower_key(user: &UserName) -> String {
    format!("{FOLLOWER_PREFIX}{user}")
}

/// What alert rules and following read of an account: owner, tier, stage and followers with
/// the time each followed. Read leniently: a field in a foreign shape counts as absent rather
/// than hiding the alert, and a follow whose time does not read counts for every entry.
pub fn alert_facts<D: ReadDoc>(doc: &D) -> AccountFacts {
    let text = |key| read::string(doc, &ROOT, key, "").ok().flatten();
    let followers = followers(doc)
        .into_iter()
        .map(|user| {
            let since = read::time(doc, &ROOT, &follower_key(&user), "")
                .ok()
                .flatten();
            Follower { user, since }
        })
        .collect();
    AccountFacts {
        owner: text("owner"),
        tier: text("tier"),
        stage: read::parsed(doc, &ROOT, "stage", "").ok().flatten(),
        followers,
    }
}

/// The key of one acknowledgement in the flat `acks` map: `<user>:<entry>`. Flat, so that two
/// devices of one user acknowledging offline never create competing per-user maps.
pub(crate) fn ack_key(user: &UserName, entry: EntryId) -> String {
    format!("{user}:{entry}")
}

/// One item of a section as [`each_contact`], [`each_entry`] and [`each_deal`] give it: its key,
/// and the item or why it does not read.
pub type ItemRead<T> = (String, Result<T, ShapeError>);

/// Every contact, read in one pass over the section, each on its own: one in a foreign shape
/// does not hide the others.
pub fn each_contact<D: ReadDoc>(doc: &D) -> Result<Vec<ItemRead<ContactView>>, ShapeError> {
    each_item(doc, CONTACTS, |obj, id, path| contact(doc, obj, id, path))
}

/// Every timeline entry, as [`each_contact`] reads contacts.
pub fn each_entry<D: ReadDoc>(doc: &D) -> Result<Vec<ItemRead<EntryView>>, ShapeError> {
    each_item(doc, TIMELINE, |obj, id, path| entry(doc, obj, id, path))
}

/// Every deal, as [`each_contact`] reads contacts.
pub fn each_deal<D: ReadDoc>(doc: &D) -> Result<Vec<ItemRead<DealView>>, ShapeError> {
    each_item(doc, DEALS, |obj, id, path| deal(doc, obj, id, path))
}

/// Reads every item of a collection in one pass, keeping each item's error to itself; only a
/// collection that is not a map is an error for the whole.
fn each_item<D: ReadDoc, I, T>(
    doc: &D,
    key: &str,
    read_one: impl Fn(&ObjId, I, &str) -> Result<T, ShapeError>,
) -> Result<Vec<ItemRead<T>>, ShapeError>
where
    I: std::str::FromStr<Err = crate::InvalidInput>,
{
    let Some(collection) = read::object(doc, &ROOT, key, ObjType::Map, "")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in doc.map_range(&collection, ..) {
        let path = join(key, &item.key);
        let read = match (item.key.parse(), &item.value) {
            (Err(source), _) => Err(ShapeError::Invalid {
                path: path.clone(),
                source,
            }),
            (Ok(id), automerge::ValueRef::Object(ObjType::Map | ObjType::Table)) => {
                read_one(&item.id(), id, &path)
            }
            (Ok(_), other) => Err(ShapeError::WrongType {
                path: path.clone(),
                expected: "a map",
                found: read::type_name(&automerge::Value::from(other.clone())),
            }),
        };
        out.push((item.key.to_string(), read));
    }
    Ok(out)
}

/// Reads every item of a collection, ordered by id (ids sort by creation time): the first item
/// that does not read is the error.
fn items<D: ReadDoc, I, T>(
    doc: &D,
    key: &str,
    read_one: impl Fn(&ObjId, I, &str) -> Result<T, ShapeError>,
) -> Result<Vec<T>, ShapeError>
where
    I: std::str::FromStr<Err = crate::InvalidInput>,
{
    each_item(doc, key, read_one)?
        .into_iter()
        .map(|(_, item)| item)
        .collect()
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
    // One pass over the entry's fields: a lookup per field costs several times more, and a
    // timeline is read entry by entry.
    let fields: Vec<(String, automerge::Value<'static>, ObjId)> = doc
        .map_range(obj, ..)
        .map(|item| {
            (
                item.key.to_string(),
                automerge::Value::from(item.value.clone()),
                item.id(),
            )
        })
        .collect();
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, value, id)| (value, id))
    };
    let text_of = |key: &str| -> Result<Option<String>, ShapeError> {
        field(key)
            .map(|(value, id)| read::value_to_string(doc, value, id, &join(path, key)))
            .transpose()
    };
    let parsed = |key: &str| -> Result<_, ShapeError> {
        let text = text_of(key)?.ok_or_else(|| ShapeError::Missing {
            path: join(path, key),
        })?;
        Ok((text, join(path, key)))
    };
    let invalid = |path: String| move |source| ShapeError::Invalid { path, source };
    let (kind, kind_path) = parsed("kind")?;
    let (team, team_path) = parsed("team")?;
    let (author, author_path) = parsed("author")?;
    Ok(EntryView {
        id,
        kind: kind.parse().map_err(invalid(kind_path))?,
        team: team.parse().map_err(invalid(team_path))?,
        author: author.parse().map_err(invalid(author_path))?,
        at: entry_time(field("at"), path)?,
        text: text_of("text")?.unwrap_or_default(),
        alert: entry_alert(doc, field("alert"), path)?,
    })
}

fn entry_time(
    field: Option<(&automerge::Value<'_>, &ObjId)>,
    path: &str,
) -> Result<jiff::Timestamp, ShapeError> {
    let path = join(path, "at");
    let Some((value, _)) = field else {
        return Err(ShapeError::Missing { path });
    };
    let millis = match value.as_scalar() {
        Some(automerge::ScalarValue::Timestamp(ms) | automerge::ScalarValue::Int(ms)) => *ms,
        Some(automerge::ScalarValue::Uint(ms)) if *ms <= i64::MAX as u64 => *ms as i64,
        _ => {
            return Err(ShapeError::WrongType {
                path,
                expected: "a timestamp",
                found: read::type_name(value),
            });
        }
    };
    jiff::Timestamp::from_millisecond(millis).map_err(|_| ShapeError::WrongType {
        path,
        expected: "a timestamp",
        found: millis.to_string(),
    })
}

fn entry_alert<D: ReadDoc>(
    doc: &D,
    field: Option<(&automerge::Value<'_>, &ObjId)>,
    path: &str,
) -> Result<Vec<AlertTarget>, ShapeError> {
    let path = join(path, "alert");
    let list = match field {
        None => return Ok(Vec::new()),
        Some((automerge::Value::Object(ObjType::List), id)) => id,
        Some((value, _)) => {
            return Err(ShapeError::WrongType {
                path,
                expected: "a list",
                found: read::type_name(value),
            });
        }
    };
    let mut alert = Vec::new();
    for item in doc.list_range(list, ..) {
        let text = read::value_to_string(
            doc,
            &automerge::Value::from(item.value.clone()),
            &item.id(),
            &path,
        )?;
        alert.push(text.parse().map_err(|source| ShapeError::Invalid {
            path: path.clone(),
            source,
        })?);
    }
    Ok(alert)
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

/// Reads one task, if it exists.
pub fn read_task<D: ReadDoc>(doc: &D, id: TaskId) -> Result<Option<TaskView>, ShapeError> {
    let Some(tasks) = read::object(doc, &ROOT, TASKS, ObjType::Map, "")? else {
        return Ok(None);
    };
    let key = id.to_string();
    match read::object(doc, &tasks, &key, ObjType::Map, TASKS)? {
        Some(obj) => task(doc, &obj, id, &join(TASKS, &key)).map(Some),
        None => Ok(None),
    }
}

/// Reads one deal, if it exists: as [`view`] shows it, so that a row built from it (the
/// pipeline board's) equals the deal on the account's page.
pub fn read_deal<D: ReadDoc>(doc: &D, id: DealId) -> Result<Option<DealView>, ShapeError> {
    let Some(deals) = read::object(doc, &ROOT, DEALS, ObjType::Map, "")? else {
        return Ok(None);
    };
    let key = id.to_string();
    match read::object(doc, &deals, &key, ObjType::Map, DEALS)? {
        Some(obj) => deal(doc, &obj, id, &join(DEALS, &key)).map(Some),
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
