//! Records, at build time, the versions the report names: the compiler's, and those of the
//! crates that decide the figures, as Cargo.lock pins them (so they cannot drift from a
//! hand-kept list).

use std::process::Command;

const PINNED: [&str; 5] = ["automerge", "redb", "tokio", "axum", "tokio-tungstenite"];

fn main() {
    // Read when the script runs, not when it is compiled: a compiled script is reused for a
    // checkout of the same workspace elsewhere, whose lock file is not at the first one's path.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let lock = format!("{manifest_dir}/../../Cargo.lock");
    println!("cargo:rerun-if-changed={lock}");
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let versions: Vec<String> = PINNED
        .iter()
        .map(|name| format!("{name} {}", locked_versions(&text, name)))
        .collect();
    println!(
        "cargo:rustc-env=RAPPORT_BENCH_CRATES={}",
        versions.join(", ")
    );
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned());
    println!("cargo:rustc-env=RAPPORT_BENCH_RUSTC={version}");
}

/// Every version of package `name` in the lock file, joined by '/' ("?" when absent).
fn locked_versions(lock: &str, name: &str) -> String {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        if line.trim() == wanted
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            found.push(version.trim_matches('"').to_owned());
        }
    }
    if found.is_empty() {
        "?".into()
    } else {
        found.join("/")
    }
}
