//! Per-client rates counted across replicas: the [`SharedRates`] seam. With Redis configured,
//! the claim rate limit (`src/http/rate_limit.rs`) and the upload rate limit
//! (`src/ssh/limits.rs`) count in Redis, so N replicas allow a client the configured rate once,
//! not N times; without Redis (one process, the embedded store) they count in memory, which is
//! then exact. Implemented by `crate::store` (`redis_rates.rs`).
//!
//! What it does not do: connection caps. Open connections are a property of one process (its
//! file descriptors and memory), so they stay per replica by design.

use std::time::Duration;

use async_trait::async_trait;

use crate::share::StoreError;

#[async_trait]
pub trait SharedRates: Send + Sync {
    /// **Atomic across replicas.** Takes one token from the bucket `bucket`, which holds at most
    /// `burst` tokens and refills `per_minute` a minute (the server's clock, so replicas'
    /// clocks do not matter). `None`: taken; `Some(wait)`: empty, the next token comes in
    /// `wait`.
    async fn take_token(
        &self,
        bucket: &str,
        per_minute: u32,
        burst: u32,
    ) -> Result<Option<Duration>, StoreError>;

    /// **Atomic per bucket.** Counts one event in each of `buckets` (a sliding `window`) unless
    /// one of them already holds `limit` events; then nothing stays counted and the answer is
    /// how long until that bucket has room. Of concurrent events over several buckets, some may
    /// be refused where one would have fit; none takes a bucket over `limit`.
    async fn count_event(
        &self,
        buckets: &[String],
        limit: u32,
        window: Duration,
    ) -> Result<Option<Duration>, StoreError>;
}
