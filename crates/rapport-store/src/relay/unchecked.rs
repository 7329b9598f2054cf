//! Documents a member pushed whole that the relay has stored but not loaded yet.
//!
//! Loading a document checks every change hash in it, which costs about half a millisecond for
//! a small account: a push of ten thousand of them would wait seconds for it. So the relay
//! stores such a document as the bytes came, with the heads the member said they hold, and a
//! mark in [`UNCHECKED`]; its workspace hub loads it later, or before anything else uses it, and
//! either keeps it (removing the mark) or, when it does not load or holds other heads than were
//! claimed, removes it again. The mark is in the same transaction as the rows, so a restart
//! finds every document still to check.

use automerge::ChangeHash;
use rapport_model::DocumentId;
use redb::{ReadableDatabase, TableDefinition};

use crate::error::{StorageContext, StoreError};
use crate::relay::{RelayStore, StoredDocument, key, parse_id, webhooks};
use crate::rows;

/// `workspace/document` -> nothing: stored as a member pushed it, not loaded since.
pub(super) const UNCHECKED: TableDefinition<&str, ()> = TableDefinition::new("unchecked");

/// What loading an unchecked document found ([`RelayStore::settle_unchecked`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// It loads to the heads it was stored with: it stays.
    Kept(DocumentId),
    /// It does not: its rows go.
    Discarded(DocumentId),
}

impl RelayStore {
    /// Stores documents new to `workspace` as the bytes a member sent and the heads it says
    /// they hold, each marked unchecked, in one durable transaction. As with
    /// [`RelayStore::import`], the caller makes sure none of them is stored yet, and goes
    /// through the workspace hub, which checks them afterwards.
    pub fn import_unchecked(
        &self,
        workspace: DocumentId,
        documents: &[(DocumentId, &[u8], &[ChangeHash])],
    ) -> Result<(), StoreError> {
        self.with_db(|db| {
            let doing = "storing pushed documents";
            let txn = db.begin_write().doing(doing)?;
            {
                let mut marks = txn.open_table(UNCHECKED).doing(doing)?;
                for (id, bytes, heads) in documents {
                    if heads.is_empty() {
                        continue;
                    }
                    let key = key(workspace, *id);
                    rows::replace_with_snapshot(&txn, &key, bytes, heads)?;
                    marks.insert(key.as_str(), ()).doing(doing)?;
                }
            }
            txn.commit().doing(doing)?;
            Ok(())
        })
    }

    /// Loads unchecked document `id` of `workspace`, which checks it: the heads it was stored
    /// with, and the document, or why it does not load (which is the member's fault, not the
    /// disk's: nothing is logged or moved aside here). Automerge panicking on its bytes counts
    /// as not loading.
    pub fn load_unchecked(
        &self,
        workspace: DocumentId,
        id: DocumentId,
    ) -> Result<(Vec<ChangeHash>, Result<StoredDocument, String>), StoreError> {
        let key = key(workspace, id);
        self.with_db(|db| {
            let txn = db.begin_read().doing("loading a pushed document")?;
            let claimed = rows::heads(&txn, &key)?.unwrap_or_default();
            let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rows::load(&txn, &key, id)
            }));
            let loaded = match loaded {
                Ok(Ok(Some((doc, stored)))) => Ok(StoredDocument::loaded(doc, stored)),
                Ok(Ok(None)) => Err("it has no rows".to_owned()),
                Ok(Err(StoreError::DamagedDocument { source, .. })) => Err(source.to_string()),
                Ok(Err(other)) => return Err(other),
                Err(_) => Err("Automerge failed reading it".to_owned()),
            };
            Ok((claimed, loaded))
        })
    }

    /// The documents of `workspace` still unchecked.
    pub fn unchecked(&self, workspace: DocumentId) -> Result<Vec<DocumentId>, StoreError> {
        let prefix = format!("{workspace}/");
        Ok(self
            .unchecked_keys(&prefix)?
            .into_iter()
            .map(|(_, id)| id)
            .collect())
    }

    /// Every workspace that has an unchecked document, once each.
    pub fn workspaces_unchecked(&self) -> Result<Vec<DocumentId>, StoreError> {
        let mut workspaces: Vec<DocumentId> = self
            .unchecked_keys("")?
            .into_iter()
            .map(|(workspace, _)| workspace)
            .collect();
        workspaces.sort_unstable();
        workspaces.dedup();
        Ok(workspaces)
    }

    /// The marks under `prefix`, as (workspace, document).
    fn unchecked_keys(&self, prefix: &str) -> Result<Vec<(DocumentId, DocumentId)>, StoreError> {
        self.with_db(|db| {
            let doing = "listing unchecked documents";
            let txn = db.begin_read().doing(doing)?;
            let table = txn.open_table(UNCHECKED).doing(doing)?;
            let mut found = Vec::new();
            for row in table.range(prefix..).doing(doing)? {
                let (k, _) = row.doing(doing)?;
                let k = k.value();
                if !k.starts_with(prefix) {
                    break;
                }
                let Some((workspace, id)) = k.split_once('/') else {
                    return Err(StoreError::DamagedIndex {
                        table: "unchecked",
                        reason: format!("'{k}' is not workspace/document"),
                    });
                };
                found.push((
                    parse_id(workspace, "unchecked")?,
                    parse_id(id, "unchecked")?,
                ));
            }
            Ok(found)
        })
    }

    /// Records what checking documents of `workspace` found, in one durable transaction: the
    /// kept lose their mark, the discarded lose their rows too, and `events` (the webhook
    /// events of the kept) are recorded. A document no longer marked was settled by someone
    /// else first: it is left as it is, and its events are not recorded again.
    pub fn settle_unchecked(
        &self,
        workspace: DocumentId,
        checked: &[Checked],
        events: &[webhooks::OutboxEvent],
    ) -> Result<(), StoreError> {
        self.with_db(|db| {
            let doing = "recording checked documents";
            let txn = db.begin_write().doing(doing)?;
            let mut settled = std::collections::HashSet::new();
            {
                let mut marks = txn.open_table(UNCHECKED).doing(doing)?;
                for outcome in checked {
                    let (Checked::Kept(id) | Checked::Discarded(id)) = *outcome;
                    let key = key(workspace, id);
                    // A document checked twice (by a load and by the hub's checker) is
                    // settled by whichever came first.
                    if marks.remove(key.as_str()).doing(doing)?.is_none() {
                        continue;
                    }
                    match outcome {
                        Checked::Kept(_) => {
                            settled.insert(id);
                        }
                        Checked::Discarded(_) => rows::remove(&txn, &key)?,
                    }
                }
            }
            let events: Vec<_> = events
                .iter()
                .filter(|e| settled.contains(&e.account))
                .cloned()
                .collect();
            if !events.is_empty() {
                webhooks::enqueue(&txn, &events, self.outbox_limit)?;
            }
            txn.commit().doing(doing)?;
            Ok(())
        })
    }
}
