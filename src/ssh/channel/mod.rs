//! One session channel, owned by one task from open to close.
//!
//! The task is the channel's only consumer (russh queues every event for it; an unread channel
//! stalls the connection), and it routes by what the client *requested*, never by guessing from
//! bytes: pty + shell → the interactive screen ([`interactive`]), shell without a pty → a
//! piped upload ([`pipe`]), `exec` → a [`Command`](crate::ssh::command::Command) ([`commands`], or [`scp_sink`] for `scp -t`),
//! subsystem `sftp` → [`sftp_subsystem`]. This file holds what every path shares: the routing,
//! the input (with the idle and shutdown stops) and the output (with the stall guard). Every path
//! ends with exit-status, EOF and close, in that order (OpenSSH's scp and sftp rely on it).
//!
//! Shutdown: once the server drains, a new request is refused with a reason (exit 1); work
//! already running carries on. If the grace runs out while an upload is *waiting for input*,
//! the upload is dropped whole there (temp blob removed, nothing published), the client reads
//! why on stderr and gets exit status 1. An upload already publishing is never cut half way.
//!
//! Output contract: the link alone on stdout, details on stderr, no escape sequences; with a pty
//! the client's terminal is raw, so line feeds are sent as CR LF.

mod commands;
mod get;
mod inbox;
mod interactive;
mod pipe;
mod scp_sink;
mod sftp_subsystem;
mod wait;
mod watch;

use bytes::Bytes;
use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use tracing::{debug, info};

use super::command::UploadOptions;
use super::context::Context;

/// How long a client may leave our output unread before the channel gives up on it.
const OUTPUT_STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// A request that arrives while the server drains for shutdown.
const DRAINING: &str = "the server is shutting down: try again in a moment (nothing was stored)";
/// An upload still waiting for input when the shutdown grace ran out.
const CUT: &str = "the server shut down before the upload finished; nothing was stored";

/// What the client sent next on the channel's input.
enum Input {
    Data(Bytes),
    Eof,
    /// The channel closed (or the connection dropped) before EOF.
    Gone,
    /// Stop waiting, keep nothing, tell the client why.
    Stop(Stopped),
}

/// Why a channel stopped waiting for input.
#[derive(Clone, Copy, Debug)]
enum Stopped {
    /// The shutdown grace ran out.
    Shutdown,
    /// No data arrived for this long.
    Idle(std::time::Duration),
}

impl Stopped {
    /// The log line: `what` (an upload, an sftp session) stopped, and `kept` (what became of it).
    fn log(self, what: &str, kept: &str) {
        match self {
            Stopped::Shutdown => info!("{what} cut by shutdown; {kept}"),
            Stopped::Idle(after) => info!(
                "{what} dropped after {} without data; {kept}",
                crate::config::format_duration(after)
            ),
        }
    }
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Shutdown => f.write_str(CUT),
            Stopped::Idle(after) => write!(
                f,
                "no data for {}: the upload was dropped; nothing was stored",
                crate::config::format_duration(*after)
            ),
        }
    }
}

pub(crate) struct ChannelTask {
    channel: Channel<Msg>,
    cx: Context,
    pty: bool,
    /// TERM and size from pty-req, COLORTERM if the client forwarded it: the TUI's terminal.
    terminal: crate::tui::TerminalRequest,
    /// Set once the client left our output unread for [`OUTPUT_STALL`].
    output_stalled: std::sync::atomic::AtomicBool,
}

impl ChannelTask {
    pub fn new(channel: Channel<Msg>, cx: Context) -> Self {
        Self {
            channel,
            cx,
            pty: false,
            terminal: crate::tui::TerminalRequest {
                term: String::new(),
                colorterm: None,
                cols: 80,
                rows: 24,
            },
            output_stalled: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub async fn run(mut self) {
        loop {
            // A channel that never says what it is for would hold its slot for ever.
            let Ok(Some(msg)) =
                tokio::time::timeout(self.cx.server.idle_timeout, self.channel.wait()).await
            else {
                debug!("channel closed: no request, or none in time");
                let _ = self.channel.close().await;
                return;
            };
            let code = match msg {
                ChannelMsg::RequestPty {
                    term,
                    col_width,
                    row_height,
                    ..
                } => {
                    self.pty = true;
                    // Client-chosen text that reaches a log line: no control characters, bounded.
                    self.terminal.term = term
                        .chars()
                        .filter(|c| c.is_ascii_graphic())
                        .take(64)
                        .collect();
                    self.terminal.cols = col_width;
                    self.terminal.rows = row_height;
                    continue;
                }
                ChannelMsg::SetEnv {
                    variable_name,
                    variable_value,
                    ..
                } if variable_name == "COLORTERM" => {
                    self.terminal.colorterm = Some(
                        variable_value
                            .chars()
                            .filter(|c| c.is_ascii_graphic())
                            .take(32)
                            .collect(),
                    );
                    continue;
                }
                ChannelMsg::RequestShell { .. }
                | ChannelMsg::Exec { .. }
                | ChannelMsg::RequestSubsystem { .. }
                    if self.draining().await =>
                {
                    1
                }
                ChannelMsg::RequestShell { .. } if self.refused().await => 1,
                ChannelMsg::RequestShell { .. } if self.pty => {
                    let _counted = self.cx.server.sessions.enter("tui");
                    self.interactive().await
                }
                ChannelMsg::RequestShell { .. } => {
                    let _counted = self.cx.server.sessions.enter("pipe");
                    self.pipe(UploadOptions::default()).await
                }
                ChannelMsg::Exec { command, .. } if self.refused().await => {
                    drop(command);
                    1
                }
                ChannelMsg::Exec { command, .. } => self.exec(&command).await,
                ChannelMsg::RequestSubsystem { name, .. } if name == "sftp" => {
                    if self.refused().await {
                        1
                    } else {
                        let _counted = self.cx.server.sessions.enter("sftp");
                        self.sftp().await
                    }
                }
                ChannelMsg::RequestSubsystem { .. } => {
                    self.stderr("only the sftp subsystem is available\n").await;
                    1
                }
                ChannelMsg::Eof | ChannelMsg::Close => return,
                _ => continue,
            };
            self.exit(code).await;
            return;
        }
    }

    async fn refused(&self) -> bool {
        match &self.cx.client.refusal {
            Some(refusal) => {
                self.stderr(&format!("{refusal}\n")).await;
                true
            }
            None => false,
        }
    }

    /// Shutdown has begun: new requests are turned away with a reason.
    async fn draining(&self) -> bool {
        if self.cx.server.shutdown.is_draining() {
            self.stderr(&format!("{DRAINING}\n")).await;
            return true;
        }
        false
    }

    /// The next input, or why to stop waiting for it: the shutdown cut, or no data for the idle
    /// timeout (window adjustments and keepalives are not progress).
    async fn next_input(&mut self) -> Input {
        let cutting = self.cx.server.shutdown.cutting();
        tokio::pin!(cutting);
        let idle = tokio::time::sleep(self.cx.server.idle_timeout);
        tokio::pin!(idle);
        loop {
            let msg = tokio::select! {
                msg = self.channel.wait() => msg,
                () = &mut cutting => return Input::Stop(Stopped::Shutdown),
                () = &mut idle => return Input::Stop(Stopped::Idle(self.cx.server.idle_timeout)),
            };
            match msg {
                Some(ChannelMsg::Data { data }) => return Input::Data(data),
                Some(ChannelMsg::Eof) => return Input::Eof,
                Some(ChannelMsg::Close) | None => return Input::Gone,
                Some(_) => continue,
            }
        }
    }

    /// Input that has already arrived, without waiting: `None` if there is none right now.
    fn input_ready(&mut self) -> Option<Input> {
        use futures_util::FutureExt as _;
        loop {
            return match self.channel.wait().now_or_never()? {
                Some(ChannelMsg::Data { data }) => Some(Input::Data(data)),
                Some(ChannelMsg::Eof) => Some(Input::Eof),
                Some(ChannelMsg::Close) | None => Some(Input::Gone),
                Some(_) => continue,
            };
        }
    }

    async fn stdout(&self, text: &str) {
        self.stdout_bytes(self.terminal_text(text)).await;
    }

    async fn stdout_bytes(&self, bytes: Bytes) {
        self.send_output(None, bytes).await;
    }

    async fn stderr(&self, text: &str) {
        self.send_output(Some(1), self.terminal_text(text)).await;
    }

    /// Sends to stdout (`None`) or an extended stream. A client that never opens its window
    /// would park this task for ever, holding its queued input: after [`OUTPUT_STALL`] the
    /// output is given up, and so is every later write on this channel.
    /// True when the bytes were handed to the channel.
    async fn send_output(&self, stream: Option<u32>, bytes: Bytes) -> bool {
        if self
            .output_stalled
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return false;
        }
        let send = async {
            match stream {
                None => self.channel.data_bytes(bytes).await,
                Some(ext) => self.channel.extended_data_bytes(ext, bytes).await,
            }
        };
        match tokio::time::timeout(OUTPUT_STALL, send).await {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                debug!(error = %err, "client stopped reading its output");
                false
            }
            Err(_) => {
                debug!("client read no output for {OUTPUT_STALL:?}; giving up on this channel");
                self.output_stalled
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                false
            }
        }
    }

    fn terminal_text(&self, text: &str) -> Bytes {
        if self.pty {
            Bytes::from(text.replace('\n', "\r\n"))
        } else {
            Bytes::copy_from_slice(text.as_bytes())
        }
    }

    /// exit-status, EOF, close: in that order, or OpenSSH's scp reports failure.
    async fn exit(&self, code: u32) {
        let _ = self.channel.exit_status(code).await;
        let _ = self.channel.eof().await;
        let _ = self.channel.close().await;
    }
}
