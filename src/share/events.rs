//! What happened to shares, as the lifecycle reports it to whoever watches (the operator
//! console's activity log; process metrics). Each event is emitted once, at the point where the
//! transition is decided. Events carry counts, sizes, a latency and the sender's key fingerprint
//! and address — never an id, a key, a name or content.
//!
//! Observers are called inline and must not block: anything slow (a store write) is theirs to
//! hand off.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::Owner;

/// One lifecycle step of one share (or, for `Expired`, of `count` shares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareEvent<'a> {
    /// A share was armed: `bytes` of plaintext from `owner` (if keyed) at `client`.
    Created {
        owner: Option<&'a Owner>,
        client: Option<IpAddr>,
        bytes: u64,
    },
    /// The atomic claim succeeded. `latency` runs from the call to `Shares::claim` to that
    /// decision (key check, blob header, Argon2id for a password share, the store's atomic
    /// step); streaming the content comes after and is not included.
    Claimed {
        latency: Duration,
    },
    /// A claimed share's content stopped flowing: all of it authenticated and handed out
    /// (`complete`), or cut short (client gone, tampered content, shutdown). `bytes` is the
    /// plaintext handed to the transport.
    Delivered {
        bytes: u64,
        complete: bool,
    },
    /// The last allowed wrong password was spent: the share is locked for good.
    Locked,
    Revoked,
    TakenDown,
    Expired {
        count: usize,
    },
}

pub trait ShareObserver: Send + Sync + 'static {
    fn observe(&self, event: &ShareEvent<'_>);
}

/// The observers of one [`Shares`](super::Shares), set once at start-up.
#[derive(Clone, Default)]
pub(super) struct Observers(Vec<Arc<dyn ShareObserver>>);

impl Observers {
    pub(super) fn add(&mut self, observer: Arc<dyn ShareObserver>) {
        self.0.push(observer);
    }

    pub(super) fn emit(&self, event: ShareEvent<'_>) {
        for observer in &self.0 {
            observer.observe(&event);
        }
    }
}
