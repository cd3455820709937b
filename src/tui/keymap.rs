//! The one keymap: every key the TUI answers, with the word the footer shows, the line the help
//! screen shows and the [`Command`] it runs. Dispatch ([`super::update`]), the footer and the
//! help overlay ([`super::view`]) all read [`BINDINGS`], so a key cannot work without being
//! listed, nor be listed without working.
//!
//! Keys typed into a text field (the secret, the password, the label) are text first: only
//! bindings marked `while_typing` (control keys, function keys, Tab) act there. This table does
//! not hold the text editor's own keys (arrows, Home/End, Backspace); [`super::draft`] owns
//! those and the help lists the ones worth knowing (`CTRL-U`, `CTRL-K`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for; [`super::update`] decides what it does in the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    MyShares,
    Inbox,
    Operator,
    NextField,
    PreviousField,
    Arm,
    Copy,
    ToggleQr,
    NewShare,
    Up,
    Down,
    Details,
    Revoke,
    Back,
    NextTab,
    PreviousTab,
    Tab(u8),
    Reload,
    TakeDown,
    Dismiss,
    Unban,
}

/// Which screens a binding acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    Compose,
    Armed,
    Shares,
    Inbox,
    Operator,
}

/// One key (or a few equivalent keys) and what it means.
pub struct Binding {
    /// The keys, as (code, modifiers); `Char` codes match with or without SHIFT.
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the footer and the help name the key.
    pub name: &'static str,
    /// The footer's word for it; `None` keeps it out of the footer (still in the help).
    pub footer: Option<&'static str>,
    pub help: &'static str,
    pub command: Command,
    pub scope: Scope,
    /// Acts even while a text field has the keyboard.
    pub while_typing: bool,
    /// Only for operator keys.
    pub operator_only: bool,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

const fn bind(
    keys: &'static [(KeyCode, KeyModifiers)],
    name: &'static str,
    footer: Option<&'static str>,
    help: &'static str,
    command: Command,
    scope: Scope,
) -> Binding {
    Binding {
        keys,
        name,
        footer,
        help,
        command,
        scope,
        while_typing: false,
        operator_only: false,
    }
}

const fn typing(mut binding: Binding) -> Binding {
    binding.while_typing = true;
    binding
}

/// Every binding, in the order the help lists them. Footers list a screen's own bindings
/// first, then the global ones.
pub static BINDINGS: &[Binding] = &[
    // Compose.
    typing(bind(
        &[(KeyCode::Tab, NONE)],
        "TAB",
        Some("FIELD"),
        "next field (SHIFT-TAB: previous)",
        Command::NextField,
        Scope::Compose,
    )),
    typing(bind(
        &[
            (KeyCode::BackTab, KeyModifiers::SHIFT),
            (KeyCode::BackTab, NONE),
        ],
        "SHIFT-TAB",
        None,
        "previous field",
        Command::PreviousField,
        Scope::Compose,
    )),
    typing(bind(
        &[(KeyCode::Char('s'), CTRL)],
        "CTRL-S",
        Some("ARM"),
        "arm the share (pressed on its own) · ENTER on ARM does too",
        Command::Arm,
        Scope::Compose,
    )),
    // Armed.
    bind(
        &[(KeyCode::Char('c'), NONE)],
        "C",
        Some("COPY"),
        "copy the link to your clipboard (OSC 52)",
        Command::Copy,
        Scope::Armed,
    ),
    bind(
        &[(KeyCode::Char('r'), NONE)],
        "R",
        Some("QR"),
        "show / hide the link as a QR code",
        Command::ToggleQr,
        Scope::Armed,
    ),
    bind(
        &[(KeyCode::Char('n'), NONE)],
        "N",
        Some("NEW"),
        "write a new share",
        Command::NewShare,
        Scope::Armed,
    ),
    // My shares.
    bind(
        &[(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        "↑↓",
        Some("SELECT"),
        "move the selection (also K / J)",
        Command::Up,
        Scope::Shares,
    ),
    bind(
        &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        "↓",
        None,
        "",
        Command::Down,
        Scope::Shares,
    ),
    bind(
        &[(KeyCode::Enter, NONE)],
        "ENTER",
        Some("DETAILS"),
        "show / hide the selected share's details",
        Command::Details,
        Scope::Shares,
    ),
    bind(
        &[(KeyCode::Char('x'), NONE)],
        "X",
        Some("REVOKE"),
        "revoke the selected share (Y confirms)",
        Command::Revoke,
        Scope::Shares,
    ),
    bind(
        &[(KeyCode::Esc, NONE), (KeyCode::Char('b'), NONE)],
        "ESC",
        Some("BACK"),
        "back to the share you were on",
        Command::Back,
        Scope::Shares,
    ),
    // Inbox.
    bind(
        &[(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        "↑↓",
        Some("SELECT"),
        "move the selection (also K / J)",
        Command::Up,
        Scope::Inbox,
    ),
    bind(
        &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        "↓",
        None,
        "",
        Command::Down,
        Scope::Inbox,
    ),
    bind(
        &[(KeyCode::Char('c'), NONE)],
        "C",
        Some("COPY GET"),
        "copy the selected share's `get` command (OSC 52); claim it in a shell",
        Command::Copy,
        Scope::Inbox,
    ),
    bind(
        &[(KeyCode::Char('r'), NONE)],
        "R",
        Some("RELOAD"),
        "reload the inbox",
        Command::Reload,
        Scope::Inbox,
    ),
    bind(
        &[(KeyCode::Esc, NONE), (KeyCode::Char('b'), NONE)],
        "ESC",
        Some("BACK"),
        "back to the share you were on",
        Command::Back,
        Scope::Inbox,
    ),
    // Operator.
    bind(
        &[(KeyCode::Tab, NONE), (KeyCode::Right, NONE)],
        "TAB",
        Some("TAB"),
        "next tab (← previous · 1-4 pick one)",
        Command::NextTab,
        Scope::Operator,
    ),
    bind(
        &[
            (KeyCode::BackTab, KeyModifiers::SHIFT),
            (KeyCode::BackTab, NONE),
            (KeyCode::Left, NONE),
        ],
        "←",
        None,
        "",
        Command::PreviousTab,
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Char('1'), NONE)],
        "1",
        None,
        "",
        Command::Tab(0),
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Char('2'), NONE)],
        "2",
        None,
        "",
        Command::Tab(1),
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Char('3'), NONE)],
        "3",
        None,
        "",
        Command::Tab(2),
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Char('4'), NONE)],
        "4",
        None,
        "",
        Command::Tab(3),
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        "↑↓",
        Some("SELECT"),
        "",
        Command::Up,
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        "↓",
        None,
        "",
        Command::Down,
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Char('t'), NONE)],
        "T",
        Some("TAKE DOWN"),
        "operator: take the selected share down (Y confirms)",
        Command::TakeDown,
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Char('d'), NONE)],
        "D",
        Some("DISMISS"),
        "operator: dismiss the selected report",
        Command::Dismiss,
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Char('u'), NONE)],
        "U",
        Some("UNBAN"),
        "operator: lift the selected ban",
        Command::Unban,
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Char('r'), NONE)],
        "R",
        Some("RELOAD"),
        "",
        Command::Reload,
        Scope::Operator,
    ),
    bind(
        &[(KeyCode::Esc, NONE), (KeyCode::Char('b'), NONE)],
        "ESC",
        Some("BACK"),
        "",
        Command::Back,
        Scope::Operator,
    ),
    // Everywhere.
    typing(bind(
        &[(KeyCode::Char('l'), CTRL)],
        "CTRL-L",
        Some("MY SHARES"),
        "my shares (a draft is kept for when you come back)",
        Command::MyShares,
        Scope::Everywhere,
    )),
    bind(
        &[(KeyCode::Char('l'), NONE)],
        "L",
        None,
        "my shares, outside a text field",
        Command::MyShares,
        Scope::Everywhere,
    ),
    typing(bind(
        &[(KeyCode::F(2), NONE)],
        "F2",
        Some("INBOX"),
        "inbox: shares sealed to your key (also I outside a text field)",
        Command::Inbox,
        Scope::Everywhere,
    )),
    bind(
        &[(KeyCode::Char('i'), NONE)],
        "I",
        None,
        "",
        Command::Inbox,
        Scope::Everywhere,
    ),
    Binding {
        operator_only: true,
        ..typing(bind(
            &[(KeyCode::Char('o'), CTRL)],
            "CTRL-O",
            Some("OPERATOR"),
            "operator console",
            Command::Operator,
            Scope::Everywhere,
        ))
    },
    typing(bind(
        &[(KeyCode::F(1), NONE)],
        "F1",
        Some("HELP"),
        "this help (also ? outside a text field)",
        Command::Help,
        Scope::Everywhere,
    )),
    bind(
        &[(KeyCode::Char('?'), NONE)],
        "?",
        None,
        "",
        Command::Help,
        Scope::Everywhere,
    ),
    typing(bind(
        &[(KeyCode::Char('c'), CTRL), (KeyCode::Char('d'), CTRL)],
        "CTRL-C",
        Some("QUIT"),
        "quit (Q outside a text field) · asks once if the link was never copied",
        Command::Quit,
        Scope::Everywhere,
    )),
    bind(
        &[(KeyCode::Char('q'), NONE)],
        "Q",
        None,
        "",
        Command::Quit,
        Scope::Everywhere,
    ),
];

/// The editing keys of the text fields, listed in the help (the editor owns them).
pub const EDITING: &[(&str, &str)] = &[
    ("← → · ↑ ↓", "move in the secret; ← → pick the expiry"),
    (
        "CTRL-U",
        "delete to the start of the line (clears a one-line field)",
    ),
    ("CTRL-K", "delete to the end of the line"),
    ("PASTE", "into the focused field · up to 64 KiB"),
    ("PLINK · DBCLIENT", "to pipe a file, add -T"),
];

impl Binding {
    fn matches(&self, key: &KeyEvent) -> bool {
        let mods = key.modifiers.difference(KeyModifiers::SHIFT);
        self.keys.iter().any(|(code, want)| {
            if *code == KeyCode::BackTab {
                return key.code == KeyCode::BackTab;
            }
            *code == key.code && want.difference(KeyModifiers::SHIFT) == mods
        })
    }

    fn applies(&self, scope: Scope, typing: bool, operator: bool) -> bool {
        // A screen does not offer itself.
        let pointless = (scope == Scope::Shares && self.command == Command::MyShares)
            || (scope == Scope::Inbox && self.command == Command::Inbox);
        !pointless
            && (self.scope == scope || self.scope == Scope::Everywhere)
            && (self.while_typing || !typing)
            && (operator || !self.operator_only)
    }
}

/// The command `key` runs on a screen of `scope`: the screen's own bindings first, then the
/// global ones. `typing` = a text field has the keyboard.
pub fn command(key: &KeyEvent, scope: Scope, typing: bool, operator: bool) -> Option<Command> {
    let screen = BINDINGS
        .iter()
        .filter(|b| b.scope == scope)
        .chain(BINDINGS.iter().filter(|b| b.scope == Scope::Everywhere));
    screen
        .filter(|b| b.applies(scope, typing, operator))
        .find(|b| b.matches(key))
        .map(|b| b.command)
}

/// The footer's (key, word) pairs for a screen, in the table's order.
pub fn footer(scope: Scope, operator: bool) -> impl Iterator<Item = (&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(move |b| b.applies(scope, false, operator) || (b.scope == scope && b.while_typing))
        .filter_map(|b| b.footer.map(|word| (b.name, word)))
}

/// The help's (key, text) lines for a screen: its bindings and the global ones with help text,
/// then (on compose) the editing keys.
pub fn help(scope: Scope, operator: bool) -> impl Iterator<Item = (&'static str, &'static str)> {
    let editing: &'static [(&'static str, &'static str)] = if scope == Scope::Compose {
        EDITING
    } else {
        &[]
    };
    // Every compose field takes letters, so only keys that act while typing apply there.
    let typing = scope == Scope::Compose;
    BINDINGS
        .iter()
        .filter(move |b| !b.help.is_empty() && b.applies(scope, typing, operator))
        .map(|b| (b.name, b.help))
        .chain(editing.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn letters_act_outside_text_fields_and_control_keys_everywhere() {
        let q = key(KeyCode::Char('q'));
        assert_eq!(command(&q, Scope::Armed, false, false), Some(Command::Quit));
        assert_eq!(command(&q, Scope::Compose, true, false), None, "q is text");
        let ctrl_l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL);
        assert_eq!(
            command(&ctrl_l, Scope::Compose, true, false),
            Some(Command::MyShares)
        );
        let ctrl_o = KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL);
        assert_eq!(
            command(&ctrl_o, Scope::Compose, true, false),
            None,
            "operators only"
        );
        assert_eq!(
            command(&ctrl_o, Scope::Compose, true, true),
            Some(Command::Operator)
        );
        // A screen's own meaning of a key wins over the global one.
        let r = key(KeyCode::Char('r'));
        assert_eq!(
            command(&r, Scope::Armed, false, false),
            Some(Command::ToggleQr)
        );
        assert_eq!(
            command(&r, Scope::Operator, false, true),
            Some(Command::Reload)
        );
    }

    #[test]
    fn every_footer_word_is_a_key_that_works_and_is_in_the_help() {
        for scope in [
            Scope::Compose,
            Scope::Armed,
            Scope::Shares,
            Scope::Inbox,
            Scope::Operator,
        ] {
            let words: Vec<_> = footer(scope, true).collect();
            assert!(!words.is_empty());
            assert!(words.iter().any(|(_, w)| *w == "QUIT" || *w == "BACK"));
        }
        let listed = |scope| help(scope, true).map(|(k, _)| k).collect::<Vec<_>>();
        for needed in [
            "CTRL-S", "CTRL-L", "CTRL-O", "CTRL-U", "CTRL-K", "F1", "CTRL-C",
        ] {
            assert!(
                listed(Scope::Compose).contains(&needed),
                "{needed} not in compose's help"
            );
        }
        for needed in ["C", "R", "N", "L"] {
            assert!(
                listed(Scope::Armed).contains(&needed),
                "{needed} not in armed's help"
            );
        }
        assert!(listed(Scope::Shares).contains(&"X"));
        assert!(
            listed(Scope::Compose).contains(&"F2"),
            "the inbox is one key away"
        );
        assert!(listed(Scope::Inbox).contains(&"C"));
        assert!(
            !listed(Scope::Inbox).contains(&"F2"),
            "the inbox does not offer itself"
        );
        assert!(listed(Scope::Operator).contains(&"T"));
        assert!(
            !help(Scope::Compose, false).any(|(k, _)| k == "CTRL-O"),
            "no operator keys for others"
        );
    }
}
