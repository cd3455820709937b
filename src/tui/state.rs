//! Everything one TUI session shows, as plain data: which screen (an enum, so two screens can
//! never be half-active at once) plus the few things every screen shares (header, clock, notices).
//!
//! Secrets held here — the composed text, the password, the link — live only as long as the
//! session and never reach a log: [`Link`] has no `Display`, and nothing here derives `Debug`.

use std::time::Duration;

use zeroize::Zeroizing;

use super::colors::Styles;
use super::draft::Draft;
use crate::config::format_duration;
use crate::share::{Handle, InboxItem, Link, Millis, ShareStatus, StatusState};

/// Below this the screen says "terminal too small" instead of drawing a broken layout.
pub const MIN_COLS: u16 = 60;
pub const MIN_ROWS: u16 = 16;

/// Which compose field has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Text,
    Expiry,
    Password,
    Confirm,
    Label,
    Arm,
}

impl Field {
    pub const ORDER: [Field; 6] = [
        Field::Text,
        Field::Expiry,
        Field::Password,
        Field::Confirm,
        Field::Label,
        Field::Arm,
    ];
}

pub struct Compose {
    /// The secret, capped (see [`Draft`]); its size is the upload's size.
    pub text: Draft,
    pub focus: Field,
    pub expiry: usize,
    pub password: Zeroizing<String>,
    pub confirm: Zeroizing<String>,
    pub label: String,
    pub error: Option<String>,
    /// An arm request is in flight.
    pub arming: bool,
}

/// A share this session armed, with what the watcher learned since.
pub struct ArmedShare {
    pub link: Link,
    pub handle: Handle,
    pub label: Option<String>,
    pub size: u64,
    pub expires_at: Millis,
    pub password: bool,
    /// `None` until the first watch answer; `Some(None)` = gone (expired).
    pub status: Option<Option<StatusState>>,
    pub show_qr: bool,
    pub copied: bool,
}

/// What the armed screen says about its share: every part of the screen follows this one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Armed,
    Opened { at: Millis },
    Revoked,
    TakenDown,
    Locked,
    Expired,
}

impl Phase {
    /// The status chip's and the header's word.
    pub fn word(self) -> &'static str {
        match self {
            Phase::Armed => "ARMED",
            Phase::Opened { .. } => "OPENED",
            Phase::Revoked => "REVOKED",
            Phase::TakenDown => "REMOVED",
            Phase::Locked => "LOCKED",
            Phase::Expired => "EXPIRED",
        }
    }
}

impl ArmedShare {
    pub fn phase(&self, now: Millis) -> Phase {
        match self.status {
            Some(Some(StatusState::Opened { at })) => Phase::Opened { at },
            Some(Some(StatusState::Revoked { .. })) => Phase::Revoked,
            Some(Some(StatusState::TakenDown { .. })) => Phase::TakenDown,
            Some(Some(StatusState::Locked)) => Phase::Locked,
            Some(None) => Phase::Expired,
            Some(Some(StatusState::Armed)) | None if now > 0 && self.expires_at <= now => {
                Phase::Expired
            }
            Some(Some(StatusState::Armed)) | None => Phase::Armed,
        }
    }

    /// The link still works (a locked share is kept but cannot be opened without the operator).
    pub fn live(&self, now: Millis) -> bool {
        self.phase(now) == Phase::Armed
    }
}

pub struct ShareList {
    pub items: Vec<ShareStatus>,
    pub selected: usize,
    pub loaded: bool,
    pub error: Option<String>,
    /// Waiting for y/n on revoking this handle.
    pub confirm_revoke: Option<Handle>,
    pub detail: bool,
    pub notice: Option<String>,
}

/// The inbox: shares sealed to the session's key, numbered as `get N` numbers them (oldest
/// first). The TUI only lists them: an age file cannot go through a terminal screen, so claiming
/// stays on the command line.
pub struct InboxList {
    pub items: Vec<InboxItem>,
    pub selected: usize,
    pub loaded: bool,
    pub error: Option<String>,
    pub notice: Option<String>,
}

pub enum Screen {
    Compose(Box<Compose>),
    Armed(Box<ArmedShare>),
    Shares(ShareList),
    Inbox(InboxList),
    /// Operator keys only.
    Operator(Box<super::operator::OperatorPanel>),
}

pub struct State {
    pub styles: Styles,
    pub screen: Screen,
    /// Where "back" from My shares goes (an armed share stays watchable).
    pub parked: Option<Box<ArmedShare>>,
    /// A draft left for My shares or the operator screen, restored on the way back.
    pub parked_draft: Option<Box<Compose>>,
    /// Labels of the shares armed in this session (the server keeps names encrypted, so My
    /// shares can show a label only where this session typed it).
    pub labels: std::collections::HashMap<Handle, String>,
    /// `q` was pressed with a link never copied: the next `q` quits, anything else stays.
    pub confirm_quit: bool,
    pub help: bool,
    pub now: Millis,
    pub cols: u16,
    pub rows: u16,
    /// Short form of the key fingerprint, or "NO KEY".
    pub who: String,
    pub has_owner: bool,
    /// The key is an operator's: CTRL-O opens the operator screen.
    pub operator: bool,
    /// The upload size limit; the draft holds the smaller of this and [`super::draft::DRAFT_CAP`].
    pub max_size: u64,
    /// The host name the screen suggests for `cat FILE | ssh HOST` (the public URL's host).
    pub host: String,
    /// How clients reach the SSH side, as typed: `ssh HOST` or `ssh -p PORT HOST` (the inbox's
    /// `get` command starts with it).
    pub ssh: String,
    pub expiries: Vec<Duration>,
    pub default_expiry: usize,
    /// Seconds until the idle timeout closes the session, once the warning is due.
    pub idle_left: Option<u64>,
    /// The server is shutting down and closes this session at this instant (unix millis).
    pub shutdown_at: Option<Millis>,
    pub quit: bool,
}

impl State {
    pub fn new(
        styles: Styles,
        who: String,
        has_owner: bool,
        max_size: u64,
        default_ttl: Duration,
        max_ttl: Duration,
    ) -> State {
        let mut expiries: Vec<Duration> = [300u64, 3600, 86_400, 7 * 86_400]
            .into_iter()
            .map(Duration::from_secs)
            .filter(|d| *d <= max_ttl)
            .collect();
        if !expiries.contains(&default_ttl) {
            expiries.push(default_ttl);
            expiries.sort();
        }
        let default_expiry = expiries.iter().position(|d| *d == default_ttl).unwrap_or(0);
        let mut state = State {
            styles,
            screen: Screen::Shares(ShareList::empty()),
            parked: None,
            parked_draft: None,
            labels: std::collections::HashMap::new(),
            confirm_quit: false,
            help: false,
            now: 0,
            cols: 80,
            rows: 24,
            who,
            has_owner,
            operator: false,
            max_size,
            host: "share.host".into(),
            ssh: "ssh share.host".into(),
            expiries,
            default_expiry,
            idle_left: None,
            shutdown_at: None,
            quit: false,
        };
        state.screen = Screen::Compose(Box::new(state.fresh_compose()));
        state
    }

    pub fn fresh_compose(&self) -> Compose {
        Compose {
            text: Draft::new(usize::try_from(self.max_size).unwrap_or(usize::MAX)),
            focus: Field::Text,
            expiry: self.default_expiry,
            password: Zeroizing::new(String::new()),
            confirm: Zeroizing::new(String::new()),
            label: String::new(),
            error: None,
            arming: false,
        }
    }

    /// Bytes the session's drafts hold: the compose screen's and a parked one.
    pub fn draft_size(&self) -> usize {
        let shown = match &self.screen {
            Screen::Compose(c) => c.text.size(),
            _ => 0,
        };
        shown + self.parked_draft.as_ref().map_or(0, |c| c.text.size())
    }

    /// The share armed in this session, on screen or parked.
    pub fn armed(&self) -> Option<&ArmedShare> {
        match &self.screen {
            Screen::Armed(a) => Some(a),
            _ => self.parked.as_deref(),
        }
    }

    /// A live link that was never copied: quitting now could lose it (a sender must never lose
    /// a link to one keystroke).
    pub fn unsaved_link(&self) -> bool {
        self.armed().is_some_and(|a| a.live(self.now) && !a.copied)
    }

    pub fn too_small(&self) -> bool {
        self.cols < MIN_COLS || self.rows < MIN_ROWS
    }

    pub fn expiry_label(&self, index: usize) -> String {
        self.expiries
            .get(index)
            .map(|d| format_duration(*d).to_uppercase())
            .unwrap_or_default()
    }
}

impl ShareList {
    pub fn empty() -> ShareList {
        ShareList {
            items: Vec::new(),
            selected: 0,
            loaded: false,
            error: None,
            confirm_revoke: None,
            detail: false,
            notice: None,
        }
    }
}

impl InboxList {
    pub fn empty() -> InboxList {
        InboxList {
            items: Vec::new(),
            selected: 0,
            loaded: false,
            error: None,
            notice: None,
        }
    }

    /// The command that claims the selected share by its ID, which (unlike its number N) does
    /// not shift when an older share leaves the inbox between copying and running it. The age
    /// identity path is the usual one; the screen says so.
    pub fn get_command(&self, ssh: &str) -> Option<String> {
        self.items.get(self.selected).map(|item| {
            format!(
                "{ssh} get {} | age -d -i ~/.ssh/id_ed25519 > file",
                item.handle.as_str()
            )
        })
    }
}

/// Time left, as every surface says it ([`crate::units::format_remaining`]).
pub fn countdown(ms: u64) -> String {
    crate::units::format_remaining(ms)
}

/// `hh:mm:ss UTC` of a unix-millis instant.
pub fn clock_utc(at: Millis) -> String {
    let secs = at / 1000 % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_and_clocks_read_like_a_timer() {
        assert_eq!(countdown(3_598_000), "59m 58s");
        assert_eq!(clock_utc(86_400_000 * 3 + 3_724_000), "01:02:04 UTC");
    }

    #[test]
    fn the_configured_default_expiry_is_offered_and_selected() {
        let styles = Styles::new(
            &crate::theme::Theme::industrial_urgency().colors,
            super::super::colors::Depth::TrueColor,
        );
        let s = State::new(
            styles,
            "x".into(),
            true,
            1024,
            Duration::from_secs(7200),
            Duration::from_secs(86_400),
        );
        let labels: Vec<String> = (0..s.expiries.len()).map(|i| s.expiry_label(i)).collect();
        assert_eq!(labels, ["5M", "1H", "2H", "1D"]);
        assert_eq!(s.default_expiry, 2);
    }
}
