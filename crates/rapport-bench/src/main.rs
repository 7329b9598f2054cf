//! `rapport-bench`: Rapport's performance harness. It runs each workload of the design's
//! targets on loopback against a real relay (its own process, durable redb) and real replicas
//! (temporary directories, synced through `rapport_client::link`), and prints one markdown
//! table of what it measured.
//!
//! ```text
//! cargo run --release -p rapport-bench -- [--quick] [--accounts N] [--runs R] [--only NAME,...]
//!                                         [--peers] [--report FILE]
//! ```
//!
//! - [`corpus`] builds the account documents once; [`fixture`] fills a relay's data directory.
//! - [`relay_process`] runs that relay in a child process (this binary, re-executed with the
//!   hidden `relay-process` subcommand), so that its memory is its own.
//! - [`peer`] is a light protocol peer (a sync session over in-memory documents), for the
//!   workloads that need hundreds of connections; [`proxy`] counts bytes on the wire.
//! - [`workloads`] holds one module per workload; [`report`] turns their [`stats::Row`]s into
//!   the table.

/// The allocator `rapport` uses, so that the relay process and the replicas measured here
/// allocate as the program does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod corpus;
mod fixture;
mod lab;
mod peer;
mod proxy;
mod relay_process;
mod report;
mod stats;
mod workloads;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::lab::{Lab, Sizes};
use crate::workloads::Workload;

/// Rapport's benchmarks: real relay, real replicas, loopback only.
#[derive(Parser, Debug)]
#[command(name = "rapport-bench")]
struct Cli {
    #[command(subcommand)]
    hidden: Option<Hidden>,
    /// Small sizes, one run, targets not judged: a check that every workload still runs.
    #[arg(long)]
    quick: bool,
    /// Accounts in the workspace (default 10,000; 200 with --quick).
    #[arg(long)]
    accounts: Option<usize>,
    /// Runs of each workload (default 3; 1 with --quick).
    #[arg(long)]
    runs: Option<usize>,
    /// Only these workloads (comma-separated): cold-join, push, reconnect, offline,
    /// propagation, fanout, memory, local, load, floor, peers, samod.
    #[arg(long, value_delimiter = ',')]
    only: Vec<Workload>,
    /// Also run the automerge-repo peers: the JavaScript servers (crates/rapport-bench/peers)
    /// and samod.
    #[arg(long)]
    peers: bool,
    /// Also write the table, with the machine and versions, to this file.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Hidden {
    /// Serves a relay over an existing data directory (the harness runs it as a child).
    #[command(hide = true)]
    RelayProcess {
        /// The relay's data directory.
        #[arg(long)]
        data: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Hidden::RelayProcess { data }) = cli.hidden {
        return relay_process::serve(&data);
    }
    let sizes = Sizes::new(cli.quick, cli.accounts, cli.runs);
    let selected = workloads::select(&cli.only, cli.peers);
    eprintln!("rapport-bench: {} ({})", sizes.describe(), names(&selected));
    let mut lab = Lab::prepare(sizes)?;
    let mut rows = Vec::new();
    for workload in &selected {
        eprintln!("rapport-bench: {}...", workload.name());
        let started = std::time::Instant::now();
        let measured = workloads::run(*workload, &mut lab)
            .with_context(|| format!("workload {}", workload.name()))?;
        // Shown as each workload ends, so that a long run that is cut short still tells.
        eprintln!(
            "rapport-bench: {} done in {:.1} s\n{}",
            workload.name(),
            started.elapsed().as_secs_f64(),
            report::table(&measured, &lab.sizes)
        );
        rows.extend(measured);
    }
    let sizes = lab.sizes.clone();
    lab.finish()?;
    let table = report::table(&rows, &sizes);
    println!("{table}");
    if let Some(path) = cli.report {
        let text = format!("{}\n{table}\n", report::header(&sizes));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("rapport-bench: report written to {}", path.display());
    }
    Ok(())
}

fn names(selected: &[Workload]) -> String {
    let names: Vec<&str> = selected.iter().map(|w| w.name()).collect();
    names.join(", ")
}
