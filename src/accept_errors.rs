//! What a listener does when `accept` fails — almost always out of file descriptors (EMFILE),
//! which repeats on every attempt until a connection closes: back off a little, and log at most
//! one line per interval with a count of the failures in between, so a descriptor exhaustion
//! cannot also flood the log (it used to write ~27 warnings a second).

use std::time::{Duration, Instant};

use tracing::warn;

/// At most one log line per listener this often.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// One listener's accept failures.
pub struct AcceptErrors {
    listener: &'static str,
    backoff: Duration,
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    pub fn new(listener: &'static str, backoff: Duration) -> Self {
        Self {
            listener,
            backoff,
            logged_at: None,
            unlogged: 0,
        }
    }

    /// Records a failure, logs it if the interval allows, and waits out the back-off.
    pub async fn failed(&mut self, err: &std::io::Error) {
        if let Some(since_last) = self.should_log(Instant::now()) {
            warn!(
                listener = self.listener,
                error = %err,
                failures = since_last,
                "accept failed (out of file descriptors?); backing off"
            );
        }
        tokio::time::sleep(self.backoff).await;
    }

    /// `Some(failures since the last line)` when a line is due at `now`.
    fn should_log(&mut self, now: Instant) -> Option<u64> {
        self.unlogged += 1;
        let due = self
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= LOG_EVERY);
        if !due {
            return None;
        }
        self.logged_at = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_failures_logs_one_line_then_one_per_interval_with_the_count() {
        let mut errors = AcceptErrors::new("test", Duration::ZERO);
        let t0 = Instant::now();
        assert_eq!(errors.should_log(t0), Some(1));
        let in_between = (1..=270)
            .filter_map(|i| errors.should_log(t0 + Duration::from_millis(i * 37)))
            .count();
        assert_eq!(in_between, 0, "270 failures within 10 s log nothing more");
        assert_eq!(errors.should_log(t0 + LOG_EVERY), Some(271));
    }
}
