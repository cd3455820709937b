//! The bounded life of one HTTP connection. hyper closes an idle HTTP/1 keep-alive connection
//! by itself, but an HTTP/2 connection that answers PINGs stays open for ever — a slot and a
//! descriptor per connection, 64 per client, thousands in total. So each connection counts its
//! requests in flight ([`Activity`]: a request is in flight until its response body has been
//! sent or dropped) and is closed gracefully (HTTP/2: GOAWAY; requests in flight finish) once it
//! has had none for the idle timeout, and once it reaches its maximum age whatever it does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Requests in flight on one connection, and since when it has had none.
#[derive(Clone)]
pub struct Activity {
    inner: Arc<Inner>,
}

struct Inner {
    in_flight: AtomicUsize,
    quiet_since: Mutex<Instant>,
}

/// One request in flight; dropping it ends the request.
pub struct InFlight(Arc<Inner>);

impl Activity {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                in_flight: AtomicUsize::new(0),
                quiet_since: Mutex::new(Instant::now()),
            }),
        }
    }

    pub fn begin(&self) -> InFlight {
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.inner.clone())
    }

    /// Resolves once the connection has had no request in flight for `limit`.
    pub async fn idle_for(&self, limit: Duration) {
        loop {
            let quiet_since = *self
                .inner
                .quiet_since
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let wait = if self.inner.in_flight.load(Ordering::Acquire) > 0 {
                (limit / 4).max(Duration::from_millis(50))
            } else {
                match limit.checked_sub(quiet_since.elapsed()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.0.quiet_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_is_idle_only_after_its_last_request_ended_for_the_limit() {
        let activity = Activity::new();
        let request = activity.begin();
        let limit = Duration::from_millis(100);
        let idle = activity.idle_for(limit);
        tokio::pin!(idle);
        // Busy for several limits: never idle.
        assert!(
            tokio::time::timeout(limit * 5, &mut idle).await.is_err(),
            "a connection with a request in flight counted as idle"
        );
        drop(request);
        let ended = Instant::now();
        idle.await;
        assert!(ended.elapsed() >= limit, "{:?}", ended.elapsed());
    }
}
