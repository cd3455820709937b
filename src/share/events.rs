//! What happened to shares, told to whoever listens: [`ShareEvent`]s, emitted by the lifecycle at
//! the one point where each transition is decided, and [`ShareObserver`]s that receive them
//! (Prometheus counters today; an operator's activity log can be another observer).
//!
//! Events carry the share's [`Handle`] (the short hash logs may show) and sizes, never an id, a
//! key, a name or content: an observer cannot leak what it is never given. Observers run
//! synchronously on the request's task, so they must only count or enqueue — never block or await.

use std::time::Duration;

use super::Handle;
use crate::crypto::Kind;

/// One transition of a share's lifecycle, emitted exactly once per occurrence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareEvent {
    /// A share was published: blob durable, record inserted, link about to be shown.
    Created {
        handle: Handle,
        kind: Kind,
        /// Plaintext bytes.
        size: u64,
        password: bool,
    },
    /// The atomic claim succeeded for this caller. `latency` runs from the call to
    /// `Shares::claim` to that decision (key check, blob header, Argon2 for a password share,
    /// the store's atomic step); streaming the content comes after and is not included.
    Claimed { handle: Handle, latency: Duration },
    /// A claimed share's content stopped flowing: all of it authenticated and handed out
    /// (`complete`), or cut short (client gone, tampered content, shutdown). `bytes` is the
    /// plaintext handed to the transport.
    Delivered {
        handle: Handle,
        bytes: u64,
        complete: bool,
    },
    /// The last allowed wrong password was spent: the share is now locked (not deleted).
    Locked { handle: Handle },
    /// Its owner revoked it.
    Revoked { handle: Handle },
    /// A sweep removed this many expired shares (their records and blobs).
    Expired { count: usize },
}

/// Receives every [`ShareEvent`] of one [`super::Shares`]. Called synchronously where the event
/// happens: count, or hand the event to a queue; never block.
pub trait ShareObserver: Send + Sync + 'static {
    fn observe(&self, event: &ShareEvent);
}
