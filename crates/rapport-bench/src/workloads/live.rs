//! A relay with every account stored and `clients` connected: two replicas live
//! (`link::watch_shared`, as the local node runs them) and light peers for the rest. Measures
//! the relay's resident memory once all are connected and idle, and — for `propagation` — the
//! time from one client's durable note to the other's link reporting it, note after note.
//! Each run starts a fresh relay process over the same data.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use rapport_client::link::{self, LinkEvent, LinkState, SharedReplica};
use rapport_model::DocumentId;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{EVENT_TIMEOUT, accounts, write_note};
use crate::lab::Lab;
use crate::peer::{Crowd, PeerWork};
use crate::stats::{Row, Unit, percentile};

/// How long everything stays idle before the memory reading.
const IDLE: Duration = Duration::from_millis(500);

/// What one run measured.
struct Measured {
    rss_mb: f64,
    peak_mb: f64,
    latencies: Vec<f64>,
}

/// What a live link reports, stamped when it was reported.
enum Heard {
    Online,
    Changed(Vec<DocumentId>, Instant),
}

pub fn run(lab: &mut Lab, propagation: bool) -> anyhow::Result<Vec<Row>> {
    let mut runs = Vec::new();
    for run in 0..lab.sizes.runs {
        runs.push(one_run(lab, propagation, run)?);
    }
    lab.stop_relay()?;
    let size = format!(
        "{}, {} clients",
        accounts(lab.sizes.accounts),
        lab.sizes.clients
    );
    if !propagation {
        let rss = runs.iter().map(|m| m.rss_mb).collect();
        let peak = runs.iter().map(|m| m.peak_mb).collect();
        return Ok(vec![
            Row::new(
                "relay memory",
                size.clone(),
                "RSS, clients idle",
                Unit::Megabytes,
            )
            .under(150.0)
            .with_runs(rss),
            Row::new(
                "relay memory",
                size,
                "peak RSS so far (VmHWM)",
                Unit::Megabytes,
            )
            .with_runs(peak),
        ]);
    }
    let p = |q: f64| runs.iter().map(|m| percentile(&m.latencies, q)).collect();
    let metric = |q: &str| format!("{q} of {} notes A → relay → B", lab.sizes.notes);
    Ok(vec![
        Row::new(
            "note propagation",
            size.clone(),
            &metric("p50"),
            Unit::Millis,
        )
        .under(1.0)
        .with_runs(p(50.0)),
        Row::new("note propagation", size, &metric("p99"), Unit::Millis)
            .under(5.0)
            .with_runs(p(99.0)),
    ])
}

fn one_run(lab: &mut Lab, propagation: bool, run: usize) -> anyhow::Result<Measured> {
    let url = lab.restart_relay()?;
    let pair = lab.pair()?;
    let light = lab.sizes.clients.saturating_sub(2);
    let token = lab.fixture.full.tokens[3].clone();
    let (notes, ids) = (lab.sizes.notes, lab.fixture.full.accounts.clone());
    let relay = lab.relay().ok_or_else(|| anyhow!("no relay"))?;
    lab.runtime.block_on(async {
        let crowd = Crowd::connect(&url, &token, light, PeerWork::Alongside).await?;
        let (local, live) = mpsc::unbounded_channel();
        let (a, mut a_heard) = start_watch(&pair[0], Some(live));
        let (b, mut b_heard) = start_watch(&pair[1], None);
        let measured = async {
            wait_online(&mut a_heard).await.context("client A")?;
            wait_online(&mut b_heard).await.context("client B")?;
            tokio::time::sleep(IDLE).await;
            let rss_mb = relay.rss_bytes()? as f64 / 1e6;
            let peak_mb = relay.peak_rss_bytes()? as f64 / 1e6;
            let mut latencies = Vec::new();
            for i in 0..if propagation { notes } else { 0 } {
                let id = ids[(run * notes + i) % ids.len()];
                write_note(&pair[0], id, i).await?;
                let written = Instant::now();
                local
                    .send(id)
                    .map_err(|_| anyhow!("client A's link stopped"))?;
                let heard = wait_changed(&mut b_heard, id).await?;
                latencies.push(heard.saturating_duration_since(written).as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(Measured {
                rss_mb,
                peak_mb,
                latencies,
            })
        }
        .await;
        stop(a).await?;
        stop(b).await?;
        drop(crowd);
        measured
    })
}

/// Runs a live link over `replica`, reporting what it hears.
fn start_watch(
    replica: &SharedReplica,
    local: Option<mpsc::UnboundedReceiver<DocumentId>>,
) -> (
    JoinHandle<Result<(), link::LinkError>>,
    mpsc::UnboundedReceiver<Heard>,
) {
    let (tx, heard) = mpsc::unbounded_channel();
    let watch = tokio::spawn(link::watch_shared(replica.clone(), local, move |event| {
        let _ = match event {
            LinkEvent::Changed(ids) => tx.send(Heard::Changed(ids.to_vec(), Instant::now())),
            LinkEvent::Status(status) if status.state == LinkState::Online => {
                tx.send(Heard::Online)
            }
            _ => Ok(()),
        };
    }));
    (watch, heard)
}

async fn wait_online(heard: &mut mpsc::UnboundedReceiver<Heard>) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, heard.recv()).await {
            Ok(Some(Heard::Online)) => return Ok(()),
            Ok(Some(Heard::Changed(..))) => {}
            Ok(None) => bail!("the link stopped"),
            Err(_) => bail!("not online within {EVENT_TIMEOUT:?}"),
        }
    }
}

/// When the link reported document `id` changed.
async fn wait_changed(
    heard: &mut mpsc::UnboundedReceiver<Heard>,
    id: DocumentId,
) -> anyhow::Result<Instant> {
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, heard.recv()).await {
            Ok(Some(Heard::Changed(ids, at))) if ids.contains(&id) => return Ok(at),
            Ok(Some(_)) => {}
            Ok(None) => bail!("client B's link stopped"),
            Err(_) => bail!("the note on {id} did not reach client B within {EVENT_TIMEOUT:?}"),
        }
    }
}

/// Ends a live link; one that had already failed fails the workload.
async fn stop(watch: JoinHandle<Result<(), link::LinkError>>) -> anyhow::Result<()> {
    watch.abort();
    match watch.await {
        Ok(Err(error)) => Err(anyhow!("a link failed: {error}")),
        _ => Ok(()),
    }
}
