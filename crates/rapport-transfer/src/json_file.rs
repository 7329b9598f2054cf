//! Reading the JSON export (`"format": "rapport-export-1"`) back: the bytes into typed
//! accounts, each with its items under their own ids, or the problems that keep it out.
//!
//! A file that is not JSON, not this format, or not of its shape is a [`JsonError`] for the
//! whole file, as is a workspace setting (a field definition, rule or segment) that does not
//! read (`json_settings`). A value of the right shape that does not hold (an unknown currency, a bad email,
//! a team Rapport does not have) is a problem of its account, reported by the plan.

use std::collections::BTreeMap;

use rapport_model::account::{NewContact, NewEntry, NewTask};
use rapport_model::{
    AlertTarget, ContactId, Currency, DealId, DocumentId, Edit, EntryId, EntryKind, InvalidInput,
    Money, Stage, TaskId, Team, UserName, check_email, parse_date,
};
use serde::Deserialize;

use crate::error::JsonError;
use crate::json_settings::{FileSettings, RawSettings};

/// The format string of the JSON export, which the import requires.
pub const JSON_FORMAT: &str = "rapport-export-1";

/// A JSON export read: the workspace it came from and its accounts, in file order.
#[derive(Clone, Debug)]
pub struct JsonFile {
    /// The id of the workspace the file was exported from, when it reads as one.
    pub workspace: Option<DocumentId>,
    /// The accounts.
    pub accounts: Vec<FileAccount>,
    /// The workspace's custom field definitions, alert rules and segments (none in a file
    /// exported before the export carried them).
    pub settings: FileSettings,
}

/// One account of the file, typed; `problems` says what keeps it from being imported.
#[derive(Clone, Debug, Default)]
pub struct FileAccount {
    /// Its document id in the workspace it came from.
    pub id: Option<DocumentId>,
    /// Name.
    pub name: String,
    /// Domain, as the file gives it.
    pub domain: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Lifecycle stage.
    pub stage: Option<Stage>,
    /// Owner.
    pub owner: Option<UserName>,
    /// Phone.
    pub phone: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Custom fields.
    pub custom: BTreeMap<String, String>,
    /// Contacts under their ids.
    pub contacts: Vec<(ContactId, NewContact)>,
    /// Deals under their ids; the stage is checked against the pipeline when planned.
    pub deals: Vec<(DealId, FileDeal)>,
    /// Tasks under their ids, with whether they are done.
    pub tasks: Vec<(TaskId, NewTask, bool)>,
    /// Timeline entries under their ids, each with its author, team and time.
    pub timeline: Vec<(EntryId, Edit, NewEntry)>,
    /// What is wrong with the account or its items, in words.
    pub problems: Vec<String>,
}

/// A deal of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDeal {
    /// Title.
    pub title: String,
    /// Amount.
    pub amount: Money,
    /// Pipeline stage, as written.
    pub stage: String,
    /// Expected close date.
    pub close: Option<jiff::civil::Date>,
}

/// Whether bytes look like a JSON export rather than a CSV table: an object at the start.
pub fn looks_like_json(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// Reads a JSON export: the pure entry point of a JSON import (a fuzz target's too).
pub fn parse_json(bytes: &[u8]) -> Result<JsonFile, JsonError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(JsonError::Empty);
    }
    let head: Head = serde_json::from_slice(bytes).map_err(JsonError::from_serde)?;
    match head.format {
        Some(serde_json::Value::String(format)) if format == JSON_FORMAT => {}
        Some(other) => {
            return Err(JsonError::WrongFormat {
                found: other.to_string(),
            });
        }
        None => return Err(JsonError::NoFormat),
    }
    let raw: RawExport = serde_json::from_slice(bytes).map_err(JsonError::from_serde)?;
    let settings = RawSettings {
        fields: raw.fields,
        rules: raw.rules,
        segments: raw.segments,
    };
    Ok(JsonFile {
        workspace: raw.workspace.id.parse().ok(),
        settings: settings.read()?,
        accounts: raw.accounts.into_iter().map(read_account).collect(),
    })
}

/// The top of the file, read first so that another JSON file is told by its format.
#[derive(Deserialize)]
struct Head {
    format: Option<serde_json::Value>,
}

/// The file as the export writes it; keys it does not name (the workspace's members and
/// pipeline, each account's URL and conflicts) are not read. The settings keys came later:
/// an older file has none.
#[derive(Deserialize)]
struct RawExport {
    workspace: RawWorkspace,
    accounts: Vec<RawAccount>,
    #[serde(default)]
    fields: Vec<serde_json::Value>,
    #[serde(default)]
    rules: Vec<serde_json::Value>,
    #[serde(default)]
    segments: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawWorkspace {
    id: String,
}

#[derive(Deserialize)]
struct RawAccount {
    id: String,
    name: String,
    domain: Option<String>,
    industry: Option<String>,
    tier: Option<String>,
    stage: Option<String>,
    owner: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    custom: BTreeMap<String, String>,
    #[serde(default)]
    contacts: Vec<RawContact>,
    #[serde(default)]
    deals: Vec<RawDeal>,
    #[serde(default)]
    tasks: Vec<RawTask>,
    #[serde(default)]
    timeline: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawContact {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    title: Option<String>,
}

#[derive(Deserialize)]
struct RawDeal {
    id: String,
    title: String,
    amount: i64,
    currency: String,
    stage: String,
    close: Option<String>,
}

#[derive(Deserialize)]
struct RawTask {
    id: String,
    title: String,
    assignee: Option<String>,
    due: Option<String>,
    #[serde(default)]
    done: bool,
}

#[derive(Deserialize)]
struct RawEntry {
    id: String,
    kind: String,
    team: String,
    author: String,
    at: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    alert: Vec<String>,
}

/// Gathers what is wrong with an account: each value that does not hold, named by where it is.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check<T>(&mut self, place: &str, result: Result<T, InvalidInput>) -> Option<T> {
        result
            .map_err(|error| self.0.push(format!("{place}: {error}")))
            .ok()
    }

    fn optional<T>(
        &mut self,
        place: &str,
        text: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, InvalidInput>,
    ) -> Option<T> {
        let text = given(text)?;
        self.check(place, parse(&text))
    }
}

/// A value that is there and not blank.
fn given(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn read_account(raw: RawAccount) -> FileAccount {
    let mut problems = Problems::default();
    let name = raw.name.trim().to_owned();
    if name.is_empty() {
        problems.0.push("missing account name".to_owned());
    }
    let id = problems.check("account id", raw.id.parse());
    let stage = problems.optional("account stage", raw.stage, str::parse);
    let owner = problems.optional("account owner", raw.owner, str::parse);
    let mut tags: Vec<String> = raw
        .tags
        .into_iter()
        .filter_map(|t| given(Some(t)))
        .collect();
    tags.sort();
    tags.dedup();
    let custom = raw
        .custom
        .into_iter()
        .filter(|(key, _)| !key.trim().is_empty())
        .collect();
    let contacts = raw
        .contacts
        .into_iter()
        .filter_map(|c| read_contact(c, &mut problems))
        .collect();
    let deals = raw
        .deals
        .into_iter()
        .filter_map(|d| read_deal(d, &mut problems))
        .collect();
    let tasks = raw
        .tasks
        .into_iter()
        .filter_map(|t| read_task(t, &mut problems))
        .collect();
    let timeline = raw
        .timeline
        .into_iter()
        .filter_map(|e| read_entry(e, &mut problems))
        .collect();
    FileAccount {
        id,
        name,
        domain: given(raw.domain),
        industry: given(raw.industry),
        tier: given(raw.tier),
        stage,
        owner,
        phone: given(raw.phone),
        website: given(raw.website),
        tags,
        custom,
        contacts,
        deals,
        tasks,
        timeline,
        problems: problems.0,
    }
}

fn read_contact(raw: RawContact, problems: &mut Problems) -> Option<(ContactId, NewContact)> {
    let place = format!("contact '{}'", raw.name);
    let id = problems.check(&place, raw.id.parse());
    let name = given(Some(raw.name));
    if name.is_none() {
        problems.0.push(format!("{place}: missing contact name"));
    }
    let email = problems.optional(&place, raw.email, check_email);
    let contact = NewContact {
        name: name?,
        email,
        phone: given(raw.phone),
        title: given(raw.title),
    };
    Some((id?, contact))
}

fn read_deal(raw: RawDeal, problems: &mut Problems) -> Option<(DealId, FileDeal)> {
    let place = format!("deal '{}'", raw.title);
    let id = problems.check(&place, raw.id.parse());
    let title = given(Some(raw.title));
    if title.is_none() {
        problems.0.push(format!("{place}: missing deal title"));
    }
    let currency = problems.check(&place, raw.currency.parse::<Currency>());
    let close = problems.optional(&place, raw.close, parse_date);
    let deal = FileDeal {
        title: title?,
        amount: Money {
            minor: raw.amount,
            currency: currency?,
        },
        stage: raw.stage.trim().to_owned(),
        close,
    };
    Some((id?, deal))
}

fn read_task(raw: RawTask, problems: &mut Problems) -> Option<(TaskId, NewTask, bool)> {
    let place = format!("task '{}'", raw.title);
    let id = problems.check(&place, raw.id.parse());
    let title = given(Some(raw.title));
    if title.is_none() {
        problems.0.push(format!("{place}: missing task title"));
    }
    let assignee = problems.optional(&place, raw.assignee, str::parse);
    let due = problems.optional(&place, raw.due, parse_date);
    let task = NewTask {
        title: title?,
        assignee,
        due,
    };
    Some((id?, task, raw.done))
}

fn read_entry(raw: RawEntry, problems: &mut Problems) -> Option<(EntryId, Edit, NewEntry)> {
    let place = format!("timeline entry {}", raw.id);
    let id = problems.check(&place, raw.id.parse());
    let kind = problems.check(&place, raw.kind.parse::<EntryKind>());
    let team = problems.check(&place, raw.team.parse::<Team>());
    let user = problems.check(&place, raw.author.parse::<UserName>());
    let at = match raw.at.parse::<jiff::Timestamp>() {
        Ok(at) => Some(at),
        Err(_) => {
            problems
                .0
                .push(format!("{place}: invalid time '{}'", raw.at));
            None
        }
    };
    let alert: Vec<Option<AlertTarget>> = raw
        .alert
        .iter()
        .map(|target| problems.check(&place, target.parse()))
        .collect();
    let edit = Edit {
        user: user?,
        team: team?,
        at: at?,
    };
    let entry = NewEntry {
        kind: kind?,
        text: raw.text,
        alert: alert.into_iter().collect::<Option<Vec<_>>>()?,
    };
    Some((id?, edit, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(accounts: &str) -> String {
        format!(
            r#"{{"format": "rapport-export-1", "workspace": {{"id": "x", "name": "Acme"}}, "accounts": [{accounts}]}}"#
        )
    }

    #[test]
    fn files_that_are_not_the_export_are_refused_for_what_they_are() {
        let refused = |text: &str| parse_json(text.as_bytes()).err().map(|e| e.to_string());
        assert_eq!(refused("  \n").as_deref(), Some("the file is empty"));
        assert!(refused("{\"format\": ").is_some_and(|e| e.contains("not JSON")));
        assert!(refused("[1, 2]").is_some_and(|e| e.contains("line 1")));
        assert!(refused("{\"accounts\": []}").is_some_and(|e| e.contains("no \"format\"")));
        assert!(
            refused("{\"format\": \"rapport-export-2\"}")
                .is_some_and(|e| e.contains("\"rapport-export-2\""))
        );
        assert!(
            refused(&file(r#"{"id": "a", "name": 7}"#))
                .is_some_and(|e| e.contains("does not have the export's shape"))
        );
        assert!(
            refused(&file(
                r#"{"id": "a", "name": "A", "deals": [{"id": "x", "title": "T", "amount": 1.5, "currency": "EUR", "stage": "won"}]}"#
            ))
            .is_some_and(|e| e.contains("invalid type: floating point"))
        );
    }

    #[test]
    fn values_that_do_not_hold_are_problems_of_their_account() -> Result<(), JsonError> {
        let text = file(
            r#"{"id": "nope", "name": " ", "owner": "a b",
                "contacts": [{"id": "01JCZ0000000000000000000C1", "name": "Hank", "email": "hank@"}],
                "deals": [{"id": "01JCZ0000000000000000000D1", "title": "T", "amount": 5, "currency": "EURO", "stage": "won"}],
                "timeline": [{"id": "01JCZ0000000000000000000E1", "kind": "note", "team": "finance", "author": "ana", "at": "yesterday", "alert": ["@"]}]}"#,
        );
        let parsed = parse_json(text.as_bytes())?;
        let problems = &parsed.accounts[0].problems;
        assert_eq!(parsed.workspace, None);
        for needle in [
            "missing account name",
            "account id",
            "account owner",
            "contact 'Hank': invalid email",
            "deal 'T': invalid currency 'EURO'",
            "invalid team 'finance'",
            "invalid time 'yesterday'",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(needle)),
                "{needle}: {problems:?}"
            );
        }
        Ok(())
    }
}
