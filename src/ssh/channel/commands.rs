//! `exec` requests: parsed into a [`Command`] and run — `help`, `ls`, `revoke`, `admin …`;
//! uploads with options, `scp -t`, `get`, `inbox` and `watch` are handed to their own files.

use tracing::info;

use super::ChannelTask;
use crate::share::{ShareError, now_millis};
use crate::ssh::command::Command;
use crate::ssh::output;

impl ChannelTask {
    pub(super) async fn exec(&mut self, raw: &[u8]) -> u32 {
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
            Command::Get(_) | Command::Inbox => "get",
            Command::Watch { .. } => "watch",
        };
        let _counted = self.cx.server.sessions.enter(kind);
        match command {
            Command::Help => {
                self.stdout(&output::help(&self.cx.server.door)).await;
                0
            }
            Command::List => self.list().await,
            Command::Revoke(id) => self.revoke(&id).await,
            Command::Admin(words) => self.admin(&words).await,
            Command::Upload(options) => self.pipe(options).await,
            Command::ScpSink(options) => self.scp_sink(options).await,
            Command::Get(options) => self.get(options).await,
            Command::Inbox => self.inbox().await,
            Command::Watch { json } => self.watch(json).await,
        }
    }

    pub(super) async fn admin(&mut self, words: &[String]) -> u32 {
        let key = self.cx.client.identity.owner().map(|o| o.as_str());
        if key.is_none_or(|k| !self.cx.server.console.is_operator(k)) {
            info!("admin command refused: not an operator");
        }
        let outcome = crate::ssh::admin::run(&self.cx.server.console, key, words).await;
        if !outcome.stdout.is_empty() {
            self.stdout(&outcome.stdout).await;
        }
        if !outcome.stderr.is_empty() {
            self.stderr(&outcome.stderr).await;
        }
        outcome.code
    }

    pub(super) async fn list(&mut self) -> u32 {
        let Some(owner) = self.cx.client.identity.owner() else {
            self.stderr("ls needs an SSH key: keyless sessions have no shares to list\n")
                .await;
            return 1;
        };
        match self.cx.server.shares.list(owner).await {
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

    pub(super) async fn revoke(&mut self, id: &str) -> u32 {
        let Some(owner) = self.cx.client.identity.owner() else {
            self.stderr("revoke needs an SSH key: keyless sessions own no shares\n")
                .await;
            return 1;
        };
        if let Err(problem) = output::check_share_id(id) {
            self.stderr(&format!("{problem}\n")).await;
            return 1;
        }
        match self
            .cx
            .server
            .shares
            .revoke(owner, &id.to_ascii_lowercase())
            .await
        {
            Ok(status) => {
                self.stdout(&format!("revoked {}\n", status.handle)).await;
                0
            }
            Err(ShareError::NotFound) => {
                self.stderr(&format!("you have no live share with id {id}\n"))
                    .await;
                1
            }
            Err(ShareError::OutcomeUnknown) => {
                self.stderr(
                    "share storage did not answer in time: whether the share was revoked is not \
                     known yet; run `ls` in a minute to see\n",
                )
                .await;
                1
            }
            Err(ShareError::StoreUnavailable) => {
                self.stderr(
                    "share storage is unavailable: nothing was revoked, try again shortly\n",
                )
                .await;
                1
            }
            Err(err) => {
                self.stderr(&format!("{}\n", err)).await;
                1
            }
        }
    }
}
