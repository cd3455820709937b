//! `--wait`: after a piped upload printed its link, the channel stays open until the share is
//! opened, revoked, removed or expired, says which (and when) on stderr, and reports it in the
//! exit status — a live receipt for scripts.
//!
//! The share's state is read from the shared store (`Shares::peek`) once a second, so a claim
//! on any instance behind the same Redis is seen, with no pub/sub to subscribe to or clean up.
//! The words and exit statuses are [`Ending`]'s (shared with `watch`; it also says what no
//! reader of an expiring record can tell apart). The wait owns nothing but a timer and this
//! task: the client dropping the connection ends it at once and leaves nothing behind. It never
//! consumes, extends or changes the share, and never echoes the link.

use std::time::Duration;

use russh::ChannelMsg;
use tracing::debug;

use super::ChannelTask;
use crate::share::Millis;
use crate::share::{ShareId, now_millis};
use crate::ssh::receipt::{Ending, TIMED_OUT};

/// How often the share's state is read while waiting.
const POLL: Duration = Duration::from_secs(1);

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
            if let Some(ending) = Ending::of(state, expires_at, now_millis()) {
                self.stderr(&format!("{}\n", ending.words())).await;
                return ending.exit_status();
            }
        }
    }
}
