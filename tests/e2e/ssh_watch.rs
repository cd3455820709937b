//! `ssh HOST watch [--json]` with the real OpenSSH client: one line per receipt event for the
//! caller's own shares — the armed ones first, then arms, claims (also on another instance
//! behind the same Redis), revokes and expiries as they happen — with stdin at EOF from the
//! start, as scripts run it. Keyless sessions are refused; a dropped watcher leaves no session
//! behind; a shutdown ends the watch with a reason and a non-zero status.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::ssh_client::{Client, run, text};
use crate::support::{RedisServer, Scrape, ServerOptions, TestServer, curl_claim, temp_dir};

/// How long a test waits for a line before it calls the watch hung (a guard, not a measure).
const HANG: Duration = Duration::from_secs(60);

const WATCH_GAUGE: &str = "onetimeshare_ssh_sessions{kind=\"watch\"}";

/// A running `ssh HOST watch ARGS < /dev/null`, its stdout read line by line on a thread.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    fn start(client: &Client, args: &[&str]) -> Watch {
        let mut all = vec!["watch"];
        all.extend_from_slice(args);
        let mut child = client
            .ssh_command_t(&all)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run the OpenSSH client");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(HANG)
            .expect("watch printed no line (or ended)")
    }

    /// The next `--json` line, parsed.
    fn next_event(&self) -> serde_json::Value {
        let line = self.next_line();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    fn finish(mut self) -> (Option<i32>, String) {
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (self.child.wait().unwrap().code(), err)
    }
}

/// `ssh HOST -- --json ARGS < content`: the upload's JSON object (link, id).
fn upload(client: &Client, args: &[&str], content: &[u8]) -> serde_json::Value {
    let mut all = vec!["--", "--json"];
    all.extend_from_slice(args);
    let out = run(&mut client.ssh_command_t(&all), content);
    assert!(out.status.success(), "upload failed: {}", text(&out.stderr));
    serde_json::from_str(text(&out.stdout).trim()).unwrap()
}

fn assert_event(event: &serde_json::Value, what: &str, id: &str) {
    assert_eq!(event["event"], what, "{event}");
    assert_eq!(event["id"], id, "{event}");
}

#[test]
fn watch_json_sees_arms_a_claim_on_another_instance_a_revoke_and_an_expiry() {
    let redis = RedisServer::start();
    let dir = temp_dir();
    let options = ServerOptions {
        redis_url: Some(redis.url()),
        data_dir: Some(dir.path().join("data")),
        args: ["--min-ttl", "1s", "--sweep-interval", "1s"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..ServerOptions::default()
    };
    let a = TestServer::start(options.clone());
    let b = TestServer::start(options);
    let mut client = Client::new(&a);
    let before = upload(&client, &[], b"armed before the watch");
    let before_id = before["id"].as_str().unwrap();

    // Watching on A, stdin at EOF from the start: the starting state first.
    let watch = Watch::start(&client, &["--json"]);
    let first = watch.next_event();
    assert_event(&first, "armed", before_id);
    assert_eq!(first["kind"], "text");
    assert!(first["stored_bytes"].as_u64().unwrap() > 0, "{first}");
    for key in ["at", "expires_at"] {
        let at = first[key].as_str().unwrap();
        assert!(
            at.starts_with("20") && at.ends_with('Z') && at.contains('T'),
            "{first}"
        );
    }

    // Everything else happens on instance B.
    client.connect_to(&b);
    let claimed = upload(&client, &[], b"claimed on b");
    let id = claimed["id"].as_str().unwrap();
    assert_event(&watch.next_event(), "armed", id);
    let link = claimed["link"].as_str().unwrap();
    assert!(link.starts_with(&b.http_url()), "{link}");
    assert_eq!(text(&curl_claim(link, &[]).stdout), "claimed on b");
    let opened = watch.next_event();
    assert_event(&opened, "opened", id);
    assert!(
        !serde_json::to_string(&opened)
            .unwrap()
            .contains(link.split_once('#').unwrap().1),
        "no key in an event"
    );

    let revoked = upload(&client, &[], b"revoked on b");
    let id = revoked["id"].as_str().unwrap();
    assert_event(&watch.next_event(), "armed", id);
    let out = run(&mut client.ssh_command_t(&["revoke", id]), b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_event(&watch.next_event(), "revoked", id);

    let short = upload(&client, &["--ttl", "4s"], b"nobody opens this");
    let id = short["id"].as_str().unwrap();
    assert_event(&watch.next_event(), "armed", id);
    let expired = watch.next_event();
    assert_event(&expired, "expired", id);
    assert_eq!(expired["at"], expired["expires_at"], "{expired}");

    // Still watching: stdin's EOF ended nothing.
    let mut watch = watch;
    assert!(watch.child.try_wait().unwrap().is_none(), "watch ended");
    watch.child.kill().unwrap();
    let _ = watch.child.wait();
}

#[test]
fn a_keyless_session_is_refused() {
    let server = TestServer::start(ServerOptions {
        args: vec!["--ssh-allow-keyless".into()],
        ..ServerOptions::default()
    });
    let client = Client::keyless(&server);
    let out = run(&mut client.keyless_command_t(&["watch"]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "watch needs an SSH key: keyless sessions have no shares to watch\n"
    );
}

#[test]
fn a_dropped_watcher_leaves_no_session_behind() {
    let server = TestServer::start(ServerOptions {
        metrics: true,
        log_level: Some("debug".into()),
        ..ServerOptions::default()
    });
    let client = Client::new(&server);
    let share = upload(&client, &[], b"watched in text");
    let mut watch = Watch::start(&client, &[]);
    // The text line: time (`2026-11-23 09:34:40 UTC`), event, id, kind, size (`78 B`).
    let line = watch.next_line();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.len(), 8, "{line}");
    assert!(words[0].starts_with("20") && words[2] == "UTC", "{line}");
    assert_eq!(
        words[3..6],
        ["armed", share["id"].as_str().unwrap(), "text"],
        "{line}"
    );
    assert_eq!(words[7], "B", "{line}");
    assert_eq!(Scrape::of(&server).get(WATCH_GAUGE), 1.0);

    watch.child.kill().unwrap();
    let _ = watch.child.wait();
    server.wait_for_log("client left while watching", HANG);
    let deadline = Instant::now() + HANG;
    while Scrape::of(&server).get(WATCH_GAUGE) != 0.0 {
        assert!(Instant::now() < deadline, "the watch session stayed open");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_shutdown_ends_the_watch_with_a_reason_and_a_non_zero_status() {
    let mut server = TestServer::start(ServerOptions {
        log_level: Some("debug".into()),
        ..ServerOptions::default()
    });
    let client = Client::new(&server);
    let share = upload(&client, &[], b"watched until shutdown");
    let watch = Watch::start(&client, &["--json"]);
    assert_event(&watch.next_event(), "armed", share["id"].as_str().unwrap());
    server.send_sigterm();
    let (code, err) = watch.finish();
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("the server is shutting down"), "{err}");
    assert!(server.wait_exit(HANG).success());
}
