//! Terminal input over SSH, sans I/O: raw bytes in, key and paste events out.
//!
//! Over SSH there are no signals and no terminal driver on our side: Ctrl-C is byte 0x03, Esc is
//! a lone 0x1b that looks exactly like the start of an escape sequence, a paste arrives as one
//! bracketed block (`ESC[200~ … ESC[201~`), and terminals answer queries with OSC/DCS/APC strings
//! that must never be typed into the text. This parser is stateful across reads, so a sequence
//! split over several SSH packets decodes the same as one arriving whole. A lone Esc is resolved
//! by the caller's timeout ([`InputParser::on_timeout`]) — the standard trick, as in vim and tmux.
//!
//! Memory is bounded: escape sequences are capped, and a paste larger than the limit (the TUI
//! draft's cap, a few KiB — never the upload limit) is counted but not kept: past the limit the
//! buffer is freed, the rest is swallowed up to the end marker, and one
//! [`Input::PasteTooLarge`] reports it. The caller may also drop a paste in flight
//! ([`InputParser::drop_paste`]) when it cannot afford the memory.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// How long a lone Esc waits for the rest of a sequence before it counts as the Esc key.
pub const ESC_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(40);

/// Longest escape sequence kept; anything longer is garbage and is dropped.
const MAX_SEQUENCE: usize = 64;
const PASTE_END: &[u8] = b"\x1b[201~";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Key(KeyEvent),
    /// A bracketed paste, line endings normalised to `\n`.
    Paste(String),
    /// A bracketed paste over the limit: its bytes were discarded.
    PasteTooLarge {
        bytes: usize,
    },
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Ground,
    /// Saw ESC, waiting for what follows (or the timeout).
    Escape,
    /// Inside `ESC [` … final byte.
    Csi,
    /// Saw `ESC O`.
    Ss3,
    /// Inside an OSC/DCS/APC/PM/SOS string; `esc` = the previous byte was ESC (maybe ST).
    String {
        esc: bool,
    },
    /// Inside a bracketed paste.
    Paste,
}

pub struct InputParser {
    state: State,
    sequence: Vec<u8>,
    utf8: Vec<u8>,
    /// The paste so far, or (once it passed the limit) only the last bytes, to spot its end.
    paste: Vec<u8>,
    paste_len: usize,
    /// The paste in flight passed the limit (or was dropped): nothing more of it is kept.
    paste_dropped: bool,
    paste_limit: usize,
}

impl InputParser {
    /// `paste_limit`: the largest paste kept, in bytes (the upload size limit).
    pub fn new(paste_limit: usize) -> Self {
        Self {
            state: State::Ground,
            sequence: Vec::new(),
            utf8: Vec::new(),
            paste: Vec::new(),
            paste_len: 0,
            paste_dropped: false,
            paste_limit,
        }
    }

    /// True when a lone Esc or an unfinished sequence waits: arm [`ESC_TIMEOUT`] and call
    /// [`InputParser::on_timeout`] if no byte arrives in time.
    pub fn is_waiting(&self) -> bool {
        matches!(
            self.state,
            State::Escape | State::Csi | State::Ss3 | State::String { .. }
        )
    }

    /// No more bytes came: a lone Esc is the Esc key; an unfinished sequence is dropped.
    pub fn on_timeout(&mut self, out: &mut Vec<Input>) {
        if self.state == State::Escape {
            out.push(key(KeyCode::Esc, KeyModifiers::NONE));
        }
        if self.state != State::Paste {
            self.state = State::Ground;
            self.sequence.clear();
        }
    }

    /// Changes the largest paste kept (e.g. to what still fits in the draft); a paste in flight
    /// already past the new limit is dropped.
    pub fn set_paste_limit(&mut self, limit: usize) {
        self.paste_limit = limit;
        if self.paste.len() > limit + PASTE_END.len() {
            self.drop_paste();
        }
    }

    /// Bytes held for a paste in flight (0 when no paste is arriving).
    pub fn buffered(&self) -> usize {
        if self.state == State::Paste {
            self.paste.capacity()
        } else {
            0
        }
    }

    /// Keeps nothing more of the paste in flight; its end still reports
    /// [`Input::PasteTooLarge`] with its full length.
    pub fn drop_paste(&mut self) {
        if self.state == State::Paste && !self.paste_dropped {
            self.paste_dropped = true;
            let mut kept = std::mem::take(&mut self.paste);
            let tail = kept.len().saturating_sub(PASTE_END.len() - 1);
            self.paste = kept.split_off(tail);
            zeroize::Zeroize::zeroize(&mut kept);
        }
    }

    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Input>) {
        let mut rest = bytes;
        while let Some((&first, tail)) = rest.split_first() {
            if self.state == State::Paste && first != 0x1b && !self.paste_end_pending() {
                // The body of a paste: everything up to the next ESC at once (a paste flood
                // costs a copy per byte, not a trip through the state machine).
                let run = rest.iter().position(|&b| b == 0x1b).unwrap_or(rest.len());
                self.paste_run(&rest[..run]);
                rest = &rest[run..];
                continue;
            }
            self.byte(first, out);
            rest = tail;
        }
    }

    /// The paste so far may end in the first bytes of its end marker.
    fn paste_end_pending(&self) -> bool {
        let tail = self.paste.len().saturating_sub(PASTE_END.len() - 1);
        self.paste[tail..].contains(&0x1b)
    }

    /// Appends to the paste, growing the buffer no further than the limit needs (what it holds
    /// is what the draft budget is charged).
    fn keep(&mut self, bytes: &[u8]) {
        let needed = self.paste.len() + bytes.len();
        if needed > self.paste.capacity() {
            let roof = self.paste_limit + PASTE_END.len();
            let want = needed.max((self.paste.capacity() * 2).min(roof));
            self.paste.reserve_exact(want - self.paste.len());
        }
        self.paste.extend_from_slice(bytes);
    }

    /// Takes a run of paste bytes that holds no ESC (so no end marker).
    fn paste_run(&mut self, run: &[u8]) {
        self.paste_len += run.len();
        if self.paste_dropped {
            let keep = run.len().min(PASTE_END.len() - 1);
            self.paste.clear();
            self.paste.extend_from_slice(&run[run.len() - keep..]);
            return;
        }
        self.keep(run);
        if self.paste.len() > self.paste_limit + PASTE_END.len() {
            self.drop_paste();
        }
    }

    fn byte(&mut self, byte: u8, out: &mut Vec<Input>) {
        match self.state {
            State::Ground => self.ground(byte, out),
            State::Escape => match byte {
                b'[' => self.enter(State::Csi),
                b'O' => self.enter(State::Ss3),
                b']' | b'P' | b'_' | b'^' | b'X' => self.enter(State::String { esc: false }),
                0x1b => out.push(key(KeyCode::Esc, KeyModifiers::NONE)),
                0x20..=0x7e => {
                    self.state = State::Ground;
                    out.push(key(KeyCode::Char(byte as char), KeyModifiers::ALT));
                }
                _ => {
                    self.state = State::Ground;
                    out.push(key(KeyCode::Esc, KeyModifiers::NONE));
                    self.ground(byte, out);
                }
            },
            State::Csi => {
                self.sequence.push(byte);
                if (0x40..=0x7e).contains(&byte) {
                    self.state = State::Ground;
                    let sequence = std::mem::take(&mut self.sequence);
                    self.csi(&sequence, out);
                } else if self.sequence.len() > MAX_SEQUENCE || !(0x20..=0x3f).contains(&byte) {
                    self.state = State::Ground;
                    self.sequence.clear();
                }
            }
            State::Ss3 => {
                self.state = State::Ground;
                if let Some(code) = ss3_key(byte) {
                    out.push(key(code, KeyModifiers::NONE));
                }
            }
            State::String { esc } => match byte {
                0x07 => self.state = State::Ground,
                b'\\' if esc => self.state = State::Ground,
                0x1b => self.state = State::String { esc: true },
                _ => self.state = State::String { esc: false },
            },
            State::Paste => self.paste_byte(byte, out),
        }
    }

    fn enter(&mut self, state: State) {
        self.state = state;
        self.sequence.clear();
    }

    fn ground(&mut self, byte: u8, out: &mut Vec<Input>) {
        if !self.utf8.is_empty() || byte >= 0x80 {
            self.utf8_byte(byte, out);
            return;
        }
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let event = match byte {
            0x1b => {
                self.state = State::Escape;
                return;
            }
            b'\r' | b'\n' => key(KeyCode::Enter, none),
            b'\t' => key(KeyCode::Tab, none),
            0x7f | 0x08 => key(KeyCode::Backspace, none),
            0x00 => key(KeyCode::Char(' '), ctrl),
            0x01..=0x1a => key(KeyCode::Char((b'a' + byte - 1) as char), ctrl),
            0x1c..=0x1f => key(KeyCode::Char((b'4' + byte - 0x1c) as char), ctrl),
            _ => key(KeyCode::Char(byte as char), none),
        };
        out.push(event);
    }

    fn utf8_byte(&mut self, byte: u8, out: &mut Vec<Input>) {
        if self.utf8.is_empty() && !(0xc2..=0xf4).contains(&byte) {
            return; // a stray continuation or invalid lead byte: drop it
        }
        if !self.utf8.is_empty() && byte & 0xc0 != 0x80 {
            // The sequence broke off: drop it and read this byte afresh.
            self.utf8.clear();
            self.ground(byte, out);
            return;
        }
        self.utf8.push(byte);
        let want = match self.utf8[0] {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        if self.utf8.len() == want {
            if let Ok(text) = std::str::from_utf8(&self.utf8)
                && let Some(ch) = text.chars().next()
            {
                out.push(key(KeyCode::Char(ch), KeyModifiers::NONE));
            }
            self.utf8.clear();
        }
    }

    fn csi(&mut self, sequence: &[u8], out: &mut Vec<Input>) {
        let (body, last) = sequence.split_at(sequence.len() - 1);
        let final_byte = last[0];
        // Private replies (mouse `<`, DA `?`, `>`) and anything with intermediates: swallow.
        if body
            .first()
            .is_some_and(|b| matches!(b, b'<' | b'?' | b'>' | b'='))
        {
            return;
        }
        let params: Vec<u16> = std::str::from_utf8(body)
            .unwrap_or("")
            .split(';')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        let first = params.first().copied().unwrap_or(0);
        let modifiers = params.get(1).map_or(KeyModifiers::NONE, |m| modifiers(*m));
        let code = match final_byte {
            b'Z' => KeyCode::BackTab,
            // `CSI R` is a cursor position report far more often than F3 (old terminals):
            // swallow it; focus reports, kitty keys and the rest too.
            b'R' => return,
            b'~' => match first {
                200 => {
                    self.state = State::Paste;
                    self.paste = Vec::new();
                    self.paste_len = 0;
                    self.paste_dropped = false;
                    return;
                }
                1 | 7 => KeyCode::Home,
                2 => KeyCode::Insert,
                3 => KeyCode::Delete,
                4 | 8 => KeyCode::End,
                5 => KeyCode::PageUp,
                6 => KeyCode::PageDown,
                11..=15 => KeyCode::F((first - 10) as u8),
                17..=21 => KeyCode::F((first - 11) as u8),
                23 | 24 => KeyCode::F((first - 12) as u8),
                _ => return,
            },
            // Arrows, Home/End and F1–F4 share their final byte with SS3.
            other => match ss3_key(other) {
                Some(code) => code,
                None => return,
            },
        };
        out.push(key(code, modifiers));
    }

    fn paste_byte(&mut self, byte: u8, out: &mut Vec<Input>) {
        self.paste_len += 1;
        if self.paste_dropped && self.paste.len() == PASTE_END.len() {
            // Past the limit only a terminator-sized window is kept.
            self.paste.remove(0);
        }
        self.keep(&[byte]);
        if !self.paste.ends_with(PASTE_END) {
            if !self.paste_dropped && self.paste.len() > self.paste_limit + PASTE_END.len() {
                self.drop_paste();
            }
            return;
        }
        self.state = State::Ground;
        let bytes = self.paste_len - PASTE_END.len();
        let mut data = std::mem::take(&mut self.paste);
        self.paste_len = 0;
        if self.paste_dropped || bytes > self.paste_limit {
            self.paste_dropped = false;
            out.push(Input::PasteTooLarge { bytes });
            return;
        }
        data.truncate(bytes);
        let mut text = String::from_utf8_lossy(&data)
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        zeroize::Zeroize::zeroize(&mut data);
        // Each invalid byte decodes to U+FFFD, three bytes: the kept text, not just the raw
        // paste, must fit the limit (found by fuzzing, tests/fuzz/corpus/tui_input/regression-*).
        if text.len() > self.paste_limit {
            let bytes = text.len();
            zeroize::Zeroize::zeroize(&mut text);
            out.push(Input::PasteTooLarge { bytes });
            return;
        }
        out.push(Input::Paste(text));
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Input {
    Input::Key(KeyEvent::new(code, modifiers))
}

fn ss3_key(byte: u8) -> Option<KeyCode> {
    Some(match byte {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        _ => return None,
    })
}

/// xterm modifier parameter: 1 + bitmask (1 shift, 2 alt, 4 ctrl).
fn modifiers(param: u16) -> KeyModifiers {
    let bits = param.saturating_sub(1);
    let mut m = KeyModifiers::NONE;
    if bits & 1 != 0 {
        m |= KeyModifiers::SHIFT;
    }
    if bits & 2 != 0 {
        m |= KeyModifiers::ALT;
    }
    if bits & 4 != 0 {
        m |= KeyModifiers::CONTROL;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Vec<Input> {
        let mut parser = InputParser::new(1 << 20);
        let mut out = Vec::new();
        parser.feed(bytes, &mut out);
        parser.on_timeout(&mut out);
        out
    }

    /// Feeds one byte at a time: the worst possible packet split.
    fn parse_split(bytes: &[u8]) -> Vec<Input> {
        let mut parser = InputParser::new(1 << 20);
        let mut out = Vec::new();
        for b in bytes {
            parser.feed(std::slice::from_ref(b), &mut out);
        }
        parser.on_timeout(&mut out);
        out
    }

    fn k(code: KeyCode) -> Input {
        key(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> Input {
        key(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn plain_text_and_control_bytes() {
        assert_eq!(
            parse(b"hi\r\x03\x04\x7f\t"),
            vec![
                k(KeyCode::Char('h')),
                k(KeyCode::Char('i')),
                k(KeyCode::Enter),
                ctrl('c'),
                ctrl('d'),
                k(KeyCode::Backspace),
                k(KeyCode::Tab),
            ]
        );
    }

    #[test]
    fn utf8_survives_any_split() {
        let text = "héllo → 秘密 🔑";
        let want: Vec<Input> = text.chars().map(|c| k(KeyCode::Char(c))).collect();
        assert_eq!(parse(text.as_bytes()), want);
        assert_eq!(parse_split(text.as_bytes()), want);
    }

    #[test]
    fn arrows_function_keys_and_modifiers() {
        let bytes = b"\x1b[A\x1bOB\x1b[1;5C\x1b[3~\x1b[15~\x1bOP\x1b[Z";
        let want = vec![
            k(KeyCode::Up),
            k(KeyCode::Down),
            key(KeyCode::Right, KeyModifiers::CONTROL),
            k(KeyCode::Delete),
            k(KeyCode::F(5)),
            k(KeyCode::F(1)),
            k(KeyCode::BackTab),
        ];
        assert_eq!(parse(bytes), want);
        assert_eq!(parse_split(bytes), want);
    }

    #[test]
    fn a_lone_esc_needs_the_timeout() {
        let mut parser = InputParser::new(64);
        let mut out = Vec::new();
        parser.feed(b"\x1b", &mut out);
        assert!(out.is_empty());
        assert!(parser.is_waiting());
        parser.on_timeout(&mut out);
        assert_eq!(out, vec![k(KeyCode::Esc)]);
        assert!(!parser.is_waiting());
    }

    #[test]
    fn alt_letters_and_double_esc() {
        assert_eq!(
            parse(b"\x1bx\x1b\x1b"),
            vec![
                key(KeyCode::Char('x'), KeyModifiers::ALT),
                k(KeyCode::Esc),
                k(KeyCode::Esc)
            ]
        );
    }

    #[test]
    fn terminal_replies_are_swallowed_never_typed() {
        // OSC 11 colour reply (BEL and ST terminated), DCS, APC, DA1, cursor position, mouse.
        let bytes = b"a\x1b]11;rgb:1a1a/1a1a/1a1a\x07b\x1b]52;c;Zm9v\x1b\\c\x1bP>|xterm(1)\x1b\\\
                      \x1b_Gi=1;OK\x1b\\\x1b[?62;22c\x1b[12;40R\x1b[<0;10;5Md";
        let want: Vec<Input> = "abcd".chars().map(|c| k(KeyCode::Char(c))).collect();
        assert_eq!(parse(bytes), want);
        assert_eq!(parse_split(bytes), want);
    }

    #[test]
    fn garbage_never_panics_and_text_after_it_still_arrives() {
        let mut bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        bytes.extend_from_slice(
            b"\x1b[999999999999999999999999999999999999999999999999999999999999999999m",
        );
        let _ = parse(&bytes);
        let _ = parse_split(&bytes);
        let mut parser = InputParser::new(64);
        let mut out = Vec::new();
        parser.feed(&bytes, &mut out);
        parser.on_timeout(&mut out);
        out.clear();
        parser.feed(b"ok", &mut out);
        assert_eq!(out, vec![k(KeyCode::Char('o')), k(KeyCode::Char('k'))]);
    }

    #[test]
    fn bracketed_paste_is_one_event_with_normalised_lines() {
        let bytes = b"x\x1b[200~line1\r\nline2\rline3\x1b[A\x03\x1b[201~y";
        let want = vec![
            k(KeyCode::Char('x')),
            Input::Paste("line1\nline2\nline3\x1b[A\x03".into()),
            k(KeyCode::Char('y')),
        ];
        assert_eq!(parse(bytes), want);
        assert_eq!(parse_split(bytes), want);
    }

    #[test]
    fn a_one_mebibyte_paste_arrives_whole_across_many_reads() {
        let body: String = "0123456789abcdef\n".repeat((1 << 20) / 17);
        let mut bytes = b"\x1b[200~".to_vec();
        bytes.extend_from_slice(body.as_bytes());
        bytes.extend_from_slice(PASTE_END);
        let mut parser = InputParser::new(1 << 20);
        let mut out = Vec::new();
        for piece in bytes.chunks(32 * 1024 + 3) {
            parser.feed(piece, &mut out);
            assert!(out.is_empty() || matches!(out[0], Input::Paste(_)));
        }
        assert_eq!(out, vec![Input::Paste(body)]);
    }

    #[test]
    fn an_oversized_paste_is_reported_not_kept() {
        let mut parser = InputParser::new(1000);
        let mut out = Vec::new();
        parser.feed(b"\x1b[200~", &mut out);
        for _ in 0..100 {
            parser.feed(&[b'z'; 1000], &mut out);
        }
        assert!(
            parser.buffered() < 64,
            "past the limit the buffer is freed, not kept at the limit: {}",
            parser.buffered()
        );
        parser.feed(PASTE_END, &mut out);
        parser.feed(b"q", &mut out);
        assert_eq!(
            out,
            vec![
                Input::PasteTooLarge { bytes: 100_000 },
                k(KeyCode::Char('q'))
            ]
        );
    }

    #[test]
    fn a_dropped_paste_is_swallowed_to_its_end_and_reported_whole() {
        let mut parser = InputParser::new(1 << 20);
        let mut out = Vec::new();
        parser.feed(b"\x1b[200~", &mut out);
        parser.feed(&[b'z'; 5000], &mut out);
        parser.drop_paste();
        assert!(parser.buffered() < 64);
        parser.feed(&[b'\x13'; 5000], &mut out);
        parser.feed(b"\x1b[201", &mut out);
        parser.feed(b"~x", &mut out);
        assert_eq!(
            out,
            vec![
                Input::PasteTooLarge { bytes: 10_000 },
                k(KeyCode::Char('x'))
            ],
            "nothing of the paste became a key"
        );
    }

    #[test]
    fn a_paste_of_exactly_the_limit_is_kept() {
        let mut parser = InputParser::new(10);
        let mut out = Vec::new();
        parser.feed(b"\x1b[200~0123456789\x1b[201~", &mut out);
        assert_eq!(out, vec![Input::Paste("0123456789".into())]);
    }

    #[test]
    fn invalid_utf8_cannot_grow_a_paste_past_the_limit() {
        // Found by fuzzing: ten 0xff bytes decode to ten U+FFFD, thirty bytes of text.
        let mut parser = InputParser::new(10);
        let mut out = Vec::new();
        parser.feed(
            b"\x1b[200~\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x1b[201~",
            &mut out,
        );
        assert_eq!(out, vec![Input::PasteTooLarge { bytes: 30 }]);
    }
}
