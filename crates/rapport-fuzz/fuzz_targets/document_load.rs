//! Bytes from a peer loaded as a document and read as an account and as a workspace, every
//! view the store and the commands take, then merged into a replica: errors are fine, a panic
//! is a finding.
#![no_main]

use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use rapport_fuzz::LoadHarness;

static HARNESS: LazyLock<Mutex<LoadHarness>> = LazyLock::new(Mutex::default);

fuzz_target!(|data: &[u8]| {
    let mut harness = HARNESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    harness.run(data);
});
