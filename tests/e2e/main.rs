//! The integration tests: one binary (linked once, the harness compiled once) with one module per
//! area, each driving the real `onetimeshare` binary or the library through real parts — its own
//! `redis-server`, OpenSSH, curl, tmux, Chromium. `support` is the harness every area shares; with
//! a single binary whatever it holds is used somewhere, so nothing in it is allowed to go dead.
//! A test's name is its module path: `cargo nextest run --test e2e ssh::` runs one area.
// Test and measurement code states its expectations with unwrap/panic (the [lints] table
// denies both in the server).
#![allow(clippy::unwrap_used, clippy::panic)]

#[macro_use]
mod support;

mod blob_contract;
mod config;
mod docker;
mod faults;
mod fuzz_replay;
mod http;
mod limits;
mod load_abuse;
mod metrics;
mod operator;
mod operator_store_contract;
mod redis_deployments;
mod s3;
mod scale_out;
mod sealed;
mod server_lifecycle;
mod shutdown;
mod ssh;
mod ssh_get;
mod ssh_wait;
mod ssh_watch;
mod store_contract;
mod tui;
