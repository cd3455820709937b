//! The process-wide memory budget for TUI drafts: every session's draft (and the paste it is
//! still receiving) is backed by a [`Lease`] on one shared [`DraftBudget`], so however many
//! sessions are open, the text they hold together stays under `--tui-draft-budget`.
//!
//! A lease grows in [`GRAIN`]-sized steps with one atomic compare-and-swap (no lock, no await)
//! and never past what the budget has left: over it the session shows a clear message and keeps
//! nothing of that input. A lease shrinks when its draft does and returns everything on drop,
//! however the session ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Leases grow and shrink in steps of this many bytes, so a typing session touches the shared
/// counter once per few thousand keys.
pub const GRAIN: usize = 4096;

/// Bytes of draft text all TUI sessions together may hold.
#[derive(Debug)]
pub struct DraftBudget {
    limit: usize,
    used: AtomicUsize,
}

/// The budget is spent: nothing more can be held right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exhausted;

impl DraftBudget {
    pub fn new(limit: usize) -> Arc<DraftBudget> {
        Arc::new(DraftBudget {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// Bytes leased right now, by all sessions.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A lease of nothing yet, for one session.
    pub fn lease(self: &Arc<Self>) -> Lease {
        Lease {
            budget: self.clone(),
            held: 0,
        }
    }

    fn take(&self, bytes: usize) -> Result<(), Exhausted> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .map(|_| ())
            .map_err(|_| Exhausted)
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// One session's share of the budget.
#[derive(Debug)]
pub struct Lease {
    budget: Arc<DraftBudget>,
    held: usize,
}

impl Lease {
    /// Makes sure `bytes` are held, growing by whole grains; on failure nothing changes.
    pub fn cover(&mut self, bytes: usize) -> Result<(), Exhausted> {
        if bytes <= self.held {
            return Ok(());
        }
        let want = bytes.div_ceil(GRAIN).saturating_mul(GRAIN);
        self.budget.take(want - self.held)?;
        self.held = want;
        Ok(())
    }

    /// Gives back what `bytes` no longer needs (keeping the grain in use).
    pub fn shrink_to(&mut self, bytes: usize) {
        let keep = bytes.div_ceil(GRAIN).saturating_mul(GRAIN);
        if keep < self.held {
            self.budget.give_back(self.held - keep);
            self.held = keep;
        }
    }

    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_grow_by_grains_within_the_limit_and_give_everything_back() {
        let budget = DraftBudget::new(3 * GRAIN);
        let mut a = budget.lease();
        let mut b = budget.lease();
        a.cover(1).unwrap();
        assert_eq!(budget.used(), GRAIN);
        a.cover(GRAIN + 1).unwrap();
        assert_eq!(budget.used(), 2 * GRAIN);
        assert_eq!(b.cover(GRAIN + 1), Err(Exhausted), "would pass the limit");
        assert_eq!(b.held(), 0, "a refused cover takes nothing");
        b.cover(GRAIN).unwrap();
        a.shrink_to(10);
        assert_eq!(budget.used(), 2 * GRAIN);
        drop(a);
        drop(b);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_hundred_racing_sessions_never_overshoot_the_limit() {
        let budget = DraftBudget::new(10 * GRAIN);
        let granted = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..100 {
                scope.spawn(|| {
                    let mut lease = budget.lease();
                    if lease.cover(GRAIN).is_ok() {
                        granted.lock().unwrap().push(lease);
                    }
                });
            }
        });
        assert_eq!(granted.lock().unwrap().len(), 10);
        assert_eq!(budget.used(), 10 * GRAIN);
    }
}
