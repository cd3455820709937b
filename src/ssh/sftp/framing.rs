//! SFTP framing, sans I/O: the channel's bytes in, requests out.
//!
//! A `WRITE`'s data is never assembled: its header is parsed here and the data passes on as
//! slices of the very buffers the channel delivered ([`Frame::Data`]), so an upload's bytes are
//! not copied between the SSH layer and the sealer. Every other packet (and any `WRITE` whose
//! header does not parse exactly) is assembled whole and decoded by russh-sftp, as before.
//!
//! Memory: a length over [`MAX_PACKET`] breaks the stream before anything of it is kept, so at
//! most one packet's worth is held here, plus what the caller fed and has not drained yet.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
use russh_sftp::protocol::Packet;

/// Largest SFTP packet accepted (OpenSSH sends writes of 32 KiB + a small header).
pub const MAX_PACKET: usize = 256 * 1024;
/// `SSH_FXP_WRITE`.
const WRITE: u8 = 6;
/// Longest handle a `WRITE` may name on the fast path (ours are a letter and a counter); a
/// longer one goes through russh-sftp like any other packet.
const MAX_HANDLE: usize = 256;
/// A `WRITE` before its handle: length, type, request id, handle length.
const WRITE_PREFIX: usize = 4 + 1 + 4 + 4;

/// What the framer found next in the stream.
#[derive(Debug)]
pub enum Frame {
    /// A whole request other than a fast-path `WRITE`; `None` if russh-sftp cannot decode it
    /// (answered `BadMessage`).
    Request(Option<Packet>),
    /// A `WRITE` starts; its data follows as [`Frame::Data`] pieces, then [`Frame::WriteEnd`].
    Write(WriteHeader),
    /// The next piece of the current `WRITE`'s data (never empty).
    Data(Bytes),
    /// The current `WRITE`'s data is complete: answer it.
    WriteEnd,
}

/// A `WRITE` request without its data.
#[derive(Debug, PartialEq, Eq)]
pub struct WriteHeader {
    pub id: u32,
    pub handle: String,
    pub offset: u64,
    pub len: u32,
}

/// The stream broke: a packet length of zero or over [`MAX_PACKET`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub usize);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sftp: packet of {} bytes refused", self.0)
    }
}

#[derive(Default)]
pub struct Framer {
    /// Received bytes not looked at yet, in order.
    input: VecDeque<Bytes>,
    /// The start of the next packet: a `WRITE`'s header, or a whole other packet.
    head: BytesMut,
    /// Inside a `WRITE`: how many of its data bytes are still to come.
    write_left: Option<usize>,
}

impl Framer {
    /// Queues received bytes; drain them with [`Framer::next_frame`] before feeding more.
    pub fn feed(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.input.push_back(data);
        }
    }

    /// The next frame, `Ok(None)` once the fed bytes end mid-frame (the rest is kept).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, Refused> {
        if let Some(left) = self.write_left {
            if left == 0 {
                self.write_left = None;
                return Ok(Some(Frame::WriteEnd));
            }
            let Some(front) = self.input.front_mut() else {
                return Ok(None);
            };
            let piece = if front.len() <= left {
                std::mem::take(front)
            } else {
                front.split_to(left)
            };
            if front.is_empty() {
                self.input.pop_front();
            }
            self.write_left = Some(left - piece.len());
            return Ok(Some(Frame::Data(piece)));
        }
        if !self.fill(5) {
            return Ok(None);
        }
        let len = be_u32(&self.head[..4]) as usize;
        if len == 0 || len > MAX_PACKET {
            return Err(Refused(len));
        }
        if self.head[4] == WRITE {
            match self.write_header(len) {
                Some(Some(header)) => return Ok(Some(Frame::Write(header))),
                Some(None) => {}
                None => return Ok(None),
            }
        }
        if !self.fill(4 + len) {
            return Ok(None);
        }
        let mut packet = self.head.split_to(4 + len).freeze();
        packet.advance(4);
        Ok(Some(Frame::Request(Packet::try_from(&mut packet).ok())))
    }

    /// A `WRITE` of `len` bytes (after the length field) is at the head: `None` until its
    /// header has arrived, then the header (consumed), or `Some(None)` if it is not one the fast
    /// path takes exactly (then the whole packet goes to russh-sftp).
    fn write_header(&mut self, len: usize) -> Option<Option<WriteHeader>> {
        if len < WRITE_PREFIX - 4 {
            return Some(None);
        }
        if !self.fill(WRITE_PREFIX) {
            return None;
        }
        let handle_len = be_u32(&self.head[9..13]) as usize;
        let header_len = WRITE_PREFIX + handle_len + 8 + 4;
        if handle_len > MAX_HANDLE || header_len > 4 + len {
            return Some(None);
        }
        if !self.fill(header_len) {
            return None;
        }
        let data_len = be_u32(&self.head[header_len - 4..header_len]);
        let Ok(handle) = std::str::from_utf8(&self.head[WRITE_PREFIX..WRITE_PREFIX + handle_len])
        else {
            return Some(None);
        };
        if header_len + data_len as usize != 4 + len {
            return Some(None);
        }
        let offset_at = WRITE_PREFIX + handle_len;
        let header = WriteHeader {
            id: be_u32(&self.head[5..9]),
            handle: handle.to_owned(),
            offset: u64::from_be_bytes(
                self.head[offset_at..offset_at + 8]
                    .try_into()
                    .unwrap_or_default(),
            ),
            len: data_len,
        };
        self.head.clear();
        self.write_left = Some(data_len as usize);
        Some(Some(header))
    }

    /// Moves input into `head` until it holds `n` bytes; false if the input ran out first.
    fn fill(&mut self, n: usize) -> bool {
        while self.head.len() < n {
            let Some(front) = self.input.front_mut() else {
                return false;
            };
            let take = (n - self.head.len()).min(front.len());
            self.head.extend_from_slice(&front[..take]);
            front.advance(take);
            if front.is_empty() {
                self.input.pop_front();
            }
        }
        true
    }
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes.try_into().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh_sftp::protocol::{Close, Write};

    fn encoded(packet: Packet) -> Vec<u8> {
        Bytes::try_from(packet).unwrap().to_vec()
    }

    fn write(id: u32, handle: &str, offset: u64, data: &[u8]) -> Vec<u8> {
        encoded(Packet::Write(Write {
            id,
            handle: handle.into(),
            offset,
            data: data.to_vec(),
        }))
    }

    /// Feeds `input` in pieces of `step` bytes and collects every frame, joining data pieces
    /// so that splits do not show; frames compare by their `Debug` text.
    fn frames(input: &[u8], step: usize) -> Vec<String> {
        let mut framer = Framer::default();
        let mut out: Vec<Frame> = Vec::new();
        for piece in input.chunks(step) {
            framer.feed(Bytes::copy_from_slice(piece));
            while let Some(frame) = framer.next_frame().unwrap() {
                match (out.last_mut(), frame) {
                    (Some(Frame::Data(joined)), Frame::Data(more)) => {
                        assert!(!more.is_empty());
                        *joined = [joined.as_ref(), more.as_ref()].concat().into();
                    }
                    (_, frame) => out.push(frame),
                }
            }
        }
        out.iter().map(|frame| format!("{frame:?}")).collect()
    }

    fn shown(frames: &[Frame]) -> Vec<String> {
        frames.iter().map(|frame| format!("{frame:?}")).collect()
    }

    #[test]
    fn writes_come_out_as_header_data_end_whatever_the_split() {
        let mut input = write(7, "f1", 0, b"hello ");
        input.extend(write(8, "f1", 6, b""));
        input.extend(encoded(Packet::Close(Close {
            id: 9,
            handle: "f1".into(),
        })));
        input.extend(write(10, "f1", 6, &[0xaa; 70_000]));
        for step in [1, 2, 3, 7, 13, 1000, input.len()] {
            let got = frames(&input, step);
            assert_eq!(
                got,
                shown(&[
                    Frame::Write(WriteHeader {
                        id: 7,
                        handle: "f1".into(),
                        offset: 0,
                        len: 6
                    }),
                    Frame::Data(Bytes::from_static(b"hello ")),
                    Frame::WriteEnd,
                    Frame::Write(WriteHeader {
                        id: 8,
                        handle: "f1".into(),
                        offset: 6,
                        len: 0
                    }),
                    Frame::WriteEnd,
                    Frame::Request(Some(Packet::Close(Close {
                        id: 9,
                        handle: "f1".into()
                    }))),
                    Frame::Write(WriteHeader {
                        id: 10,
                        handle: "f1".into(),
                        offset: 6,
                        len: 70_000
                    }),
                    Frame::Data(Bytes::from(vec![0xaa; 70_000])),
                    Frame::WriteEnd,
                ]),
                "split every {step} bytes"
            );
        }
    }

    #[test]
    fn write_data_is_a_slice_of_the_fed_buffer_not_a_copy() {
        let input = Bytes::from(write(1, "f1", 0, &[5; 4096]));
        let mut framer = Framer::default();
        framer.feed(input.clone());
        assert!(matches!(framer.next_frame(), Ok(Some(Frame::Write(_)))));
        let Ok(Some(Frame::Data(data))) = framer.next_frame() else {
            panic!("no data");
        };
        assert_eq!(data.len(), 4096);
        let fed = input.as_ptr_range();
        assert!(fed.contains(&data.as_ptr()), "the data was copied");
    }

    #[test]
    fn a_write_the_fast_path_cannot_take_exactly_goes_to_russh_sftp() {
        // Declared data length shorter than the packet: russh-sftp decides, as it always did.
        let mut odd = write(3, "f1", 0, b"abc");
        odd.push(0);
        let len = (odd.len() - 4) as u32;
        odd[..4].copy_from_slice(&len.to_be_bytes());
        let got = frames(&odd, 1);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("Request("), "{got:?}");

        // A handle that is not UTF-8: russh-sftp's lossy reading decides, as it always did.
        let mut bad = write(4, "f1", 0, b"abc");
        bad[13] = 0xff;
        let got = frames(&bad, 1);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("Request(Some(Write("), "{got:?}");

        // A handle too long for the fast path still reaches russh-sftp whole.
        let long = "h".repeat(MAX_HANDLE + 1);
        let mut framer = Framer::default();
        framer.feed(write(5, &long, 0, b"x").into());
        let got = framer.next_frame();
        assert!(
            matches!(&got, Ok(Some(Frame::Request(Some(Packet::Write(w))))) if w.handle == long),
            "{got:?}"
        );
    }

    #[test]
    fn a_length_out_of_bounds_breaks_the_stream_before_anything_is_kept() {
        let mut framer = Framer::default();
        framer.feed(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, WRITE]));
        assert!(matches!(framer.next_frame(), Err(Refused(0xffff_ffff))));
        let mut framer = Framer::default();
        framer.feed(Bytes::from_static(&[0, 0, 0, 0, 1]));
        assert!(matches!(framer.next_frame(), Err(Refused(0))));
        let mut framer = Framer::default();
        framer.feed(Bytes::from_static(&[0, 0, 0, 3, 200, 1, 2]));
        assert!(matches!(
            framer.next_frame(),
            Ok(Some(Frame::Request(None)))
        ));
        assert!(matches!(framer.next_frame(), Ok(None)));
    }

    #[test]
    fn garbage_never_panics_and_never_holds_more_than_a_packet() {
        let mut state = 0x1234_5678_u32;
        let mut framer = Framer::default();
        for _ in 0..2000 {
            let mut piece = Vec::new();
            for _ in 0..97 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Mostly small bytes, so lengths stay in range and writes appear.
                piece.push(if state.is_multiple_of(3) {
                    WRITE
                } else {
                    (state % 9) as u8
                });
            }
            framer.feed(piece.into());
            loop {
                match framer.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => {
                        framer = Framer::default();
                        break;
                    }
                }
            }
            assert!(framer.head.len() <= 4 + MAX_PACKET);
        }
    }
}
