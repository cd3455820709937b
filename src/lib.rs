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

pub mod app;
pub mod client_group;
pub mod config;
pub mod crypto;
pub mod http;
pub mod ip_net;
pub mod metrics;
pub mod operator;
pub mod safe_text;
pub mod share;
pub mod shutdown;
pub mod ssh;
pub mod store;
pub mod telemetry;
pub mod theme;
pub mod tui;
pub mod utc;
