//! The inbox's handling: moving the selection, reloading, and copying the selected share's
//! `get ID` command. Nothing here claims a share: the claim streams an age file, which belongs
//! in a shell pipe (`… get ID | age -d …`), not on a terminal screen.

use zeroize::Zeroizing;

use super::Effect;
use crate::tui::keymap::Command;
use crate::tui::state::InboxList;

/// Returns true when the key leaves the screen.
pub(super) fn inbox_key(
    list: &mut InboxList,
    command: Option<Command>,
    ssh: &str,
    effects: &mut Vec<Effect>,
) -> bool {
    match command {
        Some(Command::Up) => list.selected = list.selected.saturating_sub(1),
        Some(Command::Down) if list.selected + 1 < list.items.len() => list.selected += 1,
        Some(Command::Reload) => effects.push(Effect::LoadInbox),
        Some(Command::Copy) => {
            if let Some(command) = list.get_command(ssh) {
                effects.push(Effect::Copy(Zeroizing::new(command)));
                list.notice = Some(format!(
                    "COPIED THE GET COMMAND FOR SHARE {} · PASTE IT IN A SHELL",
                    list.selected + 1
                ));
            }
        }
        Some(Command::Back) => return true,
        _ => {}
    }
    false
}
