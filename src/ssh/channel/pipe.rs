//! A piped upload (shell without a pty, or `exec` with upload options): stdin becomes one share,
//! the link alone goes to stdout and the details to stderr; `--password-stdin` reads the password
//! from the first line.

use bytes::BytesMut;
use tracing::debug;

use super::{ChannelTask, Input};
use crate::crypto::{Kind, Password};
use crate::share::{Expected, ShareError, now_millis};
use crate::ssh::command::UploadOptions;
use crate::ssh::output;

/// Longest password line accepted by `--password-stdin`.
const MAX_PASSWORD_LINE: usize = 1024;

impl ChannelTask {
    /// stdin → one share; the link alone on stdout.
    pub(super) async fn pipe(&mut self, options: UploadOptions) -> u32 {
        if let Err(refusal) = self.cx.allow_upload().await {
            self.stderr(&format!("{refusal}\n")).await;
            return 1;
        }
        if !options.to.is_empty() {
            return self.sealed_pipe(options).await;
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
        let mut upload = match self.cx.server.shares.begin(spec).await {
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
                let link = armed.link.expose();
                if options.json {
                    self.stdout(&output::armed_json(&armed, &link)).await;
                } else {
                    self.stdout(&format!("{}\n", link.as_str())).await;
                    let details = output::armed_details(&armed, now_millis());
                    self.stderr(&format!("{details}\n")).await;
                    if kind == Kind::Text && armed.kind == Kind::File {
                        self.stderr(&format!("{}\n", output::binary_pipe_note(&armed)))
                            .await;
                    }
                }
                if options.wait {
                    let id = armed.link.id().clone();
                    drop(link);
                    return self
                        .wait_for_receipt(&id, armed.expires_at, options.wait_timeout)
                        .await;
                }
                0
            }
            Err(err) => self.pipe_failed(&err).await,
        }
    }

    /// A piped upload (link or `--to`) that published nothing; empty input is told how an empty
    /// secret is sent on purpose.
    pub(super) async fn pipe_failed(&self, err: &ShareError) -> u32 {
        if let ShareError::Empty = err {
            self.stderr(
                "nothing to share: the input was empty; nothing was stored (an empty secret on \
                 purpose is announced with --size 0)\n",
            )
            .await;
            return 1;
        }
        self.upload_failed(err).await
    }

    pub(super) async fn upload_failed(&self, err: &ShareError) -> u32 {
        err.log("upload");
        self.stderr(&format!("{}\n", err.upload_words())).await;
        1
    }

    /// `--password-stdin`: the first line of input is the password; the rest is the payload.
    pub(super) async fn read_password_line(
        &mut self,
        pending: &mut BytesMut,
    ) -> Result<Password, String> {
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
                Input::Stop(why) => return Err(why.to_string()),
            }
        }
    }
}
