//! A ratatui [`Backend`] for a terminal that lives at the other end of an SSH channel.
//!
//! It owns one invariant: the server never touches a terminal of its own. ratatui's stock
//! crossterm backend asks the *server's* terminal for its size (and may spawn `tput`); this one
//! only appends escape sequences to an in-memory buffer, and its size is whatever the client said
//! in pty-req / window-change (bounded, since those numbers are hostile). The session takes the
//! bytes of each frame with [`SshBackend::take`] and queues them for the channel.
//!
//! Colours are written exactly as the view chose them; depth mapping happens earlier, in
//! [`super::colors`], so the same view renders correctly at every depth and in snapshots.

use std::fmt::Write as _;
use std::io;

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

/// Largest terminal we draw for; a client claiming more gets this much (memory stays bounded).
pub const MAX_COLS: u16 = 500;
pub const MAX_ROWS: u16 = 200;

/// Clamps a client-reported size into 1..=MAX. Zero means "unknown" (OpenSSH sends 0×0 for
/// `ssh -tt` without a local terminal, RFC 4254 §6.2): that gets the classic 80×24.
pub fn bounded_size(cols: u32, rows: u32) -> Size {
    let clamp = |v: u32, unknown: u16, max: u16| match v {
        0 => unknown,
        v => v.min(u32::from(max)) as u16,
    };
    Size::new(clamp(cols, 80, MAX_COLS), clamp(rows, 24, MAX_ROWS))
}

/// Enter: alternate screen, hidden cursor, bracketed paste on, screen cleared.
pub const ENTER: &[u8] = b"\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[0m\x1b[2J\x1b[H";
/// Leave: everything [`ENTER`] changed, undone (on every exit path).
pub const LEAVE: &[u8] = b"\x1b[0m\x1b[?2004l\x1b[?25h\x1b[?1049l";

pub struct SshBackend {
    size: Size,
    out: String,
    cursor: Position,
    /// ratatui hides the cursor on every frame; the sequence is sent only when it changes, so an
    /// idle screen sends nothing at all.
    cursor_hidden: bool,
}

impl SshBackend {
    pub fn new(size: Size) -> Self {
        Self {
            size,
            out: String::with_capacity(16 * 1024),
            cursor: Position::ORIGIN,
            cursor_hidden: true,
        }
    }

    pub fn set_size(&mut self, size: Size) {
        self.size = size;
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out).into_bytes()
    }

    /// Appends raw text (e.g. an OSC 8 overlay) after the frame.
    pub fn push_raw(&mut self, text: &str) {
        self.out.push_str(text);
    }
}

/// Rewrites the link at (x, y) as an OSC 8 hyperlink in the accent colour. Sent after the frame
/// that drew the same characters, so terminals without OSC 8 still show exactly the same text.
pub fn hyperlink_overlay(x: u16, y: u16, link: &str, fg: Color, bg: Color) -> String {
    let mut out = String::with_capacity(link.len() * 2 + 48);
    let _ = write!(out, "\x1b[{};{}H", y + 1, x + 1);
    sgr(&mut out, fg, bg, Modifier::BOLD);
    let safe: String = link.chars().filter(|c| !c.is_control()).collect();
    let _ = write!(out, "\x1b]8;;{safe}\x1b\\{safe}\x1b]8;;\x1b\\\x1b[0m");
    out
}

fn sgr_color(out: &mut String, color: Color, fg: bool) {
    let base = if fg { 30 } else { 40 };
    let _ = match color {
        Color::Reset => write!(out, "{}", base + 9),
        Color::Black => write!(out, "{base}"),
        Color::Red => write!(out, "{}", base + 1),
        Color::Green => write!(out, "{}", base + 2),
        Color::Yellow => write!(out, "{}", base + 3),
        Color::Blue => write!(out, "{}", base + 4),
        Color::Magenta => write!(out, "{}", base + 5),
        Color::Cyan => write!(out, "{}", base + 6),
        Color::Gray => write!(out, "{}", base + 7),
        Color::DarkGray => write!(out, "{}", base + 60),
        Color::LightRed => write!(out, "{}", base + 61),
        Color::LightGreen => write!(out, "{}", base + 62),
        Color::LightYellow => write!(out, "{}", base + 63),
        Color::LightBlue => write!(out, "{}", base + 64),
        Color::LightMagenta => write!(out, "{}", base + 65),
        Color::LightCyan => write!(out, "{}", base + 66),
        Color::White => write!(out, "{}", base + 67),
        Color::Indexed(i) => write!(out, "{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => write!(out, "{};2;{r};{g};{b}", base + 8),
    };
}

fn sgr(out: &mut String, fg: Color, bg: Color, modifier: Modifier) {
    out.push_str("\x1b[0");
    for (flag, code) in [
        (Modifier::BOLD, ";1"),
        (Modifier::DIM, ";2"),
        (Modifier::ITALIC, ";3"),
        (Modifier::UNDERLINED, ";4"),
        (Modifier::REVERSED, ";7"),
        (Modifier::CROSSED_OUT, ";9"),
    ] {
        if modifier.contains(flag) {
            out.push_str(code);
        }
    }
    out.push(';');
    sgr_color(out, fg, true);
    out.push(';');
    sgr_color(out, bg, false);
    out.push('m');
}

impl Backend for SshBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut style: Option<(Color, Color, Modifier)> = None;
        let mut last: Option<Position> = None;
        let mut wrote = false;
        for (x, y, cell) in content {
            if x >= self.size.width || y >= self.size.height {
                continue;
            }
            if !matches!(last, Some(p) if x == p.x + 1 && y == p.y) {
                let _ = write!(self.out, "\x1b[{};{}H", y + 1, x + 1);
            }
            last = Some(Position { x, y });
            wrote = true;
            let wanted = (cell.fg, cell.bg, cell.modifier);
            if style != Some(wanted) {
                sgr(&mut self.out, cell.fg, cell.bg, cell.modifier);
                style = Some(wanted);
            }
            let symbol = cell.symbol();
            // Control characters from content must never reach the client's terminal.
            if symbol.chars().any(char::is_control) {
                self.out.push(' ');
            } else {
                self.out.push_str(symbol);
            }
        }
        if wrote {
            self.out.push_str("\x1b[0m");
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if !self.cursor_hidden {
            self.out.push_str("\x1b[?25l");
            self.cursor_hidden = true;
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_hidden {
            self.out.push_str("\x1b[?25h");
            self.cursor_hidden = false;
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let p = position.into();
        self.cursor = p;
        let _ = write!(self.out, "\x1b[{};{}H", p.y + 1, p.x + 1);
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.out.push_str("\x1b[0m\x1b[2J");
        Ok(())
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.out.push_str(match clear_type {
            ClearType::All => "\x1b[2J",
            ClearType::AfterCursor => "\x1b[J",
            ClearType::BeforeCursor => "\x1b[1J",
            ClearType::CurrentLine => "\x1b[2K",
            ClearType::UntilNewLine => "\x1b[K",
        });
        Ok(())
    }

    fn size(&self) -> io::Result<Size> {
        Ok(self.size)
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: self.size,
            pixels: Size::new(0, 0),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::widgets::Paragraph;

    #[test]
    fn hostile_sizes_are_bounded() {
        assert_eq!(bounded_size(0, 0), Size::new(80, 24));
        assert_eq!(bounded_size(1, 1), Size::new(1, 1));
        assert_eq!(
            bounded_size(u32::MAX, 70_000),
            Size::new(MAX_COLS, MAX_ROWS)
        );
        assert_eq!(bounded_size(80, 24), Size::new(80, 24));
    }

    #[test]
    fn a_frame_is_escape_sequences_and_text_and_a_second_frame_only_the_diff() {
        let mut terminal = Terminal::new(SshBackend::new(Size::new(20, 3))).unwrap();
        terminal
            .draw(|f| f.render_widget(Paragraph::new("HELLO"), f.area()))
            .unwrap();
        let first = String::from_utf8(terminal.backend_mut().take()).unwrap();
        assert!(first.contains("\x1b[1;1H"), "{first:?}");
        assert!(first.contains("HELLO"), "{first:?}");
        terminal
            .draw(|f| f.render_widget(Paragraph::new("HELLO!"), f.area()))
            .unwrap();
        let second = String::from_utf8(terminal.backend_mut().take()).unwrap();
        assert!(second.contains('!'), "{second:?}");
        assert!(
            !second.contains("HELLO"),
            "only the changed cell: {second:?}"
        );
    }

    #[test]
    fn control_characters_in_content_are_never_sent() {
        let mut terminal = Terminal::new(SshBackend::new(Size::new(20, 1))).unwrap();
        terminal
            .draw(|f| f.render_widget(Paragraph::new("a\u{1b}]52;c;x\u{7}b"), f.area()))
            .unwrap();
        let out = terminal.backend_mut().take();
        assert!(!out.windows(4).any(|w| w == b"\x1b]52"), "{out:?}");
    }
}
