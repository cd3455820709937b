//! [`Console`]: every operator view and action, as typed data for the SSH command line and the
//! operator screen to render. Each action that changes something is written to the audit log
//! with who, what and the outcome, whether it succeeded or not.
//!
//! What it shows comes from the metadata store (shares, activity, bans, reports, presence), so
//! every instance on one Redis shows the same numbers. It never shows a share's name, content,
//! id or anything that could decrypt it: shares are named by handle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::{info, warn};

use super::activity::group_label;
use super::{
    Activity, ActivityKind, Admins, AuditEntry, Ban, BanTarget, NewReport, OperatorStore, Report,
    ReportReason, Resolution, Retention, SessionCounts,
};
use super::{printable, printable_target};
use crate::safe_text::{Unsafe, sanitize};
use crate::share::{
    Millis, Owner, Sender, ShareError, ShareId, ShareOverview, ShareRef, Shares, StatusState,
    StoreError, now_millis,
};

/// Most activity events a stats or top query reads (a day of a very busy server).
const ACTIVITY_SCAN_LIMIT: usize = 500_000;
/// Unresolved reports kept at most; more are refused until operators catch up.
pub const MAX_OPEN_REPORTS: usize = 1_000;
/// Longest free-text part of a report.
pub const MAX_REPORT_DETAILS: usize = 500;
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);
/// How often an instance re-announces its live sessions, and how long an announcement holds.
const PRESENCE_EVERY: Duration = Duration::from_secs(10);
const PRESENCE_HOLDS: Duration = Duration::from_secs(35);

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("{0}")]
    Share(#[from] ShareError),
    #[error("operator storage is unavailable: {0}")]
    Store(#[from] StoreError),
    #[error("{0:?} is not a share link, id or handle (at least 4 hex characters)")]
    BadShare(String),
    #[error(transparent)]
    BadTarget(#[from] super::BanTargetError),
    #[error("{0} is an operator's key; operators cannot be banned")]
    OperatorKey(String),
    #[error("no open report number {0}")]
    NoSuchReport(u64),
    #[error("no ban on {0}")]
    NoSuchBan(String),
    #[error("too many open reports; try again later")]
    ReportsFull,
    #[error("--from needs a key (SHA256:… or a public key) or one address, not a block")]
    BadSender,
}

/// Shares now in the store, by state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    /// Armed (claimable) shares, locked ones included.
    pub live: u64,
    pub locked: u64,
    /// Records kept until expiry so their links can say what happened.
    pub opened: u64,
    pub revoked: u64,
    pub taken_down: u64,
    /// Encrypted bytes of live shares.
    pub bytes_stored: u64,
}

/// Lifecycle events in a window, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WindowCounts {
    pub created: u64,
    pub claimed: u64,
    pub expired: u64,
    pub locked: u64,
    pub revoked: u64,
    pub taken_down: u64,
    /// Plaintext bytes uploaded.
    pub bytes_in: u64,
}

impl WindowCounts {
    fn add(&mut self, activity: &Activity) {
        let slot = match activity.kind {
            ActivityKind::Created => &mut self.created,
            ActivityKind::Claimed => &mut self.claimed,
            ActivityKind::Expired => &mut self.expired,
            ActivityKind::Locked => &mut self.locked,
            ActivityKind::Revoked => &mut self.revoked,
            ActivityKind::TakenDown => &mut self.taken_down,
        };
        *slot += activity.count;
        self.bytes_in += activity.bytes;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoreHealth {
    pub backend: &'static str,
    pub ok: bool,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Live SSH sessions across every instance that announced itself recently.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub instances: usize,
    pub sessions: SessionCounts,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub at: Millis,
    pub shares: StateCounts,
    pub last_hour: WindowCounts,
    pub last_day: WindowCounts,
    pub ssh: Presence,
    pub store: StoreHealth,
    pub open_reports: usize,
    pub bans: usize,
}

/// One sender in a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SenderRow {
    /// A key fingerprint, `(no key)`, or an address (IPv6 as its /64).
    pub sender: String,
    pub shares: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopSenders {
    pub window_secs: u64,
    pub by_key: Vec<SenderRow>,
    pub by_address: Vec<SenderRow>,
}

pub struct Console {
    shares: Shares,
    store: Arc<dyn OperatorStore>,
    admins: Admins,
    backend: &'static str,
    instance: String,
    /// This instance's live SSH sessions by kind.
    local_sessions: Box<dyn Fn() -> SessionCounts + Send + Sync>,
    /// Rates counted across replicas (Redis), for the ingress rate limits.
    rates: Option<Arc<dyn crate::shared_rates::SharedRates>>,
}

impl Console {
    pub fn new(
        shares: Shares,
        store: Arc<dyn OperatorStore>,
        admins: Admins,
        backend: &'static str,
        local_sessions: Box<dyn Fn() -> SessionCounts + Send + Sync>,
    ) -> Console {
        let mut raw = [0u8; 6];
        let _ = getrandom::fill(&mut raw);
        Console {
            shares,
            store,
            admins,
            backend,
            instance: hex::encode(raw),
            local_sessions,
            rates: None,
        }
    }

    /// Counts the ingress rate limits in `rates` (shared by every replica) instead of in each
    /// process.
    pub fn with_shared_rates(
        mut self,
        rates: Option<Arc<dyn crate::shared_rates::SharedRates>>,
    ) -> Console {
        self.rates = rates;
        self
    }

    /// Where rate limits count across replicas, if anywhere.
    pub fn shared_rates(&self) -> Option<Arc<dyn crate::shared_rates::SharedRates>> {
        self.rates.clone()
    }

    pub fn is_operator(&self, fingerprint: &str) -> bool {
        self.admins.contains(fingerprint)
    }

    /// The ban that refuses a client with `key` at `ip`, if any. Operators are never banned
    /// (they must be able to lift a ban that caught their own address).
    pub async fn banned(&self, key: Option<&str>, ip: IpAddr) -> Result<Option<Ban>, StoreError> {
        if key.is_some_and(|k| self.is_operator(k)) {
            return Ok(None);
        }
        Ok(self
            .store
            .bans(now_millis())
            .await?
            .into_iter()
            .find(|ban| ban.target.matches(key, ip)))
    }

    pub async fn stats(&self) -> Result<Stats, ConsoleError> {
        let now = now_millis();
        let overview = self.shares.overview().await?;
        let mut shares = StateCounts::default();
        for share in &overview {
            let status = &share.status;
            match status.state {
                StatusState::Armed | StatusState::Locked => {
                    shares.live += 1;
                    shares.bytes_stored += status.stored_size;
                    if status.state == StatusState::Locked {
                        shares.locked += 1;
                    }
                }
                StatusState::Opened { .. } => shares.opened += 1,
                StatusState::Revoked { .. } => shares.revoked += 1,
                StatusState::TakenDown { .. } => shares.taken_down += 1,
            }
        }
        let day_ago = now.saturating_sub(DAY.as_millis() as u64);
        let hour_ago = now.saturating_sub(HOUR.as_millis() as u64);
        let mut last_hour = WindowCounts::default();
        let mut last_day = WindowCounts::default();
        for activity in self
            .store
            .activity_since(day_ago, ACTIVITY_SCAN_LIMIT)
            .await?
        {
            last_day.add(&activity);
            if activity.at >= hour_ago {
                last_hour.add(&activity);
            }
        }
        let started = Instant::now();
        let health = self.shares.health().await;
        let store = StoreHealth {
            backend: self.backend,
            ok: health.is_ok(),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            error: health.err().map(|e| e.to_string()),
        };
        let open_reports = self
            .store
            .reports()
            .await?
            .iter()
            .filter(|r| r.resolution.is_none())
            .count();
        Ok(Stats {
            at: now,
            shares,
            last_hour,
            last_day,
            ssh: self.presence().await?,
            store,
            open_reports,
            bans: self.store.bans(now).await?.len(),
        })
    }

    async fn presence(&self) -> Result<Presence, StoreError> {
        let now = now_millis();
        let mut announced = self.store.presence(now).await?;
        // Our own numbers are always current, whatever the last announcement said.
        announced.retain(|(instance, _)| instance != &self.instance);
        announced.push((self.instance.clone(), (self.local_sessions)()));
        let mut presence = Presence {
            instances: announced.len(),
            sessions: SessionCounts::new(),
        };
        for (_, counts) in announced {
            for (kind, n) in counts {
                *presence.sessions.entry(kind).or_default() += n;
            }
        }
        Ok(presence)
    }

    /// Live shares and tombstones, newest first, at most `limit`.
    pub async fn shares(&self, limit: usize) -> Result<Vec<ShareOverview>, ConsoleError> {
        let mut all = self.shares.overview().await?;
        all.truncate(limit);
        Ok(all)
    }

    /// Who sent the most shares in the last `window`, by key and by address.
    pub async fn top(&self, window: Duration, limit: usize) -> Result<TopSenders, ConsoleError> {
        let since = now_millis().saturating_sub(millis(window));
        let mut by_key: HashMap<String, (u64, u64)> = HashMap::new();
        let mut by_address: HashMap<String, (u64, u64)> = HashMap::new();
        for activity in self
            .store
            .activity_since(since, ACTIVITY_SCAN_LIMIT)
            .await?
            .into_iter()
            .filter(|a| a.kind == ActivityKind::Created)
        {
            let key = activity.owner.clone().unwrap_or_else(|| "(no key)".into());
            let row = by_key.entry(key).or_default();
            row.0 += activity.count;
            row.1 += activity.bytes;
            if let Some(client) = activity.client {
                let row = by_address.entry(client).or_default();
                row.0 += activity.count;
                row.1 += activity.bytes;
            }
        }
        Ok(TopSenders {
            window_secs: window.as_secs(),
            by_key: ranked(by_key, limit),
            by_address: ranked(by_address, limit),
        })
    }

    /// Takes a share down (by link, id or handle) and resolves its open reports.
    pub async fn take_down(&self, by: &str, target: &str) -> Result<ShareOverview, ConsoleError> {
        let parsed = ShareRef::parse(target);
        // The audit names the share by handle: a pasted link carries its key.
        let named = match &parsed {
            Some(ShareRef::Id(id)) => id.handle().to_string(),
            Some(ShareRef::Handle(prefix)) => prefix.clone(),
            None => "(unrecognised share)".into(),
        };
        let result = async {
            // Whatever may be a link key, in any pasted form, is never echoed, audited or logged.
            let share = parsed.ok_or_else(|| ConsoleError::BadShare(printable_target(target)))?;
            let removed = self.shares.take_down(&share).await?;
            self.resolve_reports_of(by, &removed).await?;
            Ok(removed)
        }
        .await;
        let action = match &result {
            Ok(removed) => format!("takedown {}", removed.status.handle),
            Err(_) => format!("takedown {named}"),
        };
        self.audit(by, action, &result).await;
        result
    }

    /// `takedown --from KEY|ADDR`: every live share of one key (fingerprint or public key) or
    /// one address group; each share taken down is audited and its reports resolved like a
    /// single takedown, and one more entry records the whole action.
    pub async fn take_down_from(
        &self,
        by: &str,
        target: &str,
    ) -> Result<Vec<ShareOverview>, ConsoleError> {
        let sender = match target.trim().parse::<IpAddr>() {
            Ok(ip) => Ok(Sender::Address(ip)),
            Err(_) => match BanTarget::parse(target)? {
                BanTarget::Key(fingerprint) => Ok(Sender::Key(Owner::new(fingerprint))),
                BanTarget::Net(_) => Err(ConsoleError::BadSender),
            },
        };
        let named = match &sender {
            Ok(Sender::Key(owner)) => owner.as_str().to_owned(),
            Ok(Sender::Address(ip)) => group_label(*ip),
            Err(_) => "(unrecognised sender)".into(),
        };
        let result = async {
            let removed = self.shares.take_down_from(&sender?).await?;
            for share in &removed {
                self.resolve_reports_of(by, share).await?;
                let action = format!("takedown {} (from {named})", share.status.handle);
                self.audit(by, action, &Ok::<_, ConsoleError>(())).await;
            }
            Ok(removed)
        }
        .await;
        let action = match &result {
            Ok(removed) => format!("takedown --from {named}: {} shares", removed.len()),
            Err(_) => format!("takedown --from {named}"),
        };
        self.audit(by, action, &result).await;
        result
    }

    async fn resolve_reports_of(
        &self,
        by: &str,
        share: &ShareOverview,
    ) -> Result<(), ConsoleError> {
        let handle = share.status.handle.to_string();
        for report in self.store.reports().await? {
            if report.resolution.is_none() && report.filed.share == handle {
                let resolution = self.resolution(by, "taken down");
                self.store
                    .resolve_report(report.number, &resolution)
                    .await?;
            }
        }
        Ok(())
    }

    pub async fn ban(
        &self,
        by: &str,
        target: &str,
        duration: Option<Duration>,
    ) -> Result<Ban, ConsoleError> {
        let parsed = BanTarget::parse(target);
        let result = async {
            let target = parsed.clone()?;
            if let BanTarget::Key(fingerprint) = &target
                && self.is_operator(fingerprint)
            {
                return Err(ConsoleError::OperatorKey(fingerprint.clone()));
            }
            let now = now_millis();
            let ban = Ban {
                target,
                at: now,
                until: duration.map(|d| now.saturating_add(millis(d))),
                by: by.to_owned(),
            };
            self.store.put_ban(&ban).await?;
            Ok(ban)
        }
        .await;
        let named = parsed.map_or_else(|_| printable_target(target), |t| t.to_string());
        let action = match duration {
            Some(d) => format!("ban {named} for {}", crate::config::format_duration(d)),
            None => format!("ban {named}"),
        };
        self.audit(by, action, &result).await;
        result
    }

    pub async fn unban(&self, by: &str, target: &str) -> Result<BanTarget, ConsoleError> {
        let parsed = BanTarget::parse(target);
        let result = async {
            let target = parsed.clone()?;
            if self.store.remove_ban(&target).await? {
                Ok(target)
            } else {
                Err(ConsoleError::NoSuchBan(target.to_string()))
            }
        }
        .await;
        let named = parsed.map_or_else(|_| printable_target(target), |t| t.to_string());
        self.audit(by, format!("unban {named}"), &result).await;
        result
    }

    pub async fn bans(&self) -> Result<Vec<Ban>, ConsoleError> {
        let mut bans = self.store.bans(now_millis()).await?;
        bans.sort_by_key(|b| b.at);
        Ok(bans)
    }

    /// Reports, oldest first; resolved ones only with `all`.
    pub async fn reports(&self, all: bool) -> Result<Vec<Report>, ConsoleError> {
        let mut reports = self.store.reports().await?;
        reports.retain(|r| all || r.resolution.is_none());
        Ok(reports)
    }

    /// Closes a report without acting on the share.
    pub async fn dismiss(&self, by: &str, number: u64) -> Result<Report, ConsoleError> {
        let result = async {
            self.store
                .resolve_report(number, &self.resolution(by, "dismissed"))
                .await?
                .ok_or(ConsoleError::NoSuchReport(number))
        }
        .await;
        self.audit(by, format!("dismiss report {number}"), &result)
            .await;
        result
    }

    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, ConsoleError> {
        Ok(self.store.audit(limit).await?)
    }

    /// A visitor's abuse report from the status page. The share must exist (a report is about a
    /// link someone saw); it is recorded by handle.
    pub async fn file_report(
        &self,
        id: &ShareId,
        reason: ReportReason,
        details: &str,
        reporter: IpAddr,
    ) -> Result<u64, ConsoleError> {
        if self.shares.peek(id).await?.is_none() {
            return Err(ShareError::NotFound.into());
        }
        let report = NewReport {
            at: now_millis(),
            share: id.handle().to_string(),
            reason,
            details: clean_details(details),
            reporter: group_label(reporter),
        };
        let number = self
            .store
            .file_report(&report, MAX_OPEN_REPORTS)
            .await?
            .ok_or(ConsoleError::ReportsFull)?;
        info!(report = number, share = %report.share, reason = reason.as_str(), "abuse report filed");
        Ok(number)
    }

    /// Announces this instance's sessions now and every few seconds, and prunes old records
    /// every hour, until `shutdown` resolves.
    pub async fn run_upkeep(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut announce = tokio::time::interval(PRESENCE_EVERY);
        let mut prune = tokio::time::interval(HOUR);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = announce.tick() => {
                    let until = now_millis() + PRESENCE_HOLDS.as_millis() as u64;
                    let sessions = (self.local_sessions)();
                    if let Err(err) = self.store.publish_presence(&self.instance, &sessions, until).await {
                        warn!(error = %err, "could not announce live sessions");
                    }
                }
                _ = prune.tick() => {
                    if let Err(err) = self.store.prune(now_millis(), Retention::default()).await {
                        warn!(error = %err, "could not prune operator records");
                    }
                }
            }
        }
    }

    fn resolution(&self, by: &str, action: &str) -> Resolution {
        Resolution {
            at: now_millis(),
            by: by.to_owned(),
            action: action.to_owned(),
        }
    }

    async fn audit<T>(&self, by: &str, action: String, result: &Result<T, ConsoleError>) {
        let outcome = match result {
            Ok(_) => "ok".to_owned(),
            Err(err) => printable(&err.to_string()),
        };
        info!(operator = by, action = %action, outcome = %outcome, "operator action");
        let entry = AuditEntry {
            at: now_millis(),
            by: by.to_owned(),
            action,
            outcome,
        };
        if let Err(err) = self.store.append_audit(&entry).await {
            warn!(error = %err, "could not write the audit log");
        }
    }
}

/// A duration in milliseconds, saturating: `--for 18446744073709551615` is "for ever", not a
/// value that wraps around into the past.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn ranked(rows: HashMap<String, (u64, u64)>, limit: usize) -> Vec<SenderRow> {
    let mut rows: Vec<SenderRow> = rows
        .into_iter()
        .map(|(sender, (shares, bytes))| SenderRow {
            sender,
            shares,
            bytes,
        })
        .collect();
    rows.sort_by(|a, b| (b.shares, b.bytes, &a.sender).cmp(&(a.shares, a.bytes, &b.sender)));
    rows.truncate(limit);
    rows
}

/// A stranger's words, safe for an operator's terminal: only what shows as itself
/// (`crate::safe_text`), one line, bounded.
fn clean_details(text: &str) -> String {
    // Line breaks and other controls separate words; invisible characters are just dropped.
    let spaced: String = text
        .chars()
        .take(MAX_REPORT_DETAILS)
        .map(|c| {
            if c.is_control() || c.is_whitespace() {
                ' '
            } else {
                c
            }
        })
        .collect();
    sanitize(&spaced, Unsafe::Drop)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_details_lose_control_and_bidi_characters() {
        let dirty = "look\x1b[2J here\r\nnow\u{202e}evil\u{200b}";
        assert_eq!(clean_details(dirty), "look [2J here nowevil");
        assert_eq!(clean_details(&"x".repeat(2000)).len(), MAX_REPORT_DETAILS);
        let sneaky = "pay\u{061C}here\u{2028}now\u{E0041}\u{00AD}\u{3164}\u{180E}!";
        assert_eq!(clean_details(sneaky), "payhere now!");
    }

    #[test]
    fn huge_durations_saturate_instead_of_wrapping() {
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u64::MAX);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        let ban_until = 1_000u64.saturating_add(millis(Duration::from_secs(u64::MAX)));
        assert!(ban_until > 1_000, "a ban for ever must not expire at once");
    }

    #[test]
    fn senders_rank_by_shares_then_bytes() {
        let rows = HashMap::from([
            ("a".to_owned(), (1, 900)),
            ("b".to_owned(), (3, 10)),
            ("c".to_owned(), (3, 20)),
        ]);
        let ranked = ranked(rows, 2);
        let names: Vec<_> = ranked.iter().map(|r| r.sender.as_str()).collect();
        assert_eq!(names, ["c", "b"]);
    }
}
