//! onetimeshare: hand a secret to one person.
//!
//! ```text
//!   ssh / scp / sftp ──► ssh ─┐
//!                             ├──► share (lifecycle) ──► crypto (format, keys)
//!   browser / curl ───► http ─┘          │
//!                                        └──► MetaStore + BlobStore (traits) ◄── store (redis, redb, fs)
//! ```
//!
//! An upload in ten lines:
//! `Shares::begin` makes a fresh key, writes the header to a temp blob, and returns an `Upload`
//! that encrypts while it streams (size limit checked as bytes arrive); `Upload::finish` seals
//! the last chunk, fsyncs and renames the blob, then inserts the metadata record, and hands back
//! the one `Link` that can open it. A claim: `Shares::claim` checks the link key against the
//! stored verifier (constant time), counts a password attempt atomically *before* Argon2,
//! flips the share to "opened" in ONE atomic store step, and only then streams the decrypted
//! content; the blob is removed when that stream ends or is dropped.
#![forbid(unsafe_code)]
// An application, not a library: its docs are built with `--document-private-items` (.ci/run),
// so module docs may link the private items they describe.
#![allow(rustdoc::private_intra_doc_links)]

// Listed by layer; dependencies point down this list, never up.

// The process: start-up, wiring, and what is measured of it.
pub mod app;
pub mod fd_budget;
pub mod metrics;
pub mod telemetry;

// Ingress: the surfaces clients talk to.
pub mod http;
pub mod ssh;
pub mod tui;

// The operator console's domain (bans, reports, audit) on top of the share lifecycle.
pub mod operator;

// The share lifecycle, its seams, and the crypto it sequences; the stores implement the seams
// (and the ingress rate limits' seam, rates counted across replicas).
pub mod crypto;
pub mod share;
pub mod shared_rates;
pub mod store;

// Settings, parsed once into typed values (it builds the share `Policy`).
pub mod config;

// Leaves: no dependency on anything above.
pub mod accept_errors;
pub mod client_group;
pub mod ip_net;
pub mod refusals;
pub mod safe_text;
pub mod shutdown;
pub mod theme;
pub mod units;
pub mod utc;
