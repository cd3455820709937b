//! Subsystem `sftp`: hands the channel's bytes to [`SftpSession`], which frames and answers
//! them in order (write-only: every `put` is one share).

use super::{ChannelTask, Input};
use crate::ssh::sftp::SftpSession;

impl ChannelTask {
    /// Subsystem `sftp`: frames SFTP packets from the channel and answers them in order.
    pub(super) async fn sftp(&mut self) -> u32 {
        let mut session = SftpSession::new(self.cx.clone());
        loop {
            let data = match self.next_input().await {
                Input::Data(data) => data,
                Input::Eof => return session.end(),
                Input::Gone => {
                    session.end();
                    return 1;
                }
                Input::Stop(why) => {
                    session.end();
                    why.log("sftp session", "unfinished files not stored");
                    self.stderr(&format!("{why}\n")).await;
                    return 1;
                }
            };
            let step = session.feed(data).await;
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
}
