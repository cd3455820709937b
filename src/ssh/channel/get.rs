//! `get`: a claim over SSH. `get LINK` claims exactly as the HTTP POST does — the one
//! [`Shares::claim`](crate::share::Shares::claim) call (key check, password attempt counted
//! first, one atomic flip) — and streams the plaintext to stdout byte for byte; every message
//! goes to stderr and the exit status is 0 only when the whole content was delivered.
//!
//! The link holds the key: it is parsed here and never echoed, logged or put in an error. A
//! password comes from the first stdin line (`--password-stdin`), never from the command line.
//! `get N` / `get ID` (a share sealed to the caller's key, from its inbox) live in `inbox.rs`.

use bytes::{Bytes, BytesMut};
use tracing::info;

use super::ChannelTask;
use crate::share::{ClaimBody, Link, unwrap_pasted};
use crate::ssh::command::{GetOptions, GetTarget};
use crate::ssh::output;

impl ChannelTask {
    pub(super) async fn get(&mut self, options: GetOptions) -> u32 {
        let text = match options.target {
            GetTarget::Link(text) => zeroize::Zeroizing::new(text),
            GetTarget::Inbox(pick) => return self.get_sealed(&pick).await,
        };
        let Some(link) = Link::parse(&unwrap_pasted(&text)) else {
            self.stderr(output::NOT_A_LINK).await;
            return 2;
        };
        drop(text);
        let password = if options.password_stdin {
            let mut pending = BytesMut::new();
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
        let claimed = self
            .cx
            .server
            .shares
            .claim(link.id(), link.key(), password.as_ref())
            .await;
        match claimed {
            Ok(claimed) => {
                info!(share = %link.id().handle(), "claimed over ssh");
                self.deliver(claimed.body).await
            }
            Err(err) => {
                err.log("claim");
                self.stderr(&format!("{}\n", output::claim_refusal(&err)))
                    .await;
                1
            }
        }
    }

    /// Streams a claimed body to stdout. 0 only when every byte authenticated and reached the
    /// client's channel; a tampered blob or a client that stopped reading ends it with 1.
    pub(super) async fn deliver(&mut self, mut body: ClaimBody) -> u32 {
        while let Some(chunk) = body.next_chunk().await {
            match chunk {
                Ok(bytes) => {
                    if !self.send_stdout(bytes).await {
                        return 1;
                    }
                }
                Err(err) => {
                    err.log("claim over ssh");
                    self.stderr(&format!("{}\n", output::claim_refusal(&err)))
                        .await;
                    return 1;
                }
            }
        }
        0
    }

    /// Whether `bytes` reached the client's stdout (false once it left or stopped reading).
    pub(super) async fn send_stdout(&self, bytes: Bytes) -> bool {
        self.send_output(None, bytes).await
    }
}
