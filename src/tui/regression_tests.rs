//! Regression tests for the TUI bugs of issue #12 ("Broken today"), each asserting on the
//! rendered buffer or the state a person would see: the header's accent, 16-colour terminals
//! on light backgrounds, the OPENED receipt flipping the whole screen, the idle warning's
//! dismissing key, and the My shares columns. Each failed before its fix.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::colors::{Depth, Styles};
use super::snapshot_tests::{NOW, armed, link, shares, shares_at, state, text_of};
use super::state::Screen;
use super::update::{Action, update};
use super::view;
use crate::share::StatusState;
use crate::theme::Theme;

fn buffer_of(s: &super::state::State) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(s.cols, s.rows)).unwrap();
    terminal
        .draw(|frame| {
            view::render(s, frame);
        })
        .unwrap();
    terminal.backend().buffer().clone()
}

fn row_text(buffer: &Buffer, y: u16) -> String {
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol().to_owned())
        .collect()
}

/// The first cell of `needle` on row `y`.
fn find_in_row(buffer: &Buffer, y: u16, needle: &str) -> Option<u16> {
    let cells: Vec<String> = (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol().to_owned())
        .collect();
    let n: Vec<String> = needle.chars().map(String::from).collect();
    (0..cells.len().saturating_sub(n.len() - 1))
        .find(|&i| cells[i..i + n.len()] == n[..])
        .map(|i| i as u16)
}

#[test]
fn the_header_accent_bar_stays_orange_and_the_separator_muted_on_every_screen() {
    for make in [
        |d| state(d, 80, 24),
        |d| armed(d, 80, 24),
        |_| shares(80, 24),
    ] {
        let s = make(Depth::TrueColor);
        let buffer = buffer_of(&s);
        let bar = find_in_row(&buffer, 0, "▌").expect("the accent bar");
        assert_eq!(
            buffer[(bar, 0)].fg,
            s.styles.accent,
            "{}",
            row_text(&buffer, 0)
        );
        let slash = find_in_row(&buffer, 0, "/").expect("a separator in the header");
        assert_eq!(buffer[(slash, 0)].fg, s.styles.muted);
    }
}

#[test]
fn sixteen_colours_use_the_terminals_own_foreground_and_background() {
    let styles = Styles::new(&Theme::industrial_urgency().colors, Depth::Ansi16);
    assert_eq!(
        styles.text,
        Color::Reset,
        "text in the terminal's own foreground"
    );
    assert_eq!(styles.background, Color::Reset);
    let roles = [styles.accent, styles.danger, styles.success, styles.warning];
    for (i, a) in roles.iter().enumerate() {
        for b in &roles[i + 1..] {
            assert_ne!(a, b, "accent, danger, success and warning stay distinct");
        }
    }
    // Red and bright red read as the same colour: accent and danger may not be that pair.
    let reds = [Color::Red, Color::LightRed];
    assert!(!(reds.contains(&styles.accent) && reds.contains(&styles.danger)));
    // Nothing on any screen is painted white or black on the terminal's own background:
    // invisible on one background or the other. (The QR code names both of its colours.)
    for s in [
        state(Depth::Ansi16, 80, 24),
        armed(Depth::Ansi16, 80, 24),
        shares_at(Depth::Ansi16, 80, 24),
    ] {
        let buffer = buffer_of(&s);
        for cell in buffer.content() {
            let explicit = [Color::White, Color::Black].contains(&cell.bg);
            assert!(
                explicit || ![Color::White, Color::Black, Color::Gray].contains(&cell.fg),
                "a cell {:?} in {:?} vanishes on a light or dark background",
                cell.symbol(),
                cell.fg
            );
        }
    }
}

#[test]
fn the_opened_receipt_flips_header_link_clipboard_line_and_footer_together() {
    let mut s = armed(Depth::TrueColor, 100, 32);
    update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE)),
    );
    update(
        &mut s,
        Action::Watched(Some(StatusState::Opened { at: NOW + 4_000 })),
    );
    let buffer = buffer_of(&s);
    let screen = text_of(&s);
    let header = row_text(&buffer, 0);
    assert!(header.contains("OPENED"), "{header}");
    assert!(!header.contains("ARMED"), "{header}");
    assert!(!screen.contains("CLIPBOARD"), "{screen}");
    assert!(!screen.contains("COPIED"), "{screen}");
    let footer = row_text(&buffer, s.rows - 1);
    assert!(
        !footer.contains("COPY") && !footer.contains("QR"),
        "{footer}"
    );
    // The dead link is struck through and no longer orange.
    let start: String = link().expose().chars().take(20).collect();
    let (x, y) = (0..s.rows)
        .find_map(|y| find_in_row(&buffer, y, &start).map(|x| (x, y)))
        .expect("the dead link is still shown");
    let cell = &buffer[(x, y)];
    assert_ne!(cell.fg, s.styles.accent);
    assert!(cell.modifier.contains(Modifier::CROSSED_OUT), "{cell:?}");
}

#[test]
fn the_key_that_dismisses_the_idle_warning_is_not_typed_into_the_secret() {
    let mut s = state(Depth::TrueColor, 80, 24);
    update(&mut s, Action::IdleWarning { secs_left: 30 });
    update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)),
    );
    assert!(s.idle_left.is_none(), "the warning is gone");
    let Screen::Compose(c) = &s.screen else {
        panic!("left compose");
    };
    assert_eq!(c.text.size(), 0, "the dismissing key was swallowed");
    update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
    );
    let Screen::Compose(c) = &s.screen else {
        panic!("left compose");
    };
    assert_eq!(c.text.text().as_str(), "y", "the next key types");
}

#[test]
fn my_shares_labels_the_stored_size_and_dead_shares_show_no_countdown() {
    let s = shares(100, 32);
    let screen = text_of(&s);
    assert!(screen.contains("STORED"), "{screen}");
    assert!(!screen.contains(" SIZE "), "{screen}");
    for line in screen.lines() {
        if line.contains("OPENED") || line.contains("REVOKED") {
            assert!(
                line.contains('—'),
                "a dead share shows no time left: {line}"
            );
            assert!(!line.contains(':') || line.contains("UTC"), "{line}");
        }
    }
}
