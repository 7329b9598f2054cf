//! Every input that once crashed a target (`regressions/<target>/`) and the seed corpus,
//! replayed through the targets' code without the fuzzer: none may panic.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};

use rapport_fuzz::{LoadHarness, RelayHarness};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for dir in ["regressions", "corpus"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = fs::read(&path).unwrap();
            found.push((path, bytes));
        }
    }
    found
}

#[test]
fn documents_that_crashed_document_load_read_as_errors_or_documents() {
    let mut harness = LoadHarness::default();
    for (path, bytes) in inputs("document_load") {
        eprintln!("{}", path.display());
        harness.run(&bytes);
    }
}

#[test]
fn frames_that_crashed_relay_sync_end_at_most_the_connection() {
    let mut harness = RelayHarness::new().unwrap();
    for (path, bytes) in inputs("relay_sync") {
        eprintln!("{}: {:?}", path.display(), harness.run(&bytes));
    }
}

#[test]
fn frames_that_crashed_proto_decode_decode_or_are_refused() {
    for (path, bytes) in inputs("proto_decode") {
        if let Ok(message) = rapport_proto::decode(&bytes) {
            let again = rapport_proto::decode(&rapport_proto::encode(&message));
            assert_eq!(again, Ok(message), "{}", path.display());
        }
    }
}

#[test]
fn files_that_crashed_csv_import_plan_or_are_refused() {
    for (path, bytes) in inputs("csv_import") {
        eprintln!("{}", path.display());
        rapport_fuzz::import_plan(&bytes);
    }
}
