//! The operator console's records in the embedded database. Writes go through the store's single
//! writer thread like every share mutation (so "next report number" and "resolved once" are
//! plain read-modify-writes inside one serialized transaction); reads use MVCC snapshots.
//! Presence lives in memory: only one process can open the database.

use async_trait::async_trait;
use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

use super::{EmbeddedStore, Request, Response, db_error, unexpected};
use crate::operator::{
    Activity, AuditEntry, Ban, BanTarget, NewReport, OperatorStore, Report, Resolution, Retention,
    SessionCounts,
};
use crate::share::{Millis, StoreError};

/// (at, random tiebreak) → JSON [`Activity`]
const ACTIVITY: TableDefinition<(u64, u64), &str> = TableDefinition::new("activity");
/// ban target text → JSON [`Ban`]
const BANS: TableDefinition<&str, &str> = TableDefinition::new("bans");
/// report number → JSON [`Report`]
const REPORTS: TableDefinition<u64, &str> = TableDefinition::new("reports");
/// (at, random tiebreak) → JSON [`AuditEntry`]
const AUDIT: TableDefinition<(u64, u64), &str> = TableDefinition::new("audit");
/// counter name → value (`report-seq`)
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(ACTIVITY)?;
    txn.open_table(BANS)?;
    txn.open_table(REPORTS)?;
    txn.open_table(AUDIT)?;
    txn.open_table(COUNTERS)?;
    Ok(())
}

/// A change to operator records, applied by the writer thread.
pub(crate) enum Write {
    Activity(Vec<Activity>),
    PutBan(Ban),
    RemoveBan(BanTarget),
    FileReport(NewReport, usize),
    ResolveReport(u64, Resolution),
    Audit(AuditEntry),
    Prune(Millis, Retention),
}

pub(crate) enum Written {
    Done,
    Removed(bool),
    Filed(Option<u64>),
    Resolved(Option<Report>),
}

fn json(value: &impl serde::Serialize) -> Result<String, redb::Error> {
    serde_json::to_string(value).map_err(|e| redb::Error::Corrupted(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, redb::Error> {
    serde_json::from_str(text).map_err(|e| redb::Error::Corrupted(e.to_string()))
}

fn tiebreak() -> u64 {
    let mut raw = [0u8; 8];
    let _ = getrandom::fill(&mut raw);
    u64::from_le_bytes(raw)
}

pub(super) fn apply(txn: &WriteTransaction, write: &Write) -> Result<Written, redb::Error> {
    Ok(match write {
        Write::Activity(events) => {
            let mut table = txn.open_table(ACTIVITY)?;
            for event in events {
                table.insert((event.at, tiebreak()), json(event)?.as_str())?;
            }
            Written::Done
        }
        Write::PutBan(ban) => {
            let mut table = txn.open_table(BANS)?;
            table.insert(ban.target.to_string().as_str(), json(ban)?.as_str())?;
            Written::Done
        }
        Write::RemoveBan(target) => {
            let mut table = txn.open_table(BANS)?;
            Written::Removed(table.remove(target.to_string().as_str())?.is_some())
        }
        Write::FileReport(report, max_open) => {
            let mut reports = txn.open_table(REPORTS)?;
            let mut open = 0;
            for item in reports.iter()? {
                let (_, value) = item?;
                if parse::<Report>(value.value())?.resolution.is_none() {
                    open += 1;
                }
            }
            if open >= *max_open {
                return Ok(Written::Filed(None));
            }
            let mut counters = txn.open_table(COUNTERS)?;
            let number = counters.get("report-seq")?.map_or(0, |v| v.value()) + 1;
            counters.insert("report-seq", number)?;
            let stored = Report {
                number,
                filed: report.clone(),
                resolution: None,
            };
            reports.insert(number, json(&stored)?.as_str())?;
            Written::Filed(Some(number))
        }
        Write::ResolveReport(number, resolution) => {
            let mut reports = txn.open_table(REPORTS)?;
            let current = match reports.get(*number)? {
                Some(value) => parse::<Report>(value.value())?,
                None => return Ok(Written::Resolved(None)),
            };
            if current.resolution.is_some() {
                return Ok(Written::Resolved(None));
            }
            let resolved = Report {
                resolution: Some(resolution.clone()),
                ..current
            };
            reports.insert(*number, json(&resolved)?.as_str())?;
            Written::Resolved(Some(resolved))
        }
        Write::Audit(entry) => {
            let mut table = txn.open_table(AUDIT)?;
            table.insert((entry.at, tiebreak()), json(entry)?.as_str())?;
            Written::Done
        }
        Write::Prune(now, retention) => {
            prune(txn, *now, *retention)?;
            Written::Done
        }
    })
}

fn prune(txn: &WriteTransaction, now: Millis, retention: Retention) -> Result<(), redb::Error> {
    let oldest = now.saturating_sub(retention.activity.as_millis() as u64);
    txn.open_table(ACTIVITY)?
        .retain_in((0u64, 0u64)..(oldest, 0u64), |_, _| false)?;

    let mut bans = txn.open_table(BANS)?;
    bans.retain(|_, json| parse::<Ban>(json).map_or(true, |ban| ban.in_force(now)))?;

    let forget_before = now.saturating_sub(retention.resolved_reports.as_millis() as u64);
    txn.open_table(REPORTS)?.retain(|_, json| {
        parse::<Report>(json).map_or(true, |r| r.resolution.is_none_or(|x| x.at >= forget_before))
    })?;

    let mut audit = txn.open_table(AUDIT)?;
    let excess = (audit.len()? as usize).saturating_sub(retention.audit_entries);
    if excess > 0 {
        let mut dropped = 0;
        audit.retain(|_, _| {
            dropped += 1;
            dropped > excess
        })?;
    }
    Ok(())
}

impl EmbeddedStore {
    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        match self.submit(Request::Operator(write)).await? {
            Response::Operator(written) => Ok(written),
            _ => Err(unexpected()),
        }
    }

    async fn scan<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        table: TableDefinition<'static, (u64, u64), &'static str>,
        since: u64,
        limit: usize,
        newest_first: bool,
    ) -> Result<Vec<T>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(db_error)?;
            let table = txn.open_table(table).map_err(db_error)?;
            let range = table.range((since, 0u64)..).map_err(db_error)?;
            let mut out = Vec::new();
            // Newest first, bounded, whichever order the caller wants back.
            for item in range.rev().take(limit) {
                let (_, value) = item.map_err(db_error)?;
                out.push(parse(value.value()).map_err(db_error)?);
            }
            if !newest_first {
                out.reverse();
            }
            Ok(out)
        })
        .await
    }
}

fn expect_done(written: Written) -> Result<(), StoreError> {
    match written {
        Written::Done => Ok(()),
        _ => Err(unexpected()),
    }
}

#[async_trait]
impl OperatorStore for EmbeddedStore {
    async fn record_activity(&self, events: &[Activity]) -> Result<(), StoreError> {
        expect_done(self.write(Write::Activity(events.to_vec())).await?)
    }

    async fn activity_since(
        &self,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        self.scan(ACTIVITY, since, limit, false).await
    }

    async fn put_ban(&self, ban: &Ban) -> Result<(), StoreError> {
        expect_done(self.write(Write::PutBan(ban.clone())).await?)
    }

    async fn remove_ban(&self, target: &BanTarget) -> Result<bool, StoreError> {
        match self.write(Write::RemoveBan(target.clone())).await? {
            Written::Removed(removed) => Ok(removed),
            _ => Err(unexpected()),
        }
    }

    async fn bans(&self, now: Millis) -> Result<Vec<Ban>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(db_error)?;
            let table = txn.open_table(BANS).map_err(db_error)?;
            let mut bans = Vec::new();
            for item in table.iter().map_err(db_error)? {
                let (_, value) = item.map_err(db_error)?;
                let ban: Ban = parse(value.value()).map_err(db_error)?;
                if ban.in_force(now) {
                    bans.push(ban);
                }
            }
            Ok(bans)
        })
        .await
    }

    async fn file_report(
        &self,
        report: &NewReport,
        max_open: usize,
    ) -> Result<Option<u64>, StoreError> {
        match self
            .write(Write::FileReport(report.clone(), max_open))
            .await?
        {
            Written::Filed(number) => Ok(number),
            _ => Err(unexpected()),
        }
    }

    async fn reports(&self) -> Result<Vec<Report>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(db_error)?;
            let table = txn.open_table(REPORTS).map_err(db_error)?;
            let mut reports = Vec::new();
            for item in table.iter().map_err(db_error)? {
                let (_, value) = item.map_err(db_error)?;
                reports.push(parse(value.value()).map_err(db_error)?);
            }
            Ok(reports)
        })
        .await
    }

    async fn resolve_report(
        &self,
        number: u64,
        resolution: &Resolution,
    ) -> Result<Option<Report>, StoreError> {
        match self
            .write(Write::ResolveReport(number, resolution.clone()))
            .await?
        {
            Written::Resolved(report) => Ok(report),
            _ => Err(unexpected()),
        }
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        expect_done(self.write(Write::Audit(entry.clone())).await?)
    }

    async fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.scan(AUDIT, 0, limit, true).await
    }

    async fn publish_presence(
        &self,
        instance: &str,
        sessions: &SessionCounts,
        until: Millis,
    ) -> Result<(), StoreError> {
        if let Ok(mut presence) = self.presence.lock() {
            presence.insert(instance.to_owned(), (until, sessions.clone()));
        }
        Ok(())
    }

    async fn presence(&self, now: Millis) -> Result<Vec<(String, SessionCounts)>, StoreError> {
        let Ok(mut presence) = self.presence.lock() else {
            return Ok(Vec::new());
        };
        presence.retain(|_, (until, _)| *until > now);
        Ok(presence
            .iter()
            .map(|(instance, (_, sessions))| (instance.clone(), sessions.clone()))
            .collect())
    }

    async fn prune(&self, now: Millis, retention: Retention) -> Result<(), StoreError> {
        expect_done(self.write(Write::Prune(now, retention)).await?)
    }
}
