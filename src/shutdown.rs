//! Graceful shutdown, as one shared handle every server and session can see.
//!
//! On SIGTERM/SIGINT the process goes through three steps, each a signal on [`Shutdown`]:
//!
//! 1. **drain** — listeners close at once (no new SSH or HTTP connections), new SSH requests on
//!    connections already open are refused with a message, terminal UIs show a notice with the
//!    deadline; work in flight (an upload, a download, a TUI session, `ls`) carries on.
//! 2. **cut** — only if the grace period (`--shutdown-grace`) ran out: work still in flight stops
//!    at its next safe point and tells its client (an upload stops while *waiting for input*, so
//!    it is dropped whole — temp blob removed, nothing published — and never half way through
//!    publishing; a download's connection is closed short of its length).
//! 3. **close** — remaining SSH connections are disconnected, background clean-ups finish, the
//!    process exits 0.
//!
//! Work in flight is whatever was spawned through [`Shutdown::spawn`] (SSH channel tasks, HTTP
//! connections, TUI effects): a `TaskTracker`, so "all done" is one await, not a poll.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::units::{Millis, now_millis};

/// Cheap to clone; one per process.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    drain: CancellationToken,
    cut: CancellationToken,
    close: CancellationToken,
    /// When draining ends and work in flight is cut (unix millis), once draining started.
    deadline: OnceLock<Millis>,
    work: TaskTracker,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Step 1: stop taking new work; what is in flight has `grace` to finish.
    pub fn drain(&self, grace: Duration) {
        let _ = self
            .inner
            .deadline
            .set(now_millis().saturating_add(grace.as_millis() as u64));
        self.inner.drain.cancel();
    }

    /// Step 2: the grace period is over; work in flight stops at its next safe point.
    pub fn cut(&self) {
        self.drain(Duration::ZERO);
        self.inner.cut.cancel();
    }

    /// Step 3: nothing is left to wait for; close what is still open.
    pub fn close(&self) {
        self.cut();
        self.inner.close.cancel();
    }

    pub fn is_draining(&self) -> bool {
        self.inner.drain.is_cancelled()
    }

    /// When work in flight will be cut, once draining has started.
    pub fn deadline(&self) -> Option<Millis> {
        self.inner.deadline.get().copied()
    }

    /// Resolves when draining starts (at once if it has).
    pub fn draining(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.drain.clone().cancelled_owned()
    }

    /// Resolves when work in flight must stop (at once if it must).
    pub fn cutting(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.cut.clone().cancelled_owned()
    }

    /// Resolves when the last connections are to be closed.
    pub fn closing(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.close.clone().cancelled_owned()
    }

    /// Runs `work` as a task that shutdown waits for.
    pub fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.work.spawn(work)
    }

    /// How many tasks are in flight.
    pub fn in_flight(&self) -> usize {
        self.inner.work.len()
    }

    /// Resolves once no work is in flight (work spawned later is still tracked, and waited for
    /// by the next call).
    pub async fn idle(&self) {
        self.inner.work.close();
        self.inner.work.wait().await;
        self.inner.work.reopen();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_waits_for_tracked_work_and_each_step_implies_the_one_before() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.is_draining());
        assert_eq!(shutdown.deadline(), None);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let cutting = shutdown.cutting();
        shutdown.spawn(async move {
            let _ = released.await;
        });
        assert_eq!(shutdown.in_flight(), 1);
        shutdown.drain(Duration::from_secs(30));
        assert!(shutdown.is_draining());
        let deadline = shutdown.deadline().unwrap();
        assert!(deadline > now_millis());
        shutdown.draining().await;
        let idle = shutdown.idle();
        tokio::pin!(idle);
        assert!(futures_util::poll!(&mut idle).is_pending());
        release.send(()).unwrap();
        idle.await;
        assert_eq!(shutdown.in_flight(), 0);
        shutdown.close();
        cutting.await;
        shutdown.draining().await;
        assert_eq!(
            shutdown.deadline(),
            Some(deadline),
            "the first deadline stands"
        );
    }
}
