//! The operator console's records in Redis (same prefix as share metadata):
//! - `<p>activity` sorted set of activity events scored by their time (member: 16 hex digits of
//!   nonce, so equal events stay distinct, then the JSON), trimmed by age;
//! - `<p>bans` hash ban target → JSON;
//! - `<p>{reports}` hash number → JSON, `<p>{reports}:open` set of open numbers,
//!   `<p>{reports}:done` hash number → resolution JSON, `<p>{reports}:seq` counter — one hash
//!   tag, so the scripts that file and resolve reports stay one step on a Redis Cluster;
//! - `<p>audit` list of JSON entries, newest first, capped;
//! - `<p>presence` hash instance → `{until, sessions}`.
//!
//! Filing and resolving reports are Lua scripts: the open-report cap and "resolved once" hold
//! across instances. Every other key is used alone (one command, or a pipeline on that key), so
//! it may live in any slot.

use std::collections::HashMap;

use async_trait::async_trait;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};

use super::redis::{RedisStore, unavailable};
use crate::operator::{
    Activity, AuditEntry, Ban, BanTarget, NewReport, OperatorStore, Report, Resolution, Retention,
    SessionCounts,
};
use crate::share::{Millis, StoreError};

const FILE_REPORT: &str = r"
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
local n = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], n, ARGV[1])
redis.call('SADD', KEYS[2], n)
return n
";

const RESOLVE_REPORT: &str = r"
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return false end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
";

#[derive(Serialize, Deserialize)]
struct Announcement {
    until: Millis,
    sessions: SessionCounts,
}

impl RedisStore {
    fn op_key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(corrupt)
}

const NONCE_HEX: usize = 16;

fn activity_member(event: &Activity) -> Result<String, StoreError> {
    let mut nonce = [0u8; NONCE_HEX / 2];
    getrandom::fill(&mut nonce).map_err(|_| StoreError::Unavailable("no randomness".into()))?;
    Ok(format!("{}{}", hex::encode(nonce), to_json(event)?))
}

fn activity_of(member: &str) -> Result<Activity, StoreError> {
    let json = member
        .get(NONCE_HEX..)
        .ok_or_else(|| corrupt("short activity entry"))?;
    serde_json::from_str(json).map_err(corrupt)
}

#[async_trait]
impl OperatorStore for RedisStore {
    async fn record_activity(&self, events: &[Activity]) -> Result<(), StoreError> {
        let key = self.op_key("activity");
        let mut pipe = redis::pipe();
        for event in events {
            pipe.zadd(&key, activity_member(event)?, event.at).ignore();
        }
        pipe.query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn activity_since(
        &self,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        // Newest first with a bound, then back to oldest first.
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.op_key("activity"))
            .arg("+inf")
            .arg(since)
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let mut events = members
            .iter()
            .map(|m| activity_of(m))
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }

    async fn put_ban(&self, ban: &Ban) -> Result<(), StoreError> {
        self.conn
            .clone()
            .hset::<_, _, _, ()>(self.op_key("bans"), ban.target.to_string(), to_json(ban)?)
            .await
            .map_err(unavailable)
    }

    async fn remove_ban(&self, target: &BanTarget) -> Result<bool, StoreError> {
        let removed: i64 = self
            .conn
            .clone()
            .hdel(self.op_key("bans"), target.to_string())
            .await
            .map_err(unavailable)?;
        Ok(removed > 0)
    }

    async fn bans(&self, now: Millis) -> Result<Vec<Ban>, StoreError> {
        let all: HashMap<String, String> = self
            .conn
            .clone()
            .hgetall(self.op_key("bans"))
            .await
            .map_err(unavailable)?;
        let mut bans = Vec::with_capacity(all.len());
        for json in all.values() {
            let ban: Ban = serde_json::from_str(json).map_err(corrupt)?;
            if ban.in_force(now) {
                bans.push(ban);
            }
        }
        Ok(bans)
    }

    async fn file_report(
        &self,
        report: &NewReport,
        max_open: usize,
    ) -> Result<Option<u64>, StoreError> {
        let number: u64 = Script::new(FILE_REPORT)
            .key(self.op_key("{reports}"))
            .key(self.op_key("{reports}:open"))
            .key(self.op_key("{reports}:seq"))
            .arg(to_json(report)?)
            .arg(max_open)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok((number > 0).then_some(number))
    }

    async fn reports(&self) -> Result<Vec<Report>, StoreError> {
        let mut conn = self.conn.clone();
        let (filed, done): (HashMap<u64, String>, HashMap<u64, String>) = redis::pipe()
            .hgetall(self.op_key("{reports}"))
            .hgetall(self.op_key("{reports}:done"))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut reports = filed
            .into_iter()
            .map(|(number, json)| {
                Ok(Report {
                    number,
                    filed: serde_json::from_str(&json).map_err(corrupt)?,
                    resolution: done
                        .get(&number)
                        .map(|r| serde_json::from_str(r).map_err(corrupt))
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        reports.sort_by_key(|r| r.number);
        Ok(reports)
    }

    async fn resolve_report(
        &self,
        number: u64,
        resolution: &Resolution,
    ) -> Result<Option<Report>, StoreError> {
        let filed: Option<String> = Script::new(RESOLVE_REPORT)
            .key(self.op_key("{reports}"))
            .key(self.op_key("{reports}:open"))
            .key(self.op_key("{reports}:done"))
            .arg(number)
            .arg(to_json(resolution)?)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        filed
            .map(|json| {
                Ok(Report {
                    number,
                    filed: serde_json::from_str(&json).map_err(corrupt)?,
                    resolution: Some(resolution.clone()),
                })
            })
            .transpose()
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        redis::pipe()
            .lpush(self.op_key("audit"), to_json(entry)?)
            .ignore()
            .ltrim(
                self.op_key("audit"),
                0,
                Retention::default().audit_entries as isize - 1,
            )
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let entries: Vec<String> = self
            .conn
            .clone()
            .lrange(self.op_key("audit"), 0, limit as isize - 1)
            .await
            .map_err(unavailable)?;
        entries
            .iter()
            .map(|json| serde_json::from_str(json).map_err(corrupt))
            .collect()
    }

    async fn publish_presence(
        &self,
        instance: &str,
        sessions: &SessionCounts,
        until: Millis,
    ) -> Result<(), StoreError> {
        let announcement = Announcement {
            until,
            sessions: sessions.clone(),
        };
        self.conn
            .clone()
            .hset::<_, _, _, ()>(self.op_key("presence"), instance, to_json(&announcement)?)
            .await
            .map_err(unavailable)
    }

    async fn presence(&self, now: Millis) -> Result<Vec<(String, SessionCounts)>, StoreError> {
        let mut conn = self.conn.clone();
        let all: HashMap<String, String> = conn
            .hgetall(self.op_key("presence"))
            .await
            .map_err(unavailable)?;
        let mut live = Vec::new();
        let mut stale = Vec::new();
        for (instance, json) in all {
            match serde_json::from_str::<Announcement>(&json) {
                Ok(a) if a.until > now => live.push((instance, a.sessions)),
                _ => stale.push(instance),
            }
        }
        if !stale.is_empty() {
            let _: Result<(), _> = conn.hdel(self.op_key("presence"), stale).await;
        }
        Ok(live)
    }

    async fn prune(&self, now: Millis, retention: Retention) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let oldest = now.saturating_sub(retention.activity.as_millis() as u64);
        let _: i64 = conn
            .zrembyscore(self.op_key("activity"), "-inf", format!("({oldest}"))
            .await
            .map_err(unavailable)?;
        for ban in self.bans(Millis::MIN).await? {
            if !ban.in_force(now) {
                self.remove_ban(&ban.target).await?;
            }
        }
        let forget_before = now.saturating_sub(retention.resolved_reports.as_millis() as u64);
        let old: Vec<u64> = self
            .reports()
            .await?
            .into_iter()
            .filter(|r| r.resolution.as_ref().is_some_and(|x| x.at < forget_before))
            .map(|r| r.number)
            .collect();
        if !old.is_empty() {
            redis::pipe()
                .hdel(self.op_key("{reports}"), &old)
                .ignore()
                .hdel(self.op_key("{reports}:done"), &old)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}
