//! Draws the operator screen from [`OperatorPanel`] (pure, like every view): a tab bar, the
//! tab's table, and one line for the pending question or the last notice.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row};

use super::widgets::{block, label, selectable_table};
use crate::config::format_size;
use crate::share::StatusState;
use crate::tui::colors::Styles;
use crate::tui::operator::{OperatorPanel, OperatorSnapshot, Tab};
use crate::tui::state::{State, countdown};

pub fn operator(
    state: &State,
    panel: &OperatorPanel,
    styles: &Styles,
    frame: &mut Frame,
    area: Rect,
) {
    let [tabs_area, body_area, notice_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut tabs = vec![label("OPERATOR  ", styles)];
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let text = format!(" {} {} ", i + 1, tab.title());
        tabs.push(if *tab == panel.tab {
            Span::styled(text, styles.button())
        } else {
            Span::styled(text, styles.muted())
        });
        tabs.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(tabs)), tabs_area);

    let outer = block(panel.tab.title(), true, styles);
    let inner = outer.inner(body_area);
    frame.render_widget(outer, body_area);
    match (&panel.data, &panel.error) {
        (_, Some(error)) => frame.render_widget(
            Paragraph::new(Line::styled(error.clone(), styles.danger())),
            inner,
        ),
        (None, None) => frame.render_widget(
            Paragraph::new(Line::styled("LOADING…", styles.muted())),
            inner,
        ),
        (Some(data), None) => match panel.tab {
            Tab::Stats => stats(data, styles, frame, inner),
            Tab::Shares => shares(state, panel, data, styles, frame, inner),
            Tab::Reports => reports(panel, data, styles, frame, inner),
            Tab::Bans => bans(panel, data, styles, frame, inner),
        },
    }

    let notice = if let Some(command) = &panel.confirm {
        Line::styled(command.question(), styles.danger())
    } else if let Some(notice) = &panel.notice {
        Line::styled(notice.clone(), styles.warning())
    } else {
        Line::raw("")
    };
    frame.render_widget(Paragraph::new(notice), notice_area);
}

fn stats(data: &OperatorSnapshot, styles: &Styles, frame: &mut Frame, area: Rect) {
    let s = &data.stats;
    let shares = &s.shares;
    let number = |n: u64| Span::styled(n.to_string(), styles.key());
    let mut lines = vec![
        Line::from(vec![
            label("LIVE SHARES  ", styles),
            number(shares.live),
            Span::raw(format!(
                " ({} LOCKED) · {} STORED",
                shares.locked,
                format_size(shares.bytes_stored)
            )),
        ]),
        Line::from(vec![
            label("KEPT        ", styles),
            Span::raw(format!(
                " {} OPENED · {} REVOKED · {} REMOVED",
                shares.opened, shares.revoked, shares.taken_down
            )),
        ]),
        Line::raw(""),
        Line::from(vec![label(
            &format!("{:<14}{:>10}{:>10}", "", "LAST HOUR", "LAST DAY"),
            styles,
        )]),
    ];
    let (h, d) = (&s.last_hour, &s.last_day);
    for (name, hour, day) in [
        ("CREATED", h.created, d.created),
        ("CLAIMED", h.claimed, d.claimed),
        ("EXPIRED", h.expired, d.expired),
        ("LOCKED", h.locked, d.locked),
        ("REVOKED", h.revoked, d.revoked),
        ("TAKEN DOWN", h.taken_down, d.taken_down),
    ] {
        lines.push(Line::raw(format!("{name:<14}{hour:>10}{day:>10}")));
    }
    lines.push(Line::raw(format!(
        "{:<14}{:>10}{:>10}",
        "UPLOADED",
        format_size(h.bytes_in),
        format_size(d.bytes_in)
    )));
    lines.push(Line::raw(""));
    let sessions: Vec<String> = s
        .ssh
        .sessions
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(kind, n)| format!("{} {n}", kind.to_uppercase()))
        .collect();
    lines.push(Line::from(vec![
        label("SSH          ", styles),
        Span::raw(format!(
            "{} · {} INSTANCE(S)",
            if sessions.is_empty() {
                "NO SESSIONS".to_owned()
            } else {
                sessions.join(" · ")
            },
            s.ssh.instances
        )),
    ]));
    let (health, tone) = if s.store.ok {
        ("OK", styles.success)
    } else {
        ("FAILING", styles.danger)
    };
    lines.push(Line::from(vec![
        label("STORE        ", styles),
        Span::raw(format!("{} ", s.store.backend.to_uppercase())),
        Span::styled(health, Style::new().fg(tone).add_modifier(Modifier::BOLD)),
        Span::raw(format!(" · {:.1} MS", s.store.latency_ms)),
    ]));
    let reports_tone = if s.open_reports > 0 {
        styles.warning
    } else {
        styles.text
    };
    lines.push(Line::from(vec![
        label("REPORTS      ", styles),
        Span::styled(
            format!("{} OPEN", s.open_reports),
            Style::new().fg(reports_tone),
        ),
        Span::raw(format!(" · BANS IN FORCE {}", s.bans)),
    ]));
    frame.render_widget(Paragraph::new(lines), area);
}

/// A table whose `selected` row is marked, under a muted header (see [`selectable_table`]).
fn listing<'a>(
    frame: &mut Frame,
    area: Rect,
    rows: impl Iterator<Item = Row<'a>>,
    selected: usize,
    widths: impl IntoIterator<Item = Constraint>,
    header: Row<'a>,
    styles: &Styles,
) {
    selectable_table(
        frame,
        area,
        header,
        rows.collect(),
        widths.into_iter().collect(),
        selected,
        styles,
    );
}

fn header<'a>(cells: impl IntoIterator<Item = &'a str>, styles: &Styles) -> Row<'a> {
    Row::new(cells).style(styles.label())
}

fn empty(text: &str, styles: &Styles, frame: &mut Frame, area: Rect) {
    frame.render_widget(
        Paragraph::new(Line::styled(text.to_owned(), styles.muted())),
        area,
    );
}

fn shares(
    state: &State,
    panel: &OperatorPanel,
    data: &OperatorSnapshot,
    styles: &Styles,
    frame: &mut Frame,
    area: Rect,
) {
    if data.shares.is_empty() {
        return empty("NO SHARES", styles, frame, area);
    }
    // The marker, four fixed columns and their spacing; the owner gets the rest.
    let owner_width = usize::from(area.width.saturating_sub(2 + 10 + 8 + 10 + 12 + 4)).max(8);
    let rows = data.shares.iter().map(|share| {
        let status = &share.status;
        let (text, color) = match status.state {
            StatusState::Armed => ("ARMED".to_owned(), styles.success),
            StatusState::Locked => ("LOCKED".to_owned(), styles.danger),
            StatusState::Opened { .. } => ("OPENED".to_owned(), styles.muted),
            StatusState::Revoked { .. } => ("REVOKED".to_owned(), styles.muted),
            StatusState::TakenDown { .. } => ("REMOVED".to_owned(), styles.danger),
        };
        let live = matches!(status.state, StatusState::Armed | StatusState::Locked)
            && !status.is_expired(state.now);
        Row::new(vec![
            Span::raw(status.handle.to_string()),
            Span::styled(text, Style::new().fg(color)),
            Span::raw(format_size(status.stored_size)),
            if live {
                Span::styled(
                    countdown(status.expires_at.saturating_sub(state.now)),
                    styles.warning(),
                )
            } else {
                Span::styled("—", styles.muted())
            },
            Span::raw(
                share
                    .owner
                    .as_ref()
                    .map_or("(NO KEY)".to_owned(), |o| tail(o.as_str(), owner_width)),
            ),
        ])
    });
    listing(
        frame,
        area,
        rows,
        panel.selected(),
        [
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Min(10),
        ],
        header(["HANDLE", "STATE", "STORED", "EXPIRES IN", "OWNER"], styles),
        styles,
    );
}

fn reports(
    panel: &OperatorPanel,
    data: &OperatorSnapshot,
    styles: &Styles,
    frame: &mut Frame,
    area: Rect,
) {
    if data.reports.is_empty() {
        return empty("NO OPEN REPORTS", styles, frame, area);
    }
    let rows = data.reports.iter().map(|report| {
        let filed = &report.filed;
        Row::new(vec![
            Span::raw(format!("#{}", report.number)),
            Span::raw(filed.share.clone()),
            Span::styled(filed.reason.as_str().to_uppercase(), styles.warning()),
            Span::raw(filed.reporter.clone()),
            Span::raw(if filed.details.is_empty() {
                "-".to_owned()
            } else {
                filed.details.clone()
            }),
        ])
    });
    listing(
        frame,
        area,
        rows,
        panel.selected(),
        [
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(22),
            Constraint::Min(10),
        ],
        header(["#", "SHARE", "REASON", "FROM", "DETAILS"], styles),
        styles,
    );
}

fn bans(
    panel: &OperatorPanel,
    data: &OperatorSnapshot,
    styles: &Styles,
    frame: &mut Frame,
    area: Rect,
) {
    if data.bans.is_empty() {
        return empty("NO BANS", styles, frame, area);
    }
    let rows = data.bans.iter().map(|ban| {
        let until = ban
            .until
            .map_or("LIFTED".to_owned(), crate::utc::utc_minutes);
        Row::new(vec![Span::raw(ban.target.to_string()), Span::raw(until)])
    });
    listing(
        frame,
        area,
        rows,
        panel.selected(),
        [Constraint::Min(20), Constraint::Length(22)],
        header(["TARGET", "UNTIL"], styles),
        styles,
    );
}

/// `text` whole if it fits `width`, else its end after `…` (a fingerprint's end is what
/// `ssh-keygen -lf` users compare).
fn tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    let keep: String = text.chars().skip(count + 1 - width).collect();
    format!("…{keep}")
}
