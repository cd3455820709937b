//! The compose screen's handling: keys and pastes into the fields (bounded by the draft's cap
//! and the label and password limits), the form's validation, and arming. A share is never
//! armed empty, over the size limit, or with a password that was not typed twice the same.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use zeroize::Zeroizing;

use super::{ArmedOk, Effect};
use crate::config::format_size;
use crate::safe_text::{Unsafe, sanitize};
use crate::tui::draft::{Full, MAX_LINES};
use crate::tui::keymap::Command;
use crate::tui::state::{ArmedShare, Compose, Field, Screen, State};

/// Longest label accepted (it becomes the share's name).
pub const MAX_LABEL: usize = 64;
/// Longest password typed into the form.
pub const MAX_PASSWORD: usize = 1024;

/// What the screen says when a paste or a key would pass the draft's cap (the way to send
/// something larger is on the text box's border).
pub(super) fn too_large(full: Full, bytes: Option<usize>, cap: usize) -> String {
    let what = match bytes {
        Some(bytes) => format!("PASTE TOO LARGE ({})", format_size(bytes as u64)),
        None => "DRAFT FULL".into(),
    };
    let limit = match full {
        Full::Bytes => format_size(cap as u64),
        Full::Lines => format!("{MAX_LINES} LINES"),
    };
    format!("{what}: {limit} MAX HERE · NOTHING ADDED")
}

pub(super) fn on_paste(c: &mut Compose, text: &str) {
    if c.arming {
        return;
    }
    match c.focus {
        Field::Text => match c.text.insert_str(text) {
            Ok(()) => c.error = None,
            Err(full) => c.error = Some(too_large(full, Some(text.len()), c.text.cap())),
        },
        Field::Password => push_line(&mut c.password, text, MAX_PASSWORD),
        Field::Confirm => push_line(&mut c.confirm, text, MAX_PASSWORD),
        Field::Label => {
            let mut label = std::mem::take(&mut c.label);
            push_plain(&mut label, text, MAX_LABEL);
            c.label = label;
        }
        Field::Expiry | Field::Arm => {}
    }
}

pub(super) fn push_line(target: &mut Zeroizing<String>, text: &str, max: usize) {
    for ch in text.chars().filter(|c| !c.is_control()) {
        if target.len() + ch.len_utf8() > max {
            break;
        }
        target.push(ch);
    }
}

/// A label is shown on screen and becomes a share name: only what shows as itself.
pub(super) fn push_plain(target: &mut String, text: &str, max: usize) {
    for ch in sanitize(text, Unsafe::Drop).chars() {
        if target.len() + ch.len_utf8() > max {
            break;
        }
        target.push(ch);
    }
}

pub(super) fn compose_key(
    c: &mut Compose,
    key: KeyEvent,
    command: Option<Command>,
    expiries: usize,
) {
    if c.arming {
        return;
    }
    let focus_index = Field::ORDER.iter().position(|f| *f == c.focus).unwrap_or(0);
    match command {
        Some(Command::NextField) => {
            c.focus = Field::ORDER[(focus_index + 1) % Field::ORDER.len()];
            return;
        }
        Some(Command::PreviousField) => {
            c.focus = Field::ORDER[(focus_index + Field::ORDER.len() - 1) % Field::ORDER.len()];
            return;
        }
        _ => {}
    }
    match c.focus {
        Field::Text => match c.text.key(key) {
            Ok(true) => c.error = None,
            Ok(false) => {}
            Err(full) => c.error = Some(too_large(full, None, c.text.cap())),
        },
        Field::Expiry => match key.code {
            KeyCode::Left | KeyCode::Char('h') => c.expiry = c.expiry.saturating_sub(1),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => {
                if c.expiry + 1 < expiries {
                    c.expiry += 1;
                } else if key.code == KeyCode::Char(' ') {
                    c.expiry = 0;
                }
            }
            KeyCode::Enter => c.focus = Field::Password,
            _ => {}
        },
        Field::Password | Field::Confirm | Field::Label => {
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            match key.code {
                KeyCode::Backspace => {
                    match c.focus {
                        Field::Password => c.password.pop(),
                        Field::Confirm => c.confirm.pop(),
                        _ => c.label.pop(),
                    };
                }
                KeyCode::Char('u') if ctrl => match c.focus {
                    Field::Password => c.password.clear(),
                    Field::Confirm => c.confirm.clear(),
                    _ => c.label.clear(),
                },
                KeyCode::Char(ch) if !ctrl => {
                    let text = ch.to_string();
                    match c.focus {
                        Field::Password => push_line(&mut c.password, &text, MAX_PASSWORD),
                        Field::Confirm => push_line(&mut c.confirm, &text, MAX_PASSWORD),
                        _ => push_plain(&mut c.label, &text, MAX_LABEL),
                    }
                }
                KeyCode::Enter => c.focus = Field::ORDER[(focus_index + 1) % Field::ORDER.len()],
                _ => {}
            }
        }
        Field::Arm => {}
    }
}

/// Validates the form and asks the session to arm it.
pub(super) fn arm(state: &mut State, effects: &mut Vec<Effect>) {
    let max_size = state.max_size;
    let ttl = {
        let Screen::Compose(c) = &state.screen else {
            return;
        };
        state.expiries.get(c.expiry).copied()
    };
    let Screen::Compose(c) = &mut state.screen else {
        return;
    };
    if c.arming {
        return;
    }
    let Some(ttl) = ttl else {
        c.error = Some("PICK AN EXPIRY".into());
        return;
    };
    if c.text.is_empty() {
        c.error = Some("NOTHING TO SHARE: TYPE OR PASTE THE SECRET FIRST".into());
        c.focus = Field::Text;
        return;
    }
    if c.text.size() as u64 > max_size {
        c.error = Some(format!("TOO LARGE: THE LIMIT IS {}", format_size(max_size)));
        return;
    }
    let password = if c.password.is_empty() && c.confirm.is_empty() {
        None
    } else {
        let same: bool =
            subtle::ConstantTimeEq::ct_eq(c.password.as_bytes(), c.confirm.as_bytes()).into();
        if !same || c.password.is_empty() {
            c.error = Some("THE PASSWORDS DO NOT MATCH".into());
            c.focus = Field::Confirm;
            return;
        }
        Some(c.password.clone())
    };
    let label = Some(c.label.trim().to_owned()).filter(|l| !l.is_empty());
    let text = c.text.text();
    c.arming = true;
    c.error = None;
    effects.push(Effect::Arm {
        text,
        ttl,
        password,
        label,
    });
}

pub(super) fn on_armed(state: &mut State, result: Result<Box<ArmedOk>, String>) {
    let Screen::Compose(c) = &mut state.screen else {
        return;
    };
    c.arming = false;
    match result {
        Ok(ok) => {
            let label = Some(c.label.trim().to_owned()).filter(|l| !l.is_empty());
            if let Some(label) = &label {
                state.labels.insert(ok.handle.clone(), label.clone());
            }
            let armed = ArmedShare {
                link: ok.link,
                handle: ok.handle,
                label,
                size: ok.size,
                expires_at: ok.expires_at,
                password: !c.password.is_empty(),
                status: None,
                show_qr: true,
                copied: false,
            };
            state.screen = Screen::Armed(Box::new(armed));
        }
        Err(message) => c.error = Some(message.to_uppercase()),
    }
}
