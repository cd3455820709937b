//! Live receipts (`ssh HOST -- --wait < f`) with the real OpenSSH client: the link comes out
//! on stdout at once, then the session stays open until the share ends, says how on stderr
//! and in the exit status — 0 opened (also when the claim happened on another instance behind
//! the same Redis), 3 expired, 4 revoked; a client that drops the connection leaves the
//! server with nothing to do for it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};

use crate::support::ssh_client::{Client, run, text};
use crate::support::{RedisServer, ServerOptions, TestServer, curl_claim, temp_dir};

/// Starts `ssh HOST -- --wait ARGS` with `secret` on stdin and returns the child and the first
/// stdout line (the link, or the JSON object with `--json`), printed before any wait.
fn start_wait(client: &Client, args: &[&str], secret: &[u8]) -> (Child, String) {
    let mut all = vec!["--", "--wait"];
    all.extend_from_slice(args);
    let mut child = client
        .ssh_command_t(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the OpenSSH client");
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().unwrap();
        input.write_all(secret).unwrap();
    }
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    (child, first.trim().to_owned())
}

fn finish(mut child: Child) -> (Option<i32>, String) {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), err)
}

#[test]
fn wait_reports_a_claim_made_on_another_instance_and_exits_0() {
    let redis = RedisServer::start();
    let dir = temp_dir();
    let options = ServerOptions {
        redis_url: Some(redis.url()),
        data_dir: Some(dir.path().join("data")),
        log_level: Some("debug".into()),
        ..ServerOptions::default()
    };
    let a = TestServer::start(options.clone());
    let b = TestServer::start(options);
    let client = Client::new(&a);
    let (child, link) = start_wait(&client, &[], b"live receipt");
    assert!(link.contains("/s/"), "{link}");
    let on_b = link.replace(&a.http_url(), &b.http_url());
    assert_ne!(on_b, link, "the claim must go to the other instance");
    let claimed = curl_claim(&on_b, &[]);
    assert_eq!(text(&claimed.stdout), "live receipt");
    let (code, err) = finish(child);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("\nopened at 20"), "{err}");
    assert!(
        !err.contains(link.split_once('#').unwrap().1),
        "no key on stderr"
    );
}

#[test]
fn wait_exits_3_when_the_share_expires_and_4_when_it_is_revoked() {
    let server = TestServer::start(ServerOptions {
        args: ["--min-ttl", "1s", "--sweep-interval", "1s"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        log_level: Some("debug".into()),
        ..ServerOptions::default()
    });
    let client = Client::new(&server);

    let (child, _) = start_wait(&client, &["--ttl", "1s"], b"nobody opens this");
    let (code, err) = finish(child);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("expired unopened at 20"), "{err}");

    let (child, json) = start_wait(&client, &["--json"], b"revoke me");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let id = value["id"].as_str().unwrap().to_owned();
    let revoked = run(&mut client.ssh_command_t(&["revoke", &id]), b"");
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let (code, err) = finish(child);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("revoked by its sender at 20"), "{err}");

    let (child, _) = start_wait(&client, &["--wait-timeout", "1s"], b"still armed");
    let (code, err) = finish(child);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("--wait-timeout"), "{err}");
}

#[test]
fn a_dropped_wait_leaves_nothing_waiting_on_the_server() {
    let server = TestServer::start(ServerOptions {
        log_level: Some("debug".into()),
        ..ServerOptions::default()
    });
    let client = Client::new(&server);
    let (mut child, link) = start_wait(&client, &[], b"abandoned");
    assert!(link.contains("/s/"), "{link}");
    child.kill().unwrap();
    let _ = child.wait();
    server.wait_for_log(
        "client left while waiting for a receipt",
        std::time::Duration::from_secs(30),
    );
    // The share itself is untouched: still claimable once.
    let claimed = curl_claim(&link, &[]);
    assert_eq!(text(&claimed.stdout), "abandoned");
}
