//! Merged accounts: merging one account into another, the forwarding copy that keeps whatever a
//! merged account gains later (an offline replica's note) on the account that stands for it,
//! the index rows that send readers of a merged account there, and duplicate detection from
//! the index.
//!
//! Who stands for an account is read from the documents alone (`merged_into`, followed to the
//! end; a loop ends at its smallest id), so every replica decides the same. Copies keep their
//! keys, so forwarding twice, or on two replicas at once, converges to one copy.

mod contacts;

use std::collections::BTreeSet;

use automerge::Automerge;
use rapport_model::account::{self, ContactView, merge};
use rapport_model::duplicates::{self, AccountPair, AccountRow, ContactPair, ContactRow};
use rapport_model::{DocumentId, Edit, Touched};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use serde::Serialize;

use crate::documents::PendingChange;
use crate::error::{StorageContext, StoreError};
use crate::index::{Derived, index_or_leave_out};
use crate::replica::Replica;
use crate::tables::{ACCOUNTS, CONTACT_ROWS, MERGED};

pub use contacts::ContactMerge;

const DOING: &str = "indexing merged accounts";
const READING: &str = "reading merged accounts";

/// Likely duplicates among the accounts and contacts of a replica.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Duplicates {
    /// Pairs of accounts.
    pub accounts: Vec<AccountPair>,
    /// Pairs of contacts.
    pub contacts: Vec<ContactPair>,
}

impl Replica {
    /// Merges account `other` into `keep`, in one durable commit: `keep` gets copies (under the
    /// same ids) of every contact, deal, task, timeline entry and acknowledgement of `other`
    /// it lacks, and the fields, custom fields and tags it has no value for; `other` is marked
    /// as merged into `keep`. An account merged before stands for the one that survived it.
    /// Returns the two accounts merged (other, kept) and how many items were copied.
    pub fn merge_accounts(
        &mut self,
        edit: &Edit,
        other: DocumentId,
        keep: DocumentId,
    ) -> Result<(DocumentId, DocumentId, usize), StoreError> {
        self.check_writable()?;
        let cannot = |reason: String| StoreError::CannotMerge {
            other,
            keep,
            reason,
        };
        if other == keep {
            return Err(cannot("an account cannot be merged into itself".into()));
        }
        let (named_other, named_keep) = (other, keep);
        let (other, keep) = (self.survivor_of(other)?, self.survivor_of(keep)?);
        if other == keep {
            let merged = if named_other == other {
                named_keep
            } else {
                named_other
            };
            return Err(cannot(format!("{merged} was merged into {other} already")));
        }
        for id in [other, keep] {
            account::check_kind(self.document(id)?)
                .map_err(|source| StoreError::Shape { id, source })?;
        }
        let (from, into) = self.loaded_pair(other, keep)?;
        let carried =
            merge::missing(from, into).map_err(|source| StoreError::Shape { id: other, source })?;
        let (touched, chunk) = self.edit_document(keep, edit, |tx| carried.write(tx))?;
        let kept = PendingChange {
            id: keep,
            chunk,
            touched,
        };
        let marked = match self.edit_document(other, edit, |tx| merge::mark_merged(tx, keep)) {
            Ok((touched, chunk)) => PendingChange {
                id: other,
                chunk,
                touched,
            },
            Err(error) => {
                self.docs.forget(&keep);
                return Err(error);
            }
        };
        self.persist(vec![kept, marked])?;
        Ok((other, keep, carried.items()))
    }

    /// The account that stands for `id`: itself, or the end of its merges, from the index.
    pub fn survivor_of(&self, id: DocumentId) -> Result<DocumentId, StoreError> {
        let txn = self.db.begin_read().doing(READING)?;
        match txn.open_table(MERGED) {
            Ok(merged) => Ok(survivor_in(&merged, id)),
            // A replica from before merges existed has none.
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(id),
            Err(other) => Err(other).doing(READING),
        }
    }

    /// Merged accounts whose id starts with `prefix` (they are not in the account list).
    pub(crate) fn merged_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read().doing(READING)?;
        let merged = match txn.open_table(MERGED) {
            Ok(merged) => merged,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(other) => return Err(other).doing(READING),
        };
        let mut found = Vec::new();
        for row in merged.range(prefix..).doing(READING)? {
            let (key, _) = row.doing(READING)?;
            if !key.value().starts_with(prefix) {
                break;
            }
            found.push(key.value().to_owned());
        }
        Ok(found)
    }

    /// Likely duplicate accounts and contacts, from the index (no document is loaded).
    pub fn duplicates(&self) -> Result<Duplicates, StoreError> {
        let accounts: Vec<AccountRow> = self
            .accounts()?
            .into_iter()
            .map(|summary| AccountRow {
                id: summary.id,
                name: summary.name,
                domain: summary.domain,
            })
            .collect();
        let mut contacts = Vec::new();
        let txn = self.db.begin_read().doing(READING)?;
        match txn.open_table(CONTACT_ROWS) {
            Ok(table) => {
                for row in table.iter().doing(READING)? {
                    let (key, value) = row.doing(READING)?;
                    let ((account, contact), (name, email)) = (key.value(), value.value());
                    let (Ok(account), Ok(id)) = (account.parse(), contact.parse()) else {
                        continue;
                    };
                    contacts.push(ContactRow {
                        account,
                        id,
                        name: name.to_owned(),
                        email: (!email.is_empty()).then(|| email.to_owned()),
                    });
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(other) => return Err(other).doing(READING),
        }
        Ok(Duplicates {
            accounts: duplicates::account_pairs(&accounts),
            contacts: duplicates::contact_pairs(&contacts),
        })
    }

    /// The forwarding copies that `changes` call for, applied to the loaded survivors and
    /// ready to commit with them: the items a merged account that changed holds and its
    /// survivor lacks, and those merged accounts hold for a survivor that just arrived.
    pub(crate) fn forward_merges(
        &mut self,
        changes: &[PendingChange],
    ) -> Result<Vec<PendingChange>, StoreError> {
        let mut sources = BTreeSet::new();
        let mut arrived = BTreeSet::new();
        for change in changes {
            if change.id == self.workspace || change.touched.is_empty() {
                continue;
            }
            if self.merged_target(change.id).is_some() {
                sources.insert(change.id);
            }
            if change.touched.everything {
                arrived.insert(change.id);
            }
        }
        if !arrived.is_empty() {
            sources.extend(self.merged_towards(&arrived)?);
        }
        self.forward_from(sources)
    }

    /// Forwards the items that merged accounts among `indexed` (documents fetched whole and
    /// indexed just now), or merged into them, hold and their survivors lack; one durable
    /// commit. Survivors of loops completed by these documents are indexed first.
    pub(crate) fn forward_indexed(&mut self, indexed: &[DocumentId]) -> Result<(), StoreError> {
        let indexed: BTreeSet<DocumentId> = indexed.iter().copied().collect();
        let mut sources = self.merged_towards(&indexed)?;
        let merged: Vec<DocumentId> = self
            .merged_sources()?
            .into_iter()
            .filter(|id| indexed.contains(id))
            .collect();
        if !merged.is_empty() {
            let txn = self.begin_write().doing(DOING)?;
            for id in &merged {
                self.restore_survivor(&txn, *id)?;
            }
            txn.commit().doing(DOING)?;
        }
        sources.extend(merged);
        let forwarded = self.forward_from(sources)?;
        self.persist(forwarded)
    }

    fn forward_from(
        &mut self,
        sources: BTreeSet<DocumentId>,
    ) -> Result<Vec<PendingChange>, StoreError> {
        let mut forwarded = Vec::new();
        // A viewer's copy would never be accepted by the relay: a member's replica makes it.
        if sources.is_empty() || self.check_writable().is_err() {
            return Ok(forwarded);
        }
        for source in sources {
            if let Err(error) = self.forward(source, &mut forwarded) {
                // Nothing of it is committed: the edited survivors reload from disk.
                for change in &forwarded {
                    self.docs.forget(&change.id);
                }
                return Err(error);
            }
        }
        Ok(forwarded)
    }

    /// Copies into the survivor of `source` the items it lacks of each account on the way.
    fn forward(
        &mut self,
        source: DocumentId,
        forwarded: &mut Vec<PendingChange>,
    ) -> Result<(), StoreError> {
        let mut path = vec![source];
        let survivor = merge::survivor(source, |id| {
            let next = self.merged_target(id);
            path.extend(next);
            next
        });
        if survivor == self.workspace || !self.is_account(survivor)? {
            return Ok(());
        }
        let mut seen = BTreeSet::new();
        for member in path {
            if member == survivor || !seen.insert(member) || !self.is_account(member)? {
                continue;
            }
            let (from, into) = self.loaded_pair(member, survivor)?;
            let carried = match merge::missing_items(from, into) {
                Ok(carried) => carried,
                Err(error) => {
                    tracing::warn!(account = %member, %error, "a merged account's items were not forwarded");
                    continue;
                }
            };
            if carried.is_empty() {
                continue;
            }
            let edit = self.edit_now();
            let (touched, chunk) = self.edit_document(survivor, &edit, |tx| carried.write(tx))?;
            self.docs.pin(&survivor);
            forwarded.push(PendingChange {
                id: survivor,
                chunk,
                touched,
            });
        }
        Ok(())
    }

    /// The account document `id` says it was merged into; `None` when it was not, or is not
    /// an account stored here.
    fn merged_target(&mut self, id: DocumentId) -> Option<DocumentId> {
        let doc = self.document(id).ok()?;
        account::check_kind(doc).ok()?;
        merge::merged_into(doc).ok().flatten()
    }

    fn is_account(&mut self, id: DocumentId) -> Result<bool, StoreError> {
        match self.document(id) {
            Ok(doc) => Ok(account::check_kind(doc).is_ok()),
            Err(StoreError::UnknownDocument { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Every merged account in the index.
    fn merged_sources(&self) -> Result<Vec<DocumentId>, StoreError> {
        Ok(self
            .merged_rows()?
            .into_iter()
            .map(|(source, _)| source)
            .collect())
    }

    /// The merged accounts whose documents name one of `targets` as what they were merged into.
    fn merged_towards(
        &self,
        targets: &BTreeSet<DocumentId>,
    ) -> Result<BTreeSet<DocumentId>, StoreError> {
        Ok(self
            .merged_rows()?
            .into_iter()
            .filter(|(_, target)| targets.contains(target))
            .map(|(source, _)| source)
            .collect())
    }

    fn merged_rows(&self) -> Result<Vec<(DocumentId, DocumentId)>, StoreError> {
        let txn = self.db.begin_read().doing(READING)?;
        let merged = match txn.open_table(MERGED) {
            Ok(merged) => merged,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(other) => return Err(other).doing(READING),
        };
        let mut rows = Vec::new();
        for row in merged.iter().doing(READING)? {
            let (source, target) = row.doing(READING)?;
            if let (Ok(source), Ok(target)) = (source.value().parse(), target.value().parse()) {
                rows.push((source, target));
            }
        }
        Ok(rows)
    }

    /// After a rebuild: the survivors of merges that formed a loop, left out while the loop was
    /// not complete in the index, are indexed whole.
    pub(crate) fn restore_survivors(&mut self, txn: &WriteTransaction) -> Result<(), StoreError> {
        let merged: Vec<DocumentId> = {
            let table = txn.open_table(MERGED).doing(DOING)?;
            let mut ids = Vec::new();
            for row in table.iter().doing(DOING)? {
                if let Ok(id) = row.doing(DOING)?.0.value().parse() {
                    ids.push(id);
                }
            }
            ids
        };
        for id in merged {
            self.restore_survivor(txn, id)?;
        }
        Ok(())
    }

    /// After account `id` was indexed: when it is merged and its survivor is out of the list
    /// (it was merged itself until a loop made it the survivor), indexes the survivor whole.
    pub(crate) fn restore_survivor(
        &mut self,
        txn: &WriteTransaction,
        id: DocumentId,
    ) -> Result<(), StoreError> {
        let survivor = {
            let merged = txn.open_table(MERGED).doing(DOING)?;
            if merged.get(id.to_string().as_str()).doing(DOING)?.is_none() {
                return Ok(());
            }
            survivor_in(&merged, id)
        };
        let listed = txn
            .open_table(ACCOUNTS)
            .doing(DOING)?
            .get(survivor.to_string().as_str())
            .doing(DOING)?
            .is_some();
        if listed || survivor == self.workspace {
            return Ok(());
        }
        let reader = self.reader();
        let doc = match self.document(survivor) {
            Ok(doc) => doc,
            Err(StoreError::UnknownDocument { .. }) => return Ok(()),
            Err(other) => return Err(other),
        };
        index_or_leave_out(
            &mut Derived::open(txn)?,
            doc,
            survivor,
            &Touched::everything(),
            &reader,
        )
    }
}

/// The survivor of `id` by the `merged` table.
fn survivor_in(
    merged: &impl ReadableTable<&'static str, &'static str>,
    id: DocumentId,
) -> DocumentId {
    merge::survivor(id, |at| {
        let row = merged.get(at.to_string().as_str()).ok().flatten()?;
        row.value().parse().ok()
    })
}

/// Records whether account `id` is merged into another, and says whether another account
/// stands for it (then it is left out of the other tables).
pub(crate) fn stands_for_another(
    merged: &mut redb::Table<'_, &'static str, &'static str>,
    doc: &Automerge,
    id: DocumentId,
) -> Result<bool, StoreError> {
    let key = id.to_string();
    let target = match account::check_kind(doc) {
        Ok(()) => merge::merged_into(doc).ok().flatten(),
        Err(_) => None,
    };
    match target {
        Some(target) => {
            merged
                .insert(key.as_str(), target.to_string().as_str())
                .doing(DOING)?;
            Ok(survivor_in(merged, id) != id)
        }
        None => {
            merged.remove(key.as_str()).doing(DOING)?;
            Ok(false)
        }
    }
}

/// Records contact `contact_key` of an account as it now reads (`None`: gone or unreadable).
pub(crate) fn set_contact_row(
    rows: &mut redb::Table<'_, (&'static str, &'static str), (&'static str, &'static str)>,
    account_key: &str,
    contact_key: &str,
    contact: Option<&ContactView>,
) -> Result<(), StoreError> {
    match contact {
        Some(contact) => {
            let email = contact.email.as_deref().unwrap_or("");
            rows.insert((account_key, contact_key), (contact.name.as_str(), email))
                .doing(DOING)?;
        }
        None => {
            rows.remove((account_key, contact_key)).doing(DOING)?;
        }
    }
    Ok(())
}

/// Drops every contact row of an account.
pub(crate) fn clear_contact_rows(
    rows: &mut redb::Table<'_, (&'static str, &'static str), (&'static str, &'static str)>,
    account_key: &str,
) -> Result<(), StoreError> {
    let whole_account = (account_key, "")..=(account_key, "\u{10FFFF}");
    rows.retain_in(whole_account, |_, _| false).doing(DOING)?;
    Ok(())
}
