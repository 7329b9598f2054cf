//! `rapport demo`: a relay and three replicas in one process, with a sample workspace, each
//! replica served by its own local node: two browser windows side by side show a support note
//! with an alert for sales arriving on the sales page.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rapport_client::link::{self, Indexing};
use rapport_model::account::{self, NewAccount, NewContact, NewDeal, NewEntry, NewTask};
use rapport_model::{
    AlertTarget, ContactId, Currency, DealId, Edit, EntryId, EntryKind, Money, Role, Stage, TaskId,
    Team,
};
use rapport_node::LocalNode;
use rapport_relay::{Relay, RelayConfig, admin};
use rapport_store::Replica;
use tokio::net::TcpListener;

use crate::cli::DemoArgs;
use crate::output::Output;

const WORKSPACE: &str = "Northwind Demo";
const TIMEOUT: Duration = Duration::from_secs(120);
/// The three members, in the order their pages are listed.
const MEMBERS: [(&str, Team); 3] = [
    ("sam", Team::Sales),
    ("mia", Team::Marketing),
    ("ana", Team::Support),
];

pub fn run(args: DemoArgs, out: &Output) -> anyhow::Result<()> {
    crate::network::init_logging(tracing::Level::WARN);
    let dir = tempfile::Builder::new()
        .prefix("rapport-demo-")
        .tempdir()
        .context("cannot make a directory for the demo")?;
    crate::network::runtime()?.block_on(demo(dir.path(), args, out))
}

async fn demo(dir: &Path, args: DemoArgs, out: &Output) -> anyhow::Result<()> {
    let relay = Relay::open(&dir.join("relay"), RelayConfig::default())?;
    let mut tokens = Vec::new();
    for (user, team) in MEMBERS {
        let invitation = admin::invite(relay.hubs(), WORKSPACE, user.parse()?, team, Role::Member)?;
        tokens.push(invitation.token);
    }
    let public = listen(args.port).await?;
    let admin_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let url = format!("ws://{}", public.local_addr()?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.changed().await;
        }
    };
    let relay_task = tokio::spawn(relay.serve(public, admin_listener, until_stopped()));

    // Support writes the sample workspace, on behalf of all three teams, then everyone joins.
    let support_dir = dir.join("ana");
    let (mut support, _) =
        link::join_with(&support_dir, &url, &tokens[2], TIMEOUT, Indexing::Now).await?;
    let count = args.accounts;
    let support = tokio::task::spawn_blocking(move || {
        seed(&mut support, count)?;
        Ok::<_, anyhow::Error>(support)
    })
    .await??;
    let (support, _) = link::sync_once(support, TIMEOUT).await?;
    let mut replicas = Vec::new();
    for (i, (user, _)) in MEMBERS.iter().enumerate().take(2) {
        let (replica, _) = link::join(&dir.join(user), &url, &tokens[i], TIMEOUT).await?;
        replicas.push(replica);
    }
    replicas.push(support);

    let mut nodes = Vec::new();
    let mut pages = Vec::new();
    for (i, replica) in replicas.into_iter().enumerate() {
        let port = args
            .port
            .checked_add(1 + i as u16)
            .context("port out of range")?;
        let listener = listen(port).await?;
        let (user, team) = MEMBERS[i];
        pages.push((user, team, format!("http://{}/", listener.local_addr()?)));
        nodes.push(tokio::spawn(
            LocalNode::new(replica).serve(listener, until_stopped()),
        ));
    }
    if out.json {
        let listed: Vec<_> = pages
            .iter()
            .map(
                |(user, team, page)| serde_json::json!({ "user": user, "team": team, "url": page }),
            )
            .collect();
        out.print_json(&serde_json::json!({ "relay": url, "pages": listed, "data": dir }))?;
    } else {
        out.print(&format!(
            "Rapport demo: workspace '{WORKSPACE}' with {count} accounts, relay at {url}"
        ))?;
        for (user, team, page) in &pages {
            out.print(&format!("  {team:<9} {user}: {page}"))?;
        }
        out.print("Open two of them side by side; Ctrl-C stops the demo and deletes its data.")?;
    }
    crate::network::shutdown_signal().await;
    let _ = stop.send(true);
    for node in nodes {
        let _ = node.await;
    }
    let _ = relay_task.await;
    Ok(())
}

async fn listen(port: u16) -> anyhow::Result<TcpListener> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    rapport_node::bind_loopback(address)
        .await
        .with_context(|| format!("cannot listen on {address}; choose other ports with --port"))
}

const FIRST: [&str; 24] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Monarch",
    "Nakatomi",
    "Massive",
    "Dunder",
    "Pied",
    "Blue Sun",
    "Virtucon",
    "Gekko",
    "Prestige",
];
const SECOND: [&str; 12] = [
    "Logistics",
    "Foods",
    "Labs",
    "Systems",
    "Energy",
    "Health",
    "Media",
    "Robotics",
    "Capital",
    "Textiles",
    "Analytics",
    "Travel",
];
const FORMS: [&str; 4] = ["Group", "Partners", "International", "Holdings"];
const PEOPLE: [&str; 16] = [
    "Hank Scorpio",
    "Lena Ortiz",
    "Ravi Patel",
    "Mona Berg",
    "Tomas Silva",
    "Aiko Tanaka",
    "Grace Hopper",
    "Omar Haddad",
    "Sofia Rossi",
    "Jonas Weber",
    "Chloe Martin",
    "Ines Duarte",
    "Kofi Mensah",
    "Nora Lind",
    "Pavel Novak",
    "Zoe Clarke",
];
const TITLES: [&str; 6] = [
    "CEO",
    "CTO",
    "Head of Operations",
    "Buyer",
    "IT Manager",
    "CFO",
];
const SALES_NOTES: [&str; 6] = [
    "Walked them through the renewal terms",
    "Asked for a quote on 50 more seats",
    "Pricing call: they compare us with two other vendors",
    "Champion moved to a new role; need a new sponsor",
    "Sent the enterprise proposal",
    "Procurement wants a three-year term",
];
const MARKETING_NOTES: [&str; 5] = [
    "Opened the spring newsletter and clicked the case study",
    "Registered for the product webinar",
    "Downloaded the security whitepaper",
    "Visited the pricing page three times this week",
    "Agreed to be a reference customer",
];
const SUPPORT_NOTES: [&str; 6] = [
    "Ticket: export to CSV times out on large reports",
    "Customer asked about the enterprise plan",
    "Onboarding session for the new admins",
    "Ticket resolved: SSO login loop after the upgrade",
    "Reported slow sync from the Lisbon office",
    "Asked whether we support data residency in the EU",
];
const TASKS: [&str; 5] = [
    "Send the renewal quote",
    "Book the quarterly review",
    "Follow up on the open ticket",
    "Share the onboarding checklist",
    "Prepare the case study draft",
];

/// Writes `count` sample accounts, their contacts, deals, tasks and twelve weeks of
/// interactions by all three teams.
fn seed(replica: &mut Replica, count: usize) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(7);
    let now = Timestamp::now();
    let author = |team: Team, days_ago: i64| -> anyhow::Result<Edit> {
        let user = MEMBERS
            .iter()
            .find(|(_, t)| *t == team)
            .map_or("ana", |(u, _)| *u);
        Ok(Edit {
            user: user.parse()?,
            team,
            at: now - SignedDuration::from_hours(days_ago * 24),
        })
    };
    for i in 0..count {
        let name = format!(
            "{} {}",
            FIRST[i % FIRST.len()],
            SECOND[(i / FIRST.len() + i) % SECOND.len()]
        );
        // Every pair once, then again with a company form, then numbered.
        let name = match i / (FIRST.len() * SECOND.len()) {
            0 => name,
            round if round <= FORMS.len() => format!("{name} {}", FORMS[round - 1]),
            round => format!("{name} {round}"),
        };
        let domain = format!("{}.example", name.to_ascii_lowercase().replace(' ', "-"));
        let created = author(Team::Sales, 84)?;
        let stage = [
            Stage::Lead,
            Stage::Prospect,
            Stage::Customer,
            Stage::Customer,
            Stage::Churned,
        ][rng.random_range(0..5)];
        let new = NewAccount {
            name,
            domain: Some(domain.clone()),
            tier: Some(["gold", "silver", "bronze"][rng.random_range(0..3)].to_owned()),
            stage: Some(stage),
            owner: Some(MEMBERS[rng.random_range(0..3)].0.parse()?),
        };
        let id = replica.create_account(&created, &new)?;
        let contacts = rng.random_range(1..4);
        let deals = rng.random_range(0..3);
        let tasks = rng.random_range(0..3);
        let entries = rng.random_range(3..9);
        for c in 0..contacts {
            let person = PEOPLE[(i * 3 + c) % PEOPLE.len()];
            let first = person.split(' ').next().unwrap_or(person).to_lowercase();
            let contact = NewContact {
                name: person.to_owned(),
                email: Some(format!("{first}@{domain}")),
                phone: Some(format!("+1-555-{:04}", (i * 7 + c) % 10_000)),
                title: Some(TITLES[(i + c) % TITLES.len()].to_owned()),
            };
            replica.change_account(id, &created, |tx| {
                account::add_contact(tx, &created, ContactId::new(), &contact)
            })?;
        }
        let pipeline = replica.workspace()?.pipeline;
        for d in 0..deals {
            let stage = pipeline[(i + d) % pipeline.len()].clone();
            let deal = NewDeal {
                title: ["Renewal", "Expansion", "New seats", "Pilot"][(i + d) % 4].to_owned(),
                amount: Money {
                    minor: rng.random_range(20..400) * 100_000,
                    currency: if i % 5 == 0 {
                        "USD".parse()?
                    } else {
                        Currency::DEFAULT
                    },
                },
                stage,
                close: Some(jiff::civil::date(
                    2027,
                    1 + (i % 6) as i8,
                    1 + (d as i8) * 10,
                )),
            };
            replica.change_account(id, &created, |tx| {
                account::add_deal(tx, &created, DealId::new(), &deal)
            })?;
        }
        for t in 0..tasks {
            let task = NewTask {
                title: TASKS[(i + t) % TASKS.len()].to_owned(),
                assignee: Some(MEMBERS[(i + t) % 3].0.parse()?),
                due: Some(jiff::civil::date(2026, 12, 1 + ((i + t) % 28) as i8)),
            };
            replica.change_account(id, &created, |tx| {
                account::add_task(tx, &created, TaskId::new(), &task)
            })?;
        }
        let mut days: Vec<i64> = (0..entries).map(|_| rng.random_range(0..84)).collect();
        days.sort_unstable_by(|a, b| b.cmp(a));
        for (e, days_ago) in days.into_iter().enumerate() {
            let team = [Team::Sales, Team::Marketing, Team::Support][rng.random_range(0..3)];
            let (kind, texts): (EntryKind, &[&str]) = match team {
                Team::Sales => (
                    [EntryKind::Call, EntryKind::Note, EntryKind::Meeting][e % 3],
                    &SALES_NOTES,
                ),
                Team::Marketing => (
                    [EntryKind::Campaign, EntryKind::Email][e % 2],
                    &MARKETING_NOTES,
                ),
                Team::Support => ([EntryKind::Ticket, EntryKind::Note][e % 2], &SUPPORT_NOTES),
            };
            // A few recent support notes flag sales, so the inbox has something in it.
            let alert = if team == Team::Support && days_ago < 14 && i % 9 == 0 {
                vec![AlertTarget::Team(Team::Sales)]
            } else {
                Vec::new()
            };
            let entry = NewEntry {
                kind,
                text: texts[rng.random_range(0..texts.len())].to_owned(),
                alert,
            };
            let edit = author(team, days_ago)?;
            replica.change_account(id, &edit, |tx| {
                account::add_entry(tx, &edit, EntryId::new(), &entry)
            })?;
        }
    }
    Ok(())
}
