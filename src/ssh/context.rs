//! What a channel task works with: the state every connection of the server shares
//! ([`Shared`]) and the one client it serves ([`Client`]) — who it is (its [`Identity`], bound only
//! after the signature check), where it connects from, and whether it may do anything at all.
//! Also the upload gate: bans and rate limits, checked before every upload.

use std::net::IpAddr;
use std::sync::Arc;

use tracing::debug;

use super::Refusal;
use super::Shared;
use super::limits::Limits;
use crate::crypto::Kind;
use crate::share::{Owner, ShareName, UploadSpec};

/// Who is on the other end, once authenticated.
#[derive(Clone, Debug)]
pub enum Identity {
    /// A verified key; `Owner` holds its `SHA256:…` fingerprint.
    Key(Owner),
    /// Keyless access (when the operator allows it): no identity, no `ls`.
    Keyless,
}

impl Identity {
    pub fn owner(&self) -> Option<&Owner> {
        match self {
            Identity::Key(owner) => Some(owner),
            Identity::Keyless => None,
        }
    }
}

/// The one client a connection serves, as its channels see it.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub identity: Identity,
    pub peer: IpAddr,
    /// The client is banned or over its key's session cap: every request is answered with this
    /// and exit 1.
    pub refusal: Option<Refusal>,
    /// Interactive screens open on this connection; with the per-IP and per-key connection caps
    /// this bounds concurrent TUI sessions per address and per key.
    pub tui_sessions: Arc<std::sync::atomic::AtomicUsize>,
}

/// What a channel task knows: the server it belongs to and the client it serves.
#[derive(Clone)]
pub(crate) struct Context {
    pub server: Arc<Shared>,
    pub client: Client,
}

impl Context {
    /// Checks the ban list (a ban placed mid-session applies to the next upload) and counts the
    /// upload against the rate limits.
    pub async fn allow_upload(&self) -> Result<(), Refusal> {
        upload_gate(
            &self.server.console,
            &self.server.limits,
            self.client.peer,
            self.client.identity.owner().map(|o| o.as_str()),
        )
        .await
    }

    pub fn spec(&self, kind: Kind, name: Option<ShareName>) -> UploadSpec {
        UploadSpec {
            kind,
            name,
            content_type: None,
            owner: self.client.identity.owner().cloned(),
            ttl: None,
            password: None,
            client: Some(self.client.peer),
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
        Ok(Some(ban)) => {
            limits.refusals().count(crate::refusals::Reason::Banned);
            return Err(Refusal::Banned(Box::new(ban)));
        }
        Err(err) => {
            debug!(error = %err, "ban list unavailable; upload refused");
            return Err(Refusal::Unavailable);
        }
    }
    Ok(limits.upload(peer, key).await?)
}
