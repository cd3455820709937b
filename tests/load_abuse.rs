//! Load abuse: hostile or careless clients hold as much as the limits let them, while a probe
//! from another address checks that `/healthz`, a claim and an SSH upload each still answer
//! within one second (tests/support/probe.rs). Each scenario is its own function.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::probe::Probe;
use support::ssh_client::{Client, text};
use support::{ServerOptions, TestServer};

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
    let mut probe = Probe::new(&server, 30);
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
