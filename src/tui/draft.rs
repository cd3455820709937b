//! The secret being composed in the TUI: a small line editor whose every keystroke costs work
//! bounded by the draft's caps, never by how much was typed or pasted before.
//!
//! It replaces a general text-area widget that rebuilt its whole line map (and kept an undo copy
//! of every paste) on each key: with a few megabytes of short lines, one keystroke cost
//! milliseconds and one read of keys froze a runtime worker. Here an edit touches the cursor's
//! line and, for a line break, the table of lines — both bounded by [`DRAFT_CAP`] and
//! [`MAX_LINES`] — and the size is kept as a running count. An edit that would pass either cap is
//! refused whole ([`Full`]); nothing is truncated silently. Drawing walks only the visible rows.
//!
//! Large secrets belong to the pipe and scp paths, which stream to disk; the screen says so when
//! the cap is reached. The text is zeroized when the draft is dropped.

use std::cell::Cell;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use zeroize::{Zeroize, Zeroizing};

/// Largest draft, in bytes as uploaded (lines joined with `\n`). A .env file or a private key is
/// a few KiB; anything larger streams through `cat FILE | ssh host` or `scp FILE host:`.
pub const DRAFT_CAP: usize = 64 * 1024;
/// Most lines in a draft: bounds the line table an inserted or removed line break shifts.
pub const MAX_LINES: usize = 8192;
/// Rows PageUp / PageDown move the cursor.
const PAGE: usize = 10;
/// Columns a tab takes on screen.
const TAB_WIDTH: usize = 4;

/// The edit was refused whole: the draft would pass a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// More bytes than the draft's cap.
    Bytes,
    /// More lines than [`MAX_LINES`].
    Lines,
}

pub struct Draft {
    /// Never empty: an empty draft is one empty line.
    lines: Vec<String>,
    row: usize,
    /// Byte offset in `lines[row]`, always on a char boundary.
    col: usize,
    /// Bytes as uploaded: the lines' bytes plus one `\n` between each pair.
    size: usize,
    cap: usize,
    /// First visible row and column, kept by drawing so the cursor stays in view.
    top: Cell<usize>,
    left: Cell<usize>,
    /// Bytes and line-table entries moved by edits: what the bounded-work tests count.
    #[cfg(test)]
    pub(crate) work: usize,
}

impl Draft {
    /// An empty draft holding at most `cap` bytes (never more than [`DRAFT_CAP`]).
    pub fn new(cap: usize) -> Draft {
        Draft {
            lines: vec![String::new()],
            row: 0,
            col: 0,
            size: 0,
            cap: cap.min(DRAFT_CAP),
            top: Cell::new(0),
            left: Cell::new(0),
            #[cfg(test)]
            work: 0,
        }
    }

    /// Bytes as they would be uploaded.
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The whole text, lines joined with `\n` (a copy that zeroizes itself).
    pub fn text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(self.size));
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(line);
        }
        text
    }

    /// Inserts `text` at the cursor, all of it or (over a cap) none of it.
    pub fn insert_str(&mut self, text: &str) -> Result<(), Full> {
        let breaks = text.bytes().filter(|b| *b == b'\n').count();
        if self.size + text.len() > self.cap {
            return Err(Full::Bytes);
        }
        if self.lines.len() + breaks > MAX_LINES {
            return Err(Full::Lines);
        }
        let mut pieces = text.split('\n');
        if let Some(first) = pieces.next() {
            self.insert_piece(first);
        }
        for piece in pieces {
            self.break_line();
            self.insert_piece(piece);
        }
        Ok(())
    }

    /// Applies an editing or movement key; `Ok(false)` when the key means nothing here.
    pub fn key(&mut self, key: KeyEvent) -> Result<bool, Full> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char(ch) if !ctrl && !alt => {
                let mut buf = [0u8; 4];
                self.insert_str(ch.encode_utf8(&mut buf))?;
            }
            KeyCode::Enter => self.insert_str("\n")?,
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left => self.left(),
            KeyCode::Right => self.right(),
            KeyCode::Up => self.vertical(-1),
            KeyCode::Down => self.vertical(1),
            KeyCode::PageUp => self.vertical(-(PAGE as isize)),
            KeyCode::PageDown => self.vertical(PAGE as isize),
            KeyCode::Home => self.col = 0,
            KeyCode::End => self.col = self.lines[self.row].len(),
            KeyCode::Char('a') if ctrl => self.col = 0,
            KeyCode::Char('e') if ctrl => self.col = self.lines[self.row].len(),
            KeyCode::Char('u') if ctrl => self.kill(0..self.col),
            KeyCode::Char('k') if ctrl => self.kill(self.col..self.lines[self.row].len()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn insert_piece(&mut self, piece: &str) {
        if piece.is_empty() {
            return;
        }
        self.count(self.lines[self.row].len() - self.col);
        self.lines[self.row].insert_str(self.col, piece);
        self.col += piece.len();
        self.size += piece.len();
    }

    fn break_line(&mut self) {
        let rest = self.lines[self.row].split_off(self.col);
        self.count(rest.len() + self.lines.len() - self.row);
        self.lines.insert(self.row + 1, rest);
        self.row += 1;
        self.col = 0;
        self.size += 1;
    }

    fn backspace(&mut self) {
        if self.col > 0 {
            let line = &mut self.lines[self.row];
            let start = floor_char(line, self.col - 1);
            self.kill(start..self.col);
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.count(line.len() + self.lines.len() - self.row + 1);
            self.row -= 1;
            self.col = self.lines[self.row].len();
            self.lines[self.row].push_str(&line);
            self.size -= 1;
            let mut line = line;
            line.zeroize();
        }
    }

    fn delete(&mut self) {
        let len = self.lines[self.row].len();
        if self.col < len {
            let end = ceil_char(&self.lines[self.row], self.col + 1);
            let col = self.col;
            self.kill(col..end);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.count(next.len() + self.lines.len() - self.row);
            self.lines[self.row].push_str(&next);
            self.size -= 1;
            let mut next = next;
            next.zeroize();
        }
    }

    /// Removes a byte range of the cursor's line; the cursor lands at its start.
    fn kill(&mut self, range: std::ops::Range<usize>) {
        self.count(self.lines[self.row].len() - range.start);
        let removed: String = self.lines[self.row].drain(range.clone()).collect();
        self.size -= removed.len();
        self.col = range.start;
        let mut removed = removed;
        removed.zeroize();
    }

    fn left(&mut self) {
        if self.col > 0 {
            self.col = floor_char(&self.lines[self.row], self.col - 1);
        } else if self.row > 0 {
            self.row -= 1;
            self.col = self.lines[self.row].len();
        }
    }

    fn right(&mut self) {
        let line = &self.lines[self.row];
        if self.col < line.len() {
            self.col = ceil_char(line, self.col + 1);
        } else if self.row + 1 < self.lines.len() {
            self.row += 1;
            self.col = 0;
        }
    }

    /// Moves `rows` up (negative) or down, keeping the column in characters where it fits.
    fn vertical(&mut self, rows: isize) {
        let chars = self.lines[self.row][..self.col].chars().count();
        let last = self.lines.len() - 1;
        self.row = self.row.saturating_add_signed(rows).min(last);
        let line = &self.lines[self.row];
        self.col = line
            .char_indices()
            .nth(chars)
            .map_or(line.len(), |(i, _)| i);
    }

    #[cfg(test)]
    fn count(&mut self, units: usize) {
        self.work += units;
    }

    #[cfg(not(test))]
    fn count(&mut self, _units: usize) {}

    /// Draws the visible window of the draft into `area`, the cursor cell in `cursor`
    /// (the placeholder, in `placeholder`, while empty), scrolled so the cursor is in view.
    pub fn render(
        &self,
        area: Rect,
        buf: &mut Buffer,
        text: Style,
        cursor: Style,
        placeholder: (&str, Style),
    ) {
        let (height, width) = (usize::from(area.height), usize::from(area.width));
        if height == 0 || width == 0 {
            return;
        }
        if self.lines.len() == 1 && self.lines[0].is_empty() {
            let line = Line::from(vec![
                Span::styled(" ", cursor),
                Span::styled(placeholder.0.to_owned(), placeholder.1),
            ]);
            Paragraph::new(line).style(text).render(area, buf);
            return;
        }
        let top = scroll(self.top.get(), self.row, height);
        self.top.set(top);
        let cursor_x = columns(&self.lines[self.row][..self.col]);
        let left = scroll(self.left.get(), cursor_x, width);
        self.left.set(left);
        let end = (top + height).min(self.lines.len());
        let lines: Vec<Line> = (top..end)
            .map(|row| {
                let at = (row == self.row).then_some(self.col);
                visible(&self.lines[row], at, left, width, text, cursor)
            })
            .collect();
        Paragraph::new(lines).style(text).render(area, buf);
    }
}

impl Drop for Draft {
    fn drop(&mut self) {
        for line in &mut self.lines {
            line.zeroize();
        }
    }
}

/// The first visible index so that `at` lies within a window of `span` starting near `from`.
fn scroll(from: usize, at: usize, span: usize) -> usize {
    if at < from {
        at
    } else if at >= from + span {
        at + 1 - span
    } else {
        from
    }
}

fn char_columns(ch: char) -> usize {
    if ch == '\t' { TAB_WIDTH } else { 1 }
}

fn columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

/// What a character looks like on screen: tabs as spaces, other control characters as `�` (a
/// control byte must never reach the client's terminal as itself).
fn shown(ch: char) -> char {
    if ch.is_control() { '\u{fffd}' } else { ch }
}

/// One row of the draft from column `left`, `width` columns wide, the cursor drawn at byte `at`.
fn visible(
    line: &str,
    at: Option<usize>,
    left: usize,
    width: usize,
    text: Style,
    cursor: Style,
) -> Line<'static> {
    let mut before = String::new();
    let mut under = None;
    let mut after = String::new();
    let mut x = 0usize;
    for (i, ch) in line.char_indices() {
        if x >= left + width {
            break;
        }
        let cols = char_columns(ch);
        let start = x;
        x += cols;
        if x <= left {
            continue;
        }
        let glyph: String = if ch == '\t' {
            " ".repeat(cols - left.saturating_sub(start))
        } else {
            shown(ch).to_string()
        };
        match at {
            Some(c) if c == i => under = Some(glyph),
            Some(c) if c < i => after.push_str(&glyph),
            _ => before.push_str(&glyph),
        }
    }
    let mut spans = vec![Span::styled(before, text)];
    match (at, under) {
        (Some(_), Some(glyph)) => spans.push(Span::styled(glyph, cursor)),
        (Some(_), None) => spans.push(Span::styled(" ", cursor)),
        (None, _) => {}
    }
    spans.push(Span::styled(after, text));
    Line::from(spans)
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(draft: &mut Draft, text: &str) {
        for ch in text.chars() {
            let code = if ch == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(ch)
            };
            draft.key(key(code)).unwrap();
        }
    }

    #[test]
    fn typing_editing_and_moving_give_the_expected_text_and_size() {
        let mut d = Draft::new(1024);
        typed(&mut d, "héllo\nwörld");
        assert_eq!(d.text().as_str(), "héllo\nwörld");
        assert_eq!(d.size(), "héllo\nwörld".len());
        d.key(key(KeyCode::Up)).unwrap();
        d.key(key(KeyCode::Backspace)).unwrap();
        d.key(key(KeyCode::Home)).unwrap();
        d.key(key(KeyCode::Delete)).unwrap();
        d.key(key(KeyCode::End)).unwrap();
        d.key(key(KeyCode::Delete)).unwrap(); // joins the next line
        assert_eq!(d.text().as_str(), "éllwörld");
        d.key(key(KeyCode::Left)).unwrap();
        d.key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL))
            .unwrap();
        d.insert_str("X\nY").unwrap();
        assert_eq!(d.text().as_str(), "élX\nY");
        assert_eq!(d.size(), d.text().len());
        d.key(key(KeyCode::Home)).unwrap();
        d.key(key(KeyCode::Backspace)).unwrap();
        assert_eq!(d.text().as_str(), "élXY");
        assert_eq!(d.size(), d.text().len());
    }

    #[test]
    fn an_edit_over_a_cap_is_refused_whole() {
        let mut d = Draft::new(10);
        assert_eq!(d.insert_str("0123456789a"), Err(Full::Bytes));
        assert!(d.is_empty());
        d.insert_str("0123456789").unwrap();
        assert_eq!(d.key(key(KeyCode::Char('x'))), Err(Full::Bytes));
        assert_eq!(d.key(key(KeyCode::Enter)), Err(Full::Bytes));
        assert_eq!(d.size(), 10);

        let mut d = Draft::new(DRAFT_CAP);
        let too_many = "\n".repeat(MAX_LINES);
        assert_eq!(d.insert_str(&too_many), Err(Full::Lines));
        d.insert_str(&too_many[1..]).unwrap();
        assert_eq!(d.key(key(KeyCode::Enter)), Err(Full::Lines));
        assert_eq!(Draft::new(usize::MAX).cap(), DRAFT_CAP);
    }

    /// The draft drawn into a 20×5 area, row by row.
    fn drawn(d: &Draft) -> Vec<String> {
        let area = Rect::new(0, 0, 20, 5);
        let mut buf = Buffer::empty(area);
        d.render(
            area,
            &mut buf,
            Style::new(),
            Style::new(),
            ("", Style::new()),
        );
        (0..5)
            .map(|y| (0..20).map(|x| buf[(x, y)].symbol().to_owned()).collect())
            .collect()
    }

    #[test]
    fn drawing_scrolls_to_the_cursor_and_never_emits_control_characters() {
        let mut d = Draft::new(DRAFT_CAP);
        d.insert_str("a\x1b[31mb\tc").unwrap();
        for i in 0..50 {
            d.insert_str(&format!("\nline {i}")).unwrap();
        }
        let rows = drawn(&d);
        assert!(rows[4].starts_with("line 49"), "{rows:?}");
        for _ in 0..60 {
            d.key(key(KeyCode::Up)).unwrap();
        }
        let rows = drawn(&d);
        assert!(rows[0].starts_with("a\u{fffd}[31mb    c"), "{rows:?}");
    }
}
