//! Merging duplicate contacts of one account: one change to the account's document (the kept
//! contact filled, the other marked), indexed in the same commit like any other change.
//!
//! Contacts of two different accounts are not merged: a contact lives in its account's
//! document, and a mark naming a contact of another document could not be followed by the
//! readers of either. Two accounts holding the same person are merged first (`merge_accounts`
//! copies the contacts under their ids into the kept account); their contacts are then in one
//! account and merge there.

use rapport_model::account::{self, contact_merge};
use rapport_model::{ContactId, DocumentId, Edit, EditError};
use serde::Serialize;

use crate::documents::PendingChange;
use crate::error::StoreError;
use crate::index::ItemKind;
use crate::replica::Replica;

/// A contact merge as made.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ContactMerge {
    /// The account holding both contacts.
    pub account: DocumentId,
    /// The contact merged away (the one named, or the contact that already stood for it).
    pub merged: ContactId,
    /// The contact kept.
    pub into: ContactId,
    /// The fields the kept contact lacked and got from the merged one.
    pub filled: Vec<&'static str>,
    /// False when the contacts were merged already: nothing was written.
    pub changed: bool,
}

impl Replica {
    /// Merges contact `other` into `keep` of the same account, in one durable commit: `keep`
    /// keeps its values and gets the fields it lacks from `other`; `other` is marked merged
    /// into it and leaves lists, search and duplicates. Merging again writes nothing. Refused,
    /// changing nothing: unknown contacts, a contact into itself, a `keep` merged into another,
    /// and contacts of two different accounts.
    pub fn merge_contacts(
        &mut self,
        edit: &Edit,
        other: ContactId,
        keep: ContactId,
    ) -> Result<ContactMerge, StoreError> {
        self.check_writable()?;
        let (account, _) = self.resolve_item(ItemKind::Contact, &other.to_string())?;
        let (keep_account, _) = self.resolve_item(ItemKind::Contact, &keep.to_string())?;
        if account != keep_account {
            return Err(StoreError::CannotMergeContacts {
                other,
                keep,
                reason: format!(
                    "they are in different accounts ({account} and {keep_account}); merge the \
                     accounts first (`rapport account merge`), then the contacts"
                ),
            });
        }
        account::check_kind(self.document(account)?).map_err(|source| StoreError::Shape {
            id: account,
            source,
        })?;
        let (merged, chunk) = self
            .edit_document(account, edit, |tx| {
                contact_merge::merge_contact(tx, other, keep)
            })
            .map_err(refused)?;
        if merged.changed {
            self.persist(vec![PendingChange {
                id: account,
                chunk,
                touched: merged.touched.clone(),
            }])?;
        }
        Ok(ContactMerge {
            account,
            merged: merged.merged,
            into: merged.into,
            filled: merged.filled.iter().map(|field| field.key()).collect(),
            changed: merged.changed,
        })
    }
}

/// The model's refusal as the store's, which names no document: the contacts say it all.
fn refused(error: StoreError) -> StoreError {
    match error {
        StoreError::Edit {
            source:
                EditError::CannotMergeContact {
                    other,
                    keep,
                    reason,
                },
            ..
        } => StoreError::CannotMergeContacts {
            other,
            keep,
            reason,
        },
        other => other,
    }
}
