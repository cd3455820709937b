//! [`SharedRates`] in Redis: `<p>rate:<bucket>` keys, one per bucket, each changed by one
//! single-key script (so any bucket may live on any Cluster node). Token buckets are a hash
//! (`tokens`, `at`); event windows a sorted set of event ids scored by time. Time is the Redis
//! server's (`TIME`), so replicas with skewed clocks still agree. Keys expire once idle.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use super::redis::{RedisStore, unavailable};
use crate::share::StoreError;
use crate::shared_rates::SharedRates;

// KEYS[1] the bucket; ARGV[1] tokens a minute, [2] burst. Replies 0 (taken) or the wait in ms.
const TAKE_TOKEN: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1]) or burst
local at = tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait
";

// KEYS[1] the window; ARGV[1] limit, [2] window in ms, [3] event id. Replies 0 (counted) or
// the wait in ms until the oldest event leaves the window.
const COUNT_EVENT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
";

impl RedisStore {
    fn rate_key(&self, bucket: &str) -> String {
        format!("{}rate:{bucket}", self.prefix)
    }
}

fn wait_of(millis: u64) -> Option<Duration> {
    (millis > 0).then(|| Duration::from_millis(millis))
}

#[async_trait]
impl SharedRates for RedisStore {
    async fn take_token(
        &self,
        bucket: &str,
        per_minute: u32,
        burst: u32,
    ) -> Result<Option<Duration>, StoreError> {
        let wait: u64 = Script::new(TAKE_TOKEN)
            .key(self.rate_key(bucket))
            .arg(per_minute.max(1))
            .arg(burst.max(1))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(wait_of(wait))
    }

    async fn count_event(
        &self,
        buckets: &[String],
        limit: u32,
        window: Duration,
    ) -> Result<Option<Duration>, StoreError> {
        let mut id = [0u8; 12];
        getrandom::fill(&mut id).map_err(|_| StoreError::Unavailable("no randomness".into()))?;
        let event = hex::encode(id);
        let script = Script::new(COUNT_EVENT);
        for (i, bucket) in buckets.iter().enumerate() {
            let wait: u64 = script
                .key(self.rate_key(bucket))
                .arg(limit)
                .arg(window.as_millis() as u64)
                .arg(&event)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            if let Some(wait) = wait_of(wait) {
                // Refused: the buckets already counted give the event back.
                let mut pipe_back = Vec::new();
                for counted in &buckets[..i] {
                    let mut cmd = redis::cmd("ZREM");
                    cmd.arg(self.rate_key(counted)).arg(&event);
                    pipe_back.push(cmd);
                }
                for cmd in pipe_back {
                    let _: Result<i64, _> = cmd.query_async(&mut self.conn.clone()).await;
                }
                return Ok(Some(wait));
            }
        }
        Ok(None)
    }
}
