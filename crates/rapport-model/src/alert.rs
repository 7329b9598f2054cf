//! Which timeline entries are alerts for whom, and why.
//!
//! An entry alerts a member for any of these [`AlertReason`]s, all read from document contents
//! (the entry, its account's fields and followers, the workspace's members and rules), so every
//! replica that holds the same documents derives the same inbox:
//! - `direct`: its `alert` list names `@user`;
//! - `team`: its `alert` list names the user's team;
//! - `mentioned`: its text mentions `@user` ([`mention`]);
//! - `following`: the user follows the account, and did when the entry was written;
//! - `rule NAME`: a workspace [`rule::Rule`] written before the entry matches it and targets the
//!   user.
//!
//! The author of an entry is never alerted by it, whatever the reason.
//!
//! Following and rules look at the entry's time, never at when a replica learned of the entry:
//! a follow or a rule reaches replicas in any order relative to the entries, and each must
//! derive the same inbox. The account's owner, tier and stage are read as they are now.
//!
//! What an inbox holds is therefore a function of the documents alone. Two consequences: a
//! removed rule keeps the alerts it raised (it stays in the workspace with its removal time,
//! see [`rule`]), while unfollowing an account mutes it, taking back what following raised.

pub mod mention;
pub mod rule;

use std::fmt;

use crate::account::EntryView;
use crate::vocab::{AlertTarget, Stage, Team, UserName};

use rule::{Rule, RuleName};

/// Whether `entry` alerts `user` of `team` by its `alert` list: it targets the user or the team,
/// and someone else wrote it (an alert never alerts its own author).
pub fn alerts(entry: &EntryView, user: &UserName, team: Team) -> bool {
    entry.author != *user && entry.alert.iter().any(|target| target.includes(user, team))
}

/// Why an entry alerts a member.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertReason {
    /// The entry's alert list names the member.
    Direct,
    /// The entry's alert list names the member's team.
    Team,
    /// The entry's text mentions the member.
    Mentioned,
    /// The member follows the entry's account.
    Following,
    /// A workspace rule fired.
    Rule(RuleName),
}

impl fmt::Display for AlertReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertReason::Direct => f.write_str("direct"),
            AlertReason::Team => f.write_str("team"),
            AlertReason::Mentioned => f.write_str("mentioned"),
            AlertReason::Following => f.write_str("following"),
            AlertReason::Rule(name) => write!(f, "rule {name}"),
        }
    }
}

impl serde::Serialize for AlertReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What rules and following need to know of an entry's account.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccountFacts {
    /// The `owner` field.
    pub owner: Option<String>,
    /// The `tier` field.
    pub tier: Option<String>,
    /// The lifecycle stage.
    pub stage: Option<Stage>,
    /// The members following the account, by name.
    pub followers: Vec<Follower>,
}

impl AccountFacts {
    /// Whether `user` followed the account when an entry written at `at` was written. A follow
    /// of unknown time (a foreign peer's) counts for every entry.
    pub fn follows(&self, user: &UserName, at: jiff::Timestamp) -> bool {
        self.followers
            .iter()
            .any(|f| f.user == *user && f.since.is_none_or(|since| since <= at))
    }
}

/// A member following an account, and since when.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Follower {
    /// The member.
    pub user: UserName,
    /// When they followed; `None` when the document does not say in a form read here.
    pub since: Option<jiff::Timestamp>,
}

/// The member an inbox is for, and the workspace's members and rules.
#[derive(Clone, Copy, Debug)]
pub struct Recipient<'a> {
    /// The member.
    pub user: &'a UserName,
    /// Their team.
    pub team: Team,
    /// The workspace's members (mentions of other names are ignored).
    pub members: &'a [UserName],
    /// The workspace's alert rules.
    pub rules: &'a [Rule],
}

/// Every reason `entry` on an account with `account`'s fields alerts `recipient`, in the order of
/// [`AlertReason`]; empty when it does not (always empty for the entry's own author).
pub fn reasons(
    entry: &EntryView,
    account: &AccountFacts,
    recipient: &Recipient<'_>,
) -> Vec<AlertReason> {
    let user = recipient.user;
    if entry.author == *user {
        return Vec::new();
    }
    let mut out = Vec::new();
    if entry.alert.contains(&AlertTarget::User(user.clone())) {
        out.push(AlertReason::Direct);
    }
    if entry.alert.contains(&AlertTarget::Team(recipient.team)) {
        out.push(AlertReason::Team);
    }
    if mention::mentioned_members(&entry.text, recipient.members).contains(&user) {
        out.push(AlertReason::Mentioned);
    }
    if account.follows(user, entry.at) {
        out.push(AlertReason::Following);
    }
    for rule in recipient.rules {
        if rule.matches(entry, account) && rule.targets(entry, account, user, recipient.team) {
            out.push(AlertReason::Rule(rule.name.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::rule::{RuleCondition, RuleTarget};
    use super::*;
    use crate::id::EntryId;
    use crate::vocab::EntryKind;

    fn name(text: &str) -> UserName {
        text.parse().unwrap_or_else(|_| panic!("bad name {text}"))
    }

    fn entry(author: &str, kind: EntryKind, team: Team, text: &str) -> EntryView {
        EntryView {
            id: EntryId::new(),
            kind,
            team,
            author: name(author),
            at: jiff::Timestamp::UNIX_EPOCH,
            text: text.to_owned(),
            alert: Vec::new(),
        }
    }

    fn gold_tickets() -> Result<Rule, Box<dyn std::error::Error>> {
        let when = RuleCondition {
            kind: Some(EntryKind::Ticket),
            tier: Some(" Gold ".to_owned()),
            ..RuleCondition::default()
        };
        Ok(Rule::new(
            "gold-tickets".parse()?,
            when,
            RuleTarget::parse_list("owner,followers")?,
        )?)
    }

    fn gold_account(owner: &str, followers: &[&str]) -> AccountFacts {
        AccountFacts {
            owner: Some(owner.to_owned()),
            tier: Some("gold".to_owned()),
            stage: Some(Stage::Customer),
            followers: followers
                .iter()
                .map(|f| Follower {
                    user: name(f),
                    since: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_rule_matches_only_when_every_condition_holds() -> Result<(), Box<dyn std::error::Error>> {
        let rule = gold_tickets()?;
        let ticket = entry("sam", EntryKind::Ticket, Team::Support, "down");
        let gold = gold_account("ana", &[]);
        assert!(rule.matches(&ticket, &gold));
        let silver = AccountFacts {
            tier: Some("silver".into()),
            ..gold.clone()
        };
        assert!(!rule.matches(&ticket, &silver));
        assert!(!rule.matches(&ticket, &AccountFacts::default()));
        let note = entry("sam", EntryKind::Note, Team::Support, "down");
        assert!(!rule.matches(&note, &gold));
        Ok(())
    }

    #[test]
    fn rules_need_a_condition_and_a_known_target() -> Result<(), Box<dyn std::error::Error>> {
        let blank_tier = RuleCondition {
            tier: Some("  ".into()),
            ..RuleCondition::default()
        };
        let targets = vec![RuleTarget::Owner];
        assert!(Rule::new("r".parse()?, blank_tier, targets).is_err());
        assert!(RuleTarget::parse_list("owner,boss").is_err());
        assert!(RuleTarget::parse_list(" , ").is_err());
        assert!(RuleTarget::parse_list("@not a name").is_err());
        assert!("bad name".parse::<RuleName>().is_err());
        let list = RuleTarget::parse_list("owner, followers,support,@ana,owner")?;
        assert_eq!(RuleTarget::join(&list), "owner,followers,support,@ana");
        Ok(())
    }

    #[test]
    fn reasons_name_each_way_an_entry_reaches_a_member() -> Result<(), Box<dyn std::error::Error>> {
        let rules = [gold_tickets()?];
        let members = [name("ana"), name("bo"), name("sam")];
        let account = gold_account("ana", &["ana", "bo"]);
        let mut ticket = entry("sam", EntryKind::Ticket, Team::Support, "@ana look");
        ticket.alert = vec![AlertTarget::Team(Team::Sales)];
        let ana = Recipient {
            user: &members[0],
            team: Team::Sales,
            members: &members,
            rules: &rules,
        };
        let words: Vec<String> = reasons(&ticket, &account, &ana)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            words,
            ["team", "mentioned", "following", "rule gold-tickets"]
        );
        let bo = Recipient {
            user: &members[1],
            team: Team::Marketing,
            ..ana
        };
        let words: Vec<String> = reasons(&ticket, &account, &bo)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(words, ["following", "rule gold-tickets"]);
        Ok(())
    }

    #[test]
    fn rules_and_follows_count_only_for_entries_written_since()
    -> Result<(), Box<dyn std::error::Error>> {
        let at = |ms| jiff::Timestamp::from_millisecond(ms);
        let rules = [gold_tickets()?.created_at(at(1_000)?)];
        let members = [name("ana"), name("bo")];
        let mut account = gold_account("ana", &[]);
        account.followers = vec![Follower {
            user: name("bo"),
            since: Some(at(2_000)?),
        }];
        let reasons_at = |ms, user: &UserName| -> Result<Vec<String>, jiff::Error> {
            let mut ticket = entry("sam", EntryKind::Ticket, Team::Support, "down");
            ticket.at = at(ms)?;
            let recipient = Recipient {
                user,
                team: Team::Sales,
                members: &members,
                rules: &rules,
            };
            Ok(reasons(&ticket, &account, &recipient)
                .iter()
                .map(ToString::to_string)
                .collect())
        };
        assert!(reasons_at(999, &members[0])?.is_empty(), "before the rule");
        assert_eq!(reasons_at(1_000, &members[0])?, ["rule gold-tickets"]);
        assert!(
            reasons_at(1_999, &members[1])?.is_empty(),
            "before bo followed"
        );
        assert_eq!(
            reasons_at(2_000, &members[1])?,
            ["following", "rule gold-tickets"]
        );
        Ok(())
    }

    #[test]
    fn an_author_is_never_alerted_by_their_own_entry() {
        let members = [name("ana")];
        let account = gold_account("ana", &["ana"]);
        let mut own = entry("ana", EntryKind::Ticket, Team::Sales, "note to @ana");
        own.alert = vec![AlertTarget::User(name("ana"))];
        let ana = Recipient {
            user: &members[0],
            team: Team::Sales,
            members: &members,
            rules: &[],
        };
        assert!(reasons(&own, &account, &ana).is_empty());
    }

    #[test]
    fn a_mention_of_someone_who_is_not_a_member_alerts_no_one() {
        let members = [name("ana")];
        let stranger = name("zed");
        let note = entry("ana", EntryKind::Note, Team::Sales, "@zed hello");
        let zed = Recipient {
            user: &stranger,
            team: Team::Sales,
            members: &members,
            rules: &[],
        };
        assert!(reasons(&note, &AccountFacts::default(), &zed).is_empty());
    }
}
