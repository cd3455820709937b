//! `watch [--json]`: receipt events for the caller's own shares (by SSH key), one line each on
//! stdout as they happen, for scripts and notifications — the currently armed shares first,
//! then every change (see [`Feed`] for what each read means).
//!
//! The shares are read from the shared store (`Shares::list`) once a second, so a claim on any
//! instance behind the same Redis is seen, with nothing to subscribe to or clean up. Cost per
//! watcher: this task, one timer and at most one store read a second (a failed read is tried
//! again at the next tick, never reported as an event), and the feed's one entry per live
//! share, which the owner's quota bounds. stdin is not the watch's lifetime: EOF on it (a
//! script's `</dev/null`) changes nothing; the channel closing or the connection dropping ends
//! it at once, and a shutdown ends it with a word on stderr and a non-zero exit status.

use std::time::Duration;

use russh::ChannelMsg;
use tracing::debug;

use super::ChannelTask;
use crate::share::now_millis;
use crate::ssh::receipt::feed::Feed;

/// How often the shares are read.
const POLL: Duration = Duration::from_secs(1);

/// Exit status when a shutdown ended the watch.
const SHUT_DOWN: u32 = 1;

impl ChannelTask {
    pub(super) async fn watch(&mut self, json: bool) -> u32 {
        let Some(owner) = self.cx.client.identity.owner().cloned() else {
            self.stderr("watch needs an SSH key: keyless sessions have no shares to watch\n")
                .await;
            return 1;
        };
        let draining = self.cx.server.shutdown.draining();
        tokio::pin!(draining);
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut feed: Option<Feed> = None;
        loop {
            tokio::select! {
                _ = poll.tick() => {}
                msg = self.channel.wait() => match msg {
                    Some(ChannelMsg::Close) | None => {
                        debug!("client left while watching");
                        return 0;
                    }
                    // EOF and stray input: the watch goes on, and reads only on its tick.
                    Some(_) => continue,
                },
                () = &mut draining => {
                    self.stderr("the server is shutting down: the watch ended; run it again \
                                 to carry on\n").await;
                    return SHUT_DOWN;
                }
            }
            let shares = match self.cx.server.shares.list(&owner).await {
                Ok(shares) => shares,
                Err(err) => {
                    // A store hiccup is not an event: try again at the next tick.
                    debug!(error = %err, "watch read failed; retrying");
                    continue;
                }
            };
            let now = now_millis();
            let events = match feed.as_mut() {
                Some(feed) => feed.next(&shares, now),
                None => {
                    let (started, events) = Feed::start(&shares, now);
                    feed = Some(started);
                    events
                }
            };
            if events.is_empty() {
                continue;
            }
            let lines: String = events
                .iter()
                .map(|e| if json { e.json_line() } else { e.text_line() })
                .collect();
            if !self.send_stdout(self.terminal_text(&lines)).await {
                debug!("watcher stopped reading; ending the watch");
                return 1;
            }
        }
    }
}
