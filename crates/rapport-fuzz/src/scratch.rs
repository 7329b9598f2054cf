//! Where the harnesses keep their stores: a directory per process on tmpfs (`/dev/shm`) when
//! there is one, so that a commit costs no disk flush.

use std::path::{Path, PathBuf};

/// The scratch directories' names, before what they hold and the process id.
const PREFIX: &str = "rapport-fuzz-";

/// A fresh directory for `what` in this process, under `$RAPPORT_FUZZ_SCRATCH` when set, after
/// removing those of processes that are gone: libFuzzer ends a process without running
/// destructors (a static's never run).
pub fn directory(what: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = match std::env::var_os("RAPPORT_FUZZ_SCRATCH") {
        Some(base) => PathBuf::from(base),
        None if shm.is_dir() => shm.to_owned(),
        None => std::env::temp_dir(),
    };
    remove_stale(&base);
    let dir = base.join(format!("{PREFIX}{what}-{}", std::process::id()));
    remove(&dir);
    dir
}

/// Removes a scratch directory, if it is there.
pub fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

fn remove_stale(base: &Path) {
    // Without /proc, whether a process is alive is unknown here: leave them.
    if !Path::new("/proc").is_dir() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|n| n.rsplit('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            remove(&entry.path());
        }
    }
}
