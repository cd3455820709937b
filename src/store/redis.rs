//! Share metadata in Redis, shared by any number of server instances.
//!
//! Layout (prefix `ots:` by default; `<h>` = hex SHA-256 of the share id, so a dump reveals no
//! link):
//! - `<p>s:<h>` hash: `rec` (immutable record, JSON), `state`, `at`, `att` (attempts), `max`,
//!   `exp`, `owner`; key expires at the share's expiry (PEXPIREAT), tombstones included;
//! - `<p>o:<owner hash>` set of `<h>`, expiring with the owner's last share;
//! - `<p>blobs` sorted set blob name → expiry, for the sweeper and orphan cleanup;
//! - `<p>q:<quota tag>` sorted set `<h>:<stored size>` → expiry: the live shares charged to a
//!   key or an address (added by the insert script after its check, removed by the scripts that
//!   leave `Armed`; members past their expiry are dropped by the next insert and never counted).
//!
//! Every state change is one Lua script (atomic on the server, one round trip). The connection
//! manager reconnects by itself; each command is bounded by a timeout so a dead Redis surfaces as
//! [`StoreError::Unavailable`] quickly instead of hanging a session. Requires Redis ≥ 7.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, Script, Value};

use crate::share::{
    AttemptOutcome, BlobName, ClaimOutcome, MetaStore, Millis, Owner, QuotaCharge, QuotaTag,
    QuotaUsage, RevokeOutcome, ShareEntry, ShareRecord, ShareState, StoreError, StoreKey,
    TakedownOutcome,
};

#[derive(Clone, Debug)]
pub struct RedisOptions {
    pub url: String,
    pub prefix: String,
    /// Bound on connecting and on each command.
    pub timeout: Duration,
}

pub struct RedisStore {
    pub(super) conn: ConnectionManager,
    pub(super) prefix: String,
    scripts: Scripts,
}

struct Scripts {
    insert: Script,
    transition: Script,
    attempt: Script,
    revoke: Script,
    take_expired: Script,
}

/// KEYS[4..] are the quota sets of the share's charges; ARGV[7] its stored size, ARGV[8] now,
/// ARGV[9] its quota member (`<h>:<size>`), ARGV[10] its tags, then per charge max shares and
/// max bytes. A refusal returns {-1, charge index, live shares, live bytes}.
const INSERT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local size = tonumber(ARGV[7])
for i = 4, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[8])
  local members = redis.call('ZRANGE', KEYS[i], 0, -1)
  local bytes = 0
  for _, m in ipairs(members) do bytes = bytes + tonumber(string.match(m, ':(%d+)$')) end
  local j = 10 + (i - 4) * 2
  if #members + 1 > tonumber(ARGV[j + 1]) or bytes + size > tonumber(ARGV[j + 2]) then
    return {-1, i - 4, #members, bytes}
  end
end
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'exp', ARGV[2], 'max', ARGV[3], 'owner', ARGV[4],
           'state', 'armed', 'att', 0, 'q', ARGV[10], 'qm', ARGV[9])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
for i = 4, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[9])
  if redis.call('PEXPIRETIME', KEYS[i]) < tonumber(ARGV[2]) then
    redis.call('PEXPIREAT', KEYS[i], ARGV[2])
  end
end
if ARGV[4] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[5])
  if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[2]) then
    redis.call('PEXPIREAT', KEYS[2], ARGV[2])
  end
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[6])
return {1}
";

/// Shared by the scripts that move a share out of `Armed`: drops it from its quota sets (named
/// in its own hash, under the prefix in `prefix`), so the change and the release are one step.
const RELEASE: &str = r"
local function release(share, prefix)
  local q = redis.call('HGET', share, 'q')
  if q and q ~= '' then
    local member = redis.call('HGET', share, 'qm')
    for tag in string.gmatch(q, '%S+') do redis.call('ZREM', prefix .. 'q:' .. tag, member) end
  end
end
";

/// Armed → ARGV[2] (`opened` for a claim, `takendown` for an operator's takedown).
const TRANSITION: &str = r"
local v = redis.call('HMGET', KEYS[1], 'state', 'exp')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) then return false end
local all = redis.call('HGETALL', KEYS[1])
if v[1] == 'armed' then
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'at', ARGV[1])
  release(KEYS[1], ARGV[3])
  return {1, all}
end
return {0, all}
";

const ATTEMPT: &str = r"
local v = redis.call('HMGET', KEYS[1], 'state', 'exp', 'att', 'max')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) then return {-1} end
if v[1] ~= 'armed' then return {-2, redis.call('HGETALL', KEYS[1])} end
if tonumber(v[3]) >= tonumber(v[4]) then return {-3} end
return {redis.call('HINCRBY', KEYS[1], 'att', 1), tonumber(v[4])}
";

const REVOKE: &str = r"
local v = redis.call('HMGET', KEYS[1], 'state', 'exp', 'owner')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) or v[3] ~= ARGV[2] then return false end
local all = redis.call('HGETALL', KEYS[1])
if v[1] == 'armed' then
  redis.call('HSET', KEYS[1], 'state', 'revoked', 'at', ARGV[1])
  release(KEYS[1], ARGV[3])
  return {1, all}
end
return {0, all}
";

const TAKE_EXPIRED: &str = r"
local names = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
if #names > 0 then redis.call('ZREM', KEYS[1], unpack(names)) end
return names
";

const SWEEP_BATCH: usize = 500;

impl RedisStore {
    /// Connects (bounded by `timeout`). A Redis that is down at start-up is an error here; one
    /// that goes away later only fails the calls made while it is gone.
    pub async fn connect(options: RedisOptions) -> Result<Self, StoreError> {
        let client = redis::Client::open(options.url.as_str())
            .map_err(|e| StoreError::Unavailable(format!("invalid Redis URL ({:?})", e.kind())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = tokio::time::timeout(
            options.timeout * 2,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StoreError::Unavailable("timed out connecting to Redis".into()))?
        .map_err(unavailable)?;
        Ok(Self {
            conn,
            prefix: options.prefix,
            scripts: Scripts {
                insert: Script::new(INSERT),
                transition: Script::new(&format!("{RELEASE}{TRANSITION}")),
                attempt: Script::new(ATTEMPT),
                revoke: Script::new(&format!("{RELEASE}{REVOKE}")),
                take_expired: Script::new(TAKE_EXPIRED),
            },
        })
    }

    fn share_key(&self, key: &StoreKey) -> String {
        format!("{}s:{}", self.prefix, key.to_hex())
    }

    fn owner_key(&self, owner: &Owner) -> String {
        format!("{}o:{}", self.prefix, hex::encode(owner.index_key()))
    }

    fn blobs_key(&self) -> String {
        format!("{}blobs", self.prefix)
    }

    fn quota_key(&self, tag: &QuotaTag) -> String {
        format!("{}q:{}", self.prefix, tag.as_str())
    }

    /// Members of a sorted set scored by expiry that are still live at `now`.
    async fn unexpired(&self, set: String, now: Millis) -> Result<Vec<String>, StoreError> {
        redis::cmd("ZRANGE")
            .arg(set)
            .arg(format!("({now}"))
            .arg("+inf")
            .arg("BYSCORE")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    /// Runs [`TRANSITION`]: `None` if missing, else (1 if it changed, the entry before).
    async fn transition(
        &self,
        key: &StoreKey,
        now: Millis,
        to: &str,
    ) -> Result<Option<(i64, ShareEntry)>, StoreError> {
        let reply: Value = self
            .scripts
            .transition
            .key(self.share_key(key))
            .arg(now)
            .arg(to)
            .arg(&self.prefix)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        flagged_entry(reply)
    }
}

pub(super) fn unavailable(err: RedisError) -> StoreError {
    // The error text names the failure (refused, timed out, script error); it carries no share
    // data, since keys are hashes.
    StoreError::Unavailable(format!("Redis: {err}"))
}

/// `prefix` as a literal in a SCAN pattern.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for ch in prefix.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Live shares and bytes from quota set members (`<h>:<stored size>`).
fn usage_of(members: &[String]) -> QuotaUsage {
    QuotaUsage {
        shares: u32::try_from(members.len()).unwrap_or(u32::MAX),
        bytes: members
            .iter()
            .filter_map(|m| m.rsplit_once(':')?.1.parse::<u64>().ok())
            .sum(),
    }
}

fn owner_tag(owner: &Owner) -> String {
    hex::encode(owner.index_key())
}

/// Parses an `HGETALL` reply into an entry.
fn entry_from_fields(fields: HashMap<String, Vec<u8>>) -> Result<ShareEntry, StoreError> {
    let text = |name: &str| -> Result<String, StoreError> {
        fields
            .get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .ok_or_else(|| StoreError::Corrupt(format!("missing field {name}")))
    };
    let number = |name: &str| -> Result<u64, StoreError> {
        text(name)?
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("bad number in {name}")))
    };
    let record: ShareRecord = serde_json::from_slice(
        fields
            .get("rec")
            .ok_or_else(|| StoreError::Corrupt("missing record".into()))?,
    )
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let state = match text("state")?.as_str() {
        "armed" => ShareState::Armed,
        "opened" => ShareState::Opened { at: number("at")? },
        "revoked" => ShareState::Revoked { at: number("at")? },
        "takendown" => ShareState::TakenDown { at: number("at")? },
        other => return Err(StoreError::Corrupt(format!("unknown state {other}"))),
    };
    Ok(ShareEntry {
        record,
        state,
        attempts: number("att")? as u32,
    })
}

fn entry_from_value(value: Value) -> Result<ShareEntry, StoreError> {
    let fields: HashMap<String, Vec<u8>> =
        redis::from_redis_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    entry_from_fields(fields)
}

/// Splits a `{flag, HGETALL}` script reply.
fn flagged_entry(reply: Value) -> Result<Option<(i64, ShareEntry)>, StoreError> {
    let parts: Option<(i64, Value)> =
        redis::from_redis_value(reply).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    parts
        .map(|(flag, fields)| Ok((flag, entry_from_value(fields)?)))
        .transpose()
}

#[async_trait]
impl MetaStore for RedisStore {
    async fn insert(
        &self,
        record: &ShareRecord,
        charges: &[QuotaCharge],
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let owner = record.owner.as_ref();
        let owner_key = owner
            .map(|o| self.owner_key(o))
            .unwrap_or_else(|| self.blobs_key());
        let tags: Vec<&str> = charges.iter().map(|c| c.tag.as_str()).collect();
        let mut invocation = self.scripts.insert.prepare_invoke();
        invocation
            .key(self.share_key(&record.key))
            .key(owner_key)
            .key(self.blobs_key());
        for charge in charges {
            invocation.key(self.quota_key(&charge.tag));
        }
        invocation
            .arg(json)
            .arg(record.expires_at)
            .arg(record.max_attempts)
            .arg(owner.map(owner_tag).unwrap_or_default())
            .arg(record.key.to_hex())
            .arg(record.blob.as_str())
            .arg(record.stored_size)
            .arg(record.created_at)
            .arg(format!("{}:{}", record.key.to_hex(), record.stored_size))
            .arg(tags.join(" "));
        for charge in charges {
            invocation.arg(charge.max_shares).arg(charge.max_bytes);
        }
        let reply: Vec<i64> = invocation
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        match reply.as_slice() {
            [1] => Ok(()),
            [0] => Err(StoreError::AlreadyExists),
            [-1, index, shares, bytes] => {
                let charge = usize::try_from(*index)
                    .ok()
                    .and_then(|i| charges.get(i))
                    .ok_or_else(|| StoreError::Corrupt("unexpected quota reply".into()))?;
                Err(charge
                    .exceeded(QuotaUsage {
                        shares: u32::try_from(*shares).unwrap_or(u32::MAX),
                        bytes: u64::try_from(*bytes).unwrap_or(0),
                    })
                    .into())
            }
            _ => Err(StoreError::Corrupt("unexpected insert reply".into())),
        }
    }

    async fn quota_usage(&self, tag: &QuotaTag, now: Millis) -> Result<QuotaUsage, StoreError> {
        Ok(usage_of(&self.unexpired(self.quota_key(tag), now).await?))
    }

    async fn get(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareEntry>, StoreError> {
        let fields: HashMap<String, Vec<u8>> = self
            .conn
            .clone()
            .hgetall(self.share_key(key))
            .await
            .map_err(unavailable)?;
        if fields.is_empty() {
            return Ok(None);
        }
        let entry = entry_from_fields(fields)?;
        Ok((!entry.is_expired(now)).then_some(entry))
    }

    async fn claim(&self, key: &StoreKey, now: Millis) -> Result<ClaimOutcome, StoreError> {
        Ok(match self.transition(key, now, "opened").await? {
            None => ClaimOutcome::Missing,
            Some((1, entry)) => ClaimOutcome::Claimed(entry),
            Some((_, entry)) => ClaimOutcome::Refused(entry),
        })
    }

    async fn take_down(&self, key: &StoreKey, now: Millis) -> Result<TakedownOutcome, StoreError> {
        Ok(match self.transition(key, now, "takendown").await? {
            None => TakedownOutcome::Missing,
            Some((1, entry)) => TakedownOutcome::TakenDown(entry),
            Some((_, entry)) => TakedownOutcome::Refused(entry),
        })
    }

    async fn list_all(&self, now: Millis) -> Result<Vec<ShareEntry>, StoreError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}s:*", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        let mut entries = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if !keys.is_empty() {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.hgetall(key);
                }
                let replies: Vec<HashMap<String, Vec<u8>>> =
                    pipe.query_async(&mut conn).await.map_err(unavailable)?;
                for fields in replies.into_iter().filter(|f| !f.is_empty()) {
                    let entry = entry_from_fields(fields)?;
                    if !entry.is_expired(now) {
                        entries.push(entry);
                    }
                }
            }
            if next == 0 {
                return Ok(entries);
            }
            cursor = next;
        }
    }

    async fn spend_attempt(
        &self,
        key: &StoreKey,
        now: Millis,
    ) -> Result<AttemptOutcome, StoreError> {
        let reply: Vec<Value> = self
            .scripts
            .attempt
            .key(self.share_key(key))
            .arg(now)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let mut parts = reply.into_iter();
        let code: i64 = parts
            .next()
            .map(redis::from_redis_value)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .ok_or_else(|| StoreError::Corrupt("empty attempt reply".into()))?;
        let second = parts.next();
        Ok(match code {
            -1 => AttemptOutcome::Missing,
            -3 => AttemptOutcome::Locked,
            -2 => AttemptOutcome::NotArmed(Box::new(entry_from_value(
                second.ok_or_else(|| StoreError::Corrupt("missing entry".into()))?,
            )?)),
            attempt => {
                let max: i64 = second
                    .map(redis::from_redis_value)
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
                    .ok_or_else(|| StoreError::Corrupt("missing max".into()))?;
                AttemptOutcome::Granted {
                    attempt: attempt as u32,
                    max: max as u32,
                }
            }
        })
    }

    async fn revoke(
        &self,
        key: &StoreKey,
        owner: &Owner,
        now: Millis,
    ) -> Result<RevokeOutcome, StoreError> {
        let reply: Value = self
            .scripts
            .revoke
            .key(self.share_key(key))
            .arg(now)
            .arg(owner_tag(owner))
            .arg(&self.prefix)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(match flagged_entry(reply)? {
            None => RevokeOutcome::Missing,
            Some((1, entry)) => RevokeOutcome::Revoked(entry),
            Some((_, entry)) => RevokeOutcome::Refused(entry),
        })
    }

    async fn list_by_owner(
        &self,
        owner: &Owner,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError> {
        let mut conn = self.conn.clone();
        let owner_key = self.owner_key(owner);
        let members: Vec<String> = conn.smembers(&owner_key).await.map_err(unavailable)?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for member in &members {
            if let Some(key) = StoreKey::from_hex(member) {
                pipe.hgetall(self.share_key(&key));
            }
        }
        let replies: Vec<HashMap<String, Vec<u8>>> =
            pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let mut entries = Vec::new();
        let mut gone = Vec::new();
        for (member, fields) in members.iter().zip(replies) {
            if fields.is_empty() {
                gone.push(member.clone());
                continue;
            }
            let entry = entry_from_fields(fields)?;
            if !entry.is_expired(now) {
                entries.push(entry);
            }
        }
        if !gone.is_empty() {
            let _: Result<(), _> = conn.srem(&owner_key, gone).await;
        }
        Ok(entries)
    }

    async fn take_expired(&self, now: Millis) -> Result<Vec<BlobName>, StoreError> {
        let mut all = Vec::new();
        loop {
            let names: Vec<String> = self
                .scripts
                .take_expired
                .key(self.blobs_key())
                .arg(now)
                .arg(SWEEP_BATCH)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            let done = names.len() < SWEEP_BATCH;
            all.extend(names.iter().filter_map(|n| BlobName::parse(n)));
            if done {
                return Ok(all);
            }
        }
    }

    async fn live_blobs(&self, now: Millis) -> Result<HashSet<BlobName>, StoreError> {
        let names = self.unexpired(self.blobs_key(), now).await?;
        Ok(names.iter().filter_map(|n| BlobName::parse(n)).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
