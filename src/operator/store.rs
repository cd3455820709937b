//! The seam between the operator console and storage. Implemented by both metadata stores (Redis
//! for many instances, the embedded store for one box); one contract suite
//! (`tests/e2e/operator_store_contract.rs`) holds both to these guarantees.

use std::time::Duration;

use async_trait::async_trait;

use super::{Activity, AuditEntry, Ban, BanTarget, NewReport, Report, Resolution, SessionCounts};
use crate::share::{Millis, StoreError};

/// How long operator records are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Activity events (the console looks back a day at most; a week leaves room).
    pub activity: Duration,
    /// Resolved reports.
    pub resolved_reports: Duration,
    /// Audit entries kept (the newest).
    pub audit_entries: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            activity: Duration::from_secs(7 * 24 * 3600),
            resolved_reports: Duration::from_secs(90 * 24 * 3600),
            audit_entries: 100_000,
        }
    }
}

#[async_trait]
pub trait OperatorStore: Send + Sync + 'static {
    /// Appends activity events.
    async fn record_activity(&self, events: &[Activity]) -> Result<(), StoreError>;

    /// Events with `at >= since`, oldest first; at most `limit` (the oldest beyond it are
    /// dropped from the answer, not from the store).
    async fn activity_since(
        &self,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError>;

    /// Adds the ban, replacing any ban on the same target. Durable and visible to every
    /// instance sharing the store when this returns.
    async fn put_ban(&self, ban: &Ban) -> Result<(), StoreError>;

    /// Lifts the ban on exactly `target`; `false` if there was none.
    async fn remove_ban(&self, target: &BanTarget) -> Result<bool, StoreError>;

    /// Bans in force at `now` (expired ones are left out).
    async fn bans(&self, now: Millis) -> Result<Vec<Ban>, StoreError>;

    /// **Atomic.** Stores the report under the next report number (1, 2, …) unless `max_open`
    /// unresolved reports exist already (then `None`): a flood of reports cannot fill the store.
    async fn file_report(
        &self,
        report: &NewReport,
        max_open: usize,
    ) -> Result<Option<u64>, StoreError>;

    /// All kept reports, in number order.
    async fn reports(&self) -> Result<Vec<Report>, StoreError>;

    /// **Atomic.** Resolves report `number` if it is open and returns it as resolved; `None` if
    /// there is no such report or it was resolved already (of concurrent resolutions one wins).
    async fn resolve_report(
        &self,
        number: u64,
        resolution: &Resolution,
    ) -> Result<Option<Report>, StoreError>;

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` audit entries, newest first.
    async fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;

    /// Announces this instance's live sessions until `until` (re-announced periodically).
    async fn publish_presence(
        &self,
        instance: &str,
        sessions: &SessionCounts,
        until: Millis,
    ) -> Result<(), StoreError>;

    /// Every instance's last announcement that is still valid at `now`.
    async fn presence(&self, now: Millis) -> Result<Vec<(String, SessionCounts)>, StoreError>;

    /// Forgets what `retention` no longer keeps, and expired bans.
    async fn prune(&self, now: Millis, retention: Retention) -> Result<(), StoreError>;
}
