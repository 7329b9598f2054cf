//! The table the harness prints, and the header of a written report: when, on what machine,
//! with which compiler and crate versions, at which sizes.

use std::fmt::Write as _;

use crate::lab::Sizes;
use crate::stats::{Row, Unit};

/// The rows as a markdown table: the median over runs, the range across runs, the target and
/// whether the median meets it.
pub fn table(rows: &[Row], sizes: &Sizes) -> String {
    let mut out = String::from(
        "| workload | size | metric | median of runs | range across runs | target | verdict |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let min = row.runs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = row.runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let range = if row.runs.len() > 1 {
            format!("{} – {}", value(min, row.unit), value(max, row.unit))
        } else {
            "(1 run)".into()
        };
        let (target, verdict) = judge(row, sizes);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.workload,
            row.size,
            row.metric,
            value(row.median(), row.unit),
            range,
            target,
            verdict
        );
    }
    out
}

/// The target's text, and the verdict: only full-size, non-quick runs are judged as such.
fn judge(row: &Row, sizes: &Sizes) -> (String, String) {
    let Some(target) = row.target else {
        return ("–".into(), "–".into());
    };
    let text = format!("< {}", value(target.under, row.unit));
    if sizes.quick {
        return (text, "n/a (quick)".into());
    }
    let met = if row.median() < target.under {
        "met"
    } else {
        "missed"
    };
    if sizes.full_size() {
        (text, met.into())
    } else {
        (text, format!("{met} (below full size)"))
    }
}

fn value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Millis if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Unit::Millis if v >= 10.0 => format!("{v:.1} ms"),
        Unit::Millis => format!("{v:.3} ms"),
        Unit::Bytes => format!("{v:.0} B"),
        Unit::Megabytes => format!("{v:.1} MB"),
        Unit::Ratio => format!("{v:.1}×"),
        Unit::Count => format!("{v:.0}"),
        Unit::Cores => format!("{v:.2} cores"),
    }
}

/// The report's header: date, machine, versions, sizes.
pub fn header(sizes: &Sizes) -> String {
    let now = jiff::Timestamp::now();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = proc_field("/proc/meminfo", "MemTotal:")
        .and_then(|kib| kib.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "?".into(),
            |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "?".into(), |k| k.trim().to_owned());
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "?".into());
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "# rapport-bench report\n\n\
         - date: {now}\n\
         - machine: {cores} cores ({cpu}), {memory} memory, Linux {kernel}\n\
         - build: {profile}, {}\n\
         - crates: {}\n\
         - sizes: {}\n\
         - relay: its own process (`rapport-bench relay-process`), durable redb; clients: \
         replicas in temporary directories through `rapport_client::link`; light peers: \
         `rapport_sync::Session` over in-memory documents on raw websockets\n",
        env!("RAPPORT_BENCH_RUSTC"),
        env!("RAPPORT_BENCH_CRATES"),
        sizes.describe(),
    )
}

/// The value of the first line of a `/proc` file that starts with `field`.
fn proc_field(path: &str, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
}
