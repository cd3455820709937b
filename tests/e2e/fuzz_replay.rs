//! Replays every committed fuzz corpus (`tests/fuzz/corpus/<target>/`) through the same target
//! bodies the fuzzer runs (`tests/fuzz/targets.rs`), without a fuzzer: each input that once
//! found new code — and each regression input of a fixed crash — must still pass. See
//! docs/fuzzing.md for running the fuzzer itself.

#[path = "../fuzz/targets.rs"]
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

/// One test per target, named after it, so a failure names the parser.
macro_rules! corpus_replays_cleanly {
    ($($target:ident),* $(,)?) => {
        mod every_committed_input_passes {
            $(
                #[test]
                fn $target() {
                    super::replay(stringify!($target), super::targets::$target);
                }
            )*
        }
    };
}

corpus_replays_cleanly!(
    scp_headers,
    tui_input,
    exec_command,
    sftp_packets,
    blob_decoder,
    claim_form,
    link_forms,
    config_values,
);
