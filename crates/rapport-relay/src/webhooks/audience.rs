//! Whom an entry alerts, and why: the workspace's members and alert rules, read from its
//! workspace document, each member asked of [`alert::reasons`] as their own replica would.
//!
//! The hook keeps the audience between changes ([`AudienceCache`]): the hub hands it every
//! committed version of the workspace document, and a hub that has not seen one yet reads it
//! from the store once. A workspace document whose members do not read (a foreign shape)
//! leaves an audience of no one: entries then announce by their `alert` lists only.

use std::sync::Arc;

use automerge::Automerge;
use rapport_model::account::EntryView;
use rapport_model::alert::rule::Rule;
use rapport_model::alert::{self, AccountFacts, AlertReason, Recipient};
use rapport_model::workspace::{self, Member};
use rapport_model::{AlertTarget, DocumentId, UserName};
use serde::Serialize;

/// A workspace's members and alert rules, as of one version of its document.
#[derive(Debug, Default)]
pub(super) struct Audience {
    members: Vec<Member>,
    names: Vec<UserName>,
    rules: Vec<Rule>,
}

/// One member an entry alerts, with every reason, in the model's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(super) struct Alerted {
    pub(super) user: UserName,
    pub(super) reasons: Vec<AlertReason>,
}

impl Audience {
    /// The audience `doc`, the workspace document `workspace`, holds.
    pub(super) fn read(workspace: DocumentId, doc: &Automerge) -> Self {
        let members = workspace::members(doc).unwrap_or_else(|error| {
            tracing::warn!(%workspace, %error, "workspace members unreadable; webhooks announce alert lists only");
            Vec::new()
        });
        Self {
            names: members.iter().map(|m| m.user.clone()).collect(),
            members,
            rules: workspace::alert_rules(doc),
        }
    }

    /// Every member `entry` alerts on an account with `account`'s facts, in member order.
    pub(super) fn alerted(&self, entry: &EntryView, account: &AccountFacts) -> Vec<Alerted> {
        self.members
            .iter()
            .filter_map(|member| {
                let recipient = Recipient {
                    user: &member.user,
                    team: member.team,
                    members: &self.names,
                    rules: &self.rules,
                };
                let reasons = alert::reasons(entry, account, &recipient);
                (!reasons.is_empty()).then(|| Alerted {
                    user: member.user.clone(),
                    reasons,
                })
            })
            .collect()
    }
}

/// Whether an entry with the `alert` list `alert` is announced: the list is not empty (whoever
/// it names), or the entry alerts a member for a reason other than following. Following alone
/// announces nothing: a chat channel would otherwise hear every note on every followed account.
pub(super) fn announces(alert: &[AlertTarget], alerted: &[Alerted]) -> bool {
    !alert.is_empty()
        || alerted
            .iter()
            .flat_map(|a| &a.reasons)
            .any(|reason| *reason != AlertReason::Following)
}

/// The audience as of the workspace document's last commit through the hub, once known.
/// `generation` counts the commits, so that an audience read from the store while one
/// commits is not kept over the newer one.
#[derive(Debug, Default)]
pub(super) struct AudienceCache {
    pub(super) current: Option<Arc<Audience>>,
    pub(super) generation: u64,
}

impl AudienceCache {
    /// Keeps `audience` as the newest (`None`: read it again when next needed).
    pub(super) fn replace(&mut self, audience: Option<Arc<Audience>>) {
        self.current = audience;
        self.generation = self.generation.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use rapport_model::Team;

    use super::*;

    fn alerted(user: &str, reasons: Vec<AlertReason>) -> Alerted {
        Alerted {
            user: user.parse().unwrap_or_else(|_| panic!("bad name {user}")),
            reasons,
        }
    }

    #[test]
    fn following_alone_announces_nothing_but_any_other_reason_or_an_alert_list_does() {
        let followed = [alerted("mia", vec![AlertReason::Following])];
        assert!(!announces(&[], &followed));
        assert!(!announces(&[], &[]));
        let mentioned = [
            alerted("mia", vec![AlertReason::Following]),
            alerted("sue", vec![AlertReason::Mentioned]),
        ];
        assert!(announces(&[], &mentioned));
        let to_a_team_of_no_one = [AlertTarget::Team(Team::Marketing)];
        assert!(announces(&to_a_team_of_no_one, &[]));
    }
}
