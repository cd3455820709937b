//! The pure step: `(state, action) → effects`. No I/O and no clock here — time arrives as
//! [`Action::Tick`], results of async work as their own actions — so every transition is a plain
//! unit test. It guards the flow's rules: nothing is armed empty, over the size limit, or with a
//! password that was not typed twice the same; a revoke needs an explicit `y`.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use zeroize::Zeroizing;

use super::operator::{OperatorCommand, OperatorSnapshot, PanelKey};
use super::state::{ArmedShare, Compose, Field, Screen, ShareList, State};
use crate::config::format_size;
use crate::safe_text::{Unsafe, sanitize};
use crate::share::{Handle, Link, Millis, ShareId, ShareStatus, StatusState};

/// Longest label accepted (it becomes the share's name).
pub const MAX_LABEL: usize = 64;
/// Longest password typed into the form.
pub const MAX_PASSWORD: usize = 1024;

/// What happened: a key, a paste, the clock, or an effect's result.
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    PasteTooLarge {
        bytes: usize,
    },
    Tick(Millis),
    Resize {
        cols: u16,
        rows: u16,
    },
    Armed(Result<Box<ArmedOk>, String>),
    Watched(Option<StatusState>),
    Listed(Result<Vec<ShareStatus>, String>),
    Revoked(Result<Handle, String>),
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
        Action::Key(key) => {
            state.idle_left = None;
            on_key(state, key, &mut effects);
        }
        Action::Paste(text) => {
            state.idle_left = None;
            if let Screen::Compose(c) = &mut state.screen {
                on_paste(c, &text, state.max_size);
            }
        }
        Action::PasteTooLarge { bytes } => {
            if let Screen::Compose(c) = &mut state.screen {
                c.error = Some(format!(
                    "PASTE TOO LARGE ({}): THE LIMIT IS {}; NOTHING WAS ADDED",
                    format_size(bytes as u64),
                    format_size(state.max_size)
                ));
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
                    Err(message) => list.error = Some(message),
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

fn tick(state: &mut State, effects: &mut Vec<Effect>) {
    match &state.screen {
        Screen::Armed(a) if watching(a) => effects.push(Effect::Watch(a.link.id().clone())),
        Screen::Shares(list) if list.confirm_revoke.is_none() => effects.push(Effect::List),
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

fn is_quit(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c' | 'd'))
}

fn on_key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) {
    if is_quit(&key) {
        state.quit = true;
        return;
    }
    if state.help {
        // Any key closes help.
        state.help = false;
        return;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('l') {
        open_shares(state, effects);
        return;
    }
    if ctrl && key.code == KeyCode::Char('o') && state.operator {
        open_operator(state, effects);
        return;
    }
    let in_text = matches!(&state.screen, Screen::Compose(c) if c.focus != Field::Arm && c.focus != Field::Expiry);
    if !in_text {
        match key.code {
            KeyCode::Char('?') => {
                state.help = true;
                return;
            }
            KeyCode::Char('q') if !matches!(&state.screen, Screen::Compose(_)) => {
                state.quit = true;
                return;
            }
            _ => {}
        }
    } else if key.code == KeyCode::F(1) {
        state.help = true;
        return;
    }
    let max_size = state.max_size;
    let expiries = state.expiries.len();
    match &mut state.screen {
        Screen::Compose(c) => {
            if ctrl && key.code == KeyCode::Char('s') {
                arm(state, effects);
                return;
            }
            compose_key(c, key, max_size, expiries);
            c.restyle_cursor(&state.styles);
            if c.focus == Field::Arm && key.code == KeyCode::Enter {
                arm(state, effects);
            }
        }
        Screen::Armed(a) => match key.code {
            KeyCode::Char('c') => {
                effects.push(Effect::Copy(a.link.expose()));
                a.copied = true;
            }
            KeyCode::Char('r') => a.show_qr = !a.show_qr,
            KeyCode::Char('n') => {
                state.screen = Screen::Compose(Box::new(state.fresh_compose()));
            }
            KeyCode::Char('l') => open_shares(state, effects),
            _ => {}
        },
        Screen::Shares(list) => {
            if shares_key(list, key, effects) {
                back_from_shares(state);
            }
        }
        Screen::Operator(panel) => match panel.on_key(key) {
            PanelKey::Stay => {}
            PanelKey::Reload => effects.push(Effect::LoadOperator),
            PanelKey::Run(command) => effects.push(Effect::Operator(command)),
            PanelKey::Leave => back_from_shares(state),
        },
    }
}

fn open_operator(state: &mut State, effects: &mut Vec<Effect>) {
    if matches!(state.screen, Screen::Operator(_)) {
        return;
    }
    let previous = std::mem::replace(&mut state.screen, Screen::Operator(Box::default()));
    if let Screen::Armed(a) = previous {
        state.parked = Some(a);
    }
    effects.push(Effect::LoadOperator);
}

fn back_from_shares(state: &mut State) {
    state.screen = match state.parked.take() {
        Some(armed) => Screen::Armed(armed),
        None => Screen::Compose(Box::new(state.fresh_compose())),
    };
}

fn open_shares(state: &mut State, effects: &mut Vec<Effect>) {
    if matches!(state.screen, Screen::Shares(_)) {
        return;
    }
    let previous = std::mem::replace(&mut state.screen, Screen::Shares(ShareList::empty()));
    match previous {
        Screen::Armed(a) => state.parked = Some(a),
        // A half-typed secret is not kept: leaving compose discards it (said in the help).
        Screen::Compose(_) | Screen::Shares(_) | Screen::Operator(_) => {}
    }
    if state.has_owner {
        effects.push(Effect::List);
    } else if let Screen::Shares(list) = &mut state.screen {
        list.loaded = true;
        list.error = Some("NO SSH KEY: KEYLESS SESSIONS OWN NO SHARES".into());
    }
}

/// Returns true when the key leaves the screen.
fn shares_key(list: &mut ShareList, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    if let Some(handle) = list.confirm_revoke.take() {
        match key.code {
            KeyCode::Char('y' | 'Y') => effects.push(Effect::Revoke(handle)),
            _ => list.notice = Some("REVOKE CANCELLED".into()),
        }
        return false;
    }
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => list.selected = list.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') if list.selected + 1 < list.items.len() => {
            list.selected += 1;
        }
        KeyCode::Enter => list.detail = !list.detail,
        KeyCode::Esc if list.detail => list.detail = false,
        KeyCode::Esc | KeyCode::Char('b') => return true,
        KeyCode::Char('x') => {
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

fn on_paste(c: &mut Compose, text: &str, max_size: u64) {
    if c.arming {
        return;
    }
    match c.focus {
        Field::Text => {
            if c.size + text.len() as u64 > max_size {
                c.error = Some(format!(
                    "PASTE TOO LARGE: THE LIMIT IS {}; NOTHING WAS ADDED",
                    format_size(max_size)
                ));
                return;
            }
            c.text.insert_str(text);
            c.size = text_size(c);
            c.error = None;
        }
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

fn push_line(target: &mut Zeroizing<String>, text: &str, max: usize) {
    for ch in text.chars().filter(|c| !c.is_control()) {
        if target.len() + ch.len_utf8() > max {
            break;
        }
        target.push(ch);
    }
}

/// A label is shown on screen and becomes a share name: only what shows as itself.
fn push_plain(target: &mut String, text: &str, max: usize) {
    for ch in sanitize(text, Unsafe::Drop).chars() {
        if target.len() + ch.len_utf8() > max {
            break;
        }
        target.push(ch);
    }
}

fn text_size(c: &Compose) -> u64 {
    let lines = c.text.lines();
    let bytes: usize = lines.iter().map(String::len).sum();
    (bytes + lines.len().saturating_sub(1)) as u64
}

fn compose_key(c: &mut Compose, key: KeyEvent, max_size: u64, expiries: usize) {
    if c.arming {
        return;
    }
    let focus_index = Field::ORDER.iter().position(|f| *f == c.focus).unwrap_or(0);
    match key.code {
        KeyCode::Tab => {
            c.focus = Field::ORDER[(focus_index + 1) % Field::ORDER.len()];
            return;
        }
        KeyCode::BackTab => {
            c.focus = Field::ORDER[(focus_index + Field::ORDER.len() - 1) % Field::ORDER.len()];
            return;
        }
        _ => {}
    }
    match c.focus {
        Field::Text => {
            let before = c.size;
            let typed = match key.code {
                KeyCode::Char(ch) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    ch.len_utf8() as u64
                }
                KeyCode::Enter => 1,
                _ => 0,
            };
            if before + typed > max_size {
                c.error = Some(format!("AT THE SIZE LIMIT ({})", format_size(max_size)));
                return;
            }
            c.text.input(key);
            c.size = text_size(c);
            if c.size <= max_size {
                c.error = None;
            }
        }
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
fn arm(state: &mut State, effects: &mut Vec<Effect>) {
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
    if c.size == 0 {
        c.error = Some("NOTHING TO SHARE: TYPE OR PASTE THE SECRET FIRST".into());
        c.focus = Field::Text;
        return;
    }
    if c.size > max_size {
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
    let text = Zeroizing::new(c.text.lines().join("\n"));
    c.arming = true;
    c.error = None;
    effects.push(Effect::Arm {
        text,
        ttl,
        password,
        label,
    });
}

fn on_armed(state: &mut State, result: Result<Box<ArmedOk>, String>) {
    let Screen::Compose(c) = &mut state.screen else {
        return;
    };
    c.arming = false;
    match result {
        Ok(ok) => {
            let armed = ArmedShare {
                link: ok.link,
                handle: ok.handle,
                label: Some(c.label.trim().to_owned()).filter(|l| !l.is_empty()),
                size: ok.size,
                expires_at: ok.expires_at,
                password: !c.password.is_empty(),
                status: None,
                show_qr: false,
                copied: false,
            };
            state.screen = Screen::Armed(Box::new(armed));
        }
        Err(message) => c.error = Some(message.to_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ShareKey;

    fn state() -> State {
        State::new(
            crate::tui::colors::Styles::new(
                &crate::theme::Theme::industrial_urgency().colors,
                crate::tui::colors::Depth::TrueColor,
            ),
            "SHA256:abcd".into(),
            true,
            32,
            Duration::from_secs(3600),
            Duration::from_secs(7 * 86_400),
        )
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
        assert_eq!(compose(&s).size, 0);
        assert!(compose(&s).error.is_some());
        update(&mut s, Action::Paste("line1\nline2".into()));
        assert_eq!(compose(&s).size, 11);
        typed(&mut s, &"z".repeat(40));
        assert_eq!(compose(&s).size, 32, "typing stops at the limit");
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
        update(&mut s, Action::Watched(Some(StatusState::Opened { at: 5 })));
        assert!(
            update(&mut s, Action::Tick(2000)).is_empty(),
            "stops watching once opened"
        );
        assert!(matches!(
            update(&mut s, key(KeyCode::Char('c'))).as_slice(),
            [Effect::Copy(_)]
        ));
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
        let status = ShareStatus {
            handle: handle.clone(),
            kind: crate::crypto::Kind::Text,
            stored_size: 10,
            created_at: 0,
            expires_at: 10_000,
            password: false,
            max_attempts: 5,
            attempts: 0,
            state: StatusState::Armed,
        };
        update(&mut s, Action::Listed(Ok(vec![status])));
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
}
