//! Reconnect with nothing changed: one round trip whatever the workspace's size. Timed, and its
//! bytes counted both ways by a proxy, for the whole workspace and for one a tenth its size.

use std::time::{Duration, Instant};

use anyhow::Context;
use rapport_client::link;
use rapport_store::{Remote, Replica};

use super::accounts;
use crate::lab::{Lab, SYNC_TIMEOUT};
use crate::proxy::{CountingProxy, Traffic};
use crate::stats::{Row, Unit, millis, percentile};

const PROXY_TIMEOUT: Duration = Duration::from_secs(10);

/// One workspace's reconnects: the median time of each run, and the bytes of each run's last
/// reconnect.
struct Measured {
    times: Vec<f64>,
    traffic: Vec<Traffic>,
}

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let url = lab.relay_url()?;
    let full = lab.take_joined()?;
    let tenth_token = lab.fixture.tenth.tokens[0].clone();
    let tenth = lab.join(&url, &tenth_token)?;
    let (n, small) = (lab.sizes.accounts, lab.fixture.tenth.accounts.len());
    let (full_replica, at_n) = measure(lab, full.replica, &url)?;
    lab.keep_joined(crate::lab::Joined {
        dir: full.dir,
        replica: full_replica,
    });
    let (_, at_tenth) = measure(lab, tenth.replica, &url)?;
    let bytes = |m: &Measured, up: bool| -> Vec<f64> {
        let pick = |t: &Traffic| if up { t.up } else { t.down } as f64;
        m.traffic.iter().map(pick).collect()
    };
    let row = |size: usize, metric: &str, unit: Unit| {
        Row::new("reconnect, nothing changed", accounts(size), metric, unit)
    };
    Ok(vec![
        row(n, "time (p50 of each run)", Unit::Millis)
            .under(20.0)
            .with_runs(at_n.times.clone()),
        row(n, "bytes client → relay", Unit::Bytes).with_runs(bytes(&at_n, true)),
        row(n, "bytes relay → client", Unit::Bytes).with_runs(bytes(&at_n, false)),
        row(small, "time (p50 of each run)", Unit::Millis).with_runs(at_tenth.times.clone()),
        row(small, "bytes client → relay", Unit::Bytes).with_runs(bytes(&at_tenth, true)),
        row(small, "bytes relay → client", Unit::Bytes).with_runs(bytes(&at_tenth, false)),
    ])
}

/// Reconnects `replica` through a counting proxy, `reconnects` times per run.
fn measure(lab: &mut Lab, replica: Replica, url: &str) -> anyhow::Result<(Replica, Measured)> {
    let token = replica.remote()?.and_then(|r| r.token);
    let mut proxy = lab.runtime.block_on(CountingProxy::start(url))?;
    let through = Remote {
        url: proxy.url.clone(),
        token,
        ca_cert: None,
    };
    let mut replica = Some(replica);
    let mut times = Vec::new();
    let mut traffic = Vec::new();
    for _ in 0..lab.sizes.runs {
        let mut samples = Vec::new();
        let mut last = Traffic { up: 0, down: 0 };
        for _ in 0..lab.sizes.reconnects {
            let current = replica.take().context("the replica was lost")?;
            let started = Instant::now();
            let (back, _) = lab
                .runtime
                .block_on(link::sync_once_with(
                    current,
                    Some(through.clone()),
                    SYNC_TIMEOUT,
                ))
                .context("reconnecting")?;
            samples.push(millis(started.elapsed()));
            replica = Some(back);
            last = lab.runtime.block_on(proxy.next_finished(PROXY_TIMEOUT))?;
        }
        times.push(percentile(&samples, 50.0));
        traffic.push(last);
    }
    let mut replica = replica.context("the replica was lost")?;
    // Back to the relay itself: the proxy goes away with this workload.
    replica.set_remote(&Remote {
        url: url.to_owned(),
        token: through.token,
        ca_cert: None,
    })?;
    Ok((replica, Measured { times, traffic }))
}
