//! The inbox: shares sealed to the session's key as a table numbered like `ssh HOST inbox`
//! (N, FROM, KIND, SIZE, EXPIRES IN, LABEL) with the marked selection and `n/m` cue of My shares,
//! then the exact `get ID` command that claims the selected one. The screen never claims: the age
//! file goes to a shell pipe, and the empty state says how senders seal and recipients claim.
//! Sender fingerprints and labels come from other people, so control characters are dropped.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Wrap};

use super::widgets::{block, label, list_status, selectable_table, wrap_words};
use crate::config::format_size;
use crate::tui::colors::Styles;
use crate::tui::state::{InboxList, State, countdown};

/// Text someone else chose, fit for a cell: no control characters (no escapes reach a terminal).
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

pub fn inbox(state: &State, list: &InboxList, styles: &Styles, frame: &mut Frame, area: Rect) {
    // The command wraps between words on narrow terminals rather than losing its end.
    let command = list.get_command(&state.ssh);
    let command_lines = command.as_deref().map_or(Vec::new(), |c| {
        wrap_words(c, usize::from(area.width.saturating_sub(4)).max(10))
    });
    let claim_rows = if command_lines.is_empty() {
        0
    } else {
        command_lines.len() as u16 + 3
    };
    let [table_area, claim_area, notice_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(claim_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    let outer = block("INBOX", true, styles);
    let inner = outer.inner(table_area);
    frame.render_widget(outer, table_area);
    if let Some(status) = list_status(list.loaded, list.error.as_deref(), styles) {
        frame.render_widget(status, inner);
    } else if list.items.is_empty() {
        frame.render_widget(
            Paragraph::new(empty_lines(state, styles)).wrap(Wrap { trim: false }),
            inner,
        );
    } else {
        let with_label = inner.width >= 70;
        let rows: Vec<Row> = list
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut cells = vec![
                    Span::raw((i + 1).to_string()),
                    Span::raw(printable(&item.from)),
                    Span::raw(item.kind.as_str().to_uppercase()),
                    Span::raw(format_size(item.stored_size)),
                    Span::styled(
                        countdown(item.expires_at.saturating_sub(state.now)),
                        styles.warning(),
                    ),
                ];
                if with_label {
                    cells.push(Span::raw(printable(
                        item.label.as_deref().unwrap_or_default(),
                    )));
                }
                Row::new(cells)
            })
            .collect();
        let mut widths = vec![
            Constraint::Length(3),
            Constraint::Min(12),
            Constraint::Length(5),
            Constraint::Length(10),
            Constraint::Length(10),
        ];
        let mut head = vec!["N", "FROM", "KIND", "SIZE", "EXPIRES IN"];
        if with_label {
            widths.push(Constraint::Length(inner.width / 4));
            head.push("LABEL");
        }
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
    if !command_lines.is_empty() {
        let mut lines: Vec<Line> = command_lines
            .into_iter()
            .map(|l| Line::styled(l, styles.accent()))
            .collect();
        lines.push(Line::from(vec![
            label("C COPIES IT · ", styles),
            Span::styled("RUN IT IN A SHELL · ONCE ONLY", styles.muted()),
        ]));
        frame.render_widget(
            Paragraph::new(lines).block(block("CLAIM", false, styles)),
            claim_area,
        );
    }
    let notice = match &list.notice {
        Some(notice) => Line::styled(notice.clone(), styles.warning()),
        None => Line::raw(""),
    };
    frame.render_widget(Paragraph::new(notice), notice_area);
}

/// The empty inbox explains both sides: how a sender seals to this key, how it is claimed.
fn empty_lines(state: &State, styles: &Styles) -> Vec<Line<'static>> {
    let ssh = &state.ssh;
    vec![
        Line::styled("NOTHING SEALED TO YOUR KEY YET", styles.muted()),
        Line::raw(""),
        Line::styled("A SENDER SEALS A FILE TO YOUR PUBLIC KEY:", styles.label()),
        Line::styled(
            format!("  {ssh} -- --to \"$(cat id_ed25519.pub)\" < file"),
            styles.body(),
        ),
        Line::styled(format!("  {ssh} -- --to github:YOU < file"), styles.body()),
        Line::raw(""),
        Line::styled(
            "IT SHOWS UP HERE; YOU CLAIM IT ONCE BY ITS ID:",
            styles.label(),
        ),
        Line::styled(
            format!("  {ssh} get ID | age -d -i ~/.ssh/id_ed25519 > file"),
            styles.accent(),
        ),
    ]
}
