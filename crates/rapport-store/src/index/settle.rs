//! Keeping the alert rows in step with the workspace's alert rules.
//!
//! A rule fires for entries written from its creation until its removal, so a rule that arrives
//! after its entries (a replica merged them first) must reach back to them, and a rule changed
//! must let go of what it no longer covers. The rows were derived from the rules recorded under
//! [`ALERT_RULES_KEY`]; whenever the workspace document is written, the replica compares those
//! with the document's, in the same transaction, and rewrites the alerts of exactly the entries
//! concerned:
//! - a rule added or changed: entries written since its creation, found by time in
//!   `entry_times` (every entry, for a rule that carries no time);
//! - a rule changed or gone: the entries it alerted, found by their reasons in `alerts`.
//!
//! Nothing else is written when the rules did not change (the usual workspace change lists a
//! new account).

use std::collections::{BTreeMap, BTreeSet};

use rapport_model::DocumentId;
use rapport_model::alert::rule::Rule;
use redb::{ReadableTable, WriteTransaction};

use super::{DOING, Derived, Reader, decode_alert, derived::rederive_entry_alerts};
use crate::error::{StorageContext, StoreError};
use crate::replica::Replica;
use crate::tables::{ALERT_RULES_KEY, ALERTS, ENTRY_TIMES, META};

/// Rules by name, each as JSON: what the alert rows were derived from.
type RuleState = BTreeMap<String, String>;

/// Records, in a rebuild's transaction, that the alert rows follow `reader`'s rules.
pub(crate) fn record_alert_rules(
    txn: &WriteTransaction,
    reader: &Reader,
) -> Result<(), StoreError> {
    record(txn, &state_of(reader.rules())?)
}

impl Replica {
    /// Rewrites, in `txn`, the alert rows that going from the rules they were derived from to
    /// `rules` (the workspace document's) concerns, and records `rules` as theirs. Reads the
    /// documents concerned as they are committed or in memory.
    pub(crate) fn settle_alert_rules(
        &mut self,
        txn: &WriteTransaction,
        rules: Vec<Rule>,
    ) -> Result<(), StoreError> {
        let now = state_of(&rules)?;
        let before = {
            let meta = txn.open_table(META).doing(DOING)?;
            let recorded = meta.get(ALERT_RULES_KEY).doing(DOING)?;
            match recorded.map(|json| decode_state(json.value())) {
                None => Some(RuleState::new()),
                Some(Ok(state)) => Some(state),
                Some(Err(error)) => {
                    // Derived data: every rule's alerts are rederived rather than trusted.
                    tracing::warn!(%error, "the record of the alert rules does not read; rederiving what rules raised");
                    None
                }
            }
        };
        if before.as_ref() == Some(&now) {
            return Ok(());
        }
        let concerned = concerned_entries(txn, &rules, before.as_ref(), &now)?;
        tracing::debug!(
            accounts = concerned.len(),
            "alert rules changed; rewriting their alerts"
        );
        let reader = Reader::new(self.user.clone(), self.team, rules);
        let mut derived = Derived::open(txn)?;
        for (account, entries) in concerned {
            let Ok(id) = account.parse::<DocumentId>() else {
                continue;
            };
            let doc = match self.document(id) {
                Ok(doc) => doc,
                Err(StoreError::DamagedDocument { id, source }) => {
                    tracing::warn!(document = %id, error = %source, "left a damaged document's alerts as they were");
                    continue;
                }
                Err(other) => return Err(other),
            };
            rederive_entry_alerts(&mut derived, doc, id, &entries, &reader)?;
        }
        drop(derived);
        record(txn, &now)
    }
}

fn record(txn: &WriteTransaction, state: &RuleState) -> Result<(), StoreError> {
    let json = encode_state(state)?;
    txn.open_table(META)
        .doing(DOING)?
        .insert(ALERT_RULES_KEY, json.as_slice())
        .doing(DOING)?;
    Ok(())
}

/// The entries whose alerts a change of rules from `before` (`None`: not known) to `now` may
/// change, by account.
fn concerned_entries(
    txn: &WriteTransaction,
    rules: &[Rule],
    before: Option<&RuleState>,
    now: &RuleState,
) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let mut concerned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let was = |name: &str| before.and_then(|before| before.get(name));
    let new_or_changed = rules
        .iter()
        .filter(|rule| was(rule.name.as_str()) != now.get(rule.name.as_str()));
    // Entries written since the earliest such rule: a rule never fires for older ones.
    let since = new_or_changed
        .map(|rule| rule.created.map_or(i64::MIN, |at| at.as_millisecond()))
        .min();
    if let Some(since) = since {
        let times = txn.open_table(ENTRY_TIMES).doing(DOING)?;
        for row in times.range((since, "", "")..).doing(DOING)? {
            let (key, _) = row.doing(DOING)?;
            let (_, account, entry) = key.value();
            concerned
                .entry(account.to_owned())
                .or_default()
                .insert(entry.to_owned());
        }
    }
    // What a rule changed or gone raised; every rule's, when the record is not known.
    let gone: Option<BTreeSet<String>> = before.map(|before| {
        before
            .iter()
            .filter(|(name, rule)| now.get(*name) != Some(*rule))
            .map(|(name, _)| format!("rule {name}"))
            .collect()
    });
    let raised_by_gone = |reason: &String| match &gone {
        Some(gone) => gone.contains(reason),
        None => reason.starts_with("rule "),
    };
    if gone.as_ref().is_none_or(|gone| !gone.is_empty()) {
        let alerts = txn.open_table(ALERTS).doing(DOING)?;
        for row in alerts.iter().doing(DOING)? {
            let (key, value) = row.doing(DOING)?;
            let record = decode_alert(value.value())?;
            if record.reasons.iter().any(raised_by_gone) {
                let (account, entry) = key.value();
                concerned
                    .entry(account.to_owned())
                    .or_default()
                    .insert(entry.to_owned());
            }
        }
    }
    Ok(concerned)
}

fn state_of(rules: &[Rule]) -> Result<RuleState, StoreError> {
    rules
        .iter()
        .map(|rule| {
            let json = serde_json::to_string(rule).map_err(|e| damaged(e.to_string()))?;
            Ok((rule.name.to_string(), json))
        })
        .collect()
}

fn encode_state(state: &RuleState) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(state).map_err(|e| damaged(e.to_string()))
}

fn decode_state(bytes: &[u8]) -> Result<RuleState, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))
}

fn damaged(reason: String) -> StoreError {
    StoreError::DamagedIndex {
        table: "meta",
        reason,
    }
}
