//! Every connection slot has a bounded life, and storage has quotas: the real binary against
//! real clients (OpenSSH, curl, and a raw HTTP/2 client on a TCP socket, which is the simplest
//! way to hold an h2c connection open and answer the server's PINGs). Time bounds here are
//! liveness bounds (a connection must be closed *at all* well before the old behaviour would),
//! never speed thresholds.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::ssh_client::{Client, run, text};
use crate::support::{RedisServer, ServerOptions, TestServer, curl, curl_claim};

fn server_with(args: &[&str]) -> TestServer {
    TestServer::start(ServerOptions {
        args: args.iter().map(|s| s.to_string()).collect(),
        ..ServerOptions::default()
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP: idle and old connections close; a trusted proxy is not one client.
// ---------------------------------------------------------------------------------------------

/// What a live but idle HTTP/2 client saw before the server closed its connection.
struct H2Ending {
    goaway: bool,
    after: Duration,
}

/// Opens an h2c connection (prior knowledge), makes no request, acknowledges the server's
/// SETTINGS and answers its PINGs — and sends PINGs of its own every `ping_every` — until the
/// server closes the connection; panics if it is still open after `give_up`.
fn idle_h2c_client(server: &TestServer, ping_every: Duration, give_up: Duration) -> H2Ending {
    let mut tcp = TcpStream::connect(server.http_addr).expect("connect");
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    tcp.write_all(&frame(4, 0, &[])).unwrap();
    tcp.set_read_timeout(Some(ping_every)).unwrap();
    let started = Instant::now();
    let mut goaway = false;
    let mut last_ping = Instant::now();
    loop {
        assert!(
            started.elapsed() < give_up,
            "the idle HTTP/2 connection was still open after {give_up:?}"
        );
        if last_ping.elapsed() >= ping_every {
            last_ping = Instant::now();
            if tcp.write_all(&frame(6, 0, &[7; 8])).is_err() {
                break;
            }
        }
        let mut head = [0u8; 9];
        match tcp.read_exact(&mut head) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => break,
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        if tcp.read_exact(&mut payload).is_err() {
            break;
        }
        tcp.set_read_timeout(Some(ping_every)).unwrap();
        let (kind, flags) = (head[3], head[4]);
        let ack = match (kind, flags & 1) {
            (4, 0) => Some(frame(4, 1, &[])),
            (6, 0) => Some(frame(6, 1, &payload)),
            _ => None,
        };
        goaway |= kind == 7;
        if let Some(ack) = ack
            && tcp.write_all(&ack).is_err()
        {
            break;
        }
    }
    H2Ending {
        goaway,
        after: started.elapsed(),
    }
}

/// An HTTP/2 frame on stream 0.
fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags, 0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}

#[test]
fn an_idle_h2c_connection_that_answers_pings_is_closed_after_the_idle_timeout() {
    let server = server_with(&["--http-idle-timeout", "1s"]);
    // The server's own keep-alive PINGs come every 30 s and are answered: before, such a
    // connection stayed open for ever.
    let ending = idle_h2c_client(&server, Duration::from_millis(200), Duration::from_secs(15));
    assert!(ending.goaway, "closed without a GOAWAY");
    assert!(
        ending.after >= Duration::from_secs(1),
        "closed before the timeout: {:?}",
        ending.after
    );
    // The server is fine, and HTTP/2 requests are still served.
    let out = curl(&[
        "--http2-prior-knowledge",
        "-f",
        &format!("{}/healthz", server.http_url()),
    ]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn an_h2c_connection_is_closed_at_its_maximum_age_however_busy_with_pings() {
    let server = server_with(&[
        "--http-idle-timeout",
        "1h",
        "--http-max-connection-age",
        "2s",
    ]);
    let ending = idle_h2c_client(&server, Duration::from_millis(200), Duration::from_secs(15));
    assert!(ending.goaway, "closed without a GOAWAY");
    assert!(ending.after >= Duration::from_secs(2), "{:?}", ending.after);
}

/// `curl` for `path` as a client forwarded by the proxy (this test is the proxy): the status.
fn status_for(server: &TestServer, client: &str, path: &str) -> (u16, String) {
    let out = curl(&[
        "-s",
        "-H",
        &format!("X-Forwarded-For: {client}"),
        "-w",
        "\n%{http_code}",
        &format!("{}{path}", server.http_url()),
    ]);
    let body = text(&out.stdout);
    let (body, code) = body.rsplit_once('\n').unwrap_or(("", "000"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// A claim whose body never comes: the request is in flight until the body timeout.
fn hung_request(server: &TestServer, client: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(server.http_addr).unwrap();
    write!(
        tcp,
        "POST /s/abcdabcdabcd HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: {client}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 64\r\n\r\n"
    )
    .unwrap();
    tcp
}

fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn behind_a_trusted_proxy_the_per_client_cap_counts_forwarded_clients_not_the_proxy() {
    // The default caps: 64 per client.
    const PER_CLIENT: usize = 64;
    let server = server_with(&["--trusted-proxies", "127.0.0.1"]);
    // The proxy (us, on 127.0.0.1) holds more connections than one client may: before, every
    // connection past the 64th was closed at accept, for every client behind the proxy.
    let _proxy_connections: Vec<TcpStream> = (0..PER_CLIENT + 6)
        .map(|_| TcpStream::connect(server.http_addr).unwrap())
        .collect();
    assert_eq!(status_for(&server, "203.0.113.1", "/healthz").0, 200);

    // One forwarded client with 64 requests in flight is at its cap; others are not.
    let held: Vec<TcpStream> = (0..PER_CLIENT)
        .map(|_| hung_request(&server, "203.0.113.7"))
        .collect();
    let mut refused = (0, String::new());
    assert!(
        eventually(Duration::from_secs(5), || {
            refused = status_for(&server, "203.0.113.7", "/healthz");
            refused.0 == 503
        }),
        "a third request of a client at its cap was answered {}",
        refused.0
    );
    assert!(
        refused
            .1
            .to_lowercase()
            .contains("too many requests in flight"),
        "{}",
        refused.1
    );
    assert_eq!(status_for(&server, "203.0.113.8", "/healthz").0, 200);
    drop(held);
    assert!(
        eventually(Duration::from_secs(5), || status_for(
            &server,
            "203.0.113.7",
            "/healthz"
        )
        .0 == 200),
        "the client's slots did not come back when its requests ended"
    );
}

// ---------------------------------------------------------------------------------------------
// File descriptors: the soft limit is raised; caps that cannot fit are lowered, loudly.
// ---------------------------------------------------------------------------------------------

/// (soft, hard) "Max open files" of a process.
fn open_files_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

#[test]
fn the_open_files_soft_limit_is_raised_to_the_hard_limit_at_start_up() {
    let hard = Command::new("sh")
        .args(["-c", "ulimit -H -n"])
        .output()
        .expect("sh");
    let hard = text(&hard.stdout).trim().to_owned();
    assert_ne!(
        hard, "1024",
        "this test needs a hard open-files limit above 1024"
    );
    let server = TestServer::start(ServerOptions {
        ulimit: Some("-S -n 1024".into()),
        ..ServerOptions::default()
    });
    let (soft, hard_seen) = open_files_limit(server.pid());
    assert_eq!(
        hard_seen, hard,
        "the harness started it under the machine's hard limit"
    );
    assert_eq!(soft, hard, "the soft limit was not raised");
}

#[test]
fn caps_that_do_not_fit_the_open_files_limit_are_lowered_with_a_clear_log_line() {
    let server = TestServer::start(ServerOptions {
        ulimit: Some("-n 1024".into()),
        ..ServerOptions::default()
    });
    server.wait_for_log("the open-files limit is too low", Duration::from_secs(5));
    let log = server.log();
    assert!(
        log.contains("ulimit -Hn"),
        "the line says what to raise: {log}"
    );
    let out = curl(&["-f", &format!("{}/healthz", server.http_url())]);
    assert!(out.status.success(), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// SSH: no progress, no slot.
// ---------------------------------------------------------------------------------------------

/// Unfinished uploads in the blob directory (the fs store writes `.tmp-<name>` first).
fn temp_files(server: &TestServer) -> Vec<String> {
    std::fs::read_dir(server.data_dir().join("blobs"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// `sleep 60 | ssh host` (keepalives every second): the upload waits for data that never comes.
fn idle_pipe(client: &Client) -> (Output, Duration) {
    let started = Instant::now();
    let mut ssh = client.ssh_command_t(&[]);
    ssh.args(["-o", "ServerAliveInterval=1"]);
    let sleeper = Command::new("sleep")
        .arg("60")
        .stdout(Stdio::piped())
        .spawn()
        .expect("sleep");
    let mut sleeper = sleeper;
    let stdin = sleeper.stdout.take().expect("sleep's stdout");
    let out = ssh
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("ssh");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    (out, started.elapsed())
}

#[test]
fn an_upload_with_no_data_is_dropped_after_the_idle_timeout_despite_keepalives() {
    let server = server_with(&["--ssh-idle-timeout", "2s"]);
    let client = Client::new(&server);
    let (out, took) = idle_pipe(&client);
    assert!(
        took < Duration::from_secs(30),
        "the idle upload held its connection for {took:?}"
    );
    assert!(!out.status.success(), "exit status {:?}", out.status);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no data for 2s: the upload was dropped; nothing was stored"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no link: {}", text(&out.stdout));
    assert!(
        eventually(Duration::from_secs(5), || temp_files(&server).is_empty()),
        "temp files left: {:?}",
        temp_files(&server)
    );
}

#[test]
fn a_connection_that_authenticates_and_opens_nothing_is_closed_after_the_idle_timeout() {
    let server = server_with(&["--ssh-idle-timeout", "2s"]);
    let client = Client::new(&server);
    let mut ssh = client.ssh_command_t(&[]);
    ssh.args(["-N", "-o", "ServerAliveInterval=1", "-o", "LogLevel=INFO"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = ssh.spawn().expect("ssh");
    // Before, it stayed connected for as long as keepalives were answered: for ever.
    let closed = eventually(Duration::from_secs(30), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !closed {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("ssh");
    assert!(
        closed,
        "a connection with no session was still open after 30s"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no session open for 2s"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Quotas: per key and per address, across instances on one Redis, released on claim.
// ---------------------------------------------------------------------------------------------

fn pipe_upload(client: &Client, body: &[u8]) -> Output {
    run(&mut client.ssh_command_t(&[]), body)
}

#[test]
fn a_keys_quota_holds_across_two_instances_on_one_redis_and_a_claim_releases_it() {
    let redis = RedisServer::start();
    // Two instances of one deployment: one Redis, one blob directory.
    let data = support::temp_dir();
    let options = ServerOptions {
        redis_url: Some(redis.url()),
        data_dir: Some(data.path().join("data")),
        args: vec!["--quota-shares-per-key".into(), "2".into()],
        ..ServerOptions::default()
    };
    let a = TestServer::start(options.clone());
    let b = TestServer::start(options);
    let mut client = Client::new(&a);
    let first = pipe_upload(&client, b"one");
    assert!(first.status.success(), "{}", text(&first.stderr));
    client.connect_to(&b);
    let second = pipe_upload(&client, b"two");
    assert!(second.status.success(), "{}", text(&second.stderr));
    client.connect_to(&a);
    let third = pipe_upload(&client, b"three");
    assert!(!third.status.success());
    let stderr = text(&third.stderr);
    assert!(
        stderr.contains("quota: 2 shares") && stderr.contains("for this key"),
        "{stderr}"
    );
    assert!(stderr.contains("revoke"), "{stderr}");
    assert!(third.stdout.is_empty());

    // Claiming one (on the other instance) gives its slot back.
    let link = text(&first.stdout).trim().to_owned();
    let claimed = curl_claim(&link.replace(&a.http_url(), &b.http_url()), &["-f"]);
    assert!(claimed.status.success(), "{claimed:?}");
    let again = pipe_upload(&client, b"three");
    assert!(again.status.success(), "{}", text(&again.stderr));
}

#[test]
fn an_address_quota_counts_every_key_from_that_address() {
    let server = server_with(&[
        "--quota-shares-per-address",
        "100",
        "--quota-bytes-per-address",
        "64KiB",
    ]);
    let alice = Client::new(&server);
    let bob = Client::new(&server);
    let big = vec![b'x'; 40 * 1024];
    let first = pipe_upload(&alice, &big);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let second = pipe_upload(&bob, &big);
    assert!(
        !second.status.success(),
        "bob's upload went over the address quota"
    );
    let stderr = text(&second.stderr);
    assert!(stderr.contains("for your address"), "{stderr}");
    assert!(
        eventually(Duration::from_secs(5), || temp_files(&server).is_empty()),
        "temp files left: {:?}",
        temp_files(&server)
    );
}

// ---------------------------------------------------------------------------------------------
// Rate limits across instances: one Redis, one rate per client, however many replicas.
// ---------------------------------------------------------------------------------------------

/// Two instances of one deployment on one Redis, with `args`.
fn two_replicas(redis: &RedisServer, args: &[&str]) -> (tempfile::TempDir, TestServer, TestServer) {
    let data = support::temp_dir();
    let options = ServerOptions {
        redis_url: Some(redis.url()),
        data_dir: Some(data.path().join("data")),
        args: args.iter().map(|s| s.to_string()).collect(),
        ..ServerOptions::default()
    };
    let a = TestServer::start(options.clone());
    let b = TestServer::start(options);
    (data, a, b)
}

#[test]
fn a_client_claiming_through_two_instances_on_one_redis_gets_its_claim_rate_once() {
    let redis = RedisServer::start();
    // A burst of 4, refilled at one a minute.
    let (_data, a, b) = two_replicas(&redis, &["--claims-per-minute", "1", "--claim-burst", "4"]);
    let mut allowed = 0;
    for i in 0..8 {
        let server = if i % 2 == 0 { &a } else { &b };
        let url = format!("{}/s/AAAAAAAAAAAAAAAAAAAAAA", server.http_url());
        let reply = support::request(&["-X", "POST", "-d", "key=x", &url]);
        if reply.status != 429 {
            allowed += 1;
        }
    }
    // Per process, each instance would let 4 through (8 in all). One token may refill if this
    // test is slower than a minute.
    assert!(
        (4..=5).contains(&allowed),
        "{allowed} of 8 claims passed the rate limit of 4 across both instances"
    );
}

#[test]
fn a_key_uploading_through_two_instances_on_one_redis_gets_its_upload_rate_once() {
    let redis = RedisServer::start();
    let (_data, a, b) = two_replicas(&redis, &["--ssh-uploads-per-minute", "2"]);
    let mut client = Client::new(&a);
    let mut uploaded = 0;
    for i in 0..4 {
        client.connect_to(if i % 2 == 0 { &a } else { &b });
        let out = pipe_upload(&client, b"rate");
        if out.status.success() {
            uploaded += 1;
        } else {
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains("upload rate limit: at most 2 uploads per minute"),
                "{stderr}"
            );
        }
    }
    // Within one minute; per process each instance would have allowed 2 (4 in all).
    assert_eq!(uploaded, 2, "uploads allowed across both instances");
}
