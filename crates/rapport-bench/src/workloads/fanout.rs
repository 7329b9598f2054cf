//! Fan-out: many light peers hold one account; a replica writes one note to it through its
//! live link; every peer must receive it. Timed from the durable write to each arrival (each
//! peer's read of the message that brought the note).
//!
//! The peers run on the relay's two cores, where a thousand of them applying the note and
//! answering it compete with the relay for the CPU it needs to reach the last of them. The
//! target is judged with the peers' own work at the lowest CPU priority ([`PeerWork::Yielding`]:
//! the relay and the peers' readers first, as if the peers had machines of their own); the same
//! notes with the peers' work alongside the relay's, at its priority, are measured right after,
//! with a crowd connected anew, and reported beside it.

use std::time::Instant;

use anyhow::{Context, anyhow};
use rapport_client::link::{self, LinkEvent, LinkState};
use tokio::sync::mpsc;

use super::{EVENT_TIMEOUT, write_note};
use crate::lab::{Lab, SYNC_TIMEOUT};
use crate::peer::{Crowd, PeerWork};
use crate::stats::{Row, Unit, percentile};

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let url = lab.restart_relay()?;
    let [writer, _] = lab.pair()?;
    let token = lab.fixture.full.tokens[3].clone();
    let account = lab.fixture.full.accounts[0];
    let (peers, runs) = (lab.sizes.fanout, lab.sizes.runs);
    let modes = [PeerWork::Yielding, PeerWork::Alongside];
    let latencies: Vec<Vec<Vec<f64>>> = lab.runtime.block_on(async {
        let (local, live) = mpsc::unbounded_channel();
        let (online_tx, mut online) = mpsc::unbounded_channel();
        let watch = tokio::spawn(link::watch_shared(writer.clone(), Some(live), move |e| {
            if let LinkEvent::Status(s) = e
                && s.state == LinkState::Online
            {
                let _ = online_tx.send(());
            }
        }));
        let measured = async {
            tokio::time::timeout(EVENT_TIMEOUT, online.recv())
                .await
                .map_err(|_| anyhow!("the writer did not come online"))?;
            let mut by_mode = Vec::new();
            for (mode, work) in modes.into_iter().enumerate() {
                let mut crowd = Crowd::connect(&url, &token, peers, work).await?;
                crowd
                    .fetch_all(account, SYNC_TIMEOUT)
                    .await
                    .context("every peer fetching the account")?;
                let mut all = Vec::new();
                for run in 0..runs {
                    write_note(&writer, account, mode * runs + run).await?;
                    let written = Instant::now();
                    local
                        .send(account)
                        .map_err(|_| anyhow!("the writer's link stopped"))?;
                    let arrivals = crowd.arrivals(account, EVENT_TIMEOUT).await?;
                    all.push(
                        arrivals
                            .iter()
                            .map(|at| at.saturating_duration_since(written).as_secs_f64() * 1000.0)
                            .collect(),
                    );
                }
                by_mode.push(all);
            }
            Ok::<_, anyhow::Error>(by_mode)
        }
        .await;
        watch.abort();
        if let Ok(Err(error)) = watch.await {
            return Err(anyhow!("the writer's link failed: {error}"));
        }
        measured
    })?;
    lab.stop_relay()?;
    let size = format!("1 account, {peers} peers");
    let p = |mode: usize, q: f64| {
        latencies[mode]
            .iter()
            .map(|l| percentile(l, q))
            .collect::<Vec<_>>()
    };
    let yielding = "the peers' own work yielding";
    let alongside = "the peers' own work at the relay's priority";
    Ok(vec![
        Row::new(
            "fan-out",
            size.clone(),
            &format!("p50 arrival of one note, {yielding}"),
            Unit::Millis,
        )
        .with_runs(p(0, 50.0)),
        Row::new(
            "fan-out",
            size.clone(),
            &format!("p99 arrival of one note, {yielding}"),
            Unit::Millis,
        )
        .under(100.0)
        .with_runs(p(0, 99.0)),
        Row::new(
            "fan-out",
            size.clone(),
            &format!("p50 arrival of one note, {alongside}"),
            Unit::Millis,
        )
        .with_runs(p(1, 50.0)),
        Row::new(
            "fan-out",
            size,
            &format!("p99 arrival of one note, {alongside}"),
            Unit::Millis,
        )
        .with_runs(p(1, 99.0)),
    ])
}
