//! One connection's frames through the relay's sync path (see `rapport_fuzz::frames` for the
//! input's shape): the connection may end, the relay may not panic.
#![no_main]

use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use rapport_fuzz::RelayHarness;

static HARNESS: LazyLock<Mutex<RelayHarness>> = LazyLock::new(|| {
    let harness = RelayHarness::new();
    Mutex::new(harness.unwrap_or_else(|error| panic!("the relay harness cannot start: {error}")))
});

fuzz_target!(|input: &[u8]| {
    let mut harness = HARNESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Every way a connection ends is fine; only a panic is a finding.
    let _ended = harness.run(input);
});
