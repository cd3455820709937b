//! The pieces every screen draws with: panels, labels, the status chip, footer-style key hints
//! that drop whole items instead of cutting words, selectable tables with a position cue, and
//! the QR code as half-block cells. Pure functions of their inputs, styled only through the
//! named roles of [`Styles`].

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Borders, Padding, Paragraph, Row, Table, TableState, Wrap,
};

use crate::tui::colors::Styles;

/// A muted, bold UPPERCASE label.
pub fn label(text: &str, styles: &Styles) -> Span<'static> {
    Span::styled(text.to_owned(), styles.label())
}

/// A panel with a hard 1-cell border: thick and orange when focused, else an outline that stays
/// visible against the surface; one column of inner padding either side.
pub fn block<'a>(title: &'a str, focused: bool, styles: &Styles) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(styles.border(focused))
        .title(Span::styled(
            format!(" {title} "),
            if focused {
                styles.accent()
            } else {
                styles.label()
            },
        ))
        .padding(Padding::horizontal(1))
        .style(styles.panel())
}

/// What a list screen shows instead of its table while the list is loading or failed to load;
/// `None` once there are rows (or the lack of them) to show.
pub fn list_status(
    loaded: bool,
    error: Option<&str>,
    styles: &Styles,
) -> Option<Paragraph<'static>> {
    if !loaded {
        return Some(Paragraph::new(Line::styled("LOADING…", styles.muted())));
    }
    let error = error?;
    Some(Paragraph::new(Line::styled(error.to_owned(), styles.danger())).wrap(Wrap { trim: true }))
}

/// `■ ARMED` in the state's colour.
pub fn chip(word: &str, live: bool, styles: &Styles) -> Span<'static> {
    Span::styled(
        format!("■ {word}"),
        if live {
            styles.success()
        } else {
            styles.danger()
        },
    )
}

/// Key hints (`KEY word · KEY word`) that fit `width`: items are dropped whole from the end
/// (the last one, usually HELP or QUIT, is kept), never cut mid-word.
pub fn hints<'a>(items: &[(&'a str, &'a str)], width: u16, styles: &Styles) -> Line<'a> {
    let cost = |(key, word): &(&str, &str)| key.chars().count() + word.chars().count() + 4;
    // One leading space and a 3-cell separator between items: n items cost Σ(cost) − 2.
    let budget = usize::from(width) + 2;
    let mut keep: Vec<usize> = Vec::new();
    let last = items.len().saturating_sub(1);
    let mut used = items.last().map_or(0, cost);
    for (i, item) in items.iter().enumerate().take(last) {
        if used + cost(item) <= budget {
            used += cost(item);
            keep.push(i);
        }
    }
    if !items.is_empty() && cost(&items[last]) <= budget {
        keep.push(last);
    }
    let mut spans = vec![Span::raw(" ")];
    for (n, i) in keep.into_iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(" · ", styles.muted()));
        }
        let (key, word) = items[i];
        spans.push(Span::styled(key, styles.key()));
        spans.push(Span::styled(format!(" {word}"), styles.muted()));
    }
    Line::from(spans)
}

/// A table of `rows` in `area` (the inside of a panel) with `selected` marked by an orange `▶`
/// and reverse video, scrolled to keep it in view; the panel's bottom border gets an `n/m` cue,
/// with `MORE` when rows are out of view.
pub fn selectable_table<'a>(
    frame: &mut Frame,
    area: Rect,
    header: Row<'a>,
    rows: Vec<Row<'a>>,
    widths: Vec<Constraint>,
    selected: usize,
    styles: &Styles,
) {
    let total = rows.len();
    let selected = selected.min(total.saturating_sub(1));
    let table = Table::new(rows, widths)
        .header(header.style(styles.label()))
        .row_highlight_style(styles.selected())
        .highlight_symbol(Line::styled("▶ ", styles.marker()))
        .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
    let mut table_state = TableState::new().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut table_state);
    if total == 0 {
        return;
    }
    let visible = usize::from(area.height.saturating_sub(1));
    let cue = if total > visible {
        format!(" {}/{total} · MORE ↕ ", selected + 1)
    } else {
        format!(" {}/{total} ", selected + 1)
    };
    let width = cue.chars().count() as u16;
    if width < area.width {
        let rect = Rect::new(area.right() - width, area.bottom(), width, 1);
        frame.render_widget(
            ratatui::widgets::Paragraph::new(Span::styled(cue, styles.muted())),
            rect,
        );
    }
}

/// The link as a QR code in half-block cells (two module rows per text row), with a 2-module
/// quiet zone: `█` is two light modules, `▀` light over dark, `▄` dark over light, ` ` two dark.
/// `None` if the link cannot be encoded (it always can at our lengths).
pub fn qr_rows(link: &str) -> Option<Vec<String>> {
    let code = qrcode::QrCode::with_error_correction_level(link, qrcode::EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let quiet = 2;
    let size = width + 2 * quiet;
    let light = |x: usize, y: usize| {
        if x < quiet || y < quiet || x >= width + quiet || y >= width + quiet {
            return true;
        }
        colors[(y - quiet) * width + (x - quiet)] == qrcode::Color::Light
    };
    let mut rows = Vec::with_capacity(size.div_ceil(2));
    for y in (0..size).step_by(2) {
        let row: String = (0..size)
            .map(|x| match (light(x, y), y + 1 >= size || light(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            })
            .collect();
        rows.push(row);
    }
    Some(rows)
}

/// `(width, height)` in cells of what [`qr_rows`] draws.
pub fn qr_size(rows: &[String]) -> (u16, u16) {
    let width = rows.first().map_or(0, |r| r.chars().count());
    (width as u16, rows.len() as u16)
}

/// `text` in lines of at most `width` characters, broken between words (a word longer than the
/// line is the only thing ever cut).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().map_or(0, |l| l.chars().count());
        if line > 0 && line + 1 + word.chars().count() > width {
            lines.push(String::new());
        }
        if let Some(last) = lines.last_mut() {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// `text` cut to `width` characters at a word boundary, with `…` when cut.
pub fn fit_words(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra + 1 > width {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::Theme;
    use crate::tui::colors::Depth;

    #[test]
    fn hints_drop_whole_items_and_keep_the_last() {
        let styles = Styles::new(&Theme::industrial_urgency().colors, Depth::TrueColor);
        let items = [
            ("TAB", "FIELD"),
            ("CTRL-S", "ARM"),
            ("CTRL-L", "MY SHARES"),
            ("F1", "HELP"),
        ];
        let line = hints(&items, 34, &styles).to_string();
        assert_eq!(line, " TAB FIELD · CTRL-S ARM · F1 HELP");
        let line = hints(&items, 30, &styles).to_string();
        assert_eq!(line, " TAB FIELD · F1 HELP");
    }

    #[test]
    fn wrapping_breaks_between_words() {
        assert_eq!(wrap_words("ONE TWO THREE", 7), ["ONE TWO", "THREE"]);
    }

    #[test]
    fn words_are_cut_whole() {
        assert_eq!(fit_words("REMOVED BY THE OPERATOR", 14), "REMOVED BY…");
        assert_eq!(fit_words("SHORT", 14), "SHORT");
    }
}
