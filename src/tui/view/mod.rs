//! The pure render: one [`State`] and one set of [`Styles`] in, one frame out. No I/O, no clock,
//! no randomness, so snapshot tests see exactly what a client sees.
//!
//! The look is the brief's "Industrial Urgency": hard 1-cell borders, UPPERCASE labels, muted
//! help, and safety orange reserved for the one thing that matters on each screen (the text
//! area's focus and ARM on compose, the link once armed, the selection marker in lists). Every
//! screen draws into one centred column at most [`MAX_WIDTH`] cells wide with a cell of padding,
//! so a 200-column terminal gets a composed page rather than four lines stretched across it
//! (wide terminals get a wider column and side panels).
//! One file per screen ([`compose`], [`armed`], [`shares`], [`inbox`], [`operator`]); the frame around
//! them (header, footer, help, notices) is here; shared pieces are in [`widgets`].

mod armed;
mod compose;
mod inbox;
mod operator;
mod shares;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::colors::Styles;
use super::keymap::{self, Scope};
use super::state::{MIN_COLS, MIN_ROWS, Phase, Screen, State};
use widgets::{block, hints};

pub use widgets::{label, qr_rows};

/// The widest the content column gets on ordinary terminals.
pub const MAX_WIDTH: u16 = 100;
/// On terminals at least [`WIDE_FROM`] columns wide the column grows to this, and screens add a
/// side panel instead of leaving most of the screen empty.
pub const MAX_WIDE: u16 = 140;
pub const WIDE_FROM: u16 = 150;

/// Where the view put the link (for the OSC 8 overlay), if it fits on one line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drawn {
    pub link_at: Option<(u16, u16)>,
}

/// The centred content column of `area`: at most [`MAX_WIDTH`] wide ([`MAX_WIDE`] on wide
/// terminals), one cell of padding.
pub fn column(area: Rect) -> Rect {
    let max = if area.width >= WIDE_FROM {
        MAX_WIDE
    } else {
        MAX_WIDTH
    };
    let width = area.width.saturating_sub(2).min(max);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y,
        width,
        area.height,
    )
}

pub fn render(state: &State, frame: &mut Frame) -> Drawn {
    let styles = &state.styles;
    let area = frame.area();
    frame.render_widget(Block::new().style(styles.base()), area);
    if state.too_small() {
        too_small(state, styles, frame, area);
        if let Some(deadline) = state.shutdown_at {
            let top = Rect::new(area.x, area.y, area.width, area.height.min(1));
            shutdown_notice(state, deadline, styles, frame, top);
        }
        return Drawn::default();
    }
    let [header_area, _, body, footer_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header(state, styles, frame, header_area);
    let body = column(body);
    let mut drawn = Drawn::default();
    match &state.screen {
        Screen::Compose(c) => compose::compose(state, c, styles, frame, body),
        Screen::Armed(a) => drawn.link_at = armed::armed(state, a, styles, frame, body),
        Screen::Shares(list) => shares::shares(state, list, styles, frame, body),
        Screen::Inbox(list) => inbox::inbox(state, list, styles, frame, body),
        Screen::Operator(panel) => operator::operator(state, panel, styles, frame, body),
    }
    footer(state, styles, frame, footer_area);
    if state.help {
        help(state, styles, frame, area);
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
    let style = ratatui::style::Style::new()
        .fg(styles.on_accent())
        .bg(styles.danger)
        .add_modifier(ratatui::style::Modifier::BOLD);
    let style = if styles.depth == super::colors::Depth::Ansi16 {
        style
    } else {
        style.fg(styles.text)
    };
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(Line::styled(text, style)).style(style), area);
}

fn too_small(state: &State, styles: &Styles, frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::styled("TERMINAL TOO SMALL", styles.accent()),
        Line::styled(
            format!("{}×{} · NEED {MIN_COLS}×{MIN_ROWS}", state.cols, state.rows),
            styles.muted(),
        ),
        Line::styled("CTRL-C QUITS", styles.muted()),
    ];
    let top = area.height.saturating_sub(3) / 2;
    let rect = Rect::new(area.x, area.y + top, area.width, area.height.min(3));
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), rect);
}

/// The header's screen name: on the armed screen, the share's state (the whole screen flips
/// with it).
fn title(state: &State) -> (String, Option<Phase>) {
    match &state.screen {
        Screen::Compose(_) => ("NEW SHARE".into(), None),
        Screen::Armed(a) => {
            let phase = a.phase(state.now);
            (phase.word().into(), Some(phase))
        }
        Screen::Shares(_) => ("MY SHARES".into(), None),
        Screen::Inbox(_) => ("INBOX".into(), None),
        Screen::Operator(_) => ("OPERATOR".into(), None),
    }
}

fn header(state: &State, styles: &Styles, frame: &mut Frame, area: Rect) {
    frame.render_widget(Block::new().style(styles.panel()), area);
    let inner = column(area);
    let (title, phase) = title(state);
    let title_style = match phase {
        Some(Phase::Armed) => styles.success(),
        Some(_) => styles.danger(),
        None => styles.body(),
    };
    let left = Line::from(vec![
        Span::styled("▌", styles.accent()),
        Span::styled("ONETIMESHARE", styles.key()),
        Span::styled(" / ", styles.muted()),
        Span::styled(title, title_style),
    ]);
    let left_width = left.width() as u16;
    frame.render_widget(Paragraph::new(left), inner);
    // The identity gets its own rectangle right of the title, so its style cannot repaint the
    // accent bar or the separator (which it did when drawn over the whole row).
    let who_width = state.who.chars().count() as u16;
    if who_width + 2 + left_width <= inner.width {
        let rect = Rect::new(inner.right() - who_width, area.y, who_width, 1);
        frame.render_widget(
            Paragraph::new(Line::styled(state.who.clone(), styles.muted())),
            rect,
        );
    }
}

/// What kind of frame a state draws: which screen, the armed share's phase, and whether the
/// help is open. The session repaints every cell when it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    scope: Scope,
    phase: Option<Phase>,
    help: bool,
}

pub fn shown(state: &State) -> Shown {
    Shown {
        scope: scope(&state.screen),
        phase: title(state).1,
        help: state.help,
    }
}

fn scope(screen: &Screen) -> Scope {
    match screen {
        Screen::Compose(_) => Scope::Compose,
        Screen::Armed(_) => Scope::Armed,
        Screen::Shares(_) => Scope::Shares,
        Screen::Inbox(_) => Scope::Inbox,
        Screen::Operator(_) => Scope::Operator,
    }
}

fn footer(state: &State, styles: &Styles, frame: &mut Frame, area: Rect) {
    frame.render_widget(Block::new().style(styles.panel()), area);
    let inner = column(area);
    let inner = Rect::new(inner.x.saturating_sub(1), area.y, inner.width + 1, 1);
    if let Some(secs) = state.idle_left {
        let line = Line::styled(
            format!(" IDLE · CLOSING IN {secs}s · PRESS ANY KEY TO STAY"),
            styles
                .warning()
                .add_modifier(ratatui::style::Modifier::BOLD),
        );
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    if state.confirm_quit {
        let line = Line::styled(
            " QUIT? THE LINK WAS NEVER COPIED AND IS SHOWN ONLY HERE · Q AGAIN QUITS · ANY KEY STAYS",
            styles.danger(),
        );
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    let live = match &state.screen {
        Screen::Armed(a) => a.live(state.now),
        _ => true,
    };
    let items: Vec<(&str, &str)> = keymap::footer(scope(&state.screen), state.operator)
        // A dead link offers nothing to copy or scan.
        .filter(|(_, word)| live || !matches!(*word, "COPY" | "QR"))
        .collect();
    frame.render_widget(Paragraph::new(hints(&items, inner.width, styles)), inner);
}

fn help(state: &State, styles: &Styles, frame: &mut Frame, area: Rect) {
    let width = area.width.saturating_sub(4).min(84);
    let key_width: u16 = 18;
    let text_width = usize::from(width.saturating_sub(4 + key_width)).max(10);
    let mut lines = Vec::new();
    for (key, what) in keymap::help(scope(&state.screen), state.operator) {
        // Long explanations wrap at word boundaries under their own column.
        for (i, part) in widgets::wrap_words(&what.to_uppercase(), text_width)
            .into_iter()
            .enumerate()
        {
            let key = if i == 0 { key } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{key:<18}"), styles.accent()),
                Span::styled(part, styles.body()),
            ]));
        }
    }
    lines.push(Line::styled("ANY KEY CLOSES THIS", styles.muted()));
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + 1 + (area.height.saturating_sub(2) - height) / 2,
        width,
        height,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(block("HELP", true, styles)),
        rect,
    );
}
