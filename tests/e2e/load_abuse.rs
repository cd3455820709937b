//! Load abuse: hostile clients doing, at volume, what any client may do, while probes check the
//! product's promise that no client can hurt another — `/healthz`, a claim and an SSH upload
//! from someone else each answer within a second, the server's memory stays bounded, and
//! SIGTERM is still obeyed. Each scenario is its own section with its own functions; the probes
//! are shared (`support::probe`).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::probe::Rounds;
use crate::support::ssh_client::{Client, spawn_piped, text};
use crate::support::{ServerOptions, TestServer, probe};

/// What every probe must answer within, under abuse.
const LIVENESS: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// TUI sessions (issue #11 findings 1 and 2): big pastes of short lines, then thousands of keys.

/// One hostile `ssh -tt` session: it pastes `paste` bytes of short lines (bracketed, in pieces
/// the size a terminal sends) and then types `typed` characters in bursts, with its screen
/// output drained and thrown away.
struct Typist {
    child: Child,
    writer: Option<JoinHandle<()>>,
    reader: Option<JoinHandle<()>>,
}

impl Typist {
    fn start(client: &Client, paste: usize, typed: usize) -> Typist {
        let mut child = spawn_piped(&mut client.ssh_command_tty(&[]));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let reader = std::thread::spawn(move || {
            let mut sink = [0u8; 64 * 1024];
            while matches!(stdout.read(&mut sink), Ok(n) if n > 0) {}
        });
        let writer = std::thread::spawn(move || {
            // 16-byte lines: the shape whose per-key cost grew with the draft.
            let line = b"0123456789abcde\n";
            let piece: Vec<u8> = line.iter().copied().cycle().take(60 * 1024).collect();
            let mut sent = 0;
            while sent < paste {
                let mut bracketed = b"\x1b[200~".to_vec();
                bracketed.extend_from_slice(&piece);
                bracketed.extend_from_slice(b"\x1b[201~");
                if stdin.write_all(&bracketed).is_err() {
                    return;
                }
                sent += piece.len();
            }
            // Thousands of keys, 64 per write, with cursor moves so edits land mid-draft.
            let mut keys = Vec::new();
            for i in 0..typed {
                if i % 16 == 0 {
                    keys.extend_from_slice(b"\x1b[A");
                }
                keys.push(b'a' + (i % 26) as u8);
            }
            for burst in keys.chunks(64) {
                if stdin.write_all(burst).is_err() {
                    return;
                }
            }
        });
        Typist {
            child,
            writer: Some(writer),
            reader: Some(reader),
        }
    }

    /// True once every byte of the attack was handed to ssh.
    fn done_writing(&self) -> bool {
        self.writer.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for Typist {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Four sessions each paste 4 MiB of short lines and type 5000 characters. Before the fix this
/// kept every runtime worker busy for minutes: `/healthz`, claims and SSH logins hung.
#[test]
fn tui_sessions_pasting_and_typing_at_volume_never_stall_anyone_else() {
    const SESSIONS: usize = 4;
    const ROUNDS: usize = 8;
    let server = TestServer::start(ServerOptions {
        args: vec!["--shutdown-grace".into(), "2s".into()],
        log_level: Some("info".into()),
        ..ServerOptions::default()
    });
    let bystander = Client::new(&server);
    let secret = b"the bystander's secret".to_vec();
    let links: Vec<String> = (0..ROUNDS)
        .map(|_| probe::share(&bystander, &secret))
        .collect();
    let baseline = server.rss_bytes();
    let cpu_before = cpu_time(server.pid());

    let attackers: Vec<Client> = (0..SESSIONS).map(|_| Client::new(&server)).collect();
    let typists: Vec<Typist> = attackers
        .iter()
        .map(|client| Typist::start(client, 4 << 20, 5000))
        .collect();
    // Let every session get its screen and start pasting before the first probe.
    server.wait_for_log("tui session started", Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(500));

    let mut peak = baseline;
    let mut slowest = ("none", Duration::ZERO);
    let mut rounds = 0;
    let started = Instant::now();
    while rounds < ROUNDS || !typists.iter().all(Typist::done_writing) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the attack was still being read after 2 minutes"
        );
        let link = &links[rounds.min(ROUNDS - 1)];
        let mut probes = vec![probe::healthz(&server)];
        if rounds < ROUNDS {
            probes.push(probe::claim(link, &secret));
        }
        probes.push(probe::ssh_upload(&bystander, b"probe"));
        for probe in probes {
            probe.assert_within(LIVENESS);
            if probe.took > slowest.1 {
                slowest = (probe.what, probe.took);
            }
        }
        peak = peak.max(server.rss_bytes());
        rounds += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "server CPU used under the attack: {:?}",
        cpu_time(server.pid()).saturating_sub(cpu_before)
    );
    eprintln!(
        "{rounds} probe rounds over {:?}, slowest answer {:?} ({}); \
         server RSS {} MiB before, peak +{} KiB",
        started.elapsed(),
        slowest.1,
        slowest.0,
        baseline >> 20,
        peak.saturating_sub(baseline) >> 10
    );
    // 4 sessions × (a 64 KiB draft + a paste in flight) and the probes' own connections.
    assert!(
        peak.saturating_sub(baseline) < 48 << 20,
        "RSS grew by {} MiB under the attack (bound 48 MiB)",
        peak.saturating_sub(baseline) >> 20
    );

    // The runtime is not starved: SIGTERM is obeyed with the sessions still open.
    let mut server = server;
    server.send_sigterm();
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    drop(typists);
}

/// User + system CPU time the process has used so far (`/proc/<pid>/stat`).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}

// ---------------------------------------------------------------------------------------------
// Idle and slow connections: HTTP/2 connections that make no request, SSH connections that open
// no session, uploads that trickle. All up to the per-address caps, from other addresses.
// ---------------------------------------------------------------------------------------------

/// A TCP connection from `source` (another loopback address: a client of its own).
fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(format!("{source}:0").parse().unwrap())
            .expect("bind a loopback source address");
        let stream = socket.connect(to).await.expect("connect");
        stream.into_std().unwrap()
    })
}

/// An h2c connection that says hello and then nothing.
fn idle_h2c(source: &str, to: SocketAddr) -> TcpStream {
    let mut tcp = connect_from(source, to);
    tcp.set_nonblocking(false).unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap();
    tcp
}

/// True once the server has closed `tcp` (it may send a GOAWAY first).
fn closed_by_server(tcp: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    tcp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match tcp.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// `ssh -N -b SOURCE host`: authenticates, opens nothing, sends keepalives.
fn idle_ssh(client: &Client, source: &str) -> Child {
    let mut cmd = client.ssh_command_t(&[]);
    cmd.args(["-N", "-b", source, "-o", "ServerAliveInterval=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("ssh")
}

/// An upload from `source` whose producer writes one byte every `every`, until told to stop.
fn slow_upload(
    client: &Client,
    source: &str,
    every: Duration,
) -> (Child, std::sync::mpsc::Sender<()>) {
    let mut cmd = client.ssh_command_t(&[]);
    cmd.args(["-b", source])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("ssh");
    let mut stdin = child.stdin.take().unwrap();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        while stopped.recv_timeout(every).is_err() {
            if stdin.write_all(b"x").is_err() {
                return;
            }
        }
        // Dropping stdin is EOF: the upload finishes.
    });
    (child, stop)
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn idle_and_slow_connections_up_to_the_caps_neither_stall_others_nor_live_for_ever() {
    const IDLE: Duration = Duration::from_secs(3);
    let server = TestServer::start(ServerOptions {
        args: [
            "--ssh-idle-timeout",
            "3s",
            "--http-idle-timeout",
            "3s",
            "--ssh-max-connections-per-ip",
            "12",
            // The probe's claims are not what is under test here.
            "--claims-per-minute",
            "0",
        ]
        .map(String::from)
        .to_vec(),
        ..ServerOptions::default()
    });
    let mut probe = Rounds::new(&server, 30);
    // Each abusive connection has a key of its own (the per-key cap is another limit).
    let abusers: Vec<Client> = (0..18).map(|_| Client::new(&server)).collect();

    // HTTP/2: a full per-client quota of idle connections from each of two addresses.
    let mut h2: Vec<TcpStream> = ["127.0.0.2", "127.0.0.3"]
        .iter()
        .flat_map(|source| (0..64).map(move |_| *source))
        .map(|source| idle_h2c(source, server.http_addr))
        .collect();
    // SSH: a full per-address quota of connections with no session, and slow uploads.
    let mut idle: Vec<Child> = (0..12)
        .map(|i| idle_ssh(&abusers[i], "127.0.0.4"))
        .collect();
    let mut slow: Vec<(Child, _)> = (0..6)
        .map(|i| slow_upload(&abusers[12 + i], "127.0.0.5", Duration::from_millis(500)))
        .collect();

    // While they hold all that, another client is served within a second, every time.
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < IDLE * 2 {
        match probe.check(Duration::from_secs(1)) {
            Ok(times) => eprintln!("round {rounds}: {times:?}"),
            Err(why) => panic!("round {rounds}: {why}"),
        }
        rounds += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(rounds >= 3, "only {rounds} probe rounds ran");

    // Idle slots do not live for ever: every idle connection was closed by the server...
    for (i, tcp) in h2.iter_mut().enumerate() {
        assert!(
            closed_by_server(tcp, IDLE * 3),
            "idle h2c connection {i} still open"
        );
    }
    for (i, child) in idle.iter_mut().enumerate() {
        assert!(
            wait_exit(child, IDLE * 3).is_some(),
            "ssh connection {i} with no session still open"
        );
    }
    // ...while uploads that make progress, however slowly, go on and are stored.
    for (child, stop) in &mut slow {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            panic!("a slow but moving upload ended ({status}): {stderr}");
        }
        stop.send(()).unwrap();
    }
    for (child, _) in slow {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("/s/"));
    }
    probe
        .check(Duration::from_secs(1))
        .expect("after the abuse");
}
