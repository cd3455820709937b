//! One session channel, owned by one task from open to close.
//!
//! The task is the channel's only consumer (russh queues every event for it; an unread channel
//! stalls the connection), and it routes by what the client *requested*, never by guessing from
//! bytes: pty + shell → the interactive screen (for now: usage text), shell without a pty → a
//! piped upload, `exec` → [`Command`], subsystem `sftp` → [`super::sftp`]. Every path ends with
//! exit-status, EOF and close, in that order (OpenSSH's scp and sftp rely on it).
//!
//! Shutdown: once the server drains, a new request is refused with a reason (exit 1); work
//! already running carries on. If the grace runs out while an upload is *waiting for input*,
//! the upload is dropped whole there (temp blob removed, nothing published), the client reads
//! why on stderr and gets exit status 1. An upload already publishing is never cut half way.
//!
//! Output contract: the link alone on stdout, details on stderr, no escape sequences; with a pty
//! the client's terminal is raw, so line feeds are sent as CR LF.

use std::net::IpAddr;

use bytes::{Bytes, BytesMut};
use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use tracing::{debug, info, warn};

use super::Refusal;
use super::command::{Command, ScpOptions, UploadOptions};
use super::limits::Limits;
use super::output;
use super::scp::{self, ScpEvent, ScpParser};
use super::session::Identity;
use super::sftp::SftpSession;
use super::tally::SessionTally;
use crate::config::format_size;
use crate::crypto::{Kind, Password};
use crate::share::{
    Armed, Expected, ShareError, ShareName, Shares, Upload, UploadSpec, now_millis,
};
use crate::shutdown::Shutdown;

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

/// How long a client may leave our output unread before the channel gives up on it.
const OUTPUT_STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// A request that arrives while the server drains for shutdown.
const DRAINING: &str = "the server is shutting down: try again in a moment (nothing was stored)";
/// An upload still waiting for input when the shutdown grace ran out.
const CUT: &str = "the server shut down before the upload finished; nothing was stored";
/// A terminal session still open when the shutdown grace ran out.
const TUI_CUT: &str =
    "the server shut down and closed this session; a draft that was not armed was not stored";

/// Longest password line accepted by `--password-stdin`.
const MAX_PASSWORD_LINE: usize = 1024;

/// What a channel task knows about its connection.
#[derive(Clone)]
pub(crate) struct Context {
    pub shares: Shares,
    pub console: std::sync::Arc<crate::operator::Console>,
    pub sessions: SessionTally,
    pub limits: std::sync::Arc<Limits>,
    pub identity: Identity,
    pub peer: IpAddr,
    /// Colours and idle limit of the terminal UI.
    pub theme: &'static crate::theme::Theme,
    pub tui_idle_timeout: std::time::Duration,
    /// The client is banned or over its key's session cap: every request is answered with this
    /// and exit 1.
    pub refusal: Option<Refusal>,
    /// Interactive screens open on this connection; with the per-IP and per-key connection caps
    /// this bounds concurrent TUI sessions per address and per key.
    pub tui_sessions: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Draining refuses new requests; a cut ends uploads still waiting for input.
    pub shutdown: Shutdown,
}

impl Context {
    /// Checks the ban list (a ban placed mid-session applies to the next upload) and counts the
    /// upload against the rate limits.
    pub async fn allow_upload(&self) -> Result<(), Refusal> {
        upload_gate(
            &self.console,
            &self.limits,
            self.peer,
            self.identity.owner().map(|o| o.as_str()),
        )
        .await
    }

    pub fn spec(&self, kind: Kind, name: Option<ShareName>) -> UploadSpec {
        UploadSpec {
            kind,
            name,
            content_type: None,
            owner: self.identity.owner().cloned(),
            ttl: None,
            password: None,
            client: Some(self.peer),
        }
    }
}

/// Whether a client (key, address) may start an upload now.
pub(crate) async fn upload_gate(
    console: &crate::operator::Console,
    limits: &Limits,
    peer: IpAddr,
    key: Option<&str>,
) -> Result<(), Refusal> {
    match console.banned(key, peer).await {
        Ok(None) => {}
        Ok(Some(ban)) => return Err(Refusal::Banned(Box::new(ban))),
        Err(err) => {
            debug!(error = %err, "ban list unavailable; upload refused");
            return Err(Refusal::Unavailable);
        }
    }
    Ok(limits.upload(peer, key)?)
}

/// What the client sent next on the channel's input.
enum Input {
    Data(Bytes),
    Eof,
    /// The channel closed (or the connection dropped) before EOF.
    Gone,
    /// The shutdown grace ran out while waiting: stop, keep nothing, tell the client.
    Cut,
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
        while let Some(msg) = self.channel.wait().await {
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
                    let _counted = self.cx.sessions.enter("tui");
                    self.interactive().await
                }
                ChannelMsg::RequestShell { .. } => {
                    let _counted = self.cx.sessions.enter("pipe");
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
                        let _counted = self.cx.sessions.enter("sftp");
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
        match &self.cx.refusal {
            Some(refusal) => {
                self.stderr(&format!("{refusal}\n")).await;
                true
            }
            None => false,
        }
    }

    /// Shutdown has begun: new requests are turned away with a reason.
    async fn draining(&self) -> bool {
        if self.cx.shutdown.is_draining() {
            self.stderr(&format!("{DRAINING}\n")).await;
            return true;
        }
        false
    }

    /// pty + shell: the full-screen interface, or the usage text for a `dumb` terminal.
    async fn interactive(&mut self) -> u32 {
        if self.terminal.depth() == crate::tui::colors::Depth::Plain {
            self.stdout(output::USAGE_ON_TERMINAL).await;
            return 0;
        }
        let Some(_tui_slot) = TuiSlot::take(&self.cx.tui_sessions) else {
            self.stderr(&format!(
                "at most {MAX_TUI_PER_CONNECTION} interactive screens per connection\n"
            ))
            .await;
            return 1;
        };
        let limits = self.cx.limits.clone();
        let console = self.cx.console.clone();
        let peer = self.cx.peer;
        let key = self.cx.identity.owner().map(|o| o.as_str().to_owned());
        let cx = crate::tui::TuiContext {
            shares: self.cx.shares.clone(),
            owner: self.cx.identity.owner().cloned(),
            client: Some(peer),
            console: self.cx.console.clone(),
            allow_upload: Box::new(move || {
                let (limits, console, key) = (limits.clone(), console.clone(), key.clone());
                Box::pin(async move {
                    upload_gate(&console, &limits, peer, key.as_deref())
                        .await
                        .map_err(|e| e.to_string())
                })
            }),
            idle_timeout: self.cx.tui_idle_timeout,
            theme: self.cx.theme,
            shutdown: self.cx.shutdown.clone(),
        };
        match crate::tui::run(&mut self.channel, self.terminal.clone(), cx).await {
            crate::tui::Ended::Left => 0,
            crate::tui::Ended::ShutDown => {
                self.stderr(&format!("{TUI_CUT}\n")).await;
                1
            }
        }
    }

    async fn exec(&mut self, raw: &[u8]) -> u32 {
        let command = match Command::parse(raw) {
            Ok(command) => command,
            Err(err) => {
                self.stderr(&format!("{err}\n")).await;
                return 2;
            }
        };
        let kind = match &command {
            Command::Help | Command::List | Command::Revoke(_) => "command",
            Command::Admin(_) => "admin",
            Command::Upload(_) => "pipe",
            Command::ScpSink(_) => "scp",
        };
        let _counted = self.cx.sessions.enter(kind);
        match command {
            Command::Help => {
                self.stdout(output::HELP).await;
                0
            }
            Command::List => self.list().await,
            Command::Revoke(id) => self.revoke(&id).await,
            Command::Admin(words) => self.admin(&words).await,
            Command::Upload(options) => self.pipe(options).await,
            Command::ScpSink(options) => self.scp_sink(options).await,
        }
    }

    async fn admin(&mut self, words: &[String]) -> u32 {
        let key = self.cx.identity.owner().map(|o| o.as_str());
        if key.is_none_or(|k| !self.cx.console.is_operator(k)) {
            info!("admin command refused: not an operator");
        }
        let outcome = super::admin::run(&self.cx.console, key, words).await;
        if !outcome.stdout.is_empty() {
            self.stdout(&outcome.stdout).await;
        }
        if !outcome.stderr.is_empty() {
            self.stderr(&outcome.stderr).await;
        }
        outcome.code
    }

    async fn list(&mut self) -> u32 {
        let Some(owner) = self.cx.identity.owner() else {
            self.stderr("ls needs an SSH key: keyless sessions have no shares to list\n")
                .await;
            return 1;
        };
        match self.cx.shares.list(owner).await {
            Ok(shares) => {
                self.stdout(&output::share_table(&shares, now_millis()))
                    .await;
                0
            }
            Err(err) => {
                self.stderr(&format!("{}\n", err)).await;
                1
            }
        }
    }

    async fn revoke(&mut self, id: &str) -> u32 {
        let Some(owner) = self.cx.identity.owner() else {
            self.stderr("revoke needs an SSH key: keyless sessions own no shares\n")
                .await;
            return 1;
        };
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.stderr("revoke needs at least 4 characters of a share id (see `ls`)\n")
                .await;
            return 1;
        }
        match self.cx.shares.revoke(owner, &id.to_ascii_lowercase()).await {
            Ok(status) => {
                self.stdout(&format!("revoked {}\n", status.handle)).await;
                0
            }
            Err(ShareError::NotFound) => {
                self.stderr(&format!("you have no live share with id {id}\n"))
                    .await;
                1
            }
            Err(err) => {
                self.stderr(&format!("{}\n", err)).await;
                1
            }
        }
    }

    /// stdin → one share; the link alone on stdout.
    async fn pipe(&mut self, options: UploadOptions) -> u32 {
        if let Err(refusal) = self.cx.allow_upload().await {
            self.stderr(&format!("{refusal}\n")).await;
            return 1;
        }
        let mut pending = BytesMut::new();
        let password = if options.password_stdin {
            match self.read_password_line(&mut pending).await {
                Ok(password) => Some(password),
                Err(message) => {
                    self.stderr(&format!("{message}\n")).await;
                    return 1;
                }
            }
        } else {
            None
        };
        let kind = if options.name.is_some() {
            Kind::File
        } else {
            Kind::Text
        };
        let mut spec = self.cx.spec(kind, options.name.clone());
        spec.ttl = options.ttl;
        spec.password = password;
        let mut upload = match self.cx.shares.begin(spec).await {
            Ok(upload) => upload,
            Err(err) => return self.upload_failed(&err).await,
        };
        upload.expect(Expected {
            size: options.size,
            sha256: options.sha256,
        });
        if !pending.is_empty()
            && let Err(err) = upload.write(&pending).await
        {
            return self.upload_failed(&err).await;
        }
        loop {
            match self.next_input().await {
                Input::Data(data) => {
                    if let Err(err) = upload.write(&data).await {
                        return self.upload_failed(&err).await;
                    }
                }
                Input::Eof => break,
                Input::Gone => {
                    debug!("client left mid-upload; nothing stored");
                    return 1;
                }
                Input::Cut => {
                    drop(upload);
                    info!("upload cut by shutdown; nothing stored");
                    self.stderr(&format!("{CUT}\n")).await;
                    return 1;
                }
            }
        }
        match upload.finish().await {
            Ok(armed) => {
                let link = armed.link.expose();
                if options.json {
                    self.stdout(&output::armed_json(&armed, &link)).await;
                } else {
                    self.stdout(&format!("{}\n", link.as_str())).await;
                    let details = output::armed_details(&armed, now_millis());
                    self.stderr(&format!("{details}\n")).await;
                }
                0
            }
            Err(err) => self.upload_failed(&err).await,
        }
    }

    async fn upload_failed(&self, err: &ShareError) -> u32 {
        log_failure(err);
        self.stderr(&format!("{}\n", describe(err))).await;
        1
    }

    /// `--password-stdin`: the first line of input is the password; the rest is the payload.
    async fn read_password_line(&mut self, pending: &mut BytesMut) -> Result<Password, String> {
        loop {
            if let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line = pending.split_to(end + 1);
                let mut line = &line[..end];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                let text = std::str::from_utf8(line)
                    .map_err(|_| "--password-stdin: the password is not valid UTF-8".to_owned())?;
                if text.is_empty() {
                    return Err("--password-stdin: the first line (the password) is empty".into());
                }
                return Ok(Password::new(text));
            }
            if pending.len() > MAX_PASSWORD_LINE {
                return Err(format!(
                    "--password-stdin: no line break in the first {MAX_PASSWORD_LINE} bytes; \
                     the first line must be the password"
                ));
            }
            match self.next_input().await {
                Input::Data(data) => pending.extend_from_slice(&data),
                Input::Eof | Input::Gone => {
                    return Err(
                        "--password-stdin: expected a password line, then the secret".into(),
                    );
                }
                Input::Cut => return Err(CUT.into()),
            }
        }
    }

    /// `scp -t`: the legacy protocol, one share per file, each link on stderr.
    async fn scp_sink(&mut self, options: ScpOptions) -> u32 {
        let mut parser = ScpParser::new();
        let mut buf = BytesMut::new();
        let mut current: Option<(Upload, String)> = None;
        let mut code = 0;
        self.stdout_bytes(Bytes::from_static(b"\0")).await;
        loop {
            let event = match parser.next(&mut buf) {
                Ok(Some(event)) => event,
                Ok(None) => match self.next_input().await {
                    Input::Data(data) => {
                        buf.extend_from_slice(&data);
                        continue;
                    }
                    Input::Eof => {
                        if current.is_some() {
                            self.stderr(
                                "the transfer ended in the middle of a file; nothing stored\n",
                            )
                            .await;
                            return 1;
                        }
                        return code;
                    }
                    Input::Gone => return 1,
                    Input::Cut => {
                        drop(current.take());
                        info!("scp upload cut by shutdown; nothing stored");
                        // stderr, not a `\x02` reply: mid-file, scp is sending and reads no
                        // reply until the file ends; ssh shows stderr at once.
                        self.stderr(&format!("{CUT}\n")).await;
                        return 1;
                    }
                },
                Err(err) => {
                    self.stdout_bytes(scp::fatal(&err.to_string())).await;
                    return 1;
                }
            };
            match event {
                ScpEvent::Times | ScpEvent::EndDir => {
                    self.stdout_bytes(Bytes::from_static(b"\0")).await;
                }
                ScpEvent::Dir { .. } => {
                    let why = if options.recursive {
                        "directories cannot be shared: send the files one by one (or a tar archive)"
                    } else {
                        "directories cannot be shared"
                    };
                    self.stdout_bytes(scp::fatal(why)).await;
                    return 1;
                }
                ScpEvent::SourceError { fatal, .. } => {
                    // scp already printed its own message on the client side.
                    code = 1;
                    if fatal {
                        return 1;
                    }
                }
                ScpEvent::File { size, name, .. } => {
                    let limit = self.cx.shares.policy().max_size;
                    let shown = display_name(&name);
                    if size > limit {
                        self.stdout_bytes(scp::fatal(&format!(
                            "{shown}: too large ({}); the limit is {}, nothing was stored",
                            format_size(size),
                            format_size(limit)
                        )))
                        .await;
                        return 1;
                    }
                    if size == 0 {
                        self.stdout_bytes(scp::fatal(&format!(
                            "{shown}: is empty; there is nothing to share"
                        )))
                        .await;
                        return 1;
                    }
                    let name = match ShareName::sanitize(&name) {
                        Ok(name) => name,
                        Err(err) => {
                            self.stdout_bytes(scp::fatal(&err.to_string())).await;
                            return 1;
                        }
                    };
                    if let Err(refusal) = self.cx.allow_upload().await {
                        self.stdout_bytes(scp::fatal(&refusal.to_string())).await;
                        return 1;
                    }
                    let shown = name.as_str().to_owned();
                    match self
                        .cx
                        .shares
                        .begin(self.cx.spec(Kind::File, Some(name)))
                        .await
                    {
                        Ok(upload) => current = Some((upload, shown)),
                        Err(err) => {
                            log_failure(&err);
                            self.stdout_bytes(scp::fatal(&describe(&err))).await;
                            return 1;
                        }
                    }
                    self.stdout_bytes(Bytes::from_static(b"\0")).await;
                }
                ScpEvent::Data(data) => {
                    let Some((upload, shown)) = current.as_mut() else {
                        return 1;
                    };
                    if let Err(err) = upload.write(&data).await {
                        log_failure(&err);
                        let message = format!("{shown}: {}", describe(&err));
                        self.stdout_bytes(scp::fatal(&message)).await;
                        return 1;
                    }
                }
                ScpEvent::FileEnd => {
                    let Some((upload, shown)) = current.take() else {
                        return 1;
                    };
                    match upload.finish().await {
                        Ok(armed) => {
                            self.report_file(&armed).await;
                            self.stdout_bytes(Bytes::from_static(b"\0")).await;
                        }
                        Err(err) => {
                            log_failure(&err);
                            let message = format!("{shown}: {}", describe(&err));
                            self.stdout_bytes(scp::fatal(&message)).await;
                            return 1;
                        }
                    }
                }
            }
        }
    }

    /// Subsystem `sftp`: frames SFTP packets from the channel and answers them in order.
    async fn sftp(&mut self) -> u32 {
        let mut session = SftpSession::new(self.cx.clone());
        let mut buf = BytesMut::new();
        loop {
            match self.next_input().await {
                Input::Data(data) => buf.extend_from_slice(&data),
                Input::Eof => return session.end(),
                Input::Gone => {
                    session.end();
                    return 1;
                }
                Input::Cut => {
                    session.end();
                    info!("sftp session cut by shutdown; unfinished files not stored");
                    self.stderr(&format!("{CUT}\n")).await;
                    return 1;
                }
            }
            let step = session.feed(&mut buf).await;
            if !step.stderr.is_empty() {
                self.stderr(&step.stderr).await;
            }
            if !step.replies.is_empty() {
                self.stdout_bytes(step.replies.freeze()).await;
            }
            if let Some(fatal) = step.fatal {
                self.stderr(&format!("{fatal}\n")).await;
                session.end();
                return 1;
            }
        }
    }

    async fn report_file(&self, armed: &Armed) {
        let link = armed.link.expose();
        self.stderr(&output::armed_file(armed, &link, now_millis()))
            .await;
    }

    async fn next_input(&mut self) -> Input {
        let cutting = self.cx.shutdown.cutting();
        tokio::pin!(cutting);
        loop {
            let msg = tokio::select! {
                msg = self.channel.wait() => msg,
                () = &mut cutting => return Input::Cut,
            };
            match msg {
                Some(ChannelMsg::Data { data }) => return Input::Data(data),
                Some(ChannelMsg::Eof) => return Input::Eof,
                Some(ChannelMsg::Close) | None => return Input::Gone,
                Some(_) => continue,
            }
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
    async fn send_output(&self, stream: Option<u32>, bytes: Bytes) {
        if self
            .output_stalled
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let send = async {
            match stream {
                None => self.channel.data_bytes(bytes).await,
                Some(ext) => self.channel.extended_data_bytes(ext, bytes).await,
            }
        };
        match tokio::time::timeout(OUTPUT_STALL, send).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => debug!(error = %err, "client stopped reading its output"),
            Err(_) => {
                debug!("client read no output for {OUTPUT_STALL:?}; giving up on this channel");
                self.output_stalled
                    .store(true, std::sync::atomic::Ordering::Relaxed);
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

/// A client-influenced name made safe for a message (not for storage).
fn display_name(raw: &[u8]) -> String {
    ShareName::sanitize(raw)
        .map(ShareName::into_string)
        .unwrap_or_else(|_| "file".into())
}

/// What the client is told about a failed share operation.
pub(crate) fn describe(err: &ShareError) -> String {
    match err {
        ShareError::TooLarge { limit } => format!(
            "too large: the limit is {}; nothing was stored",
            format_size(*limit)
        ),
        ShareError::Empty => "nothing to share: the input was empty; nothing was stored".into(),
        ShareError::Storage(_) | ShareError::Crypto(_) | ShareError::Corrupt(_) => {
            "the server could not store the share; nothing was stored".into()
        }
        other => format!("{other}; nothing was stored"),
    }
}

/// Internal failures are logged once here (with no names, links or content).
pub(crate) fn log_failure(err: &ShareError) {
    match err {
        ShareError::Storage(_)
        | ShareError::Crypto(_)
        | ShareError::Corrupt(_)
        | ShareError::StoreUnavailable
        | ShareError::StorageFull => warn!(error = %err, "upload failed"),
        other => info!(reason = %other, "upload refused"),
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
