//! The workspace's data, built once per run of the harness: account documents with 5 contacts
//! and 20 timeline entries written by three members of three teams in 21 changes, each with the
//! bytes it saves to.

use std::num::NonZeroUsize;
use std::thread;

use anyhow::{Context, anyhow};
use automerge::Automerge;
use rapport_model::account::{self, NewAccount, NewContact, NewEntry};
use rapport_model::{ContactId, DocumentId, Edit, EntryId, EntryKind, Team, UserName, workspace};

/// Contacts per account.
pub const CONTACTS: usize = 5;
/// Timeline entries per account.
pub const ENTRIES: usize = 20;
/// Note words: each is in one eighth of the notes, so that a search for one is selective.
pub const WORDS: [&str; 8] = [
    "renewal",
    "pricing",
    "onboarding",
    "escalation",
    "enterprise",
    "invoice",
    "integration",
    "training",
];

/// One account document, loaded and saved.
pub struct Account {
    /// The document.
    pub doc: Automerge,
    /// `doc.save()`.
    pub saved: Vec<u8>,
}

/// Every account document of the workspace.
pub struct Corpus {
    /// In the order they were built (account `i` is named `Account i`).
    pub accounts: Vec<Account>,
}

impl Corpus {
    /// Builds `count` accounts, on every core.
    pub fn build(count: usize) -> anyhow::Result<Self> {
        let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let per_thread = count.div_ceil(threads).max(1);
        let starts: Vec<usize> = (0..count).step_by(per_thread).collect();
        let parts = thread::scope(|scope| {
            let handles: Vec<_> = starts
                .iter()
                .map(|&start| {
                    let end = (start + per_thread).min(count);
                    scope.spawn(move || build_range(start, end))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| anyhow!("a corpus thread panicked"))?)
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        Ok(Self {
            accounts: parts.into_iter().flatten().collect(),
        })
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// The first `count` accounts as whole documents under new ids, ready for
    /// `Documents::merge_documents` or `Replica::import_documents`.
    pub fn documents(&self, count: usize) -> Vec<(DocumentId, Automerge, Vec<u8>)> {
        self.accounts[..count.min(self.len())]
            .iter()
            .map(|a| (DocumentId::random(), a.doc.clone(), a.saved.clone()))
            .collect()
    }
}

fn build_range(start: usize, end: usize) -> anyhow::Result<Vec<Account>> {
    let authors = authors()?;
    (start..end)
        .map(|i| {
            let doc = account_document(i, &authors)?;
            let saved = doc.save();
            Ok(Account { doc, saved })
        })
        .collect()
}

/// A user name known to be valid.
pub fn user(name: &str) -> anyhow::Result<UserName> {
    name.parse()
        .map_err(|e| anyhow!("invalid user name '{name}': {e}"))
}

/// The three members who write the accounts, one per team.
fn authors() -> anyhow::Result<[Edit; 3]> {
    Ok([
        Edit::now(user("ana")?, Team::Support),
        Edit::now(user("bo")?, Team::Sales),
        Edit::now(user("cy")?, Team::Marketing),
    ])
}

/// Account `i`: created with its contacts in one change, then one change per timeline entry,
/// the authors taking turns.
fn account_document(i: usize, authors: &[Edit; 3]) -> anyhow::Result<Automerge> {
    let mut doc = Automerge::new();
    let creator = &authors[0];
    doc.transact_with(
        |_| creator.commit_options(),
        |tx| {
            let new = NewAccount {
                name: format!("Account {i}"),
                domain: Some(format!("account{i}.example")),
                ..Default::default()
            };
            account::create(tx, creator, &new)?;
            for c in 0..CONTACTS {
                let contact = NewContact {
                    name: format!("Contact {c} of {i}"),
                    email: Some(format!("c{c}@account{i}.example")),
                    phone: None,
                    title: Some("Buyer".into()),
                };
                account::add_contact(tx, creator, ContactId::new(), &contact)?;
            }
            Ok::<_, rapport_model::EditError>(())
        },
    )
    .map_err(|f| f.error)
    .with_context(|| format!("creating account {i}"))?;
    for e in 0..ENTRIES {
        let author = &authors[e % 3];
        let entry = note(i * ENTRIES + e);
        doc.transact_with(
            |_| author.commit_options(),
            |tx| account::add_entry(tx, author, EntryId::new(), &entry),
        )
        .map_err(|f| f.error)
        .with_context(|| format!("writing entry {e} of account {i}"))?;
    }
    Ok(doc)
}

/// Note `n`: one of the [`WORDS`] in turn, so each word is in an eighth of the notes.
pub fn note(n: usize) -> NewEntry {
    NewEntry {
        kind: EntryKind::Note,
        text: format!(
            "Call {n} about the {} and the next steps for the team",
            WORDS[n % WORDS.len()]
        ),
        alert: Vec::new(),
    }
}

/// A workspace document named `name` that lists `accounts`, written by `ana` (for servers that
/// know nothing of Rapport: the automerge-repo peers).
pub fn workspace_document(name: &str, accounts: &[DocumentId]) -> anyhow::Result<Automerge> {
    let edit = Edit::now(user("ana")?, Team::Support);
    let mut doc = Automerge::new();
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| {
            workspace::create(tx, &edit, name)?;
            for id in accounts {
                workspace::add_account(tx, *id)?;
            }
            Ok::<_, rapport_model::EditError>(())
        },
    )
    .map_err(|f| f.error)
    .context("writing the workspace document")?;
    Ok(doc)
}
