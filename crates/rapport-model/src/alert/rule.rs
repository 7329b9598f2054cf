//! Workspace alert rules: "a ticket on a gold-tier account alerts its owner and followers".
//!
//! A rule is a condition on an entry and its account (entry kind, author's team, account tier,
//! account stage; every condition given must hold) and the targets it alerts. Rules live in the
//! workspace document; see [`crate::workspace::rules`].
//!
//! A rule fires for entries written from its creation until its removal, by the entries' own
//! times: whether a replica merged an entry before or after the rule (or its removal) reached
//! it, the answer is the same, and removing a rule keeps the alerts it raised.

use std::fmt;
use std::str::FromStr;

use crate::account::EntryView;
use crate::error::InvalidInput;
use crate::vocab::{EntryKind, Stage, Team, UserName};

use super::AccountFacts;

/// A rule's name: 1 to 64 letters, digits, `.`, `_` or `-`; unique in its workspace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleName(String);

impl RuleName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RuleName {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid_char = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-');
        if text.is_empty() || text.chars().count() > 64 || !text.chars().all(valid_char) {
            return Err(InvalidInput::RuleName {
                text: text.to_owned(),
            });
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl serde::Serialize for RuleName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Whom a rule alerts.
///
/// Written `owner`, `followers`, a team (`support`) or `@user`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleTarget {
    /// The member the account's `owner` field names.
    Owner,
    /// Every member following the account.
    Followers,
    /// Every member of a team.
    Team(Team),
    /// One member.
    User(UserName),
}

impl RuleTarget {
    /// Parses a comma-separated list such as `owner,followers,support,@ana`: at least one
    /// target, each once.
    pub fn parse_list(text: &str) -> Result<Vec<RuleTarget>, InvalidInput> {
        let mut targets: Vec<RuleTarget> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let target = part.parse()?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        if targets.is_empty() {
            return Err(InvalidInput::Empty {
                what: "a rule's alert list",
            });
        }
        Ok(targets)
    }

    /// The list as [`RuleTarget::parse_list`] reads it.
    pub fn join(targets: &[RuleTarget]) -> String {
        let words: Vec<String> = targets.iter().map(ToString::to_string).collect();
        words.join(",")
    }
}

impl FromStr for RuleTarget {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidInput::RuleTarget {
            text: text.to_owned(),
        };
        match text {
            "owner" => Ok(RuleTarget::Owner),
            "followers" => Ok(RuleTarget::Followers),
            _ => match text.strip_prefix('@') {
                Some(user) => user.parse().map(RuleTarget::User).map_err(|_| invalid()),
                None => text.parse().map(RuleTarget::Team).map_err(|_| invalid()),
            },
        }
    }
}

impl fmt::Display for RuleTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleTarget::Owner => f.write_str("owner"),
            RuleTarget::Followers => f.write_str("followers"),
            RuleTarget::Team(team) => write!(f, "{team}"),
            RuleTarget::User(user) => write!(f, "@{user}"),
        }
    }
}

impl serde::Serialize for RuleTarget {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// When a rule fires: every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RuleCondition {
    /// The entry's kind.
    pub kind: Option<EntryKind>,
    /// The account's tier, compared without regard to case or surrounding blanks.
    pub tier: Option<String>,
    /// The account's lifecycle stage.
    pub stage: Option<Stage>,
    /// The entry author's team.
    pub team: Option<Team>,
}

impl RuleCondition {
    fn is_empty(&self) -> bool {
        *self == RuleCondition::default()
    }
}

/// A workspace alert rule.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// Its name.
    pub name: RuleName,
    /// When it fires.
    pub when: RuleCondition,
    /// Whom it alerts.
    pub alert: Vec<RuleTarget>,
    /// When it was written: it fires for entries written from then on. `None` (a rule written
    /// before rules carried their time, or by a foreign peer) fires for every entry.
    pub created: Option<jiff::Timestamp>,
    /// When it was removed: it fires for no entry written from then on. A removed rule stays in
    /// the workspace document for the alerts it raised, and is listed nowhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<jiff::Timestamp>,
}

impl Rule {
    /// A rule with at least one condition (a rule without one would alert on every entry of
    /// every account) and at least one target. A blank tier counts as no condition.
    pub fn new(
        name: RuleName,
        mut when: RuleCondition,
        alert: Vec<RuleTarget>,
    ) -> Result<Rule, InvalidInput> {
        when.tier = when
            .tier
            .map(|tier| tier.trim().to_owned())
            .filter(|tier| !tier.is_empty());
        if when.is_empty() {
            return Err(InvalidInput::RuleWithoutCondition {
                name: name.to_string(),
            });
        }
        if alert.is_empty() {
            return Err(InvalidInput::Empty {
                what: "a rule's alert list",
            });
        }
        Ok(Rule {
            name,
            when,
            alert,
            created: None,
            removed: None,
        })
    }

    /// The rule as written at `at`: it fires for entries written from then on.
    pub fn created_at(self, at: jiff::Timestamp) -> Rule {
        Rule {
            created: Some(at),
            ..self
        }
    }

    /// The rule as removed at `at`: it fires for no entry written from then on.
    pub fn removed_at(self, at: jiff::Timestamp) -> Rule {
        Rule {
            removed: Some(at),
            ..self
        }
    }

    /// Whether `other` fires on the same entries for the same people, whenever either was
    /// written: the same conditions and the same targets, in any order.
    pub fn same_conditions_and_targets(&self, other: &Rule) -> bool {
        let sorted = |rule: &Rule| {
            let mut targets = rule.alert.clone();
            targets.sort();
            targets
        };
        self.when == other.when && sorted(self) == sorted(other)
    }

    /// Whether `entry`, on an account with `account`'s fields, meets every condition and was
    /// written while the rule stood.
    pub fn matches(&self, entry: &EntryView, account: &AccountFacts) -> bool {
        let when = &self.when;
        let not_older = self.created.is_none_or(|created| entry.at >= created)
            && self.removed.is_none_or(|removed| entry.at < removed);
        let same_tier = |wanted: &String| {
            account
                .tier
                .as_deref()
                .is_some_and(|tier| tier.trim().to_lowercase() == wanted.to_lowercase())
        };
        not_older
            && when.kind.is_none_or(|kind| kind == entry.kind)
            && when.team.is_none_or(|team| team == entry.team)
            && when.stage.is_none_or(|stage| account.stage == Some(stage))
            && when.tier.as_ref().is_none_or(same_tier)
    }

    /// Whether the rule's targets include `user` of `team` for `entry` on an account with
    /// `account`'s owner and followers (a follower counts for entries written since they
    /// followed).
    pub fn targets(
        &self,
        entry: &EntryView,
        account: &AccountFacts,
        user: &UserName,
        team: Team,
    ) -> bool {
        self.alert.iter().any(|target| match target {
            RuleTarget::Owner => account.owner.as_deref() == Some(user.as_str()),
            RuleTarget::Followers => account.follows(user, entry.at),
            RuleTarget::Team(t) => *t == team,
            RuleTarget::User(u) => u == user,
        })
    }
}
