//! The workspace's rules, checked: the top-level layout, each crate's manifest hygiene, and which
//! crate may depend on what (docs/ARCHITECTURE.md states them; this makes them true).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// What may stand at the top of the repository.
const TOP_LEVEL: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "crates",
    "web",
    "tests",
    "docs",
    "README.md",
    ".ci",
    ".gitignore",
    ".git",
    "target",
];

/// Heavy or I/O dependencies and the only crates allowed to use them (normal dependencies;
/// dev-dependencies are free, tests may run anything).
const CONFINED: &[(&str, &[&str])] = &[
    ("redb", &["rapport-store"]),
    (
        "tokio",
        &[
            "rapport-relay",
            "rapport-client",
            "rapport-node",
            "rapport-cli",
            "rapport-bench",
        ],
    ),
    ("axum", &["rapport-relay", "rapport-node"]),
    ("rust-embed", &["rapport-node"]),
    // The bench's light peers speak the protocol on raw sockets, as a browser tab would.
    ("tokio-tungstenite", &["rapport-client", "rapport-bench"]),
    // TLS where connections are made: the relay's listener and the client's link.
    ("rustls", &["rapport-relay", "rapport-client"]),
    // The system's roots: the client's wss:// links, the relay's https:// webhooks.
    ("rustls-native-certs", &["rapport-client", "rapport-relay"]),
    ("tokio-rustls", &["rapport-relay"]),
    // A global allocator is the program's choice, never a library's.
    ("mimalloc", &["rapport-cli", "rapport-bench"]),
    // Process priorities: only the harness, whose light peers step aside for the relay.
    ("rustix", &["rapport-bench"]),
    // Import and export files are read and written in one place.
    ("csv", &["rapport-transfer"]),
    ("anyhow", &["rapport-cli", "rapport-bench", "xtask"]),
    ("clap", &["rapport-cli", "rapport-bench"]),
];

/// Which workspace crates each crate may depend on: one direction, no cycles.
const LAYERS: &[(&str, &[&str])] = &[
    ("rapport-model", &[]),
    ("rapport-proto", &["rapport-model"]),
    ("rapport-sync", &["rapport-model", "rapport-proto"]),
    (
        "rapport-client",
        &[
            "rapport-model",
            "rapport-proto",
            "rapport-store",
            "rapport-sync",
        ],
    ),
    (
        "rapport-relay",
        &[
            "rapport-model",
            "rapport-proto",
            "rapport-store",
            "rapport-sync",
        ],
    ),
    ("rapport-store", &["rapport-model"]),
    ("rapport-transfer", &["rapport-model"]),
    (
        "rapport-node",
        &["rapport-client", "rapport-model", "rapport-store"],
    ),
    (
        "rapport-cli",
        &[
            "rapport-client",
            "rapport-model",
            "rapport-node",
            "rapport-proto",
            "rapport-relay",
            "rapport-store",
            "rapport-transfer",
        ],
    ),
    // The harness composes everything it measures, like the CLI, plus the sync session for its
    // light peers.
    (
        "rapport-bench",
        &[
            "rapport-client",
            "rapport-model",
            "rapport-proto",
            "rapport-relay",
            "rapport-store",
            "rapport-sync",
        ],
    ),
    // The fuzz targets feed peers' bytes (and files to import) to the crates that read them (a
    // workspace of its own, whose [workspace.dependencies] and lints its manifest holds).
    (
        "rapport-fuzz",
        &[
            "rapport-model",
            "rapport-proto",
            "rapport-relay",
            "rapport-store",
            "rapport-sync",
            "rapport-transfer",
        ],
    ),
    ("xtask", &[]),
];

#[derive(Deserialize)]
struct Manifest {
    package: Option<Package>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, toml::Value>,
    lints: Option<toml::Value>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
}

/// The repository root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every broken rule, as a sentence.
pub fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for entry in fs::read_dir(root).context("reading the repository root")? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !TOP_LEVEL.contains(&name.as_str()) {
            problems.push(format!("unexpected top-level entry '{name}': the layout is Cargo.toml, crates/, web/, tests/, docs/, README.md, .ci/"));
        }
    }
    for doc in [
        "docs/ARCHITECTURE.md",
        "docs/storage.md",
        "docs/protocol.md",
        "docs/benchmarks.md",
        "README.md",
        ".ci/run",
    ] {
        if !root.join(doc).is_file() {
            problems.push(format!("{doc} is missing"));
        }
    }
    for entry in fs::read_dir(root.join("crates")).context("reading crates/")? {
        let dir = entry?.path();
        check_crate(&dir, &mut problems)?;
    }
    check_replica_writes(&root.join("crates/rapport-store/src"), &mut problems)?;
    Ok(problems)
}

/// What begins a write on the replica's file without being counted.
const UNCOUNTED_WRITE: &str = "self.db.begin_write()";

/// The replica keeps what it read of its stored heads until its next write, which it knows of
/// only if every write transaction begins through `Replica::begin_write` (in `replica.rs`, the one
/// place that may call redb's directly). The relay's store (`relay.rs`, `relay/`) keeps nothing.
fn check_replica_writes(src: &Path, problems: &mut Vec<String>) -> anyhow::Result<()> {
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            let relative = path.strip_prefix(src).unwrap_or(&path).to_path_buf();
            if relative.starts_with("relay") || relative == Path::new("relay.rs") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path)?;
                let allowed = usize::from(relative == Path::new("replica.rs"));
                if uncounted_writes(&text) > allowed {
                    problems.push(format!(
                        "rapport-store/src/{}: a replica write begins with `{UNCOUNTED_WRITE}`; call `self.begin_write()`, which counts it",
                        relative.display()
                    ));
                }
            }
        }
    }
    Ok(())
}

fn uncounted_writes(text: &str) -> usize {
    text.matches(UNCOUNTED_WRITE).count()
}

fn check_crate(dir: &Path, problems: &mut Vec<String>) -> anyhow::Result<()> {
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = fs::read_to_string(dir.join("Cargo.toml"))
        .with_context(|| format!("reading {folder}/Cargo.toml"))?;
    let manifest: Manifest =
        toml::from_str(&text).with_context(|| format!("parsing {folder}/Cargo.toml"))?;
    let name = manifest.package.map(|p| p.name).unwrap_or_default();
    if name != folder {
        problems.push(format!(
            "crates/{folder} holds package '{name}': the folder must be named after the package"
        ));
    }
    if manifest.lints.is_none() {
        problems.push(format!("{name}: add `[lints] workspace = true`"));
    }
    for (dep, spec) in manifest
        .dependencies
        .iter()
        .chain(&manifest.dev_dependencies)
    {
        let inherited = spec.get("workspace").and_then(toml::Value::as_bool) == Some(true);
        if !inherited {
            problems.push(format!("{name}: dependency '{dep}' must come from [workspace.dependencies] (`{dep}.workspace = true`)"));
        }
    }
    for (dep, allowed) in CONFINED {
        if manifest.dependencies.contains_key(*dep) && !allowed.contains(&name.as_str()) {
            problems.push(format!(
                "{name} depends on {dep}, which only {} may use",
                allowed.join(", ")
            ));
        }
    }
    let layer = LAYERS.iter().find(|(crate_name, _)| *crate_name == name);
    match layer {
        None => problems.push(format!("{name} is not placed in the dependency layers of xtask/src/tidy.rs (and docs/ARCHITECTURE.md)")),
        Some((_, allowed)) => {
            for dep in manifest.dependencies.keys().filter(|d| d.starts_with("rapport-")) {
                if !allowed.contains(&dep.as_str()) {
                    problems.push(format!("{name} must not depend on {dep}"));
                }
            }
        }
    }
    let lib = dir.join("src/lib.rs");
    if lib.is_file() && !fs::read_to_string(&lib)?.starts_with("//!") {
        problems.push(format!(
            "{name}: src/lib.rs must open with a `//!` crate doc saying its job"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_replica_write_that_bypasses_the_count_is_found() {
        let dir = tempfile::TempDir::new().unwrap();
        let src = dir.path();
        std::fs::create_dir_all(src.join("relay")).unwrap();
        let counted = "fn f(&self) { let txn = self.begin_write()?; }";
        let uncounted = "fn f(&self) { let txn = self.db.begin_write()?; }";
        std::fs::write(src.join("replica.rs"), uncounted).unwrap();
        std::fs::write(src.join("relay.rs"), uncounted).unwrap();
        std::fs::write(src.join("relay/webhooks.rs"), uncounted).unwrap();
        std::fs::write(src.join("accounts.rs"), counted).unwrap();
        let mut problems = Vec::new();
        super::check_replica_writes(src, &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:?}");

        std::fs::create_dir_all(src.join("documents")).unwrap();
        std::fs::write(src.join("documents/batch.rs"), uncounted).unwrap();
        super::check_replica_writes(src, &mut problems).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("documents/batch.rs"));
    }

    #[test]
    fn the_workspace_keeps_its_rules() {
        let problems =
            super::check(&super::workspace_root()).unwrap_or_else(|e| vec![e.to_string()]);
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }
}
