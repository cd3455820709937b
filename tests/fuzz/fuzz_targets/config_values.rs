//! libFuzzer entry for `targets::config_values` (the body is shared with tests/e2e/fuzz_replay.rs).
#![no_main]

#[allow(dead_code)]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::config_values(data));
