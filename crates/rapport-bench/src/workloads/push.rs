//! Push: a client holding every account (made locally, not fetched) syncs to an empty
//! workspace on the relay; timed until both sides hold the same.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use automerge::Automerge;
use rapport_client::link;
use rapport_model::{DocumentId, workspace};
use rapport_store::Replica;

use super::accounts;
use crate::lab::{Lab, SYNC_TIMEOUT};
use crate::relay_process::RelayProcess;
use crate::stats::{Row, Unit, millis};

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let url = lab.relay_url()?;
    let n = lab.sizes.accounts;
    let (mut runs, mut settled, mut relay_cpu) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..lab.sizes.runs {
        let token = lab.fixture.empty[run].tokens[0].clone();
        let dir = tempfile::tempdir()?;
        let (mut replica, _) = lab
            .runtime
            .block_on(link::join(dir.path(), &url, &token, SYNC_TIMEOUT))
            .context("joining the empty workspace")?;
        add_accounts(&mut replica, lab.corpus.documents(n))?;
        let relay = lab.relay().ok_or_else(|| anyhow!("no relay"))?;
        let cpu_before = relay.cpu_seconds()?;
        let started = Instant::now();
        let (_, report) = lab
            .runtime
            .block_on(link::sync_once(replica, SYNC_TIMEOUT))
            .context("pushing the accounts")?;
        runs.push(millis(started.elapsed()));
        let idle = until_idle(relay)?;
        settled.push(millis(idle.duration_since(started)));
        relay_cpu.push((relay.cpu_seconds()? - cpu_before) * 1000.0);
        if !report.summary {
            return Err(anyhow!("the relay did not agree to the summary extension"));
        }
    }
    Ok(vec![
        Row::new(
            "push",
            accounts(n),
            "sync to an empty workspace",
            Unit::Millis,
        )
        .under(1000.0)
        .with_runs(runs),
        Row::new(
            "push",
            accounts(n),
            "until the relay has checked every document (idle again)",
            Unit::Millis,
        )
        .with_runs(settled),
        Row::new(
            "push",
            accounts(n),
            "relay CPU from the push until idle",
            Unit::Millis,
        )
        .with_runs(relay_cpu),
    ])
}

/// How often the relay's CPU time is read while waiting for it to be idle.
const IDLE_TICK: Duration = Duration::from_millis(50);

/// Waits until the relay uses less than a tenth of a core over [`IDLE_TICK`] (it checks
/// pushed documents after it has answered the push); when that interval began.
fn until_idle(relay: &RelayProcess) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    let mut at = Instant::now();
    let mut cpu = relay.cpu_seconds()?;
    while Instant::now() < deadline {
        std::thread::sleep(IDLE_TICK);
        let now = relay.cpu_seconds()?;
        if now - cpu < IDLE_TICK.as_secs_f64() / 10.0 {
            return Ok(at);
        }
        (at, cpu) = (Instant::now(), now);
    }
    Err(anyhow!(
        "the relay was still busy {SYNC_TIMEOUT:?} after the push"
    ))
}

/// Stores the accounts in the replica and lists them in its workspace document, as if its user
/// had made them offline (one commit for all: the workload is the push, not the making).
fn add_accounts(
    replica: &mut Replica,
    documents: Vec<(DocumentId, Automerge, Vec<u8>)>,
) -> anyhow::Result<()> {
    let ids: Vec<DocumentId> = documents.iter().map(|(id, _, _)| *id).collect();
    replica
        .import_documents(documents)
        .context("storing the accounts locally")?;
    let edit = replica.edit_now();
    let workspace_id = replica.workspace_id();
    let listed = replica.apply_remote(workspace_id, false, |doc, _| {
        doc.transact_with(
            |_| edit.commit_options(),
            |tx| {
                for id in &ids {
                    workspace::add_account(tx, *id)?;
                }
                Ok::<_, rapport_model::EditError>(())
            },
        )
        .map(drop)
        .map_err(|f| f.error)
    })?;
    match listed {
        Some(result) => result.context("listing the accounts"),
        None => Err(anyhow!("the replica lacks its workspace document")),
    }
}
