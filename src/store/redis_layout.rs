//! Moves data written by the first Redis key layout (v1: one server only, share keys without a
//! hash tag, `<p>blobs` and `<p>spent` indexes, `<p>o:<owner>` sets, `<p>reports…`) to the
//! layout `redis.rs` describes (v2), once, at connect. Without it an upgraded server would not
//! see the live shares — and its orphan cleanup would delete their blobs.
//!
//! Each share moves by `RENAMENX` (atomic, keeps its expiry), so instances starting together
//! cannot move one twice; indexes are re-added idempotently; the old indexes go last, so a
//! crash midway is finished by the next start. What it does not do: run while an older version
//! still writes to the same Redis (stop every instance before upgrading), or run on a Cluster
//! (v1 never could: its scripts spanned slots).

use std::collections::HashMap;

use redis::Value;
use tracing::info;

use super::redis::{RedisStore, unavailable};
use crate::share::{ShareState, StoreError, StoreKey, now_millis};

/// Keys the v1 layout had that v2 names differently: (old, new) suffixes after the prefix.
const RENAMED: [(&str, &str); 4] = [
    ("reports", "{reports}"),
    ("reports:open", "{reports}:open"),
    ("reports:done", "{reports}:done"),
    ("reports:seq", "{reports}:seq"),
];

impl RedisStore {
    pub(super) async fn upgrade_layout(&self) -> Result<(), StoreError> {
        if self.conn.is_cluster() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        for (old, new) in RENAMED {
            let (old, new) = (
                format!("{}{old}", self.prefix),
                format!("{}{new}", self.prefix),
            );
            // An error means the old key is gone (moved already): nothing to do.
            let _: Result<Value, _> = redis::cmd("RENAMENX")
                .arg(&old)
                .arg(&new)
                .query_async(&mut conn)
                .await;
        }
        let v1_index = format!("{}blobs", self.prefix);
        let found: i64 = redis::cmd("EXISTS")
            .arg(&v1_index)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        // Every live v1 share has its blob in `<p>blobs` until it expires.
        if found == 0 {
            return Ok(());
        }
        let moved = self.move_v1_shares().await?;
        for pattern in ["o:*"] {
            for key in self.scan(pattern).await? {
                let _: Result<Value, _> = redis::cmd("DEL").arg(key).query_async(&mut conn).await;
            }
        }
        redis::cmd("DEL")
            .arg(&v1_index)
            .arg(format!("{}spent", self.prefix))
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)?;
        info!(
            shares = moved,
            "moved share metadata to the v2 Redis key layout"
        );
        Ok(())
    }

    /// Every key matching `<prefix><pattern>` (the prefix taken literally).
    async fn scan(&self, pattern: &str) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}{pattern}", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    async fn move_v1_shares(&self) -> Result<usize, StoreError> {
        let mut conn = self.conn.clone();
        let now = now_millis();
        let mut moved = 0;
        // v1 share keys end in the hash itself; v2 ones in `{`.
        for old in self.scan("s:[0-9a-f]*").await? {
            let Some(key) = old
                .strip_prefix(&format!("{}s:", self.prefix))
                .and_then(StoreKey::from_hex)
            else {
                continue;
            };
            let fields: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
                .arg(&old)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let renamed: Result<i64, _> = redis::cmd("RENAMENX")
                .arg(&old)
                .arg(self.share_key(&key))
                .query_async(&mut conn)
                .await;
            if !matches!(renamed, Ok(1)) || fields.is_empty() {
                continue;
            }
            let _: Result<i64, _> = redis::cmd("RENAMENX")
                .arg(format!("{}x:{}", self.prefix, key.to_hex()))
                .arg(self.ledger_key(&key))
                .query_async(&mut conn)
                .await;
            let owner = fields
                .get("owner")
                .map(|o| String::from_utf8_lossy(o).into_owned())
                .unwrap_or_default();
            let Ok(entry) = super::redis::entry_from_fields(fields) else {
                continue;
            };
            let member = format!("{}:{}", entry.record.blob.as_str(), key.to_hex());
            let mut pipe = redis::pipe();
            pipe.zadd(self.live_key(), &member, entry.record.expires_at)
                .ignore();
            if !owner.is_empty() && !entry.is_expired(now) {
                let index = format!("{}idx:own:{owner}", self.prefix);
                pipe.zadd(&index, key.to_hex(), entry.record.expires_at)
                    .ignore()
                    .cmd("PEXPIREAT")
                    .arg(&index)
                    .arg(entry.record.expires_at)
                    .arg("GT")
                    .ignore()
                    .cmd("PEXPIREAT")
                    .arg(&index)
                    .arg(entry.record.expires_at)
                    .arg("NX")
                    .ignore();
            }
            let left = match entry.state {
                ShareState::Armed => None,
                ShareState::Opened { at }
                | ShareState::Revoked { at }
                | ShareState::TakenDown { at } => Some(at),
            };
            if let Some(at) = left {
                pipe.zadd(self.spent_key(), &member, at).ignore();
            }
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
            moved += 1;
        }
        Ok(moved)
    }
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
