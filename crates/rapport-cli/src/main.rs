//! `rapport`: the command-line program. It parses arguments, opens the replica, runs one
//! command, and prints the result for people or, with `--json`, for scripts.

/// Automerge and redb allocate and free many small buffers for every write, sync message and
/// load; mimalloc serves them faster than the system allocator (`docs/benchmarks.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod commands;
mod custom_fields;
mod demo;
mod network;
mod output;
mod progress;
mod reports;
mod segments;
mod transfer;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    quiet_storage_panics();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let data = data_dir(cli.data)?;
    let out = output::Output::new(cli.json);
    commands::run(cli.command, &data, &out)
}

/// redb can panic on a damaged file where it does not verify checksums; the store catches those
/// panics and reports the file as damaged, so their message would only be noise on stderr. Every
/// other panic is printed as usual.
fn quiet_storage_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info
            .location()
            .is_some_and(|at| at.file().contains("/redb-"))
        {
            default(info);
        }
    }));
}

/// Help and version go out as clap prints them; a command line that does not parse is reported
/// like every other error, on one line, with clap's exit code for usage errors (2).
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    let rendered = error.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    eprintln!(
        "error: {}",
        message.strip_prefix("error: ").unwrap_or(&message)
    );
    ExitCode::from(2)
}

/// The data directory: `--data`, else `$RAPPORT_DATA` (clap reads both), else the platform's.
fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    let dirs = directories::ProjectDirs::from("", "", "rapport")
        .context("no home directory to keep the replica in; pass --data DIR")?;
    Ok(dirs.data_dir().to_owned())
}

/// The error and its causes on one line, outermost first, without repeating a cause that the
/// message already contains.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
