//! Finding what a change announces: the timeline entries it added that alert someone, each
//! turned into the JSON body of one event.

use automerge::{Automerge, ChangeHash};
use rapport_model::DocumentId;
use rapport_model::account::{self, EntryView};
use rapport_store::OutboxEvent;
use serde_json::json;

/// One event per entry the document gained since `before` with a non-empty `alert` list. A
/// document that is not an account, or whose entries do not read, announces nothing (it is
/// stored all the same).
pub(super) fn alert_events(
    workspace: DocumentId,
    workspace_name: &str,
    account_id: DocumentId,
    doc: &Automerge,
    before: &[ChangeHash],
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
    let alerting: Vec<EntryView> = added
        .into_iter()
        .filter_map(|id| account::read_entry(doc, id).ok().flatten())
        .filter(|entry| !entry.alert.is_empty())
        .collect();
    if alerting.is_empty() {
        return Vec::new();
    }
    let account_name = account::account_name(doc).unwrap_or_default();
    alerting
        .into_iter()
        .map(|entry| {
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
            })
            .to_string();
            event
        })
        .collect()
}
