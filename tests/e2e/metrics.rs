//! `/metrics` end to end: the real binary with `--metrics-addr`, real `ssh` uploads, real `curl`
//! claims and scrapes. Each test scrapes before and after one action and asserts the exact
//! deltas — counters, byte totals, the claim histogram, the live-session gauge.

use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::support::ssh_client::{Client, run, spawn_piped};
use crate::support::{Scrape, ServerOptions, TestServer, curl, curl_claim};

fn server_with(args: &[&str]) -> TestServer {
    TestServer::start(ServerOptions {
        metrics: true,
        args: args.iter().map(|s| s.to_string()).collect(),
        ..ServerOptions::default()
    })
}

const CREATED: &str = "onetimeshare_shares_total{event=\"created\"}";
const CLAIMED: &str = "onetimeshare_shares_total{event=\"claimed\"}";
const LOCKED: &str = "onetimeshare_shares_total{event=\"locked\"}";
const REVOKED: &str = "onetimeshare_shares_total{event=\"revoked\"}";
const EXPIRED: &str = "onetimeshare_shares_total{event=\"expired\"}";
const UPLOADED: &str = "onetimeshare_uploaded_bytes_total";
const SERVED: &str = "onetimeshare_served_bytes_total";
const CLAIM_COUNT: &str = "onetimeshare_claim_duration_seconds_count";
const CLAIM_SUM: &str = "onetimeshare_claim_duration_seconds_sum";
const CLAIM_INF: &str = "onetimeshare_claim_duration_seconds_bucket{le=\"+Inf\"}";

fn pipe_gauge(scrape: &Scrape) -> f64 {
    scrape.get("onetimeshare_ssh_sessions{kind=\"pipe\"}")
}

/// Scrapes until `check` holds; panics with the last scrape after 15 s.
fn scrape_until(server: &TestServer, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let scrape = Scrape::of(server);
        if check(&scrape) {
            return scrape;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            scrape.text
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn link_of(out: &std::process::Output) -> String {
    assert!(out.status.success(), "upload failed: {out:?}");
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim_end()
        .to_owned()
}

/// `--json`: the link and the handle.
fn json_upload(client: &Client, args: &[&str], stdin: &[u8]) -> (String, String) {
    let mut all = vec!["--", "--json"];
    all.extend_from_slice(args);
    let out = run(&mut client.ssh_command_t(&all), stdin);
    assert!(out.status.success(), "upload failed: {out:?}");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        value["link"].as_str().unwrap().to_owned(),
        value["id"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn one_pipe_upload_and_one_curl_claim_move_each_counter_by_exactly_one() {
    let server = server_with(&[]);
    let client = Client::new(&server);
    let secret: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();

    let before = Scrape::of(&server);
    let link = link_of(&run(&mut client.ssh_command_t(&[]), &secret));
    let uploaded = Scrape::of(&server);
    assert_eq!(uploaded.delta(&before, CREATED), 1.0);
    assert_eq!(uploaded.delta(&before, UPLOADED), 10_000.0);
    assert_eq!(uploaded.delta(&before, CLAIMED), 0.0);
    assert_eq!(uploaded.delta(&before, SERVED), 0.0);
    assert_eq!(uploaded.delta(&before, CLAIM_COUNT), 0.0);

    let claim = curl_claim(&link, &["-f"]);
    assert!(claim.status.success(), "{claim:?}");
    assert_eq!(claim.stdout, secret);
    let claimed = Scrape::of(&server);
    assert_eq!(claimed.delta(&uploaded, CLAIMED), 1.0);
    assert_eq!(claimed.delta(&uploaded, SERVED), 10_000.0);
    assert_eq!(claimed.delta(&uploaded, CLAIM_COUNT), 1.0);
    assert_eq!(claimed.delta(&uploaded, CLAIM_INF), 1.0);
    assert!(claimed.get(CLAIM_SUM) > uploaded.get(CLAIM_SUM));
    assert_eq!(claimed.delta(&uploaded, CREATED), 0.0);
    assert_eq!(claimed.delta(&uploaded, UPLOADED), 0.0);

    // A second claim is refused and moves nothing.
    let again = curl_claim(&link, &[]);
    assert!(again.status.success(), "{again:?}");
    let refused = Scrape::of(&server);
    for series in [CLAIMED, SERVED, CLAIM_COUNT, CREATED] {
        assert_eq!(refused.delta(&claimed, series), 0.0, "{series}");
    }
    for event in [LOCKED, REVOKED, EXPIRED] {
        assert_eq!(refused.get(event), 0.0, "{event}");
    }
    for (series, value) in refused.series("onetimeshare_store_errors_total") {
        assert_eq!(value, 0.0, "{series}");
    }
}

#[test]
fn locking_revoking_and_expiry_are_each_counted_once_and_logs_stay_clean() {
    let server = server_with(&[
        "--max-attempts",
        "2",
        "--sweep-interval",
        "1s",
        "--min-ttl",
        "1s",
    ]);
    let client = Client::new(&server);
    let before = Scrape::of(&server);

    // Locked: the second (last) wrong password locks the share; a third try changes nothing.
    let (locked_link, _) = json_upload(&client, &["--password-stdin"], b"hunter2\nlocked secret");
    let wrong = |n: usize| {
        let out = curl_claim(&locked_link, &["-d", "password=wrong-guess"]);
        assert!(out.status.success(), "attempt {n}: {out:?}");
        Scrape::of(&server)
    };
    assert_eq!(wrong(1).delta(&before, LOCKED), 0.0);
    assert_eq!(wrong(2).delta(&before, LOCKED), 1.0);
    assert_eq!(wrong(3).delta(&before, LOCKED), 1.0);

    // Revoked by its owner.
    let (revoked_link, handle) = json_upload(&client, &[], b"revoked secret");
    let out = run(&mut client.ssh_command_t(&["revoke", &handle]), b"");
    assert!(out.status.success(), "{out:?}");
    let revoked = Scrape::of(&server);
    assert_eq!(revoked.delta(&before, REVOKED), 1.0);

    // Expired: a one-second share, removed by the sweeper.
    let (expired_link, _) = json_upload(&client, &["--ttl", "1s"], b"short-lived secret");
    let expired = scrape_until(&server, "the expiry to be counted", |s| {
        s.delta(&before, EXPIRED) >= 1.0
    });
    assert_eq!(expired.delta(&before, EXPIRED), 1.0);
    assert_eq!(expired.delta(&before, CREATED), 3.0);
    assert_eq!(expired.delta(&before, CLAIMED), 0.0);
    assert_eq!(expired.delta(&before, LOCKED), 1.0);
    assert_eq!(expired.delta(&before, REVOKED), 1.0);

    let log = server.log();
    for link in [&locked_link, &revoked_link, &expired_link] {
        let (url, key) = link.split_once('#').unwrap();
        let id = url.rsplit('/').next().unwrap();
        assert!(!log.contains(key), "a key reached the log");
        assert!(!log.contains(id), "a share id reached the log");
    }
    for secret in [
        "hunter2",
        "wrong-guess",
        "locked secret",
        "short-lived secret",
    ] {
        assert!(!log.contains(secret), "{secret:?} reached the log");
    }
}

#[test]
fn the_live_session_gauge_counts_an_open_pipe_and_drops_when_it_ends() {
    let server = server_with(&[]);
    let client = Client::new(&server);
    assert_eq!(pipe_gauge(&Scrape::of(&server)), 0.0);

    let mut child = spawn_piped(&mut client.ssh_command_t(&[]));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"held open: ").unwrap();
    stdin.flush().unwrap();
    let open = scrape_until(&server, "the pipe to be counted", |s| pipe_gauge(s) == 1.0);
    assert_eq!(open.get("onetimeshare_ssh_sessions{kind=\"tui\"}"), 0.0);

    stdin.write_all(b"the rest").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    scrape_until(&server, "the pipe to be uncounted", |s| {
        pipe_gauge(s) == 0.0
    });
}

#[test]
fn metrics_are_served_only_on_their_own_listener_and_only_when_asked_for() {
    let server = server_with(&[]);
    let scrape = Scrape::of(&server);
    assert!(
        scrape
            .text
            .contains("# TYPE onetimeshare_shares_total counter")
    );
    let headers = curl(&["-D", "-", "-o", "/dev/null", &server.metrics_url()]);
    let headers = String::from_utf8_lossy(&headers.stdout).to_ascii_lowercase();
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );

    let public = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{}/metrics", server.http_url()),
    ]);
    assert_eq!(String::from_utf8_lossy(&public.stdout), "404");

    let plain = TestServer::start(ServerOptions::default());
    assert!(plain.metrics_addr.is_none());
    assert!(
        !plain.log().contains("metrics listening"),
        "{}",
        plain.log()
    );
}

#[test]
fn refusals_by_a_limit_are_counted_by_reason() {
    let server = server_with(&[
        "--ssh-uploads-per-minute",
        "1",
        "--claims-per-minute",
        "1",
        "--claim-burst",
        "1",
    ]);
    let client = Client::new(&server);
    let rate = |scrape: &Scrape, reason: &str| {
        scrape.get(&format!(
            "onetimeshare_refusals_total{{reason=\"{reason}\"}}"
        ))
    };
    let before = Scrape::of(&server);
    assert_eq!(rate(&before, "upload_rate"), 0.0, "{}", before.text);

    let link = link_of(&run(&mut client.ssh_command_t(&[]), b"first"));
    let refused = run(&mut client.ssh_command_t(&[]), b"second");
    assert!(
        !refused.status.success(),
        "the second upload in a minute is refused"
    );
    assert!(curl_claim(&link, &[]).status.success());
    let again = curl(&[
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "POST",
        &link,
    ]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), "429");

    let after = Scrape::of(&server);
    assert_eq!(rate(&after, "upload_rate"), 1.0, "{}", after.text);
    assert_eq!(rate(&after, "claim_rate"), 1.0, "{}", after.text);
    assert_eq!(rate(&after, "banned"), 0.0, "{}", after.text);
}
