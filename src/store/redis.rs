//! Share metadata in Redis, shared by any number of server instances.
//!
//! Layout (prefix `ots:` by default; `<h>` = hex SHA-256 of the share id, so a dump reveals no
//! link):
//! - `<p>s:<h>` hash: `rec` (immutable record, JSON), `state`, `at`, `att` (attempts), `max`,
//!   `exp`, `owner`; key expires at the share's expiry (PEXPIREAT), tombstones included;
//! - `<p>o:<owner hash>` set of `<h>`, expiring with the owner's last share;
//! - `<p>blobs` sorted set blob name → expiry, for the sweeper and orphan cleanup;
//! - `<p>spent` sorted set blob name → when its share left `armed`, for the sweeper;
//! - `<p>x:<h>` hash, the share's ledger: op id → what that op did, or `void` once settled as
//!   never done (see `MetaStore::settle`); expires with the share;
//! - `<p>q:<quota tag>` sorted set `<h>:<stored size>` → expiry: the live shares charged to a
//!   key or an address (added by the insert script after its check, removed by the scripts that
//!   leave `Armed`; members past their expiry are dropped by the next insert and never counted).
//!
//! Every state change is one Lua script (atomic on the server, one round trip). The connection
//! manager reconnects by itself; each command is bounded by a timeout so a dead Redis surfaces as
//! [`StoreError::Unavailable`] quickly instead of hanging a session. A timed-out script may still
//! run when a stalled Redis resumes: that is what the ledger is for. Requires Redis ≥ 7.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, Script, Value};

use crate::share::{
    Applied, AttemptOutcome, BlobName, ClaimOutcome, MetaStore, Millis, OpId, Owner, QuotaCharge,
    QuotaTag, QuotaUsage, RevokeOutcome, ShareEntry, ShareRecord, ShareState, StoreError, StoreKey,
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
    settle: Script,
    undo: Script,
    take_expired: Script,
}

// Every mutating script first checks the share's ledger (`<p>x:<h>`: op id → what it did, or
// `void`): an op that was settled as never applied does nothing when it arrives late.
//
// INSERT: KEYS[1] share, [2] owner set, [3] blobs, [4] ledger, [5..] the quota sets of the
// share's charges. ARGV[1..6] record, expiry, max attempts, owner tag, `<h>`, blob; [7] op id;
// [8] stored size, [9] now, [10] quota member (`<h>:<size>`), [11] its tags, then per charge
// max shares and max bytes. Replies {1} inserted, {0} key taken, {-2} settled as never done,
// {-1, charge index, live shares, live bytes} over a quota (nothing inserted).
const INSERT: &str = r"
if redis.call('HEXISTS', KEYS[4], ARGV[7]) == 1 then return {-2} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local size = tonumber(ARGV[8])
for i = 5, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[9])
  local members = redis.call('ZRANGE', KEYS[i], 0, -1)
  local bytes = 0
  for _, m in ipairs(members) do bytes = bytes + tonumber(string.match(m, ':(%d+)$')) end
  local j = 11 + (i - 5) * 2
  if #members + 1 > tonumber(ARGV[j + 1]) or bytes + size > tonumber(ARGV[j + 2]) then
    return {-1, i - 5, #members, bytes}
  end
end
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'exp', ARGV[2], 'max', ARGV[3], 'owner', ARGV[4],
           'state', 'armed', 'att', 0, 'blob', ARGV[6], 'q', ARGV[11], 'qm', ARGV[10])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
for i = 5, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[10])
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
redis.call('HSET', KEYS[4], ARGV[7], 'ins')
redis.call('PEXPIREAT', KEYS[4], ARGV[2])
return {1}
";

/// Shared by the scripts that move a share out of `Armed` (and by UNDO, which may move one
/// back): drops it from, or puts it back in, its quota sets (named in its own hash, under the
/// key prefix `prefix`), so the change and the release are one step.
const QUOTA_SETS: &str = r"
local function release(share, prefix)
  local q = redis.call('HGET', share, 'q')
  if q and q ~= '' then
    local member = redis.call('HGET', share, 'qm')
    for tag in string.gmatch(q, '%S+') do redis.call('ZREM', prefix .. 'q:' .. tag, member) end
  end
end
local function recharge(share, prefix)
  local v = redis.call('HMGET', share, 'q', 'qm', 'exp')
  if v[1] and v[1] ~= '' then
    for tag in string.gmatch(v[1], '%S+') do redis.call('ZADD', prefix .. 'q:' .. tag, v[3], v[2]) end
  end
end
";

/// Armed → `ARGV[2]` (`opened` for a claim, `takendown` for an operator's takedown); `ARGV[3]` is
/// the op id, `ARGV[4]` the ledger mark, `ARGV[5]` the key prefix (for the quota sets). The blob joins
/// the spent index (`KEYS[3]`) at the transition's time; the quota charges are released.
const TRANSITION: &str = r"
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return false end
local v = redis.call('HMGET', KEYS[1], 'state', 'exp', 'blob')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) then return false end
local all = redis.call('HGETALL', KEYS[1])
if v[1] == 'armed' then
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'at', ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  redis.call('PEXPIREAT', KEYS[2], v[2])
  local blob = v[3] or cjson.decode(redis.call('HGET', KEYS[1], 'rec')).blob
  redis.call('ZADD', KEYS[3], ARGV[1], blob)
  release(KEYS[1], ARGV[5])
  return {1, all}
end
return {0, all}
";

const ATTEMPT: &str = r"
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {-1} end
local v = redis.call('HMGET', KEYS[1], 'state', 'exp', 'att', 'max')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) then return {-1} end
if v[1] ~= 'armed' then return {-2, redis.call('HGETALL', KEYS[1])} end
if tonumber(v[3]) >= tonumber(v[4]) then return {-3} end
local n = redis.call('HINCRBY', KEYS[1], 'att', 1)
redis.call('HSET', KEYS[2], ARGV[2], 'att:' .. n .. ':' .. v[4])
redis.call('PEXPIREAT', KEYS[2], v[2])
return {n, tonumber(v[4])}
";

/// `ARGV[1]` now, `ARGV[2]` the owner tag, `ARGV[3]` the op id, `ARGV[4]` the key prefix.
const REVOKE: &str = r"
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return false end
local v = redis.call('HMGET', KEYS[1], 'state', 'exp', 'owner', 'blob')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) or v[3] ~= ARGV[2] then return false end
local all = redis.call('HGETALL', KEYS[1])
if v[1] == 'armed' then
  redis.call('HSET', KEYS[1], 'state', 'revoked', 'at', ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[3], 'rev')
  redis.call('PEXPIREAT', KEYS[2], v[2])
  local blob = v[4] or cjson.decode(redis.call('HGET', KEYS[1], 'rec')).blob
  redis.call('ZADD', KEYS[3], ARGV[1], blob)
  release(KEYS[1], ARGV[4])
  return {1, all}
end
return {0, all}
";

/// What op `ARGV[1]` did, or `void` from now on. A void outlives the share only by a day (an op
/// on a share that does not exist finds nothing to change anyway, except a late insert).
const SETTLE: &str = r"
local done = redis.call('HGET', KEYS[2], ARGV[1])
if done then return done end
redis.call('HSET', KEYS[2], ARGV[1], 'void')
local exp = redis.call('HGET', KEYS[1], 'exp')
if exp then
  redis.call('PEXPIREAT', KEYS[2], exp)
elseif redis.call('PTTL', KEYS[2]) < 0 then
  redis.call('PEXPIRE', KEYS[2], 86400000)
end
return 'void'
";

/// Undoes op `ARGV[1]` nobody was told about; `ARGV[2]` is the key prefix (for the quota sets: an
/// undone insert gives its charges back, a re-armed claim takes them again).
const UNDO: &str = r"
local done = redis.call('HGET', KEYS[2], ARGV[1])
if not done then return 0 end
local v = redis.call('HMGET', KEYS[1], 'state', 'att', 'blob')
if not v[1] then return 0 end
local blob = v[3] or cjson.decode(redis.call('HGET', KEYS[1], 'rec')).blob
if done == 'ins' and v[1] == 'armed' then
  release(KEYS[1], ARGV[2])
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], blob)
elseif done == 'clm' and v[1] == 'opened' then
  redis.call('HSET', KEYS[1], 'state', 'armed')
  redis.call('HDEL', KEYS[1], 'at')
  redis.call('ZREM', KEYS[4], blob)
  recharge(KEYS[1], ARGV[2])
elseif string.sub(done, 1, 4) == 'att:' and v[1] == 'armed' and tonumber(v[2]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'att', -1)
else
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], 'undone')
return 1
";

/// Takes up to `ARGV[2]` members of the sorted set `KEYS[1]` scored at or below `ARGV[1]`.
const TAKE_EXPIRED: &str = r"
local names = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
if #names > 0 then redis.call('ZREM', KEYS[1], unpack(names)) end
return names
";

const SWEEP_BATCH: usize = 500;

impl Scripts {
    fn all(&self) -> [&Script; 7] {
        [
            &self.insert,
            &self.transition,
            &self.attempt,
            &self.revoke,
            &self.settle,
            &self.undo,
            &self.take_expired,
        ]
    }
}

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
        let scripts = Scripts {
            insert: Script::new(INSERT),
            transition: Script::new(&format!("{QUOTA_SETS}{TRANSITION}")),
            attempt: Script::new(ATTEMPT),
            revoke: Script::new(&format!("{QUOTA_SETS}{REVOKE}")),
            settle: Script::new(SETTLE),
            undo: Script::new(&format!("{QUOTA_SETS}{UNDO}")),
            take_expired: Script::new(TAKE_EXPIRED),
        };
        // Loaded up front: a script Redis does not know yet costs a second round trip, and a
        // first claim that meets a stall should not also meet NOSCRIPT.
        let mut loader = conn.clone();
        for script in scripts.all() {
            script.load_async(&mut loader).await.map_err(unavailable)?;
        }
        Ok(Self {
            conn,
            prefix: options.prefix,
            scripts,
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

    /// The share's ledger: op id → what it did (see [`MetaStore::settle`]).
    fn ledger_key(&self, key: &StoreKey) -> String {
        format!("{}x:{}", self.prefix, key.to_hex())
    }

    /// Blobs of shares no longer armed, scored by when they left.
    fn spent_key(&self) -> String {
        format!("{}spent", self.prefix)
    }

    /// Runs [`TAKE_EXPIRED`] on `set` until it is drained up to `upto`.
    async fn take_scored(&self, set: String, upto: Millis) -> Result<Vec<BlobName>, StoreError> {
        let mut all = Vec::new();
        loop {
            let names: Vec<String> = self
                .scripts
                .take_expired
                .key(&set)
                .arg(upto)
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
        op: &OpId,
        mark: Applied,
    ) -> Result<Option<(i64, ShareEntry)>, StoreError> {
        let reply: Value = self
            .scripts
            .transition
            .key(self.share_key(key))
            .key(self.ledger_key(key))
            .key(self.spent_key())
            .arg(now)
            .arg(to)
            .arg(op.to_hex())
            .arg(mark.encode())
            .arg(&self.prefix)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        flagged_entry(reply)
    }
}

pub(super) fn unavailable(err: RedisError) -> StoreError {
    // The error text names the failure (refused, timed out, script error); it carries no share
    // data, since keys are hashes. A refused connection means the command was never sent.
    if err.is_connection_refusal() {
        return StoreError::NotApplied(format!("Redis: {err}"));
    }
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
        op: &OpId,
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
            .key(self.blobs_key())
            .key(self.ledger_key(&record.key));
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
            .arg(op.to_hex())
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
            [-2] => Err(StoreError::Unavailable(
                "this insert was settled as not done".into(),
            )),
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

    async fn claim(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<ClaimOutcome, StoreError> {
        Ok(
            match self
                .transition(key, now, "opened", op, Applied::Claimed)
                .await?
            {
                None => ClaimOutcome::Missing,
                Some((1, entry)) => ClaimOutcome::Claimed(entry),
                Some((_, entry)) => ClaimOutcome::Refused(entry),
            },
        )
    }

    async fn take_down(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<TakedownOutcome, StoreError> {
        Ok(
            match self
                .transition(key, now, "takendown", op, Applied::TakenDown)
                .await?
            {
                None => TakedownOutcome::Missing,
                Some((1, entry)) => TakedownOutcome::TakenDown(entry),
                Some((_, entry)) => TakedownOutcome::Refused(entry),
            },
        )
    }

    async fn settle(&self, key: &StoreKey, op: &OpId) -> Result<Option<Applied>, StoreError> {
        let mark: String = self
            .scripts
            .settle
            .key(self.share_key(key))
            .key(self.ledger_key(key))
            .arg(op.to_hex())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(Applied::decode(&mark))
    }

    async fn undo(&self, key: &StoreKey, op: &OpId) -> Result<bool, StoreError> {
        let undone: i64 = self
            .scripts
            .undo
            .key(self.share_key(key))
            .key(self.ledger_key(key))
            .key(self.blobs_key())
            .key(self.spent_key())
            .arg(op.to_hex())
            .arg(&self.prefix)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(undone == 1)
    }

    async fn take_spent(&self, before: Millis) -> Result<Vec<BlobName>, StoreError> {
        self.take_scored(self.spent_key(), before).await
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
        op: &OpId,
    ) -> Result<AttemptOutcome, StoreError> {
        let reply: Vec<Value> = self
            .scripts
            .attempt
            .key(self.share_key(key))
            .key(self.ledger_key(key))
            .arg(now)
            .arg(op.to_hex())
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
        op: &OpId,
    ) -> Result<RevokeOutcome, StoreError> {
        let reply: Value = self
            .scripts
            .revoke
            .key(self.share_key(key))
            .key(self.ledger_key(key))
            .key(self.spent_key())
            .arg(now)
            .arg(owner_tag(owner))
            .arg(op.to_hex())
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

    async fn list_charged(
        &self,
        tag: &QuotaTag,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError> {
        // The quota set is the index: members `<h>:<size>`, removed by the scripts that leave
        // `Armed`, scored by expiry.
        let members = self.unexpired(self.quota_key(tag), now).await?;
        let keys: Vec<StoreKey> = members
            .iter()
            .filter_map(|m| StoreKey::from_hex(m.split(':').next()?))
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.hgetall(self.share_key(key));
        }
        let replies: Vec<HashMap<String, Vec<u8>>> = pipe
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let mut entries = Vec::new();
        for fields in replies.into_iter().filter(|f| !f.is_empty()) {
            let entry = entry_from_fields(fields)?;
            if entry.state == ShareState::Armed && !entry.is_expired(now) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    async fn take_expired(&self, now: Millis) -> Result<Vec<BlobName>, StoreError> {
        self.take_scored(self.blobs_key(), now).await
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
