//! The replica's CRM operations: creating and changing accounts and the workspace, reading them
//! back, and the lists, search and alert inbox served from the indexes.

use std::collections::BTreeSet;
use std::path::Path;

use automerge::transaction::Transaction;
use rapport_model::account::{self, AccountSummary, AccountView, NewAccount};
use rapport_model::alert::rule::Rule;
use rapport_model::workspace::{self, WorkspaceView};
use rapport_model::{DocumentId, Edit, EditError, EntryId, Role, Team, Touched, UserName, search};
use redb::{ReadableDatabase, ReadableTable};

use crate::documents::PendingChange;
use crate::error::{OpenError, StorageContext, StoreError};
use crate::index::{AlertRecord, ItemKind, decode_alert};
use crate::replica::Replica;
use crate::tables::{ACCOUNTS, ALERTS, CHUNKS, ITEMS, SNAPSHOTS, TERM_ACCOUNTS};

const READING: &str = "reading the index";

impl Replica {
    /// Creates a replica in `dir` together with a new workspace named `name`, whose first member
    /// (an admin) is `user` of `team`.
    pub fn create_workspace(
        dir: &Path,
        name: &str,
        user: UserName,
        team: Team,
    ) -> Result<Self, OpenError> {
        let id = DocumentId::random();
        let mut replica = Self::create(dir, id, user.clone(), team)?;
        let edit = Edit::now(user, team);
        let written = replica
            .new_document(id, &edit, |tx| workspace::create(tx, &edit, name))
            .and_then(|((), chunk)| {
                replica.persist(vec![PendingChange {
                    id,
                    chunk,
                    touched: Touched::default(),
                }])
            });
        if let Err(error) = written {
            let path = replica.path.clone();
            drop(replica);
            let _ = std::fs::remove_file(&path);
            return Err(OpenError::Initialize {
                path,
                source: Box::new(error),
            });
        }
        Ok(replica)
    }

    /// An edit by this replica's user, now.
    pub fn edit_now(&self) -> Edit {
        Edit::now(self.user.clone(), self.team)
    }

    /// Refuses when this replica's user is a viewer: the relay would refuse the change, and
    /// it would stay unsynced for good. A user the member list does not name yet (a replica
    /// not synced since it was made) may write; the relay decides in the end.
    pub(crate) fn check_writable(&mut self) -> Result<(), StoreError> {
        let id = self.workspace;
        let members = workspace::members(self.document(id)?)
            .map_err(|source| StoreError::Shape { id, source })?;
        let viewer = members
            .iter()
            .any(|member| member.user == self.user && member.role == Role::Viewer);
        if viewer {
            return Err(StoreError::ReadOnly {
                user: self.user.clone(),
            });
        }
        Ok(())
    }

    /// The workspace, as merged so far.
    pub fn workspace(&mut self) -> Result<WorkspaceView, StoreError> {
        let id = self.workspace;
        workspace::view(self.document(id)?, id).map_err(|source| StoreError::Shape { id, source })
    }

    /// Creates an account document and records it in the workspace, in one durable commit.
    pub fn create_account(
        &mut self,
        edit: &Edit,
        new: &NewAccount,
    ) -> Result<DocumentId, StoreError> {
        self.check_writable()?;
        let id = DocumentId::random();
        let (touched, chunk) = self.new_document(id, edit, |tx| account::create(tx, edit, new))?;
        let account = PendingChange { id, chunk, touched };
        let workspace =
            match self.edit_document(self.workspace, edit, |tx| workspace::add_account(tx, id)) {
                Ok(((), chunk)) => PendingChange {
                    id: self.workspace,
                    chunk,
                    touched: Touched::default(),
                },
                Err(error) => {
                    self.docs.forget(&id);
                    return Err(error);
                }
            };
        self.persist(vec![account, workspace])?;
        Ok(id)
    }

    /// Applies an edit to account `id` and commits it durably. The edit says what it touched
    /// (every `rapport_model::account` write function does), so the indexes update from that.
    pub fn change_account(
        &mut self,
        id: DocumentId,
        edit: &Edit,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<Touched, EditError>,
    ) -> Result<(), StoreError> {
        self.check_writable()?;
        account::check_kind(self.document(id)?)
            .map_err(|source| StoreError::Shape { id, source })?;
        let (touched, chunk) = self.edit_document(id, edit, f)?;
        self.persist(vec![PendingChange { id, chunk, touched }])
    }

    /// Applies an edit to the workspace document (its members, alert rules) and commits it
    /// durably; the alerts a changed rule concerns are rewritten after the commit.
    pub fn change_workspace(
        &mut self,
        edit: &Edit,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<(), EditError>,
    ) -> Result<(), StoreError> {
        self.check_writable()?;
        let id = self.workspace;
        workspace::check_kind(self.document(id)?)
            .map_err(|source| StoreError::Shape { id, source })?;
        let ((), chunk) = self.edit_document(id, edit, f)?;
        self.persist(vec![PendingChange {
            id,
            chunk,
            touched: Touched::default(),
        }])
    }

    /// The workspace's alert rules, by name.
    pub fn rules(&mut self) -> Result<Vec<Rule>, StoreError> {
        Ok(workspace::rules(self.document(self.workspace)?))
    }

    /// The whole account, merged.
    pub fn account(&mut self, id: DocumentId) -> Result<AccountView, StoreError> {
        account::view(self.document(id)?, id).map_err(|source| StoreError::Shape { id, source })
    }

    /// Every account, by name, from the index (no document is loaded).
    pub fn accounts(&self) -> Result<Vec<AccountSummary>, StoreError> {
        let txn = self.db.begin_read().doing(READING)?;
        let table = txn.open_table(ACCOUNTS).doing(READING)?;
        let mut out = Vec::new();
        for row in table.iter().doing(READING)? {
            out.push(decode_summary(row.doing(READING)?.1.value())?);
        }
        sort_by_name(&mut out);
        Ok(out)
    }

    /// Accounts whose name, fields, contacts or timeline contain words starting with every word
    /// of `query`, by name.
    pub fn search(&self, query: &str) -> Result<Vec<AccountSummary>, StoreError> {
        let words = search::terms(query);
        if words.is_empty() {
            return self.accounts();
        }
        let txn = self.db.begin_read().doing(READING)?;
        let terms = txn.open_table(TERM_ACCOUNTS).doing(READING)?;
        let mut matching: Option<BTreeSet<String>> = None;
        for word in &words {
            let mut found = BTreeSet::new();
            for row in terms.range((word.as_str(), "")..).doing(READING)? {
                let (key, _) = row.doing(READING)?;
                let (term, account) = key.value();
                if !term.starts_with(word.as_str()) {
                    break;
                }
                if matching.as_ref().is_none_or(|m| m.contains(account)) {
                    found.insert(account.to_owned());
                }
            }
            matching = Some(found);
        }
        let accounts = txn.open_table(ACCOUNTS).doing(READING)?;
        let mut out = Vec::new();
        for id in matching.unwrap_or_default() {
            if let Some(json) = accounts.get(id.as_str()).doing(READING)? {
                out.push(decode_summary(json.value())?);
            }
        }
        sort_by_name(&mut out);
        Ok(out)
    }

    /// Finds an account by id, unique id prefix, or exact name (case-insensitive when unique);
    /// an account merged into another resolves to the account that stands for it.
    pub fn resolve_account(&self, query: &str) -> Result<DocumentId, StoreError> {
        self.survivor_of(self.resolve_named_account(query)?)
    }

    /// [`Replica::resolve_account`] without following merges: the account named, merged or not.
    pub fn resolve_named_account(&self, query: &str) -> Result<DocumentId, StoreError> {
        let unknown = || StoreError::UnknownAccount {
            query: query.to_owned(),
        };
        let query = query.trim();
        if query.is_empty() {
            return Err(unknown());
        }
        let bare = query.strip_prefix("automerge:").unwrap_or(query);
        let txn = self.db.begin_read().doing(READING)?;
        let table = txn.open_table(ACCOUNTS).doing(READING)?;
        let mut by_prefix = Vec::new();
        for row in table.range(bare..).doing(READING)? {
            let (key, _) = row.doing(READING)?;
            if !key.value().starts_with(bare) {
                break;
            }
            by_prefix.push(key.value().to_owned());
        }
        // The survivor of merges that formed a loop is merged and listed both.
        by_prefix.extend(self.merged_with_prefix(bare)?);
        by_prefix.sort_unstable();
        by_prefix.dedup();
        let ids: Vec<String> = match by_prefix.len() {
            0 => self
                .accounts_named(query)?
                .into_iter()
                .map(|s| s.id.to_string())
                .collect(),
            _ => by_prefix,
        };
        match ids.as_slice() {
            [] => Err(unknown()),
            [one] => one.parse().map_err(|_| StoreError::DamagedIndex {
                table: "accounts",
                reason: format!("bad id {one}"),
            }),
            many => Err(StoreError::AmbiguousAccount {
                query: query.to_owned(),
                count: many.len(),
                examples: examples(many),
            }),
        }
    }

    fn accounts_named(&self, name: &str) -> Result<Vec<AccountSummary>, StoreError> {
        let all = self.accounts()?;
        let exact: Vec<_> = all.iter().filter(|s| s.name == name).cloned().collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        Ok(all
            .into_iter()
            .filter(|s| s.name.to_lowercase() == name.to_lowercase())
            .collect())
    }

    /// Finds the account holding the item of `kind` whose id is or starts with `query`;
    /// returns the account and the item's full id.
    pub fn resolve_item(
        &self,
        kind: ItemKind,
        query: &str,
    ) -> Result<(DocumentId, String), StoreError> {
        let what = kind.as_str();
        let typed = query.trim();
        let unknown = || StoreError::UnknownItem {
            what,
            query: typed.to_owned(),
        };
        // Item ids are ULIDs, upper-case Crockford base32, which people may type in lower case.
        let query = typed.to_ascii_uppercase();
        if query.is_empty() {
            return Err(unknown());
        }
        let txn = self.db.begin_read().doing(READING)?;
        let items = txn.open_table(ITEMS).doing(READING)?;
        let mut found = Vec::new();
        for row in items.range(query.as_str()..).doing(READING)? {
            let (item, place) = row.doing(READING)?;
            if !item.value().starts_with(&query) {
                break;
            }
            let (item_kind, account) = place.value();
            if item_kind == what {
                found.push((account.to_owned(), item.value().to_owned()));
            }
        }
        match found.as_slice() {
            [] => Err(unknown()),
            [(account, item)] => {
                let id = account.parse().map_err(|_| StoreError::DamagedIndex {
                    table: "items",
                    reason: format!("bad id {account}"),
                })?;
                Ok((id, item.clone()))
            }
            many => Err(StoreError::AmbiguousItem {
                what,
                query: typed.to_owned(),
                count: many.len(),
            }),
        }
    }

    /// The alert inbox: entries that alert this user, oldest first; acknowledged ones only with
    /// `include_acknowledged`.
    pub fn alerts(&self, include_acknowledged: bool) -> Result<Vec<AlertRecord>, StoreError> {
        let txn = self.db.begin_read().doing(READING)?;
        let table = txn.open_table(ALERTS).doing(READING)?;
        let mut out = Vec::new();
        for row in table.iter().doing(READING)? {
            let record = decode_alert(row.doing(READING)?.1.value())?;
            if include_acknowledged || !record.acknowledged {
                out.push(record);
            }
        }
        out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(out)
    }

    /// Acknowledges the alert `alert` (an entry id or unique prefix) for this user.
    pub fn acknowledge(&mut self, edit: &Edit, alert: &str) -> Result<EntryId, StoreError> {
        let query = alert.trim().to_ascii_uppercase();
        let unknown = || StoreError::UnknownItem {
            what: "alert",
            query: alert.trim().to_owned(),
        };
        if query.is_empty() {
            return Err(unknown());
        }
        let mut found: Vec<AlertRecord> = self
            .alerts(true)?
            .into_iter()
            .filter(|a| a.id.starts_with(&query))
            .collect();
        let record = match found.len() {
            0 => return Err(unknown()),
            1 => found.remove(0),
            count => {
                return Err(StoreError::AmbiguousItem {
                    what: "alert",
                    query: alert.trim().to_owned(),
                    count,
                });
            }
        };
        let entry: EntryId = record.id.parse().map_err(|_| unknown())?;
        if !record.acknowledged {
            self.change_account(record.account, edit, |tx| {
                account::acknowledge(tx, edit, entry)
            })?;
        }
        Ok(entry)
    }

    /// Acknowledges every open alert, one change per account; returns their ids.
    pub fn acknowledge_all(&mut self, edit: &Edit) -> Result<Vec<EntryId>, StoreError> {
        self.check_writable()?;
        let open = self.alerts(false)?;
        let mut by_account: std::collections::BTreeMap<DocumentId, Vec<EntryId>> =
            Default::default();
        for record in &open {
            if let Ok(entry) = record.id.parse() {
                by_account.entry(record.account).or_default().push(entry);
            }
        }
        let mut acknowledged = Vec::new();
        for (id, entries) in by_account {
            self.change_account(id, edit, |tx| {
                let mut touched = Touched::default();
                for entry in &entries {
                    touched.merge(account::acknowledge(tx, edit, *entry)?);
                }
                Ok(touched)
            })?;
            acknowledged.extend(entries);
        }
        Ok(acknowledged)
    }

    /// The ids of every stored document except the workspace's.
    pub(crate) fn stored_account_ids(&self) -> Result<Vec<DocumentId>, StoreError> {
        let doing = "listing documents";
        let txn = self.db.begin_read().doing(doing)?;
        let mut ids = BTreeSet::new();
        for row in txn
            .open_table(SNAPSHOTS)
            .doing(doing)?
            .iter()
            .doing(doing)?
        {
            ids.insert(row.doing(doing)?.0.value().to_owned());
        }
        for row in txn.open_table(CHUNKS).doing(doing)?.iter().doing(doing)? {
            ids.insert(row.doing(doing)?.0.value().0.to_owned());
        }
        Ok(ids
            .iter()
            .filter_map(|id| id.parse().ok())
            .filter(|id| *id != self.workspace)
            .collect())
    }
}

fn decode_summary(bytes: &[u8]) -> Result<AccountSummary, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::DamagedIndex {
        table: "accounts",
        reason: e.to_string(),
    })
}

fn sort_by_name(accounts: &mut [AccountSummary]) {
    accounts.sort_by_cached_key(|s| (s.name.to_lowercase(), s.id));
}

fn examples(ids: &[String]) -> String {
    let mut shown: Vec<&str> = ids.iter().take(3).map(String::as_str).collect();
    if ids.len() > 3 {
        shown.push("...");
    }
    shown.join(", ")
}
