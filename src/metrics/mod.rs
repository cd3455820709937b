//! Prometheus metrics: one process-wide [`Metrics`] registry of plain atomics, fed by the share
//! lifecycle (it is a [`ShareObserver`]) and by the stores (errors, through the counting wrappers
//! in [`store`]); live SSH sessions are read at scrape time from the SSH side's session tally.
//! Rendered in the text exposition format and served only on the separate, optional
//! `--metrics-addr` listener ([`server`]), never on the public port.
//!
//! Why hand-written rather than the `prometheus-client` crate: the set of metrics is small and
//! fixed, every label value is a compile-time constant (so cardinality cannot grow with client
//! input), and the text format for counters, gauges and one histogram is a few dozen lines
//! ([`text`], unit-tested against the format's rules). That keeps a dependency and its registry
//! boilerplate out of the tree for what is a handful of `fetch_add`s.
//!
//! What is counted never identifies a share: no ids, handles, names, keys or owners as labels.

mod process;
mod server;
mod store;
mod text;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use server::{MetricsError, MetricsServer};
pub use store::StoreOp;

use crate::refusals::{Reason, Refusals};
use crate::share::{BlobStore, MetaStore, ShareEvent, ShareObserver};
use text::Exposition;

/// Upper bounds (seconds) of the claim latency buckets: sub-millisecond Redis claims up to
/// Argon2id at a high cost (64 MiB, t=3 takes a few hundred milliseconds; see benchmarks).
const CLAIM_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `event` label of `onetimeshare_shares_total`, in index order of `Registry::shares`.
const SHARE_EVENTS: [&str; 6] = [
    "created",
    "claimed",
    "locked",
    "revoked",
    "taken_down",
    "expired",
];
const CREATED: usize = 0;
const CLAIMED: usize = 1;
const LOCKED: usize = 2;
const REVOKED: usize = 3;
const TAKEN_DOWN: usize = 4;
const EXPIRED: usize = 5;

/// Session kinds the SSH side counts (`ssh::SessionTally`), exposed at zero before the first
/// session of each kind so a dashboard has a series from the start.
const SESSION_KINDS: [&str; 8] = [
    "tui", "pipe", "scp", "sftp", "command", "admin", "get", "watch",
];

/// Live SSH sessions by kind, read at scrape time.
pub type SessionSource = Box<dyn Fn() -> BTreeMap<String, u64> + Send + Sync>;

/// The registry. Cheap to clone; one per process.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Registry>,
}

struct Registry {
    shares: [AtomicU64; SHARE_EVENTS.len()],
    uploaded_bytes: AtomicU64,
    served_bytes: AtomicU64,
    sessions: SessionSource,
    claim_seconds: Histogram,
    store_errors: [AtomicU64; StoreOp::ALL.len()],
    process: process::ProcessInfo,
    /// The servers' refusal counters, read at scrape time (set once the servers are bound).
    refusals: std::sync::OnceLock<Vec<Refusals>>,
}

impl Metrics {
    /// A registry at zero; `sessions` tells it the live SSH sessions by kind when scraped.
    pub fn new(sessions: SessionSource) -> Self {
        Self {
            inner: Arc::new(Registry {
                shares: Default::default(),
                uploaded_bytes: AtomicU64::new(0),
                served_bytes: AtomicU64::new(0),
                sessions,
                claim_seconds: Histogram::default(),
                store_errors: Default::default(),
                process: process::ProcessInfo::now(),
                refusals: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The same stores, with every error they return counted by operation
    /// (`onetimeshare_store_errors_total`).
    pub fn count_store_errors(
        &self,
        meta: Arc<dyn MetaStore>,
        blobs: Arc<dyn BlobStore>,
    ) -> (Arc<dyn MetaStore>, Arc<dyn BlobStore>) {
        store::wrap(self.clone(), meta, blobs)
    }

    /// Reads `onetimeshare_refusals_total` from these counters (the SSH and HTTP servers' own).
    pub fn count_refusals_of(&self, sources: Vec<Refusals>) {
        let _ = self.inner.refusals.set(sources);
    }

    fn store_error(&self, op: StoreOp) {
        self.inner.store_errors[op.index()].fetch_add(1, Ordering::Relaxed);
    }

    fn count_share_event(&self, event: usize, n: u64) {
        self.inner.shares[event].fetch_add(n, Ordering::Relaxed);
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let r = &*self.inner;
        let mut out = Exposition::default();
        out.family(
            "onetimeshare_shares_total",
            "counter",
            "Share lifecycle events: created (published), claimed (the one successful claim), \
             locked (last wrong password spent), revoked (by its owner), taken_down (by an \
             operator), expired (removed by a sweep).",
        );
        for (event, count) in SHARE_EVENTS.iter().zip(&r.shares) {
            out.sample(
                "onetimeshare_shares_total",
                &[("event", event)],
                count.load(Ordering::Relaxed),
            );
        }
        out.family(
            "onetimeshare_uploaded_bytes_total",
            "counter",
            "Plaintext bytes of the shares created (counted when a share is published).",
        );
        out.sample(
            "onetimeshare_uploaded_bytes_total",
            &[],
            r.uploaded_bytes.load(Ordering::Relaxed),
        );
        out.family(
            "onetimeshare_served_bytes_total",
            "counter",
            "Plaintext bytes handed to claimants (counted when a download ends, complete or cut).",
        );
        out.sample(
            "onetimeshare_served_bytes_total",
            &[],
            r.served_bytes.load(Ordering::Relaxed),
        );
        out.family(
            "onetimeshare_ssh_sessions",
            "gauge",
            "SSH session channels open now, by what they are doing.",
        );
        let mut sessions = (r.sessions)();
        for kind in SESSION_KINDS {
            sessions.entry(kind.to_owned()).or_default();
        }
        for (kind, count) in &sessions {
            out.sample("onetimeshare_ssh_sessions", &[("kind", kind)], count);
        }
        out.family(
            "onetimeshare_claim_duration_seconds",
            "histogram",
            "Successful claims: from the claim call to the atomic claim decision (key check, \
             Argon2id for password shares, the store's atomic step); streaming is not included.",
        );
        out.histogram(
            "onetimeshare_claim_duration_seconds",
            &CLAIM_BUCKETS,
            &r.claim_seconds.snapshot(),
        );
        out.family(
            "onetimeshare_store_errors_total",
            "counter",
            "Errors returned by the metadata and blob stores, by operation.",
        );
        for op in StoreOp::ALL {
            let (store, name) = op.labels();
            out.sample(
                "onetimeshare_store_errors_total",
                &[("store", store), ("op", name)],
                r.store_errors[op.index()].load(Ordering::Relaxed),
            );
        }
        out.family(
            "onetimeshare_refusals_total",
            "counter",
            "Requests refused by a limit, by reason: claim_rate (claims per minute), \
             http_connections (HTTP connection and request caps), ssh_busy, ssh_per_address, \
             ssh_per_key (SSH connection caps), upload_rate (uploads per minute), banned.",
        );
        let sources = r.refusals.get().map(Vec::as_slice).unwrap_or_default();
        for reason in Reason::ALL {
            let total: u64 = sources.iter().map(|s| s.get(reason)).sum();
            out.sample(
                "onetimeshare_refusals_total",
                &[("reason", reason.label())],
                total,
            );
        }
        r.process.render(&mut out);
        out.finish()
    }
}

impl ShareObserver for Metrics {
    fn observe(&self, event: &ShareEvent<'_>) {
        let r = &*self.inner;
        match event {
            ShareEvent::Created { bytes, .. } => {
                self.count_share_event(CREATED, 1);
                r.uploaded_bytes.fetch_add(*bytes, Ordering::Relaxed);
            }
            ShareEvent::Claimed { latency, .. } => {
                self.count_share_event(CLAIMED, 1);
                r.claim_seconds.observe(*latency);
            }
            ShareEvent::Delivered { bytes, .. } => {
                r.served_bytes.fetch_add(*bytes, Ordering::Relaxed);
            }
            ShareEvent::Locked => self.count_share_event(LOCKED, 1),
            ShareEvent::Revoked => self.count_share_event(REVOKED, 1),
            ShareEvent::TakenDown => self.count_share_event(TAKEN_DOWN, 1),
            ShareEvent::Expired { count } => self.count_share_event(EXPIRED, *count as u64),
        }
    }
}

/// Fixed buckets of [`CLAIM_BUCKETS`]; a mutex (not per-bucket atomics) so a scrape always sees
/// buckets, count and sum from the same set of observations. Claims are far too rare for the
/// lock to matter.
#[derive(Default)]
struct Histogram {
    state: std::sync::Mutex<HistogramSnapshot>,
}

/// Per-bucket (not cumulative) counts, the overflow (+Inf only) count, and the sum.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct HistogramSnapshot {
    pub buckets: [u64; CLAIM_BUCKETS.len()],
    pub overflow: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match CLAIM_BUCKETS.iter().position(|bound| seconds <= *bound) {
            Some(i) => state.buckets[i] += 1,
            None => state.overflow += 1,
        }
        state.sum_seconds += seconds;
    }

    fn snapshot(&self) -> HistogramSnapshot {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(Box::new(BTreeMap::new))
    }

    fn has(text: &str, sample: &str) -> bool {
        text.lines().any(|l| l == sample)
    }

    #[test]
    fn a_fresh_registry_exposes_every_series_at_zero() {
        let text = metrics().render();
        for event in SHARE_EVENTS {
            let sample = format!("onetimeshare_shares_total{{event=\"{event}\"}} 0");
            assert!(has(&text, &sample), "{sample} missing:\n{text}");
        }
        for kind in SESSION_KINDS {
            let sample = format!("onetimeshare_ssh_sessions{{kind=\"{kind}\"}} 0");
            assert!(has(&text, &sample), "{sample} missing");
        }
        assert!(has(
            &text,
            "onetimeshare_store_errors_total{store=\"meta\",op=\"claim\"} 0"
        ));
        assert!(has(&text, "onetimeshare_claim_duration_seconds_count 0"));
        assert!(has(&text, "onetimeshare_uploaded_bytes_total 0"));
    }

    #[test]
    fn lifecycle_events_move_their_counters_and_the_byte_totals() {
        let metrics = metrics();
        let created = ShareEvent::Created {
            owner: None,
            client: None,
            bytes: 1000,
        };
        metrics.observe(&created);
        metrics.observe(&created);
        metrics.observe(&ShareEvent::Claimed {
            latency: Duration::from_millis(30),
        });
        metrics.observe(&ShareEvent::Delivered {
            bytes: 700,
            complete: false,
        });
        metrics.observe(&ShareEvent::Locked);
        metrics.observe(&ShareEvent::Revoked);
        metrics.observe(&ShareEvent::TakenDown);
        metrics.observe(&ShareEvent::Expired { count: 3 });
        let text = metrics.render();
        for (event, n) in [
            ("created", 2),
            ("claimed", 1),
            ("locked", 1),
            ("revoked", 1),
            ("taken_down", 1),
            ("expired", 3),
        ] {
            let sample = format!("onetimeshare_shares_total{{event=\"{event}\"}} {n}");
            assert!(has(&text, &sample), "{sample} missing:\n{text}");
        }
        assert!(has(&text, "onetimeshare_uploaded_bytes_total 2000"));
        assert!(has(&text, "onetimeshare_served_bytes_total 700"));
        assert!(has(
            &text,
            "onetimeshare_claim_duration_seconds_bucket{le=\"0.025\"} 0"
        ));
        assert!(has(
            &text,
            "onetimeshare_claim_duration_seconds_bucket{le=\"0.05\"} 1"
        ));
        assert!(has(
            &text,
            "onetimeshare_claim_duration_seconds_bucket{le=\"+Inf\"} 1"
        ));
        assert!(has(&text, "onetimeshare_claim_duration_seconds_count 1"));
        assert!(has(&text, "onetimeshare_claim_duration_seconds_sum 0.03"));
    }

    #[test]
    fn live_sessions_are_read_from_the_source_at_scrape_time() {
        let live = Arc::new(std::sync::Mutex::new(BTreeMap::from([
            ("tui".to_owned(), 1u64),
            ("pipe".to_owned(), 2),
        ])));
        let source = live.clone();
        let metrics = Metrics::new(Box::new(move || source.lock().unwrap().clone()));
        let text = metrics.render();
        assert!(has(&text, "onetimeshare_ssh_sessions{kind=\"tui\"} 1"));
        assert!(has(&text, "onetimeshare_ssh_sessions{kind=\"pipe\"} 2"));
        assert!(has(&text, "onetimeshare_ssh_sessions{kind=\"sftp\"} 0"));
        live.lock().unwrap().insert("pipe".into(), 0);
        let text = metrics.render();
        assert!(has(&text, "onetimeshare_ssh_sessions{kind=\"pipe\"} 0"));
    }

    #[test]
    fn refusals_are_summed_over_the_servers_and_every_reason_is_exposed() {
        let metrics = metrics();
        assert!(has(
            &metrics.render(),
            "onetimeshare_refusals_total{reason=\"banned\"} 0"
        ));
        let (ssh, http) = (Refusals::default(), Refusals::default());
        metrics.count_refusals_of(vec![ssh.clone(), http.clone()]);
        ssh.count(Reason::Banned);
        http.count(Reason::ClaimRate);
        http.count(Reason::ClaimRate);
        let text = metrics.render();
        assert!(has(
            &text,
            "onetimeshare_refusals_total{reason=\"banned\"} 1"
        ));
        assert!(has(
            &text,
            "onetimeshare_refusals_total{reason=\"claim_rate\"} 2"
        ));
        assert!(has(
            &text,
            "onetimeshare_refusals_total{reason=\"upload_rate\"} 0"
        ));
    }

    #[test]
    fn slow_claims_land_in_the_overflow_bucket_only() {
        let metrics = metrics();
        metrics.observe(&ShareEvent::Claimed {
            latency: Duration::from_secs(30),
        });
        let text = metrics.render();
        assert!(has(
            &text,
            "onetimeshare_claim_duration_seconds_bucket{le=\"10\"} 0"
        ));
        assert!(has(
            &text,
            "onetimeshare_claim_duration_seconds_bucket{le=\"+Inf\"} 1"
        ));
    }
}
