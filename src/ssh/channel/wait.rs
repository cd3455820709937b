//! `--wait`: after a piped upload printed its link, the channel stays open until the share is
//! opened, revoked, removed or expired, says which (and when) on stderr, and reports it in the
//! exit status — a live receipt for scripts.
//!
//! The share's state is read from the shared store (`Shares::peek`) once a second, so a claim
//! on any instance behind the same Redis is seen, with no pub/sub to subscribe to or clean up;
//! at `expires_at` the state is re-read once so a claim in the last second is not reported as
//! an expiry. The wait owns nothing but a timer and this task: the client dropping the
//! connection ends it at once and leaves nothing behind. It never consumes, extends or
//! changes the share, and never echoes the link.

use std::time::Duration;

use russh::ChannelMsg;
use tracing::debug;

use super::ChannelTask;
use crate::share::Millis;
use crate::share::{ShareId, StatusState, now_millis};
use crate::utc::utc_seconds;

/// Exit status: the share was opened.
pub const OPENED: u32 = 0;
/// Exit status: the share expired unopened.
pub const EXPIRED: u32 = 3;
/// Exit status: the share was revoked by its sender, removed by the operator or locked by
/// wrong passwords — it can no longer be opened.
pub const ENDED: u32 = 4;
/// Exit status: `--wait-timeout` ran out while the share was still armed.
pub const TIMED_OUT: u32 = 5;

/// How often the share's state is read while waiting.
const POLL: Duration = Duration::from_secs(1);

/// What ended a wait, as the client reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct Receipt {
    pub line: String,
    pub status: u32,
}

/// The receipt for a share's state, or `None` while it is still armed and unexpired. `None`
/// from the store (the record is gone) means it expired: records outlive every other end.
pub fn receipt(state: Option<StatusState>, expires_at: Millis, now: Millis) -> Option<Receipt> {
    let (line, status) = match state {
        Some(StatusState::Opened { at }) => (format!("opened at {}", utc_seconds(at)), OPENED),
        Some(StatusState::Revoked { at }) => (
            format!("revoked by its sender at {}", utc_seconds(at)),
            ENDED,
        ),
        Some(StatusState::TakenDown { at }) => (
            format!("removed by the operator at {}", utc_seconds(at)),
            ENDED,
        ),
        Some(StatusState::Locked) => (
            "locked after too many wrong passwords; it can no longer be opened".to_owned(),
            ENDED,
        ),
        Some(StatusState::Armed) if expires_at > now => return None,
        Some(StatusState::Armed) | None => (
            format!("expired unopened at {}", utc_seconds(expires_at)),
            EXPIRED,
        ),
    };
    Some(Receipt { line, status })
}

impl ChannelTask {
    /// Blocks until the share `id` ends (or the timeout, the client or a shutdown stops the
    /// wait) and returns the exit status.
    pub(super) async fn wait_for_receipt(
        &mut self,
        id: &ShareId,
        expires_at: Millis,
        timeout: Option<Duration>,
    ) -> u32 {
        let draining = self.cx.server.shutdown.draining();
        tokio::pin!(draining);
        let timeout = async move {
            match timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timeout);
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut input_open = true;
        loop {
            tokio::select! {
                _ = poll.tick() => {}
                msg = self.channel.wait(), if input_open => match msg {
                    Some(ChannelMsg::Close) | None => {
                        debug!("client left while waiting for a receipt");
                        return TIMED_OUT;
                    }
                    Some(ChannelMsg::Eof) => input_open = false,
                    // Stray input after the payload is ignored: the share is already armed.
                    Some(_) => {}
                },
                () = &mut timeout => {
                    self.stderr("still unopened when --wait-timeout ran out; the share stays \
                                 armed (see `ls`)\n").await;
                    return TIMED_OUT;
                }
                () = &mut draining => {
                    self.stderr("the server is shutting down: stopped waiting; the share stays \
                                 armed (see `ls`)\n").await;
                    return TIMED_OUT;
                }
            }
            let state = match self.cx.server.shares.peek(id).await {
                Ok(status) => status.map(|s| s.state),
                Err(err) => {
                    // A store hiccup is not an answer: try again at the next tick.
                    debug!(error = %err, "receipt poll failed; retrying");
                    continue;
                }
            };
            if let Some(receipt) = receipt(state, expires_at, now_millis()) {
                self.stderr(&format!("{}\n", receipt.line)).await;
                return receipt.status;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_end_has_its_words_and_exit_status() {
        let at = 1_795_000_000_000;
        let armed = receipt(Some(StatusState::Armed), at + 1, at);
        assert_eq!(armed, None);
        let opened = receipt(Some(StatusState::Opened { at }), at + 1, at).unwrap();
        assert_eq!(opened.status, OPENED);
        assert!(
            opened.line.starts_with("opened at 2026-"),
            "{}",
            opened.line
        );
        let expired = receipt(Some(StatusState::Armed), at, at).unwrap();
        assert_eq!(expired.status, EXPIRED);
        assert_eq!(receipt(None, at + 1, at).unwrap().status, EXPIRED);
        let revoked = receipt(Some(StatusState::Revoked { at }), at + 1, at).unwrap();
        assert_eq!(revoked.status, ENDED);
        assert!(revoked.line.starts_with("revoked by its sender at "));
        let removed = receipt(Some(StatusState::TakenDown { at }), at + 1, at).unwrap();
        assert_eq!(removed.status, ENDED);
        assert_eq!(
            receipt(Some(StatusState::Locked), at + 1, at)
                .unwrap()
                .status,
            ENDED
        );
    }
}
