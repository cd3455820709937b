//! The armed screen, built around the link: a status chip (`■ ARMED` / `■ OPENED` / …), the
//! link in an orange "LINK · WORKS ONCE" card, the share's details, and the QR code beside them
//! when the terminal has room (at 100×32 and at 80×24 for links of today's length).
//!
//! Every part follows one value, [`Phase`]: once the link is opened, revoked or expired the
//! chip, the card (struck through, no longer orange), the lines under it and the footer (in
//! [`super`]) all change in the same frame — a dead link never looks copyable.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Padding, Paragraph, Wrap};

use super::widgets::{chip, label, qr_rows, qr_size};
use crate::config::format_size;
use crate::tui::colors::Styles;
use crate::tui::state::{ArmedShare, Phase, State, clock_utc, countdown};

/// The narrowest the text beside the QR code may get.
const MIN_SIDE: u16 = 30;

pub fn armed(
    state: &State,
    a: &ArmedShare,
    styles: &Styles,
    frame: &mut Frame,
    area: Rect,
) -> Option<(u16, u16)> {
    let phase = a.phase(state.now);
    let live = phase == Phase::Armed;
    let link = a.link.expose();
    let link_len = link.chars().count() as u16;
    let qr = (live && a.show_qr).then(|| qr_rows(&link)).flatten();
    let (qr_w, qr_h) = qr.as_deref().map_or((0, 0), qr_size);

    // Where things go: the card across the column when the link fits on one line and the QR
    // code still fits under it; else the QR code beside everything; else no QR code.
    let one_line_card = link_len + 4 <= area.width;
    let top_rows = 2 + 3 + 1;
    let stacked = qr.is_some()
        && one_line_card
        && area.height >= top_rows + qr_h
        && area.width >= qr_w + 2 + MIN_SIDE;
    let beside =
        !stacked && qr.is_some() && area.width >= qr_w + 2 + MIN_SIDE && area.height >= qr_h;
    let text_width = if beside {
        area.width - qr_w - 2
    } else {
        area.width
    };

    // The chip and what it means.
    let (chip_line, note) = status_lines(state, a, phase, styles);
    frame.render_widget(
        Paragraph::new(vec![chip_line]),
        Rect::new(area.x, area.y, text_width, 1),
    );

    // The card.
    let inner_width = text_width.saturating_sub(4).max(1);
    let chars: Vec<char> = link.chars().collect();
    let link_lines: Vec<String> = chars
        .chunks(usize::from(inner_width))
        .map(|chunk| chunk.iter().collect())
        .collect();
    let card_h = (link_lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let card = Rect::new(area.x, area.y + 2, text_width, card_h);
    let (title, border) = if live {
        (" LINK · WORKS ONCE ", styles.border(true))
    } else {
        (" LINK · DEAD ", styles.border(false))
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(if live {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(border)
        .title(Span::styled(
            title,
            if live {
                styles.accent()
            } else {
                styles.label()
            },
        ))
        .padding(Padding::horizontal(1))
        .style(styles.panel());
    let link_style = if live { styles.accent() } else { styles.dead() };
    frame.render_widget(
        Paragraph::new(
            link_lines
                .iter()
                .map(|l| Line::styled(l.clone(), link_style))
                .collect::<Vec<_>>(),
        )
        .block(block),
        card,
    );
    let link_at = (live && link_lines.len() == 1).then_some((card.x + 2, card.y + 1));

    // Details and notes under the card, left of the QR code when it is beside or under.
    let mut lines = vec![Line::raw("")];
    lines.extend(details(a, styles));
    lines.push(Line::raw(""));
    lines.extend(note);
    if live && a.show_qr && qr.is_some() && !stacked && !beside {
        lines.push(Line::styled(
            format!(
                "ENLARGE THE TERMINAL TO SEE THE QR CODE ({}×{})",
                qr_w + 2 + MIN_SIDE + 2,
                qr_h + 5
            ),
            styles.warning(),
        ));
    }
    let below = card.bottom();
    let left_width = if stacked {
        area.width - qr_w - 2
    } else {
        text_width
    };
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }),
        Rect::new(
            area.x,
            below,
            left_width,
            area.bottom().saturating_sub(below),
        ),
    );

    if let Some(rows) = qr.filter(|_| stacked || beside) {
        let (x, y) = if stacked {
            (area.right() - qr_w, below + 1)
        } else {
            (area.right() - qr_w, area.y)
        };
        let (light, dark) = styles.qr();
        let style = ratatui::style::Style::new().fg(light).bg(dark);
        let qr_lines: Vec<Line> = rows
            .into_iter()
            .map(|row| Line::styled(row, style))
            .collect();
        frame.render_widget(Paragraph::new(qr_lines), Rect::new(x, y, qr_w, qr_h));
    }
    link_at
}

/// The chip line, and the lines that say what to do now.
fn status_lines(
    state: &State,
    a: &ArmedShare,
    phase: Phase,
    styles: &Styles,
) -> (Line<'static>, Vec<Line<'static>>) {
    let live = phase == Phase::Armed;
    let said = match phase {
        Phase::Armed => format!(
            "  EXPIRES IN {}",
            countdown(a.expires_at.saturating_sub(state.now))
        ),
        Phase::Opened { at } => format!("  {} — DESTROYED ON THE SERVER", clock_utc(at)),
        Phase::Revoked => "  YOU REVOKED IT".into(),
        Phase::TakenDown => "  REMOVED BY THE OPERATOR".into(),
        Phase::Locked => "  TOO MANY WRONG PASSWORDS".into(),
        Phase::Expired => "  NOBODY OPENED IT IN TIME".into(),
    };
    let chip_line = Line::from(vec![
        chip(phase.word(), live, styles),
        Span::styled(
            said,
            if live {
                styles.warning()
            } else {
                styles.muted()
            },
        ),
    ]);
    let mut note = Vec::new();
    if live {
        if a.copied {
            note.push(Line::from(vec![
                Span::styled("✓ COPIED", styles.success()),
                Span::styled(" · IF NOTHING ARRIVED, SELECT THE LINK", styles.muted()),
            ]));
        } else {
            note.push(Line::styled(
                "C COPIES IT · THE LINK IS SHOWN ONLY HERE",
                styles.muted(),
            ));
        }
        note.push(Line::styled(
            "WATCHING · THIS SCREEN FLIPS WHEN IT IS OPENED",
            styles.muted(),
        ));
    } else {
        note.push(Line::styled(
            "THIS LINK WILL NOT WORK AGAIN · N WRITES A NEW SHARE",
            styles.muted(),
        ));
    }
    (chip_line, note)
}

fn details(a: &ArmedShare, styles: &Styles) -> Vec<Line<'static>> {
    let row = |name: &str, value: Span<'static>| {
        Line::from(vec![label(&format!("{name:<10}"), styles), value])
    };
    let mut lines = vec![
        row("ID", Span::styled(a.handle.to_string(), styles.body())),
        row("SIZE", Span::styled(format_size(a.size), styles.body())),
        row(
            "PASSWORD",
            if a.password {
                Span::styled("REQUIRED", styles.warning())
            } else {
                Span::styled("NO", styles.body())
            },
        ),
    ];
    if let Some(text) = &a.label {
        lines.push(row("LABEL", Span::styled(text.clone(), styles.body())));
    }
    lines.push(row(
        "EXPIRES",
        // With the date: a share armed for a day expires at this clock time tomorrow.
        Span::styled(crate::utc::utc_minutes(a.expires_at), styles.body()),
    ));
    lines
}
