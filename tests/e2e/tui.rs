//! The interactive TUI end to end: the real OpenSSH client (`ssh -tt`) running inside a real
//! terminal emulator (a private `tmux` server per test) against the real binary. Tests drive it
//! with `send-keys` / `paste-buffer` and read it with `capture-pane`, exactly what a user sees;
//! links read off the screen are claimed through the share core and must return the exact bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{
    RedisServer, ServerOptions, TestServer, claim, keygen, open_shares, require_tool, temp_dir,
};
use onetimeshare::share::{Link, ShareError};
use onetimeshare::store::MetaBackend;

// ---------------------------------------------------------------------------------------------
// Harness: a client key, and one tmux server per test holding one `ssh -tt` window.

struct Tui {
    socket: String,
    _dir: tempfile::TempDir,
}

impl Tui {
    /// Opens `ssh -tt` to the server in a 100×30 tmux window, with `key` as the identity.
    fn open(server: &TestServer, key: &Path, dir: tempfile::TempDir) -> Tui {
        require_tool("tmux", "tmux");
        require_tool("ssh", "openssh-client");
        let socket = format!(
            "ots-tui-{}-{}",
            std::process::id(),
            dir.path().file_name().unwrap().to_string_lossy()
        );
        let known_hosts = dir.path().join("known_hosts");
        let ssh = format!(
            "env TERM=xterm-256color ssh -tt -F /dev/null -o UserKnownHostsFile={} \
             -o StrictHostKeyChecking=accept-new -o IdentitiesOnly=yes -o BatchMode=yes \
             -o LogLevel=ERROR -o ConnectTimeout=10 -i {} -p {} 127.0.0.1; \
             echo SSH-EXIT=$?; sleep 120",
            known_hosts.display(),
            key.display(),
            server.ssh_addr.port()
        );
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "100", "-y", "30", "-s", "t", &ssh])
            .status()
            .unwrap();
        assert!(status.success(), "tmux new-session failed");
        Tui { socket, _dir: dir }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// Types literal text.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Sends tmux key names (`Tab`, `C-s`, `Enter`, `Escape`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Presses CTRL-S the way a person does: on its own, a moment after the last burst of typed
    /// text (`send-keys -l` delivers a whole string in one read, and a key from a burst, or
    /// within the server's quiet time of 500 ms after one, never arms).
    fn arm(&self) {
        std::thread::sleep(Duration::from_millis(700));
        self.keys(&["C-s"]);
    }

    /// Pastes the file at `path` bracketed, through a tmux buffer (for pastes too large for a
    /// command line).
    fn paste_file(&self, path: &Path) {
        self.tmux(&["load-buffer", "-b", "big", &path.display().to_string()]);
        self.tmux(&["paste-buffer", "-p", "-r", "-b", "big", "-t", "t"]);
    }

    /// Pastes `text` the way a terminal does: bracketed, because the TUI asked for it.
    fn paste(&self, text: &str) {
        self.tmux(&["set-buffer", "-b", "p", text]);
        self.tmux(&["paste-buffer", "-p", "-r", "-b", "p", "-t", "t"]);
    }

    fn resize(&self, cols: u16, rows: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
    }

    /// Waits until the screen satisfies `check`; panics with the screen on timeout.
    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_text(&self, needle: &str) -> String {
        self.wait_for(needle, |s| s.contains(needle))
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn client_key() -> (tempfile::TempDir, PathBuf) {
    let dir = temp_dir();
    let key = dir.path().join("id_ed25519");
    keygen(&key);
    (dir, key)
}

/// A server on its own data dir, which outlives it (so stores can be opened after it stops).
fn server_with(args: &[&str], redis_url: Option<String>) -> (TestServer, tempfile::TempDir) {
    let data = temp_dir();
    let server = TestServer::start(ServerOptions {
        args: args.iter().map(|a| a.to_string()).collect(),
        redis_url,
        data_dir: Some(data.path().join("data")),
        ..ServerOptions::default()
    });
    (server, data)
}

/// The link on screen (it fits on one line at 100 columns).
fn link_on(screen: &str) -> Link {
    let text = screen
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/s/"))
        .unwrap_or_else(|| panic!("no link on screen:\n{screen}"));
    Link::parse(text).unwrap_or_else(|| panic!("unparsable link {text:?}"))
}

// ---------------------------------------------------------------------------------------------

#[test]
fn typed_and_pasted_text_with_a_password_arms_and_the_link_on_screen_claims_exactly_it() {
    let (server, _data) = server_with(&[], None);
    let (dir, key) = client_key();
    let tui = Tui::open(&server, &key, dir);
    tui.wait_text("NEW SHARE");

    tui.type_text("typed: ünïcode");
    tui.keys(&["Enter"]);
    tui.paste("pasted line 1\npasted\tline 2 $HOME `x`");
    tui.wait_text("pasted line 1");
    tui.keys(&["Tab", "Tab"]);
    tui.type_text("correct horse");
    tui.keys(&["Tab"]);
    tui.type_text("correct horse");
    tui.wait_text("PASSWORD REQUIRED TO OPEN");
    tui.arm();
    let screen = tui.wait_text("LINK · WORKS ONCE");
    assert!(screen.contains("■ ARMED  EXPIRES IN"), "{screen}");
    assert!(screen.contains("PASSWORD  REQUIRED"), "{screen}");
    let link = link_on(&screen);

    tui.keys(&["C-c"]);
    let after = tui.wait_text("SSH-EXIT=");
    assert!(after.contains("SSH-EXIT=0"), "ssh exit status:\n{after}");
    assert!(
        !after.contains("ONETIMESHARE"),
        "the alternate screen was left:\n{after}"
    );

    let log = server.log();
    let key_text = link.expose();
    let key_part = key_text.rsplit('#').next().unwrap();
    for secret in [key_part, "pasted line", "correct horse", "ünïcode"] {
        assert!(!log.contains(secret), "the log leaked {secret:?}");
    }
    let data_dir = server.data_dir().to_owned();
    assert!(server.terminate().success());
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    let without = shares
        .0
        .block_on(shares.1.claim(link.id(), link.key(), None));
    assert!(
        matches!(without, Err(ShareError::PasswordRequired)),
        "{:?}",
        without.err()
    );
    assert_eq!(
        claim(&shares, &link, Some("correct horse")),
        "typed: ünïcode\npasted line 1\npasted\tline 2 $HOME `x`".as_bytes()
    );
}

#[test]
fn the_armed_screen_flips_to_opened_when_the_recipient_claims_the_link() {
    let redis = RedisServer::start();
    let (server, _data) = server_with(&[], Some(redis.url()));
    let (dir, key) = client_key();
    let tui = Tui::open(&server, &key, dir);
    tui.wait_text("NEW SHARE");
    tui.type_text("watch me burn");
    tui.arm();
    let screen = tui.wait_text("WATCHING");
    let link = link_on(&screen);
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[0].contains("/ ARMED"), "{screen}");
    assert!(screen.contains("■ ARMED"), "{screen}");
    assert!(screen.contains("LINK · WORKS ONCE"), "{screen}");
    assert!(lines[lines.len() - 1].contains("C COPY · R QR"), "{screen}");

    let shares = open_shares(server.data_dir(), redis.backend());
    assert_eq!(claim(&shares, &link, None), b"watch me burn");
    // One frame changes every part at once: header, chip, card, link style and footer.
    let flipped = tui.wait_text("— DESTROYED");
    let lines: Vec<&str> = flipped.lines().collect();
    assert!(lines[0].contains("/ OPENED"), "header: {flipped}");
    assert!(flipped.contains("■ OPENED "), "chip: {flipped}");
    assert!(flipped.contains(" UTC"), "{flipped}");
    assert!(!flipped.contains("ARMED"), "{flipped}");
    assert!(!flipped.contains("WATCHING"), "{flipped}");
    assert!(flipped.contains("LINK · DEAD"), "card: {flipped}");
    assert!(!flipped.contains("WORKS ONCE"), "card: {flipped}");
    let footer = lines[lines.len() - 1];
    assert!(
        !footer.contains("COPY") && !footer.contains("QR"),
        "footer: {footer}"
    );
    assert!(footer.contains("N NEW"), "footer: {footer}");
    // The dead link is drawn struck through (SGR 9), as tmux received it.
    let styled = tui.tmux(&["capture-pane", "-p", "-e", "-t", "t"]);
    let link_text = link.expose();
    let link_line = styled
        .lines()
        .find(|l| l.contains(link_text.as_str()))
        .unwrap_or_else(|| panic!("the dead link is still shown:\n{flipped}"));
    assert!(
        link_line.contains("\x1b[9m") || link_line.contains(";9m") || link_line.contains("[9;"),
        "the dead link is not struck through: {link_line:?}"
    );
}

#[test]
fn resizing_redraws_at_the_new_size_and_too_small_says_so() {
    let (server, _data) = server_with(&[], None);
    let (dir, key) = client_key();
    let tui = Tui::open(&server, &key, dir);
    tui.wait_text("NEW SHARE");
    tui.type_text("still here");

    tui.resize(70, 20);
    let screen = tui.wait_for("a 70-column frame", |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.len() == 20
            && lines[0].contains("ONETIMESHARE")
            // One column of margin each side: the border's corner sits in column 69.
            && lines[2].trim_end().chars().count() == 69
            && lines[2].trim_end().ends_with('┓')
            && lines[19].contains("CTRL-C QUIT")
    });
    assert!(screen.contains("still here"), "{screen}");

    tui.resize(50, 12);
    tui.wait_text("TERMINAL TOO SMALL");
    tui.wait_text("50×12 · NEED 60×16");

    tui.resize(100, 30);
    let screen = tui.wait_for("the compose screen again", |s| {
        s.contains("still here") && !s.contains("TOO SMALL")
    });
    let border = screen.lines().nth(2).unwrap_or("");
    assert_eq!(border.trim_end().chars().count(), 99, "{screen}");
}

#[test]
fn my_shares_lists_the_armed_share_and_revokes_it_after_a_confirmation() {
    let (server, _data) = server_with(&[], None);
    let (dir, key) = client_key();
    let tui = Tui::open(&server, &key, dir);
    tui.wait_text("NEW SHARE");
    tui.type_text("revoke me");
    tui.arm();
    let screen = tui.wait_text("WATCHING");
    let link = link_on(&screen);
    let handle = link.id().handle().to_string();

    tui.keys(&["l"]);
    tui.wait_for("the share listed as armed", |s| {
        s.lines()
            .any(|l| l.contains(&handle) && l.contains("ARMED"))
    });
    tui.keys(&["x"]);
    tui.wait_text("Y / N");
    tui.keys(&["y"]);
    tui.wait_for("the share listed as revoked", |s| {
        s.lines()
            .any(|l| l.contains(&handle) && l.contains("REVOKED"))
    });
    tui.keys(&["Escape"]);
    tui.wait_text("■ REVOKED  YOU REVOKED IT");
    tui.keys(&["q"]);
    assert!(tui.wait_text("SSH-EXIT=").contains("SSH-EXIT=0"));

    let data_dir = server.data_dir().to_owned();
    assert!(server.terminate().success());
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    let claim = shares
        .0
        .block_on(shares.1.claim(link.id(), link.key(), None));
    assert!(
        matches!(claim, Err(ShareError::Revoked { .. })),
        "{:?}",
        claim.err()
    );
}

#[test]
fn an_allow_listed_key_gets_the_interface_and_another_key_is_refused() {
    let (allowed_dir, allowed_key) = client_key();
    let list = allowed_dir.path().join("authorized_keys");
    std::fs::copy(allowed_key.with_extension("pub"), &list).unwrap();
    let (server, _data) = server_with(&["--ssh-authorized-keys", list.to_str().unwrap()], None);

    let tui = Tui::open(&server, &allowed_key, allowed_dir);
    tui.wait_text("NEW SHARE");

    let (other_dir, other_key) = client_key();
    let refused = Tui::open(&server, &other_key, other_dir);
    let screen = refused.wait_text("SSH-EXIT=");
    assert!(screen.contains("SSH-EXIT=255"), "{screen}");
    assert!(!screen.contains("ONETIMESHARE"), "{screen}");
}

#[test]
fn a_vanished_client_ends_its_session_and_frees_the_keys_slot() {
    let (server, _data) = server_with(&["--ssh-max-sessions-per-key", "1"], None);
    let (_key_dir, key) = client_key();
    let tui = Tui::open(&server, &key, temp_dir());
    tui.wait_text("NEW SHARE");
    tui.type_text("half-typed secret");
    tui.wait_text("half-typed secret");
    drop(tui); // kills tmux, and with it ssh: no goodbye, no EOF

    server.wait_for_log("tui session ended", Duration::from_secs(15));
    assert!(
        !server.log().contains("half-typed"),
        "pasted text leaked into the log"
    );

    let tui = Tui::open(&server, &key, temp_dir());
    tui.wait_text("NEW SHARE");
    tui.keys(&["C-d"]);
    assert!(tui.wait_text("SSH-EXIT=").contains("SSH-EXIT=0"));
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown.

#[test]
fn on_sigterm_the_screen_says_so_and_a_draft_armed_before_the_deadline_works() {
    let data = temp_dir();
    let mut server = TestServer::start(ServerOptions {
        data_dir: Some(data.path().join("data")),
        args: vec!["--shutdown-grace".into(), "60s".into()],
        metrics: true,
        ..ServerOptions::default()
    });
    let (_key_dir, key) = client_key();
    let tui = Tui::open(&server, &key, temp_dir());
    tui.wait_text("NEW SHARE");
    let live = support::Scrape::of(&server);
    assert_eq!(live.get("onetimeshare_ssh_sessions{kind=\"tui\"}"), 1.0);
    tui.type_text("armed in the nick of time");
    tui.wait_text("armed in the nick of time");

    server.send_sigterm();
    let screen = tui.wait_text("SERVER SHUTTING DOWN");
    assert!(screen.contains("ARM NOW OR YOUR DRAFT IS LOST"), "{screen}");
    assert!(screen.contains("s LEFT"), "{screen}");
    tui.arm();
    let screen = tui.wait_text("COPY YOUR LINK NOW");
    let link = link_on(&screen);
    // The link was never copied: q asks once, a second q quits.
    tui.keys(&["q"]);
    tui.wait_text("Q AGAIN QUITS");
    tui.keys(&["q"]);
    assert!(tui.wait_text("SSH-EXIT=").contains("SSH-EXIT=0"));

    // The TUI was the last work in flight: the server exits without waiting out the grace.
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "server exit status {status:?}");
    let shares = open_shares(&data.path().join("data"), MetaBackend::Embedded);
    assert_eq!(claim(&shares, &link, None), b"armed in the nick of time");
}

#[test]
fn a_session_still_open_at_the_shutdown_deadline_is_closed_with_a_reason_and_keeps_nothing() {
    let data = temp_dir();
    let mut server = TestServer::start(ServerOptions {
        data_dir: Some(data.path().join("data")),
        args: vec!["--shutdown-grace".into(), "5s".into()],
        ..ServerOptions::default()
    });
    let (_key_dir, key) = client_key();
    let tui = Tui::open(&server, &key, temp_dir());
    tui.wait_text("NEW SHARE");
    tui.type_text("a draft never armed");
    tui.wait_text("a draft never armed");

    server.send_sigterm();
    tui.wait_text("ARM NOW OR YOUR DRAFT IS LOST");
    let after = tui.wait_for("the session to end", |s| s.contains("SSH-EXIT="));
    assert!(after.contains("SSH-EXIT=1"), "{after}");
    assert!(
        after.contains("the server shut down and closed this session"),
        "{after}"
    );
    assert!(
        !after.contains("ONETIMESHARE"),
        "terminal restored:\n{after}"
    );
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "server exit status {status:?}");
    let blobs: Vec<_> = std::fs::read_dir(data.path().join("data").join("blobs"))
        .unwrap()
        .collect();
    assert!(blobs.is_empty(), "{blobs:?}");
    assert!(!server.log().contains("a draft never armed"));
}

#[test]
fn an_operator_opens_the_operator_screen_and_takes_a_share_down_others_cannot() {
    let (dir, key) = client_key();
    let admin_keys = dir.path().join("admin_keys");
    std::fs::copy(key.with_extension("pub"), &admin_keys).unwrap();
    let (server, _data) = server_with(&["--admin-keys", &admin_keys.display().to_string()], None);
    let sender = support::ssh_client::Client::new(&server);
    let upload = support::ssh_client::run(&mut sender.ssh_command_t(&[]), b"to be taken down");
    assert!(upload.status.success());
    let link = String::from_utf8(upload.stdout).unwrap().trim().to_owned();

    let tui = Tui::open(&server, &key, dir);
    tui.wait_text("NEW SHARE");
    tui.keys(&["C-o"]);
    let stats = tui.wait_text("LIVE SHARES  1");
    assert!(stats.contains("1 STATS"), "{stats}");
    assert!(stats.contains("STORE        EMBEDDED OK"), "{stats}");
    tui.keys(&["2"]);
    let shares = tui.wait_text("ARMED");
    // The owner's fingerprint, or its end when the column is narrower (as the header names keys).
    let fingerprint = sender.fingerprint();
    assert!(
        shares.contains(&fingerprint[fingerprint.len() - 20..]),
        "{shares}"
    );
    assert!(!shares.contains("to be taken down"));
    tui.keys(&["t"]);
    tui.wait_text("ITS CONTENT IS DELETED FOR GOOD");
    tui.keys(&["y"]);
    tui.wait_text("TAKEN DOWN");
    tui.wait_text("REMOVED");

    let status_page = link.split_once('#').unwrap().0;
    let out = Command::new(require_tool("curl", "curl"))
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", status_page])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "410");

    // The sender's key is no operator: CTRL-O does nothing on its screen.
    let (other_dir, other_key) = client_key();
    let other = Tui::open(&server, &other_key, other_dir);
    other.wait_text("NEW SHARE");
    other.keys(&["C-o", "C-l"]);
    let screen = other.wait_text("MY SHARES");
    assert!(!screen.contains("OPERATOR"), "{screen}");
}

// ---------------------------------------------------------------------------------------------
// Hostile input (issue #11, #12): a session may only ever slow its own screen.

/// Huge pastes are swallowed, not kept: the screen says so, the draft stays at its cap, and the
/// server's memory does not grow with what was pasted.
#[test]
fn huge_pastes_are_refused_with_a_clear_message_and_leave_the_servers_memory_flat() {
    let (server, _data) = server_with(&[], None);
    let (dir, key) = client_key();
    let files = temp_dir();
    // 16 MiB of short lines, the shape that cost the most: 3 of these used to add ~200 MiB.
    let huge = files.path().join("huge");
    std::fs::write(&huge, "ab\n".repeat((16 << 20) / 3)).unwrap();
    let tui = Tui::open(&server, &key, dir);
    tui.wait_text("NEW SHARE");
    let baseline = server.rss_bytes();

    for round in 1..=3 {
        tui.paste_file(&huge);
        let screen = tui.wait_text("PASTE TOO LARGE (16.0 MiB): 64.0 KiB MAX HERE · NOTHING ADDED");
        assert!(screen.contains("0 B / 64.0 KiB"), "round {round}: {screen}");
        assert!(
            screen.contains("LARGER: cat FILE | ssh 127.0.0.1"),
            "{screen}"
        );
        tui.type_text("x");
        tui.wait_text("1 B / 64.0 KiB");
        tui.keys(&["BSpace"]);
        tui.wait_text("0 B / 64.0 KiB");
    }
    // A paste of exactly the cap fits; one more key does not, and says so.
    let at_cap = files.path().join("at-cap");
    std::fs::write(&at_cap, "y".repeat(64 * 1024)).unwrap();
    tui.paste_file(&at_cap);
    tui.wait_text("64.0 KiB / 64.0 KiB");
    tui.type_text("z");
    let full = tui.wait_text("DRAFT FULL: 64.0 KiB MAX HERE · NOTHING ADDED");
    assert!(full.contains("64.0 KiB / 64.0 KiB"), "{full}");

    let grown = server.rss_bytes().saturating_sub(baseline);
    eprintln!(
        "server RSS: {} MiB before, +{} KiB after 3 × 16 MiB pastes",
        baseline >> 20,
        grown >> 10
    );
    assert!(
        grown < 24 << 20,
        "3 refused 16 MiB pastes grew the server by {} MiB (bound 24 MiB)",
        grown >> 20
    );
}

/// Deterministic noise: xorshift bytes without the quit keys (CTRL-C, CTRL-D, CTRL-Q, `q`), so the session reads all of
/// it instead of quitting at the first quit key (which would prove nothing).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend(
            seed.to_le_bytes()
                .into_iter()
                .filter(|b| !matches!(b, 0x03 | 0x04 | 0x11 | b'q')),
        );
    }
    out.truncate(len);
    out
}

/// `cat f | plink host` (plink and dbclient ask for a pty even for a pipe): binary bytes land in
/// the TUI as keystrokes, CTRL-S included — and must never arm a share.
#[test]
fn binary_noise_piped_through_a_pty_never_arms_a_share() {
    let server = TestServer::start(ServerOptions {
        metrics: true,
        ..ServerOptions::default()
    });
    let client = support::ssh_client::Client::new(&server);
    let gzip = require_tool("gzip", "gzip");
    let mut gzipped = Command::new(gzip)
        .args(["-c", "-9"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = gzipped.stdin.take().unwrap();
        let text: String = (0..20_000)
            .map(|i| format!("line {i} of a log file\n"))
            .collect();
        stdin.write_all(text.as_bytes()).unwrap();
    }
    let gzipped = gzipped.wait_with_output().unwrap().stdout;
    let gzipped: Vec<u8> = gzipped
        .into_iter()
        .filter(|b| !matches!(b, 0x03 | 0x04 | 0x11 | b'q'))
        .collect();
    let before = support::Scrape::of(&server);

    let mut streams = vec![gzipped];
    streams
        .extend((1..=4).map(|seed| noise(64 * 1024, 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(seed))));
    for (i, stream) in streams.iter().enumerate() {
        let ctrl_s = stream.iter().filter(|b| **b == 0x13).count();
        let out = support::ssh_client::run(&mut client.ssh_command_tty(&[]), stream);
        eprintln!(
            "stream {i}: {} bytes with {ctrl_s} CTRL-S, ssh exit {:?}",
            stream.len(),
            out.status.code()
        );
    }
    let log = server.log();
    let read_to_the_end = log
        .lines()
        .filter(|l| l.contains("tui session ended") && l.contains("reason=\"eof\""))
        .count();
    assert_eq!(
        read_to_the_end,
        streams.len(),
        "every stream was read to its end"
    );

    let after = support::Scrape::of(&server);
    let created = r#"onetimeshare_shares_total{event="created"}"#;
    assert_eq!(after.delta(&before, created), 0.0, "noise armed a share");
    let ls = support::ssh_client::run(&mut client.ssh_command_t(&["ls"]), b"");
    assert!(ls.status.success(), "{ls:?}");
    let listed = String::from_utf8_lossy(&ls.stdout).into_owned();
    assert!(
        listed.lines().count() <= 1,
        "the noise's key owns shares:\n{listed}"
    );
}

/// All drafts together stay under `--tui-draft-budget`: past it a session is told, keeps
/// nothing of the refused paste, and gets room again once another session gives its draft back.
#[test]
fn drafts_share_one_memory_budget_and_a_closed_session_gives_its_share_back() {
    let (server, _data) = server_with(&["--tui-draft-budget", "96KiB"], None);
    let files = temp_dir();
    let full = files.path().join("full");
    std::fs::write(&full, "f".repeat(64 * 1024)).unwrap();
    let big = files.path().join("big");
    std::fs::write(&big, "b".repeat(40 * 1024)).unwrap();

    let (dir, key) = client_key();
    let first = Tui::open(&server, &key, dir);
    first.wait_text("NEW SHARE");
    first.paste_file(&full);
    first.wait_text("64.0 KiB / 64.0 KiB");

    let (dir, key) = client_key();
    let second = Tui::open(&server, &key, dir);
    second.wait_text("NEW SHARE");
    second.paste_file(&big);
    let refused = second.wait_text("SERVER FULL: NO ROOM FOR MORE DRAFT TEXT · NOTHING ADDED");
    assert!(refused.contains("0 B / 64.0 KiB"), "{refused}");
    second.paste("small enough");
    second.wait_text("12 B / 64.0 KiB");

    first.keys(&["C-c"]);
    first.wait_text("SSH-EXIT=0");
    second.paste_file(&big);
    second.wait_text("40.0 KiB / 64.0 KiB");
}

#[test]
fn a_share_sealed_to_the_clients_key_shows_in_the_inbox_with_its_get_command_and_leaves_on_claim() {
    let (server, _data) = server_with(&[], None);
    let sender = support::ssh_client::Client::new(&server);
    let recipient = support::ssh_client::Client::new(&server);
    let tui = Tui::open(&server, &recipient.key, temp_dir());
    tui.wait_text("NEW SHARE");
    tui.keys(&["F2"]);
    let empty = tui.wait_text("NOTHING SEALED TO YOUR KEY YET");
    assert!(
        empty.contains("--to"),
        "the empty inbox says how to send:\n{empty}"
    );

    let to = recipient.public_key();
    let sent = support::ssh_client::run(
        &mut sender.ssh_command_t(&["--", "--to", to.trim(), "--name", "tui.env"]),
        b"API_KEY=sealed\n",
    );
    assert!(
        sent.status.success(),
        "{}",
        support::ssh_client::text(&sent.stderr)
    );
    let id = support::ssh_client::text(&sent.stdout).trim().to_owned();
    let from = sender.fingerprint();
    let port = server.ssh_addr.port();
    // The screen reloads on its own (once a second): no key needed.
    let screen = tui.wait_for("the sealed share in the inbox", |s| {
        s.lines()
            .any(|l| l.contains("tui.env") && l.contains(&from[..20]))
    });
    assert!(
        screen.contains(&format!("-p {port}")) && screen.contains(&format!("get {id} | age -d -i")),
        "the get command for the selected share, by its ID {id}, is on screen:\n{screen}"
    );

    // Claiming stays on the command line, with the command the screen showed; the inbox then
    // empties.
    let claimed = support::ssh_client::run(&mut recipient.ssh_command_t(&["get", &id]), b"");
    assert!(claimed.status.success());
    assert!(claimed.stdout.starts_with(b"age-encryption.org/v1"));
    tui.wait_text("NOTHING SEALED TO YOUR KEY YET");
    tui.keys(&["Escape"]);
    tui.wait_text("NEW SHARE");
    tui.keys(&["C-c"]);
    assert!(tui.wait_text("SSH-EXIT=").contains("SSH-EXIT=0"));
}
