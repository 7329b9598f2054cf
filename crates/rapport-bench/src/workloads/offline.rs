//! Offline edits: each of two clients edits its own accounts while the relay is up but they are
//! not connected; then both connect (`link::watch_shared`, as the local node does), timed until
//! each holds the other's edits.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{anyhow, bail};
use rapport_client::link::{self, LinkEvent, SharedReplica};
use rapport_model::DocumentId;
use tokio::sync::mpsc;

use super::{EVENT_TIMEOUT, accounts, write_note};
use crate::lab::Lab;
use crate::stats::{Row, Unit, millis};

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let pair = lab.pair()?;
    let edits = lab.sizes.offline_edits;
    let ids = lab.fixture.full.accounts.clone();
    let mut runs = Vec::new();
    for run in 0..lab.sizes.runs {
        // Different accounts each run (wrapping round a small workspace).
        let pick = |k: usize| ids[(run * 2 * edits + k) % ids.len()];
        let mine: [Vec<DocumentId>; 2] = [
            (0..edits).map(pick).collect(),
            (edits..2 * edits).map(pick).collect(),
        ];
        let elapsed = lab.runtime.block_on(converge(&pair, &mine, run))?;
        runs.push(elapsed);
        check_converged(&pair, &mine)?;
    }
    Ok(vec![
        Row::new(
            "reconnect after offline edits",
            format!(
                "{}, 2 clients × {edits} edited accounts",
                accounts(lab.sizes.accounts)
            ),
            "until both converged",
            Unit::Millis,
        )
        .under(200.0)
        .with_runs(runs),
    ])
}

/// Edits offline, then connects both and waits until each has received the other's edits.
async fn converge(
    pair: &[SharedReplica; 2],
    mine: &[Vec<DocumentId>; 2],
    run: usize,
) -> anyhow::Result<f64> {
    for (replica, ids) in pair.iter().zip(mine) {
        for (k, id) in ids.iter().enumerate() {
            write_note(replica, *id, run * 1000 + k).await?;
        }
    }
    let (tx, mut arrived) = mpsc::unbounded_channel::<(usize, Vec<DocumentId>)>();
    let started = Instant::now();
    let watches: Vec<_> = pair
        .iter()
        .enumerate()
        .map(|(side, replica)| {
            let tx = tx.clone();
            tokio::spawn(link::watch_shared(replica.clone(), None, move |event| {
                if let LinkEvent::Changed(ids) = event {
                    let _ = tx.send((side, ids.to_vec()));
                }
            }))
        })
        .collect();
    // Side 0 waits for side 1's accounts, and the other way round.
    let mut missing: [HashSet<DocumentId>; 2] = [
        mine[1].iter().copied().collect(),
        mine[0].iter().copied().collect(),
    ];
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    let waited = async {
        while missing.iter().any(|m| !m.is_empty()) {
            match tokio::time::timeout_at(deadline, arrived.recv()).await {
                Ok(Some((side, ids))) => ids.iter().for_each(|id| {
                    missing[side].remove(id);
                }),
                Ok(None) => bail!("both links stopped"),
                Err(_) => bail!(
                    "not converged within {EVENT_TIMEOUT:?}: {} and {} accounts missing",
                    missing[0].len(),
                    missing[1].len()
                ),
            }
        }
        Ok(millis(started.elapsed()))
    }
    .await;
    for watch in &watches {
        watch.abort();
    }
    for watch in watches {
        if let Ok(Err(error)) = watch.await {
            return Err(anyhow!("a link failed: {error}"));
        }
    }
    waited
}

/// Both replicas hold the same heads for every edited account.
fn check_converged(pair: &[SharedReplica; 2], mine: &[Vec<DocumentId>; 2]) -> anyhow::Result<()> {
    for id in mine.iter().flatten() {
        let heads: Vec<_> = pair
            .iter()
            .map(|replica| {
                let mut replica = replica
                    .lock()
                    .map_err(|_| anyhow!("a replica's lock was poisoned"))?;
                Ok(replica.read_document(*id, automerge::Automerge::get_heads)?)
            })
            .collect::<anyhow::Result<_>>()?;
        if heads[0] != heads[1] || heads[0].is_none() {
            bail!("account {id} differs between the two clients");
        }
    }
    Ok(())
}
