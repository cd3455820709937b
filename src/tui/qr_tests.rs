//! The armed screen's QR code, read back from the rendered screen: every cell of the frame
//! becomes two pixels (a half-block cell holds two module rows), light where the cell shows the
//! QR code's light colour, and an independent decoder (`rqrr`) must find exactly the link in it
//! — at the default 100×32 and at 80×24, where it fits beside the card.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::colors::Depth;
use super::snapshot_tests::{armed, link};
use super::state::State;
use super::view;

/// Pixels per half cell: scanners (and rqrr) want modules larger than one pixel.
const SCALE: usize = 4;

fn rendered(s: &State) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(s.cols, s.rows)).unwrap();
    terminal
        .draw(|frame| {
            view::render(s, frame);
        })
        .unwrap();
    terminal.backend().buffer().clone()
}

/// Every QR code on the screen, decoded from the cells as a camera would see them.
fn decode_screen(s: &State) -> Vec<String> {
    let buffer = rendered(s);
    let (light, _) = s.styles.qr();
    let (w, h) = (
        usize::from(buffer.area.width),
        usize::from(buffer.area.height),
    );
    // Two pixels per cell vertically, one horizontally (cells are about twice as tall as wide).
    let pixel = |x: usize, y: usize| -> bool {
        let cell = &buffer[(x as u16, (y / 2) as u16)];
        let top = y.is_multiple_of(2);
        let colour = match cell.symbol() {
            "█" => cell.fg,
            "▀" if top => cell.fg,
            "▀" => cell.bg,
            "▄" if top => cell.bg,
            "▄" => cell.fg,
            // Letters and borders read as their background.
            _ => cell.bg,
        };
        colour == light
    };
    let margin = 8;
    let (pw, ph) = ((w + 2 * margin) * SCALE, (2 * h + 2 * margin) * SCALE);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(pw, ph, |px, py| {
        let (x, y) = (px / SCALE, py / SCALE);
        if x < margin || y < margin || x >= w + margin || y >= 2 * h + margin {
            return 255;
        }
        if pixel(x - margin, y - margin) {
            255
        } else {
            0
        }
    });
    image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}

#[test]
fn the_qr_code_on_the_armed_screen_decodes_to_exactly_the_link() {
    let expected = link().expose().to_string();
    for (cols, rows) in [(100, 32), (80, 24), (200, 60)] {
        for depth in [Depth::TrueColor, Depth::Ansi256, Depth::Ansi16] {
            let s = armed(depth, cols, rows);
            assert_eq!(
                decode_screen(&s),
                vec![expected.clone()],
                "{cols}×{rows} at {} colours",
                depth.name()
            );
        }
    }
}

#[test]
fn an_opened_share_shows_no_qr_code() {
    let mut s = armed(Depth::TrueColor, 100, 32);
    super::update::update(
        &mut s,
        super::update::Action::Watched(Some(crate::share::StatusState::Opened { at: 1 })),
    );
    assert!(decode_screen(&s).is_empty());
}
