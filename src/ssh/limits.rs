//! Abuse limits for the SSH ingress: open connections (in total and per IP address), open
//! connections per key, and uploads per minute per key and per IP address.
//!
//! Connection counters are in memory, per process (each replica limits what it serves: open
//! connections are its own file descriptors). The upload rate counts across replicas when
//! shared rates (Redis) are configured, so N replicas allow a key or an address the rate once;
//! in this process otherwise, or while Redis does not answer. Connection and session slots are
//! RAII guards, so a slot is returned however a connection ends. Every refusal is a
//! [`LimitError`] whose text is shown to the client as-is.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::SshSettings;
use crate::refusals::{Reason, Refusals};
use crate::shared_rates::SharedRates;

const RATE_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    #[error("the server is busy (too many connections); try again shortly")]
    Busy,
    #[error("too many connections from your address; close some and try again")]
    TooManyFromAddress,
    #[error("too many connections with your key at once; close some and try again")]
    TooManyForKey,
    #[error(
        "upload rate limit: at most {per_minute} uploads per minute; try again in {retry_secs}s"
    )]
    UploadRate { per_minute: u32, retry_secs: u64 },
}

#[derive(Debug, Clone, Copy)]
pub struct LimitConfig {
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_sessions_per_key: usize,
    pub uploads_per_minute: u32,
}

impl From<&SshSettings> for LimitConfig {
    fn from(s: &SshSettings) -> Self {
        Self {
            max_connections: s.max_connections,
            max_connections_per_ip: s.max_connections_per_ip,
            max_sessions_per_key: s.max_sessions_per_key,
            uploads_per_minute: s.uploads_per_minute,
        }
    }
}

#[derive(Default)]
struct Counters {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    per_key: HashMap<String, usize>,
    uploads: HashMap<RateKey, VecDeque<Instant>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum RateKey {
    Ip(IpAddr),
    Key(String),
}

pub struct Limits {
    config: LimitConfig,
    counters: Mutex<Counters>,
    /// Every refusal decided here is counted (and bans, by the SSH side, through [`Limits::refusals`]).
    refusals: Refusals,
    /// Where the upload rate counts across replicas, if anywhere.
    shared: Option<Arc<dyn SharedRates>>,
}

impl Limits {
    pub fn new(config: LimitConfig) -> Arc<Self> {
        Self::shared(config, None)
    }

    /// Limits whose upload rate counts in `rates` (when there are any).
    pub fn shared(config: LimitConfig, rates: Option<Arc<dyn SharedRates>>) -> Arc<Self> {
        Arc::new(Self {
            config,
            counters: Mutex::new(Counters::default()),
            refusals: Refusals::default(),
            shared: rates,
        })
    }

    /// The SSH side's refusal counts, for `/metrics`.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// Counts `refusal` and hands it back.
    fn refused(&self, refusal: LimitError) -> LimitError {
        self.refusals.count(match refusal {
            LimitError::Busy => Reason::SshBusy,
            LimitError::TooManyFromAddress => Reason::SshPerAddress,
            LimitError::TooManyForKey => Reason::SshPerKey,
            LimitError::UploadRate { .. } => Reason::UploadRate,
        });
        refusal
    }

    fn counters(&self) -> MutexGuard<'_, Counters> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a connection slot for `ip`, or says why not.
    pub fn connect(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, LimitError> {
        let ip = crate::client_group::client_group(ip);
        let mut c = self.counters();
        if c.total >= self.config.max_connections {
            return Err(self.refused(LimitError::Busy));
        }
        let from_ip = c.per_ip.entry(ip).or_default();
        if *from_ip >= self.config.max_connections_per_ip {
            return Err(self.refused(LimitError::TooManyFromAddress));
        }
        *from_ip += 1;
        c.total += 1;
        Ok(ConnectionSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Takes a session slot for an authenticated key (its fingerprint).
    pub fn key_session(self: &Arc<Self>, key: &str) -> Result<KeySlot, LimitError> {
        let mut c = self.counters();
        let open = c.per_key.entry(key.to_owned()).or_default();
        if *open >= self.config.max_sessions_per_key {
            return Err(self.refused(LimitError::TooManyForKey));
        }
        *open += 1;
        Ok(KeySlot {
            limits: self.clone(),
            key: key.to_owned(),
        })
    }

    /// Counts one upload against both the address and (if any) the key: across replicas with
    /// shared rates, else (or while they do not answer) in this process.
    pub async fn upload(&self, ip: IpAddr, key: Option<&str>) -> Result<(), LimitError> {
        let Some(rates) = &self.shared else {
            return self.upload_at(ip, key, Instant::now());
        };
        let per_minute = self.config.uploads_per_minute;
        let mut buckets = vec![format!(
            "upload:ip:{}",
            crate::client_group::client_group(ip)
        )];
        buckets.extend(key.map(|k| format!("upload:key:{k}")));
        match rates.count_event(&buckets, per_minute, RATE_WINDOW).await {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(self.refused(LimitError::UploadRate {
                per_minute,
                retry_secs: wait.as_secs().max(1),
            })),
            Err(err) => {
                tracing::debug!(error = %err, "shared upload rate unavailable; counting locally");
                self.upload_at(ip, key, Instant::now())
            }
        }
    }

    fn upload_at(&self, ip: IpAddr, key: Option<&str>, now: Instant) -> Result<(), LimitError> {
        let ip = crate::client_group::client_group(ip);
        let per_minute = self.config.uploads_per_minute;
        let mut c = self.counters();
        let mut keys = vec![RateKey::Ip(ip)];
        keys.extend(key.map(|k| RateKey::Key(k.to_owned())));
        for key in &keys {
            if let Some(times) = c.uploads.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
                {
                    times.pop_front();
                }
                if times.len() >= per_minute as usize {
                    let oldest = times.front().copied().unwrap_or(now);
                    let retry = RATE_WINDOW.saturating_sub(now.duration_since(oldest));
                    return Err(self.refused(LimitError::UploadRate {
                        per_minute,
                        retry_secs: retry.as_secs().max(1),
                    }));
                }
            }
        }
        for key in keys {
            c.uploads.entry(key).or_default().push_back(now);
        }
        if c.uploads.len() > 10_000 {
            c.uploads.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < RATE_WINDOW)
            });
        }
        Ok(())
    }
}

/// One open connection; returned on drop.
pub struct ConnectionSlot {
    limits: Arc<Limits>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut c = self.limits.counters();
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

/// One open connection of an authenticated key; returned on drop.
pub struct KeySlot {
    limits: Arc<Limits>,
    key: String,
}

impl Drop for KeySlot {
    fn drop(&mut self) {
        let mut c = self.limits.counters();
        if let Some(n) = c.per_key.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_key.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_ip: usize, total: usize, per_minute: u32) -> Arc<Limits> {
        Limits::new(LimitConfig {
            max_connections: total,
            max_connections_per_ip: per_ip,
            max_sessions_per_key: 1,
            uploads_per_minute: per_minute,
        })
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn connection_slots_are_capped_per_address_and_in_total_and_returned_on_drop() {
        let l = limits(2, 3, 10);
        let a1 = l.connect(A).unwrap();
        let _a2 = l.connect(A).unwrap();
        assert_eq!(l.connect(A).err(), Some(LimitError::TooManyFromAddress));
        let _b1 = l.connect(B).unwrap();
        assert_eq!(l.connect(B).err(), Some(LimitError::Busy));
        drop(a1);
        assert!(l.connect(B).is_ok());
    }

    #[test]
    fn sessions_per_key_are_capped() {
        let l = limits(10, 10, 10);
        let s = l.key_session("SHA256:x").unwrap();
        assert_eq!(
            l.key_session("SHA256:x").err(),
            Some(LimitError::TooManyForKey)
        );
        assert!(l.key_session("SHA256:y").is_ok());
        drop(s);
        assert!(l.key_session("SHA256:x").is_ok());
    }

    #[test]
    fn uploads_are_rate_limited_per_key_and_per_address_in_a_sliding_minute() {
        let l = limits(10, 10, 2);
        let t0 = Instant::now();
        l.upload_at(A, Some("k"), t0).unwrap();
        l.upload_at(A, Some("k"), t0).unwrap();
        let err = l.upload_at(A, Some("k"), t0).unwrap_err();
        assert!(matches!(err, LimitError::UploadRate { per_minute: 2, .. }));
        // The same key from another address is still limited by the key.
        assert!(l.upload_at(B, Some("k"), t0).is_err());
        // Another key from the first address is limited by the address.
        assert!(l.upload_at(A, Some("other"), t0).is_err());
        assert!(l.upload_at(B, None, t0).is_ok());
        l.upload_at(A, Some("k"), t0 + RATE_WINDOW).unwrap();
    }
}
