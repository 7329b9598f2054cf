//! The floor: raw Automerge sync of every account between two in-memory sets of documents in
//! one process (no network, no disk), messages encoded and decoded as on a wire. What the
//! protocol costs before any of Rapport's work.

use std::time::Instant;

use anyhow::{Context, bail};
use automerge::Automerge;
use automerge::sync::{self, SyncDoc};

use super::accounts;
use crate::lab::Lab;
use crate::stats::{Row, Unit, millis};

/// More rounds than any document needs: a sync that does not end is a failure.
const MAX_ROUNDS: usize = 100;

pub fn run(lab: &mut Lab) -> anyhow::Result<Vec<Row>> {
    let n = lab.sizes.accounts;
    let mut runs = Vec::new();
    for _ in 0..lab.sizes.runs {
        let mut sources: Vec<Automerge> =
            lab.corpus.accounts.iter().map(|a| a.doc.clone()).collect();
        let started = Instant::now();
        for source in &mut sources {
            sync_one(source)?;
        }
        runs.push(millis(started.elapsed()));
    }
    Ok(vec![
        Row::new(
            "floor: raw Automerge sync",
            accounts(n),
            "in memory, one process",
            Unit::Millis,
        )
        .with_runs(runs),
    ])
}

/// Syncs `source` into a new empty document until neither side has anything to say.
fn sync_one(source: &mut Automerge) -> anyhow::Result<()> {
    let mut target = Automerge::new();
    let (mut theirs, mut ours) = (sync::State::new(), sync::State::new());
    for _ in 0..MAX_ROUNDS {
        let out = source.generate_sync_message(&mut theirs);
        let back = target.generate_sync_message(&mut ours);
        if out.is_none() && back.is_none() {
            if target.get_heads() != source.get_heads() {
                bail!("the sync ended with the documents apart");
            }
            return Ok(());
        }
        if let Some(message) = out {
            let wire = sync::Message::decode(&message.encode()).context("decoding")?;
            target.receive_sync_message(&mut ours, wire)?;
        }
        if let Some(message) = back {
            let wire = sync::Message::decode(&message.encode()).context("decoding")?;
            source.receive_sync_message(&mut theirs, wire)?;
        }
    }
    bail!("the sync did not end in {MAX_ROUNDS} rounds")
}
