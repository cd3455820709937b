//! What operators control and see, without ever seeing a secret: who is an operator, bans,
//! takedowns, abuse reports, the audit log of operator actions, and the activity numbers behind
//! the console's stats.
//!
//! Everything here lives in the metadata store behind [`OperatorStore`], so with Redis every
//! instance shows the same console and enforces the same bans. What is kept is deliberately
//! narrow: key fingerprints, client addresses, counts, sizes, times and share handles — never a
//! share id, a link, a name or content (the store could not decrypt a share even if it wanted).
//!
//! Ingress uses it in three places: SSH checks [`Console::banned`] at login and before every
//! upload and runs the `admin …` commands; HTTP files reports; the share lifecycle reports its
//! events to [`ActivityLog`].

mod activity;
mod admins;
mod ban;
mod console;
mod records;
mod store;

pub use activity::ActivityLog;
pub use admins::{Admins, AdminsError};
pub use ban::{Ban, BanTarget, BanTargetError};
pub use console::{
    Console, ConsoleError, Presence, SenderRow, StateCounts, Stats, StoreHealth, TopSenders,
    WindowCounts,
};
pub use records::{
    Activity, ActivityKind, AuditEntry, NewReport, Report, ReportReason, Resolution, SessionCounts,
};
pub use store::{OperatorStore, Retention};

use crate::safe_text::{Unsafe, sanitize};
use crate::share::without_link_key;

/// Untrusted text (an operator's mistyped argument, an error about it) made safe to echo into a
/// terminal, an error message or the audit log: what does not show as itself replaced by `?`
/// (`crate::safe_text`), length bounded.
pub fn printable(text: &str) -> String {
    let bounded: String = text.chars().take(120).collect();
    sanitize(&bounded, Unsafe::Replace('?'))
}

/// An operator's argument that may be a pasted link, made safe to echo, audit and log: the
/// link key in any of its pasted forms is cut off first (`crate::share::without_link_key`).
pub fn printable_target(text: &str) -> String {
    printable(&without_link_key(text))
}
