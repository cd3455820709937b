//! Share metadata in Redis — one server, a Sentinel group or a Cluster — shared by any number of
//! server instances. How it connects is `redis_conn.rs`; this file owns the key layout and the
//! scripts, and with them "every state change guarding a share is one atomic step".
//!
//! # Key layout (v2)
//!
//! `<p>` is the key prefix (`ots:` by default, no braces allowed); `<h>` is the hex SHA-256 of
//! the share id, so a dump reveals no link. The rule that makes a Cluster work: **what must
//! change together lives in one hash slot, and every key a script touches is passed in
//! `KEYS[]`**. Everything keyed by one share carries the hash tag `{<h>}`:
//!
//! - `<p>s:{<h>}` hash, the share: `rec` (immutable record, JSON), `state`, `at`, `att`
//!   (attempts), `max`, `exp`, `owner`, `blob`, `q` (quota tags charged, space-separated), `qm`
//!   (its quota member `<h>:<stored size>`), and for a small share `body` (its sealed content,
//!   raw, until the claim drops it or [`MetaStore::drop_inline`]); expires at the share's expiry (PEXPIREAT),
//!   tombstones included;
//! - `<p>x:{<h>}` hash, the share's ledger: op id → what that op did, or `void` once settled as
//!   never done, or `undone` (see `MetaStore::settle`); `r:<op id>` → the quota charges an
//!   insert reserved before charging (`<member> <tag> <tag>…`), so settling it as never done
//!   refunds them; expires with the share.
//!
//! Everything else is a *secondary* index or counter, each a key of its own (its own slot),
//! touched by single-key commands or single-key scripts, never in the same script as a share:
//!
//! - `<p>idx:live` sorted set `<blob>:<h>` → expiry: every share that may be live. Added
//!   *before* the insert, so orphan cleanup ([`MetaStore::live_blobs`]) never deletes a live
//!   share's blob and [`MetaStore::list_all`] finds every share; members of shares that were
//!   never inserted stay until their expiry (listing skips ids with no share);
//! - `<p>idx:spent` sorted set `<blob>:<h>` → when the share left `Armed`. Added *after* the
//!   transition; the sweeper re-reads the share before deleting a blob and skips one that an
//!   undo re-armed (so a crash between an undo and its index update cannot lose content);
//! - `<p>idx:own:<owner hash>` sorted set `<h>` → expiry: an owner's shares, added before the
//!   insert, pruned by score; listing skips ids with no share or another owner;
//! - `<p>q:<quota tag>` sorted set `<h>:<stored size>` → expiry: the live shares charged to a
//!   key, an address, or a recipient key's inbox (tag `r…`, which is also the index
//!   [`MetaStore::list_charged`] reads, filtering to shares that exist and are armed). Charged (check and add, one script per tag) *before* the insert,
//!   refunded if the insert fails; released after a claim, revoke or takedown; members past
//!   their expiry are dropped by the next charge and never counted.
//!
//! The windows this leaves, all on the safe side: a share charged but not inserted (between
//! charge and insert, or a crash there) counts against its quota until the insert fails or
//! the share's expiry; a crash between a claim and its quota release keeps the charge until
//! the share's expiry; of two concurrent inserts over two tags, both may be refused where one
//! would have fit. No window ever lets a tag hold more than its limit, and none touches "at
//! most once": that is the share's own script on its own slot.
//!
//! A new per-share field or key (inline content, a recipient index) follows the same rule:
//! per-share data under `{<h>}` and changed by the share's scripts; indexes across shares as
//! secondary keys written before the share appears and filtered on read.
//!
//! Every mutating script first checks the share's ledger: an op settled as never applied (or
//! undone) does nothing when it arrives late, and an op *already applied* fails with
//! `OTSREPEAT` — the Cluster client may resend a script after a dropped connection, and the
//! caller then settles the op to learn what it did, instead of hearing "missing".
//!
//! The connection reconnects by itself; each command is bounded by a timeout so a dead Redis
//! surfaces as [`StoreError::Unavailable`] quickly instead of hanging a session. A timed-out
//! script may still run when a stalled Redis resumes: that is what the ledger is for. With
//! `wait_replicas`, a claim or password attempt is confirmed by `WAIT` before it is reported, and
//! undone if too few replicas have it (docs/redis.md says why). Requires Redis ≥ 7.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use redis::{Cmd, FromRedisValue, RedisError, Script, Value};
use tracing::warn;

use super::redis_conn::RedisConn;
use crate::share::{
    Applied, AttemptOutcome, BlobName, ClaimOutcome, MetaStore, Millis, OpId, Owner, QuotaCharge,
    QuotaTag, QuotaUsage, RecordFacts, RevokeOutcome, ShareEntry, ShareFacts, ShareRecord,
    ShareState, StoreError, StoreKey, TakedownOutcome,
};

#[derive(Clone, Debug)]
pub struct RedisOptions {
    pub url: String,
    pub prefix: String,
    /// Bound on connecting and on each command.
    pub timeout: Duration,
    /// Replicas that must acknowledge a claim or a password attempt (`WAIT`) before it is
    /// reported; 0 = do not wait.
    pub wait_replicas: u32,
}

pub struct RedisStore {
    pub(super) conn: RedisConn,
    pub(super) prefix: String,
    timeout: Duration,
    wait_replicas: u32,
    scripts: Scripts,
}

struct Scripts {
    reserve: Script,
    charge: Script,
    index: Script,
    insert: Script,
    transition: Script,
    attempt: Script,
    revoke: Script,
    settle: Script,
    undo: Script,
    take_scored: Script,
    drop_inline: Script,
}

/// Prepended to every script that changes a share: `seen(ledger, op)` is true if `op` was settled
/// as never applied or undone (a late arrival: do nothing), false if it is new, and raises
/// `OTSREPEAT` if it was applied already (a resend: the caller settles it).
const LEDGER: &str = r"
local function seen(ledger, op)
  local done = redis.call('HGET', ledger, op)
  if not done then return false end
  if done == 'void' or done == 'undone' then return true end
  error({err = 'OTSREPEAT this change was already applied'})
end
";

// KEYS[1] share, [2] ledger; ARGV[1] op id, [2] the reservation, [3] the share's expiry.
// Replies 1, or 0 if the op was settled as never done.
const RESERVE: &str = r"
if seen(KEYS[2], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'r:' .. ARGV[1], ARGV[2])
if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('PEXPIREAT', KEYS[2], ARGV[3])
end
return 1
";

// One quota tag: KEYS[1] its set; ARGV[1] now, [2] member, [3] expiry, [4] max shares,
// [5] max bytes, [6] size. Replies {1} charged (or already was), {-1, shares, bytes} over.
const CHARGE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return {1} end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local bytes = 0
for _, m in ipairs(members) do bytes = bytes + tonumber(string.match(m, ':(%d+)$')) end
if #members + 1 > tonumber(ARGV[4]) or bytes + tonumber(ARGV[6]) > tonumber(ARGV[5]) then
  return {-1, #members, bytes}
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
return {1}
";

// A per-owner index: KEYS[1] its set; ARGV[1] expiry, [2] member, [3] now. Adds, prunes what
// expired, and keeps the key until its last member expires.
const INDEX: &str = r"
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
";

// KEYS[1] share, [2] ledger. ARGV[1] record, [2] expiry, [3] max attempts, [4] owner tag,
// [5] blob, [6] op id, [7] quota tags, [8] quota member, [9] the inline content (empty for a
// blob share). Replies 1 inserted, 0 key taken, -2 settled as never done.
const INSERT: &str = r"
if seen(KEYS[2], ARGV[6]) then return -2 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'exp', ARGV[2], 'max', ARGV[3], 'owner', ARGV[4],
           'state', 'armed', 'att', 0, 'blob', ARGV[5], 'q', ARGV[7], 'qm', ARGV[8])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'body', ARGV[9]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[6], 'ins')
redis.call('HDEL', KEYS[2], 'r:' .. ARGV[6])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
return 1
";

// Armed → `ARGV[2]` (`opened` for a claim, `takendown` for an operator's takedown); `ARGV[1]` is
// now, `ARGV[3]` the op id, `ARGV[4]` the ledger mark. Replies false if missing, else
// {1 if it changed, the fields before}.
const TRANSITION: &str = r"
if seen(KEYS[2], ARGV[3]) then return false end
local v = redis.call('HMGET', KEYS[1], 'state', 'exp')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) then return false end
local all = redis.call('HGETALL', KEYS[1])
if v[1] == 'armed' then
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'at', ARGV[1])
  if ARGV[2] == 'opened' then redis.call('HDEL', KEYS[1], 'body') end
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  redis.call('PEXPIREAT', KEYS[2], v[2])
  return {1, all}
end
return {0, all}
";

const ATTEMPT: &str = r"
if seen(KEYS[2], ARGV[2]) then return {-1} end
local v = redis.call('HMGET', KEYS[1], 'state', 'exp', 'att', 'max')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) then return {-1} end
if v[1] ~= 'armed' then return {-2, redis.call('HGETALL', KEYS[1])} end
if tonumber(v[3]) >= tonumber(v[4]) then return {-3} end
local n = redis.call('HINCRBY', KEYS[1], 'att', 1)
redis.call('HSET', KEYS[2], ARGV[2], 'att:' .. n .. ':' .. v[4])
redis.call('PEXPIREAT', KEYS[2], v[2])
return {n, tonumber(v[4])}
";

// `ARGV[1]` now, `ARGV[2]` the owner tag, `ARGV[3]` the op id.
const REVOKE: &str = r"
if seen(KEYS[2], ARGV[3]) then return false end
local v = redis.call('HMGET', KEYS[1], 'state', 'exp', 'owner')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[1]) or v[3] ~= ARGV[2] then return false end
local all = redis.call('HGETALL', KEYS[1])
if v[1] == 'armed' then
  redis.call('HSET', KEYS[1], 'state', 'revoked', 'at', ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[3], 'rev')
  redis.call('PEXPIREAT', KEYS[2], v[2])
  return {1, all}
end
return {0, all}
";

// What op `ARGV[1]` did ({mark}), or {`void`, its quota reservation or ''} from now on. A void
// outlives the share only by a day (an op on a share that does not exist finds nothing to
// change anyway, except a late insert).
const SETTLE: &str = r"
local done = redis.call('HGET', KEYS[2], ARGV[1])
if done then return {done} end
redis.call('HSET', KEYS[2], ARGV[1], 'void')
local reserved = redis.call('HGET', KEYS[2], 'r:' .. ARGV[1])
if reserved then redis.call('HDEL', KEYS[2], 'r:' .. ARGV[1]) end
local exp = redis.call('HGET', KEYS[1], 'exp')
if exp then
  redis.call('PEXPIREAT', KEYS[2], exp)
elseif redis.call('PTTL', KEYS[2]) < 0 then
  redis.call('PEXPIRE', KEYS[2], 86400000)
end
return {'void', reserved or ''}
";

// Undoes op `ARGV[1]` nobody was told about (a re-armed claim gets its inline content back from
// `ARGV[2]`, when given). Replies {0}, or {1, what (`ins`, `clm`, `att`),
// blob, quota tags, quota member, expiry} so the caller can fix the secondary indexes.
const UNDO: &str = r"
local done = redis.call('HGET', KEYS[2], ARGV[1])
if not done then return {0} end
local v = redis.call('HMGET', KEYS[1], 'state', 'att', 'blob', 'q', 'qm', 'exp')
if not v[1] then return {0} end
local blob = v[3] or cjson.decode(redis.call('HGET', KEYS[1], 'rec')).blob
local what
if done == 'ins' and v[1] == 'armed' then
  redis.call('DEL', KEYS[1])
  what = 'ins'
elseif done == 'clm' and v[1] == 'opened' then
  redis.call('HSET', KEYS[1], 'state', 'armed')
  redis.call('HDEL', KEYS[1], 'at')
  if ARGV[2] then redis.call('HSET', KEYS[1], 'body', ARGV[2]) end
  what = 'clm'
elseif string.sub(done, 1, 4) == 'att:' and v[1] == 'armed' and tonumber(v[2]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'att', -1)
  what = 'att'
else
  return {0}
end
redis.call('HSET', KEYS[2], ARGV[1], 'undone')
return {1, what, blob, v[4] or '', v[5] or '', v[6]}
";

// KEYS[1] share: drops a spent share's inline content; an armed (or missing) share is left
// alone.
const DROP_INLINE: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if state and state ~= 'armed' then redis.call('HDEL', KEYS[1], 'body') end
return 1
";

// Takes up to `ARGV[2]` members of the sorted set `KEYS[1]` scored at or below `ARGV[1]`.
const TAKE_SCORED: &str = r"
local names = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
if #names > 0 then redis.call('ZREM', KEYS[1], unpack(names)) end
return names
";

const SWEEP_BATCH: usize = 500;

/// How many command timeouts an insert's preparatory steps may wait out (as many as a state
/// change's settling may: `config::SETTLE_TIMEOUTS`).
const PATIENCE: u32 = 5;

/// Reads issued at once when listing many shares (each share is its own slot, so a Cluster
/// cannot take them as one pipeline; the multiplexed connection pipelines them anyway).
const READ_FAN_OUT: usize = 64;

impl Scripts {
    fn new() -> Self {
        let guarded = |body: &str| Script::new(&format!("{LEDGER}{body}"));
        Self {
            reserve: guarded(RESERVE),
            charge: Script::new(CHARGE),
            index: Script::new(INDEX),
            insert: guarded(INSERT),
            transition: guarded(TRANSITION),
            attempt: guarded(ATTEMPT),
            revoke: guarded(REVOKE),
            settle: Script::new(SETTLE),
            undo: Script::new(UNDO),
            take_scored: Script::new(TAKE_SCORED),
            drop_inline: Script::new(DROP_INLINE),
        }
    }

    fn all(&self) -> [&Script; 11] {
        [
            &self.reserve,
            &self.charge,
            &self.index,
            &self.insert,
            &self.transition,
            &self.attempt,
            &self.revoke,
            &self.settle,
            &self.undo,
            &self.take_scored,
            &self.drop_inline,
        ]
    }
}

/// What a share's hash says about its secondary entries: enough to release or restore them.
struct Secondary {
    blob: String,
    tags: String,
    member: String,
    expires_at: String,
}

impl Secondary {
    fn of(fields: &HashMap<String, Vec<u8>>, entry: &ShareEntry) -> Self {
        let text = |name: &str| {
            fields
                .get(name)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        Self {
            blob: entry.record.blob.as_str().to_owned(),
            tags: text("q"),
            member: text("qm"),
            expires_at: entry.record.expires_at.to_string(),
        }
    }
}

impl RedisStore {
    /// Connects (bounded by `timeout`). A Redis that is down at start-up is an error here; one
    /// that goes away later only fails the calls made while it is gone.
    pub async fn connect(options: RedisOptions) -> Result<Self, StoreError> {
        if options.prefix.contains(['{', '}']) {
            return Err(StoreError::Unavailable(
                "the Redis key prefix may not contain { or } (they pick a Cluster hash slot)"
                    .into(),
            ));
        }
        let conn = RedisConn::connect(&options.url, options.timeout).await?;
        let scripts = Scripts::new();
        // Loaded up front (on every master of a Cluster): a script Redis does not know yet costs
        // a second round trip, and a first claim that meets a stall should not also meet
        // NOSCRIPT.
        let mut loader = conn.clone();
        for script in scripts.all() {
            script.load_async(&mut loader).await.map_err(unavailable)?;
        }
        let store = Self {
            conn,
            prefix: options.prefix,
            timeout: options.timeout,
            wait_replicas: options.wait_replicas,
            scripts,
        };
        store.upgrade_layout().await?;
        Ok(store)
    }

    pub(super) fn share_key(&self, key: &StoreKey) -> String {
        format!("{}s:{{{}}}", self.prefix, key.to_hex())
    }

    /// The share's ledger: op id → what it did (see [`MetaStore::settle`]).
    pub(super) fn ledger_key(&self, key: &StoreKey) -> String {
        format!("{}x:{{{}}}", self.prefix, key.to_hex())
    }

    fn owner_key(&self, owner: &Owner) -> String {
        format!("{}idx:own:{}", self.prefix, owner_tag(owner))
    }

    pub(super) fn live_key(&self) -> String {
        format!("{}idx:live", self.prefix)
    }

    /// Shares no longer armed, scored by when they left.
    pub(super) fn spent_key(&self) -> String {
        format!("{}idx:spent", self.prefix)
    }

    fn quota_key(&self, tag: &str) -> String {
        format!("{}q:{tag}", self.prefix)
    }

    /// Runs `cmds` (each on its own key, so each may live on another Cluster node), at most
    /// [`READ_FAN_OUT`] at a time, answers in order.
    async fn each<T: FromRedisValue>(&self, cmds: Vec<Cmd>) -> Result<Vec<T>, StoreError> {
        stream::iter(cmds)
            .map(|cmd| {
                let mut conn = self.conn.clone();
                async move { cmd.query_async::<T>(&mut conn).await }
            })
            .buffered(READ_FAN_OUT)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|r| r.map_err(unavailable))
            .collect()
    }

    /// Runs [`TAKE_SCORED`] on `set` until it is drained up to `upto`.
    async fn take_scored(&self, set: String, upto: Millis) -> Result<Vec<String>, StoreError> {
        let mut all = Vec::new();
        loop {
            let names: Vec<String> = self
                .scripts
                .take_scored
                .key(&set)
                .arg(upto)
                .arg(SWEEP_BATCH)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            let done = names.len() < SWEEP_BATCH;
            all.extend(names);
            if done {
                return Ok(all);
            }
        }
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

    /// The entries of the shares under `hashes` (hex), skipping those gone or expired, and
    /// with `owner`, those of anyone else.
    async fn entries_of(
        &self,
        hashes: &[&str],
        now: Millis,
        owner: Option<&str>,
    ) -> Result<Vec<ShareEntry>, StoreError> {
        let cmds = hashes
            .iter()
            .filter_map(|h| StoreKey::from_hex(h))
            .map(|key| {
                let mut cmd = redis::cmd("HGETALL");
                cmd.arg(self.share_key(&key));
                cmd
            })
            .collect();
        let replies: Vec<HashMap<String, Vec<u8>>> = self.each(cmds).await?;
        let mut entries = Vec::new();
        for fields in replies.into_iter().filter(|f| !f.is_empty()) {
            if owner.is_some_and(|o| fields.get("owner").map(Vec::as_slice) != Some(o.as_bytes())) {
                continue;
            }
            let entry = entry_from_fields(fields)?;
            if !entry.is_expired(now) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Runs [`TRANSITION`]: `None` if missing, else (1 if it changed, the entry before). A
    /// change also moves the share's secondary entries (see [`RedisStore::left_armed`]).
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
            .arg(now)
            .arg(to)
            .arg(op.to_hex())
            .arg(mark.encode())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        self.changed(key, now, reply).await
    }

    /// Parses a `{flag, HGETALL}` reply; on a change (flag 1) releases what the share held.
    async fn changed(
        &self,
        key: &StoreKey,
        now: Millis,
        reply: Value,
    ) -> Result<Option<(i64, ShareEntry)>, StoreError> {
        let Some((flag, fields)) = flagged_fields(reply)? else {
            return Ok(None);
        };
        let entry = entry_from_fields(fields.clone())?;
        if flag == 1 {
            self.left_armed(key, now, &Secondary::of(&fields, &entry))
                .await;
        }
        Ok(Some((flag, entry)))
    }

    /// After a share left `Armed` (its own atomic step): its quota charges are released and its
    /// blob joins the spent index. Best effort — the change already happened and must be
    /// reported; a failure here only keeps a charge until the share's expiry and leaves the
    /// blob to the expiry sweep.
    async fn left_armed(&self, key: &StoreKey, now: Millis, held: &Secondary) {
        let mut cmds = self.release_cmds(held);
        let mut spent = redis::cmd("ZADD");
        spent
            .arg(self.spent_key())
            .arg(now)
            .arg(format!("{}:{}", held.blob, key.to_hex()));
        cmds.push(spent);
        if let Err(err) = self.each::<Value>(cmds).await {
            warn!(share = %key.handle(), error = %err, "a share left armed but its indexes were not updated; they catch up at its expiry");
        }
    }

    /// `ZREM` of the share's quota member from each quota set it was charged to.
    fn release_cmds(&self, held: &Secondary) -> Vec<Cmd> {
        held.tags
            .split_whitespace()
            .map(|tag| {
                let mut cmd = redis::cmd("ZREM");
                cmd.arg(self.quota_key(tag)).arg(&held.member);
                cmd
            })
            .collect()
    }

    /// Refunds an insert's quota charges (`tags` charged with `member`).
    async fn refund(&self, tags: &[&str], member: &str) {
        let cmds = tags
            .iter()
            .map(|tag| {
                let mut cmd = redis::cmd("ZREM");
                cmd.arg(self.quota_key(tag)).arg(member);
                cmd
            })
            .collect();
        if let Err(err) = self.each::<Value>(cmds).await {
            warn!(error = %err, "a quota charge could not be refunded; it lapses at the share's expiry");
        }
    }

    /// Charges `record` to each of `charges`, in order, refunding what was charged if one is
    /// over its limit.
    async fn charge(
        &self,
        record: &ShareRecord,
        charges: &[QuotaCharge],
        member: &str,
    ) -> Result<(), StoreError> {
        for (i, charge) in charges.iter().enumerate() {
            let reply: Vec<i64> = self
                .patiently(|| async {
                    self.scripts
                        .charge
                        .key(self.quota_key(charge.tag.as_str()))
                        .arg(record.created_at)
                        .arg(member)
                        .arg(record.expires_at)
                        .arg(charge.max_shares)
                        .arg(charge.max_bytes)
                        .arg(record.stored_size)
                        .invoke_async(&mut self.conn.clone())
                        .await
                        .map_err(unavailable)
                })
                .await?;
            match reply.as_slice() {
                [1] => {}
                [-1, shares, bytes] => {
                    let charged: Vec<&str> = charges[..i].iter().map(|c| c.tag.as_str()).collect();
                    self.refund(&charged, member).await;
                    return Err(charge
                        .exceeded(QuotaUsage {
                            shares: u32::try_from(*shares).unwrap_or(u32::MAX),
                            bytes: u64::try_from(*bytes).unwrap_or(0),
                        })
                        .into());
                }
                _ => return Err(StoreError::Corrupt("unexpected quota reply".into())),
            }
        }
        Ok(())
    }

    /// Runs an idempotent step before an insert (a reservation, a quota charge, an index entry)
    /// again while Redis does not answer, for up to [`PATIENCE`] timeouts: these steps change
    /// nothing a repeat could double, and giving up on one would fail an upload that a stall
    /// only delayed — the insert itself is settled through the ledger like any state change.
    async fn patiently<T, F, Fut>(&self, step: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let deadline = std::time::Instant::now() + self.timeout * PATIENCE;
        loop {
            match step().await {
                Err(StoreError::Unavailable(_)) if std::time::Instant::now() < deadline => {}
                other => return other,
            }
        }
    }

    /// With `wait_replicas`, makes sure the change `op` just applied to the share under `key`
    /// reached that many replicas; if it did not, undoes it (then nothing happened, and the
    /// caller is told so) or, if even that fails, reports the outcome unknown so the caller
    /// settles it — on whichever server is master by then.
    async fn confirm(
        &self,
        key: &StoreKey,
        op: &OpId,
        inline: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        if self.wait_replicas == 0 {
            return Ok(());
        }
        let acked = self
            .conn
            .wait_for_replicas(&self.share_key(key), self.wait_replicas, self.timeout / 2)
            .await
            .map_err(unavailable)?;
        if acked >= self.wait_replicas {
            return Ok(());
        }
        warn!(share = %key.handle(), acked, wanted = self.wait_replicas, "a change did not reach enough replicas; undoing it");
        if self.undo(key, op, inline).await? {
            return Err(StoreError::NotApplied(format!(
                "only {acked} of {} Redis replicas acknowledged the change",
                self.wait_replicas
            )));
        }
        Err(StoreError::Unavailable(
            "the change reached too few Redis replicas and could not be undone".into(),
        ))
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

/// `<blob>:<h>` index members → the blob names.
fn blobs_of(members: &[String]) -> impl Iterator<Item = BlobName> + '_ {
    members
        .iter()
        .filter_map(|m| BlobName::parse(m.split_once(':')?.0))
}

/// Parses an `HGETALL` reply into an entry.
pub(super) fn entry_from_fields(
    mut fields: HashMap<String, Vec<u8>>,
) -> Result<ShareEntry, StoreError> {
    let inline = fields.remove("body");
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
    let mut record: ShareRecord = serde_json::from_slice(
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
    record.inline = inline;
    Ok(ShareEntry {
        record,
        state,
        attempts: number("att")? as u32,
        claimed_by: None,
    })
}

/// A share's hash as `HGETALL` returns it.
type Fields = HashMap<String, Vec<u8>>;

fn fields_of(value: Value) -> Result<Fields, StoreError> {
    redis::from_redis_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Splits a `{flag, HGETALL}` script reply.
fn flagged_fields(reply: Value) -> Result<Option<(i64, Fields)>, StoreError> {
    let parts: Option<(i64, Value)> =
        redis::from_redis_value(reply).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    parts
        .map(|(flag, fields)| Ok((flag, fields_of(fields)?)))
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
        let hash = record.key.to_hex();
        let member = format!("{hash}:{}", record.stored_size);
        let tags: Vec<&str> = charges.iter().map(|c| c.tag.as_str()).collect();
        let owner = record.owner.as_ref().map(owner_tag).unwrap_or_default();
        let live_member = format!("{}:{hash}", record.blob.as_str());
        // 1. Quota: reserve (so a settle that voids this insert refunds), then charge each tag.
        if !charges.is_empty() {
            let reserved: i64 = self
                .patiently(|| async {
                    self.scripts
                        .reserve
                        .key(self.share_key(&record.key))
                        .key(self.ledger_key(&record.key))
                        .arg(op.to_hex())
                        .arg(format!("{member} {}", tags.join(" ")))
                        .arg(record.expires_at)
                        .invoke_async(&mut self.conn.clone())
                        .await
                        .map_err(unavailable)
                })
                .await?;
            if reserved == 0 {
                return Err(StoreError::NotApplied(
                    "this insert was settled as not done".into(),
                ));
            }
            self.charge(record, charges, &member).await?;
        }
        // 2. Indexes, before the share exists: a live share is never missing from them.
        self.patiently(|| async {
            redis::cmd("ZADD")
                .arg(self.live_key())
                .arg(record.expires_at)
                .arg(&live_member)
                .query_async::<()>(&mut self.conn.clone())
                .await
                .map_err(unavailable)
        })
        .await?;
        if let Some(o) = &record.owner {
            self.patiently(|| async {
                self.scripts
                    .index
                    .key(self.owner_key(o))
                    .arg(record.expires_at)
                    .arg(&hash)
                    .arg(record.created_at)
                    .invoke_async::<()>(&mut self.conn.clone())
                    .await
                    .map_err(unavailable)
            })
            .await?;
        }
        // 3. The share itself: one script on its own slot.
        let reply: i64 = self
            .scripts
            .insert
            .key(self.share_key(&record.key))
            .key(self.ledger_key(&record.key))
            .arg(json)
            .arg(record.expires_at)
            .arg(record.max_attempts)
            .arg(owner)
            .arg(record.blob.as_str())
            .arg(op.to_hex())
            .arg(tags.join(" "))
            .arg(&member)
            .arg(record.inline.as_deref().unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        match reply {
            1 => Ok(()),
            0 | -2 => {
                // Certainly not inserted: give back what this insert took. (The owner index
                // entry stays — the id may be another share's; listing checks the owner.)
                self.refund(&tags, &member).await;
                let mut unlive = redis::cmd("ZREM");
                unlive.arg(self.live_key()).arg(&live_member);
                let _ = self.each::<Value>(vec![unlive]).await;
                Err(if reply == 0 {
                    StoreError::AlreadyExists
                } else {
                    StoreError::NotApplied("this insert was settled as not done".into())
                })
            }
            _ => Err(StoreError::Corrupt("unexpected insert reply".into())),
        }
    }

    async fn quota_usage(&self, tag: &QuotaTag, now: Millis) -> Result<QuotaUsage, StoreError> {
        Ok(usage_of(
            &self.unexpired(self.quota_key(tag.as_str()), now).await?,
        ))
    }

    async fn get(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareEntry>, StoreError> {
        let fields: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
            .arg(self.share_key(key))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if fields.is_empty() {
            return Ok(None);
        }
        let entry = entry_from_fields(fields)?;
        Ok((!entry.is_expired(now)).then_some(entry))
    }

    async fn peek(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareFacts>, StoreError> {
        // The share's hash but `body` (its inline content); of the record, only its facts.
        let (rec, state, at, att): (Option<Vec<u8>>, Option<String>, Option<u64>, Option<u32>) =
            redis::cmd("HMGET")
                .arg(self.share_key(key))
                .arg(&["rec", "state", "at", "att"][..])
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
        let Some(rec) = rec else {
            return Ok(None);
        };
        let record: RecordFacts =
            serde_json::from_slice(&rec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let at = || at.ok_or_else(|| StoreError::Corrupt("missing field at".into()));
        let state = match state.as_deref() {
            Some("armed") => ShareState::Armed,
            Some("opened") => ShareState::Opened { at: at()? },
            Some("revoked") => ShareState::Revoked { at: at()? },
            Some("takendown") => ShareState::TakenDown { at: at()? },
            other => return Err(StoreError::Corrupt(format!("unknown state {other:?}"))),
        };
        let attempts = att.ok_or_else(|| StoreError::Corrupt("missing field att".into()))?;
        let facts = ShareFacts {
            record,
            state,
            attempts,
        };
        Ok((!facts.is_expired(now)).then_some(facts))
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
                Some((1, entry)) => {
                    self.confirm(key, op, entry.record.inline.as_deref())
                        .await?;
                    ClaimOutcome::Claimed(entry)
                }
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
        let reply: Vec<String> = self
            .scripts
            .settle
            .key(self.share_key(key))
            .key(self.ledger_key(key))
            .arg(op.to_hex())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let mark = reply.first().map(String::as_str).unwrap_or_default();
        // A voided insert gives back the quota it reserved (and may have charged).
        if let Some((member, tags)) = reply.get(1).and_then(|r| r.split_once(' ')) {
            let tags: Vec<&str> = tags.split_whitespace().collect();
            self.refund(&tags, member).await;
        }
        Ok(Applied::decode(mark))
    }

    async fn undo(
        &self,
        key: &StoreKey,
        op: &OpId,
        inline: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let mut script = self.scripts.undo.key(self.share_key(key));
        script.key(self.ledger_key(key)).arg(op.to_hex());
        if let Some(content) = inline {
            script.arg(content);
        }
        let reply: Vec<String> = script
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let [done, what, blob, tags, member, expires_at] = reply.as_slice() else {
            return Ok(false);
        };
        if done != "1" {
            return Ok(false);
        }
        let held = Secondary {
            blob: blob.clone(),
            tags: tags.clone(),
            member: member.clone(),
            expires_at: expires_at.clone(),
        };
        let index_member = format!("{}:{}", held.blob, key.to_hex());
        // Secondary entries follow the share: an undone insert gives back its charges and its
        // index entry; a re-armed claim takes its charges again (no limit check: it held them
        // a moment ago) and leaves the spent index (the sweeper re-checks anyway).
        let mut cmds = Vec::new();
        match what.as_str() {
            "ins" => {
                cmds = self.release_cmds(&held);
                let mut unlive = redis::cmd("ZREM");
                unlive.arg(self.live_key()).arg(&index_member);
                cmds.push(unlive);
            }
            "clm" => {
                for tag in held.tags.split_whitespace() {
                    let mut recharge = redis::cmd("ZADD");
                    recharge
                        .arg(self.quota_key(tag))
                        .arg(&held.expires_at)
                        .arg(&held.member);
                    cmds.push(recharge);
                }
                let mut unspent = redis::cmd("ZREM");
                unspent.arg(self.spent_key()).arg(&index_member);
                cmds.push(unspent);
            }
            _ => {}
        }
        if let Err(err) = self.each::<Value>(cmds).await {
            warn!(share = %key.handle(), error = %err, "an undone change's indexes were not updated");
        }
        Ok(true)
    }

    async fn drop_inline(&self, key: &StoreKey) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .drop_inline
            .key(self.share_key(key))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn take_spent(&self, before: Millis) -> Result<Vec<BlobName>, StoreError> {
        let members = self.take_scored(self.spent_key(), before).await?;
        // Re-read each share: one an undo re-armed keeps its blob.
        let cmds = members
            .iter()
            .map(|m| {
                let mut cmd = redis::cmd("HGET");
                let hash = m.split_once(':').map(|(_, h)| h).unwrap_or_default();
                let key = StoreKey::from_hex(hash);
                cmd.arg(key.map(|k| self.share_key(&k)).unwrap_or_default())
                    .arg("state");
                cmd
            })
            .collect();
        let states: Vec<Option<String>> = self.each(cmds).await?;
        Ok(members
            .iter()
            .zip(states)
            .filter(|(_, state)| state.as_deref() != Some("armed"))
            .filter_map(|(m, _)| BlobName::parse(m.split_once(':')?.0))
            .collect())
    }

    async fn list_all(&self, now: Millis) -> Result<Vec<ShareEntry>, StoreError> {
        let members = self.unexpired(self.live_key(), now).await?;
        let hashes: Vec<&str> = members
            .iter()
            .filter_map(|m| Some(m.split_once(':')?.1))
            .collect();
        self.entries_of(&hashes, now, None).await
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
            -2 => AttemptOutcome::NotArmed(Box::new(entry_from_fields(fields_of(
                second.ok_or_else(|| StoreError::Corrupt("missing entry".into()))?,
            )?)?)),
            attempt => {
                let max: i64 = second
                    .map(redis::from_redis_value)
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
                    .ok_or_else(|| StoreError::Corrupt("missing max".into()))?;
                self.confirm(key, op, None).await?;
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
            .arg(now)
            .arg(owner_tag(owner))
            .arg(op.to_hex())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(match self.changed(key, now, reply).await? {
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
        let members = self.unexpired(self.owner_key(owner), now).await?;
        let hashes: Vec<&str> = members.iter().map(String::as_str).collect();
        self.entries_of(&hashes, now, Some(&owner_tag(owner))).await
    }

    async fn list_charged(
        &self,
        tag: &QuotaTag,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError> {
        // The quota set is the index: members `<h>:<stored size>`, scored by expiry. A member
        // may outlive `Armed` briefly (released after the claim) or precede its insert (charged
        // first): only armed shares that exist are listed.
        let members = self.unexpired(self.quota_key(tag.as_str()), now).await?;
        let hashes: Vec<&str> = members.iter().filter_map(|m| m.split(':').next()).collect();
        let mut entries = self.entries_of(&hashes, now, None).await?;
        entries.retain(|e| e.state == ShareState::Armed);
        Ok(entries)
    }

    async fn take_expired(&self, now: Millis) -> Result<Vec<BlobName>, StoreError> {
        let members = self.take_scored(self.live_key(), now).await?;
        Ok(blobs_of(&members).collect())
    }

    async fn live_blobs(&self, now: Millis) -> Result<HashSet<BlobName>, StoreError> {
        let members = self.unexpired(self.live_key(), now).await?;
        Ok(blobs_of(&members).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
