//! Partitions heal: three to five members of one workspace edit while some sync, some drop
//! offline and come back, and the relay stops and restarts under them (on its port or a new
//! one). Once the relay is up and everyone has synced twice round, every replica holds the same
//! documents with the same heads as the relay, reads the same accounts, and shows every note
//! anybody wrote.
//!
//! Everything is real: the relay serves on loopback over a redb store in a temporary directory
//! and the replicas sync through the client link. Proptest generates the plans; a failing one
//! is shrunk and its seed kept in `partition.proptest-regressions`, replayed first on every run.
//! `RAPPORT_PARTITION_CASES` sets how many plans to try (12 by default).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use automerge::ChangeHash;
use proptest::prelude::*;
use rapport_client::link::{self, LinkError};
use rapport_client::workspace_documents;
use rapport_model::account::{self, AccountSummary, AccountView, NewAccount, NewEntry};
use rapport_model::{AccountAssignment, DocumentId, EntryId, EntryKind, Role, Team};
use rapport_relay::hub::Hubs;
use rapport_relay::{Relay, RelayConfig, RelayError, admin};
use rapport_store::{Remote, Replica};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// How long the client link may take to settle one sync.
const SYNC: Duration = Duration::from_secs(10);

/// How long any single wait may take before the case fails.
const WAIT: Duration = Duration::from_secs(20);

const WORKSPACE: &str = "acme";
const USERS: [&str; 5] = ["ana", "bo", "cy", "dee", "eve"];

/// One thing that happens during a plan. Replica and account numbers are taken modulo what
/// exists when the step runs, so every generated plan is meaningful and shrinks freely.
#[derive(Clone, Debug)]
enum Step {
    CreateAccount {
        replica: usize,
    },
    Note {
        replica: usize,
        account: usize,
    },
    Set {
        replica: usize,
        account: usize,
        field: Field,
        value: u8,
    },
    Sync {
        replica: usize,
    },
    Disconnect {
        replica: usize,
    },
    Reconnect {
        replica: usize,
    },
    StopRelay,
    StartRelay {
        same_port: bool,
    },
    RestartRelay {
        same_port: bool,
    },
}

#[derive(Clone, Copy, Debug)]
enum Field {
    Phone,
    Tier,
    Region,
    Tags,
}

impl Field {
    fn assignment(self, value: u8) -> AccountAssignment {
        let text = match self {
            Field::Phone => format!("phone=+1 555 01{value:02}"),
            Field::Tier => format!("tier=t{}", value % 4),
            Field::Region => format!("custom.region=r{}", value % 3),
            Field::Tags => format!("tags=t{},t{}", value % 3, value % 5),
        };
        AccountAssignment::parse(&text).unwrap()
    }
}

#[derive(Clone, Debug)]
struct Plan {
    replicas: usize,
    steps: Vec<Step>,
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Phone),
        Just(Field::Tier),
        Just(Field::Region),
        Just(Field::Tags),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let replica = 0..USERS.len();
    prop_oneof![
        2 => replica.clone().prop_map(|replica| Step::CreateAccount { replica }),
        3 => (replica.clone(), 0..8usize).prop_map(|(replica, account)| Step::Note { replica, account }),
        2 => (replica.clone(), 0..8usize, field(), any::<u8>())
            .prop_map(|(replica, account, field, value)| Step::Set { replica, account, field, value }),
        4 => replica.clone().prop_map(|replica| Step::Sync { replica }),
        1 => replica.clone().prop_map(|replica| Step::Disconnect { replica }),
        1 => replica.prop_map(|replica| Step::Reconnect { replica }),
        1 => Just(Step::StopRelay),
        1 => any::<bool>().prop_map(|same_port| Step::StartRelay { same_port }),
        1 => any::<bool>().prop_map(|same_port| Step::RestartRelay { same_port }),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    (3..=USERS.len(), proptest::collection::vec(step(), 1..=25))
        .prop_map(|(replicas, steps)| Plan { replicas, steps })
}

fn cases() -> u32 {
    std::env::var("RAPPORT_PARTITION_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(12)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Every case runs a relay and real syncs: shrink, but not forever.
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn replicas_converge_after_partitions_and_relay_restarts(plan in plan()) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run(plan));
    }
}

async fn run(plan: Plan) {
    let mut cluster = Cluster::start(plan.replicas).await;
    for step in &plan.steps {
        cluster.apply(step).await;
    }
    cluster.heal().await;
    cluster.assert_converged();
    cluster.stop_relay().await;
}

/// A relay serving on a loopback port until it is stopped.
struct RunningRelay {
    address: SocketAddr,
    hubs: Arc<Hubs>,
    stop: oneshot::Sender<()>,
    served: JoinHandle<Result<(), RelayError>>,
}

impl RunningRelay {
    async fn start(dir: &Path, address: &str) -> Self {
        let config = RelayConfig {
            shutdown_grace: Duration::from_secs(1),
            ..RelayConfig::default()
        };
        let relay = Relay::open(dir, config).unwrap();
        let hubs = relay.hubs().clone();
        let public = TcpListener::bind(address).await.unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = public.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let signal = async move {
            let _ = stopped.await;
        };
        let served = tokio::spawn(relay.serve(public, admin, signal));
        Self {
            address,
            hubs,
            stop,
            served,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.address)
    }

    /// Signals shutdown and waits for `serve` to return, releasing the store.
    async fn stop(self) {
        drop(self.hubs);
        let _ = self.stop.send(());
        timeout(WAIT, self.served)
            .await
            .expect("the relay stops within its grace period")
            .unwrap()
            .unwrap();
    }
}

struct Member {
    dir: TempDir,
    token: String,
    /// Taken out while the link holds it.
    replica: Option<Replica>,
    online: bool,
}

impl Member {
    fn replica(&mut self) -> &mut Replica {
        self.replica
            .as_mut()
            .expect("the replica is back from its sync")
    }
}

struct Cluster {
    relay_dir: TempDir,
    relay: Option<RunningRelay>,
    /// Where the relay last listened, to come back there.
    address: SocketAddr,
    members: Vec<Member>,
    /// Every note written, by account: all must survive.
    written: Vec<(DocumentId, String)>,
    created: Vec<DocumentId>,
}

impl Cluster {
    async fn start(replicas: usize) -> Self {
        let relay_dir = TempDir::new().unwrap();
        let relay = RunningRelay::start(relay_dir.path(), "127.0.0.1:0").await;
        let mut members = Vec::new();
        for (i, user) in USERS.iter().take(replicas).enumerate() {
            let team = Team::ALL[i % Team::ALL.len()];
            let token = admin::invite(
                &relay.hubs,
                WORKSPACE,
                user.parse().unwrap(),
                team,
                Role::Member,
            )
            .unwrap()
            .token;
            let dir = TempDir::new().unwrap();
            let (replica, _) = timeout(WAIT, link::join(dir.path(), &relay.url(), &token, SYNC))
                .await
                .expect("join finishes in time")
                .unwrap();
            members.push(Member {
                dir,
                token,
                replica: Some(replica),
                online: true,
            });
        }
        Self {
            relay_dir,
            address: relay.address,
            relay: Some(relay),
            members,
            written: Vec::new(),
            created: Vec::new(),
        }
    }

    async fn apply(&mut self, step: &Step) {
        let n = self.members.len();
        match *step {
            Step::CreateAccount { replica } => {
                self.create_account(replica % n);
            }
            Step::Note { replica, account } => self.note(replica % n, account),
            Step::Set {
                replica,
                account,
                field,
                value,
            } => self.set(replica % n, account, field.assignment(value)),
            Step::Sync { replica } => self.sync(replica % n).await,
            Step::Disconnect { replica } => self.members[replica % n].online = false,
            Step::Reconnect { replica } => self.members[replica % n].online = true,
            Step::StopRelay => self.stop_relay().await,
            Step::StartRelay { same_port } => self.start_relay(same_port).await,
            Step::RestartRelay { same_port } => {
                self.stop_relay().await;
                self.start_relay(same_port).await;
            }
        }
    }

    fn create_account(&mut self, member: usize) -> DocumentId {
        let name = format!("account {} of {}", self.created.len(), USERS[member]);
        let replica = self.members[member].replica();
        let edit = replica.edit_now();
        let new = NewAccount {
            name,
            ..NewAccount::default()
        };
        let id = replica.create_account(&edit, &new).unwrap();
        self.created.push(id);
        id
    }

    /// The `account`th account `member` knows (in id order), or a new one if it knows none.
    fn pick_account(&mut self, member: usize, account: usize) -> DocumentId {
        let mut known: Vec<DocumentId> = self.members[member]
            .replica()
            .accounts()
            .unwrap()
            .into_iter()
            .map(|summary| summary.id)
            .collect();
        known.sort();
        match known.get(account % known.len().max(1)) {
            Some(id) => *id,
            None => self.create_account(member),
        }
    }

    fn note(&mut self, member: usize, account: usize) {
        let id = self.pick_account(member, account);
        let text = format!("note {} from {}", self.written.len(), USERS[member]);
        let entry = NewEntry {
            kind: EntryKind::Note,
            text: text.clone(),
            alert: Vec::new(),
        };
        let replica = self.members[member].replica();
        let edit = replica.edit_now();
        replica
            .change_account(id, &edit, |tx| {
                account::add_entry(tx, &edit, EntryId::new(), &entry)
            })
            .unwrap();
        self.written.push((id, text));
    }

    fn set(&mut self, member: usize, account: usize, assignment: AccountAssignment) {
        let id = self.pick_account(member, account);
        let replica = self.members[member].replica();
        let edit = replica.edit_now();
        replica
            .change_account(id, &edit, |tx| account::set(tx, &[assignment]))
            .unwrap();
    }

    /// Syncs an online member with the relay: fully when it is up; when it is down the attempt
    /// fails and the replica, reopened from its directory, has lost nothing.
    async fn sync(&mut self, index: usize) {
        if !self.members[index].online {
            return;
        }
        let url = self
            .relay
            .as_ref()
            .map_or_else(|| format!("ws://{}/", self.address), RunningRelay::url);
        let member = &mut self.members[index];
        let replica = member.replica.take().expect("the replica is here");
        let stored = replica.remote().unwrap().map(|remote| remote.url);
        // A replica that missed a move of the relay is pointed at the new address, as
        // `rapport sync --relay URL` does.
        let other = (stored.as_deref() != Some(url.as_str())).then(|| Remote {
            url,
            token: Some(member.token.clone()),
            ca_cert: None,
        });
        let outcome = timeout(WAIT, link::sync_once_with(replica, other, SYNC))
            .await
            .expect("sync finishes in time");
        match (outcome, self.relay.is_some()) {
            (Ok((replica, _)), true) => member.replica = Some(replica),
            (Err(LinkError::Unreachable { .. }), false) => {
                member.replica = Some(Replica::open(member.dir.path()).unwrap());
            }
            (Ok(_), false) => panic!("a sync succeeded with the relay down"),
            (Err(error), _) => panic!("sync of {} failed: {error}", USERS[index]),
        }
    }

    async fn stop_relay(&mut self) {
        if let Some(relay) = self.relay.take() {
            relay.stop().await;
        }
    }

    async fn start_relay(&mut self, same_port: bool) {
        if self.relay.is_some() {
            return;
        }
        let address = match same_port {
            true => self.address.to_string(),
            false => "127.0.0.1:0".to_owned(),
        };
        let relay = RunningRelay::start(self.relay_dir.path(), &address).await;
        self.address = relay.address;
        self.relay = Some(relay);
    }

    /// Relay up, every member online and synced twice round: the first round brings everything
    /// to the relay, the second brings it to everyone.
    async fn heal(&mut self) {
        self.start_relay(false).await;
        for _ in 0..2 {
            for member in 0..self.members.len() {
                self.members[member].online = true;
                self.sync(member).await;
            }
        }
    }

    fn assert_converged(&mut self) {
        let snapshots: Vec<Snapshot> = self
            .members
            .iter_mut()
            .map(|member| Snapshot::of(member.replica()))
            .collect();
        let first = &snapshots[0];
        for (i, other) in snapshots.iter().enumerate().skip(1) {
            assert_eq!(
                other.heads, first.heads,
                "{} and {} hold different heads",
                USERS[0], USERS[i]
            );
            assert_eq!(
                other.accounts, first.accounts,
                "{} and {} list different accounts",
                USERS[0], USERS[i]
            );
            assert_eq!(
                other.views, first.views,
                "{} and {} read different accounts",
                USERS[0], USERS[i]
            );
        }
        self.assert_relay_holds(first);
        for id in &self.created {
            assert!(first.views.contains_key(id), "account {id:?} was lost");
        }
        for (id, text) in &self.written {
            let timeline = &first.views[id].timeline;
            assert!(
                timeline.iter().any(|entry| &entry.text == text),
                "'{text}' on {id:?} was lost"
            );
        }
    }

    fn assert_relay_holds(&self, snapshot: &Snapshot) {
        let relay = self.relay.as_ref().expect("the relay is up after healing");
        let workspace = self.members[0].replica.as_ref().unwrap().workspace_id();
        let hub = relay.hubs.hub(workspace).unwrap();
        for (id, heads) in &snapshot.heads {
            let mut held = hub.heads(*id).unwrap().unwrap_or_default();
            held.sort();
            assert_eq!(&held, heads, "the relay holds other heads of {id:?}");
        }
    }
}

/// What a replica holds, in a form to compare.
struct Snapshot {
    heads: BTreeMap<DocumentId, Vec<ChangeHash>>,
    accounts: Vec<AccountSummary>,
    views: BTreeMap<DocumentId, AccountView>,
}

impl Snapshot {
    fn of(replica: &mut Replica) -> Self {
        let mut heads = BTreeMap::new();
        for id in workspace_documents(replica).unwrap() {
            let mut document_heads = replica.heads(id).unwrap();
            document_heads.sort();
            heads.insert(id, document_heads);
        }
        let mut accounts = replica.accounts().unwrap();
        accounts.sort_by_key(|summary| summary.id);
        let views = accounts
            .iter()
            .map(|summary| (summary.id, replica.account(summary.id).unwrap()))
            .collect();
        Self {
            heads,
            accounts,
            views,
        }
    }
}
