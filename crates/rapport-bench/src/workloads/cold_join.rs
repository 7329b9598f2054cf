//! Cold join: a fresh client fetches the whole workspace, durably (`link::join_with`,
//! indexing later); then indexes the first `link::JOIN_INDEXES` of it (what `rapport join`
//! does before it returns); and fetches and indexes it whole (`link::join`).

use std::time::Instant;

use anyhow::{Context, bail};
use rapport_client::link::{self, Indexing};

use super::accounts;
use crate::lab::{Joined, Lab, SYNC_TIMEOUT};
use crate::stats::{Row, Unit, median, millis};

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let url = lab.relay_url()?;
    let token = lab.fixture.full.tokens[0].clone();
    let n = lab.sizes.accounts;
    let (mut fetch, mut returned) = (Vec::new(), Vec::new());
    for _ in 0..lab.sizes.runs {
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let (mut replica, _) = lab
            .runtime
            .block_on(link::join_with(
                dir.path(),
                &url,
                &token,
                SYNC_TIMEOUT,
                Indexing::Later,
            ))
            .context("cold join (fetch)")?;
        fetch.push(millis(started.elapsed()));
        // The workspace document waits to be checked too.
        let waiting = replica.unindexed()?;
        if waiting != n as u64 + 1 {
            bail!(
                "the join fetched {waiting} documents to index, not {}",
                n + 1
            );
        }
        let left = replica.index_pending(link::JOIN_INDEXES)?;
        returned.push(millis(started.elapsed()));
        let expected = waiting.saturating_sub(link::JOIN_INDEXES as u64);
        if left != expected {
            bail!("the join left {left} documents to index, not {expected}");
        }
    }
    let mut indexed = Vec::new();
    for _ in 0..lab.sizes.runs {
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let (replica, _) = lab
            .runtime
            .block_on(link::join(dir.path(), &url, &token, SYNC_TIMEOUT))
            .context("cold join (fetch and index)")?;
        indexed.push(millis(started.elapsed()));
        let listed = replica.accounts()?.len();
        if listed != n {
            bail!("the joined replica lists {listed} accounts, not {n}");
        }
        lab.keep_joined(Joined { dir, replica });
    }
    lab.cold_join_ms = Some(median(&fetch));
    Ok(vec![
        Row::new(
            "cold join",
            accounts(n),
            "fetch until durable",
            Unit::Millis,
        )
        .under(1000.0)
        .with_runs(fetch),
        Row::new(
            "cold join",
            accounts(n),
            "until `rapport join` returns",
            Unit::Millis,
        )
        .under(1000.0)
        .with_runs(returned),
        Row::new("cold join", accounts(n), "fetch and index", Unit::Millis).with_runs(indexed),
    ])
}
