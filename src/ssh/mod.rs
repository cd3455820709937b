//! The SSH ingress: uploads by pipe, `scp` (both protocols) and `sftp`; `ls` and `revoke` by key.
//!
//! [`SshServer::bind`] loads the host key and binds the listener (so a bad address fails
//! start-up); [`SshServer::serve`] accepts connections under the connection caps. Each
//! connection gets a [`session::Connection`] — a thin russh handler that authenticates and binds
//! the identity, and only after the signature was verified (`auth_publickey`, never
//! `auth_publickey_offered`). Each session channel gets ONE task ([`channel::ChannelTask`]) that
//! is its only consumer: an unread russh channel stalls the whole connection once its queue
//! fills. Handler callbacks never await channel output (that deadlocks the session loop); they
//! only acknowledge requests, and the channel task does the work.
//!
//! Shutdown ([`crate::shutdown`]): the listener closes when draining starts; channel tasks are
//! tracked work the process waits for; at the end, a connection whose client does not hang up
//! by itself gets a disconnect ("server shutting down").

mod admin;
mod allow_list;
mod channel;
pub mod command;
mod context;
mod host_key;
mod limits;
pub mod output;
mod receipt;
mod recipient_keys;
mod refusal;
pub mod scp;
mod session;
mod sftp;
mod tally;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::PrivateKey;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tracing::{debug, info};

pub use allow_list::AllowList;
pub use limits::{LimitConfig, LimitError, Limits};
pub use refusal::Refusal;
pub(crate) use session::MAX_CHANNELS_PER_CONNECTION;
pub use sftp::{Frame as SftpFrame, Framer as SftpFramer};
pub use tally::{SessionGuard, SessionTally};

use crate::config::SshSettings;
use crate::operator::Console;
use crate::share::Shares;
use crate::shutdown::Shutdown;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("SSH host key {path}: {message}")]
    HostKey { path: PathBuf, message: String },
    #[error("SSH authorized keys file {path}: {message}")]
    AllowList { path: PathBuf, message: String },
    #[error("cannot listen for SSH on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub shares: Shares,
    pub console: Arc<Console>,
    pub sessions: SessionTally,
    pub limits: Arc<Limits>,
    pub allow_list: Option<AllowList>,
    pub allow_keyless: bool,
    pub theme: &'static crate::theme::Theme,
    pub tui_idle_timeout: Duration,
    /// Memory all TUI drafts together may hold.
    pub tui_budget: Arc<crate::tui::budget::DraftBudget>,
    /// Uploads without progress and connections without a session end after this.
    pub idle_timeout: Duration,
    pub shutdown: Shutdown,
    /// The public host and port clients type (`help` shows it).
    pub door: output::Door,
    /// `--to github:USER` fetches `<this>/USER.keys`.
    pub recipient_keys_url: String,
}

/// A bound SSH listener with its configuration, ready to serve.
pub struct SshServer {
    listener: TcpListener,
    config: Arc<russh::server::Config>,
    shared: Arc<Shared>,
    fingerprint: String,
}

/// A client that has not finished the handshake and authentication by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

impl SshServer {
    pub async fn bind(
        addr: SocketAddr,
        settings: &SshSettings,
        theme: &'static crate::theme::Theme,
        shares: Shares,
        console: Arc<Console>,
        sessions: SessionTally,
        shutdown: Shutdown,
    ) -> Result<SshServer, SshError> {
        let key = match &settings.host_key_data {
            Some(text) => host_key::from_text(text.expose())?,
            None => host_key::load_or_create(&settings.host_key)?,
        };
        let fingerprint = host_key::fingerprint(&key);
        let allow_list = settings
            .authorized_keys
            .as_deref()
            .map(AllowList::load)
            .transpose()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SshError::Bind { addr, source })?;
        // Port 0 asks the kernel for one: the bound port is the one clients must type.
        let port = match addr.port() {
            0 => listener.local_addr().map_or(0, |a| a.port()),
            port => port,
        };
        let door = output::Door {
            host: settings.public_host.clone(),
            port,
        };
        let limits = Limits::shared(LimitConfig::from(settings), console.shared_rates());
        Ok(SshServer {
            listener,
            config: Arc::new(russh_config(key)),
            shared: Arc::new(Shared {
                shares,
                console,
                sessions,
                limits,
                allow_list,
                allow_keyless: settings.allow_keyless,
                theme,
                tui_idle_timeout: settings.tui_idle_timeout,
                tui_budget: crate::tui::budget::DraftBudget::new(
                    usize::try_from(settings.tui_draft_budget).unwrap_or(usize::MAX),
                ),
                idle_timeout: settings.idle_timeout,
                shutdown,
                door,
                recipient_keys_url: settings.recipient_keys_url.clone(),
            }),
            fingerprint,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// `SHA256:…` of the host key, for operators to publish.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// What this server refused, by reason (connection caps, upload rate, bans).
    pub fn refusals(&self) -> crate::refusals::Refusals {
        self.shared.limits.refusals().clone()
    }

    /// Accepts connections until shutdown starts draining; then stops listening, and once
    /// shutdown closes, disconnects the connections still open and waits for them to end.
    pub async fn serve(self, shutdown: Shutdown) {
        let draining = shutdown.draining();
        tokio::pin!(draining);
        let connections = tokio_util::task::TaskTracker::new();
        let mut accept_errors =
            crate::accept_errors::AcceptErrors::new("ssh", Duration::from_millis(100));
        loop {
            let (socket, peer) = tokio::select! {
                () = &mut draining => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        accept_errors.failed(&err).await;
                        continue;
                    }
                },
            };
            let slot = match self.shared.limits.connect(peer.ip()) {
                Ok(slot) => slot,
                Err(refusal) => {
                    info!(peer = %peer.ip(), reason = %refusal, "ssh connection refused");
                    tokio::spawn(refuse(socket, refusal));
                    continue;
                }
            };
            let config = self.config.clone();
            let (authenticated, auth_done) = tokio::sync::oneshot::channel();
            let handler = session::Connection::new(self.shared.clone(), peer, slot, authenticated);
            let occupancy = handler.occupancy();
            let idle_timeout = self.shared.idle_timeout;
            let (closing, closing_early) = (shutdown.closing(), shutdown.closing());
            connections.spawn(async move {
                let _ = socket.set_nodelay(true);
                // A duplicate of the socket lets us end the connection ourselves: russh cannot
                // send a disconnect before key exchange completes, and dropping its session
                // handle only detaches the task.
                let (socket, killer) = match socket
                    .into_std()
                    .and_then(|s| Ok((s.try_clone()?, s)))
                    .and_then(|(dup, s)| Ok((tokio::net::TcpStream::from_std(s)?, dup)))
                {
                    Ok(pair) => pair,
                    Err(err) => {
                        debug!(peer = %peer.ip(), error = %err, "cannot set up the connection");
                        return;
                    }
                };
                let running = tokio::select! {
                    running = tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        russh::server::run_stream(config, socket, handler),
                    ) => running,
                    () = closing_early => return,
                };
                let session = match running {
                    Ok(Ok(session)) => session,
                    Ok(Err(err)) => {
                        debug!(peer = %peer.ip(), error = %err, "ssh handshake failed");
                        return;
                    }
                    Err(_) => {
                        debug!(peer = %peer.ip(), "ssh handshake timed out");
                        return;
                    }
                };
                // run_stream returns once versions are exchanged: key exchange and
                // authentication run inside `session`, and must also finish in time, or an
                // unauthenticated client could hold a connection slot for as long as it likes.
                tokio::pin!(session);
                // Then a connection that authenticated but holds no session (opened none, or
                // its last one ended) for the idle timeout is closed: each costs a slot and
                // two descriptors, and keepalives alone are no reason to keep it.
                let deadline = async {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, auth_done).await {
                        Ok(Ok(())) => {
                            occupancy.idle_for(idle_timeout).await;
                            Deadline::Idle
                        }
                        _ => Deadline::Auth,
                    }
                };
                tokio::select! {
                    ended = &mut session => {
                        if let Err(err) = ended {
                            debug!(peer = %peer.ip(), error = %err, "ssh connection ended with an error");
                        }
                    }
                    ended = deadline => match ended {
                        Deadline::Auth => {
                            debug!(peer = %peer.ip(), "ssh authentication not completed in time; disconnecting");
                            let _ = killer.shutdown(std::net::Shutdown::Both);
                            let _ = session.await;
                        }
                        Deadline::Idle => {
                            debug!(peer = %peer.ip(), "ssh connection idle with no session; disconnecting");
                            let why = format!(
                                "no session open for {}; closing the connection",
                                crate::config::format_duration(idle_timeout)
                            );
                            let _ = session
                                .handle()
                                .disconnect(russh::Disconnect::ByApplication, why, String::new())
                                .await;
                            if tokio::time::timeout(HANG_UP_WAIT, &mut session).await.is_err() {
                                let _ = killer.shutdown(std::net::Shutdown::Both);
                                let _ = session.await;
                            }
                        }
                    },
                    () = closing => {
                        // Every channel has ended (or was cut) and said why. A client whose
                        // last channel just closed hangs up by itself (a disconnect now would
                        // race its exit status); one that stays (a multiplexing master) is
                        // told, then the socket closes.
                        if tokio::time::timeout(HANG_UP_WAIT, &mut session).await.is_err() {
                            let _ = session
                                .handle()
                                .disconnect(
                                    russh::Disconnect::ByApplication,
                                    "server shutting down".into(),
                                    String::new(),
                                )
                                .await;
                            if tokio::time::timeout(HANG_UP_WAIT, &mut session).await.is_err() {
                                let _ = killer.shutdown(std::net::Shutdown::Both);
                            }
                        }
                    }
                }
            });
        }
        drop(self.listener);
        shutdown.closing().await;
        connections.close();
        connections.wait().await;
    }
}

/// Why a connection's own deadline ended it.
enum Deadline {
    /// Key exchange and authentication did not finish in time.
    Auth,
    /// Authenticated, but no session open for the idle timeout.
    Idle,
}

/// At shutdown, how long a client may take to hang up by itself, and then after a disconnect.
const HANG_UP_WAIT: Duration = Duration::from_secs(1);

/// RFC 4253 §4.2 lets a server send text lines before its version line; OpenSSH shows them
/// with `-v`, and anything reading the socket sees why it was closed.
async fn refuse(mut socket: tokio::net::TcpStream, refusal: LimitError) {
    let line = format!("onetimeshare: {refusal}\r\n");
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.write_all(line.as_bytes())).await;
}

fn russh_config(key: PrivateKey) -> russh::server::Config {
    use russh::MethodKind;
    // Keyboard-interactive is always offered: with keyless access it lets such clients in;
    // without, it is how a client with no accepted key is told how to make one.
    let methods: &[MethodKind] = &[MethodKind::PublicKey, MethodKind::KeyboardInteractive];
    russh::server::Config {
        server_id: russh::SshId::Standard(
            concat!("SSH-2.0-onetimeshare_", env!("CARGO_PKG_VERSION")).into(),
        ),
        methods: methods.into(),
        auth_rejection_time: Duration::from_millis(300),
        // OpenSSH probes with "none" first; refusing that probe need not be slow.
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 6,
        inactivity_timeout: Some(Duration::from_secs(300)),
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        keys: vec![key],
        // Large windows let a fast client keep the pipe full; memory stays bounded because the
        // channel task applies backpressure through russh's per-channel queue.
        window_size: 8 * 1024 * 1024,
        maximum_packet_size: 65_535,
        channel_buffer_size: 64,
        nodelay: true,
        preferred: russh::Preferred {
            cipher: std::borrow::Cow::Borrowed(&[
                russh::cipher::CHACHA20_POLY1305,
                russh::cipher::AES_256_GCM,
                russh::cipher::AES_128_GCM,
                russh::cipher::AES_256_CTR,
                russh::cipher::AES_128_CTR,
            ]),
            ..russh::Preferred::DEFAULT
        },
        ..Default::default()
    }
}
