//! One module per workload; each returns its rows, one value per run.

mod cold_join;
mod fanout;
mod floor;
mod live;
mod load;
mod local;
mod offline;
mod peers;
mod push;
mod reconnect;

use std::time::Duration;

use anyhow::anyhow;
use rapport_client::link::SharedReplica;
use rapport_model::{DocumentId, EntryId, account};

use crate::corpus;
use crate::lab::Lab;
use crate::stats::Row;

/// How long one awaited event (a note arriving, a link coming online) may take.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The workloads, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Workload {
    /// A fresh client fetches the whole workspace.
    ColdJoin,
    /// A client holding every account syncs to an empty workspace.
    Push,
    /// A reconnect with nothing changed: time and bytes.
    Reconnect,
    /// Two clients come back with offline edits.
    Offline,
    /// A note from one client to another, with many connected.
    Propagation,
    /// The relay's memory with every account stored and clients connected.
    Memory,
    /// One note to many peers of one account.
    Fanout,
    /// Operations on the local replica.
    Local,
    /// A thousand clients adding notes for a minute; then the relay is killed and restarted.
    Load,
    /// Raw Automerge sync of every account in memory.
    Floor,
    /// automerge-repo sync servers (JavaScript, samod), side by side with ours.
    Peers,
    /// samod alone (no Node needed), side by side with ours: the peer that runs a size the
    /// JavaScript servers take most of an hour over.
    Samod,
}

impl Workload {
    /// Its name on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Workload::ColdJoin => "cold-join",
            Workload::Push => "push",
            Workload::Reconnect => "reconnect",
            Workload::Offline => "offline",
            Workload::Propagation => "propagation",
            Workload::Memory => "memory",
            Workload::Fanout => "fanout",
            Workload::Local => "local",
            Workload::Load => "load",
            Workload::Floor => "floor",
            Workload::Peers => "peers",
            Workload::Samod => "samod",
        }
    }
}

/// The workloads to run: those named, or all but the peers (which need Node and take minutes;
/// samod is one of them) unless `peers` asks for them too.
pub fn select(only: &[Workload], peers: bool) -> Vec<Workload> {
    use clap::ValueEnum;
    let mut chosen: Vec<Workload> = if only.is_empty() {
        Workload::value_variants()
            .iter()
            .copied()
            .filter(|w| !matches!(w, Workload::Peers | Workload::Samod))
            .collect()
    } else {
        only.to_vec()
    };
    if peers {
        chosen.push(Workload::Peers);
    }
    chosen.sort();
    chosen.dedup();
    chosen
}

/// Runs one workload.
pub fn run(workload: Workload, lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    match workload {
        Workload::ColdJoin => cold_join::run(lab),
        Workload::Push => push::run(lab),
        Workload::Reconnect => reconnect::run(lab),
        Workload::Offline => offline::run(lab),
        Workload::Propagation => live::run(lab, true),
        Workload::Memory => live::run(lab, false),
        Workload::Fanout => fanout::run(lab),
        Workload::Local => local::run(lab),
        Workload::Load => load::run(lab),
        Workload::Floor => floor::run(lab),
        Workload::Peers => peers::run(lab),
        Workload::Samod => peers::run_samod(lab),
    }
}

/// The size column for `n` accounts.
fn accounts(n: usize) -> String {
    format!("{n} accounts")
}

/// Adds note `n` to account `id` of a shared replica, durably, on a blocking thread.
async fn write_note(replica: &SharedReplica, id: DocumentId, n: usize) -> anyhow::Result<()> {
    let shared = replica.clone();
    tokio::task::spawn_blocking(move || {
        let mut replica = shared
            .lock()
            .map_err(|_| anyhow!("a replica's lock was poisoned"))?;
        let edit = replica.edit_now();
        let entry = corpus::note(n);
        replica.change_account(id, &edit, |tx| {
            account::add_entry(tx, &edit, EntryId::new(), &entry)
        })?;
        Ok(())
    })
    .await?
}
