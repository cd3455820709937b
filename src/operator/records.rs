//! The records an [`OperatorStore`](super::OperatorStore) keeps. Plain data, serialized as JSON
//! by both stores; none of it can open a share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::share::Millis;

/// Live SSH sessions of one instance, by kind (`tui`, `pipe`, `scp`, `sftp`, `command`, …).
pub type SessionCounts = BTreeMap<String, u64>;

/// One lifecycle event (or, for `Expired`, a batch of them) as the activity log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub at: Millis,
    pub kind: ActivityKind,
    /// How many shares this event stands for (the sweeper reports expiries in batches).
    #[serde(default = "one")]
    pub count: u64,
    /// Plaintext bytes uploaded (`Created` only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes: u64,
    /// `SHA256:…` of the sender's key (`Created` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The sender's address, an IPv6 sender as its /64 (`Created` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

fn one() -> u64 {
    1
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    Created,
    Claimed,
    Expired,
    Locked,
    Revoked,
    #[serde(rename = "takendown")]
    TakenDown,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 6] = [
        ActivityKind::Created,
        ActivityKind::Claimed,
        ActivityKind::Expired,
        ActivityKind::Locked,
        ActivityKind::Revoked,
        ActivityKind::TakenDown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Created => "created",
            ActivityKind::Claimed => "claimed",
            ActivityKind::Expired => "expired",
            ActivityKind::Locked => "locked",
            ActivityKind::Revoked => "revoked",
            ActivityKind::TakenDown => "taken_down",
        }
    }
}

/// Why a visitor reported a share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportReason {
    Malware,
    Phishing,
    Illegal,
    Spam,
    Other,
}

impl ReportReason {
    pub const ALL: [ReportReason; 5] = [
        ReportReason::Malware,
        ReportReason::Phishing,
        ReportReason::Illegal,
        ReportReason::Spam,
        ReportReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportReason::Malware => "malware",
            ReportReason::Phishing => "phishing",
            ReportReason::Illegal => "illegal",
            ReportReason::Spam => "spam",
            ReportReason::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<ReportReason> {
        ReportReason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A report as filed, before the store numbers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReport {
    pub at: Millis,
    /// The reported share's handle (never its id).
    pub share: String,
    pub reason: ReportReason,
    /// The reporter's words: control characters stripped, bounded.
    pub details: String,
    /// The reporter's address (an IPv6 reporter as its /64).
    pub reporter: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub number: u64,
    #[serde(flatten)]
    pub filed: NewReport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

/// How an operator closed a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub at: Millis,
    /// The operator's key fingerprint.
    pub by: String,
    /// `taken down` or `dismissed`.
    pub action: String,
}

/// One operator action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Millis,
    /// The operator's key fingerprint.
    pub by: String,
    /// The command as understood (`takedown 3f9a1c02de`, `ban 203.0.113.0/24 for 1h`), with
    /// share links reduced to handles.
    pub action: String,
    /// `ok` or the refusal the operator saw.
    pub outcome: String,
}
