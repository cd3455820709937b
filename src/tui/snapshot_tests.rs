//! Snapshot tests of every screen, rendered by the pure view into ratatui's `TestBackend` at
//! 80×24, 100×32 and 200×60, plus the too-small screen and the armed screen at each colour depth (those
//! snapshots include every cell's colours, so a depth mapping change shows up as a diff).
//!
//! Snapshots live in `src/tui/snapshots/*.snap`. A missing one is written and the test fails so
//! it gets reviewed; `UPDATE_SNAPSHOTS=1 cargo test --lib tui::snapshot` rewrites them all. (A
//! 30-line helper rather than `insta`: it keeps the dev tree small and the files plain text.)

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::colors::{Depth, Styles};
use super::state::State;
use super::update::{Action, ArmedOk, update};
use super::view;
use crate::crypto::{Kind, ShareKey};
use crate::share::{InboxItem, Link, ShareId, ShareStatus, StatusState, StoreKey};
use crate::theme::Theme;

/// 2026-11-23 12:00:00 UTC.
pub(super) const NOW: u64 = 1_795_435_200_000;
const ID: &str = "i9CoqD1IGuBxI47q";
const KEY: &str = "vLla6knuqX2ofkgRD1FOir6fyLkZ8SbU1xxnUGqfPvE";

fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/tui/snapshots")
        .join(format!("{name}.snap"));
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    match std::fs::read_to_string(&path) {
        Ok(expected) if !update => {
            if expected != actual {
                panic!(
                    "snapshot {name} differs (UPDATE_SNAPSHOTS=1 to accept)\n--- expected\n{expected}\n--- actual\n{actual}"
                );
            }
        }
        result => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
            assert!(
                update,
                "new snapshot {name} written to {}: review it and rerun ({:?})",
                path.display(),
                result.err()
            );
        }
    }
}

pub(super) fn state(depth: Depth, cols: u16, rows: u16) -> State {
    let styles = Styles::new(&Theme::industrial_urgency().colors, depth);
    let mut state = State::new(
        styles,
        "KEY …YgEYE".into(),
        true,
        256 * 1024 * 1024,
        Duration::from_secs(3600),
        Duration::from_secs(7 * 86_400),
    );
    update(&mut state, Action::Resize { cols, rows });
    update(&mut state, Action::Tick(NOW));
    state
}

fn key(state: &mut State, code: KeyCode) {
    update(state, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn ctrl(state: &mut State, c: char) {
    update(
        state,
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    );
}

fn typed(state: &mut State, text: &str) {
    for ch in text.chars() {
        key(state, KeyCode::Char(ch));
    }
}

pub(super) fn link() -> Link {
    Link::new(
        "https://share.example",
        ShareId::parse(ID).unwrap(),
        ShareKey::from_base64(KEY).unwrap(),
    )
}

pub(super) fn armed(depth: Depth, cols: u16, rows: u16) -> State {
    let mut s = state(depth, cols, rows);
    update(
        &mut s,
        Action::Paste("DATABASE_URL=postgres://u:p@db/app\nAPI_KEY=sk_live_123".into()),
    );
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Tab);
    typed(&mut s, "pw");
    key(&mut s, KeyCode::Tab);
    typed(&mut s, "pw");
    key(&mut s, KeyCode::Tab);
    typed(&mut s, "prod.env");
    ctrl(&mut s, 's');
    let link = link();
    let handle = link.id().handle();
    update(
        &mut s,
        Action::Armed(Ok(Box::new(ArmedOk {
            link,
            handle,
            size: 52,
            expires_at: NOW + 3_598_000,
        }))),
    );
    update(&mut s, Action::Watched(Some(StatusState::Armed)));
    s
}

fn list_items() -> Vec<ShareStatus> {
    let status = |n: u64, state: StatusState, password: bool| ShareStatus {
        handle: ShareId::parse(&format!("AAAAAAAAAAAAAAA{n}"))
            .map(|id| id.handle())
            .unwrap_or_else(|| ShareId::parse(ID).unwrap().handle()),
        kind: if n == 2 { Kind::File } else { Kind::Text },
        stored_size: 1000 * n,
        created_at: NOW - 60_000 * n,
        expires_at: NOW + 3_600_000 * n,
        password,
        max_attempts: 5,
        attempts: u32::from(password),
        state,
    };
    vec![
        status(1, StatusState::Armed, true),
        status(2, StatusState::Opened { at: NOW - 30_000 }, false),
        status(3, StatusState::Revoked { at: NOW - 10_000 }, false),
        status(4, StatusState::Locked, true),
    ]
}

pub(super) fn shares(cols: u16, rows: u16) -> State {
    shares_at(Depth::TrueColor, cols, rows)
}

pub(super) fn shares_at(depth: Depth, cols: u16, rows: u16) -> State {
    let mut s = state(depth, cols, rows);
    ctrl(&mut s, 'l');
    update(&mut s, Action::Listed(Ok(list_items())));
    s
}

/// Three shares sealed to the session's key, oldest first (as `Shares::inbox` orders them).
fn inbox_items() -> Vec<InboxItem> {
    let item = |n: u8, from: &str, label: Option<&str>| {
        let key = StoreKey([n; 32]);
        InboxItem {
            handle: key.handle(),
            key,
            from: from.into(),
            label: label.map(str::to_owned),
            kind: if n == 2 { Kind::Text } else { Kind::File },
            stored_size: 1_000 * u64::from(n) + 200,
            created_at: NOW - 60_000 * u64::from(4 - n),
            expires_at: NOW + 3_600_000 * u64::from(n),
        }
    };
    vec![
        item(
            1,
            "SHA256:Qm9iJ3Mga2V5IGZpbmdlcnByaW50IGhlcmU",
            Some("prod.env"),
        ),
        // A hostile sender's label: the escape must not reach the terminal.
        item(
            2,
            "SHA256:YWxpY2Ugc2VuZHMgdGhpcyBvbmUgdG9v",
            Some("id\x1b[31m_rsa"),
        ),
        item(3, "a keyless sender", None),
    ]
}

pub(super) fn inbox(cols: u16, rows: u16) -> State {
    let mut s = state(Depth::TrueColor, cols, rows);
    s.ssh = "ssh -p 2222 share.example".into();
    key(&mut s, KeyCode::F(2));
    update(&mut s, Action::InboxLoaded(Ok(inbox_items())));
    key(&mut s, KeyCode::Down);
    s
}

pub(super) fn text_of(state: &State) -> String {
    let mut terminal = Terminal::new(TestBackend::new(state.cols, state.rows)).unwrap();
    terminal
        .draw(|frame| {
            view::render(state, frame);
        })
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn styled_of(state: &State) -> String {
    let mut terminal = Terminal::new(TestBackend::new(state.cols, state.rows)).unwrap();
    terminal
        .draw(|frame| {
            view::render(state, frame);
        })
        .unwrap();
    format!("{:?}", terminal.backend().buffer())
}

/// The sizes every screen is checked at: the classic terminal, the default of many emulators,
/// and a large one (where the content column keeps its width).
const SIZES: [(u16, u16); 3] = [(80, 24), (100, 32), (200, 60)];

fn both_sizes(name: &str, make: impl Fn(u16, u16) -> State) {
    for (cols, rows) in SIZES {
        assert_snapshot(
            &format!("{name}_{cols}x{rows}"),
            &text_of(&make(cols, rows)),
        );
    }
}

#[test]
fn compose_empty() {
    both_sizes("compose_empty", |c, r| state(Depth::TrueColor, c, r));
}

#[test]
fn compose_filled_with_a_password_and_an_error() {
    both_sizes("compose_filled", |c, r| {
        let mut s = state(Depth::TrueColor, c, r);
        update(&mut s, Action::Paste("line one\nline two".into()));
        key(&mut s, KeyCode::Tab);
        key(&mut s, KeyCode::Right);
        key(&mut s, KeyCode::Tab);
        typed(&mut s, "secret");
        key(&mut s, KeyCode::Tab);
        typed(&mut s, "secreT");
        ctrl(&mut s, 's');
        s
    });
}

#[test]
fn armed_counting_down() {
    both_sizes("armed", |c, r| armed(Depth::TrueColor, c, r));
}

#[test]
fn armed_after_copy() {
    both_sizes("armed_copied", |c, r| {
        let mut s = armed(Depth::TrueColor, c, r);
        key(&mut s, KeyCode::Char('c'));
        s
    });
}

#[test]
fn armed_with_the_qr_code() {
    both_sizes("armed_qr", |c, r| {
        let mut s = armed(Depth::TrueColor, c, r);
        key(&mut s, KeyCode::Char('r'));
        s
    });
}

#[test]
fn armed_then_opened() {
    both_sizes("armed_opened", |c, r| {
        let mut s = armed(Depth::TrueColor, c, r);
        update(
            &mut s,
            Action::Watched(Some(StatusState::Opened { at: NOW + 4_000 })),
        );
        s
    });
}

#[test]
fn my_shares_list_and_revoke_confirmation() {
    both_sizes("shares", shares);
    both_sizes("shares_confirm", |c, r| {
        let mut s = shares(c, r);
        key(&mut s, KeyCode::Char('x'));
        s
    });
    both_sizes("shares_detail", |c, r| {
        let mut s = shares(c, r);
        key(&mut s, KeyCode::Down);
        key(&mut s, KeyCode::Down);
        key(&mut s, KeyCode::Down);
        key(&mut s, KeyCode::Enter);
        s
    });
}

#[test]
fn a_list_that_fails_to_load_says_why_in_full() {
    // Longer than an 80-column box: the words wrap rather than being cut.
    let why = "share storage is unavailable, try again shortly (it did not answer within the \
               time this server allows it)";
    both_sizes("shares_error", |c, r| {
        let mut s = state(Depth::TrueColor, c, r);
        ctrl(&mut s, 'l');
        update(&mut s, Action::Listed(Err(why.into())));
        s
    });
    both_sizes("inbox_error", |c, r| {
        let mut s = state(Depth::TrueColor, c, r);
        key(&mut s, KeyCode::F(2));
        update(&mut s, Action::InboxLoaded(Err(why.into())));
        s
    });
    let screen = text_of(&{
        let mut s = state(Depth::TrueColor, 80, 24);
        ctrl(&mut s, 'l');
        update(&mut s, Action::Listed(Err(why.into())));
        s
    });
    assert!(screen.contains("SERVER ALLOWS IT)"), "{screen}");
}

#[test]
fn inbox_list_empty_and_copied() {
    both_sizes("inbox", inbox);
    both_sizes("inbox_empty", |c, r| {
        let mut s = state(Depth::TrueColor, c, r);
        s.ssh = "ssh -p 2222 share.example".into();
        key(&mut s, KeyCode::F(2));
        update(&mut s, Action::InboxLoaded(Ok(Vec::new())));
        s
    });
    both_sizes("inbox_copied", |c, r| {
        let mut s = inbox(c, r);
        key(&mut s, KeyCode::Char('c'));
        s
    });
    both_sizes("inbox_help", |c, r| {
        let mut s = inbox(c, r);
        key(&mut s, KeyCode::F(1));
        s
    });
}

#[test]
fn help_overlay() {
    both_sizes("help", |c, r| {
        let mut s = armed(Depth::TrueColor, c, r);
        key(&mut s, KeyCode::Char('?'));
        s
    });
}

#[test]
fn idle_warning() {
    both_sizes("idle_warning", |c, r| {
        let mut s = state(Depth::TrueColor, c, r);
        update(&mut s, Action::IdleWarning { secs_left: 42 });
        s
    });
}

#[test]
fn shutdown_notice_with_the_time_left_on_every_screen() {
    // Draining began at NOW with a 30 s grace; the clock has moved on 4.2 s.
    let draining = |s: &mut State| {
        update(
            s,
            Action::ShuttingDown {
                deadline: NOW + 30_000,
            },
        );
        update(s, Action::Tick(NOW + 4_200));
    };
    both_sizes("shutdown_compose", |c, r| {
        let mut s = state(Depth::TrueColor, c, r);
        typed(&mut s, "half-typed draft");
        draining(&mut s);
        s
    });
    both_sizes("shutdown_armed", |c, r| {
        let mut s = armed(Depth::TrueColor, c, r);
        draining(&mut s);
        s
    });
    // Over the help overlay too, and shortened when the full sentence does not fit.
    let mut s = state(Depth::TrueColor, 60, 16);
    key(&mut s, KeyCode::F(1));
    draining(&mut s);
    assert_snapshot("shutdown_help_60x16", &text_of(&s));
    let mut s = state(Depth::TrueColor, 40, 10);
    draining(&mut s);
    assert_snapshot("shutdown_too_small_40x10", &text_of(&s));
}

#[test]
fn the_shutdown_notice_is_white_on_danger_red_across_the_whole_top_row() {
    let mut s = state(Depth::TrueColor, 80, 24);
    update(
        &mut s,
        Action::ShuttingDown {
            deadline: NOW + 30_000,
        },
    );
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| {
            view::render(&s, frame);
        })
        .unwrap();
    let buffer = terminal.backend().buffer();
    for x in [0, 1, 40, 79] {
        let cell = &buffer[(x, 0)];
        assert_eq!(cell.bg, s.styles.danger, "column {x}");
        assert_eq!(cell.fg, s.styles.text, "column {x}");
    }
}

#[test]
fn too_small() {
    assert_snapshot(
        "too_small_59x16",
        &text_of(&state(Depth::TrueColor, 59, 16)),
    );
    assert_snapshot(
        "too_small_40x10",
        &text_of(&state(Depth::TrueColor, 40, 10)),
    );
    assert_snapshot("too_small_1x1", &text_of(&state(Depth::TrueColor, 1, 1)));
}

#[test]
fn armed_at_each_colour_depth() {
    for depth in [Depth::TrueColor, Depth::Ansi256, Depth::Ansi16] {
        for (cols, rows) in SIZES {
            assert_snapshot(
                &format!("armed_colours_{}_{cols}x{rows}", depth.name()),
                &styled_of(&armed(depth, cols, rows)),
            );
        }
        let mut opened = armed(depth, 100, 32);
        update(
            &mut opened,
            Action::Watched(Some(StatusState::Opened { at: NOW + 4_000 })),
        );
        assert_snapshot(
            &format!("armed_opened_colours_{}_100x32", depth.name()),
            &styled_of(&opened),
        );
        assert_snapshot(
            &format!("compose_colours_{}_100x32", depth.name()),
            &styled_of(&state(depth, 100, 32)),
        );
        assert_snapshot(
            &format!("shares_colours_{}_100x32", depth.name()),
            &styled_of(&shares_at(depth, 100, 32)),
        );
        let mut inboxed = inbox(100, 32);
        inboxed.styles = Styles::new(&Theme::industrial_urgency().colors, depth);
        assert_snapshot(
            &format!("inbox_colours_{}_100x32", depth.name()),
            &styled_of(&inboxed),
        );
    }
}

#[test]
fn the_link_is_orange_bold_and_on_one_unwrapped_line_when_it_fits() {
    let s = armed(Depth::TrueColor, 100, 30);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let mut drawn = view::Drawn::default();
    terminal
        .draw(|frame| drawn = view::render(&s, frame))
        .unwrap();
    let (x, y) = drawn.link_at.expect("the link fits at 100 columns");
    let buffer = terminal.backend().buffer();
    let expected = link().expose();
    let row: String = (x..x + expected.len() as u16)
        .map(|col| buffer[(col, y)].symbol().to_owned())
        .collect();
    assert_eq!(row, expected.as_str());
    assert_eq!(buffer[(x, y)].fg, s.styles.accent);
}

#[test]
fn a_paste_over_the_draft_cap_is_refused_whole_and_says_how_to_send_it() {
    let mut s = state(Depth::TrueColor, 120, 40);
    let text = format!("{}\n", "x".repeat(63)).repeat(16 * 1024);
    update(&mut s, Action::Paste(text));
    let screen = text_of(&s);
    assert!(screen.contains("0 B / 64.0 KiB"), "{screen}");
    assert!(
        screen.contains("PASTE TOO LARGE (1.0 MiB): 64.0 KiB MAX HERE · NOTHING ADDED"),
        "{screen}"
    );
    assert!(
        screen.contains("LARGER: cat FILE | ssh share.host · scp FILE share.host:"),
        "{screen}"
    );
    let fits = format!("{}\n", "x".repeat(63)).repeat(1024);
    update(&mut s, Action::Paste(fits.clone()));
    assert!(text_of(&s).contains("64.0 KiB / 64.0 KiB"));
    ctrl(&mut s, 's');
    let super::state::Screen::Compose(c) = &s.screen else {
        panic!("still composing while arming");
    };
    assert_eq!(c.text.size(), fits.len());
    assert!(c.arming);
}

fn operator_snapshot() -> Box<super::operator::OperatorSnapshot> {
    use crate::operator::{
        Ban, BanTarget, NewReport, Presence, Report, ReportReason, StateCounts, Stats, StoreHealth,
        WindowCounts,
    };
    use crate::share::{Owner, ShareOverview};
    let counts = |created, claimed| WindowCounts {
        created,
        claimed,
        expired: 1,
        locked: 0,
        revoked: 0,
        taken_down: 1,
        bytes_in: 4096 * created,
    };
    let stats = Stats {
        at: NOW,
        shares: StateCounts {
            live: 3,
            locked: 1,
            opened: 1,
            revoked: 0,
            taken_down: 0,
            bytes_stored: 7000,
        },
        last_hour: counts(2, 1),
        last_day: counts(9, 6),
        ssh: Presence {
            instances: 2,
            sessions: [("admin".to_owned(), 0), ("tui".to_owned(), 2)].into(),
        },
        store: StoreHealth {
            backend: "redis",
            ok: true,
            latency_ms: 0.4,
            error: None,
        },
        open_reports: 1,
        bans: 1,
    };
    let shares = list_items()
        .into_iter()
        .enumerate()
        .map(|(i, status)| ShareOverview {
            status,
            owner: (i % 2 == 0)
                .then(|| Owner::new("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s")),
        })
        .collect::<Vec<_>>();
    let reports = vec![Report {
        number: 7,
        filed: NewReport {
            at: NOW - 120_000,
            share: shares[0].status.handle.to_string(),
            reason: ReportReason::Phishing,
            details: "fake bank login page".into(),
            reporter: "203.0.113.7".into(),
        },
        resolution: None,
    }];
    let bans = vec![Ban {
        target: BanTarget::parse("198.51.100.0/24").unwrap(),
        at: NOW - 3_600_000,
        until: Some(NOW + 86_400_000),
        by: "SHA256:operator".into(),
    }];
    Box::new(super::operator::OperatorSnapshot {
        stats,
        shares,
        reports,
        bans,
    })
}

fn operator_screen(cols: u16, rows: u16, tab: char) -> State {
    let mut s = state(Depth::TrueColor, cols, rows);
    s.operator = true;
    ctrl(&mut s, 'o');
    update(&mut s, Action::OperatorLoaded(Ok(operator_snapshot())));
    key(&mut s, KeyCode::Char(tab));
    s
}

#[test]
fn operator_screen_tabs() {
    both_sizes("operator_stats", |c, r| operator_screen(c, r, '1'));
    both_sizes("operator_shares", |c, r| operator_screen(c, r, '2'));
    both_sizes("operator_reports_confirm_takedown", |c, r| {
        let mut s = operator_screen(c, r, '3');
        key(&mut s, KeyCode::Char('t'));
        s
    });
    both_sizes("operator_bans", |c, r| operator_screen(c, r, '4'));
}

#[test]
fn the_operator_screen_is_for_operators_only() {
    let mut s = state(Depth::TrueColor, 80, 24);
    ctrl(&mut s, 'o');
    assert!(matches!(s.screen, super::state::Screen::Compose(_)));
    s.operator = true;
    let effects = {
        update(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL)),
        )
    };
    assert!(matches!(s.screen, super::state::Screen::Operator(_)));
    assert!(matches!(
        effects.as_slice(),
        [super::update::Effect::LoadOperator]
    ));
}

/// The smallest terminal that gets the full screen: every screen still fits, whole words only.
#[test]
fn every_screen_at_the_smallest_size() {
    let (c, r) = (super::state::MIN_COLS, super::state::MIN_ROWS);
    assert_snapshot(
        "smallest_compose_60x16",
        &text_of(&state(Depth::TrueColor, c, r)),
    );
    assert_snapshot(
        "smallest_armed_60x16",
        &text_of(&armed(Depth::TrueColor, c, r)),
    );
    let mut opened = armed(Depth::TrueColor, c, r);
    update(
        &mut opened,
        Action::Watched(Some(StatusState::Opened { at: NOW + 4_000 })),
    );
    assert_snapshot("smallest_opened_60x16", &text_of(&opened));
    assert_snapshot("smallest_shares_60x16", &text_of(&shares(c, r)));
    assert_snapshot("smallest_inbox_60x16", &text_of(&inbox(c, r)));
    assert_snapshot(
        "smallest_operator_60x16",
        &text_of(&operator_screen(c, r, '2')),
    );
}
