//! End-to-end tests of the `rapport` binary: each test runs the real program on its own data
//! directory and checks exit codes, stdout (parsed as JSON) and stderr.
//!
//! Most tests that need two users move documents between replicas with the store library
//! (`rapport_store::Replica::document_bytes` and `merge_document`), never while the binary has
//! that replica open; `relay` syncs them for real, through `rapport relay serve` and
//! `rapport join` / `sync`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod alerts;
mod browser;
mod chaos;
mod contact_merge;
mod custom_fields;
mod deals_tasks;
mod duplicates;
mod errors;
mod history;
mod import;
mod import_json;
mod import_settings;
mod interop;
mod processes;
mod relay;
mod reminders;
mod replica_errors;
mod reports;
mod rules;
mod segments;
mod support;
mod sync;
mod timeline;
mod tls;
mod webhook;
