//! Requests refused by a limit, counted by reason, for `/metrics`: the ingress that decides a
//! refusal counts it, the metrics listener reads the counts at scrape time. The reasons are a
//! fixed set of constant labels, so no client can grow the series.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a request was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A client over its claims-per-minute (HTTP 429).
    ClaimRate,
    /// HTTP connection caps (in total, per client, per proxy) or a forwarded client's requests in
    /// flight behind a trusted proxy.
    HttpConnections,
    /// SSH connections in total.
    SshBusy,
    /// SSH connections from one address.
    SshPerAddress,
    /// SSH connections with one key.
    SshPerKey,
    /// Uploads per minute (per key or per address).
    UploadRate,
    /// A banned key or address.
    Banned,
}

impl Reason {
    pub const ALL: [Reason; 7] = [
        Reason::ClaimRate,
        Reason::HttpConnections,
        Reason::SshBusy,
        Reason::SshPerAddress,
        Reason::SshPerKey,
        Reason::UploadRate,
        Reason::Banned,
    ];

    /// The `reason` label of `onetimeshare_refusals_total`.
    pub fn label(self) -> &'static str {
        match self {
            Reason::ClaimRate => "claim_rate",
            Reason::HttpConnections => "http_connections",
            Reason::SshBusy => "ssh_busy",
            Reason::SshPerAddress => "ssh_per_address",
            Reason::SshPerKey => "ssh_per_key",
            Reason::UploadRate => "upload_rate",
            Reason::Banned => "banned",
        }
    }
}

/// Refusal counters; cheap to clone (clones share the counts).
#[derive(Clone, Default)]
pub struct Refusals(Arc<[AtomicU64; Reason::ALL.len()]>);

impl Refusals {
    pub fn count(&self, reason: Reason) {
        self.0[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, reason: Reason) -> u64 {
        self.0[reason as usize].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_their_counts_and_reasons_are_apart() {
        let refusals = Refusals::default();
        let other = refusals.clone();
        other.count(Reason::Banned);
        other.count(Reason::Banned);
        refusals.count(Reason::ClaimRate);
        assert_eq!(refusals.get(Reason::Banned), 2);
        assert_eq!(refusals.get(Reason::ClaimRate), 1);
        assert_eq!(refusals.get(Reason::UploadRate), 0);
        let labels: std::collections::BTreeSet<_> = Reason::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), Reason::ALL.len());
    }
}
