//! Shares sealed to SSH keys, both sides: the sender's `--to` upload (stdin encrypted to the
//! recipients' keys in the age format as it arrives) and the recipient's `inbox` and `get ID` /
//! `get N` (the age file, as stored, on stdout: `ssh HOST get ID | age -d -i ~/.ssh/id_ed25519`).
//!
//! Only a session authenticated with a recipient key sees or claims a sealed share; keyless
//! sessions have no inbox. Recipient keys are parsed and fetched (`github:USER`) before a byte of
//! the secret is read, so a bad `--to` stores nothing.

use tracing::debug;

use super::{ChannelTask, Input};
use crate::share::{Expected, Recipient, SealedSpec, now_millis};
use crate::ssh::command::{InboxPick, UploadOptions};
use crate::ssh::output;
use crate::ssh::recipient_keys;

impl ChannelTask {
    /// `--to …`: stdin → one share sealed to the recipients; its id on stdout (there is no link).
    pub(super) async fn sealed_pipe(&mut self, options: UploadOptions) -> u32 {
        let recipients = match self.recipients(&options.to).await {
            Ok(recipients) => recipients,
            Err(message) => {
                self.stderr(&format!("{message}; nothing was stored\n"))
                    .await;
                return 2;
            }
        };
        let from = match self.cx.client.identity.owner() {
            Some(owner) => owner.as_str().to_owned(),
            None => "a keyless sender".to_owned(),
        };
        let spec = SealedSpec {
            recipients,
            from,
            label: options.name.clone(),
            owner: self.cx.client.identity.owner().cloned(),
            client: Some(self.cx.client.peer),
            ttl: options.ttl,
        };
        let mut upload = match self.cx.server.shares.begin_sealed(spec).await {
            Ok(upload) => upload,
            Err(err) => return self.upload_failed(&err).await,
        };
        upload.expect(Expected {
            size: options.size,
            sha256: options.sha256,
        });
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
                Input::Stop(why) => {
                    drop(upload);
                    why.log("upload", "nothing stored");
                    self.stderr(&format!("{why}\n")).await;
                    return 1;
                }
            }
        }
        match upload.finish().await {
            Ok(armed) => {
                if options.json {
                    self.stdout(&output::sealed_json(&armed)).await;
                } else {
                    self.stdout(&format!("{}\n", armed.handle)).await;
                    self.stderr(&format!(
                        "{}\n",
                        output::sealed_details(&armed, now_millis())
                    ))
                    .await;
                }
                0
            }
            Err(err) => self.pipe_failed(&err).await,
        }
    }

    /// Every `--to` value as recipient keys: key lines parsed, `github:USER` fetched.
    async fn recipients(&self, to: &[String]) -> Result<Vec<Recipient>, String> {
        let mut recipients = Vec::new();
        for value in to {
            match value.strip_prefix("github:") {
                Some(user) => {
                    let lines =
                        recipient_keys::fetch(&self.cx.server.recipient_keys_url, user).await?;
                    // GitHub lists every key type; those age cannot encrypt to are skipped.
                    let usable: Vec<Recipient> = lines
                        .iter()
                        .filter_map(|line| Recipient::parse(line).ok())
                        .collect();
                    if usable.is_empty() {
                        return Err(format!(
                            "--to github:{user}: none of that user's keys is ssh-ed25519 or ssh-rsa"
                        ));
                    }
                    recipients.extend(usable);
                }
                None => recipients.push(Recipient::parse(value).map_err(|e| e.to_string())?),
            }
            if recipients.len() > crate::share::MAX_RECIPIENTS {
                return Err(format!(
                    "--to: at most {} recipient keys per share",
                    crate::share::MAX_RECIPIENTS
                ));
            }
        }
        Ok(recipients)
    }

    /// `inbox`: the shares sealed to this session's key, with the ids and numbers `get` takes.
    pub(super) async fn inbox(&mut self) -> u32 {
        let Some(me) = self.cx.client.identity.owner().cloned() else {
            self.stderr(
                "inbox needs an SSH key: shares are sealed to keys, and this session has none\n",
            )
            .await;
            return 1;
        };
        match self.cx.server.shares.inbox(&me).await {
            Ok(items) => {
                self.stdout(&output::inbox_table(&items, now_millis()))
                    .await;
                0
            }
            Err(err) => {
                err.log("inbox");
                self.stderr(&format!("{}\n", err.words())).await;
                1
            }
        }
    }

    /// `get ID` / `get N`: claims that share of the caller's inbox and streams its age file to
    /// stdout. Only the caller's own inbox is searched, so another key's id finds nothing.
    pub(super) async fn get_sealed(&mut self, pick: &InboxPick) -> u32 {
        let Some(me) = self.cx.client.identity.owner().cloned() else {
            self.stderr("get ID needs an SSH key: this session has no inbox\n")
                .await;
            return 1;
        };
        let items = match self.cx.server.shares.inbox(&me).await {
            Ok(items) => items,
            Err(err) => {
                err.log("inbox");
                self.stderr(&format!("{}\n", err.words())).await;
                return 1;
            }
        };
        let found = match pick {
            InboxPick::Number(n) => (*n as usize).checked_sub(1).and_then(|i| items.get(i)),
            InboxPick::Id(id) => items.iter().find(|item| item.handle.as_str() == id),
        };
        let Some(item) = found else {
            let which = match pick {
                InboxPick::Number(n) => n.to_string(),
                InboxPick::Id(id) => id.clone(),
            };
            self.stderr(&format!(
                "there is no share {which} in your inbox ({}); run `inbox` to see them\n",
                crate::units::count(items.len() as u64, "share")
            ))
            .await;
            return 1;
        };
        let mut claimed = match self.cx.server.shares.claim_sealed(&me, &item.key).await {
            Ok(claimed) => claimed,
            Err(err) => {
                err.log("claim");
                self.stderr(&format!("{}\n", output::claim_refusal(&err)))
                    .await;
                return 1;
            }
        };
        while let Some(chunk) = claimed.next_chunk().await {
            match chunk {
                Ok(bytes) => {
                    if !self.send_stdout(bytes).await {
                        return 1;
                    }
                }
                Err(err) => {
                    err.log("sealed claim");
                    self.stderr(&format!("{}\n", output::claim_refusal(&err)))
                        .await;
                    return 1;
                }
            }
        }
        0
    }
}
