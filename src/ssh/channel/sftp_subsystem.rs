//! Subsystem `sftp`: hands the channel's bytes to [`SftpSession`], which frames and answers
//! them in order (write-only: every `put` is one share).
//!
//! Input that has already arrived is handled before the replies go out, so when the server is
//! behind, one SSH packet answers many `WRITE`s (fewer packets to seal and send here, and to
//! open, pass on and wake up for in the client). It never waits for input that has not arrived:
//! the client may be waiting for these very replies before it sends more.

use super::{ChannelTask, Input};
use crate::ssh::sftp::{SftpSession, Step};

/// Most channel messages handled before their replies are sent.
const COALESCE: usize = 16;

impl ChannelTask {
    /// Subsystem `sftp`: frames SFTP packets from the channel and answers them in order.
    pub(super) async fn sftp(&mut self) -> u32 {
        let mut session = SftpSession::new(self.cx.clone());
        loop {
            let mut step = Step::default();
            let mut fed = 0;
            let ended = loop {
                let input = if fed == 0 {
                    self.next_input().await
                } else {
                    match self.input_ready() {
                        Some(input) => input,
                        None => break None,
                    }
                };
                let Input::Data(data) = input else {
                    break Some(input);
                };
                step.merge(session.feed(data).await);
                fed += 1;
                if step.fatal.is_some() || fed == COALESCE {
                    break None;
                }
            };
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
            match ended {
                None | Some(Input::Data(_)) => {}
                Some(Input::Eof) => return session.end(),
                Some(Input::Gone) => {
                    session.end();
                    return 1;
                }
                Some(Input::Stop(why)) => {
                    session.end();
                    why.log("sftp session", "unfinished files not stored");
                    self.stderr(&format!("{why}\n")).await;
                    return 1;
                }
            }
        }
    }
}
