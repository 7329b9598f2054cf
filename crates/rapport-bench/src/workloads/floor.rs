//! The floors: what Automerge's own work costs before any of Rapport's, in one process with no
//! network and no disk, messages encoded and decoded as on a wire.
//!
//! - Raw sync of every account between two in-memory sets of documents (the cold join's).
//! - The load's work per note: a note made by one of a pair of peers, carried to the other
//!   through a third copy that plays the relay, until all three are in step. The relay's part
//!   and the peers' part are timed apart, which gives how many cores each would need at the
//!   load's offered rate.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use automerge::Automerge;
use automerge::sync::{self, SyncDoc};
use rapport_model::account::{self, NewEntry};
use rapport_model::{Edit, EntryId, EntryKind};

use super::accounts;
use crate::corpus::user;
use crate::fixture::MEMBERS;
use crate::lab::Lab;
use crate::stats::{Row, Unit, millis};

/// More rounds than any document needs: a sync that does not end is a failure.
const MAX_ROUNDS: usize = 100;

/// Notes per second the load workload offers for each of its clients.
const LOAD_RATE: f64 = 10.0;

/// Notes added to each account: about what each of the load's accounts gains in its minute.
const NOTES_PER_ACCOUNT: usize = 100;

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
    let mut rows = vec![
        Row::new(
            "floor: raw Automerge sync",
            accounts(n),
            "in memory, one process",
            Unit::Millis,
        )
        .with_runs(runs),
    ];
    rows.extend(load_floor(lab)?);
    Ok(rows)
}

/// The load's notes through raw Automerge: per note, the relay's work and the peers', and the
/// cores each would need for the load's clients at its rate.
fn load_floor(lab: &Lab) -> anyhow::Result<Vec<Row>> {
    let pairs = (lab.sizes.load_clients / 2).clamp(1, lab.corpus.accounts.len());
    let notes = if lab.sizes.quick {
        10
    } else {
        NOTES_PER_ACCOUNT
    };
    let (mut relay, mut peers) = (Vec::new(), Vec::new());
    for _ in 0..lab.sizes.runs {
        let mut spent = Spent::default();
        let mut trios = lab.corpus.accounts[..pairs]
            .iter()
            .map(|account| Trio::new(&account.doc))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for trio in &mut trios {
            trio.settle(&mut spent)?;
        }
        spent = Spent::default();
        // A note on each account in turn, as the load's peers write them, rather than all of
        // one account's notes in a row (which would find every document in the CPU's caches).
        for n in 0..notes {
            for trio in &mut trios {
                trio.note(n % 2, n, &mut spent)?;
                trio.settle(&mut spent)?;
            }
        }
        let made = (pairs * notes) as f64;
        relay.push(millis(spent.relay) / made);
        peers.push(millis(spent.peers) / made);
    }
    let clients = lab.sizes.load_clients as f64;
    let size = format!("{pairs} pairs of peers on an account each, {notes} notes per account");
    let per_note = |metric: &str, runs: &[f64]| {
        Row::new(
            "floor: the load's notes",
            size.clone(),
            metric,
            Unit::Millis,
        )
        .with_runs(runs.to_vec())
    };
    // Milliseconds of work per note, times notes per second, over a thousand: cores.
    let cores = |runs: &[f64]| {
        runs.iter()
            .map(|ms| ms * clients * LOAD_RATE / 1000.0)
            .collect()
    };
    let at_rate = |metric: &str, runs: &[f64]| {
        Row::new(
            "floor: the load's notes",
            size.clone(),
            &format!("{metric} at {} notes/s", clients * LOAD_RATE),
            Unit::Cores,
        )
        .with_runs(cores(runs))
    };
    Ok(vec![
        per_note("the relay's Automerge work per note", &relay),
        per_note("the two peers' Automerge work per note", &peers),
        at_rate("cores the relay's part needs", &relay),
        at_rate("cores the peers' part needs", &peers),
    ])
}

/// Time spent by each side.
#[derive(Default)]
struct Spent {
    relay: Duration,
    peers: Duration,
}

/// One account held by two peers and the relay between them, with the relay's sync state for
/// each peer and each peer's for the relay.
struct Trio {
    peers: [Automerge; 2],
    relay: Automerge,
    /// The peers' states for the relay.
    peer_states: [sync::State; 2],
    /// The relay's states for each peer.
    relay_states: [sync::State; 2],
    edit: Edit,
}

impl Trio {
    fn new(doc: &Automerge) -> anyhow::Result<Self> {
        let (member, team) = MEMBERS[0];
        Ok(Self {
            peers: [doc.fork(), doc.fork()],
            relay: Automerge::load(&doc.save())?,
            peer_states: [sync::State::new(), sync::State::new()],
            relay_states: [sync::State::new(), sync::State::new()],
            edit: Edit::now(user(member)?, team),
        })
    }

    /// Peer `side` adds note `n`.
    fn note(&mut self, side: usize, n: usize, spent: &mut Spent) -> anyhow::Result<()> {
        let entry = NewEntry {
            kind: EntryKind::Note,
            text: format!("load note {n} from peer {side}"),
            alert: Vec::new(),
        };
        let started = Instant::now();
        let edit = &self.edit;
        self.peers[side]
            .transact_with(
                |_| edit.commit_options(),
                |tx| account::add_entry(tx, edit, EntryId::new(), &entry),
            )
            .map_err(|failure| anyhow!("adding a note: {}", failure.error))?;
        spent.peers += started.elapsed();
        Ok(())
    }

    /// Exchanges messages, a round at a time, until no side has anything to say; then all
    /// three must hold the same heads.
    fn settle(&mut self, spent: &mut Spent) -> anyhow::Result<()> {
        for _ in 0..MAX_ROUNDS {
            let mut said = false;
            for side in 0..2 {
                let (peer, peer_state) = (&mut self.peers[side], &mut self.peer_states[side]);
                let (relay, relay_state) = (&mut self.relay, &mut self.relay_states[side]);
                said |= carry(
                    (&mut *peer, &mut *peer_state, &mut spent.peers),
                    (&mut *relay, &mut *relay_state, &mut spent.relay),
                )?;
                said |= carry(
                    (relay, relay_state, &mut spent.relay),
                    (peer, peer_state, &mut spent.peers),
                )?;
            }
            if !said {
                let heads = self.relay.get_heads();
                if self.peers.iter().any(|peer| peer.get_heads() != heads) {
                    bail!("the load floor's sync ended with the copies apart");
                }
                return Ok(());
            }
        }
        bail!("the load floor's sync did not end in {MAX_ROUNDS} rounds")
    }
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

/// One copy of a document, its sync state for the other end, and the time its side spends.
type End<'a> = (&'a mut Automerge, &'a mut sync::State, &'a mut Duration);

/// Generates `from`'s message for `to`, if it has one, and has `to` receive it, each side's work
/// timed to its side; whether there was a message.
fn carry(from: End<'_>, to: End<'_>) -> anyhow::Result<bool> {
    let started = Instant::now();
    let message = from.0.generate_sync_message(from.1).map(|m| m.encode());
    *from.2 += started.elapsed();
    let Some(bytes) = message else {
        return Ok(false);
    };
    let started = Instant::now();
    let decoded = sync::Message::decode(&bytes).context("decoding")?;
    to.0.receive_sync_message(to.1, decoded)?;
    *to.2 += started.elapsed();
    Ok(true)
}
