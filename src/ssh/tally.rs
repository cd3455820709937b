//! Live SSH sessions of this process by kind (`tui`, `pipe`, `scp`, `sftp`, `command`,
//! `admin`): a channel holds a [`SessionGuard`] while it does its work. The operator console
//! sums every instance's tally.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::operator::SessionCounts;

#[derive(Clone, Default)]
pub struct SessionTally(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl SessionTally {
    /// Counts one session of `kind` until the guard is dropped.
    pub fn enter(&self, kind: &'static str) -> SessionGuard {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(kind).or_default() += 1;
        }
        SessionGuard {
            tally: self.clone(),
            kind,
        }
    }

    pub fn snapshot(&self) -> SessionCounts {
        self.0
            .lock()
            .map(|counts| {
                counts
                    .iter()
                    .map(|(kind, n)| ((*kind).to_owned(), *n))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub struct SessionGuard {
    tally: SessionTally,
    kind: &'static str,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.tally.0.lock()
            && let Some(n) = counts.get_mut(self.kind)
        {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_sessions_while_they_live() {
        let tally = SessionTally::default();
        let a = tally.enter("tui");
        let b = tally.enter("tui");
        let c = tally.enter("scp");
        assert_eq!(tally.snapshot().get("tui"), Some(&2));
        drop((a, c));
        let now = tally.snapshot();
        assert_eq!(now.get("tui"), Some(&1));
        assert_eq!(now.get("scp"), Some(&0));
        drop(b);
        assert_eq!(tally.snapshot().get("tui"), Some(&0));
    }
}
