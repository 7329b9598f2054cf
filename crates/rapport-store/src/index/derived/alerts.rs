//! The alert rows of an account's entries: written when an entry alerts this replica's user,
//! rewritten when what its alerts read of the account changes, and the acknowledgement each
//! keeps.

use std::collections::BTreeSet;

use automerge::Automerge;
use rapport_model::account::{self, EntryView};
use rapport_model::alert::AccountFacts;
use rapport_model::{DocumentId, EntryId, UserName, alert};
use redb::ReadableTable;

use super::{Derived, EntriesOf, Rows};
use crate::error::{StorageContext, StoreError};
use crate::index::{AlertRecord, DOING, Reader, decode_alert, encode_alert};

/// Writes the alert row of entry `entry_key` when it alerts this replica's user (`entry` as it
/// now reads, `None` when gone or not readable), and removes it when it does not.
pub(super) fn set_alert(
    derived: &mut Derived<'_>,
    account: &EntriesOf<'_>,
    entry_key: &str,
    entry: Option<EntryView>,
    rows: Rows,
) -> Result<(), StoreError> {
    let reader = account.reader;
    let reasons = entry.as_ref().map_or_else(Vec::new, |e| {
        alert::reasons(e, account.facts, &reader.recipient())
    });
    match entry.filter(|_| !reasons.is_empty()) {
        Some(entry) => {
            let acknowledged =
                account::is_acknowledged(account.doc, &reader.user, entry.id).unwrap_or(false);
            let record = AlertRecord {
                id: entry.id.to_string(),
                account: account.id,
                kind: entry.kind.to_string(),
                team: entry.team.to_string(),
                author: entry.author.to_string(),
                at: entry.at,
                text: entry.text,
                alert: entry.alert.iter().map(ToString::to_string).collect(),
                reasons: reasons.iter().map(ToString::to_string).collect(),
                acknowledged,
            };
            let json = encode_alert(&record)?;
            derived
                .alerts
                .insert((account.key, entry_key), json.as_slice())
                .doing(DOING)?;
        }
        None if rows == Rows::Cleared => {}
        None => {
            derived
                .alerts
                .remove((account.key, entry_key))
                .doing(DOING)?;
        }
    }
    Ok(())
}

/// Records what the account's alerts read of it; returns whether that changed.
pub(super) fn put_alert_facts(
    derived: &mut Derived<'_>,
    account_key: &str,
    facts: &AccountFacts,
) -> Result<bool, StoreError> {
    let json = serde_json::to_vec(facts).map_err(|e| StoreError::DamagedIndex {
        table: "alert_facts",
        reason: e.to_string(),
    })?;
    let same = derived
        .alert_facts
        .get(account_key)
        .doing(DOING)?
        .is_some_and(|old| old.value() == json.as_slice());
    if !same {
        derived
            .alert_facts
            .insert(account_key, json.as_slice())
            .doing(DOING)?;
    }
    Ok(!same)
}

/// Rewrites the alert row of every entry of the account: its owner, tier, stage or followers
/// changed, and with them whom its entries alert.
pub(super) fn rederive_alerts(
    derived: &mut Derived<'_>,
    account: &EntriesOf<'_>,
) -> Result<(), StoreError> {
    let id = account.id;
    let entries =
        account::each_entry(account.doc).map_err(|source| StoreError::Shape { id, source })?;
    for (item, entry) in entries {
        set_alert(derived, account, &item, entry.ok(), Rows::MayHold)?;
    }
    Ok(())
}

/// Rewrites the alert rows of `entries` of account `id` (a rule that reads them changed). An
/// account merged into another keeps no rows, and gets none here.
pub(crate) fn rederive_entry_alerts(
    derived: &mut Derived<'_>,
    doc: &Automerge,
    id: DocumentId,
    entries: &BTreeSet<String>,
    reader: &Reader,
) -> Result<(), StoreError> {
    let key = id.to_string();
    if derived.merged.get(key.as_str()).doing(DOING)?.is_some() {
        return Ok(());
    }
    let facts = account::alert_facts(doc);
    let account = EntriesOf {
        doc,
        id,
        key: &key,
        facts: &facts,
        reader,
    };
    for entry_key in entries {
        let entry = entry_key
            .parse::<EntryId>()
            .ok()
            .and_then(|entry| account::read_entry(doc, entry).ok().flatten());
        set_alert(derived, &account, entry_key, entry, Rows::MayHold)?;
    }
    Ok(())
}

pub(super) fn refresh_acknowledgement(
    derived: &mut Derived<'_>,
    doc: &Automerge,
    account_key: &str,
    entry: &str,
    user: &UserName,
) -> Result<(), StoreError> {
    let record = match derived.alerts.get((account_key, entry)).doing(DOING)? {
        Some(json) => decode_alert(json.value())?,
        None => return Ok(()),
    };
    let Ok(entry_id) = entry.parse::<EntryId>() else {
        return Ok(());
    };
    let acknowledged = account::is_acknowledged(doc, user, entry_id).unwrap_or(false);
    if acknowledged != record.acknowledged {
        let json = encode_alert(&AlertRecord {
            acknowledged,
            ..record
        })?;
        derived
            .alerts
            .insert((account_key, entry), json.as_slice())
            .doing(DOING)?;
    }
    Ok(())
}
