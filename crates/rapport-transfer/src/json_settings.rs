//! The workspace's own settings in a JSON export: its custom field definitions (in definition
//! order), its standing alert rules and its segments. Read back whole or not at all: one that
//! does not read refuses the file, naming it. Planned against the workspace imported into,
//! each is created there, found there as it is (unchanged), or found there otherwise: then the
//! workspace's stays as it is, and the plan says so, since the file has no better claim to it
//! than the workspace (a definition others' values were checked against, a rule people are
//! alerted by).
//!
//! Files written before the export carried settings have none of these keys: they read as no
//! settings.

use automerge::transaction::Transactable;
use rapport_model::alert::rule::{Rule, RuleCondition, RuleTarget};
use rapport_model::custom_field::{self, FieldDefinition};
use rapport_model::segment::{self, Segment, SegmentFilter};
use rapport_model::{Edit, EditError, InvalidInput, workspace};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::JsonError;
use crate::plan::Existing;

/// The settings a JSON export carries, each checked as the workspace would check it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSettings {
    /// Custom field definitions, in the order they were defined.
    pub fields: Vec<FieldDefinition>,
    /// Alert rules (standing ones: an export leaves removed rules out).
    pub rules: Vec<Rule>,
    /// Saved segments, under their ids.
    pub segments: Vec<Segment>,
}

/// The settings keys of the file, each entry kept as JSON until it is read on its own, so that
/// one that does not read is named.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawSettings {
    #[serde(default)]
    pub(crate) fields: Vec<serde_json::Value>,
    #[serde(default)]
    pub(crate) rules: Vec<serde_json::Value>,
    #[serde(default)]
    pub(crate) segments: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawField {
    name: String,
    label: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    options: Vec<String>,
}

/// A rule as the export writes it; its `created` time is not read (the rule is new where it
/// is imported, and fires from then on).
#[derive(Deserialize)]
struct RawRule {
    name: String,
    #[serde(default)]
    when: RawCondition,
    alert: Vec<String>,
}

/// A condition this version does not know refuses the rule rather than being dropped, which
/// would make it fire more widely than it was written to.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    kind: Option<String>,
    tier: Option<String>,
    stage: Option<String>,
    team: Option<String>,
}

#[derive(Deserialize)]
struct RawSegment {
    id: String,
    name: String,
    filter: SegmentFilter,
}

impl RawSettings {
    /// Reads every setting, or names the first that does not read.
    pub(crate) fn read(self) -> Result<FileSettings, JsonError> {
        let fields = read_all("field definition", self.fields, read_field)?;
        let rules = read_all("alert rule", self.rules, read_rule)?;
        let segments = read_all("segment", self.segments, read_segment)?;
        no_twice(
            "field definition",
            fields.iter().map(|f| f.name.to_string()),
        )?;
        no_twice("alert rule", rules.iter().map(|r| r.name.to_string()))?;
        no_twice("segment", segments.iter().map(|s| s.id.clone()))?;
        no_twice("segment", segments.iter().map(|s| s.name.clone()))?;
        Ok(FileSettings {
            fields,
            rules,
            segments,
        })
    }
}

/// Reads each entry of one key into its raw shape, then into the model's type; an entry that
/// does not is a [`JsonError::Setting`] naming it (by its name, else its place).
fn read_all<R: DeserializeOwned, T>(
    what: &'static str,
    entries: Vec<serde_json::Value>,
    read: impl Fn(R) -> Result<T, String>,
) -> Result<Vec<T>, JsonError> {
    entries
        .into_iter()
        .enumerate()
        .map(|(at, entry)| {
            let name = match entry.get("name").and_then(serde_json::Value::as_str) {
                Some(name) => format!("'{name}'"),
                None => format!("number {}", at + 1),
            };
            serde_json::from_value(entry)
                .map_err(|error| error.to_string())
                .and_then(&read)
                .map_err(|reason| JsonError::Setting { what, name, reason })
        })
        .collect()
}

fn no_twice(what: &'static str, keys: impl Iterator<Item = String>) -> Result<(), JsonError> {
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if !seen.insert(key.clone()) {
            return Err(JsonError::Setting {
                what,
                name: format!("'{key}'"),
                reason: "it is in the file twice".to_owned(),
            });
        }
    }
    Ok(())
}

fn read_field(raw: RawField) -> Result<FieldDefinition, String> {
    let definition = |raw: RawField| -> Result<FieldDefinition, InvalidInput> {
        FieldDefinition::new(
            raw.name.parse()?,
            raw.kind.parse()?,
            raw.label.as_deref(),
            &raw.options,
        )
    };
    definition(raw).map_err(|error| error.to_string())
}

fn read_rule(raw: RawRule) -> Result<Rule, String> {
    let rule = |raw: RawRule| -> Result<Rule, InvalidInput> {
        let word = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
        let when = RuleCondition {
            kind: word(raw.when.kind).map(|t| t.parse()).transpose()?,
            tier: raw.when.tier,
            stage: word(raw.when.stage).map(|t| t.parse()).transpose()?,
            team: word(raw.when.team).map(|t| t.parse()).transpose()?,
        };
        let alert = RuleTarget::parse_list(&raw.alert.join(","))?;
        Rule::new(raw.name.parse()?, when, alert)
    };
    rule(raw).map_err(|error| error.to_string())
}

fn read_segment(raw: RawSegment) -> Result<Segment, String> {
    let segment = |raw: RawSegment| -> Result<Segment, segment::SegmentError> {
        raw.filter.check()?;
        Ok(Segment {
            id: segment::check_id(&raw.id)?,
            name: segment::check_name(&raw.name)?,
            filter: raw.filter,
        })
    };
    segment(raw).map_err(|error| error.to_string())
}

/// Which kind of setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SettingKind {
    /// A custom field definition.
    Field,
    /// An alert rule.
    Rule,
    /// A segment.
    Segment,
}

impl SettingKind {
    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingKind::Field => "field",
            SettingKind::Rule => "rule",
            SettingKind::Segment => "segment",
        }
    }
}

/// What importing one setting does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SettingOutcome {
    /// The workspace lacks it: it is created.
    Created,
    /// The workspace has it as the file does.
    Unchanged,
    /// The workspace has one of its name (a segment: its id or name) otherwise: the
    /// workspace's stays as it is.
    Kept,
}

impl SettingOutcome {
    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingOutcome::Created => "created",
            SettingOutcome::Unchanged => "unchanged",
            SettingOutcome::Kept => "kept",
        }
    }
}

/// One setting's fate, as the dry run reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettingPlan {
    /// Field, rule or segment.
    pub setting: SettingKind,
    /// Its name.
    pub name: String,
    /// Created, unchanged or kept.
    pub outcome: SettingOutcome,
    /// For a kept one: how the workspace's differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The settings an import creates, written as one change of the workspace document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkspaceChange {
    /// Definitions to make, in the file's order.
    pub fields: Vec<FieldDefinition>,
    /// Rules to make: they fire for entries written from the import on.
    pub rules: Vec<Rule>,
    /// Segments to save, under the file's ids.
    pub segments: Vec<Segment>,
}

impl WorkspaceChange {
    /// Whether the change writes nothing.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.rules.is_empty() && self.segments.is_empty()
    }

    /// Writes the change into an open transaction on the workspace document.
    pub fn write<T: Transactable>(&self, tx: &mut T, edit: &Edit) -> Result<(), EditError> {
        custom_field::put_definitions(tx, edit, &self.fields)?;
        for rule in &self.rules {
            workspace::put_rule(tx, edit, rule)?;
        }
        for segment in &self.segments {
            segment::put(tx, &segment.id, &segment.name, &segment.filter)?;
        }
        Ok(())
    }
}

/// Decides what each setting of the file does to the workspace `existing` describes.
pub(crate) fn plan_settings(
    file: &FileSettings,
    existing: &Existing,
) -> (Vec<SettingPlan>, WorkspaceChange) {
    let mut plans = Vec::new();
    let mut change = WorkspaceChange::default();
    for field in &file.fields {
        let found = existing
            .fields
            .iter()
            .find(|known| known.name == field.name);
        let outcome = compare(found.map(|known| known == field), || {
            change.fields.push(field.clone())
        });
        plans.push(SettingPlan {
            setting: SettingKind::Field,
            name: field.name.to_string(),
            outcome,
            reason: kept_because(outcome, found.map(describe_field)),
        });
    }
    for rule in &file.rules {
        let found = existing.rules.iter().find(|known| known.name == rule.name);
        let same = found.map(|known| known.same_conditions_and_targets(rule));
        let outcome = compare(same, || change.rules.push(rule.clone()));
        plans.push(SettingPlan {
            setting: SettingKind::Rule,
            name: rule.name.to_string(),
            outcome,
            reason: kept_because(outcome, found.map(describe_rule)),
        });
    }
    for segment in &file.segments {
        let found = existing
            .segments
            .iter()
            .find(|known| known.id == segment.id)
            .or_else(|| existing.segments.iter().find(|k| k.name == segment.name));
        let same = found.map(|known| known.name == segment.name && known.filter == segment.filter);
        let outcome = compare(same, || change.segments.push(segment.clone()));
        plans.push(SettingPlan {
            setting: SettingKind::Segment,
            name: segment.name.clone(),
            outcome,
            reason: kept_because(outcome, found.map(describe_segment)),
        });
    }
    (plans, change)
}

/// Created when the workspace has none (`create` stages it), unchanged when it has the same,
/// kept when it has another.
fn compare(same: Option<bool>, create: impl FnOnce()) -> SettingOutcome {
    match same {
        None => {
            create();
            SettingOutcome::Created
        }
        Some(true) => SettingOutcome::Unchanged,
        Some(false) => SettingOutcome::Kept,
    }
}

fn kept_because(outcome: SettingOutcome, workspace_has: Option<String>) -> Option<String> {
    let has = workspace_has.filter(|_| outcome == SettingOutcome::Kept)?;
    Some(format!(
        "the workspace's differs from the file's and stays as it is: {has}"
    ))
}

fn describe_field(field: &FieldDefinition) -> String {
    let mut text = format!("'{}', {}", field.label, field.kind);
    if !field.options.is_empty() {
        text.push_str(&format!(" of {}", field.options.join(", ")));
    }
    text
}

fn describe_rule(rule: &Rule) -> String {
    let when = &rule.when;
    let conditions: Vec<String> = [
        when.kind.map(|k| format!("kind {}", k.as_str())),
        when.tier.as_ref().map(|t| format!("tier {t}")),
        when.stage.map(|s| format!("stage {}", s.as_str())),
        when.team.map(|t| format!("team {}", t.as_str())),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "when {}, alerts {}",
        conditions.join(" and "),
        RuleTarget::join(&rule.alert)
    )
}

fn describe_segment(segment: &Segment) -> String {
    let filter = serde_json::to_string(&segment.filter).unwrap_or_default();
    format!("'{}' ({}) keeps {filter}", segment.name, segment.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> Result<FileSettings, JsonError> {
        serde_json::from_str::<RawSettings>(json)
            .map_err(JsonError::from_serde)?
            .read()
    }

    const GOOD: &str = r#"{
        "fields": [{"name": "region", "label": "Region", "type": "choice", "options": ["EMEA", "US"]},
                   {"name": "seats", "type": "number", "options": []}],
        "rules": [{"name": "gold-tickets", "when": {"kind": "ticket", "tier": "gold"}, "alert": ["owner", "followers"], "created": "2026-01-01T00:00:00Z"}],
        "segments": [{"id": "01JCZ3S4X8V6N5QW0R1K2M3P4T", "name": "VIPs", "filter": {"tag": "vip"}}]
    }"#;

    #[test]
    fn settings_read_into_the_models_types_and_old_files_have_none()
    -> Result<(), Box<dyn std::error::Error>> {
        let read = settings(GOOD)?;
        assert_eq!(read.fields[0].options, ["EMEA", "US"]);
        assert_eq!(read.fields[1].label, "seats");
        assert_eq!(read.rules[0].created, None, "the file's time is not kept");
        assert_eq!(read.segments[0].filter.tag.as_deref(), Some("vip"));
        assert_eq!(settings("{}")?, FileSettings::default());
        Ok(())
    }

    #[test]
    fn a_setting_that_does_not_read_refuses_the_file_naming_it() {
        let refused = |json: &str| settings(json).err().map(|e| e.to_string());
        let cases = [
            (
                r#"{"fields": [{"name": "region", "type": "choice"}]}"#,
                "field definition 'region' in the file does not read: invalid custom field options",
            ),
            (
                r#"{"fields": [{"name": "a b", "type": "text"}]}"#,
                "field definition 'a b'",
            ),
            (
                r#"{"fields": [{"type": "text"}]}"#,
                "field definition number 1 in the file does not read: missing field `name`",
            ),
            (
                r#"{"rules": [{"name": "x", "when": {"planet": "mars"}, "alert": ["owner"]}]}"#,
                "alert rule 'x' in the file does not read: unknown field `planet`",
            ),
            (
                r#"{"rules": [{"name": "x", "when": {}, "alert": ["owner"]}]}"#,
                "alert rule 'x'",
            ),
            (
                r#"{"segments": [{"id": "nope", "name": "VIPs", "filter": {"tag": "vip"}}]}"#,
                "segment 'VIPs' in the file does not read: invalid segment id 'nope'",
            ),
            (
                r#"{"fields": [{"name": "a", "type": "text"}, {"name": "a", "type": "url"}]}"#,
                "field definition 'a' in the file does not read: it is in the file twice",
            ),
        ];
        for (json, needle) in cases {
            let error = refused(json);
            assert!(
                error.as_deref().is_some_and(|e| e.contains(needle)),
                "{json}: {error:?}"
            );
        }
    }

    #[test]
    fn settings_the_workspace_lacks_are_created_and_others_kept_as_they_are()
    -> Result<(), Box<dyn std::error::Error>> {
        let file = settings(GOOD)?;
        let (plans, change) = plan_settings(&file, &Existing::new(Vec::new()));
        assert!(plans.iter().all(|p| p.outcome == SettingOutcome::Created));
        assert_eq!(change.fields, file.fields);

        let mut existing = Existing::new(Vec::new());
        let mut other_region = file.fields[0].clone();
        other_region.options.pop();
        existing.set_field_definitions(vec![other_region, file.fields[1].clone()]);
        let mut rule = file.rules[0].clone();
        rule.alert.reverse();
        existing.set_rules(vec![rule]);
        let mut renamed = file.segments[0].clone();
        renamed.name = "Very important".into();
        existing.set_segments(vec![renamed]);
        let (plans, change) = plan_settings(&file, &existing);
        let outcomes: Vec<_> = plans.iter().map(|p| (p.name.as_str(), p.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                ("region", SettingOutcome::Kept),
                ("seats", SettingOutcome::Unchanged),
                ("gold-tickets", SettingOutcome::Unchanged),
                ("VIPs", SettingOutcome::Kept),
            ]
        );
        assert!(
            plans[0]
                .reason
                .as_deref()
                .is_some_and(|r| r.ends_with("'Region', choice of EMEA")),
            "{:?}",
            plans[0].reason
        );
        assert!(change.is_empty());
        Ok(())
    }
}
