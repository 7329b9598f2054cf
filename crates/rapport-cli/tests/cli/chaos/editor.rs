//! An editor's part of a cycle: its watcher stopped, its edit commands run one after the other
//! (one of them killed when the plan says so, then retried), its watcher restarted; and what a
//! kill hit, read back from the replica.

use std::sync::mpsc::Sender;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use rapport_store::Replica;

use super::Client;
use super::ledger::{Attempt, Hit, Ledger};
use super::plan::{EditorPlan, Kind, Step};
use crate::processes::PATIENCE;
use crate::support::{Data, array, document_id};

/// An editor's part of a cycle: stops its watcher, runs its edits (killing the one the plan
/// says, then retrying it), restarts its watcher and says so on `restarted`.
pub fn edit(
    client: &Client,
    plan: &EditorPlan,
    cycle: usize,
    ledger: &Mutex<Ledger>,
    restarted: &Sender<(usize, Instant)>,
) {
    let editor = Editor {
        client,
        index: plan.client,
        cycle,
        ledger,
    };
    client.stop_watcher();
    let mut fresh: Option<String> = None;
    for (index, step) in plan.steps.iter().enumerate() {
        let account = match (&step.account, &step.kind) {
            (Some(account), _) => account.clone(),
            (None, Kind::Account) => String::new(),
            (None, _) => fresh.clone().expect("the cycle's new account comes first"),
        };
        let kill = plan.kill.filter(|(at, _)| *at == index).map(|(_, f)| f);
        let attempt = editor.run(step, &account, kill);
        if step.kind == Kind::Account {
            fresh = attempt.id.clone();
        }
        if !attempt.acknowledged {
            let again = editor.run(&step.retried(), &account, None);
            assert!(again.acknowledged, "a retry is never killed");
        }
    }
    client.start_watcher();
    let _ = restarted.send((plan.client, Instant::now()));
}

/// One client editing in one cycle.
struct Editor<'a> {
    client: &'a Client,
    index: usize,
    cycle: usize,
    ledger: &'a Mutex<Ledger>,
}

impl Editor<'_> {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().expect("the ledger")
    }

    /// Runs one edit command on `account`; with `kill`, kills it at that fraction of the
    /// time such a command usually takes. Records the attempt, and what the kill hit.
    fn run(&self, step: &Step, account: &str, kill: Option<f64>) -> Attempt {
        let args = step.args(account);
        let big = step.kind == Kind::BigNote;
        let run = match kill {
            None => {
                let started = Instant::now();
                let run = self.client.data.run(&args).ok();
                self.ledger().timings.record(big, started.elapsed());
                run
            }
            Some(fraction) => {
                let delay = self.ledger().timings.usual(big).mul_f64(fraction);
                let mut command = self.client.data.spawn(&args);
                thread::sleep(delay);
                command.kill_now();
                command.finish(PATIENCE)
            }
        };
        let acknowledged = match run.code {
            Some(0) => true,
            None => false,
            Some(_) => panic!(
                "{} cycle {}: an edit failed: {run:?}",
                self.client.user, self.cycle
            ),
        };
        let id = (acknowledged && step.kind.prints_id()).then(|| run.stdout.trim_end().to_owned());
        let attempt = Attempt {
            cycle: self.cycle,
            client: self.index,
            kind: step.kind.clone(),
            account: id
                .clone()
                .filter(|_| step.kind == Kind::Account)
                .unwrap_or(account.to_owned()),
            text: step.text.clone(),
            id,
            acknowledged,
        };
        if let Some(fraction) = kill {
            let hit = kill_outcome(self.client, &attempt);
            self.ledger()
                .tally
                .edit_killed(&attempt.kind, hit, fraction);
        } else if big {
            let compacted = stored_as_one_snapshot(&self.client.data, account);
            self.ledger().tally.big_note_written(compacted);
        }
        self.ledger().attempts.push(attempt.clone());
        attempt
    }
}

/// Where a kill landed, as the replica shows it afterwards (reopened by a command of its own).
pub fn kill_outcome(client: &Client, attempt: &Attempt) -> Hit {
    if attempt.acknowledged {
        return Hit::AfterExit;
    }
    let shown = client.data.show(&attempt.account);
    let present = match attempt.kind {
        Kind::Note | Kind::BigNote => array(&shown["timeline"])
            .iter()
            .any(|entry| entry["text"] == attempt.text.as_str()),
        Kind::Contact => array(&shown["contacts"])
            .iter()
            .any(|contact| contact["name"] == attempt.text.as_str()),
        Kind::Field(_) | Kind::Account => return Hit::Unknown,
    };
    if !present {
        return Hit::BeforeCommit;
    }
    if attempt.kind == Kind::BigNote && stored_as_one_snapshot(&client.data, &attempt.account) {
        return Hit::AfterCompaction;
    }
    Hit::AfterCommit
}

/// Whether `account` is stored as one snapshot and no chunks: right after a compaction.
/// (Read with the store library, while no process holds the replica.)
pub fn stored_as_one_snapshot(data: &Data, account: &str) -> bool {
    let replica = Replica::open(&data.dir).expect("the replica opens");
    let saved = replica
        .saved_document(document_id(account))
        .expect("the stored document")
        .expect("the account is stored");
    chunk_types(&saved.data) == [0]
}

/// The types of the chunks of Automerge's storage format in `bytes`, in order: 0 a whole
/// document (a snapshot), 1 a change, 2 a compressed change. Each chunk is the magic bytes,
/// a 4-byte checksum, the type, a LEB128 length and that many bytes.
pub fn chunk_types(bytes: &[u8]) -> Vec<u8> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    let mut types = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        assert_eq!(bytes[at..at + 4], MAGIC, "an Automerge chunk at byte {at}");
        types.push(bytes[at + 8]);
        let (mut length, mut shift, mut read) = (0usize, 0, at + 9);
        loop {
            let byte = bytes[read];
            length |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            read += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        at = read + length;
    }
    types
}
