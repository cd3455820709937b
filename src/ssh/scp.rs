//! The legacy scp sink (`scp -O`, i.e. `scp -t` on the server), as a sans-IO parser: bytes in,
//! [`ScpEvent`]s out, no I/O and no allocation beyond one bounded header line.
//!
//! Records are `C<mode> <size> <name>\n` (a file whose `size` bytes follow, then a `\0`),
//! `D<mode> 0 <name>\n` / `E\n` (enter / leave a directory), `T<mtime> 0 <atime> 0\n` (times for
//! the next record, from `-p`), and `\x01msg\n` / `\x02msg\n` (the source reporting a warning or
//! a fatal error). The driver answers each record with `\0` (ok), `\x01msg\n` or `\x02msg\n`
//! (which scp prints verbatim). The size in a `C` header is known before any content byte, so
//! an oversize file is refused before it is read.

use bytes::{Buf, Bytes, BytesMut};

/// Longest header line accepted (a name is capped far below this later anyway).
pub const MAX_LINE: usize = 8 * 1024;

/// One step of the protocol.
#[derive(Debug, PartialEq, Eq)]
pub enum ScpEvent {
    /// A file begins; `size` content bytes follow as [`ScpEvent::Data`].
    File {
        mode: u32,
        size: u64,
        name: Vec<u8>,
    },
    Data(Bytes),
    /// The file's content and its trailing `\0` have arrived.
    FileEnd,
    Dir {
        name: Vec<u8>,
    },
    EndDir,
    Times,
    /// The source could not send something (`\x01`) or gave up (`\x02`); not answered.
    SourceError {
        fatal: bool,
        message: Vec<u8>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScpError {
    #[error("protocol error: header line too long")]
    LineTooLong,
    #[error("protocol error: malformed {0} record")]
    Malformed(&'static str),
    #[error("protocol error: unexpected record type {0:#04x}")]
    UnknownRecord(u8),
    #[error("the sending side reported an error at the end of the file")]
    SourceFailed,
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Header,
    Body {
        remaining: u64,
    },
    Trailer,
}

#[derive(Debug, Default)]
pub(crate) struct ScpParser {
    state: State,
}

impl ScpParser {
    /// In the middle of a file's body, takes as much of it as `input` holds, uncopied (a slice
    /// of the same buffer); otherwise takes nothing and returns `None` (feed `input` to
    /// [`Self::next`] then). Call only when nothing is buffered for [`Self::next`].
    fn body(&mut self, input: &mut Bytes) -> Option<ScpEvent> {
        let State::Body { remaining } = self.state else {
            return None;
        };
        if input.is_empty() {
            return None;
        }
        let take = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let data = input.split_to(take);
        let remaining = remaining - take as u64;
        self.state = if remaining == 0 {
            State::Trailer
        } else {
            State::Body { remaining }
        };
        Some(ScpEvent::Data(data))
    }

    /// Consumes what it can from `input` and returns the next event, or `None` if more input is
    /// needed. After an error the parser must not be used again.
    pub fn next(&mut self, input: &mut BytesMut) -> Result<Option<ScpEvent>, ScpError> {
        match self.state {
            State::Header => {
                let Some(end) = input.iter().position(|&b| b == b'\n') else {
                    if input.len() > MAX_LINE {
                        return Err(ScpError::LineTooLong);
                    }
                    return Ok(None);
                };
                if end > MAX_LINE {
                    return Err(ScpError::LineTooLong);
                }
                let line = input.split_to(end + 1);
                let line = &line[..end];
                let event = parse_header(line)?;
                if let ScpEvent::File { size, .. } = event {
                    self.state = if size == 0 {
                        State::Trailer
                    } else {
                        State::Body { remaining: size }
                    };
                }
                Ok(Some(event))
            }
            State::Body { remaining } => {
                if input.is_empty() {
                    return Ok(None);
                }
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                let data = input.split_to(take).freeze();
                let remaining = remaining - take as u64;
                self.state = if remaining == 0 {
                    State::Trailer
                } else {
                    State::Body { remaining }
                };
                Ok(Some(ScpEvent::Data(data)))
            }
            State::Trailer => {
                if input.is_empty() {
                    return Ok(None);
                }
                let byte = input.get_u8();
                self.state = State::Header;
                if byte == 0 {
                    Ok(Some(ScpEvent::FileEnd))
                } else {
                    Err(ScpError::SourceFailed)
                }
            }
        }
    }
}

/// [`ScpParser`] fed as the channel delivers: a file's body is handed on as slices of the
/// delivered buffers (uncopied); only header lines and trailers are gathered in a buffer.
#[derive(Debug, Default)]
pub struct ScpReader {
    parser: ScpParser,
    /// Delivered, not yet seen by the parser; comes after `buf`.
    incoming: Bytes,
    buf: BytesMut,
}

impl ScpReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds delivered input (normally once [`Self::next_event`] has returned `None`).
    pub fn feed(&mut self, data: Bytes) {
        if !self.incoming.is_empty() {
            self.buf.extend_from_slice(&self.incoming);
        }
        self.incoming = data;
    }

    /// The next event, or `None` once all input so far is used. After an error the reader must
    /// not be used again.
    pub fn next_event(&mut self) -> Result<Option<ScpEvent>, ScpError> {
        loop {
            if self.buf.is_empty()
                && let Some(event) = self.parser.body(&mut self.incoming)
            {
                return Ok(Some(event));
            }
            if let Some(event) = self.parser.next(&mut self.buf)? {
                return Ok(Some(event));
            }
            if self.incoming.is_empty() {
                return Ok(None);
            }
            self.buf.extend_from_slice(&self.incoming);
            self.incoming.clear();
        }
    }
}

fn parse_header(line: &[u8]) -> Result<ScpEvent, ScpError> {
    let Some((&kind, rest)) = line.split_first() else {
        return Err(ScpError::UnknownRecord(b'\n'));
    };
    match kind {
        b'C' | b'D' => {
            let what = if kind == b'C' { "C" } else { "D" };
            let mut parts = rest.splitn(3, |&b| b == b' ');
            let mode = parts
                .next()
                .and_then(|m| std::str::from_utf8(m).ok())
                .and_then(|m| u32::from_str_radix(m, 8).ok())
                .ok_or(ScpError::Malformed(what))?;
            let size = parts
                .next()
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(ScpError::Malformed(what))?;
            let name = parts.next().ok_or(ScpError::Malformed(what))?.to_vec();
            if name.is_empty() {
                return Err(ScpError::Malformed(what));
            }
            Ok(if kind == b'C' {
                ScpEvent::File { mode, size, name }
            } else {
                ScpEvent::Dir { name }
            })
        }
        b'E' if rest.is_empty() => Ok(ScpEvent::EndDir),
        b'E' => Err(ScpError::Malformed("E")),
        b'T' => {
            let fields: Vec<&[u8]> = rest.split(|&b| b == b' ').collect();
            let numeric = fields.len() == 4
                && fields
                    .iter()
                    .all(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
            if numeric {
                Ok(ScpEvent::Times)
            } else {
                Err(ScpError::Malformed("T"))
            }
        }
        1 | 2 => Ok(ScpEvent::SourceError {
            fatal: kind == 2,
            message: rest.to_vec(),
        }),
        other => Err(ScpError::UnknownRecord(other)),
    }
}

/// The `\x02message\n` reply: scp prints the message and gives up.
pub fn fatal(message: &str) -> Bytes {
    reply(2, message)
}

/// The `\x01message\n` reply: scp prints the message and carries on with the next file.
pub fn warning(message: &str) -> Bytes {
    reply(1, message)
}

fn reply(code: u8, message: &str) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + 2);
    out.push(code);
    out.extend(message.bytes().filter(|&b| b != b'\n'));
    out.push(b'\n');
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Result<Vec<ScpEvent>, ScpError> {
        let mut parser = ScpParser::default();
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(event) = parser.next(&mut buf)? {
                events.push(event);
            }
        }
        Ok(merge_data(events))
    }

    fn read(chunks: &[&[u8]]) -> Result<Vec<ScpEvent>, ScpError> {
        let mut reader = ScpReader::new();
        let mut events = Vec::new();
        for chunk in chunks {
            reader.feed(Bytes::copy_from_slice(chunk));
            while let Some(event) = reader.next_event()? {
                events.push(event);
            }
        }
        Ok(merge_data(events))
    }

    #[test]
    fn the_reader_gives_the_same_events_however_input_is_split() {
        for a in 0..=STREAM.len() {
            for b in a..=STREAM.len() {
                let chunks = [&STREAM[..a], &STREAM[a..b], &STREAM[b..]];
                assert_eq!(read(&chunks).unwrap(), expected(), "split at {a}, {b}");
            }
        }
    }

    #[test]
    fn the_reader_hands_a_body_on_uncopied() {
        let mut reader = ScpReader::new();
        reader.feed(Bytes::from_static(b"C0644 10 f\n"));
        assert!(matches!(
            reader.next_event(),
            Ok(Some(ScpEvent::File { size: 10, .. }))
        ));
        assert!(matches!(reader.next_event(), Ok(None)));
        let delivered = Bytes::from(b"0123456789\0".to_vec());
        reader.feed(delivered.clone());
        let Ok(Some(ScpEvent::Data(body))) = reader.next_event() else {
            panic!("no body")
        };
        assert_eq!(&body[..], b"0123456789");
        assert_eq!(
            body.as_ptr(),
            delivered.as_ptr(),
            "a slice of the delivered buffer"
        );
        assert!(matches!(reader.next_event(), Ok(Some(ScpEvent::FileEnd))));
        assert!(matches!(reader.next_event(), Ok(None)));
    }

    /// Joins adjacent Data events so split and whole input compare equal.
    fn merge_data(events: Vec<ScpEvent>) -> Vec<ScpEvent> {
        let mut out: Vec<ScpEvent> = Vec::new();
        for event in events {
            match (out.last_mut(), event) {
                (Some(ScpEvent::Data(prev)), ScpEvent::Data(next)) => {
                    let mut joined = prev.to_vec();
                    joined.extend_from_slice(&next);
                    *prev = joined.into();
                }
                (_, event) => out.push(event),
            }
        }
        out
    }

    const STREAM: &[u8] =
        b"T1700000000 0 1700000000 0\nC0644 5 my file\nhello\0D0755 0 d\nE\nC0600 0 empty\n\0";

    fn expected() -> Vec<ScpEvent> {
        vec![
            ScpEvent::Times,
            ScpEvent::File {
                mode: 0o644,
                size: 5,
                name: b"my file".to_vec(),
            },
            ScpEvent::Data(Bytes::from_static(b"hello")),
            ScpEvent::FileEnd,
            ScpEvent::Dir {
                name: b"d".to_vec(),
            },
            ScpEvent::EndDir,
            ScpEvent::File {
                mode: 0o600,
                size: 0,
                name: b"empty".to_vec(),
            },
            ScpEvent::FileEnd,
        ]
    }

    #[test]
    fn a_whole_session_parses_into_events() {
        assert_eq!(run(&[STREAM]).unwrap(), expected());
    }

    #[test]
    fn input_split_at_every_byte_gives_the_same_events() {
        let chunks: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(run(&chunks).unwrap(), expected());
        for cut in 0..STREAM.len() {
            let (a, b) = STREAM.split_at(cut);
            assert_eq!(run(&[a, b]).unwrap(), expected(), "cut at {cut}");
        }
    }

    #[test]
    fn the_size_is_known_before_any_content_byte() {
        let mut parser = ScpParser::default();
        let mut buf = BytesMut::from(&b"C0644 999999999999 big\n"[..]);
        assert_eq!(
            parser.next(&mut buf).unwrap(),
            Some(ScpEvent::File {
                mode: 0o644,
                size: 999_999_999_999,
                name: b"big".to_vec()
            })
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(run(&[b"X\n"]), Err(ScpError::UnknownRecord(b'X')));
        assert_eq!(run(&[b"C0644 x name\n"]), Err(ScpError::Malformed("C")));
        assert_eq!(run(&[b"C0644 1\n"]), Err(ScpError::Malformed("C")));
        assert_eq!(run(&[b"C9 1 n\n"]), Err(ScpError::Malformed("C")));
        assert_eq!(run(&[b"T1 2\n"]), Err(ScpError::Malformed("T")));
        assert_eq!(run(&[b"C0644 1 n\nx\x01"]), Err(ScpError::SourceFailed));
        assert_eq!(run(&[&[b'C'; MAX_LINE + 2]]), Err(ScpError::LineTooLong));
        assert_eq!(run(&[b"\n"]), Err(ScpError::UnknownRecord(b'\n')));
        for seed in 0u8..=255 {
            let junk: Vec<u8> = (0..64u8)
                .map(|i| i.wrapping_mul(seed).wrapping_add(seed))
                .collect();
            let _ = run(&[&junk]);
        }
    }

    #[test]
    fn source_errors_are_reported_not_answered() {
        assert_eq!(
            run(&[b"\x01scp: x: No such file\n"]).unwrap(),
            vec![ScpEvent::SourceError {
                fatal: false,
                message: b"scp: x: No such file".to_vec()
            }]
        );
    }

    #[test]
    fn replies_are_single_lines() {
        assert_eq!(&fatal("too\nbig")[..], b"\x02toobig\n");
        assert_eq!(&warning("w")[..], b"\x01w\n");
    }
}
