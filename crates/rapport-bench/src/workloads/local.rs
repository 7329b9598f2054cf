//! The local replica, the whole workspace joined and indexed: a durable note, the account list,
//! and a search across every timeline entry.

use std::time::Instant;

use anyhow::bail;
use rapport_model::{EntryId, account};

use super::accounts;
use crate::corpus::{ENTRIES, WORDS, note};
use crate::lab::Lab;
use crate::stats::{Row, Unit, millis, percentile};

/// Samples of the list and of the search per run (each reads the whole index).
const READS: usize = 20;

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let mut joined = lab.take_joined()?;
    let n = lab.sizes.accounts;
    let ids = lab.fixture.full.accounts.clone();
    let (mut add, mut list, mut search) = (Vec::new(), Vec::new(), Vec::new());
    let replica = &mut joined.replica;
    for run in 0..lab.sizes.runs {
        let mut samples = Vec::new();
        for i in 0..lab.sizes.local_samples {
            let id = ids[(run * lab.sizes.local_samples + i) % ids.len()];
            let edit = replica.edit_now();
            let entry = note(i);
            let started = Instant::now();
            replica.change_account(id, &edit, |tx| {
                account::add_entry(tx, &edit, EntryId::new(), &entry)
            })?;
            samples.push(millis(started.elapsed()));
        }
        add.push(percentile(&samples, 50.0));
        list.push(sample(|| {
            let listed = replica.accounts()?.len();
            if listed < n {
                bail!("the list holds {listed} accounts, not {n}");
            }
            Ok(())
        })?);
        // A word prefix in an eighth of the notes: a selective search over every entry.
        let prefix = &WORDS[3][..5];
        search.push(sample(|| {
            if replica.search(prefix)?.is_empty() {
                bail!("the search for '{prefix}' found nothing");
            }
            Ok(())
        })?);
    }
    lab.keep_joined(joined);
    let row = |size: String, metric: &str| Row::new("local replica", size, metric, Unit::Millis);
    Ok(vec![
        row(accounts(n), "add a note, durable (p50)")
            .under(1.0)
            .with_runs(add),
        row(accounts(n), "list every account (p50)")
            .under(50.0)
            .with_runs(list),
        row(
            format!("{} timeline entries", n * ENTRIES),
            "search a word prefix (p50)",
        )
        .under(30.0)
        .with_runs(search),
    ])
}

/// The median of [`READS`] timings of `read`.
fn sample(mut read: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let mut samples = Vec::with_capacity(READS);
    for _ in 0..READS {
        let started = Instant::now();
        read()?;
        samples.push(millis(started.elapsed()));
    }
    Ok(percentile(&samples, 50.0))
}
