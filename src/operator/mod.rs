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

/// Untrusted text (an operator's mistyped argument, an error about it) made safe to echo into a
/// terminal, an error message or the audit log: control characters replaced, length bounded.
pub fn printable(text: &str) -> String {
    text.chars()
        .take(120)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
