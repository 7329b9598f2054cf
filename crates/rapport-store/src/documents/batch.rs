//! Many account creations and changes (and a change of the workspace document beside them)
//! staged in one redb write transaction and committed together, or not at all: an import of
//! 10,000 rows is one durable commit, and a process killed midway leaves the file as it was.

use automerge::Automerge;
use automerge::transaction::Transaction;
use rapport_model::account::{self, NewAccount};
use rapport_model::{DocumentId, Edit, EditError, Touched, workspace};
use redb::WriteTransaction;

use super::{PendingChange, apply_edit};
use crate::error::{StorageContext, StoreError};
use crate::index::{Derived, index_or_leave_out};
use crate::replica::Replica;
use crate::rows;
use crate::tables::UNSYNCED;

const DOING: &str = "staging a batch of changes";

/// Account creations and changes written into one open redb write transaction, made durable by
/// [`AccountBatch::commit`]. Dropping the batch without committing writes nothing: the
/// transaction aborts and the documents it changed are reloaded from disk on next use.
///
/// Documents created in a batch are written as snapshots and not kept loaded, so a batch of
/// thousands of new accounts holds one of them in memory at a time; existing documents changed
/// in it stay loaded until it ends, since memory is the only place their staged state is.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut replica = rapport_store::Replica::open(std::path::Path::new("data"))?;
/// use rapport_model::account::NewAccount;
/// let edit = replica.edit_now();
/// let mut batch = replica.batch(&edit)?;
/// for name in ["Globex", "Initech"] {
///     let new = NewAccount { name: name.into(), ..NewAccount::default() };
///     batch.create_account(&new, |_| Ok(Default::default()))?;
/// }
/// batch.commit()?;
/// # Ok(())
/// # }
/// ```
pub struct AccountBatch<'r> {
    staged: Staged<'r>,
    edit: Edit,
    txn: WriteTransaction,
    created: Vec<DocumentId>,
}

/// The replica and the documents a batch changed in memory: pinned in the cache, ahead of
/// disk until the commit, and forgotten when the batch ends without one.
struct Staged<'r> {
    replica: &'r mut Replica,
    changed: Vec<DocumentId>,
}

impl Replica {
    /// Starts a batch of account writes by `edit`'s author, committed together by
    /// [`AccountBatch::commit`]. Changes from elsewhere held back are committed first.
    pub fn batch(&mut self, edit: &Edit) -> Result<AccountBatch<'_>, StoreError> {
        self.check_writable()?;
        self.commit_held()?;
        let txn = self.begin_write().doing(DOING)?;
        Ok(AccountBatch {
            staged: Staged {
                replica: self,
                changed: Vec::new(),
            },
            edit: edit.clone(),
            txn,
            created: Vec::new(),
        })
    }
}

impl AccountBatch<'_> {
    /// Stages a new account document: its first change creates it with `new`, then runs
    /// `more` (contacts, deals, further fields) in the same change. Returns its id.
    pub fn create_account(
        &mut self,
        new: &NewAccount,
        more: impl FnOnce(&mut Transaction<'_>) -> Result<Touched, EditError>,
    ) -> Result<DocumentId, StoreError> {
        let (txn, replica) = (&self.txn, &mut *self.staged.replica);
        let id = DocumentId::random();
        let edit = &self.edit;
        let mut doc = Automerge::new().with_actor(replica.docs.actor.clone());
        apply_edit(&mut doc, id, edit, |tx| {
            account::create(tx, edit, new)?;
            more(tx)
        })?;
        let key = id.to_string();
        rows::replace_with_snapshot(txn, &key, &doc.save(), &doc.get_heads())?;
        let reader = replica.reader();
        index_or_leave_out(
            &mut Derived::open(txn)?,
            &doc,
            id,
            &Touched::everything(),
            &reader,
        )?;
        self.created.push(id);
        Ok(id)
    }

    /// Stages a change to the existing account `id`, with its index updates.
    pub fn change_account(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<Touched, EditError>,
    ) -> Result<(), StoreError> {
        let staged = &mut self.staged;
        account::check_kind(staged.replica.document(id)?)
            .map_err(|source| StoreError::Shape { id, source })?;
        staged.pin(id);
        let (touched, chunk) = staged.replica.edit_document(id, &self.edit, f)?;
        stage_chunk(
            staged.replica,
            &self.txn,
            PendingChange { id, chunk, touched },
        )
    }

    /// Stages a change to the workspace document (settings an import brings: field
    /// definitions, alert rules, segments), committed with the accounts; the alerts a changed
    /// rule concerns are rewritten in the same transaction.
    pub fn change_workspace(
        &mut self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<(), EditError>,
    ) -> Result<(), StoreError> {
        let staged = &mut self.staged;
        let id = staged.replica.workspace;
        workspace::check_kind(staged.replica.document(id)?)
            .map_err(|source| StoreError::Shape { id, source })?;
        staged.pin(id);
        let ((), chunk) = staged.replica.edit_document(id, &self.edit, f)?;
        let touched = Touched::default();
        stage_chunk(
            staged.replica,
            &self.txn,
            PendingChange { id, chunk, touched },
        )
    }

    /// How many accounts the batch creates so far.
    pub fn created(&self) -> usize {
        self.created.len()
    }

    /// Lists the new accounts in the workspace and commits everything staged in one durable
    /// transaction. On error nothing is written.
    pub fn commit(self) -> Result<(), StoreError> {
        let AccountBatch {
            mut staged,
            edit,
            txn,
            created,
        } = self;
        if !created.is_empty() {
            let id = staged.replica.workspace;
            staged.replica.ensure_loaded(id)?;
            staged.pin(id);
            let ((), chunk) = staged.replica.edit_document(id, &edit, |tx| {
                created
                    .iter()
                    .try_for_each(|account| workspace::add_account(tx, *account))
            })?;
            let touched = Touched::default();
            stage_chunk(staged.replica, &txn, PendingChange { id, chunk, touched })?;
        }
        {
            let mut unsynced = txn.open_table(UNSYNCED).doing(DOING)?;
            for id in created.iter().chain(&staged.changed) {
                unsynced.insert(id.to_string().as_str(), ()).doing(DOING)?;
            }
        }
        txn.commit().doing("committing a batch of changes")?;
        while let Some(id) = staged.changed.pop() {
            staged.replica.docs.unpin(&id);
            staged.replica.compact_if_due(id)?;
        }
        Ok(())
    }
}

/// Writes one change's chunk and index rows into the batch's transaction.
fn stage_chunk(
    replica: &mut Replica,
    txn: &WriteTransaction,
    change: PendingChange,
) -> Result<(), StoreError> {
    if change.chunk.is_empty() {
        return Ok(());
    }
    replica.append_chunk(txn, &change)?;
    replica
        .cached(change.id)?
        .stored
        .appended(change.chunk.len());
    replica.index_change(txn, &change)
}

impl Staged<'_> {
    /// Pins document `id` in the cache as changed by the batch, before it is edited, so that
    /// it is forgotten (not left ahead of disk) if the batch fails.
    fn pin(&mut self, id: DocumentId) {
        self.replica.docs.pin(&id);
        if !self.changed.contains(&id) {
            self.changed.push(id);
        }
    }
}

impl Drop for Staged<'_> {
    /// A batch not committed (an error, or dropped on purpose) leaves disk as it was: its
    /// transaction aborts, and the documents it changed in memory are forgotten so that they
    /// reload from disk.
    fn drop(&mut self) {
        for id in &self.changed {
            self.replica.docs.forget(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use rapport_model::account::NewContact;
    use rapport_model::custom_field::{self, FieldDefinition, FieldType};
    use rapport_model::{ContactId, Team};

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn workspace_with_globex(
        dir: &std::path::Path,
    ) -> Result<(Replica, DocumentId), Box<dyn std::error::Error>> {
        let mut replica = Replica::create_workspace(dir, "Acme", "ana".parse()?, Team::Sales)?;
        let edit = replica.edit_now();
        let globex = NewAccount {
            name: "Globex".into(),
            ..NewAccount::default()
        };
        let id = replica.create_account(&edit, &globex)?;
        Ok((replica, id))
    }

    fn add_hank(tx: &mut Transaction<'_>, edit: &Edit) -> Result<Touched, EditError> {
        let hank = NewContact {
            name: "Hank Scorpio".into(),
            ..NewContact::default()
        };
        account::add_contact(tx, edit, ContactId::new(), &hank)
    }

    #[test]
    fn a_batch_commits_new_and_changed_accounts_together() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (mut replica, globex) = workspace_with_globex(dir.path())?;
        let edit = replica.edit_now();
        let mut batch = replica.batch(&edit)?;
        for name in ["Initech", "Hooli", "Vandelay"] {
            let new = NewAccount {
                name: name.into(),
                ..NewAccount::default()
            };
            batch.create_account(&new, |tx| add_hank(tx, &edit))?;
        }
        batch.change_account(globex, |tx| add_hank(tx, &edit))?;
        assert_eq!(batch.created(), 3);
        batch.commit()?;

        drop(replica);
        let mut replica = Replica::open(dir.path())?;
        assert_eq!(replica.accounts()?.len(), 4);
        assert_eq!(replica.workspace()?.accounts, 4);
        assert_eq!(replica.search("scorpio")?.len(), 4);
        assert_eq!(replica.account(globex)?.contacts.len(), 1);
        // Everything written here waits for the relay.
        assert_eq!(replica.unsynced()?.len(), 5);
        Ok(())
    }

    #[test]
    fn a_batch_that_fails_midway_writes_nothing() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (mut replica, globex) = workspace_with_globex(dir.path())?;
        let before = (replica.accounts()?, replica.account(globex)?);
        let heads = replica.heads(globex)?;
        let edit = replica.edit_now();
        let mut batch = replica.batch(&edit)?;
        let new = NewAccount {
            name: "Initech".into(),
            ..NewAccount::default()
        };
        batch.create_account(&new, |_| Ok(Touched::default()))?;
        batch.change_account(globex, |tx| add_hank(tx, &edit))?;
        let failed = batch.change_account(DocumentId::random(), |tx| add_hank(tx, &edit));
        assert!(failed.is_err());
        drop(batch);

        assert_eq!((replica.accounts()?, replica.account(globex)?), before);
        assert_eq!(replica.heads(globex)?, heads);
        assert_eq!(replica.workspace()?.accounts, 1);
        drop(replica);
        let mut replica = Replica::open(dir.path())?;
        assert_eq!(replica.accounts()?.len(), 1);
        assert!(replica.account(globex)?.contacts.is_empty());
        Ok(())
    }

    #[test]
    fn a_workspace_change_commits_with_the_batch_or_not_at_all() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (mut replica, _) = workspace_with_globex(dir.path())?;
        let heads = replica.heads(replica.workspace_id())?;
        let region = FieldDefinition::new("region".parse()?, FieldType::Text, None, &[])?;
        let initech = NewAccount {
            name: "Initech".into(),
            ..NewAccount::default()
        };
        let edit = replica.edit_now();
        let define = |tx: &mut Transaction<'_>| custom_field::put_definition(tx, &edit, &region);

        let mut batch = replica.batch(&edit)?;
        batch.change_workspace(define)?;
        batch.create_account(&initech, |_| Ok(Touched::default()))?;
        let failed = batch.change_account(DocumentId::random(), |tx| add_hank(tx, &edit));
        assert!(failed.is_err());
        drop(batch);
        assert!(replica.field_definitions()?.is_empty());
        assert_eq!(replica.heads(replica.workspace_id())?, heads);

        let mut batch = replica.batch(&edit)?;
        batch.change_workspace(define)?;
        batch.create_account(&initech, |_| Ok(Touched::default()))?;
        batch.commit()?;
        drop(replica);
        let mut replica = Replica::open(dir.path())?;
        assert_eq!(replica.field_definitions()?, [region]);
        assert_eq!(replica.workspace()?.accounts, 2);
        Ok(())
    }
}
