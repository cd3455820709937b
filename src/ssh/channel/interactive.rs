//! pty + shell: the full-screen terminal UI, at most [`MAX_TUI_PER_CONNECTION`] per connection
//! (multiplexed channels), with the upload gate handed to the TUI as a closure; a `dumb`
//! terminal gets the usage text instead.

use super::ChannelTask;
use crate::ssh::context::upload_gate;
use crate::ssh::output;

/// Interactive screens one SSH connection may hold open at once (multiplexed channels).
const MAX_TUI_PER_CONNECTION: usize = 2;

/// One open interactive screen on a connection; given back on drop, however the screen ended.
struct TuiSlot(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl TuiSlot {
    fn take(count: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Option<TuiSlot> {
        use std::sync::atomic::Ordering;
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_TUI_PER_CONNECTION).then_some(n + 1)
            })
            .ok()
            .map(|_| TuiSlot(count.clone()))
    }
}

impl Drop for TuiSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A terminal session still open when the shutdown grace ran out.
const TUI_CUT: &str =
    "the server shut down and closed this session; a draft that was not armed was not stored";

impl ChannelTask {
    /// pty + shell: the full-screen interface, or the usage text for a `dumb` terminal.
    pub(super) async fn interactive(&mut self) -> u32 {
        if self.terminal.depth() == crate::tui::colors::Depth::Plain {
            self.stdout(output::USAGE_ON_TERMINAL).await;
            return 0;
        }
        let Some(_tui_slot) = TuiSlot::take(&self.cx.client.tui_sessions) else {
            self.stderr(&format!(
                "at most {MAX_TUI_PER_CONNECTION} interactive screens per connection\n"
            ))
            .await;
            return 1;
        };
        let limits = self.cx.server.limits.clone();
        let console = self.cx.server.console.clone();
        let peer = self.cx.client.peer;
        let key = self
            .cx
            .client
            .identity
            .owner()
            .map(|o| o.as_str().to_owned());
        let cx = crate::tui::TuiContext {
            shares: self.cx.server.shares.clone(),
            owner: self.cx.client.identity.owner().cloned(),
            client: Some(peer),
            console: self.cx.server.console.clone(),
            allow_upload: Box::new(move || {
                let (limits, console, key) = (limits.clone(), console.clone(), key.clone());
                Box::pin(async move {
                    upload_gate(&console, &limits, peer, key.as_deref())
                        .await
                        .map_err(|e| e.to_string())
                })
            }),
            idle_timeout: self.cx.server.tui_idle_timeout,
            draft_budget: self.cx.server.tui_budget.clone(),
            theme: self.cx.server.theme,
            ssh: self.cx.server.door.ssh(),
            shutdown: self.cx.server.shutdown.clone(),
        };
        match crate::tui::run(&mut self.channel, self.terminal.clone(), cx).await {
            crate::tui::Ended::Left => 0,
            crate::tui::Ended::ShutDown => {
                self.stderr(&format!("{TUI_CUT}\n")).await;
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_holds_at_most_two_interactive_screens_and_gets_slots_back() {
        let count = std::sync::Arc::default();
        let first = TuiSlot::take(&count).unwrap();
        let second = TuiSlot::take(&count).unwrap();
        assert!(TuiSlot::take(&count).is_none());
        drop(first);
        let third = TuiSlot::take(&count);
        assert!(third.is_some());
        drop((second, third));
        assert_eq!(count.load(std::sync::atomic::Ordering::Acquire), 0);
    }
}
