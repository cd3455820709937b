//! The pure step: `(state, action) → effects`. No I/O and no clock here — time arrives as
//! [`Action::Tick`], results of async work as their own actions — so every transition is a plain
//! unit test. It guards the flow's rules: nothing is armed empty, over the size limit, or with a
//! password that was not typed twice the same; a revoke needs an explicit `y`; and nothing is
//! armed or confirmed by a key that arrived inside a burst of input ([`Action::BurstKey`]):
//! binary noise on a pty (`cat f | plink host`) can type, but never create or destroy a share.
//!
//! This file routes actions and keys; each screen's own handling is in its file ([`compose`],
//! [`shares`]; the armed screen's three keys and the operator panel's are handled inline and in
//! [`super::operator`]).

mod compose;
mod inbox;
mod shares;

pub use compose::{MAX_LABEL, MAX_PASSWORD};
use compose::{arm, compose_key, on_armed, on_paste, too_large};
use inbox::inbox_key;
use shares::shares_key;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use zeroize::Zeroizing;

use super::draft::Full;
use super::keymap::{self, Command, Scope};
use super::operator::{OperatorCommand, OperatorSnapshot, PanelKey};
use super::state::{ArmedShare, Field, InboxList, Screen, ShareList, State};
use crate::share::{Handle, InboxItem, Link, Millis, ShareId, ShareStatus, StatusState};

/// What happened: a key, a paste, the clock, or an effect's result.
pub enum Action {
    /// A key pressed on its own, as a person types: it arrived alone in its read.
    Key(KeyEvent),
    /// A key that arrived with others in one read (or right after such a burst): piped data or
    /// a paste the terminal did not bracket. It edits like any key, but never arms a share nor
    /// answers a confirmation.
    BurstKey(KeyEvent),
    Paste(String),
    PasteTooLarge {
        bytes: usize,
    },
    /// The server-wide budget for drafts is spent: the input was not kept.
    DraftBudgetFull,
    Tick(Millis),
    Resize {
        cols: u16,
        rows: u16,
    },
    Armed(Result<Box<ArmedOk>, String>),
    Watched(Option<StatusState>),
    Listed(Result<Vec<ShareStatus>, String>),
    Revoked(Result<Handle, String>),
    /// The inbox's entries (shares sealed to the session's key), oldest first.
    InboxLoaded(Result<Vec<InboxItem>, String>),
    OperatorLoaded(Result<Box<OperatorSnapshot>, String>),
    /// An operator command's outcome, as the notice line says it.
    OperatorDone(Result<String, String>),
    IdleWarning {
        secs_left: u64,
    },
    /// The server is draining for shutdown; the session is closed at `deadline`.
    ShuttingDown {
        deadline: Millis,
    },
}

pub struct ArmedOk {
    pub link: Link,
    pub handle: Handle,
    pub size: u64,
    pub expires_at: Millis,
}

/// What the session must do (asynchronously) on the state's behalf.
pub enum Effect {
    Arm {
        text: Zeroizing<String>,
        ttl: Duration,
        password: Option<Zeroizing<String>>,
        label: Option<String>,
    },
    Watch(ShareId),
    List,
    Revoke(Handle),
    LoadInbox,
    LoadOperator,
    Operator(OperatorCommand),
    /// OSC 52: ask the client's terminal to put this on its clipboard.
    Copy(Zeroizing<String>),
}

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut effects = Vec::new();
    match action {
        Action::Tick(now) => {
            state.now = now;
            tick(state, &mut effects);
        }
        Action::Resize { cols, rows } => {
            state.cols = cols;
            state.rows = rows;
        }
        Action::IdleWarning { secs_left } => state.idle_left = Some(secs_left),
        Action::ShuttingDown { deadline } => state.shutdown_at = Some(deadline),
        // The key that dismisses the idle warning only dismisses it: a person pressing "any
        // key to stay" must not find that key typed into the secret (or acted on).
        Action::Key(_) | Action::BurstKey(_) if state.idle_left.take().is_some() => {}
        Action::Key(key) => on_key(state, key, Typed::ByHand, &mut effects),
        Action::BurstKey(key) => on_key(state, key, Typed::InBurst, &mut effects),
        Action::Paste(text) => {
            state.idle_left = None;
            if let Screen::Compose(c) = &mut state.screen {
                on_paste(c, &text);
            }
        }
        Action::PasteTooLarge { bytes } => {
            if let Screen::Compose(c) = &mut state.screen {
                // A paste that alone would fit found the draft (nearly) full.
                let shown = (bytes > c.text.cap()).then_some(bytes);
                c.error = Some(too_large(Full::Bytes, shown, c.text.cap()));
            }
        }
        Action::DraftBudgetFull => {
            if let Screen::Compose(c) = &mut state.screen {
                c.error = Some(BUDGET_FULL.into());
            }
        }
        Action::Armed(result) => on_armed(state, result),
        Action::Watched(status) => {
            if let Screen::Armed(a) = &mut state.screen {
                a.status = Some(status);
            }
        }
        Action::Listed(result) => {
            if let Screen::Shares(list) = &mut state.screen {
                list.loaded = true;
                match result {
                    Ok(items) => {
                        list.items = items;
                        list.error = None;
                        list.selected = list.selected.min(list.items.len().saturating_sub(1));
                    }
                    // In capitals like every other screen's errors (and the inbox's).
                    Err(message) => list.error = Some(message.to_uppercase()),
                }
            }
        }
        Action::OperatorLoaded(result) => {
            if let Screen::Operator(panel) = &mut state.screen {
                panel.loaded(result, state.now);
            }
        }
        Action::OperatorDone(result) => {
            if let Screen::Operator(panel) = &mut state.screen {
                panel.notice = Some(match result {
                    Ok(done) | Err(done) => done,
                });
                panel.loading = true;
                effects.push(Effect::LoadOperator);
            }
        }
        Action::InboxLoaded(result) => {
            if let Screen::Inbox(list) = &mut state.screen {
                list.loaded = true;
                match result {
                    Ok(items) => {
                        list.items = items;
                        list.error = None;
                        list.selected = list.selected.min(list.items.len().saturating_sub(1));
                    }
                    Err(message) => list.error = Some(message.to_uppercase()),
                }
            }
        }
        Action::Revoked(result) => {
            if let Screen::Shares(list) = &mut state.screen {
                list.notice = Some(match result {
                    Ok(handle) => format!("REVOKED {handle}"),
                    Err(message) => message,
                });
                effects.push(Effect::List);
            }
        }
    }
    effects
}

/// The largest paste worth keeping now: what still fits in the draft when the text has the
/// focus, the draft's cap for the short fields (which truncate), nothing on other screens.
pub fn paste_room(state: &State) -> usize {
    match &state.screen {
        Screen::Compose(c) if c.arming => 0,
        Screen::Compose(c) if c.focus == Field::Text => c.text.cap() - c.text.size(),
        Screen::Compose(c) => c.text.cap(),
        _ => 0,
    }
}

/// At most how many bytes `action` would add to the draft (0 when it cannot grow it): what the
/// session must be able to lease from the draft budget before applying it.
pub fn draft_growth(state: &State, action: &Action) -> usize {
    let Screen::Compose(c) = &state.screen else {
        return 0;
    };
    if c.focus != Field::Text || c.arming {
        return 0;
    }
    match action {
        // A paste lands in the draft even under the help overlay; a key only closes it.
        Action::Paste(text) => text.len(),
        Action::Key(_) | Action::BurstKey(_) if state.help => 0,
        Action::Key(key) | Action::BurstKey(key) => match key.code {
            KeyCode::Char(ch) if key.modifiers.difference(KeyModifiers::SHIFT).is_empty() => {
                ch.len_utf8()
            }
            KeyCode::Enter => 1,
            _ => 0,
        },
        _ => 0,
    }
}

fn tick(state: &mut State, effects: &mut Vec<Effect>) {
    match &state.screen {
        Screen::Armed(a) if watching(a) => effects.push(Effect::Watch(a.link.id().clone())),
        Screen::Shares(list) if list.confirm_revoke.is_none() => effects.push(Effect::List),
        Screen::Inbox(_) if state.has_owner => effects.push(Effect::LoadInbox),
        Screen::Operator(_) => {
            if let Screen::Operator(panel) = &mut state.screen
                && panel.due(state.now)
            {
                panel.loading = true;
                effects.push(Effect::LoadOperator);
            }
        }
        _ => {}
    }
}

fn watching(a: &ArmedShare) -> bool {
    matches!(a.status, None | Some(Some(StatusState::Armed)))
}

/// How a key arrived: only a key typed by hand may arm or confirm.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Typed {
    ByHand,
    InBurst,
}

/// Shown when every draft together has used the server's budget for them.
const BUDGET_FULL: &str = "SERVER FULL: NO ROOM FOR MORE DRAFT TEXT · NOTHING ADDED";
/// Shown when CTRL-S (or ENTER on ARM) came inside a burst of input.
const NOT_BY_HAND: &str = "NOT ARMED: CTRL-S CAME INSIDE A BURST OF INPUT · PRESS IT ON ITS OWN";

fn scope(screen: &Screen) -> (Scope, bool) {
    match screen {
        // Every compose field takes letters (the expiry picks with h/l, ARM is one Tab away
        // from the text): only control and function keys act there.
        Screen::Compose(_) => (Scope::Compose, true),
        Screen::Armed(_) => (Scope::Armed, false),
        Screen::Shares(_) => (Scope::Shares, false),
        Screen::Inbox(_) => (Scope::Inbox, false),
        Screen::Operator(_) => (Scope::Operator, false),
    }
}

fn on_key(state: &mut State, key: KeyEvent, typed: Typed, effects: &mut Vec<Effect>) {
    if state.help {
        // Any key closes help (CTRL-C still quits).
        state.help = false;
        if !matches!(
            keymap::command(&key, Scope::Everywhere, true, false),
            Some(Command::Quit)
        ) {
            return;
        }
    }
    let (scope, in_text) = scope(&state.screen);
    let command = keymap::command(&key, scope, in_text, state.operator);
    if state.confirm_quit {
        state.confirm_quit = false;
        if command == Some(Command::Quit) && typed == Typed::ByHand {
            state.quit = true;
            return;
        }
    }
    match command {
        Some(Command::Quit) => {
            // `q` next to C (copy) is easy to hit by mistake; CTRL-C and CTRL-D are meant.
            let plain_q = key.code == KeyCode::Char('q');
            if plain_q && typed == Typed::ByHand && state.unsaved_link() {
                state.confirm_quit = true;
            } else {
                state.quit = true;
            }
            return;
        }
        Some(Command::Help) => {
            state.help = true;
            return;
        }
        Some(Command::MyShares) => {
            open_shares(state, effects);
            return;
        }
        Some(Command::Inbox) => {
            open_inbox(state, effects);
            return;
        }
        Some(Command::Operator) => {
            open_operator(state, effects);
            return;
        }
        _ => {}
    }
    let expiries = state.expiries.len();
    // A confirmation is answered by hand only: a key from a burst cancels it.
    let key = if typed == Typed::InBurst && awaits_confirmation(&state.screen) {
        KeyEvent::new(KeyCode::Null, KeyModifiers::NONE)
    } else {
        key
    };
    match &mut state.screen {
        Screen::Compose(c) => {
            let arms = command == Some(Command::Arm)
                || (c.focus == Field::Arm && key.code == KeyCode::Enter);
            if arms && typed == Typed::InBurst {
                if !c.arming {
                    c.error = Some(NOT_BY_HAND.into());
                }
                return;
            }
            if arms {
                arm(state, effects);
                return;
            }
            compose_key(c, key, command, expiries);
        }
        Screen::Armed(a) => match command {
            Some(Command::Copy) if a.live(state.now) => {
                effects.push(Effect::Copy(a.link.expose()));
                a.copied = true;
            }
            Some(Command::ToggleQr) if a.live(state.now) => a.show_qr = !a.show_qr,
            Some(Command::NewShare) => {
                state.screen = Screen::Compose(Box::new(state.fresh_compose()));
            }
            _ => {}
        },
        Screen::Shares(list) => {
            if shares_key(list, key, command, effects) {
                back_from_shares(state);
            }
        }
        Screen::Inbox(list) => {
            if inbox_key(list, command, &state.ssh, effects) {
                back_from_shares(state);
            }
        }
        Screen::Operator(panel) => {
            let command = if key.code == KeyCode::Null {
                None
            } else {
                command
            };
            match panel.on_command(command, key) {
                PanelKey::Stay => {}
                PanelKey::Reload => effects.push(Effect::LoadOperator),
                PanelKey::Run(command) => effects.push(Effect::Operator(command)),
                PanelKey::Leave => back_from_shares(state),
            }
        }
    }
}

fn awaits_confirmation(screen: &Screen) -> bool {
    match screen {
        Screen::Shares(list) => list.confirm_revoke.is_some(),
        Screen::Operator(panel) => panel.confirm.is_some(),
        Screen::Compose(_) | Screen::Armed(_) | Screen::Inbox(_) => false,
    }
}

fn open_operator(state: &mut State, effects: &mut Vec<Effect>) {
    if matches!(state.screen, Screen::Operator(_)) {
        return;
    }
    let previous = std::mem::replace(&mut state.screen, Screen::Operator(Box::default()));
    park(state, previous);
    effects.push(Effect::LoadOperator);
}

fn back_from_shares(state: &mut State) {
    state.screen = match (state.parked.take(), state.parked_draft.take()) {
        (Some(armed), _) => Screen::Armed(armed),
        (None, Some(draft)) => Screen::Compose(draft),
        (None, None) => Screen::Compose(Box::new(state.fresh_compose())),
    };
}

/// Keeps what the user leaves for My shares, the inbox or the operator screen: an armed share stays
/// watchable, and a draft is never discarded by a key that only meant to look elsewhere.
fn park(state: &mut State, previous: Screen) {
    match previous {
        Screen::Armed(a) => state.parked = Some(a),
        Screen::Compose(c)
            if !c.text.is_empty() || !c.label.is_empty() || !c.password.is_empty() =>
        {
            state.parked = None;
            state.parked_draft = Some(c);
        }
        Screen::Compose(_) => state.parked = None,
        Screen::Shares(_) | Screen::Inbox(_) | Screen::Operator(_) => {}
    }
}

fn open_shares(state: &mut State, effects: &mut Vec<Effect>) {
    if matches!(state.screen, Screen::Shares(_)) {
        return;
    }
    let previous = std::mem::replace(&mut state.screen, Screen::Shares(ShareList::empty()));
    park(state, previous);
    if state.has_owner {
        effects.push(Effect::List);
    } else if let Screen::Shares(list) = &mut state.screen {
        list.loaded = true;
        list.error = Some("NO SSH KEY: KEYLESS SESSIONS OWN NO SHARES".into());
    }
}

fn open_inbox(state: &mut State, effects: &mut Vec<Effect>) {
    if matches!(state.screen, Screen::Inbox(_)) {
        return;
    }
    let previous = std::mem::replace(&mut state.screen, Screen::Inbox(InboxList::empty()));
    park(state, previous);
    if state.has_owner {
        effects.push(Effect::LoadInbox);
    } else if let Screen::Inbox(list) = &mut state.screen {
        list.loaded = true;
        list.error = Some(
            "NO SSH KEY: SHARES ARE SEALED TO KEYS · CONNECT WITH ONE TO HAVE AN INBOX".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ShareKey;
    use crate::tui::draft::MAX_LINES;
    use crate::tui::state::Compose;

    /// A compose screen whose uploads may be `max_size` bytes.
    fn state_with(max_size: u64) -> State {
        State::new(
            crate::tui::colors::Styles::new(
                &crate::theme::Theme::industrial_urgency().colors,
                crate::tui::colors::Depth::TrueColor,
            ),
            "SHA256:abcd".into(),
            true,
            max_size,
            Duration::from_secs(3600),
            Duration::from_secs(7 * 86_400),
        )
    }

    fn state() -> State {
        state_with(32)
    }

    fn key(code: KeyCode) -> Action {
        Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(c: char) -> Action {
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    fn typed(state: &mut State, text: &str) {
        for ch in text.chars() {
            update(state, key(KeyCode::Char(ch)));
        }
    }

    fn compose(state: &State) -> &Compose {
        match &state.screen {
            Screen::Compose(c) => c,
            _ => panic!("not on compose"),
        }
    }

    /// A listed share, armed and without a password.
    fn armed_status(handle: Handle) -> ShareStatus {
        ShareStatus {
            handle,
            kind: crate::crypto::Kind::Text,
            stored_size: 10,
            created_at: 0,
            expires_at: 10_000,
            password: false,
            max_attempts: 5,
            attempts: 0,
            state: StatusState::Armed,
        }
    }

    pub(crate) fn armed_ok() -> Box<ArmedOk> {
        let id = ShareId::generate().unwrap();
        let handle = id.handle();
        Box::new(ArmedOk {
            link: Link::new("https://share.example", id, ShareKey::generate().unwrap()),
            handle,
            size: 100,
            expires_at: 3_600_000,
        })
    }

    #[test]
    fn an_empty_secret_is_not_armed() {
        let mut s = state();
        let effects = update(&mut s, ctrl('s'));
        assert!(effects.is_empty());
        assert!(
            compose(&s)
                .error
                .as_deref()
                .unwrap()
                .contains("NOTHING TO SHARE")
        );
    }

    #[test]
    fn typing_then_ctrl_s_arms_with_the_text_and_default_expiry() {
        let mut s = state();
        typed(&mut s, "hunter2");
        update(&mut s, key(KeyCode::Enter));
        typed(&mut s, "x");
        let effects = update(&mut s, ctrl('s'));
        match effects.as_slice() {
            [
                Effect::Arm {
                    text,
                    ttl,
                    password,
                    label,
                },
            ] => {
                assert_eq!(text.as_str(), "hunter2\nx");
                assert_eq!(*ttl, Duration::from_secs(3600));
                assert!(password.is_none());
                assert!(label.is_none());
            }
            _ => panic!("expected one Arm effect"),
        }
        assert!(compose(&s).arming);
        assert!(update(&mut s, ctrl('s')).is_empty(), "no double arm");
    }

    #[test]
    fn mismatched_passwords_refuse_to_arm_and_matching_ones_are_sent() {
        let mut s = state();
        typed(&mut s, "secret");
        update(&mut s, key(KeyCode::Tab)); // expiry
        update(&mut s, key(KeyCode::Tab)); // password
        typed(&mut s, "pw1");
        update(&mut s, key(KeyCode::Tab)); // confirm
        typed(&mut s, "pw2");
        assert!(update(&mut s, ctrl('s')).is_empty());
        assert_eq!(
            compose(&s).error.as_deref(),
            Some("THE PASSWORDS DO NOT MATCH")
        );
        update(&mut s, key(KeyCode::Backspace));
        typed(&mut s, "1");
        let effects = update(&mut s, ctrl('s'));
        assert!(matches!(
            effects.as_slice(),
            [Effect::Arm { password: Some(p), .. }] if p.as_str() == "pw1"
        ));
    }

    #[test]
    fn pastes_over_the_limit_are_refused_whole() {
        let mut s = state();
        update(&mut s, Action::Paste("a".repeat(33)));
        assert_eq!(compose(&s).text.size(), 0);
        assert!(compose(&s).error.is_some());
        update(&mut s, Action::Paste("line1\nline2".into()));
        assert_eq!(compose(&s).text.size(), 11);
        typed(&mut s, &"z".repeat(40));
        assert_eq!(compose(&s).text.size(), 32, "typing stops at the limit");
    }

    fn compose_mut(state: &mut State) -> &mut Compose {
        match &mut state.screen {
            Screen::Compose(c) => c,
            _ => panic!("not on compose"),
        }
    }

    /// The attack of issue #11: a draft of many short lines, then thousands of edits.
    #[test]
    fn keys_on_a_draft_at_its_cap_do_work_bounded_by_the_cap_not_by_what_was_pasted() {
        let mut s = state_with(256 << 20);
        // 4 MiB of short lines, pasted in 32 KiB pieces the way a terminal delivers them.
        let piece = "ab\n".repeat(32 * 1024 / 3);
        for _ in 0..(4 << 20) / piece.len() {
            update(&mut s, Action::Paste(piece.clone()));
        }
        let c = compose(&s);
        assert!(
            c.text.size() <= 64 * 1024,
            "the draft is capped, whatever was pasted: {} bytes",
            c.text.size()
        );
        assert!(c.error.as_deref().unwrap_or("").contains("NOTHING ADDED"));
        // Edit at the top, where every line break shifts the whole line table.
        for _ in 0..MAX_LINES {
            update(&mut s, key(KeyCode::Up));
        }
        let keys = [
            KeyCode::Char('x'),
            KeyCode::Enter,
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::End,
            KeyCode::Backspace,
            KeyCode::Char('y'),
            KeyCode::Down,
        ];
        let mut worst = 0;
        for i in 0..5000 {
            let before = compose(&s).text.work;
            update(&mut s, key(keys[i % keys.len()]));
            worst = worst.max(compose(&s).text.work - before);
        }
        // One line (at most the cap) plus the line table (at most MAX_LINES entries).
        let bound = 64 * 1024 + MAX_LINES + 1;
        assert!(
            worst <= bound,
            "one key moved {worst} units (bound {bound})"
        );
        assert!(compose(&s).text.size() <= 64 * 1024);
        compose_mut(&mut s).text.work = 0;
        update(&mut s, key(KeyCode::End));
        update(&mut s, key(KeyCode::Left));
        assert_eq!(compose(&s).text.work, 0, "moving the cursor moves no text");
    }

    #[test]
    fn keys_from_a_burst_type_but_never_arm_nor_confirm() {
        let burst = |c: KeyCode, m: KeyModifiers| Action::BurstKey(KeyEvent::new(c, m));
        let mut s = state();
        update(&mut s, burst(KeyCode::Char('n'), KeyModifiers::NONE));
        update(&mut s, burst(KeyCode::Char('o'), KeyModifiers::NONE));
        assert!(update(&mut s, burst(KeyCode::Char('s'), KeyModifiers::CONTROL)).is_empty());
        assert!(compose(&s).error.as_deref().unwrap().contains("NOT ARMED"));
        assert_eq!(
            compose(&s).text.text().as_str(),
            "no",
            "burst keys still type"
        );
        for _ in 0..5 {
            update(&mut s, burst(KeyCode::Tab, KeyModifiers::NONE));
        }
        assert_eq!(compose(&s).focus, Field::Arm);
        assert!(update(&mut s, burst(KeyCode::Enter, KeyModifiers::NONE)).is_empty());
        assert!(!compose(&s).arming);
        assert!(
            matches!(update(&mut s, ctrl('s')).as_slice(), [Effect::Arm { .. }]),
            "a CTRL-S typed by hand arms"
        );

        // A pending revoke is cancelled, not confirmed, by a `y` from a burst.
        let mut s = state();
        update(&mut s, ctrl('l'));
        let handle = ShareId::generate().unwrap().handle();
        update(&mut s, Action::Listed(Ok(vec![armed_status(handle)])));
        update(&mut s, burst(KeyCode::Char('x'), KeyModifiers::NONE));
        assert!(update(&mut s, burst(KeyCode::Char('y'), KeyModifiers::NONE)).is_empty());
        let Screen::Shares(list) = &s.screen else {
            panic!("left the list");
        };
        assert!(list.confirm_revoke.is_none());
        assert_eq!(list.notice.as_deref(), Some("REVOKE CANCELLED"));
    }

    #[test]
    fn the_draft_budget_refusal_and_growth_are_told_apart_from_other_input() {
        let mut s = state();
        assert_eq!(draft_growth(&s, &Action::Paste("abc".into())), 3);
        assert_eq!(draft_growth(&s, &key(KeyCode::Char('é'))), 2);
        assert_eq!(draft_growth(&s, &key(KeyCode::Left)), 0);
        assert_eq!(draft_growth(&s, &ctrl('s')), 0);
        update(&mut s, Action::DraftBudgetFull);
        assert!(
            compose(&s)
                .error
                .as_deref()
                .unwrap()
                .contains("SERVER FULL")
        );
        update(&mut s, key(KeyCode::F(1)));
        assert_eq!(draft_growth(&s, &key(KeyCode::Char('a'))), 0, "closes help");
        assert_eq!(draft_growth(&s, &Action::Paste("abc".into())), 3);
        update(&mut s, key(KeyCode::Char('a')));
        update(&mut s, key(KeyCode::Tab));
        assert_eq!(
            draft_growth(&s, &Action::Paste("abc".into())),
            0,
            "not the draft"
        );
    }

    #[test]
    fn arming_success_shows_the_armed_screen_and_ticks_watch_it() {
        let mut s = state();
        typed(&mut s, "x");
        update(&mut s, ctrl('s'));
        update(&mut s, Action::Armed(Ok(armed_ok())));
        assert!(matches!(s.screen, Screen::Armed(_)));
        let effects = update(&mut s, Action::Tick(1000));
        assert!(matches!(effects.as_slice(), [Effect::Watch(_)]));
        assert!(matches!(
            update(&mut s, key(KeyCode::Char('c'))).as_slice(),
            [Effect::Copy(_)]
        ));
        update(&mut s, Action::Watched(Some(StatusState::Opened { at: 5 })));
        assert!(
            update(&mut s, Action::Tick(2000)).is_empty(),
            "stops watching once opened"
        );
        assert!(
            update(&mut s, key(KeyCode::Char('c'))).is_empty(),
            "a dead link is not copied"
        );
    }

    #[test]
    fn q_on_a_link_never_copied_asks_once_and_a_copied_link_quits_at_once() {
        let mut s = state();
        typed(&mut s, "x");
        update(&mut s, ctrl('s'));
        update(&mut s, Action::Armed(Ok(armed_ok())));
        update(&mut s, key(KeyCode::Char('q')));
        assert!(!s.quit && s.confirm_quit, "asks first");
        update(&mut s, key(KeyCode::Char('r')));
        assert!(!s.quit && !s.confirm_quit, "any other key stays");
        update(&mut s, key(KeyCode::Char('q')));
        update(&mut s, key(KeyCode::Char('q')));
        assert!(s.quit, "q twice quits");
        let mut s = state();
        typed(&mut s, "x");
        update(&mut s, ctrl('s'));
        update(&mut s, Action::Armed(Ok(armed_ok())));
        update(&mut s, key(KeyCode::Char('c')));
        update(&mut s, key(KeyCode::Char('q')));
        assert!(s.quit);
    }

    #[test]
    fn ctrl_l_keeps_a_draft_for_when_you_come_back() {
        let mut s = state();
        typed(&mut s, "half a secret");
        update(&mut s, ctrl('l'));
        assert!(matches!(s.screen, Screen::Shares(_)));
        assert_eq!(
            s.draft_size(),
            13,
            "the parked draft still counts against the budget"
        );
        update(&mut s, key(KeyCode::Esc));
        assert_eq!(compose(&s).text.text().as_str(), "half a secret");
    }

    #[test]
    fn arming_failure_stays_on_compose_with_the_reason() {
        let mut s = state();
        typed(&mut s, "x");
        update(&mut s, ctrl('s'));
        update(&mut s, Action::Armed(Err("upload rate limit".into())));
        assert_eq!(compose(&s).error.as_deref(), Some("UPLOAD RATE LIMIT"));
        assert!(!compose(&s).arming);
    }

    #[test]
    fn ctrl_c_and_ctrl_d_quit_anywhere_and_q_only_outside_text() {
        let mut s = state();
        typed(&mut s, "q");
        assert!(!s.quit, "q is text on compose");
        update(&mut s, ctrl('c'));
        assert!(s.quit);
        let mut s = state();
        update(&mut s, ctrl('d'));
        assert!(s.quit);
    }

    #[test]
    fn revoking_needs_a_confirmation() {
        let mut s = state();
        assert!(matches!(
            update(&mut s, ctrl('l')).as_slice(),
            [Effect::List]
        ));
        let handle = ShareId::generate().unwrap().handle();
        update(
            &mut s,
            Action::Listed(Ok(vec![armed_status(handle.clone())])),
        );
        assert!(update(&mut s, key(KeyCode::Char('x'))).is_empty());
        assert!(
            update(&mut s, key(KeyCode::Char('n'))).is_empty(),
            "n cancels"
        );
        update(&mut s, key(KeyCode::Char('x')));
        assert!(matches!(
            update(&mut s, key(KeyCode::Char('y'))).as_slice(),
            [Effect::Revoke(h)] if *h == handle
        ));
    }

    fn inbox_item(n: u8) -> InboxItem {
        let key = crate::share::StoreKey([n; 32]);
        InboxItem {
            handle: key.handle(),
            key,
            from: "SHA256:sender".into(),
            label: None,
            kind: crate::crypto::Kind::File,
            stored_size: 100,
            created_at: 0,
            expires_at: 10_000,
        }
    }

    fn inbox(state: &State) -> &InboxList {
        match &state.screen {
            Screen::Inbox(list) => list,
            _ => panic!("not on the inbox"),
        }
    }

    #[test]
    fn f2_opens_the_inbox_from_a_text_field_and_keeps_the_draft() {
        let mut s = state();
        typed(&mut s, "half");
        assert!(matches!(
            update(&mut s, key(KeyCode::F(2))).as_slice(),
            [Effect::LoadInbox]
        ));
        assert!(!inbox(&s).loaded, "says LOADING until the effect reports");
        assert!(
            update(&mut s, key(KeyCode::F(2))).is_empty(),
            "already there"
        );
        assert!(matches!(
            update(&mut s, Action::Tick(1000)).as_slice(),
            [Effect::LoadInbox]
        ));
        update(&mut s, key(KeyCode::Esc));
        assert_eq!(compose(&s).text.text().as_str(), "half");
        // `i` is text in the secret, and the inbox key outside text fields.
        typed(&mut s, "i");
        assert_eq!(compose(&s).text.text().as_str(), "halfi");
        update(&mut s, ctrl('l'));
        assert!(matches!(
            update(&mut s, key(KeyCode::Char('i'))).as_slice(),
            [Effect::LoadInbox]
        ));
    }

    #[test]
    fn the_inbox_selects_and_copies_the_get_command_of_the_selected_share() {
        let mut s = state();
        s.ssh = "ssh -p 2222 share.example".into();
        update(&mut s, key(KeyCode::F(2)));
        assert!(
            update(&mut s, key(KeyCode::Char('c'))).is_empty(),
            "nothing to copy yet"
        );
        update(
            &mut s,
            Action::InboxLoaded(Ok(vec![inbox_item(1), inbox_item(2), inbox_item(3)])),
        );
        update(&mut s, key(KeyCode::Down));
        update(&mut s, key(KeyCode::Char('j')));
        update(&mut s, key(KeyCode::Down));
        assert_eq!(inbox(&s).selected, 2, "stops at the last share");
        update(&mut s, key(KeyCode::Up));
        match update(&mut s, key(KeyCode::Char('c'))).as_slice() {
            // By ID, which stays put when an older share leaves; not by the number N.
            [Effect::Copy(text)] => assert_eq!(
                text.as_str(),
                format!(
                    "ssh -p 2222 share.example get {} | age -d -i ~/.ssh/id_ed25519 > file",
                    inbox_item(2).handle.as_str()
                )
            ),
            _ => panic!("expected one Copy effect"),
        }
        assert!(inbox(&s).notice.as_deref().unwrap().contains("SHARE 2"));
        assert!(matches!(
            update(&mut s, key(KeyCode::Char('r'))).as_slice(),
            [Effect::LoadInbox]
        ));
        // A claim elsewhere shrinks the list: the selection stays on a share.
        update(&mut s, Action::InboxLoaded(Ok(vec![inbox_item(1)])));
        assert_eq!(inbox(&s).selected, 0);
        update(&mut s, Action::InboxLoaded(Err("store unavailable".into())));
        assert_eq!(inbox(&s).error.as_deref(), Some("STORE UNAVAILABLE"));
        update(&mut s, key(KeyCode::Char('b')));
        assert!(matches!(s.screen, Screen::Compose(_)));
    }

    #[test]
    fn a_keyless_session_is_told_why_it_has_no_inbox() {
        let mut s = state();
        s.has_owner = false;
        assert!(update(&mut s, key(KeyCode::F(2))).is_empty());
        assert!(inbox(&s).error.as_deref().unwrap().contains("NO SSH KEY"));
        assert!(update(&mut s, Action::Tick(1000)).is_empty());
    }
}
