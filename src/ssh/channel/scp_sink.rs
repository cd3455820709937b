//! `scp -t` (the legacy protocol): drives the sans-IO [`ScpReader`], one share per file, each
//! link on stderr; errors go back as `\x02message\n`, which scp prints verbatim.

use bytes::Bytes;

use super::{ChannelTask, Input};
use crate::config::format_size;
use crate::crypto::Kind;
use crate::share::{Armed, ShareName, Upload, now_millis};
use crate::ssh::command::ScpOptions;
use crate::ssh::output;
use crate::ssh::scp::{self, ScpEvent, ScpReader};

impl ChannelTask {
    /// `scp -t`: the legacy protocol, one share per file, each link on stderr.
    pub(super) async fn scp_sink(&mut self, options: ScpOptions) -> u32 {
        let mut reader = ScpReader::new();
        let mut current: Option<(Upload, String)> = None;
        let mut code = 0;
        self.stdout_bytes(Bytes::from_static(b"\0")).await;
        loop {
            let event = match reader.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => match self.next_input().await {
                    Input::Data(data) => {
                        reader.feed(data);
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
                    Input::Stop(why) => {
                        drop(current.take());
                        why.log("scp upload", "nothing stored");
                        // stderr, not a `\x02` reply: mid-file, scp is sending and reads no
                        // reply until the file ends; ssh shows stderr at once.
                        self.stderr(&format!("{why}\n")).await;
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
                    let limit = self.cx.server.shares.policy().max_size;
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
                        .server
                        .shares
                        .begin(self.cx.spec(Kind::File, Some(name)))
                        .await
                    {
                        Ok(upload) => {
                            // Refused before a byte of it is read, like an oversize header.
                            if let Err(err) = upload.check_room(size) {
                                err.log("upload");
                                self.stdout_bytes(scp::fatal(&format!("{shown}: {err}")))
                                    .await;
                                return 1;
                            }
                            current = Some((upload, shown));
                        }
                        Err(err) => {
                            err.log("upload");
                            self.stdout_bytes(scp::fatal(&err.upload_words())).await;
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
                        err.log("upload");
                        let message = format!("{shown}: {}", err.upload_words());
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
                            err.log("upload");
                            let message = format!("{shown}: {}", err.upload_words());
                            self.stdout_bytes(scp::fatal(&message)).await;
                            return 1;
                        }
                    }
                }
            }
        }
    }

    async fn report_file(&self, armed: &Armed) {
        let link = armed.link.expose();
        self.stderr(&output::armed_file(armed, &link, now_millis()))
            .await;
    }
}

/// A client-influenced name made safe for a message (not for storage).
fn display_name(raw: &[u8]) -> String {
    ShareName::sanitize(raw)
        .map(ShareName::into_string)
        .unwrap_or_else(|_| "file".into())
}
