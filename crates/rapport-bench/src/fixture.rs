//! A relay's data directory, filled before the relay process starts: the workspace of every
//! account, one of a tenth of them (to show what does not grow with the workspace), and empty
//! workspaces for the pushes. Filled with whole documents merged through the relay's own
//! `HubDocuments`, one commit per batch, as a member's first push arrives.

use std::path::Path;

use anyhow::{Context, anyhow};
use automerge::Automerge;
use rapport_model::{DocumentId, Edit, Role, Team, workspace};
use rapport_relay::hub::HubDocuments;
use rapport_relay::{Relay, RelayConfig, admin};
use rapport_sync::{Documents, Merged};
use tempfile::TempDir;

use crate::corpus::{Corpus, user};

/// Documents per commit while filling.
const BATCH: usize = 500;

/// The members of every workspace, with their teams. Each client of a workload takes its own.
pub const MEMBERS: [(&str, Team); 4] = [
    ("ana", Team::Support),
    ("bo", Team::Sales),
    ("cy", Team::Marketing),
    ("di", Team::Sales),
];

/// One workspace on the relay.
pub struct Workspace {
    /// One token per entry of [`MEMBERS`].
    pub tokens: Vec<String>,
    /// Its accounts, in corpus order.
    pub accounts: Vec<DocumentId>,
}

/// The relay's data directory and what is in it.
pub struct Fixture {
    /// The relay's data (`relay.redb`).
    pub dir: TempDir,
    /// Every account of the corpus.
    pub full: Workspace,
    /// A tenth of them.
    pub tenth: Workspace,
    /// Empty workspaces, one per push.
    pub empty: Vec<Workspace>,
}

impl Fixture {
    /// Fills a new relay directory; `pushes` empty workspaces.
    pub fn build(corpus: &Corpus, pushes: usize) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("making the relay's directory")?;
        let relay = Relay::open(dir.path(), RelayConfig::default()).context("opening the relay")?;
        let full = workspace(&relay, "Bench Full", corpus, corpus.len())?;
        let tenth = workspace(&relay, "Bench Tenth", corpus, (corpus.len() / 10).max(1))?;
        let empty = (0..pushes)
            .map(|i| workspace(&relay, &format!("Bench Push {i}"), corpus, 0))
            .collect::<anyhow::Result<_>>()?;
        drop(relay);
        Ok(Self {
            dir,
            full,
            tenth,
            empty,
        })
    }

    /// The relay's data directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Creates workspace `name` with the [`MEMBERS`] and the first `count` accounts of the corpus.
fn workspace(
    relay: &Relay,
    name: &str,
    corpus: &Corpus,
    count: usize,
) -> anyhow::Result<Workspace> {
    let mut tokens = Vec::new();
    let mut id = None;
    for (member, team) in MEMBERS {
        let invitation = admin::invite(relay.hubs(), name, user(member)?, team, Role::Member)
            .with_context(|| format!("inviting {member} to {name}"))?;
        id = Some(invitation.workspace);
        tokens.push(invitation.token);
    }
    let id = id.ok_or_else(|| anyhow!("no members for {name}"))?;
    let accounts = fill(relay, id, corpus, count)?;
    Ok(Workspace { tokens, accounts })
}

/// Merges `count` accounts into workspace `id` and lists them in its document.
fn fill(
    relay: &Relay,
    id: DocumentId,
    corpus: &Corpus,
    count: usize,
) -> anyhow::Result<Vec<DocumentId>> {
    let hub = relay.hubs().hub(id).context("opening the workspace hub")?;
    let documents = corpus.documents(count);
    let ids: Vec<DocumentId> = documents.iter().map(|(id, _, _)| *id).collect();
    let mut documents = documents.into_iter().peekable();
    while documents.peek().is_some() {
        let batch: Vec<_> = documents.by_ref().take(BATCH).collect();
        let merged = HubDocuments::new(hub.clone(), true)
            .merge_documents(batch)
            .context("storing accounts in the relay")?;
        if let Some(bad) = merged.iter().find(|m| !matches!(m, Merged::Stored { .. })) {
            return Err(anyhow!("the relay did not store an account: {bad:?}"));
        }
    }
    let edit = Edit::now(user("ana")?, Team::Support);
    let listed = hub
        .update(id, false, |doc: &mut Automerge| {
            doc.transact_with(
                |_| edit.commit_options(),
                |tx| {
                    for account in &ids {
                        workspace::add_account(tx, *account)?;
                    }
                    Ok::<_, rapport_model::EditError>(())
                },
            )
            .map(drop)
            .map_err(|f| f.error)
        })
        .context("listing the accounts")?;
    match listed {
        Some(result) => result.context("listing the accounts")?,
        None => return Err(anyhow!("the workspace document is missing")),
    }
    Ok(ids)
}
