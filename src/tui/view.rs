//! The pure render: one [`State`] and one set of [`Styles`] in, one frame out. No I/O, no clock,
//! no randomness, so snapshot tests see exactly what a client sees.
//!
//! The look is the brief's "Industrial Urgency": hard 1-cell borders, UPPERCASE labels, muted
//! help, and safety orange reserved for the one thing that matters on each screen (the text
//! area's focus and ARM on compose, the link once armed, the selection in My shares).

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Row, Table, Wrap};

use super::colors::Styles;
use super::state::{
    ArmedShare, Compose, Field, MIN_COLS, MIN_ROWS, Screen, ShareList, State, clock_utc, countdown,
};
use crate::config::format_size;
use crate::share::StatusState;

/// Where the view put the link (for the OSC 8 overlay), if it fits on one line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drawn {
    pub link_at: Option<(u16, u16)>,
}

pub fn render(state: &State, frame: &mut Frame) -> Drawn {
    let styles = &state.styles;
    let area = frame.area();
    let base = Style::new().fg(styles.text).bg(styles.background);
    frame.render_widget(Block::new().style(base), area);
    if state.too_small() {
        too_small(state, styles, frame, area);
        if let Some(deadline) = state.shutdown_at {
            let top = Rect::new(area.x, area.y, area.width, area.height.min(1));
            shutdown_notice(state, deadline, styles, frame, top);
        }
        return Drawn::default();
    }
    let [header_area, body, footer_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header(state, styles, frame, header_area);
    let body = body.inner(ratatui::layout::Margin::new(1, 0));
    let mut drawn = Drawn::default();
    match &state.screen {
        Screen::Compose(c) => compose(state, c, styles, frame, body),
        Screen::Armed(a) => drawn.link_at = armed(state, a, styles, frame, body),
        Screen::Shares(list) => shares(state, list, styles, frame, body),
        Screen::Operator(panel) => {
            super::operator_view::operator(state, panel, styles, frame, body)
        }
    }
    footer(state, styles, frame, footer_area);
    if state.help {
        help(styles, frame, area);
        drawn.link_at = None;
    }
    // Last, over the header (and any overlay): nothing may hide it.
    if let Some(deadline) = state.shutdown_at {
        shutdown_notice(state, deadline, styles, frame, header_area);
    }
    drawn
}

/// The server is shutting down: what to do, and how long is left (from the state's clock).
fn shutdown_notice(state: &State, deadline: u64, styles: &Styles, frame: &mut Frame, area: Rect) {
    let secs = deadline.saturating_sub(state.now).div_ceil(1000);
    let what = match &state.screen {
        Screen::Compose(_) => "ARM NOW OR YOUR DRAFT IS LOST",
        Screen::Armed(_) => "COPY YOUR LINK NOW",
        _ => "FINISH NOW",
    };
    let long = format!(" SERVER SHUTTING DOWN · {secs}s LEFT · {what}");
    let text = if long.chars().count() <= usize::from(area.width) {
        long
    } else {
        format!(" SERVER SHUTTING DOWN · {secs}s LEFT")
    };
    let style = Style::new()
        .fg(styles.text)
        .bg(styles.danger)
        .add_modifier(Modifier::BOLD);
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(Line::styled(text, style)).style(style), area);
}

pub(super) fn label(text: &str, styles: &Styles) -> Span<'static> {
    Span::styled(
        text.to_owned(),
        Style::new().fg(styles.muted).add_modifier(Modifier::BOLD),
    )
}

pub(super) fn block<'a>(title: &'a str, focused: bool, styles: &Styles) -> Block<'a> {
    let color = if focused {
        styles.accent
    } else {
        styles.border
    };
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(Style::new().fg(color))
        .title(Span::styled(
            format!(" {title} "),
            Style::new()
                .fg(if focused { styles.accent } else { styles.muted })
                .add_modifier(Modifier::BOLD),
        ))
        .style(Style::new().bg(styles.surface).fg(styles.text))
}

fn too_small(state: &State, styles: &Styles, frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::styled(
            "TERMINAL TOO SMALL",
            Style::new().fg(styles.accent).add_modifier(Modifier::BOLD),
        ),
        Line::styled(
            format!("{}×{} · NEED {MIN_COLS}×{MIN_ROWS}", state.cols, state.rows),
            Style::new().fg(styles.muted),
        ),
        Line::styled("CTRL-C QUITS", Style::new().fg(styles.muted)),
    ];
    let top = area.height.saturating_sub(3) / 2;
    let rect = Rect::new(area.x, area.y + top, area.width, area.height.min(3));
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), rect);
}

fn header(state: &State, styles: &Styles, frame: &mut Frame, area: Rect) {
    let title = match &state.screen {
        Screen::Compose(_) => "NEW SHARE",
        Screen::Armed(_) => "ARMED",
        Screen::Shares(_) => "MY SHARES",
        Screen::Operator(_) => "OPERATOR",
    };
    let left = Line::from(vec![
        Span::styled("▌", Style::new().fg(styles.accent)),
        Span::styled(
            "ONETIMESHARE",
            Style::new().fg(styles.text).add_modifier(Modifier::BOLD),
        ),
        Span::styled("  /  ", Style::new().fg(styles.muted)),
        Span::styled(title, Style::new().fg(styles.text)),
    ]);
    let bar = Style::new().bg(styles.surface).fg(styles.text);
    frame.render_widget(Paragraph::new(left).style(bar), area);
    let right = Line::styled(format!("{} ", state.who), Style::new().fg(styles.muted));
    frame.render_widget(
        Paragraph::new(right).alignment(Alignment::Right).style(bar),
        area,
    );
}

fn footer(state: &State, styles: &Styles, frame: &mut Frame, area: Rect) {
    let bar = Style::new().bg(styles.surface).fg(styles.muted);
    if let Some(secs) = state.idle_left {
        let line = Line::styled(
            format!(" IDLE · CLOSING IN {secs}s · PRESS ANY KEY TO STAY"),
            Style::new().fg(styles.warning).add_modifier(Modifier::BOLD),
        );
        frame.render_widget(Paragraph::new(line).style(bar), area);
        return;
    }
    let keys: &[(&str, &str)] = match &state.screen {
        Screen::Compose(_) => &[
            ("TAB", "FIELD"),
            ("CTRL-S", "ARM"),
            ("CTRL-L", "SHARES"),
            ("F1", "HELP"),
            ("CTRL-C", "QUIT"),
        ],
        Screen::Armed(_) => &[
            ("C", "COPY"),
            ("R", "QR"),
            ("N", "NEW"),
            ("L", "MY SHARES"),
            ("?", "HELP"),
            ("Q", "QUIT"),
        ],
        Screen::Operator(_) => &[
            ("TAB", "TAB"),
            ("↑↓", "SELECT"),
            ("T", "TAKE DOWN"),
            ("D", "DISMISS"),
            ("U", "UNBAN"),
            ("R", "RELOAD"),
            ("ESC", "BACK"),
        ],
        Screen::Shares(_) => &[
            ("↑↓", "SELECT"),
            ("ENTER", "INFO"),
            ("X", "REVOKE"),
            ("ESC", "BACK"),
            ("?", "HELP"),
            ("Q", "QUIT"),
        ],
    };
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, what)) in keys.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" · "));
        }
        spans.push(Span::styled(
            *key,
            Style::new().fg(styles.text).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(format!(" {what}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// What the empty text box says.
const PLACEHOLDER: &str = "Type or paste the secret here.";

fn compose(state: &State, c: &Compose, styles: &Styles, frame: &mut Frame, area: Rect) {
    let [text_area, options, action] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(4),
        Constraint::Length(2),
    ])
    .areas(area);

    let focused = c.focus == Field::Text;
    let size = c.text.size();
    let counter_style = if size >= c.text.cap() {
        Style::new().fg(styles.warning)
    } else {
        Style::new().fg(styles.muted)
    };
    let counter = Line::styled(
        format!(
            " {} / {} ",
            format_size(size as u64),
            format_size(c.text.cap() as u64)
        ),
        counter_style,
    )
    .right_aligned();
    // Large secrets stream through the pipe or scp paths instead: say how, where it matters.
    let larger = Line::styled(
        format!(
            " LARGER: cat FILE | ssh {host} · scp FILE {host}: ",
            host = state.host
        ),
        Style::new().fg(styles.muted),
    );
    let text_block = block("SECRET", focused, styles)
        .title(counter)
        .title_bottom(larger);
    let inner = text_block.inner(text_area);
    frame.render_widget(text_block, text_area);
    let cursor = if focused {
        Style::new().fg(styles.background).bg(styles.accent)
    } else {
        Style::new().fg(styles.text)
    };
    c.text.render(
        inner,
        frame.buffer_mut(),
        Style::new().fg(styles.text).bg(styles.surface),
        cursor,
        (PLACEHOLDER, Style::new().fg(styles.muted)),
    );

    // Options: expiry, password + confirm, label.
    let field_style = |field: Field| {
        if c.focus == field {
            Style::new().fg(styles.accent).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(styles.muted).add_modifier(Modifier::BOLD)
        }
    };
    let mut expiry = vec![Span::styled("EXPIRES    ", field_style(Field::Expiry))];
    for i in 0..state.expiries.len() {
        let text = format!(" {} ", state.expiry_label(i));
        let style = if i == c.expiry {
            if c.focus == Field::Expiry {
                Style::new()
                    .fg(styles.background)
                    .bg(styles.accent)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::new()
                    .fg(styles.background)
                    .bg(styles.text)
                    .add_modifier(Modifier::BOLD)
            }
        } else {
            Style::new().fg(styles.muted)
        };
        expiry.push(Span::styled(text, style));
        expiry.push(Span::raw(" "));
    }
    let masked = |len: usize, focus: Field, empty: &str| {
        let caret = if c.focus == focus { "▏" } else { "" };
        if len == 0 && c.focus != focus {
            Span::styled(empty.to_owned(), Style::new().fg(styles.muted))
        } else {
            Span::styled(
                format!("{}{caret}", "•".repeat(len.min(24))),
                Style::new().fg(styles.text),
            )
        }
    };
    let password_len = c.password.chars().count();
    let confirm_len = c.confirm.chars().count();
    let password = Line::from(vec![
        Span::styled("PASSWORD   ", field_style(Field::Password)),
        masked(password_len, Field::Password, "(OPTIONAL)"),
        Span::raw("   "),
        Span::styled("CONFIRM  ", field_style(Field::Confirm)),
        masked(confirm_len, Field::Confirm, "—"),
    ]);
    let label_caret = if c.focus == Field::Label { "▏" } else { "" };
    let label_text = if c.label.is_empty() && c.focus != Field::Label {
        Span::styled("(OPTIONAL)", Style::new().fg(styles.muted))
    } else {
        Span::styled(
            format!("{}{label_caret}", c.label),
            Style::new().fg(styles.text),
        )
    };
    let label_line = Line::from(vec![
        Span::styled("LABEL      ", field_style(Field::Label)),
        label_text,
    ]);
    let options_lines = vec![Line::raw(""), Line::from(expiry), password, label_line];
    frame.render_widget(Paragraph::new(options_lines), options);

    // The ARM button and the one error line.
    let arm_text = if c.arming {
        " ARMING… "
    } else {
        " ARM · CTRL-S "
    };
    let arm_style = if c.focus == Field::Arm {
        Style::new()
            .fg(styles.background)
            .bg(styles.accent_strong)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    } else {
        Style::new()
            .fg(styles.background)
            .bg(styles.accent)
            .add_modifier(Modifier::BOLD)
    };
    let mut spans = vec![Span::styled(arm_text, arm_style), Span::raw("  ")];
    if let Some(error) = &c.error {
        spans.push(Span::styled(
            error.clone(),
            Style::new().fg(styles.danger).add_modifier(Modifier::BOLD),
        ));
    } else if password_len > 0 {
        spans.push(Span::styled(
            "PASSWORD REQUIRED TO OPEN",
            Style::new().fg(styles.warning),
        ));
    }
    let [_, button] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(action);
    frame.render_widget(Paragraph::new(Line::from(spans)), button);
}

fn armed(
    state: &State,
    a: &ArmedShare,
    styles: &Styles,
    frame: &mut Frame,
    area: Rect,
) -> Option<(u16, u16)> {
    let bold = Modifier::BOLD;
    let left = a.expires_at.saturating_sub(state.now);
    let (status, status_style, live) = match a.status {
        Some(Some(StatusState::Opened { at })) => (
            format!("OPENED {} — DESTROYED", clock_utc(at)),
            Style::new().fg(styles.danger).add_modifier(bold),
            false,
        ),
        Some(Some(StatusState::Revoked { .. })) => (
            "REVOKED — THE LINK IS DEAD".to_owned(),
            Style::new().fg(styles.danger).add_modifier(bold),
            false,
        ),
        Some(Some(StatusState::TakenDown { .. })) => (
            "REMOVED BY THE OPERATOR — THE LINK IS DEAD".to_owned(),
            Style::new().fg(styles.danger).add_modifier(bold),
            false,
        ),
        Some(Some(StatusState::Locked)) => (
            "LOCKED — TOO MANY WRONG PASSWORDS".to_owned(),
            Style::new().fg(styles.danger).add_modifier(bold),
            false,
        ),
        Some(None) => (
            "EXPIRED — THE LINK IS DEAD".to_owned(),
            Style::new().fg(styles.danger).add_modifier(bold),
            false,
        ),
        Some(Some(StatusState::Armed)) | None if left == 0 && state.now > 0 => (
            "EXPIRED — THE LINK IS DEAD".to_owned(),
            Style::new().fg(styles.danger).add_modifier(bold),
            false,
        ),
        Some(Some(StatusState::Armed)) | None => (
            "■ ARMED".to_owned(),
            Style::new().fg(styles.success).add_modifier(bold),
            true,
        ),
    };
    let link = a.link.expose();
    let width = usize::from(area.width);
    let fits = link.chars().count() <= width;
    let mut lines = vec![
        Line::raw(""),
        Line::styled(status, status_style),
        if live {
            Line::styled(
                format!("THIS LINK WORKS ONCE · EXPIRES IN {}", countdown(left)),
                Style::new().fg(styles.warning).add_modifier(bold),
            )
        } else {
            Line::styled(
                "THIS LINK WILL NOT WORK AGAIN.",
                Style::new().fg(styles.muted),
            )
        },
        Line::raw(""),
        Line::from(label("LINK", styles)),
    ];
    let link_row = area.y + lines.len() as u16;
    let link_style = Style::new().fg(styles.accent).add_modifier(bold);
    if fits {
        lines.push(Line::styled(link.to_string(), link_style));
    } else {
        let chars: Vec<char> = link.chars().collect();
        for chunk in chars.chunks(width.max(1)) {
            lines.push(Line::styled(chunk.iter().collect::<String>(), link_style));
        }
    }
    lines.push(Line::raw(""));
    let mut details = vec![
        label("ID ", styles),
        Span::raw(a.handle.to_string()),
        Span::raw("   "),
        label("SIZE ", styles),
        Span::raw(format_size(a.size)),
        Span::raw("   "),
        label("PASSWORD ", styles),
        if a.password {
            Span::styled("YES", Style::new().fg(styles.warning))
        } else {
            Span::raw("NO")
        },
    ];
    if let Some(label_text) = &a.label {
        details.push(Span::raw("   "));
        details.push(label("LABEL ", styles));
        details.push(Span::raw(label_text.clone()));
    }
    lines.push(Line::from(details));
    lines.push(Line::raw(""));
    if !fits {
        lines.push(Line::styled(
            "THE LINK IS WIDER THAN THIS TERMINAL: WIDEN IT TO SELECT THE LINK IN ONE PIECE, OR PRESS C",
            Style::new().fg(styles.warning),
        ));
    }
    if a.copied {
        lines.push(Line::styled(
            "SENT TO YOUR TERMINAL'S CLIPBOARD — IF NOTHING WAS COPIED, SELECT THE LINK ABOVE",
            Style::new().fg(styles.muted),
        ));
    }
    if live {
        lines.push(Line::styled(
            "WATCHING · THIS SCREEN FLIPS THE MOMENT THE LINK IS OPENED",
            Style::new().fg(styles.muted),
        ));
    }
    let qr = if a.show_qr && live {
        qr_rows(&link)
    } else {
        None
    };
    let text_rows = lines.len() as u16 + u16::from(!fits) + 1;
    let qr_fits = qr.as_ref().is_some_and(|rows| {
        let height = rows.len() as u16;
        let width = rows.first().map_or(0, |r| r.chars().count()) as u16;
        text_rows + height <= area.height && width <= area.width
    });
    if a.show_qr && live && !qr_fits {
        lines.push(Line::styled(
            "ENLARGE THE TERMINAL TO SHOW THE QR CODE",
            Style::new().fg(styles.warning),
        ));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    if let Some(rows) = qr.filter(|_| qr_fits) {
        let height = rows.len() as u16;
        let rect = Rect::new(area.x, area.bottom() - height, area.width, height);
        // Light modules drawn in the text colour: dark-on-light, as scanners expect.
        let qr_lines: Vec<Line> = rows
            .into_iter()
            .map(|row| Line::styled(row, Style::new().fg(styles.text).bg(styles.background)))
            .collect();
        frame.render_widget(Paragraph::new(qr_lines), rect);
    }
    (fits && link_row < area.bottom()).then_some((area.x, link_row))
}

/// The link as a QR code in half-block cells (two module rows per text row), with a 2-module
/// quiet zone. `None` if the link cannot be encoded (it always can at our lengths).
fn qr_rows(link: &str) -> Option<Vec<String>> {
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

fn state_text(state: &State, status: &crate::share::ShareStatus) -> String {
    if state.now > 0 && status.is_expired(state.now) {
        return "EXPIRED".into();
    }
    match status.state {
        StatusState::Armed => "ARMED".into(),
        StatusState::Opened { at } => format!("OPENED {}", clock_utc(at)),
        StatusState::Revoked { .. } => "REVOKED".into(),
        StatusState::TakenDown { .. } => "REMOVED".into(),
        StatusState::Locked => "LOCKED".into(),
    }
}

fn shares(state: &State, list: &ShareList, styles: &Styles, frame: &mut Frame, area: Rect) {
    let [table_area, detail_area, notice_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if list.detail { 5 } else { 0 }),
        Constraint::Length(1),
    ])
    .areas(area);
    let outer = block("MY SHARES", true, styles);
    let inner = outer.inner(table_area);
    frame.render_widget(outer, table_area);
    if !list.loaded {
        frame.render_widget(
            Paragraph::new(Line::styled("LOADING…", Style::new().fg(styles.muted))),
            inner,
        );
    } else if let Some(error) = &list.error {
        frame.render_widget(
            Paragraph::new(Line::styled(error.clone(), Style::new().fg(styles.danger))),
            inner,
        );
    } else if list.items.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "NO LIVE SHARES · PRESS ESC TO WRITE ONE",
                Style::new().fg(styles.muted),
            )),
            inner,
        );
    } else {
        let header = Row::new(["ID", "KIND", "SIZE", "STATE", "LEFT"])
            .style(Style::new().fg(styles.muted).add_modifier(Modifier::BOLD));
        let rows = list.items.iter().enumerate().map(|(i, s)| {
            let state_label = state_text(state, s);
            let state_color = match s.state {
                StatusState::Armed => styles.success,
                StatusState::Opened { .. }
                | StatusState::Revoked { .. }
                | StatusState::TakenDown { .. }
                | StatusState::Locked => styles.danger,
            };
            let left = countdown(s.expires_at.saturating_sub(state.now));
            let row = Row::new(vec![
                Span::raw(s.handle.to_string()),
                Span::raw(format!("{:?}", s.kind).to_uppercase()),
                Span::raw(format_size(s.stored_size)),
                Span::styled(state_label, Style::new().fg(state_color)),
                Span::styled(left, Style::new().fg(styles.warning)),
            ]);
            if i == list.selected {
                row.style(
                    Style::new()
                        .fg(styles.background)
                        .bg(styles.accent)
                        .add_modifier(Modifier::BOLD),
                )
            } else {
                row
            }
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Length(6),
                Constraint::Length(10),
                Constraint::Min(18),
                Constraint::Length(12),
            ],
        )
        .header(header);
        frame.render_widget(table, inner);
    }
    if list.detail
        && let Some(s) = list.items.get(list.selected)
    {
        let lines = vec![
            Line::from(vec![
                label("ID       ", styles),
                Span::raw(s.handle.to_string()),
            ]),
            Line::from(vec![
                label("CREATED  ", styles),
                Span::raw(clock_utc(s.created_at)),
                Span::raw("   "),
                label("EXPIRES  ", styles),
                Span::raw(clock_utc(s.expires_at)),
            ]),
            Line::from(vec![
                label("PASSWORD ", styles),
                Span::raw(if s.password {
                    format!("YES · {}/{} WRONG ATTEMPTS", s.attempts, s.max_attempts)
                } else {
                    "NO".into()
                }),
            ]),
        ];
        frame.render_widget(
            Paragraph::new(lines).block(block("DETAILS", false, styles)),
            detail_area,
        );
    }
    let notice = if let Some(handle) = &list.confirm_revoke {
        Line::styled(
            format!("REVOKE {handle}? THE LINK STOPS WORKING FOR GOOD · Y / N"),
            Style::new().fg(styles.danger).add_modifier(Modifier::BOLD),
        )
    } else if let Some(notice) = &list.notice {
        Line::styled(notice.clone(), Style::new().fg(styles.warning))
    } else {
        Line::raw("")
    };
    frame.render_widget(Paragraph::new(notice), notice_area);
}

fn help(styles: &Styles, frame: &mut Frame, area: Rect) {
    let rows: &[(&str, &str)] = &[
        ("TAB / SHIFT-TAB", "move between fields"),
        ("← →", "pick the expiry"),
        ("CTRL-S", "arm (pressed alone) · ENTER on ARM"),
        ("PASTE", "into the focused field · up to 64 KiB"),
        ("PLINK · DBCLIENT", "to pipe a file, add -T"),
        ("C", "copy the link (OSC 52) on the armed screen"),
        ("N", "new share · L my shares"),
        ("R", "show / hide the link as a QR code"),
        ("CTRL-L", "my shares (a half-typed secret is discarded)"),
        ("X / Y", "revoke the selected share, confirmed"),
        ("ESC", "back"),
        ("Q · CTRL-C · CTRL-D", "quit"),
    ];
    let width = area.width.min(74);
    let height = (rows.len() as u16 + 4).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let mut lines = vec![Line::raw("")];
    for (key, what) in rows {
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {key:<22}"),
                Style::new().fg(styles.accent).add_modifier(Modifier::BOLD),
            ),
            Span::styled(what.to_uppercase(), Style::new().fg(styles.text)),
        ]));
    }
    lines.push(Line::styled(
        " ANY KEY CLOSES THIS",
        Style::new().fg(styles.muted),
    ));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(block("HELP", true, styles)),
        rect,
    );
}
