//! One TUI session: one task per pty+shell channel, from the first frame to the restored terminal.
//!
//! The task reads the channel (keys, pastes, window-change), turns bytes into actions with the
//! [`InputParser`], runs the pure [`update`], and starts the effects it asks for as separate tasks
//! that report back as actions — so a slow store never freezes the screen, and nothing is shared
//! between sessions except the [`Shares`] facade.
//!
//! Output goes through ONE bounded queue drained by one writer task, so bytes keep their order:
//! frames, then the restore sequence (leave alt screen, show cursor, bracketed paste off); only
//! after that queue is drained does the caller send exit-status, EOF and close. A frame that does
//! not fit in the queue (a slow client) is dropped and the next frame is a full redraw. The
//! restore is sent on every exit path that still has a channel: `q`, Ctrl-C, Ctrl-D, idle timeout,
//! EOF; when the client vanished there is no terminal left to restore.
//!
//! One session may only ever slow its own screen. Input is handled in batches of [`BATCH`]
//! inputs with a yield to the runtime between them, every key costs work bounded by the draft's
//! caps ([`super::draft`]), frames are paced ([`FRAME_INTERVAL`]), and the draft and any paste in
//! flight are backed by a lease on the server's [`DraftBudget`]. Reads decide how keys count: a
//! read that carries more than one key — piped data on a pty (`cat f | plink host`), or a paste
//! the terminal did not bracket — is a burst, and neither its keys nor any key within
//! [`BURST_QUIET`] after it can arm or confirm ([`Action::BurstKey`]).
//!
//! Shutdown reaches the session twice: when the server starts draining, the state learns the
//! deadline and the view shows the notice (with the seconds left, from the state's clock); at
//! the deadline the session ends like `q` does (terminal restored), reporting [`Ended::ShutDown`]
//! so the channel can say why. Arm and revoke run as tracked work: a shutdown waits for them.

use std::time::{Duration, Instant};

use ratatui::layout::Size;
use ratatui::{Terminal, TerminalOptions, Viewport};
use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::backend::{ENTER, LEAVE, SshBackend, bounded_size};
use super::budget::{DraftBudget, Lease};
use super::colors::{Depth, Styles};
use super::draft::DRAFT_CAP;
use super::effects::{InFlight, run_effects};
use super::input::{ESC_TIMEOUT, Input, InputParser};
use super::state::State;
use super::update::{Action, draft_growth, paste_room, update};
use super::view;
use crate::share::{Owner, Shares, now_millis};
use crate::shutdown::Shutdown;
use crate::theme::Theme;

/// Frames (and other output) waiting for the client; beyond this, frames are dropped.
const OUTPUT_QUEUE: usize = 4;
/// How long the restore sequence may wait for a slow client before the channel is closed anyway.
const RESTORE_WAIT: Duration = Duration::from_secs(2);
/// A session with no input for this long is closed (after a visible warning).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Warning shown this long before the idle timeout closes the session.
const IDLE_WARNING: Duration = Duration::from_secs(60);
/// Inputs applied before the session yields to the runtime.
const BATCH: usize = 256;
/// Shortest time between two frames: a person's keys are echoed at once, a flood of reads
/// repaints at most this often.
const FRAME_INTERVAL: Duration = Duration::from_millis(20);
/// Shortest time between two frames while input arrives in bursts (piped bytes, a paste the
/// terminal did not bracket): nobody reads a screen that fast, and drawing is the costly part.
const BURST_FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// After a burst of input, keys need this much quiet before they can arm or confirm again. A
/// person sees a paste land before pressing CTRL-S; a stream of piped bytes never pauses this
/// long between reads.
pub const BURST_QUIET: Duration = Duration::from_millis(500);

/// What the client asked for in pty-req (and env).
#[derive(Clone, Debug)]
pub struct TerminalRequest {
    pub term: String,
    pub colorterm: Option<String>,
    pub cols: u32,
    pub rows: u32,
}

impl TerminalRequest {
    pub fn depth(&self) -> Depth {
        Depth::detect(&self.term, self.colorterm.as_deref())
    }
}

/// Upload check (bans, rate limits), supplied by the SSH layer which owns both.
pub type AllowUpload = Box<
    dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync,
>;

pub struct TuiContext {
    pub shares: Shares,
    pub owner: Option<Owner>,
    /// The sender's address, for the operator's activity view.
    pub client: Option<std::net::IpAddr>,
    pub allow_upload: AllowUpload,
    /// The operator console: the operator screen for operator keys.
    pub console: std::sync::Arc<crate::operator::Console>,
    pub idle_timeout: Duration,
    /// The server-wide memory budget every draft leases from.
    pub draft_budget: std::sync::Arc<DraftBudget>,
    pub theme: &'static Theme,
    /// `ssh HOST` or `ssh -p PORT HOST`: how the inbox tells a recipient to claim.
    pub ssh: String,
    /// Draining shows the notice; the cut closes the session.
    pub shutdown: Shutdown,
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The user left (quit, EOF, idle timeout) or the client vanished.
    Left,
    /// The server's shutdown grace ran out with the session still open.
    ShutDown,
}

/// Who the header says you are, in words a person recognises: `KEY …YgEYE`, the end of the key's
/// SHA256 fingerprint as `ssh-keygen -lf` prints it (the SSH protocol never sends the key's
/// comment, so the fingerprint is all the server knows).
fn short_owner(owner: Option<&Owner>) -> String {
    match owner {
        Some(owner) => {
            let chars: Vec<char> = owner.as_str().chars().collect();
            let tail: String = chars[chars.len().saturating_sub(5)..].iter().collect();
            format!("KEY …{tail}")
        }
        None => "NO KEY".into(),
    }
}

/// Runs the interface on `channel` until the user leaves or shutdown cuts the session.
pub async fn run(channel: &mut Channel<Msg>, request: TerminalRequest, cx: TuiContext) -> Ended {
    let depth = request.depth();
    let styles = Styles::new(&cx.theme.colors, depth);
    let policy = cx.shares.policy().clone();
    let mut state = State::new(
        styles,
        short_owner(cx.owner.as_ref()),
        cx.owner.is_some(),
        policy.max_size,
        policy.default_ttl,
        policy.max_ttl,
    );
    state.host = url_host(&policy.public_url);
    state.ssh.clone_from(&cx.ssh);
    state.operator = cx
        .owner
        .as_ref()
        .is_some_and(|o| cx.console.is_operator(o.as_str()));
    let size = bounded_size(request.cols, request.rows);
    update(
        &mut state,
        Action::Resize {
            cols: size.width,
            rows: size.height,
        },
    );
    update(&mut state, Action::Tick(now_millis()));
    info!(term = %request.term, depth = depth.name(), cols = size.width, rows = size.height, "tui session started");

    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(OUTPUT_QUEUE);
    let writer = tokio::spawn(write_loop(channel.make_writer(), out_rx));
    let (action_tx, mut action_rx) = mpsc::channel::<Action>(32);
    let paste_limit = usize::try_from(policy.max_size)
        .unwrap_or(usize::MAX)
        .min(DRAFT_CAP);
    let mut parser = InputParser::new(paste_limit);
    let mut lease = cx.draft_budget.lease();
    let mut keys = KeyOrigin::default();
    let mut pacer = Pacer::default();
    let mut screen = Screen::new(size);
    let mut inputs = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_activity = Instant::now();
    let mut in_flight = InFlight::default();
    let draining = cx.shutdown.draining();
    tokio::pin!(draining);
    let mut told_draining = false;
    let cutting = cx.shutdown.cutting();
    tokio::pin!(cutting);
    let mut ended = Ended::Left;

    let mut client_gone = out_tx.send(ENTER.to_vec()).await.is_err();
    if !client_gone {
        screen.draw(&state, &out_tx);
    }
    let reason = loop {
        if client_gone {
            break "client gone";
        }
        let waiting = parser.is_waiting();
        let mut by_hand = true;
        tokio::select! {
            msg = channel.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    last_activity = Instant::now();
                    let before = inputs.len();
                    parser.set_paste_limit(paste_room(&state).min(paste_limit));
                    parser.feed(&data, &mut inputs);
                    by_hand = keys.read(&inputs[before..], last_activity);
                    // A paste still arriving is held by the parser: it counts against the
                    // budget too, and is dropped (nothing kept) when the budget cannot cover it.
                    let held = parser.buffered();
                    if held > 0 && lease.cover(state.draft_size() + held).is_err() {
                        parser.drop_paste();
                        keys.budget_dropped_paste = true;
                    }
                }
                Some(ChannelMsg::WindowChange { col_width, row_height, .. }) => {
                    let size = bounded_size(col_width, row_height);
                    screen.resize(size);
                    update(&mut state, Action::Resize { cols: size.width, rows: size.height });
                }
                Some(ChannelMsg::Eof) => break "eof",
                Some(ChannelMsg::Close) | None => {
                    client_gone = true;
                    break "client gone";
                }
                Some(_) => continue,
            },
            () = tokio::time::sleep(ESC_TIMEOUT), if waiting => parser.on_timeout(&mut inputs),
            () = pacer.wait() => {}
            () = &mut draining, if !told_draining => {
                told_draining = true;
                if let Some(deadline) = cx.shutdown.deadline() {
                    update(&mut state, Action::ShuttingDown { deadline });
                }
            }
            () = &mut cutting => {
                ended = Ended::ShutDown;
                break "server shutting down";
            }
            Some(action) = action_rx.recv() => {
                in_flight.done(&action);
                run_effects(update(&mut state, action), &cx, &action_tx, &out_tx, &mut in_flight);
            }
            _ = tick.tick() => {
                let idle = last_activity.elapsed();
                if idle >= cx.idle_timeout {
                    break "idle timeout";
                }
                if idle + IDLE_WARNING >= cx.idle_timeout {
                    let secs_left = (cx.idle_timeout - idle).as_secs();
                    update(&mut state, Action::IdleWarning { secs_left });
                }
                let effects = update(&mut state, Action::Tick(now_millis()));
                run_effects(effects, &cx, &action_tx, &out_tx, &mut in_flight);
            }
        }
        let batch = std::mem::take(&mut inputs);
        for (i, input) in batch.into_iter().enumerate() {
            if i > 0 && i % BATCH == 0 {
                // Another session's keys, a claim or /healthz may be waiting for this worker.
                tokio::task::yield_now().await;
            }
            let action = keys.action(input, by_hand);
            let action = admit(action, &state, &mut lease);
            let effects = update(&mut state, action);
            run_effects(effects, &cx, &action_tx, &out_tx, &mut in_flight);
            if state.quit {
                break;
            }
        }
        lease.shrink_to(state.draft_size() + parser.buffered());
        if state.quit {
            break "quit";
        }
        pacer.draw(&mut screen, &state, &out_tx, by_hand);
    };
    debug!(reason, "tui session ending");
    if !client_gone {
        let restore = tokio::time::timeout(RESTORE_WAIT, out_tx.send(LEAVE.to_vec())).await;
        if !matches!(restore, Ok(Ok(()))) {
            warn!("could not restore the client's terminal in time");
        }
    }
    drop(out_tx);
    if tokio::time::timeout(RESTORE_WAIT, writer).await.is_err() {
        debug!("client did not drain its output; closing anyway");
    }
    info!(reason, "tui session ended");
    ended
}

/// The draft's growth must fit the session's lease on the draft budget: if the budget cannot
/// cover it, the input becomes [`Action::DraftBudgetFull`] and nothing of it is kept.
fn admit(action: Action, state: &State, lease: &mut Lease) -> Action {
    let growth = draft_growth(state, &action);
    if growth > 0 && lease.cover(state.draft_size() + growth).is_err() {
        return Action::DraftBudgetFull;
    }
    action
}

/// Where keys came from: by hand (one key per read, after a quiet spell) or in a burst.
#[derive(Default)]
struct KeyOrigin {
    last_burst: Option<Instant>,
    /// The paste in flight was dropped for the budget, not for its size.
    budget_dropped_paste: bool,
}

impl KeyOrigin {
    /// Classifies one read's inputs: true when they may count as typed by hand.
    fn read(&mut self, inputs: &[Input], at: Instant) -> bool {
        let keys = inputs.iter().filter(|i| matches!(i, Input::Key(_))).count();
        if keys > 1 {
            self.last_burst = Some(at);
            return false;
        }
        self.last_burst
            .is_none_or(|burst| at.duration_since(burst) >= BURST_QUIET)
    }

    fn action(&mut self, input: Input, by_hand: bool) -> Action {
        match input {
            Input::Key(key) if by_hand => Action::Key(key),
            Input::Key(key) => Action::BurstKey(key),
            Input::Paste(text) => Action::Paste(text),
            Input::PasteTooLarge { .. } if self.budget_dropped_paste => {
                self.budget_dropped_paste = false;
                Action::DraftBudgetFull
            }
            Input::PasteTooLarge { bytes } => Action::PasteTooLarge { bytes },
        }
    }
}

/// Frame pacing: at most one frame per [`FRAME_INTERVAL`] ([`BURST_FRAME_INTERVAL`] after a
/// burst); a frame due sooner waits for it.
struct Pacer {
    last: Option<Instant>,
    interval: Duration,
    pending: bool,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            last: None,
            interval: FRAME_INTERVAL,
            pending: false,
        }
    }
}

impl Pacer {
    fn draw(
        &mut self,
        screen: &mut Screen,
        state: &State,
        out: &mpsc::Sender<Vec<u8>>,
        by_hand: bool,
    ) {
        let now = Instant::now();
        self.interval = if by_hand {
            FRAME_INTERVAL
        } else {
            BURST_FRAME_INTERVAL
        };
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            self.pending = true;
            return;
        }
        self.last = Some(now);
        self.pending = false;
        screen.draw(state, out);
    }

    /// Resolves when a postponed frame is due (never, when none is).
    async fn wait(&mut self) {
        match (self.pending, self.last) {
            (true, Some(last)) => {
                tokio::time::sleep_until((last + self.interval).into()).await;
                // The loop draws after every wake-up; let it through now.
                self.last = None;
            }
            _ => std::future::pending().await,
        }
    }
}

/// The host of the public URL, for the "LARGER: cat FILE | ssh HOST" hint.
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.split(':').next().unwrap_or(authority),
    };
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        .take(64)
        .collect();
    if host.is_empty() { "HOST".into() } else { host }
}

/// The ratatui terminal plus the one rule about dropped frames.
struct Screen {
    terminal: Option<Terminal<SshBackend>>,
    full_redraw: bool,
    /// What the last frame showed (screen, phase, help): a change repaints every cell, so no
    /// glyph of the old screen (a QR code's blocks bleed into neighbouring cells in some
    /// fonts) survives a diff that only rewrote changed cells.
    shown: Option<view::Shown>,
}

impl Screen {
    fn new(size: Size) -> Self {
        let terminal = Terminal::with_options(
            SshBackend::new(size),
            TerminalOptions {
                viewport: Viewport::Fullscreen,
            },
        )
        .ok();
        Self {
            terminal,
            full_redraw: false,
            shown: None,
        }
    }

    fn resize(&mut self, size: Size) {
        if let Some(t) = &mut self.terminal {
            t.backend_mut().set_size(size);
        }
    }

    fn draw(&mut self, state: &State, out: &mpsc::Sender<Vec<u8>>) {
        let Some(terminal) = &mut self.terminal else {
            return;
        };
        let shown = view::shown(state);
        if self.full_redraw || self.shown.is_some_and(|before| before != shown) {
            let _ = terminal.clear();
        }
        self.shown = Some(shown);
        let mut drawn = view::Drawn::default();
        if terminal
            .draw(|frame| drawn = view::render(state, frame))
            .is_err()
        {
            return;
        }
        if let (Some((x, y)), super::state::Screen::Armed(armed)) = (drawn.link_at, &state.screen) {
            let link = armed.link.expose();
            let overlay = super::backend::hyperlink_overlay(
                x,
                y,
                &link,
                state.styles.accent,
                state.styles.surface,
            );
            terminal.backend_mut().push_raw(&overlay);
        }
        let bytes = terminal.backend_mut().take();
        if bytes.is_empty() {
            return;
        }
        match out.try_send(bytes) {
            Ok(()) => self.full_redraw = false,
            Err(_) => {
                // The client is not keeping up: skip this frame, repaint everything next time.
                self.full_redraw = true;
            }
        }
    }
}

async fn write_loop(
    mut writer: impl tokio::io::AsyncWrite + Unpin,
    mut rx: mpsc::Receiver<Vec<u8>>,
) {
    while let Some(bytes) = rx.recv().await {
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::effects::osc52;
    use crate::tui::update::Action;

    fn state() -> State {
        let styles = Styles::new(&Theme::industrial_urgency().colors, Depth::Ansi256);
        let mut s = State::new(
            styles,
            "SHA256:x".into(),
            true,
            1024,
            Duration::from_secs(3600),
            Duration::from_secs(86_400),
        );
        update(&mut s, Action::Resize { cols: 80, rows: 24 });
        s
    }

    #[test]
    fn a_dropped_frame_makes_the_next_one_a_full_redraw() {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(1);
        let mut screen = Screen::new(Size::new(80, 24));
        let mut s = state();
        screen.draw(&s, &tx); // fills the queue
        let first = rx.try_recv().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("ONETIMESHARE"));

        tx.try_send(b"occupied".to_vec()).unwrap();
        update(&mut s, Action::Paste("abc".into()));
        screen.draw(&s, &tx); // the client is slow: this frame is dropped
        assert!(screen.full_redraw);
        assert_eq!(rx.try_recv().unwrap(), b"occupied");

        update(&mut s, Action::Paste("d".into()));
        screen.draw(&s, &tx);
        let next = String::from_utf8(rx.try_recv().unwrap()).unwrap();
        assert!(next.contains("\x1b[2J"), "cleared first");
        assert!(
            next.contains("ONETIMESHARE"),
            "unchanged cells are redrawn too"
        );
        assert!(next.contains("abcd"));
        assert!(!screen.full_redraw);

        update(&mut s, Action::Paste("e".into()));
        screen.draw(&s, &tx);
        let diff = String::from_utf8(rx.try_recv().unwrap()).unwrap();
        assert!(!diff.contains("ONETIMESHARE"), "back to diffs: {diff:?}");
    }

    #[test]
    fn only_a_key_alone_in_its_read_after_a_quiet_spell_counts_as_typed_by_hand() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let key = |c| Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        let paste = Input::Paste("a paste is not a key".into());
        let start = Instant::now();
        let mut origin = KeyOrigin::default();
        assert!(origin.read(&[key('a')], start));
        assert!(
            origin.read(&[paste.clone(), key('s')], start),
            "bracketed paste + a key"
        );
        assert!(
            !origin.read(&[key('a'), key('s')], start),
            "two keys in one read"
        );
        assert!(
            !origin.read(&[key('s')], start + BURST_QUIET / 2),
            "right after a burst"
        );
        assert!(
            origin.read(&[key('s')], start + BURST_QUIET),
            "after the quiet spell"
        );
        assert!(matches!(
            origin.action(key('s'), false),
            Action::BurstKey(_)
        ));
        assert!(matches!(origin.action(key('s'), true), Action::Key(_)));
    }

    #[test]
    fn the_hint_names_the_public_urls_host() {
        assert_eq!(url_host("https://share.example.com/"), "share.example.com");
        assert_eq!(url_host("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(url_host("http://[::1]:8080/x"), "::1");
        assert_eq!(url_host("https://\x1b]evil"), "evil");
    }

    #[test]
    fn osc52_carries_the_text_base64_encoded() {
        assert_eq!(osc52("hi").as_str(), "\x1b]52;c;aGk=\x07");
    }

    #[test]
    fn the_header_names_the_key_by_the_end_of_its_fingerprint() {
        let owner = Owner::new("SHA256:abcdefghijklmnopqrstuvwxyz");
        assert_eq!(short_owner(Some(&owner)), "KEY …vwxyz");
        assert_eq!(short_owner(None), "NO KEY");
    }
}
