//! TUI frame cost: the pure view rendered into ratatui's buffers plus the diff encoded by the SSH
//! backend, per frame, for the compose and My shares screens at 200×60. Each iteration changes
//! one thing (a typed character, a countdown tick) so the diff is real, as in a live session.
//! Goal: under 1 ms per frame.
// Test and measurement code states its expectations with unwrap/panic (the [lints] table
// denies both in the server).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use onetimeshare::crypto::Kind;
use onetimeshare::share::{ShareId, ShareStatus, StatusState};
use onetimeshare::theme::Theme;
use onetimeshare::tui::backend::SshBackend;
use onetimeshare::tui::colors::{Depth, Styles};
use onetimeshare::tui::state::State;
use onetimeshare::tui::update::{Action, update};
use onetimeshare::tui::view;
use ratatui::layout::Size;
use ratatui::{Terminal, TerminalOptions, Viewport};

const NOW: u64 = 1_795_435_200_000;

fn state() -> State {
    let styles = Styles::new(&Theme::industrial_urgency().colors, Depth::TrueColor);
    let mut s = State::new(
        styles,
        "SHA256:23n8W7fx…".into(),
        true,
        256 * 1024 * 1024,
        Duration::from_secs(3600),
        Duration::from_secs(7 * 86_400),
    );
    update(
        &mut s,
        Action::Resize {
            cols: 200,
            rows: 60,
        },
    );
    update(&mut s, Action::Tick(NOW));
    s
}

fn terminal() -> Terminal<SshBackend> {
    Terminal::with_options(
        SshBackend::new(Size::new(200, 60)),
        TerminalOptions {
            viewport: Viewport::Fullscreen,
        },
    )
    .unwrap()
}

fn frame(terminal: &mut Terminal<SshBackend>, state: &State) -> usize {
    terminal
        .draw(|f| {
            view::render(state, f);
        })
        .unwrap();
    terminal.backend_mut().take().len()
}

fn bench(c: &mut Criterion) {
    // Compose with 40 lines of text; each frame types one more character.
    let mut compose = state();
    let text: String = (0..40)
        .map(|i| format!("KEY_{i}=value-{i}-{}\n", "x".repeat(60)))
        .collect();
    update(&mut compose, Action::Paste(text));
    let mut term = terminal();
    let full = frame(&mut term, &compose);
    println!("compose 200x60: first (full) frame {full} bytes");
    c.bench_function("tui_frame/compose_200x60", |b| {
        b.iter(|| {
            update(
                &mut compose,
                Action::Key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE)),
            );
            frame(&mut term, &compose)
        })
    });

    // My shares with 50 rows; each frame advances the clock (every countdown changes).
    let mut list = state();
    update(
        &mut list,
        Action::Key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL)),
    );
    let items = (0..50u64)
        .map(|n| ShareStatus {
            handle: ShareId::generate().unwrap().handle(),
            kind: Kind::Text,
            stored_size: 1000 * n,
            created_at: NOW,
            expires_at: NOW + 3_600_000 * (n + 1),
            password: n % 2 == 0,
            max_attempts: 5,
            attempts: 0,
            state: if n % 3 == 0 {
                StatusState::Opened { at: NOW }
            } else {
                StatusState::Armed
            },
        })
        .collect();
    update(&mut list, Action::Listed(Ok(items)));
    let mut term = terminal();
    let full = frame(&mut term, &list);
    println!("my shares 200x60: first (full) frame {full} bytes");
    let mut now = NOW;
    c.bench_function("tui_frame/my_shares_200x60", |b| {
        b.iter(|| {
            now += 1000;
            update(&mut list, Action::Tick(now));
            frame(&mut term, &list)
        })
    });

    // The worst case: a full redraw (after a resize or a dropped frame).
    let mut term = terminal();
    c.bench_function("tui_frame/my_shares_200x60_full_redraw", |b| {
        b.iter(|| {
            term.clear().unwrap();
            frame(&mut term, &list)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
