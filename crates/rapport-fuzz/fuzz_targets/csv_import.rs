//! A file given to `rapport import`: its first byte picks the kind of record, the rest is the
//! file; read, mapped and planned as the command does before it writes anything (see
//! `rapport_fuzz::import_plan`): an error or a plan with a fate for every row, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| rapport_fuzz::import_plan(input));
