//! Replays every committed fuzz corpus (`tests/fuzz/corpus/<target>/`) through the same target
//! bodies the fuzzer runs (`tests/fuzz/targets.rs`), without a fuzzer: each input that once
//! found new code — and each regression input of a fixed crash — must still pass. See
//! docs/fuzzing.md for running the fuzzer itself.

#[path = "fuzz/targets.rs"]
mod targets;

use std::path::Path;

/// Runs `target` on every file of its corpus; the corpus must exist and not be empty.
fn replay(name: &str, target: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no corpus for {name} at {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus of {name} is empty");
    for file in files {
        let input = std::fs::read(&file).expect("read a corpus file");
        let outcome = std::panic::catch_unwind(|| target(&input));
        assert!(outcome.is_ok(), "{name} fails on {}", file.display());
    }
}

#[test]
fn scp_header_corpus_replays_cleanly() {
    replay("scp_headers", targets::scp_headers);
}

#[test]
fn tui_input_corpus_replays_cleanly() {
    replay("tui_input", targets::tui_input);
}

#[test]
fn exec_command_corpus_replays_cleanly() {
    replay("exec_command", targets::exec_command);
}

#[test]
fn sftp_packet_corpus_replays_cleanly() {
    replay("sftp_packets", targets::sftp_packets);
}

#[test]
fn blob_decoder_corpus_replays_cleanly() {
    replay("blob_decoder", targets::blob_decoder);
}

#[test]
fn claim_form_corpus_replays_cleanly() {
    replay("claim_form", targets::claim_form);
}

#[test]
fn link_form_corpus_replays_cleanly() {
    replay("link_forms", targets::link_forms);
}

#[test]
fn config_value_corpus_replays_cleanly() {
    replay("config_values", targets::config_values);
}
