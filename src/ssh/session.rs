//! One SSH connection: authentication, identity, and handing each session channel to its own
//! task. Deliberately thin — it decides *who* the client is and acknowledges requests; the
//! channel task decides what happens.
//!
//! Identity is the SHA256 fingerprint of the key whose signature russh verified, bound in
//! `auth_publickey` only. `auth_publickey_offered` may say "no" early (allow-list) but never
//! records anything: a client can offer any public key it has seen (soft-serve
//! GHSA-pchf-49fh-w34r was exactly that bug).

use std::net::SocketAddr;
use std::sync::Arc;

use russh::keys::HashAlg;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tracing::{Instrument as _, debug, info, info_span};

use super::Refusal;
use super::Shared;
use super::channel::ChannelTask;
use super::context::{Client, Context, Identity};
use super::limits::{ConnectionSlot, KeySlot};
use crate::share::Owner;

pub struct Connection {
    shared: Arc<Shared>,
    peer: SocketAddr,
    identity: Option<Identity>,
    /// Set when the client authenticated but may not do anything (banned, over its session
    /// cap): every channel explains and exits 1.
    refusal: Option<Refusal>,
    _key_slot: Option<KeySlot>,
    _slot: ConnectionSlot,
    /// Session channels open at once on this connection (each task holds a permit), and how
    /// many were ever opened: what the accept loop watches to close a connection left idle.
    occupancy: Occupancy,
    /// Fired once authentication succeeds, so the accept loop can stop its auth deadline.
    authenticated: Option<tokio::sync::oneshot::Sender<()>>,
    /// Interactive screens open on this connection (channels can be multiplexed).
    tui_sessions: Arc<std::sync::atomic::AtomicUsize>,
    /// The "how to make a key" note was shown (once per connection).
    key_hint_shown: bool,
}

/// What a client whose keys were all refused (or who has none) reads before "Permission
/// denied": OpenSSH prints a keyboard-interactive instruction, never a bare auth failure's text.
const NO_KEY_HINT: &str = "\
onetimeshare knows senders by their SSH key, and none was accepted from you.
No key yet? Make one, then connect again (ssh finds it by itself):
    ssh-keygen -t ed25519
";

/// The same, when only listed keys are let in.
const NOT_LISTED_HINT: &str = "\
onetimeshare knows senders by their SSH key, and this server lets in only the keys its
operator listed: none of yours is. Send your public key (~/.ssh/id_ed25519.pub) to the operator.
";

/// Session channels one connection may have open at once (OpenSSH multiplexing uses a few).
pub(crate) const MAX_CHANNELS_PER_CONNECTION: usize = 4;

/// How busy a connection is: its open session channels and a count of every channel opened.
#[derive(Clone)]
pub(crate) struct Occupancy {
    channels: Arc<tokio::sync::Semaphore>,
    opened: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for Occupancy {
    fn default() -> Self {
        Self {
            channels: Arc::new(tokio::sync::Semaphore::new(MAX_CHANNELS_PER_CONNECTION)),
            opened: Arc::default(),
        }
    }
}

impl Occupancy {
    /// Resolves once the connection has had no channel open, and opened none, for `limit`
    /// (checked a few times per `limit`, so it resolves within a quarter more than that).
    pub(crate) async fn idle_for(&self, limit: std::time::Duration) {
        use std::sync::atomic::Ordering;
        let tick = (limit / 4).max(std::time::Duration::from_millis(50));
        let mut quiet = std::time::Duration::ZERO;
        let mut seen = self.opened.load(Ordering::Acquire);
        loop {
            tokio::time::sleep(tick).await;
            let opened = self.opened.load(Ordering::Acquire);
            let open_now = self.channels.available_permits() < MAX_CHANNELS_PER_CONNECTION;
            if opened != seen || open_now {
                seen = opened;
                quiet = std::time::Duration::ZERO;
                continue;
            }
            quiet += tick;
            if quiet >= limit {
                return;
            }
        }
    }
}

impl Connection {
    /// What the accept loop watches to close this connection when it holds no session.
    pub(crate) fn occupancy(&self) -> Occupancy {
        self.occupancy.clone()
    }

    pub(crate) fn new(
        shared: Arc<Shared>,
        peer: SocketAddr,
        slot: ConnectionSlot,
        authenticated: tokio::sync::oneshot::Sender<()>,
    ) -> Self {
        Self {
            shared,
            peer,
            identity: None,
            refusal: None,
            _key_slot: None,
            _slot: slot,
            occupancy: Occupancy::default(),
            authenticated: Some(authenticated),
            tui_sessions: Arc::default(),
            key_hint_shown: false,
        }
    }

    /// A banned client still completes authentication, so that every request it makes can say
    /// why it is refused (an SSH auth failure cannot carry a message OpenSSH shows).
    async fn check_ban(&mut self, key: Option<&str>) {
        match self.shared.console.banned(key, self.peer.ip()).await {
            Ok(None) => {}
            Ok(Some(ban)) => {
                info!(peer = %self.peer.ip(), ban = %ban.target, "banned client refused");
                self.shared
                    .limits
                    .refusals()
                    .count(crate::refusals::Reason::Banned);
                self.refusal = Some(Refusal::Banned(Box::new(ban)));
            }
            Err(err) => {
                debug!(error = %err, "ban list unavailable; refusing the client");
                self.refusal = Some(Refusal::Unavailable);
            }
        }
    }

    fn reject_to_methods(&self) -> Auth {
        // Keyboard-interactive stays on offer until the key hint was shown (see
        // `auth_keyboard_interactive`); without keyless access it never lets anyone in.
        let methods: &[MethodKind] = if self.shared.allow_keyless || !self.key_hint_shown {
            &[MethodKind::PublicKey, MethodKind::KeyboardInteractive]
        } else {
            &[MethodKind::PublicKey]
        };
        Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(methods)),
            partial_success: false,
        }
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(self.reject_to_methods())
    }

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // No state changes here: ownership of this key is not proven yet.
        match &self.shared.allow_list {
            Some(list) if !list.allows(offer.public_key) => Ok(self.reject_to_methods()),
            _ => Ok(Auth::Accept),
        }
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if let Some(list) = &self.shared.allow_list
            && !list.allows(key.public_key)
        {
            return Ok(self.reject_to_methods());
        }
        let fingerprint = key.public_key.fingerprint(HashAlg::Sha256).to_string();
        match self.shared.limits.key_session(&fingerprint) {
            Ok(slot) => self._key_slot = Some(slot),
            Err(refusal) => self.refusal = Some(refusal.into()),
        }
        self.check_ban(Some(&fingerprint)).await;
        info!(peer = %self.peer.ip(), key = %fingerprint, "ssh client authenticated");
        self.identity = Some(Identity::Key(Owner::new(fingerprint)));
        Ok(Auth::Accept)
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        _user: &str,
        _submethods: &str,
        response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        if !self.shared.allow_keyless {
            // No key got this client in: say how to get one, once, as an instruction with no
            // prompts (OpenSSH prints it), then refuse.
            if response.is_none() && !self.key_hint_shown {
                self.key_hint_shown = true;
                let hint = if self.shared.allow_list.is_some() {
                    NOT_LISTED_HINT
                } else {
                    NO_KEY_HINT
                };
                return Ok(Auth::Partial {
                    name: "".into(),
                    instructions: hint.into(),
                    prompts: Vec::new().into(),
                });
            }
            self.key_hint_shown = true;
            return Ok(self.reject_to_methods());
        }
        self.check_ban(None).await;
        info!(peer = %self.peer.ip(), "ssh client authenticated without a key");
        self.identity = Some(Identity::Keyless);
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(identity) = self.identity.clone() else {
            // Unreachable in practice: russh opens channels only after authentication.
            reply
                .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        };
        let Ok(permit) = self.occupancy.channels.clone().try_acquire_owned() else {
            debug!(peer = %self.peer.ip(), "channel refused: too many open on this connection");
            reply
                .reject(russh::ChannelOpenFailure::ResourceShortage)
                .await;
            return Ok(());
        };
        reply.accept().await;
        self.occupancy
            .opened
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let context = Context {
            server: self.shared.clone(),
            client: Client {
                identity,
                peer: self.peer.ip(),
                refusal: self.refusal.clone(),
                tui_sessions: self.tui_sessions.clone(),
            },
        };
        let span = info_span!("ssh_channel", peer = %self.peer.ip(), channel = %channel.id());
        // Tracked: shutdown waits for this channel's work (or cuts it at the deadline).
        self.shared.shutdown.spawn(
            async move {
                ChannelTask::new(channel, context).run().await;
                drop(permit);
            }
            .instrument(span),
        );
        Ok(())
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        if let Some(done) = self.authenticated.take() {
            let _ = done.send(());
        }
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        debug!(subsystem = name, "subsystem requested");
        if name == "sftp" {
            session.channel_success(channel)
        } else {
            session.channel_failure(channel)
        }
    }
}
