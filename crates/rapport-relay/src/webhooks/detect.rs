//! Finding what a change announces: the timeline entries it added that alert someone, each
//! turned into the JSON body of one event naming who it alerts and why.

use std::sync::Arc;

use automerge::{Automerge, ChangeHash};
use rapport_model::DocumentId;
use rapport_model::account::{self, EntryView};
use rapport_store::OutboxEvent;
use serde_json::json;

use super::audience::{self, Alerted, Audience};

/// One event per entry the document gained since `before` that announces (an `alert` list, a
/// mention of a member, a rule; see [`audience::announces`]), with the members `audience`
/// says it alerts. A document that is not an account, or whose entries do not read, announces
/// nothing (it is stored all the same). `audience` is asked for only when entries were added.
pub(super) fn alert_events(
    workspace: DocumentId,
    workspace_name: &str,
    account_id: DocumentId,
    doc: &Automerge,
    before: &[ChangeHash],
    audience: impl FnOnce() -> Arc<Audience>,
) -> Vec<OutboxEvent> {
    let added = match account::entries_added(doc, before) {
        Ok(added) => added,
        Err(error) => {
            tracing::debug!(document = %account_id, %error, "no webhook events: the timeline does not read");
            return Vec::new();
        }
    };
    if added.is_empty() {
        return Vec::new();
    }
    let audience = audience();
    let facts = account::alert_facts(doc);
    let announced: Vec<(EntryView, Vec<Alerted>)> = added
        .into_iter()
        .filter_map(|id| account::read_entry(doc, id).ok().flatten())
        .map(|entry| {
            let alerted = audience.alerted(&entry, &facts);
            (entry, alerted)
        })
        .filter(|(entry, alerted)| audience::announces(&entry.alert, alerted))
        .collect();
    if announced.is_empty() {
        return Vec::new();
    }
    let account_name = account::account_name(doc).unwrap_or_default();
    announced
        .into_iter()
        .map(|(entry, alerted)| {
            let mut event = OutboxEvent {
                workspace,
                account: account_id,
                entry: entry.id.to_string(),
                body: String::new(),
            };
            event.body = json!({
                "event": "alert",
                "id": event.id(),
                "workspace": { "id": workspace.to_string(), "name": workspace_name },
                "account": { "id": account_id.to_string(), "name": account_name },
                "entry": entry,
                "recipients": alerted,
            })
            .to_string();
            event
        })
        .collect()
}
