//! The plan of a cycle, drawn from the seeded generator before anything runs: who edits what,
//! which process is killed, and when.

use std::fmt;
use std::time::Duration;

use rand::Rng;
use rand::rngs::StdRng;

use super::{MEMBERS, SYNC_KILL};

/// Words in a big note: about 9,000 characters, a change of more than 4 KiB even compressed,
/// so that each of the first big notes on a new account compacts it.
pub const BIG_NOTE_WORDS: usize = 1_400;

/// When an edit command is killed, as a fraction of the time such a command usually takes in
/// this run (a small edit 40-140 ms in a debug build, a big note 150-500 ms): from its start-up
/// through its commit, which comes last (with the compaction in it), to just after it exits.
pub const KILL_FRACTIONS: std::ops::Range<f64> = 0.3..1.1;

/// The plan of one cycle, drawn from the seeded generator.
pub struct CyclePlan {
    pub editors: Vec<EditorPlan>,
    pub victim: Victim,
}

/// What one client edits in a cycle, and which of its commands is killed, at what fraction
/// of its usual run time.
pub struct EditorPlan {
    pub client: usize,
    pub steps: Vec<Step>,
    pub kill: Option<(usize, f64)>,
}

/// Which process a cycle kills.
#[derive(Clone, Copy, Debug)]
pub enum Victim {
    Relay { delay: Duration },
    Watcher { client: usize, delay: Duration },
    Edit { client: usize },
}

/// One edit command; `account` is `None` for the cycle's new account.
#[derive(Clone, Debug)]
pub struct Step {
    pub kind: Kind,
    pub account: Option<String>,
    pub text: String,
}

/// The kinds of edit.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `account add NAME`.
    Account,
    /// `note add ACCOUNT TEXT`, a few words.
    Note,
    /// A note of [`BIG_NOTE_WORDS`] words on the cycle's new account: it compacts the account.
    BigNote,
    /// `contact add ACCOUNT --name NAME`.
    Contact,
    /// `account set ACCOUNT FIELD=VALUE`.
    Field(String),
}

impl Kind {
    pub fn prints_id(&self) -> bool {
        !matches!(self, Kind::Field(_))
    }
}

impl Step {
    pub fn args(&self, account: &str) -> Vec<String> {
        let args: Vec<&str> = match &self.kind {
            Kind::Account => vec!["account", "add", &self.text],
            Kind::Note | Kind::BigNote => vec!["note", "add", account, &self.text],
            Kind::Contact => vec!["contact", "add", account, "--name", &self.text],
            Kind::Field(field) => {
                return vec![
                    "account".into(),
                    "set".into(),
                    account.into(),
                    format!("{field}={}", self.text),
                ];
            }
        };
        args.into_iter().map(str::to_owned).collect()
    }

    /// The same edit again, told apart from the killed one.
    pub fn retried(&self) -> Self {
        Self {
            text: format!("{} (retried)", self.text),
            ..self.clone()
        }
    }
}

impl CyclePlan {
    /// One to three editors with one to three small edits each; in about a third of the
    /// cycles one of them also makes a new account and writes two big notes on it. The victim
    /// is the relay, a watcher or an edit command, a third of the time each.
    pub fn new(rng: &mut StdRng, cycle: usize, shared: &[String]) -> Self {
        let mut editing: Vec<usize> = (0..MEMBERS.len())
            .filter(|_| rng.random_bool(0.6))
            .collect();
        if editing.is_empty() {
            editing.push(rng.random_range(0..MEMBERS.len()));
        }
        let compacting = rng
            .random_bool(0.35)
            .then(|| editing[rng.random_range(0..editing.len())]);
        let mut editors: Vec<EditorPlan> = editing
            .into_iter()
            .map(|client| {
                let mut steps = small_steps(rng, cycle, client, shared);
                if compacting == Some(client) {
                    let at = rng.random_range(0..=steps.len());
                    steps.splice(at..at, big_steps(rng, cycle, client));
                }
                EditorPlan {
                    client,
                    steps,
                    kill: None,
                }
            })
            .collect();
        // A compacting cycle kills an edit (most likely a big note) half the time.
        let roll = match compacting {
            Some(_) if rng.random_bool(0.5) => 2,
            _ => rng.random_range(0..3),
        };
        let victim = match roll {
            0 => Victim::Relay {
                delay: random_delay(rng, SYNC_KILL),
            },
            1 => Victim::Watcher {
                client: rng.random_range(0..MEMBERS.len()),
                delay: random_delay(rng, SYNC_KILL),
            },
            _ => {
                let editor = match compacting {
                    Some(client) => editors.iter().position(|e| e.client == client),
                    None => None,
                }
                .unwrap_or_else(|| rng.random_range(0..editors.len()));
                editors[editor].kill = Some(choose_kill(rng, &editors[editor].steps));
                Victim::Edit {
                    client: editors[editor].client,
                }
            }
        };
        Self { editors, victim }
    }
}

/// Which step to kill, and when: a big note more often than not when there are some.
pub fn choose_kill(rng: &mut StdRng, steps: &[Step]) -> (usize, f64) {
    let big: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i].kind == Kind::BigNote)
        .collect();
    let at = if !big.is_empty() && rng.random_bool(0.7) {
        big[rng.random_range(0..big.len())]
    } else {
        let killable: Vec<usize> = (0..steps.len())
            .filter(|&i| steps[i].kind != Kind::Account)
            .collect();
        killable[rng.random_range(0..killable.len())]
    };
    (at, rng.random_range(KILL_FRACTIONS))
}

pub fn random_delay(rng: &mut StdRng, within: Duration) -> Duration {
    Duration::from_millis(rng.random_range(0..=within.as_millis() as u64))
}

/// One to three small edits on the shared accounts: a note, a contact, the member's own custom
/// field (set by nobody else, so its last value is known), or the tier everybody sets (which
/// makes conflicts).
pub fn small_steps(rng: &mut StdRng, cycle: usize, client: usize, shared: &[String]) -> Vec<Step> {
    let user = MEMBERS[client].0;
    (0..rng.random_range(1..=3))
        .map(|i| {
            let account = Some(shared[rng.random_range(0..shared.len())].clone());
            let tag = format!("{user} c{cycle}.{i}");
            let (kind, text) = match rng.random_range(0..4) {
                0 => (Kind::Note, format!("{tag} {}", words(rng, 6))),
                1 => (Kind::Contact, format!("{tag} {}", words(rng, 1))),
                2 => (Kind::Field(format!("custom.{user}")), tag.replace(' ', "-")),
                _ => (Kind::Field("tier".into()), words(rng, 1)),
            };
            Step {
                kind,
                account,
                text,
            }
        })
        .collect()
}

/// A new account and two big notes on it.
pub fn big_steps(rng: &mut StdRng, cycle: usize, client: usize) -> Vec<Step> {
    let user = MEMBERS[client].0;
    let mut steps = vec![Step {
        kind: Kind::Account,
        account: None,
        text: format!("{user} c{cycle} big"),
    }];
    for i in 0..2 {
        steps.push(Step {
            kind: Kind::BigNote,
            account: None,
            text: format!("{user} c{cycle} big {i}: {}", words(rng, BIG_NOTE_WORDS)),
        });
    }
    steps
}

/// `count` random lowercase words.
pub fn words(rng: &mut StdRng, count: usize) -> String {
    let mut text = String::new();
    for i in 0..count {
        if i > 0 {
            text.push(' ');
        }
        for _ in 0..rng.random_range(2..=9) {
            text.push(char::from(b'a' + rng.random_range(0..26u8)));
        }
    }
    text
}

impl fmt::Display for CyclePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for editor in &self.editors {
            let steps: Vec<String> = editor
                .steps
                .iter()
                .map(|s| format!("{:?}", s.kind))
                .collect();
            write!(
                f,
                "{} edits [{}]; ",
                MEMBERS[editor.client].0,
                steps.join(", ")
            )?;
        }
        match self.victim {
            Victim::Relay { delay } => write!(f, "kill the relay {delay:?} after a restart"),
            Victim::Watcher { client, delay } => {
                write!(
                    f,
                    "kill {}'s watcher {delay:?} after a restart",
                    MEMBERS[client].0
                )
            }
            Victim::Edit { client } => {
                let editor = self.editors.iter().find(|e| e.client == client);
                let (step, fraction) = editor.and_then(|e| e.kill).expect("the killed step");
                write!(
                    f,
                    "kill {}'s edit #{step} at {fraction:.2} of its usual time",
                    MEMBERS[client].0
                )
            }
        }
    }
}
