//! What the workloads share: the sizes, the corpus, the relay's data and process, and the
//! replicas that are costly to make (a joined workspace of every account), made on first use
//! and kept for the workloads after.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use rapport_client::link::{self, SharedReplica};
use rapport_store::{Remote, Replica};
use tempfile::TempDir;
use tokio::runtime::Runtime;

use crate::corpus::Corpus;
use crate::fixture::Fixture;
use crate::relay_process::RelayProcess;

/// The longest any sync may take (a cold join of the whole workspace, in a debug build).
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(600);

/// How big everything is.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Small sizes, targets not judged.
    pub quick: bool,
    /// Accounts in the workspace.
    pub accounts: usize,
    /// Runs of each workload.
    pub runs: usize,
    /// Clients connected during note propagation and the memory reading.
    pub clients: usize,
    /// Peers receiving one note.
    pub fanout: usize,
    /// Notes sent from one client to another.
    pub notes: usize,
    /// Accounts each of two clients edits offline.
    pub offline_edits: usize,
    /// Samples of each local operation per run.
    pub local_samples: usize,
    /// Reconnects per run.
    pub reconnects: usize,
    /// Clients of the load workload, each adding ten notes a second.
    pub load_clients: usize,
    /// How long the load workload adds notes, in seconds.
    pub load_seconds: u64,
}

impl Sizes {
    /// The sizes for the command line's choices.
    pub fn new(quick: bool, accounts: Option<usize>, runs: Option<usize>) -> Self {
        let accounts = accounts.unwrap_or(if quick { 200 } else { 10_000 }).max(2);
        let pick = |full: usize, small: usize| if quick { small } else { full };
        Self {
            quick,
            accounts,
            runs: runs.unwrap_or(pick(3, 1)).max(1),
            clients: pick(100, 10),
            fanout: pick(1_000, 50),
            notes: pick(200, 20),
            offline_edits: pick(100, 10).min(accounts / 2),
            local_samples: pick(200, 50),
            reconnects: pick(20, 5),
            load_clients: pick(1_000, 40).min(accounts * 2),
            load_seconds: pick(60, 5) as u64,
        }
    }

    /// Whether these are the sizes the targets are set for.
    pub fn full_size(&self) -> bool {
        !self.quick && self.accounts >= 10_000
    }

    /// The sizes in words.
    pub fn describe(&self) -> String {
        format!(
            "{}{} accounts (5 contacts, 20 timeline entries each), {} run(s), {} connected clients, \
             {} fan-out peers, {} notes, {} offline edits per client, {} load clients for {} s",
            if self.quick { "quick: " } else { "" },
            self.accounts,
            self.runs,
            self.clients,
            self.fanout,
            self.notes,
            self.offline_edits,
            self.load_clients,
            self.load_seconds
        )
    }
}

/// A replica in a temporary directory.
pub struct Joined {
    /// Kept for as long as the replica is.
    pub dir: TempDir,
    /// The replica.
    pub replica: Replica,
}

/// Everything the workloads share.
pub struct Lab {
    /// How big everything is.
    pub sizes: Sizes,
    /// The harness's runtime (the relay has its own, in its own process).
    pub runtime: Runtime,
    /// The account documents.
    pub corpus: Corpus,
    /// The relay's data.
    pub fixture: Fixture,
    relay: Option<RelayProcess>,
    joined: Option<Joined>,
    pair: Option<(TempDir, TempDir, [SharedReplica; 2])>,
    /// The median cold join (fetch) measured here, for the peers' comparison.
    pub cold_join_ms: Option<f64>,
}

impl Lab {
    /// Builds the corpus and fills the relay's data.
    pub fn prepare(sizes: Sizes) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?;
        let corpus = Corpus::build(sizes.accounts).context("building the accounts")?;
        let fixture = Fixture::build(&corpus, sizes.runs).context("filling the relay")?;
        Ok(Self {
            sizes,
            runtime,
            corpus,
            fixture,
            relay: None,
            joined: None,
            pair: None,
            cold_join_ms: None,
        })
    }

    /// The relay's URL, starting its process if none runs.
    pub fn relay_url(&mut self) -> anyhow::Result<String> {
        if self.relay.is_none() {
            self.relay = Some(RelayProcess::start(self.fixture.path())?);
        }
        self.relay
            .as_ref()
            .map(|r| r.url.clone())
            .ok_or_else(|| anyhow!("no relay"))
    }

    /// A fresh relay process over the same data, and its URL: what a restarted relay holds in
    /// memory, without what earlier workloads left there.
    pub fn restart_relay(&mut self) -> anyhow::Result<String> {
        self.stop_relay()?;
        self.relay_url()
    }

    /// The relay process, if one runs.
    pub fn relay(&self) -> Option<&RelayProcess> {
        self.relay.as_ref()
    }

    /// Stops the relay process, if one runs.
    pub fn stop_relay(&mut self) -> anyhow::Result<()> {
        match self.relay.take() {
            Some(relay) => relay.stop(),
            None => Ok(()),
        }
    }

    /// Keeps an indexed replica of the whole workspace for later workloads.
    pub fn keep_joined(&mut self, joined: Joined) {
        self.joined = Some(joined);
    }

    /// An indexed replica of the whole workspace (joined now if none is kept), taken out of the
    /// lab; give it back with [`Lab::keep_joined`].
    pub fn take_joined(&mut self) -> anyhow::Result<Joined> {
        if let Some(joined) = self.joined.take() {
            return Ok(joined);
        }
        let url = self.relay_url()?;
        let token = self.fixture.full.tokens[0].clone();
        self.join(&url, &token)
    }

    /// A new indexed replica of the whole workspace, as member `token`.
    pub fn join(&mut self, url: &str, token: &str) -> anyhow::Result<Joined> {
        let dir = tempfile::tempdir()?;
        let (replica, _) = self
            .runtime
            .block_on(link::join(dir.path(), url, token, SYNC_TIMEOUT))
            .context("joining the workspace")?;
        Ok(Joined { dir, replica })
    }

    /// Two replicas of the whole workspace, of two members of other teams, aimed at the relay
    /// running now (joined on first use).
    pub fn pair(&mut self) -> anyhow::Result<[SharedReplica; 2]> {
        let url = self.relay_url()?;
        if self.pair.is_none() {
            let tokens = self.fixture.full.tokens.clone();
            let a = self.join(&url, &tokens[1])?;
            let b = self.join(&url, &tokens[2])?;
            let shared = |j: Joined| (j.dir, Arc::new(Mutex::new(j.replica)));
            let ((dir_a, a), (dir_b, b)) = (shared(a), shared(b));
            self.pair = Some((dir_a, dir_b, [a, b]));
        }
        let (_, _, replicas) = self.pair.as_ref().ok_or_else(|| anyhow!("no pair"))?;
        for replica in replicas {
            retarget(replica, &url)?;
        }
        Ok(replicas.clone())
    }

    /// Stops what still runs.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.stop_relay()
    }
}

/// Points a replica at the relay now at `url` (a restarted relay listens on another port).
fn retarget(replica: &SharedReplica, url: &str) -> anyhow::Result<()> {
    let mut replica = replica
        .lock()
        .map_err(|_| anyhow!("a replica's lock was poisoned"))?;
    let token = replica.remote()?.and_then(|r| r.token);
    replica.set_remote(&Remote {
        url: url.to_owned(),
        token,
        ca_cert: None,
    })?;
    Ok(())
}
