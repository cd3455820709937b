//! Per-client claim rate limit: a token bucket per address (per /64 for IPv6, since one host
//! usually owns a whole /64). Claims are what an attacker would hammer — to probe keys or burn
//! password attempts — so only `POST /s/{id}` pays; pages are free.
//!
//! Memory is bounded: when the table grows past [`MAX_CLIENTS`], buckets that have refilled
//! completely (clients gone quiet) are dropped; if it is still full, the oldest half goes.
//!
//! With shared rates (Redis), the bucket lives there instead, so a client spreading its claims
//! over N replicas still gets the rate once; if Redis does not answer, this process's own
//! bucket decides (a limit that holds per replica beats none, and claims fail anyway then).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::shared_rates::SharedRates;

const MAX_CLIENTS: usize = 100_000;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    /// Where the buckets live across replicas, and this limiter's name among them.
    shared: Option<(Arc<dyn SharedRates>, &'static str)>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_minute == 0` disables limiting.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Counts in `rates` (when there are any) under the name `name`.
    pub fn shared(mut self, rates: Option<Arc<dyn SharedRates>>, name: &'static str) -> Self {
        self.shared = rates.map(|r| (r, name));
        self
    }

    /// Takes one token for `ip` from the shared bucket if there is one, else from this
    /// process's; `Err(wait)` says how long until the next one.
    pub async fn allow(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.per_second == 0.0 {
            return Ok(());
        }
        let Some((rates, name)) = &self.shared else {
            return self.check(ip);
        };
        let group = crate::client_group::client_group(ip);
        let per_minute = (self.per_second * 60.0).round() as u32;
        match rates
            .take_token(&format!("{name}:{group}"), per_minute, self.burst as u32)
            .await
        {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(wait.max(Duration::from_secs(1))),
            Err(err) => {
                tracing::debug!(error = %err, "shared rate limit unavailable; counting locally");
                self.check(ip)
            }
        }
    }

    /// Takes one token for `ip`; `Err(wait)` says how long until the next one.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.per_second == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let key = crate::client_group::client_group(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&key) {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(Duration::from_secs_f64(wait.max(1.0)))
        }
    }

    fn evict(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let refill = Duration::from_secs_f64(self.burst / self.per_second);
        buckets.retain(|_, b| now.duration_since(b.updated) < refill);
        if buckets.len() >= MAX_CLIENTS {
            let mut ages: Vec<Instant> = buckets.values().map(|b| b.updated).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            buckets.retain(|_, b| b.updated > cutoff);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_per_client() {
        let limiter = RateLimiter::new(60, 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        assert!(limiter.check(a).is_err());
        assert!(limiter.check(b).is_ok());
    }

    #[test]
    fn one_ipv6_host_is_one_client() {
        let limiter = RateLimiter::new(60, 1);
        assert!(limiter.check("2001:db8::1".parse().unwrap()).is_ok());
        assert!(limiter.check("2001:db8::2".parse().unwrap()).is_err());
    }

    #[test]
    fn zero_disables_the_limit() {
        let limiter = RateLimiter::new(0, 1);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..100).all(|_| limiter.check(ip).is_ok()));
    }
}
