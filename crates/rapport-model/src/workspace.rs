//! The workspace document: its name, members, pipeline, and the set of its account documents.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc, ScalarValue};
use serde::Serialize;

use crate::alert::rule::{Rule, RuleCondition, RuleName, RuleTarget};
use crate::edit::Edit;
use crate::error::{EditError, ShapeError};
use crate::fields::PipelineStage;
use crate::id::DocumentId;
use crate::read::{self, join};
use crate::schema::*;
use crate::vocab::{Role, Team, UserName};

/// The deal pipeline a new workspace starts with.
pub const DEFAULT_PIPELINE: [&str; 5] = ["qualification", "proposal", "negotiation", "won", "lost"];

/// A member of a workspace.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Member {
    /// User name.
    pub user: UserName,
    /// Team.
    pub team: Team,
    /// Role.
    pub role: Role,
}

/// The workspace as merged from every replica.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WorkspaceView {
    /// The workspace document's id.
    pub id: DocumentId,
    /// Its `automerge:` URL.
    pub url: String,
    /// Workspace name.
    pub name: String,
    /// Members, by user name.
    pub members: Vec<Member>,
    /// The deal pipeline's stages, in order.
    pub pipeline: Vec<PipelineStage>,
    /// How many account documents the workspace has.
    pub accounts: usize,
}

/// Writes a new workspace's first change, with its creator as the first (admin) member.
pub fn create<T: Transactable>(tx: &mut T, edit: &Edit, name: &str) -> Result<(), EditError> {
    tx.put(ROOT, TYPE, WORKSPACE_TYPE)?;
    tx.put(ROOT, SCHEMA, SCHEMA_VERSION)?;
    tx.put(ROOT, CREATED, ScalarValue::Timestamp(edit.at_millis()))?;
    tx.put(ROOT, CREATED_BY, edit.user.as_str())?;
    tx.put(ROOT, "name", name.trim())?;
    tx.put_object(ROOT, MEMBERS, ObjType::Map)?;
    tx.put_object(ROOT, ACCOUNTS, ObjType::Map)?;
    let pipeline = tx.put_object(ROOT, PIPELINE, ObjType::List)?;
    for (index, stage) in DEFAULT_PIPELINE.iter().enumerate() {
        tx.insert(&pipeline, index, *stage)?;
    }
    put_member(
        tx,
        &Member {
            user: edit.user.clone(),
            team: edit.team,
            role: Role::Admin,
        },
    )
}

/// Adds a member, or changes an existing member's team and role.
pub fn put_member<T: Transactable>(tx: &mut T, member: &Member) -> Result<(), EditError> {
    let members = collection(tx, MEMBERS)?;
    let obj = match read::object(tx, &members, member.user.as_str(), ObjType::Map, MEMBERS)? {
        Some(obj) => obj,
        None => tx.put_object(&members, member.user.as_str(), ObjType::Map)?,
    };
    tx.put(&obj, "team", member.team.as_str())?;
    tx.put(&obj, "role", member.role.as_str())?;
    Ok(())
}

/// Records that account document `id` belongs to the workspace.
pub fn add_account<T: Transactable>(tx: &mut T, id: DocumentId) -> Result<(), EditError> {
    let accounts = collection(tx, ACCOUNTS)?;
    tx.put(&accounts, id.to_string(), true)?;
    Ok(())
}

/// Writes an alert rule under its own root key, `rule:<name>`, replacing a rule of that name,
/// with the edit's time as its creation time: it fires for entries written from then on.
pub fn put_rule<T: Transactable>(tx: &mut T, edit: &Edit, rule: &Rule) -> Result<(), EditError> {
    let obj = tx.put_object(ROOT, rule_key(&rule.name), ObjType::Map)?;
    tx.put(&obj, CREATED, ScalarValue::Timestamp(edit.at_millis()))?;
    let when = &rule.when;
    let fields = [
        ("kind", when.kind.map(|k| k.as_str().to_owned())),
        ("tier", when.tier.clone()),
        ("stage", when.stage.map(|s| s.as_str().to_owned())),
        ("team", when.team.map(|t| t.as_str().to_owned())),
        ("alert", Some(RuleTarget::join(&rule.alert))),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            tx.put(&obj, key, value)?;
        }
    }
    Ok(())
}

/// Removes the alert rule `name` from the edit's time on: it fires for no entry written since,
/// and the alerts it raised for earlier entries stay. The rule's key stays in the document with
/// its removal time, so that every replica, whatever it merged first, agrees on both.
pub fn remove_rule<T: Transactable>(
    tx: &mut T,
    edit: &Edit,
    name: &RuleName,
) -> Result<(), EditError> {
    let key = rule_key(name);
    let unknown = || EditError::UnknownRule {
        name: name.to_string(),
    };
    match read_rule(tx, &key) {
        Some(rule) if rule.removed.is_none() => {
            let obj = read::object(tx, &ROOT, &key, ObjType::Map, "")?.ok_or_else(unknown)?;
            tx.put(&obj, REMOVED, ScalarValue::Timestamp(edit.at_millis()))?;
            Ok(())
        }
        Some(_) => Err(unknown()),
        // A key this version does not read as a rule (a foreign peer's) fired for no one here:
        // it simply goes.
        None if tx.get(ROOT, key.as_str())?.is_some() => {
            tx.delete(ROOT, key.as_str())?;
            Ok(())
        }
        None => Err(unknown()),
    }
}

/// The workspace's standing alert rules, by name: those not removed.
pub fn rules<D: ReadDoc>(doc: &D) -> Vec<Rule> {
    let mut out = alert_rules(doc);
    out.retain(|rule| rule.removed.is_none());
    out
}

/// Every alert rule the workspace holds, by name, removed ones (which still cover the entries
/// written while they stood) included: what alerts are derived from. A rule that does not read
/// (written by a foreign peer, or by a later version with conditions this one does not know)
/// is skipped: it fires for no one here rather than for everyone.
pub fn alert_rules<D: ReadDoc>(doc: &D) -> Vec<Rule> {
    let mut out: Vec<Rule> = doc
        .keys(&ROOT)
        .filter_map(|key| read_rule(doc, &key))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn read_rule<D: ReadDoc>(doc: &D, key: &str) -> Option<Rule> {
    let name: RuleName = key.strip_prefix(RULE_PREFIX)?.parse().ok()?;
    let obj = read::object(doc, &ROOT, key, ObjType::Map, "").ok()??;
    let known = ["kind", "tier", "stage", "team", "alert", CREATED, REMOVED];
    if doc.keys(&obj).any(|field| !known.contains(&field.as_str())) {
        return None;
    }
    let text = |field| read::string(doc, &obj, field, key).ok().flatten();
    let word = |field| text(field).map(|t| t.parse()).transpose().ok();
    let when = RuleCondition {
        kind: word("kind")?,
        tier: text("tier"),
        stage: text("stage").map(|t| t.parse()).transpose().ok()?,
        team: text("team").map(|t| t.parse()).transpose().ok()?,
    };
    let alert = RuleTarget::parse_list(&text("alert")?).ok()?;
    let mut rule = Rule::new(name, when, alert).ok()?;
    // A creation time that does not read makes the rule as old as any entry: it then fires
    // for every entry, the same on every replica. A removal time that does not read removes
    // it for every entry.
    if let Ok(Some(at)) = read::time(doc, &obj, CREATED, key) {
        rule = rule.created_at(at);
    }
    match read::time(doc, &obj, REMOVED, key) {
        Ok(None) => Some(rule),
        Ok(Some(at)) => Some(rule.removed_at(at)),
        Err(_) => Some(rule.removed_at(jiff::Timestamp::MIN)),
    }
}

fn rule_key(name: &RuleName) -> String {
    format!("{RULE_PREFIX}{name}")
}

/// Reads the workspace.
pub fn view<D: ReadDoc>(doc: &D, id: DocumentId) -> Result<WorkspaceView, ShapeError> {
    check_kind(doc)?;
    let accounts =
        read::object(doc, &ROOT, ACCOUNTS, ObjType::Map, "")?.map_or(0, |obj| doc.length(&obj));
    Ok(WorkspaceView {
        id,
        url: id.url(),
        name: read::required_string(doc, &ROOT, "name", "")?,
        members: members(doc)?,
        pipeline: pipeline(doc)?,
        accounts,
    })
}

/// The workspace's members, by user name.
pub fn members<D: ReadDoc>(doc: &D) -> Result<Vec<Member>, ShapeError> {
    let Some(members) = read::object(doc, &ROOT, MEMBERS, ObjType::Map, "")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for key in doc.keys(&members) {
        let path = join(MEMBERS, &key);
        let user = key.parse().map_err(|source| ShapeError::Invalid {
            path: path.clone(),
            source,
        })?;
        if let Some(obj) = read::object(doc, &members, &key, ObjType::Map, MEMBERS)? {
            let team = read::required_parsed(doc, &obj, "team", &path)?;
            let role = read::parsed(doc, &obj, "role", &path)?.unwrap_or(Role::Member);
            out.push(Member { user, team, role });
        }
    }
    Ok(out)
}

/// The deal pipeline's stages, in order.
pub fn pipeline<D: ReadDoc>(doc: &D) -> Result<Vec<PipelineStage>, ShapeError> {
    let Some(list) = read::object(doc, &ROOT, PIPELINE, ObjType::List, "")? else {
        return Ok(Vec::new());
    };
    doc.list_range(&list, ..)
        .map(|item| {
            let text = read::value_to_string(
                doc,
                &automerge::Value::from(item.value.clone()),
                &item.id(),
                PIPELINE,
            )?;
            text.parse().map_err(|source| ShapeError::Invalid {
                path: PIPELINE.to_owned(),
                source,
            })
        })
        .collect()
}

/// The ids of the workspace's account documents. Keys that are not document ids are skipped:
/// they cannot name a document any peer could sync.
pub fn account_ids<D: ReadDoc>(doc: &D) -> Result<Vec<DocumentId>, ShapeError> {
    let Some(accounts) = read::object(doc, &ROOT, ACCOUNTS, ObjType::Map, "")? else {
        return Ok(Vec::new());
    };
    Ok(doc
        .keys(&accounts)
        .filter_map(|key| key.parse().ok())
        .collect())
}

/// Checks that a document is a Rapport workspace document.
pub fn check_kind<D: ReadDoc>(doc: &D) -> Result<(), ShapeError> {
    match read::string(doc, &ROOT, TYPE, "")?.as_deref() {
        Some(WORKSPACE_TYPE) => Ok(()),
        other => Err(ShapeError::WrongKind {
            expected: WORKSPACE_TYPE,
            found: other.unwrap_or("missing").to_owned(),
        }),
    }
}

fn collection<T: Transactable>(tx: &mut T, key: &str) -> Result<automerge::ObjId, EditError> {
    match read::object(tx, &ROOT, key, ObjType::Map, "")? {
        Some(obj) => Ok(obj),
        None => Ok(tx.put_object(ROOT, key, ObjType::Map)?),
    }
}
