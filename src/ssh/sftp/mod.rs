//! Write-only SFTP (what `scp` speaks by default since OpenSSH 9, and what `sftp put` uses):
//! every file written is one share, its link printed on stderr when the file is closed.
//!
//! Packets are framed from the channel's bytes by [`Framer`] (length-capped, so a client cannot
//! make us allocate more than [`MAX_PACKET`](framing::MAX_PACKET); a `WRITE`'s data goes
//! straight from the channel's buffers into the upload, uncopied) and decoded with russh-sftp's
//! protocol types; requests are answered strictly in order. Invariants:
//! - a file is published only at `CLOSE`, and only if every write succeeded; a failed write (size
//!   limit, out-of-order offset) kills the upload, and the `CLOSE` that follows gets a failure;
//! - reads are refused — the only way to open a share is its link;
//! - `STAT`/`LSTAT` of `.` and `/` say "directory" (scp checks its target is one), `FSETSTAT` and
//!   `SETSTAT` succeed silently (scp truncates to the final size after the last write);
//! - SFTP status texts are never shown by OpenSSH's clients, so every readable explanation also
//!   goes to stderr;
//! - files still open when the client leaves are discarded, never published;
//! - the `limits@openssh.com` extension tells OpenSSH's clients how large a `WRITE` may be (the
//!   same 255 KiB OpenSSH's own server allows; without it they send 32 KiB) and how many files
//!   may be open, which they also take as how many requests to keep in flight.

use std::collections::{HashMap, HashSet};

use bytes::{Bytes, BytesMut};
use russh_sftp::protocol::{
    Attrs, ExtendedReply, File, FileAttributes, Handle, Name, OpenFlags, Packet, Status,
    StatusCode, Version,
};

mod framing;

pub use framing::{Frame, Framer, WriteHeader};

use super::context::Context;
use super::output;
use crate::crypto::Kind;
use crate::share::{ShareName, Upload, now_millis};

/// Files one SFTP session may have open for writing at once.
const MAX_OPEN_FILES: usize = 16;
/// The largest `WRITE` (or `READ`) payload clients are told to send: a packet's limit less room
/// for its header, as OpenSSH's server does.
const MAX_DATA: usize = framing::MAX_PACKET - 1024;
/// The extension that announces [`MAX_DATA`] and [`MAX_OPEN_FILES`].
const LIMITS: &str = russh_sftp::extensions::LIMITS;

/// What one call to [`SftpSession::feed`] produced.
#[derive(Default)]
pub struct Step {
    /// Encoded replies, in request order.
    pub replies: BytesMut,
    /// Human text for the client's stderr (links of closed files, readable errors).
    pub stderr: String,
    /// The stream is broken; end the session after sending the above.
    pub fatal: Option<String>,
}

impl Step {
    /// Appends what a later call produced.
    pub fn merge(&mut self, later: Step) {
        self.replies.extend_from_slice(&later.replies);
        self.stderr.push_str(&later.stderr);
        if self.fatal.is_none() {
            self.fatal = later.fatal;
        }
    }
}

struct OpenFile {
    name: String,
    /// `None` once the upload died (the reason was already reported on stderr): never published.
    upload: Option<Upload>,
}

/// The `WRITE` whose data is arriving.
struct Writing {
    id: u32,
    handle: String,
    /// Why it failed (the status text of its reply); its remaining data is skipped.
    failed: Option<&'static str>,
}

pub struct SftpSession {
    cx: Context,
    framer: Framer,
    writing: Option<Writing>,
    files: HashMap<String, OpenFile>,
    dirs: HashSet<String>,
    next_handle: u64,
    any_failed: bool,
}

impl SftpSession {
    pub(crate) fn new(cx: Context) -> Self {
        Self {
            cx,
            framer: Framer::default(),
            writing: None,
            files: HashMap::new(),
            dirs: HashSet::new(),
            next_handle: 0,
            any_failed: false,
        }
    }

    /// Handles every complete request in what has arrived so far, keeping a partial one.
    pub async fn feed(&mut self, data: Bytes) -> Step {
        let mut step = Step::default();
        self.framer.feed(data);
        loop {
            let reply = match self.framer.next_frame() {
                Ok(None) => return step,
                Err(refused) => {
                    step.fatal = Some(refused.to_string());
                    return step;
                }
                Ok(Some(Frame::Request(Some(request)))) => self.handle(request, &mut step).await,
                Ok(Some(Frame::Request(None))) => Packet::error(0, StatusCode::BadMessage),
                Ok(Some(Frame::Write(header))) => {
                    self.write_start(header, &mut step);
                    continue;
                }
                Ok(Some(Frame::Data(data))) => {
                    self.write_data(&data, &mut step).await;
                    continue;
                }
                Ok(Some(Frame::WriteEnd)) => self.write_end(),
            };
            match Bytes::try_from(reply) {
                Ok(bytes) => step.replies.extend_from_slice(&bytes),
                Err(err) => {
                    step.fatal = Some(format!("sftp: cannot encode a reply: {err}"));
                    return step;
                }
            }
        }
    }

    /// The client sent EOF: discard anything unfinished. Returns the exit status.
    pub fn end(&mut self) -> u32 {
        if !self.files.is_empty() {
            self.any_failed = true;
        }
        self.files.clear();
        u32::from(self.any_failed)
    }

    async fn handle(&mut self, request: Packet, step: &mut Step) -> Packet {
        match request {
            Packet::Init(_) => version(),
            Packet::RealPath(r) => Packet::Name(Name {
                id: r.id,
                files: vec![File::dummy(normalize(&r.path))],
            }),
            Packet::Stat(s) => stat(s.id, &s.path),
            Packet::Lstat(s) => stat(s.id, &s.path),
            Packet::Fstat(s) => match self.files.get(&s.handle) {
                Some(file) => Packet::Attrs(Attrs {
                    id: s.id,
                    attrs: file_attrs(file.upload.as_ref().map_or(0, Upload::size)),
                }),
                None if self.dirs.contains(&s.handle) => Packet::Attrs(Attrs {
                    id: s.id,
                    attrs: FileAttributes::dummy(),
                }),
                None => status(s.id, StatusCode::Failure, "no such handle"),
            },
            Packet::SetStat(s) => ok(s.id),
            Packet::FSetStat(s) => self.fsetstat(s.id, &s.handle, s.attrs.size, step),
            Packet::Open(open) => self.open(open.id, &open.filename, open.pflags, step).await,
            // A WRITE the framer's fast path did not take (an odd encoding): the same rules.
            Packet::Write(write) => {
                let header = WriteHeader {
                    id: write.id,
                    handle: write.handle,
                    offset: write.offset,
                    len: u32::try_from(write.data.len()).unwrap_or(u32::MAX),
                };
                self.write_start(header, step);
                self.write_data(&write.data, step).await;
                self.write_end()
            }
            Packet::Close(close) => self.close(close.id, &close.handle, step).await,
            Packet::OpenDir(o) => {
                if normalize(&o.path) != "/" {
                    return status(o.id, StatusCode::NoSuchFile, "no such directory");
                }
                if self.dirs.len() >= MAX_OPEN_FILES {
                    return status(o.id, StatusCode::Failure, "too many open directories");
                }
                let handle = self.new_handle("d");
                self.dirs.insert(handle.clone());
                Packet::Handle(Handle { id: o.id, handle })
            }
            Packet::ReadDir(r) => match self.dirs.contains(&r.handle) {
                // Shares are not files: the directory always reads as empty.
                true => status(r.id, StatusCode::Eof, "end of directory"),
                false => status(r.id, StatusCode::Failure, "no such handle"),
            },
            // Clients that upload to a temporary name rename it afterwards; the share keeps the
            // name it was armed with, and the rename succeeds so the client reports success.
            Packet::Rename(r) => ok(r.id),
            Packet::Read(r) => {
                step.stderr
                    .push_str("downloads are not possible over SSH: open the link instead\n");
                status(r.id, StatusCode::PermissionDenied, "write-only")
            }
            Packet::Remove(r) => status(r.id, StatusCode::PermissionDenied, "write-only"),
            Packet::MkDir(r) => {
                step.stderr
                    .push_str("directories cannot be shared: send the files one by one\n");
                status(r.id, StatusCode::PermissionDenied, "no directories")
            }
            Packet::RmDir(r) => status(r.id, StatusCode::PermissionDenied, "write-only"),
            Packet::ReadLink(r) => status(r.id, StatusCode::OpUnsupported, "unsupported"),
            Packet::Symlink(r) => status(r.id, StatusCode::OpUnsupported, "unsupported"),
            Packet::Extended(e) if e.request == LIMITS => limits(e.id),
            Packet::Extended(e) => status(e.id, StatusCode::OpUnsupported, "unsupported"),
            other => status(
                other.get_request_id(),
                StatusCode::BadMessage,
                "unexpected packet",
            ),
        }
    }

    async fn open(&mut self, id: u32, path: &str, flags: OpenFlags, step: &mut Step) -> Packet {
        if !flags.contains(OpenFlags::WRITE) {
            step.stderr
                .push_str("downloads are not possible over SSH: open the link instead\n");
            return status(id, StatusCode::PermissionDenied, "write-only");
        }
        let name = match ShareName::sanitize(path.as_bytes()) {
            Ok(name) => name,
            Err(err) => {
                step.stderr.push_str(&format!("{err}\n"));
                self.any_failed = true;
                return status(id, StatusCode::Failure, "bad name");
            }
        };
        let shown = name.as_str().to_owned();
        if self.files.len() >= MAX_OPEN_FILES {
            step.stderr
                .push_str(&format!("{shown}: too many files open at once\n"));
            self.any_failed = true;
            return status(id, StatusCode::Failure, "too many open files");
        }
        if let Err(refusal) = self.cx.allow_upload().await {
            step.stderr.push_str(&format!("{shown}: {refusal}\n"));
            self.any_failed = true;
            return status(id, StatusCode::Failure, "rate limited");
        }
        match self
            .cx
            .server
            .shares
            .begin(self.cx.spec(Kind::File, Some(name)))
            .await
        {
            Ok(upload) => {
                let handle = self.new_handle("f");
                self.files.insert(
                    handle.clone(),
                    OpenFile {
                        name: shown,
                        upload: Some(upload),
                    },
                );
                Packet::Handle(Handle { id, handle })
            }
            Err(err) => {
                err.log("upload");
                step.stderr
                    .push_str(&format!("{shown}: {}\n", err.upload_words()));
                self.any_failed = true;
                status(id, StatusCode::Failure, "upload refused")
            }
        }
    }

    /// A `WRITE` starts: its target must be a live upload, and its offset exactly the bytes
    /// received so far (shares are streamed through encryption: only sequential writes can be
    /// accepted). A write that fails here kills the upload; its data is skipped.
    fn write_start(&mut self, header: WriteHeader, step: &mut Step) {
        let failed = match self.files.get_mut(&header.handle) {
            None => Some("no such handle"),
            Some(file) => match file.upload.as_ref().map(Upload::size) {
                None => Some("upload failed earlier"),
                Some(expected) if expected == header.offset => None,
                Some(expected) => {
                    step.stderr.push_str(&format!(
                        "{}: out-of-order write (offset {}, expected {expected}); nothing was stored\n",
                        file.name, header.offset,
                    ));
                    file.upload = None;
                    self.any_failed = true;
                    Some("out-of-order write")
                }
            },
        };
        self.writing = Some(Writing {
            id: header.id,
            handle: header.handle,
            failed,
        });
    }

    /// The next piece of the current `WRITE`: encrypted and stored as it arrives, within the
    /// size limit (past it, the upload dies and nothing of it is kept).
    async fn write_data(&mut self, data: &[u8], step: &mut Step) {
        let Some(writing) = self.writing.as_mut().filter(|w| w.failed.is_none()) else {
            return;
        };
        let Some(file) = self.files.get_mut(&writing.handle) else {
            return;
        };
        let Some(upload) = file.upload.as_mut() else {
            return;
        };
        if let Err(err) = upload.write(data).await {
            err.log("upload");
            step.stderr
                .push_str(&format!("{}: {}\n", file.name, err.upload_words()));
            file.upload = None;
            self.any_failed = true;
            writing.failed = Some("write failed");
        }
    }

    /// The current `WRITE`'s data has all arrived: its reply.
    fn write_end(&mut self) -> Packet {
        match self.writing.take() {
            Some(Writing {
                id, failed: None, ..
            }) => ok(id),
            Some(Writing {
                id,
                failed: Some(why),
                ..
            }) => status(id, StatusCode::Failure, why),
            None => Packet::error(0, StatusCode::BadMessage),
        }
    }

    /// scp (SFTP mode) truncates the file to its final size after the last write. That size
    /// must be exactly what arrived: anything else means the client meant a different content
    /// than the bytes we hold (an interrupted or resumed transfer), so the upload dies rather
    /// than publish the wrong secret. Other attributes (modes, times) are accepted silently.
    fn fsetstat(&mut self, id: u32, handle: &str, size: Option<u64>, step: &mut Step) -> Packet {
        let Some(file) = self.files.get_mut(handle) else {
            return if self.dirs.contains(handle) {
                ok(id)
            } else {
                status(id, StatusCode::Failure, "no such handle")
            };
        };
        let received = file.upload.as_ref().map(Upload::size);
        match (size, received) {
            (Some(wanted), Some(received)) if wanted != received => {
                file.upload = None;
                self.any_failed = true;
                step.stderr.push_str(&format!(
                    "{}: the client set the size to {wanted} bytes but sent {received}; nothing was stored\n",
                    file.name
                ));
                status(id, StatusCode::Failure, "size mismatch")
            }
            _ => ok(id),
        }
    }

    async fn close(&mut self, id: u32, handle: &str, step: &mut Step) -> Packet {
        if self.dirs.remove(handle) {
            return ok(id);
        }
        let Some(file) = self.files.remove(handle) else {
            return status(id, StatusCode::Failure, "no such handle");
        };
        let Some(upload) = file.upload else {
            // The failure was reported when it happened; never publish a failed upload.
            return status(id, StatusCode::Failure, "upload failed");
        };
        match upload.finish().await {
            Ok(armed) => {
                let link = armed.link.expose();
                step.stderr
                    .push_str(&output::armed_file(&armed, &link, now_millis()));
                ok(id)
            }
            Err(err) => {
                err.log("upload");
                step.stderr
                    .push_str(&format!("{}: {}\n", file.name, err.upload_words()));
                self.any_failed = true;
                status(id, StatusCode::Failure, "upload failed")
            }
        }
    }

    fn new_handle(&mut self, prefix: &str) -> String {
        self.next_handle += 1;
        format!("{prefix}{}", self.next_handle)
    }
}

/// Paths are only ever names here: everything lives in one flat, virtual `/`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." | "~" => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

fn stat(id: u32, path: &str) -> Packet {
    if normalize(path) == "/" {
        Packet::Attrs(Attrs {
            id,
            attrs: FileAttributes::dummy(),
        })
    } else {
        status(id, StatusCode::NoSuchFile, "no such file")
    }
}

fn file_attrs(size: u64) -> FileAttributes {
    FileAttributes {
        size: Some(size),
        permissions: Some(0o100600),
        ..FileAttributes::empty()
    }
}

/// Our `VERSION` reply: protocol 3, with the limits extension.
fn version() -> Packet {
    let mut version = Version::new();
    version.extensions.insert(LIMITS.to_owned(), "1".to_owned());
    Packet::Version(version)
}

/// The `limits@openssh.com` reply: max packet, read and write lengths, open handles (u64 each).
fn limits(id: u32) -> Packet {
    let mut data = Vec::with_capacity(32);
    for limit in [framing::MAX_PACKET, MAX_DATA, MAX_DATA, MAX_OPEN_FILES] {
        data.extend_from_slice(&(limit as u64).to_be_bytes());
    }
    Packet::ExtendedReply(ExtendedReply { id, data })
}

fn ok(id: u32) -> Packet {
    status(id, StatusCode::Ok, "ok")
}

fn status(id: u32, status_code: StatusCode, message: &str) -> Packet {
    Packet::Status(Status {
        id,
        status_code,
        error_message: message.to_owned(),
        language_tag: "en".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{KdfCost, Owner, Policy, Shares};
    use crate::ssh::context::{Client, Identity};
    use crate::ssh::limits::{LimitConfig, Limits};
    use bytes::Buf;
    use russh_sftp::protocol::{Close, Extended, FSetStat, Init, Open, RealPath, Stat, Write};

    async fn session(dir: &std::path::Path, max_size: u64) -> SftpSession {
        let crate::store::Stores {
            meta,
            blobs,
            operator,
            ..
        } = crate::store::open(dir, &crate::store::MetaBackend::Embedded)
            .await
            .unwrap();
        let policy = Policy {
            public_url: "https://share.test".into(),
            max_size,
            kdf_cost: KdfCost {
                memory_kib: 8 * 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..Policy::default()
        };
        let shares = Shares::new(meta, blobs, policy);
        let console = crate::operator::Console::new(
            shares.clone(),
            operator,
            crate::operator::Admins::default(),
            "embedded",
            Box::new(Default::default),
        );
        let server = crate::ssh::Shared {
            shares,
            console: std::sync::Arc::new(console),
            sessions: Default::default(),
            limits: Limits::new(LimitConfig {
                max_connections: 10,
                max_connections_per_ip: 10,
                max_sessions_per_key: 10,
                uploads_per_minute: 100,
            }),
            allow_list: None,
            allow_keyless: false,
            theme: crate::theme::Theme::industrial_urgency(),
            tui_idle_timeout: std::time::Duration::from_secs(900),
            tui_budget: crate::tui::budget::DraftBudget::new(1 << 20),
            shutdown: Default::default(),
            idle_timeout: std::time::Duration::from_secs(60),
            door: crate::ssh::output::Door {
                host: "localhost".into(),
                port: 22,
            },
            recipient_keys_url: "http://127.0.0.1:9".into(),
        };
        SftpSession::new(Context {
            server: std::sync::Arc::new(server),
            client: Client {
                identity: Identity::Key(Owner::new("SHA256:test")),
                peer: std::net::Ipv4Addr::LOCALHOST.into(),
                refusal: None,
                tui_sessions: Default::default(),
            },
        })
    }

    fn encode(packets: Vec<Packet>) -> Vec<u8> {
        let mut out = Vec::new();
        for p in packets {
            out.extend_from_slice(&Bytes::try_from(p).unwrap());
        }
        out
    }

    fn scp_like_upload(name: &str, chunks: &[(u64, &[u8])]) -> Vec<u8> {
        let total: u64 = chunks.iter().map(|(_, d)| d.len() as u64).sum();
        scp_like_upload_sized(name, chunks, Some(total))
    }

    /// Like scp: writes, then FSETSTAT with the final `size`, then CLOSE.
    fn scp_like_upload_sized(name: &str, chunks: &[(u64, &[u8])], size: Option<u64>) -> Vec<u8> {
        let mut packets = vec![
            Packet::Init(Init {
                version: 3,
                extensions: Default::default(),
            }),
            Packet::RealPath(RealPath {
                id: 1,
                path: ".".into(),
            }),
            Packet::Stat(Stat {
                id: 2,
                path: ".".into(),
            }),
            Packet::Open(Open {
                id: 3,
                filename: name.into(),
                pflags: OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE,
                attrs: FileAttributes::empty(),
            }),
        ];
        for (i, (offset, data)) in chunks.iter().enumerate() {
            packets.push(Packet::Write(Write {
                id: 10 + i as u32,
                handle: "f1".into(),
                offset: *offset,
                data: data.to_vec(),
            }));
        }
        packets.push(Packet::FSetStat(FSetStat {
            id: 98,
            handle: "f1".into(),
            attrs: FileAttributes {
                size,
                ..FileAttributes::empty()
            },
        }));
        packets.push(Packet::Close(Close {
            id: 99,
            handle: "f1".into(),
        }));
        encode(packets)
    }

    /// Files in the blob directory, finished or not.
    fn blob_files(data_dir: &std::path::Path) -> usize {
        std::fs::read_dir(data_dir.join("blobs")).unwrap().count()
    }

    /// Decodes every reply and returns the status codes (non-status replies as `None`).
    fn statuses(mut replies: Bytes) -> Vec<Option<StatusCode>> {
        let mut out = Vec::new();
        while replies.len() >= 4 {
            let len = replies.get_u32() as usize;
            let mut packet = replies.split_to(len);
            out.push(match Packet::try_from(&mut packet).unwrap() {
                Packet::Status(s) => Some(s.status_code),
                _ => None,
            });
        }
        out
    }

    #[tokio::test]
    async fn an_upload_split_at_every_byte_arms_one_share_at_close() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        let input = scp_like_upload("./x.env", &[(0, b"hello "), (6, b"world")]);
        let mut replies = BytesMut::new();
        let mut stderr = String::new();
        for byte in input {
            let step = sftp.feed(Bytes::copy_from_slice(&[byte])).await;
            assert!(step.fatal.is_none());
            replies.extend_from_slice(&step.replies);
            stderr.push_str(&step.stderr);
        }
        let ok = Some(StatusCode::Ok);
        assert_eq!(
            statuses(replies.freeze()),
            [None, None, None, None, ok, ok, ok, ok]
        );
        assert!(
            stderr.starts_with("x.env: https://share.test/s/"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 2);
        assert_eq!(sftp.end(), 0);
    }

    #[tokio::test]
    async fn a_failed_write_is_never_published_at_close() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 8).await;
        let input = scp_like_upload("big", &[(0, b"12345"), (5, b"67890")]);
        let step = sftp.feed(input.into()).await;
        let fail = Some(StatusCode::Failure);
        let ok = Some(StatusCode::Ok);
        assert_eq!(
            statuses(step.replies.freeze()),
            [None, None, None, None, ok, fail, ok, fail]
        );
        assert_eq!(
            step.stderr,
            "big: too large: the limit is 8 B; nothing was stored\n"
        );
        assert_eq!(sftp.end(), 1);
        assert_eq!(blob_files(dir.path()), 0);
    }

    #[tokio::test]
    async fn clients_are_told_the_write_size_and_open_files_we_accept() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        let input = encode(vec![
            Packet::Init(Init {
                version: 3,
                extensions: Default::default(),
            }),
            Packet::Extended(Extended {
                id: 7,
                request: "limits@openssh.com".into(),
                data: Vec::new(),
            }),
        ]);
        let mut replies = sftp.feed(input.into()).await.replies.freeze();
        let mut next = || {
            let len = replies.get_u32() as usize;
            Packet::try_from(&mut replies.split_to(len)).unwrap()
        };
        let Packet::Version(version) = next() else {
            panic!("no VERSION reply")
        };
        assert_eq!(version.extensions.get("limits@openssh.com").unwrap(), "1");
        let Packet::ExtendedReply(reply) = next() else {
            panic!("no EXTENDED_REPLY")
        };
        assert_eq!(reply.id, 7);
        let limits: Vec<u64> = reply
            .data
            .chunks(8)
            .map(|b| u64::from_be_bytes(b.try_into().unwrap()))
            .collect();
        // Packet, read, write, open handles: what OpenSSH's server says, but our file limit.
        assert_eq!(limits, [262_144, 261_120, 261_120, 16]);
    }

    #[tokio::test]
    async fn a_write_as_large_as_the_announced_limit_is_stored_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        let big: Vec<u8> = (0..MAX_DATA).map(|i| (i % 251) as u8).collect();
        let input = scp_like_upload("big.bin", &[(0, &big), (MAX_DATA as u64, &big)]);
        let step = sftp.feed(input.into()).await;
        assert!(step.fatal.is_none(), "{:?}", step.fatal);
        assert!(
            statuses(step.replies.freeze())
                .iter()
                .all(|c| *c != Some(StatusCode::Failure))
        );
        assert!(step.stderr.contains("/s/"), "{}", step.stderr);
        assert!(step.stderr.contains("510.0 KiB"), "{}", step.stderr);
    }

    #[tokio::test]
    async fn a_final_size_that_differs_from_what_arrived_publishes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        // An interrupted transfer: the client announces 11 bytes but sent 6.
        let input = scp_like_upload_sized("cut.env", &[(0, b"hello ")], Some(11));
        let step = sftp.feed(input.into()).await;
        let codes = statuses(step.replies.freeze());
        assert_eq!(codes[5], Some(StatusCode::Failure), "fsetstat refused");
        assert_eq!(codes[6], Some(StatusCode::Failure), "close refused");
        assert!(
            step.stderr.contains("nothing was stored"),
            "{}",
            step.stderr
        );
        assert!(!step.stderr.contains("/s/"), "no link: {}", step.stderr);
        assert_eq!(sftp.end(), 1);
        assert_eq!(blob_files(dir.path()), 0);
    }

    #[tokio::test]
    async fn out_of_order_writes_kill_the_upload() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        let input = scp_like_upload("gap", &[(0, b"ab"), (10, b"cd")]);
        let step = sftp.feed(input.into()).await;
        let codes = statuses(step.replies.freeze());
        assert_eq!(codes[5], Some(StatusCode::Failure));
        assert_eq!(codes[7], Some(StatusCode::Failure));
        assert!(
            step.stderr.contains("out-of-order write"),
            "{}",
            step.stderr
        );
    }

    #[tokio::test]
    async fn a_write_that_crosses_the_limit_mid_packet_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 40_000).await;
        let big = vec![3u8; 32 * 1024];
        let input = scp_like_upload("two.bin", &[(0, &big), (32 * 1024, &big)]);
        let mut replies = BytesMut::new();
        let mut stderr = String::new();
        // Pieces smaller than a write, as the channel delivers them.
        for piece in input.chunks(5000) {
            let step = sftp.feed(Bytes::copy_from_slice(piece)).await;
            replies.extend_from_slice(&step.replies);
            stderr.push_str(&step.stderr);
        }
        let (ok, fail) = (Some(StatusCode::Ok), Some(StatusCode::Failure));
        assert_eq!(
            statuses(replies.freeze()),
            [None, None, None, None, ok, fail, ok, fail]
        );
        assert_eq!(
            stderr,
            "two.bin: too large: the limit is 39.1 KiB; nothing was stored\n"
        );
        assert_eq!(sftp.end(), 1);
        assert_eq!(blob_files(dir.path()), 0);
    }

    #[tokio::test]
    async fn an_overlapping_write_kills_the_upload_and_later_requests_still_parse() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        // The second write re-sends the first one's bytes: overlapping, refused like a gap.
        let input = scp_like_upload("again", &[(0, b"abcd"), (2, b"cdef"), (8, b"gh")]);
        let step = sftp.feed(input.into()).await;
        let (ok, fail) = (Some(StatusCode::Ok), Some(StatusCode::Failure));
        assert_eq!(
            statuses(step.replies.freeze()),
            [None, None, None, None, ok, fail, fail, ok, fail]
        );
        assert_eq!(
            step.stderr,
            "again: out-of-order write (offset 2, expected 4); nothing was stored\n"
        );
        assert_eq!(sftp.end(), 1);
    }

    #[tokio::test]
    async fn a_write_to_an_unknown_handle_is_refused_and_its_data_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        let mut input = encode(vec![Packet::Write(Write {
            id: 5,
            handle: "f9".into(),
            offset: 0,
            data: vec![1; 1000],
        })]);
        input.extend(scp_like_upload("after", &[(0, b"fine")]));
        let step = sftp.feed(input.into()).await;
        let ok = Some(StatusCode::Ok);
        assert_eq!(
            statuses(step.replies.freeze()),
            [
                Some(StatusCode::Failure),
                None,
                None,
                None,
                None,
                ok,
                ok,
                ok
            ]
        );
        assert!(
            step.stderr.starts_with("after: https://share.test/s/"),
            "{}",
            step.stderr
        );
    }

    #[tokio::test]
    async fn an_absurd_packet_length_ends_the_session_without_allocating_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        let step = sftp
            .feed(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 1]))
            .await;
        assert!(step.fatal.is_some());
        let dir = tempfile::tempdir().unwrap();
        let mut sftp = session(dir.path(), 1 << 20).await;
        let step = sftp
            .feed(Bytes::from_static(&[0, 0, 0, 3, 200, 1, 2]))
            .await;
        assert_eq!(
            statuses(step.replies.freeze()),
            [Some(StatusCode::BadMessage)]
        );
    }

    #[test]
    fn paths_collapse_into_the_virtual_root() {
        assert_eq!(normalize("."), "/");
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("~/"), "/");
        assert_eq!(normalize("./a"), "/a");
        assert_eq!(normalize("../../etc/passwd"), "/etc/passwd");
    }

    #[test]
    fn the_root_is_a_directory_and_anything_else_is_missing() {
        match stat(7, ".") {
            Packet::Attrs(a) => assert!(a.attrs.is_dir()),
            other => panic!("{other:?}"),
        }
        match stat(8, "/x") {
            Packet::Status(s) => assert_eq!(s.status_code, StatusCode::NoSuchFile),
            other => panic!("{other:?}"),
        }
    }
}
