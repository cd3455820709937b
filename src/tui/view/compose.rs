//! The compose screen: the secret's text box (focused and orange by default), the options
//! (expiry, password twice, label) and the ARM button with the one error line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::block;
use crate::config::format_size;
use crate::tui::colors::Styles;
use crate::tui::state::{Compose, Field, State};

/// What the empty text box says.
const PLACEHOLDER: &str = "Type or paste the secret here.";

/// The side panel's width, shown when the column has room for it next to an 80-column form.
const SIDE: u16 = 38;

pub fn compose(state: &State, c: &Compose, styles: &Styles, frame: &mut Frame, area: Rect) {
    let area = if area.width >= 80 + 2 + SIDE {
        let [main, _, side] = Layout::horizontal([
            Constraint::Min(80),
            Constraint::Length(2),
            Constraint::Length(SIDE),
        ])
        .areas(area);
        how_it_works(state, styles, frame, side);
        main
    } else {
        area
    };
    let [text_area, options, action] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(4),
        Constraint::Length(2),
    ])
    .areas(area);

    let focused = c.focus == Field::Text;
    let size = c.text.size();
    let counter_style = if size >= c.text.cap() {
        styles.warning()
    } else {
        styles.muted()
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
    let long = format!(
        " LARGER: cat FILE | ssh {host} · scp FILE {host}: ",
        host = state.host
    );
    let larger = if long.chars().count() + 2 <= usize::from(text_area.width) {
        long
    } else {
        format!(" LARGER: cat FILE | ssh {} ", state.host)
    };
    let text_block = block("SECRET", focused, styles)
        .title(counter)
        .title_bottom(Line::styled(larger, styles.muted()));
    let inner = text_block.inner(text_area);
    frame.render_widget(text_block, text_area);
    let cursor = if focused {
        ratatui::style::Style::new()
            .fg(styles.on_accent())
            .bg(styles.accent)
    } else {
        styles.body()
    };
    c.text.render(
        inner,
        frame.buffer_mut(),
        styles.panel(),
        cursor,
        (PLACEHOLDER, styles.muted()),
    );

    // Options: expiry, password + confirm, label.
    let field_style = |field: Field| {
        if c.focus == field {
            styles.accent()
        } else {
            styles.label()
        }
    };
    let mut expiry = vec![Span::styled("EXPIRES    ", field_style(Field::Expiry))];
    for i in 0..state.expiries.len() {
        let text = format!(" {} ", state.expiry_label(i));
        let style = if i == c.expiry {
            if c.focus == Field::Expiry {
                styles.button()
            } else {
                styles.selected()
            }
        } else {
            styles.muted()
        };
        expiry.push(Span::styled(text, style));
        expiry.push(Span::raw(" "));
    }
    let masked = |len: usize, focus: Field, empty: &str| {
        let caret = if c.focus == focus { "▏" } else { "" };
        if len == 0 && c.focus != focus {
            Span::styled(empty.to_owned(), styles.muted())
        } else {
            Span::styled(format!("{}{caret}", "•".repeat(len.min(24))), styles.body())
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
        Span::styled("(OPTIONAL)", styles.muted())
    } else {
        Span::styled(format!("{}{label_caret}", c.label), styles.body())
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
        styles
            .button()
            .bg(styles.accent_strong)
            .add_modifier(Modifier::UNDERLINED)
    } else {
        styles.button()
    };
    let mut spans = vec![Span::styled(arm_text, arm_style), Span::raw("  ")];
    if let Some(error) = &c.error {
        spans.push(Span::styled(error.clone(), styles.danger()));
    } else if password_len > 0 {
        spans.push(Span::styled("PASSWORD REQUIRED TO OPEN", styles.warning()));
    }
    let [_, button] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(action);
    frame.render_widget(Paragraph::new(Line::from(spans)), button);
}

/// What a first-time sender needs to know, beside the form on wide terminals.
fn how_it_works(state: &State, styles: &Styles, frame: &mut Frame, area: Rect) {
    let step = |n: &str, text: &str| {
        Line::from(vec![
            Span::styled(format!("{n}  "), styles.accent()),
            Span::styled(text.to_owned(), styles.body()),
        ])
    };
    let host = &state.host;
    let command = |text: String| Line::styled(text, styles.body());
    let lines = vec![
        step("1", "TYPE OR PASTE THE SECRET"),
        step("2", "CTRL-S ARMS IT: YOU GET A LINK"),
        step("3", "SEND THE LINK: IT OPENS ONCE"),
        step("4", "THIS SCREEN SAYS WHEN IT IS"),
        Line::styled("   OPENED, AND BY THEN IT IS GONE", styles.body()),
        Line::raw(""),
        Line::styled("THE KEY LIVES ONLY IN THE LINK:", styles.muted()),
        Line::styled("NOTHING ON THE SERVER CAN OPEN IT.", styles.muted()),
        Line::raw(""),
        Line::styled("FROM A SHELL", styles.label()),
        command(format!("cat FILE | ssh {host}")),
        command(format!("scp FILE {host}:")),
        command(format!("ssh {host} ls")),
        command(format!("ssh {host} help")),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(block("HOW IT WORKS", false, styles)),
        area,
    );
}
