//! Printing results: short text for people, or JSON on stdout with `--json`.

mod tasks;
mod teams;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rapport_model::DocumentId;
use rapport_model::account::AccountView;
use rapport_model::alert::rule::{Rule, RuleTarget};
use rapport_model::custom_field::{CustomValue, FieldDefinition};
use rapport_model::duplicates::Reason;
use rapport_model::segment::{ScoredAccount, Segment};
use rapport_model::value::AccountValue;
use rapport_model::workspace::WorkspaceView;
use rapport_store::{AlertRecord, ContactMerge, Duplicates, OpenTask};
use serde::Serialize;
use serde_json::{Value, json};

/// Where results go, and in which form.
pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, value)?;
        writeln!(stdout)?;
        Ok(())
    }

    pub fn print(&self, text: &str) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}")?;
        Ok(())
    }

    /// A new item: its bare id for people (so scripts can capture it), details as JSON.
    pub fn created(&self, id: &str, details: Value) -> anyhow::Result<()> {
        if self.json {
            self.print_json(&details)
        } else {
            self.print(id)
        }
    }

    /// Likely duplicates, each pair with why.
    pub fn duplicates(&self, found: &Duplicates) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(found);
        }
        if found.accounts.is_empty() && found.contacts.is_empty() {
            return self.print("no likely duplicates");
        }
        let mut text = String::new();
        for pair in &found.accounts {
            text.push_str(&format!(
                "accounts  {} ({})  ~  {} ({})  {}\n",
                pair.a.name,
                pair.a.id,
                pair.b.name,
                pair.b.id,
                reasons(&pair.reasons)
            ));
        }
        for pair in &found.contacts {
            text.push_str(&format!(
                "contacts  {} ({} in {})  ~  {} ({} in {})  {}\n",
                pair.a.name,
                pair.a.id,
                pair.a.account,
                pair.b.name,
                pair.b.id,
                pair.b.account,
                reasons(&pair.reasons)
            ));
        }
        self.print(text.trim_end())
    }

    /// A contact merge: what was merged into what, and the fields filled.
    pub fn contact_merged(&self, merge: &ContactMerge) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(merge);
        }
        let (merged, into, account) = (merge.merged, merge.into, merge.account);
        if !merge.changed {
            return self.print(&format!(
                "contact {merged} was merged into {into} already; nothing changed"
            ));
        }
        let filled = match merge.filled.as_slice() {
            [] => "no fields filled".to_owned(),
            fields => format!("filled {}", fields.join(", ")),
        };
        self.print(&format!(
            "merged contact {merged} into {into} in account {account} ({filled})"
        ))
    }

    /// An action that completed.
    pub fn done(&self, message: &str, details: Value) -> anyhow::Result<()> {
        if self.json {
            self.print_json(&details)
        } else {
            self.print(message)
        }
    }

    /// A report: its JSON, or the text `text` makes of it.
    pub fn report<T: Serialize>(
        &self,
        report: &T,
        text: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            self.print_json(report)
        } else {
            self.print(&text())
        }
    }

    pub fn workspace_created(&self, workspace: &WorkspaceView, data: &Path) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(&json!({ "workspace": workspace, "data": data }));
        }
        let creator = workspace
            .members
            .first()
            .map(|m| format!("{} ({})", m.user, m.team))
            .unwrap_or_default();
        self.print(&format!(
            "created workspace '{}' for {creator} in {}",
            workspace.name,
            data.display()
        ))
    }

    pub fn rules(&self, rules: &[Rule]) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(rules);
        }
        if rules.is_empty() {
            return self.print("no alert rules");
        }
        let lines: Vec<String> = rules.iter().map(rule_text).collect();
        self.print(&lines.join("\n"))
    }

    pub fn workspace(&self, workspace: &WorkspaceView) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(workspace);
        }
        let mut text = format!(
            "{}\n  url       {}\n  accounts  {}\n  pipeline  ",
            workspace.name, workspace.url, workspace.accounts
        );
        text.push_str(
            &workspace
                .pipeline
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" > "),
        );
        text.push_str("\n  members");
        for member in &workspace.members {
            text.push_str(&format!(
                "\n    {:<20} {:<10} {}",
                member.user, member.team, member.role
            ));
        }
        self.print(&text)
    }

    /// The account list: id, name, stage, tier, owner, value score and its tier.
    pub fn scored_accounts(&self, accounts: &[ScoredAccount]) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(accounts);
        }
        let mut text = String::new();
        for scored in accounts {
            let a = &scored.summary;
            let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            text.push_str(&format!(
                "{}  {:<28} {:<10} {:<8} {:<10} {:>3} {}\n",
                a.id,
                a.name,
                opt(&a.stage),
                opt(&a.tier),
                opt(&a.owner),
                scored.value.score,
                scored.value.tier,
            ));
        }
        text.push_str(&format!("{} account(s)", accounts.len()));
        self.print(&text)
    }

    /// One account, with its value score when the list holds it and its custom fields as
    /// the workspace defines them. In JSON the score is `value` beside the account's fields,
    /// and `custom_fields` lists the defined fields first (each with `valid`), then the others.
    pub fn account(
        &self,
        account: &AccountView,
        value: Option<&AccountValue>,
        custom: &[CustomValue],
    ) -> anyhow::Result<()> {
        if self.json {
            let mut json = serde_json::to_value(account)?;
            if let Value::Object(fields) = &mut json {
                fields.insert("value".into(), serde_json::to_value(value)?);
                fields.insert("custom_fields".into(), serde_json::to_value(custom)?);
            }
            return self.print_json(&json);
        }
        self.print(&account_text(account, value, custom))
    }

    /// The workspace's custom field definitions, in the order they were made.
    pub fn field_definitions(&self, definitions: &[FieldDefinition]) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(definitions);
        }
        if definitions.is_empty() {
            return self.print("no custom fields defined");
        }
        let lines: Vec<String> = definitions.iter().map(definition_text).collect();
        self.print(&lines.join("\n"))
    }

    /// The saved segments, each with its conditions.
    pub fn segments(&self, segments: &[Segment]) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(segments);
        }
        let mut text = String::new();
        for segment in segments {
            let conditions = serde_json::to_string(&segment.filter)?;
            text.push_str(&format!("{}  {}\n", segment.name, conditions));
        }
        text.push_str(&format!("{} segment(s)", segments.len()));
        self.print(&text)
    }

    /// A changed account: in JSON, the account as `account show --json` prints it.
    pub fn account_changed(
        &self,
        account: &AccountView,
        value: Option<&AccountValue>,
        custom: &[CustomValue],
    ) -> anyhow::Result<()> {
        if self.json {
            self.account(account, value, custom)
        } else {
            self.print(&format!("updated {} ({})", account.name, account.id))
        }
    }

    /// An account's changes, oldest first: when, who, and one line per part changed.
    pub fn history(&self, history: &rapport_model::account::AccountHistory) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(history);
        }
        let mut text = String::new();
        for change in &history.changes {
            let at = change
                .at
                .map_or_else(|| "(no time)".to_owned(), |at| at.to_string());
            let author = change.author.as_ref().map_or("(unknown)", |a| a.as_str());
            text.push_str(&format!("{at}  {author}\n"));
            for edit in &change.edits {
                text.push_str(&format!("    {edit}\n"));
            }
            if change.edits.is_empty() {
                text.push_str("    (no value changed)\n");
            }
        }
        text.push_str(&format!("{} change(s)", history.total));
        if history.changes.len() < history.total {
            text.push_str(&format!(", the latest {} shown", history.changes.len()));
        }
        self.print(&text)
    }

    /// The inbox: alerts, then reminders (my open tasks due today or overdue). JSON:
    /// `{"alerts": [...], "reminders": [...]}`.
    pub fn alerts(
        &self,
        alerts: &[AlertRecord],
        reminders: &[OpenTask],
        names: &BTreeMap<DocumentId, String>,
    ) -> anyhow::Result<()> {
        let name = |id: &DocumentId| names.get(id).cloned().unwrap_or_default();
        if self.json {
            let rows: Vec<Value> = alerts
                .iter()
                .map(|a| {
                    let mut row = serde_json::to_value(a).unwrap_or(Value::Null);
                    row["account_name"] = Value::String(name(&a.account));
                    row
                })
                .collect();
            return self.print_json(&json!({ "alerts": rows, "reminders": reminders }));
        }
        if alerts.is_empty() && reminders.is_empty() {
            return self.print("no alerts");
        }
        let mut text = String::new();
        for a in alerts {
            let seen = if a.acknowledged {
                " (acknowledged)"
            } else {
                ""
            };
            text.push_str(&format!(
                "{}  {}  {} ({}) on {}{seen}\n    why: {}\n    {}\n",
                a.id,
                a.at,
                a.author,
                a.team,
                name(&a.account),
                a.reasons.join(", "),
                a.text
            ));
        }
        if !reminders.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str("Due tasks:\n");
            text.push_str(&tasks::task_lines(reminders));
        }
        self.print(text.trim_end())
    }
}

/// One rule on one line: `gold-tickets  when kind=ticket tier=gold  alert owner,followers`.
pub fn rule_text(rule: &Rule) -> String {
    let when = &rule.when;
    let conditions: Vec<String> = [
        when.kind.map(|k| format!("kind={k}")),
        when.tier.as_ref().map(|t| format!("tier={t}")),
        when.stage.map(|s| format!("stage={s}")),
        when.team.map(|t| format!("team={t}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let since = rule
        .created
        .map(|at| format!("  for entries since {}", at.strftime("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    format!(
        "{}  when {}  alert {}{since}",
        rule.name,
        conditions.join(" "),
        RuleTarget::join(&rule.alert)
    )
}

/// One definition on one line: `region  Sales region  choice: EMEA, APAC`.
pub fn definition_text(definition: &FieldDefinition) -> String {
    let mut text = format!(
        "{}  {}  {}",
        definition.name, definition.label, definition.kind
    );
    if !definition.options.is_empty() {
        text.push_str(&format!(": {}", definition.options.join(", ")));
    }
    text
}

fn account_text(a: &AccountView, value: Option<&AccountValue>, custom: &[CustomValue]) -> String {
    let mut t = format!("{}\n  id       {}\n", a.name, a.id);
    let fields = [
        ("domain", &a.domain),
        ("industry", &a.industry),
        ("tier", &a.tier),
        ("owner", &a.owner),
        ("phone", &a.phone),
        ("website", &a.website),
    ];
    if let Some(stage) = a.stage {
        t.push_str(&format!("  stage    {stage}\n"));
    }
    for (label, value) in fields {
        if let Some(value) = value {
            t.push_str(&format!("  {label:<8} {value}\n"));
        }
    }
    if !a.tags.is_empty() {
        t.push_str(&format!("  tags     {}\n", a.tags.join(", ")));
    }
    if !a.followers.is_empty() {
        let names: Vec<&str> = a.followers.iter().map(|f| f.as_str()).collect();
        t.push_str(&format!("  followers {}\n", names.join(", ")));
    }
    for field in custom {
        let shown = field.value.as_deref().unwrap_or("-");
        t.push_str(&format!("  {:<8} {shown}", field.label));
        if let (false, Some(kind)) = (field.valid, field.kind) {
            t.push_str(&format!("  (does not fit its type, {kind})"));
        }
        t.push('\n');
    }
    if let Some(v) = value {
        t.push_str(&format!(
            "  value    {} ({}): recency {}, frequency {}, monetary {}\n",
            v.score, v.tier, v.recency, v.frequency, v.monetary
        ));
    }
    for c in &a.conflicts {
        t.push_str(&format!(
            "  ! conflict on {}: {} (also {})\n",
            c.field,
            c.value,
            c.others.join(", ")
        ));
    }
    section(
        &mut t,
        "contacts",
        a.contacts.iter().map(|c| {
            let details: Vec<&str> = [c.title.as_deref(), c.email.as_deref(), c.phone.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            let mut line = format!("{}  {}  {}", c.id, c.name, details.join(", "));
            // What was merged into it, as it now reads: a later edit to it shows here.
            for m in a.merged_contacts.iter().filter(|m| m.into == c.id) {
                let m = &m.contact;
                let details: Vec<&str> =
                    [m.title.as_deref(), m.email.as_deref(), m.phone.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect();
                line.push_str(&format!(
                    "\n      merged: {}  {}  {}",
                    m.id,
                    m.name,
                    details.join(", ")
                ));
            }
            line
        }),
    );
    section(
        &mut t,
        "deals",
        a.deals.iter().map(|d| {
            let amount = rapport_model::Money {
                minor: d.amount,
                currency: d.currency,
            };
            format!(
                "{}  {}  {amount}  [{}]{}",
                d.id,
                d.title,
                d.stage,
                d.close
                    .as_ref()
                    .map(|c| format!(" closes {c}"))
                    .unwrap_or_default()
            )
        }),
    );
    section(
        &mut t,
        "tasks",
        a.tasks.iter().map(|k| {
            let mark = if k.done { "x" } else { " " };
            let who = k
                .assignee
                .as_ref()
                .map(|u| format!(" @{u}"))
                .unwrap_or_default();
            let due = k
                .due
                .as_ref()
                .map(|d| format!(" due {d}"))
                .unwrap_or_default();
            format!("[{mark}] {}  {}{who}{due}", k.id, k.title)
        }),
    );
    section(
        &mut t,
        "timeline",
        a.timeline.iter().map(|e| {
            let alert = if e.alert.is_empty() {
                String::new()
            } else {
                format!(
                    "  -> {}",
                    e.alert
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            format!(
                "{}  {:<8} {} ({}){alert}\n      {}",
                e.at, e.kind, e.author, e.team, e.text
            )
        }),
    );
    t.trim_end().to_owned()
}

fn section(text: &mut String, title: &str, lines: impl Iterator<Item = String>) {
    let lines: Vec<String> = lines.collect();
    if lines.is_empty() {
        return;
    }
    text.push_str(&format!("  {title}\n"));
    for line in lines {
        text.push_str(&format!("    {line}\n"));
    }
}

/// Why a pair looks like one record, for people.
fn reasons(reasons: &[Reason]) -> String {
    let words: Vec<String> = reasons
        .iter()
        .map(|reason| match reason {
            Reason::SameDomain { domain } => format!("same domain {domain}"),
            Reason::SameName { name } => format!("same name \"{name}\""),
            Reason::SimilarName { similarity } => format!("similar names ({similarity:.2})"),
            Reason::SameEmail { email } => format!("same email {email}"),
        })
        .collect();
    words.join(", ")
}
