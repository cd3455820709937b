//! My shares' handling: moving the selection, details, and revoking — which needs an explicit
//! `y` typed by hand (the caller turns a key from a burst into nothing before it gets here).

use crossterm::event::{KeyCode, KeyEvent};

use super::Effect;
use crate::share::StatusState;
use crate::tui::keymap::Command;
use crate::tui::state::ShareList;

/// Returns true when the key leaves the screen.
pub(super) fn shares_key(
    list: &mut ShareList,
    key: KeyEvent,
    command: Option<Command>,
    effects: &mut Vec<Effect>,
) -> bool {
    if let Some(handle) = list.confirm_revoke.take() {
        match key.code {
            KeyCode::Char('y' | 'Y') => effects.push(Effect::Revoke(handle)),
            _ => list.notice = Some("REVOKE CANCELLED".into()),
        }
        return false;
    }
    match command {
        Some(Command::Up) => list.selected = list.selected.saturating_sub(1),
        Some(Command::Down) if list.selected + 1 < list.items.len() => {
            list.selected += 1;
        }
        Some(Command::Details) => list.detail = !list.detail,
        Some(Command::Back) if list.detail => list.detail = false,
        Some(Command::Back) => return true,
        Some(Command::Revoke) => {
            if let Some(item) = list.items.get(list.selected) {
                if item.state == StatusState::Armed {
                    list.confirm_revoke = Some(item.handle.clone());
                } else {
                    list.notice = Some(format!(
                        "{} IS ALREADY {}",
                        item.handle,
                        item.state.label().to_uppercase()
                    ));
                }
            }
        }
        _ => {}
    }
    false
}
