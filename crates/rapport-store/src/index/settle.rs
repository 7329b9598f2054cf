//! Keeping the alert rows in step with the workspace's alert rules.
//!
//! A rule fires for entries written from its creation on, so a rule that arrives after its
//! entries (a replica merged them first) must reach back to them, and a rule removed or changed
//! must let go of the alerts it raised. The rows were derived from the rules recorded under
//! [`ALERT_RULES_KEY`]; after a change to the workspace document the replica compares those with
//! the document's and rewrites the alerts of exactly the entries concerned:
//! - a rule added or changed: entries written since its creation, found by time in
//!   `entry_times` (every entry, for a rule that carries no time);
//! - a rule removed or changed: the entries it alerted, found by their reasons in `alerts`.
//!
//! That runs in a transaction of its own after the workspace change commits. The change marks
//! the rules due ([`ALERT_RULES_DUE_KEY`]) in its own transaction, so that a crash in between is
//! settled when the replica next opens.

use std::collections::{BTreeMap, BTreeSet};

use rapport_model::DocumentId;
use rapport_model::alert::rule::Rule;
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use super::{DOING, Derived, Reader, decode_alert, derived::rederive_entry_alerts};
use crate::error::{StorageContext, StoreError};
use crate::replica::Replica;
use crate::tables::{ALERT_RULES_DUE_KEY, ALERT_RULES_KEY, ALERTS, ENTRY_TIMES, META};

/// Rules by name, each as JSON: what the alert rows were derived from.
type RuleState = BTreeMap<String, String>;

/// Marks, in the transaction of a change to the workspace document, that the alert rows may
/// not follow its rules yet.
pub(crate) fn mark_alert_rules_due(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META)
        .doing(DOING)?
        .insert(ALERT_RULES_DUE_KEY, [].as_slice())
        .doing(DOING)?;
    Ok(())
}

/// Records that the alert rows follow `reader`'s rules (a rebuild derives every row from them).
pub(crate) fn record_alert_rules(
    txn: &WriteTransaction,
    reader: &Reader,
) -> Result<(), StoreError> {
    let json = encode_state(&state_of(reader.rules())?)?;
    let mut meta = txn.open_table(META).doing(DOING)?;
    meta.insert(ALERT_RULES_KEY, json.as_slice()).doing(DOING)?;
    meta.remove(ALERT_RULES_DUE_KEY).doing(DOING)?;
    Ok(())
}

impl Replica {
    /// Rewrites the alert rows a change of the workspace's rules concerns, when a workspace
    /// change marked them due; does nothing otherwise.
    pub(crate) fn settle_alert_rules(&mut self) -> Result<(), StoreError> {
        {
            let txn = self.db.begin_read().doing(DOING)?;
            let meta = txn.open_table(META).doing(DOING)?;
            if meta.get(ALERT_RULES_DUE_KEY).doing(DOING)?.is_none() {
                return Ok(());
            }
        }
        let txn = self.db.begin_write().doing(DOING)?;
        let recorded = {
            let meta = txn.open_table(META).doing(DOING)?;
            let recorded = meta.get(ALERT_RULES_KEY).doing(DOING)?;
            recorded.map(|json| decode_state(json.value()))
        };
        let before = match recorded {
            None => RuleState::new(),
            Some(Ok(state)) => state,
            Some(Err(error)) => {
                // Derived data: rebuilt from the documents rather than trusted.
                tracing::warn!(%error, "the record of the alert rules does not read; rebuilding the index");
                drop(txn);
                return self.rebuild_indexes();
            }
        };
        let reader = self.reader();
        let now = state_of(reader.rules())?;
        if before != now {
            let concerned = concerned_entries(&txn, reader.rules(), &before, &now)?;
            tracing::debug!(
                accounts = concerned.len(),
                "alert rules changed; rewriting their alerts"
            );
            let mut derived = Derived::open(&txn)?;
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
        }
        record_alert_rules(&txn, &reader)?;
        txn.commit().doing(DOING)?;
        Ok(())
    }
}

/// The entries whose alerts a change of rules from `before` to `now` may change, by account.
fn concerned_entries(
    txn: &WriteTransaction,
    rules: &[Rule],
    before: &RuleState,
    now: &RuleState,
) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let mut concerned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let new_or_changed = rules
        .iter()
        .filter(|rule| before.get(rule.name.as_str()) != now.get(rule.name.as_str()));
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
    let gone: BTreeSet<String> = before
        .iter()
        .filter(|(name, rule)| now.get(*name) != Some(*rule))
        .map(|(name, _)| format!("rule {name}"))
        .collect();
    if !gone.is_empty() {
        let alerts = txn.open_table(ALERTS).doing(DOING)?;
        for row in alerts.iter().doing(DOING)? {
            let (key, value) = row.doing(DOING)?;
            let record = decode_alert(value.value())?;
            if record.reasons.iter().any(|reason| gone.contains(reason)) {
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
