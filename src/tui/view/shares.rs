//! My shares: the sender's shares (by SSH key) as a table with a marked selection, a LABEL
//! column for the shares this session armed, the `n/m` cue, an optional details panel, and one
//! line for the pending revoke question or the last notice. Dead shares show `—` for the time
//! left: a countdown on a share nobody can open means nothing.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row};

use super::widgets::{block, label, list_status, selectable_table};
use crate::config::format_size;
use crate::share::{ShareStatus, StatusState};
use crate::tui::colors::Styles;
use crate::tui::state::{ShareList, State, clock_utc, countdown};

/// The STATE cell; `with_time` adds when it was opened (the details panel always has it).
fn state_text(state: &State, status: &ShareStatus, with_time: bool) -> String {
    if state.now > 0 && status.is_expired(state.now) {
        return "EXPIRED".into();
    }
    match status.state {
        StatusState::Armed => "ARMED".into(),
        StatusState::Opened { at } if with_time => format!("OPENED {}", clock_utc(at)),
        StatusState::Opened { .. } => "OPENED".into(),
        StatusState::Revoked { .. } => "REVOKED".into(),
        StatusState::TakenDown { .. } => "REMOVED".into(),
        StatusState::Locked => "LOCKED".into(),
    }
}

/// Still openable (a locked share waits for the operator, so it keeps its expiry).
fn live(state: &State, status: &ShareStatus) -> bool {
    matches!(status.state, StatusState::Armed | StatusState::Locked)
        && !(state.now > 0 && status.is_expired(state.now))
}

pub fn shares(state: &State, list: &ShareList, styles: &Styles, frame: &mut Frame, area: Rect) {
    let [table_area, detail_area, notice_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if list.detail { 6 } else { 0 }),
        Constraint::Length(1),
    ])
    .areas(area);
    let outer = block("MY SHARES", true, styles);
    let inner = outer.inner(table_area);
    frame.render_widget(outer, table_area);
    if let Some(status) = list_status(list.loaded, list.error.as_deref(), styles) {
        frame.render_widget(status, inner);
    } else if list.items.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "NO LIVE SHARES · PRESS ESC TO WRITE ONE",
                styles.muted(),
            )),
            inner,
        );
    } else {
        let with_label = inner.width >= 80;
        let rows: Vec<Row> = list
            .items
            .iter()
            .map(|s| {
                let state_style = match s.state {
                    _ if !live(state, s) => styles.muted(),
                    StatusState::Armed => styles.success(),
                    _ => styles.danger(),
                };
                let left = if live(state, s) {
                    Span::styled(
                        countdown(s.expires_at.saturating_sub(state.now)),
                        styles.warning(),
                    )
                } else {
                    Span::styled("—", styles.muted())
                };
                let mut cells = vec![Span::raw(s.handle.to_string())];
                if with_label {
                    cells.push(Span::raw(
                        state.labels.get(&s.handle).cloned().unwrap_or_default(),
                    ));
                }
                cells.extend([
                    Span::raw(s.kind.as_str().to_uppercase()),
                    Span::raw(format_size(s.stored_size)),
                    Span::styled(state_text(state, s, with_label), state_style),
                    left,
                ]);
                Row::new(cells)
            })
            .collect();
        let mut widths = vec![Constraint::Length(11)];
        let mut head = vec!["ID"];
        if with_label {
            widths.push(Constraint::Min(12));
            head.push("LABEL");
        }
        widths.extend([
            Constraint::Length(5),
            Constraint::Length(10),
            Constraint::Length(if with_label { 19 } else { 8 }),
            Constraint::Length(10),
        ]);
        head.extend(["KIND", "STORED", "STATE", "EXPIRES IN"]);
        selectable_table(
            frame,
            inner,
            Row::new(head),
            rows,
            widths,
            list.selected,
            styles,
        );
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
                label("STATE    ", styles),
                Span::raw(state_text(state, s, true)),
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
            styles.danger(),
        )
    } else if let Some(notice) = &list.notice {
        Line::styled(notice.clone(), styles.warning())
    } else {
        Line::raw("")
    };
    frame.render_widget(Paragraph::new(notice), notice_area);
}
