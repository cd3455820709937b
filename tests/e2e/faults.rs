//! Fault injection through the real server and real clients: Redis stalled (SIGSTOP, or
//! `CLIENT PAUSE WRITE` to stall exactly the state-changing step) and killed, the server
//! SIGKILLed mid-download, a full disk, clients that vanish mid-transfer. After each: what every
//! client was told was true, no share served twice or lost to a phantom claim, no ghost record,
//! nothing left behind after the next sweep, and the server healthy.
//!
//! The servers run with a 600 ms Redis timeout (so a request spends up to 3 s finding out what a
//! stalled step did), set through the environment so that the same tests run against a build
//! without the setting, which must fail them.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::ssh_client::{Client, run, spawn_piped, text};
use crate::support::{
    RedisServer, ServerOptions, TestServer, curl, curl_claim, open_shares, temp_dir,
};
use onetimeshare::share::{Link, Owner, ShareStatus, Shares, StatusState};

/// Shorter than the old fixed 2 s timeout plus margin, longer than the settle window (5 × 600 ms):
/// the step is answered late but within the window.
const SHORT_STALL: Duration = Duration::from_millis(2300);
/// Longer than the settle window: the request must say the outcome is unknown.
const LONG_STALL: Duration = Duration::from_millis(4500);
/// Enough for a stalled step to be settled in the background once Redis answers again.
const SETTLE_WAIT: Duration = Duration::from_secs(20);

struct Rig {
    redis: RedisServer,
    server: Option<TestServer>,
    data: tempfile::TempDir,
    client: Client,
    args: Vec<String>,
}

impl Rig {
    fn start(args: &[&str]) -> Rig {
        let redis = RedisServer::start();
        let data = temp_dir();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let server = launch(&redis, data.path(), &args);
        let client = Client::new(&server);
        Rig {
            redis,
            server: Some(server),
            data,
            client,
            args,
        }
    }

    fn server(&self) -> &TestServer {
        self.server.as_ref().expect("the server is running")
    }

    /// SIGKILLs the server (as abrupt as a crash) and starts it again on the same data.
    fn crash_and_restart(&mut self, before_restart: impl FnOnce(&Rig)) {
        drop(self.server.take());
        before_restart(self);
        let server = launch(&self.redis, self.data.path(), &self.args);
        self.client.connect_to(&server);
        self.server = Some(server);
    }

    fn blob_dir(&self) -> PathBuf {
        self.data.path().join("data").join("blobs")
    }

    /// Committed blobs (temp files of uploads in progress not included).
    fn blobs(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.blob_dir())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// `cat body | ssh host -- --json ARGS`: the printed link and share id.
    fn upload(&self, body: &[u8], args: &[&str]) -> (String, String) {
        let mut words = vec!["--", "--json"];
        words.extend_from_slice(args);
        let out = run(&mut self.client.ssh_command_t(&words), body);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        (
            json["link"].as_str().expect("a link").to_owned(),
            json["id"].as_str().expect("an id").to_owned(),
        )
    }

    /// The share core in this process, on the server's Redis: to read what is really stored.
    fn status(&self, link: &str) -> Option<ShareStatus> {
        let (rt, shares) = self.shares();
        let link = Link::parse(link).expect("a link");
        rt.block_on(shares.peek(link.id())).expect("peek")
    }

    fn shares(&self) -> (tokio::runtime::Runtime, Shares) {
        open_shares(&self.data.path().join("inspect"), self.redis.backend())
    }

    fn owned_shares(&self) -> Vec<ShareStatus> {
        let (rt, shares) = self.shares();
        rt.block_on(shares.list(&Owner::new(self.client.fingerprint())))
            .expect("list")
    }

    /// `/healthz` answers 200 and a fresh upload is claimed exactly once.
    fn assert_healthy(&self) {
        let out = curl(&["-f", &format!("{}/healthz", self.server().http_url())]);
        assert!(out.status.success(), "healthz: {out:?}");
        let (link, _) = self.upload(b"fresh after the fault", &[]);
        let first = claim(&link, &[]);
        assert_eq!(first.code, 200, "{first:?}");
        assert_eq!(first.body, "fresh after the fault");
        assert!(claim(&link, &[]).body.starts_with("already opened at"));
    }

    /// Waits until the server has settled a stalled step in the background.
    fn wait_settled(&self) {
        self.server()
            .wait_for_log("state change settled after a storage stall", SETTLE_WAIT);
    }
}

fn launch(redis: &RedisServer, data: &Path, args: &[String]) -> TestServer {
    let mut all = vec!["--sweep-interval".to_owned(), "1s".to_owned()];
    all.extend_from_slice(args);
    TestServer::start(ServerOptions {
        redis_url: Some(redis.url()),
        data_dir: Some(data.join("data")),
        env: vec![("ONETIMESHARE_REDIS_TIMEOUT".into(), "600ms".into())],
        args: all,
        ..ServerOptions::default()
    })
}

/// One claim as curl saw it.
#[derive(Debug)]
struct Claim {
    code: u16,
    body: String,
}

fn claim(link: &str, extra: &[&str]) -> Claim {
    let mut args = vec!["-w", "\n%{http_code}"];
    args.extend_from_slice(extra);
    split_code(&curl_claim(link, &args))
}

fn split_code(out: &Output) -> Claim {
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = all.rsplit_once('\n').unwrap_or(("", all.as_str()));
    let code = code.trim().parse().unwrap_or(0);
    let body = if code == 0 {
        format!("curl failed: {}", String::from_utf8_lossy(&out.stderr))
    } else {
        body.trim_end_matches('\n').to_owned()
    };
    Claim { code, body }
}

fn claim_in_background(link: &str, extra: &[&str]) -> std::thread::JoinHandle<Claim> {
    let link = link.to_owned();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        claim(&link, &extra)
    })
}

/// Claims `link` until it delivers (at most `within`); no answer on the way may say "already
/// opened": nobody has received the content.
fn claim_until_delivered(link: &str, extra: &[&str], body: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let got = claim(link, extra);
        assert!(
            !got.body.contains("already opened"),
            "a false alarm: nobody has received this share, yet the claimant read {got:?}"
        );
        if got.code == 200 {
            assert_eq!(got.body, body);
            return;
        }
        assert_eq!(
            got.code, 503,
            "only 'try again' may come before delivery: {got:?}"
        );
        assert!(
            Instant::now() < deadline,
            "the share never came back: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn is_opened(status: &Option<ShareStatus>) -> bool {
    matches!(
        status.as_ref().map(|s| s.state),
        Some(StatusState::Opened { .. })
    )
}

// ---------------------------------------------------------------------------------------------
// Redis stalled at the state-changing step
// ---------------------------------------------------------------------------------------------

#[test]
fn a_claim_answered_late_by_a_stalled_redis_is_delivered_to_that_claimant() {
    let rig = Rig::start(&[]);
    let (link, _) = rig.upload(b"stalled secret", &[]);

    rig.redis.pause_writes(SHORT_STALL);
    let got = claim(&link, &[]);

    assert_eq!(
        got.code, 200,
        "the claim went through, so its claimant gets it: {got:?}"
    );
    assert_eq!(got.body, "stalled secret");
    let again = claim(&link, &[]);
    assert!(
        again.body.starts_with("already opened at"),
        "{again:?}; log:\n{}",
        rig.server().log()
    );
    rig.assert_healthy();
}

#[test]
fn a_claim_stalled_past_the_settle_window_is_reported_unknown_and_the_share_is_not_lost() {
    let rig = Rig::start(&[]);
    let (link, _) = rig.upload(b"not lost to a phantom", &[]);

    rig.redis.pause_writes(LONG_STALL);
    let got = claim(&link, &[]);

    assert_eq!(got.code, 503, "{got:?}");
    assert!(got.body.contains("not known"), "{got:?}");
    assert!(
        !got.body.contains("nothing was opened"),
        "the claim may have gone through: {got:?}"
    );
    claim_until_delivered(&link, &[], "not lost to a phantom", SETTLE_WAIT);
    assert!(claim(&link, &[]).body.starts_with("already opened at"));
    rig.assert_healthy();
}

#[test]
fn a_password_attempt_in_a_stall_is_counted_once_or_refunded_never_lost() {
    let rig = Rig::start(&["--max-attempts", "3"]);
    let (link, _) = rig.upload(b"right\nbehind a password", &["--password-stdin"]);

    rig.redis.pause_writes(SHORT_STALL);
    let late = claim(&link, &["-d", "password=wrong"]);
    assert_eq!(late.code, 403, "{late:?}");
    assert_eq!(late.body, "wrong password: 2 attempts left");
    assert_eq!(rig.status(&link).unwrap().attempts, 1, "counted once");

    rig.redis.pause_writes(LONG_STALL);
    let unknown = claim(&link, &["-d", "password=wrong"]);
    assert_eq!(unknown.code, 503, "{unknown:?}");
    assert!(unknown.body.contains("not known"), "{unknown:?}");
    rig.wait_settled();
    assert_eq!(
        rig.status(&link).unwrap().attempts,
        1,
        "an attempt that never reached a password check is refunded"
    );

    let right = claim(&link, &["-d", "password=right"]);
    assert_eq!(right.code, 200, "{right:?}");
    assert_eq!(right.body, "behind a password");
    rig.assert_healthy();
}

/// `ssh host -- --json` fed `body`, with Redis stalled for `stall` just before the end of input
/// (so the stall hits the insert, after the upload was admitted).
fn upload_through_a_stall(rig: &Rig, body: &[u8], stall: Duration) -> Output {
    let mut child = spawn_piped(&mut rig.client.ssh_command_t(&["--", "--json"]));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(body).expect("send the upload");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(1500));
    rig.redis.pause_writes(stall);
    drop(stdin);
    child.wait_with_output().expect("wait for ssh")
}

#[test]
fn an_upload_stalled_at_its_insert_gets_its_link_or_leaves_nothing_behind() {
    let rig = Rig::start(&[]);

    let late = upload_through_a_stall(&rig, b"answered late", SHORT_STALL);
    assert_eq!(late.status.code(), Some(0), "{}", text(&late.stderr));
    let json: serde_json::Value = serde_json::from_slice(&late.stdout).expect("one JSON object");
    let link = json["link"].as_str().unwrap().to_owned();
    assert_eq!(claim(&link, &[]).body, "answered late");

    let unknown = upload_through_a_stall(&rig, b"never confirmed", LONG_STALL);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        unknown.stdout.is_empty(),
        "no link for an unconfirmed share"
    );
    // With Redis the insert is prepared in steps (quota charges, index entries) before the
    // share's own step: a stall that outlasts a step's patience leaves the share never written,
    // and the sender is told exactly that; one that holds the share's own step makes the
    // outcome unknown. Either answer is the truth; neither may hand out a link.
    let stderr = text(&unknown.stderr);
    assert!(
        stderr.contains("send it again") || stderr.contains("nothing was stored"),
        "{stderr}"
    );
    if stderr.contains("send it again") {
        rig.wait_settled();
    }
    let live: Vec<_> = rig
        .owned_shares()
        .into_iter()
        .filter(|s| s.state == StatusState::Armed)
        .collect();
    assert!(
        live.is_empty(),
        "a ghost share the sender has no link for: {live:?}"
    );
    assert!(rig.blobs().is_empty(), "left behind: {:?}", rig.blobs());
    rig.assert_healthy();
}

#[test]
fn a_revoke_stalled_at_its_step_reports_the_truth() {
    let rig = Rig::start(&[]);
    let (late_link, late_id) = rig.upload(b"revoked late", &[]);
    let (unknown_link, unknown_id) = rig.upload(b"revoked unseen", &[]);

    rig.redis.pause_writes(SHORT_STALL);
    let late = run(&mut rig.client.ssh_command_t(&["revoke", &late_id]), b"");
    assert_eq!(late.status.code(), Some(0), "{}", text(&late.stderr));
    assert_eq!(text(&late.stdout), format!("revoked {late_id}\n"));
    assert!(
        claim(&late_link, &[])
            .body
            .starts_with("revoked by its sender")
    );

    rig.redis.pause_writes(LONG_STALL);
    let unknown = run(&mut rig.client.ssh_command_t(&["revoke", &unknown_id]), b"");
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = text(&unknown.stderr);
    assert!(stderr.contains("not known"), "{stderr}");
    rig.wait_settled();
    assert!(
        matches!(
            rig.status(&unknown_link).map(|s| s.state),
            Some(StatusState::Revoked { .. })
        ),
        "the revoke went through once Redis answered"
    );
    std::thread::sleep(Duration::from_secs(5));
    assert!(rig.blobs().is_empty(), "left behind: {:?}", rig.blobs());
    rig.assert_healthy();
}

#[test]
fn a_takedown_stalled_at_its_step_reports_the_truth() {
    let operator = Client::unbound();
    let keys = temp_dir();
    let admin_keys = keys.path().join("admins");
    std::fs::write(&admin_keys, operator.public_key()).unwrap();
    let rig = Rig::start(&["--admin-keys", admin_keys.to_str().unwrap()]);
    let mut operator = operator;
    operator.connect_to(rig.server());
    let (late_link, late_id) = rig.upload(b"taken down late", &[]);
    let (unknown_link, unknown_id) = rig.upload(b"taken down unseen", &[]);

    rig.redis.pause_writes(SHORT_STALL);
    let late = run(
        &mut operator.ssh_command_t(&["admin", "takedown", &late_id]),
        b"",
    );
    assert_eq!(late.status.code(), Some(0), "{}", text(&late.stderr));
    assert!(text(&late.stdout).starts_with("taken down"), "{late:?}");
    assert!(
        claim(&late_link, &[])
            .body
            .starts_with("removed by the operator")
    );

    rig.redis.pause_writes(LONG_STALL);
    let unknown = run(
        &mut operator.ssh_command_t(&["admin", "takedown", &unknown_id]),
        b"",
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("not known"), "{unknown:?}");
    rig.wait_settled();
    assert!(matches!(
        rig.status(&unknown_link).map(|s| s.state),
        Some(StatusState::TakenDown { .. })
    ));
    rig.assert_healthy();
}

// ---------------------------------------------------------------------------------------------
// Redis frozen (SIGSTOP) at arbitrary points of claims
// ---------------------------------------------------------------------------------------------

/// A password claim is get → spend an attempt → Argon2id (slow on purpose here) → claim: freezing
/// Redis at offsets across it stalls each step in turn, the claim itself included.
#[test]
fn redis_frozen_at_any_point_of_a_password_claim_never_misleads_the_claimant() {
    let rig = Rig::start(&["--argon2-memory", "64MiB", "--argon2-iterations", "3"]);
    for offset_ms in (0u64..=360).step_by(40) {
        let body = format!("frozen at {offset_ms} ms");
        let (link, _) = rig.upload(format!("pw\n{body}").as_bytes(), &["--password-stdin"]);
        let pending = claim_in_background(&link, &["-d", "password=pw"]);
        std::thread::sleep(Duration::from_millis(offset_ms));
        rig.redis.pause();
        std::thread::sleep(Duration::from_millis(2500));
        rig.redis.resume();
        let got = pending.join().expect("claim thread");
        match got.code {
            200 => {
                assert_eq!(got.body, body);
                assert!(is_opened(&rig.status(&link)));
                let again = claim(&link, &["-d", "password=pw"]);
                assert!(again.body.starts_with("already opened at"), "{again:?}");
            }
            503 => claim_until_delivered(&link, &["-d", "password=pw"], &body, SETTLE_WAIT),
            _ => panic!("frozen at {offset_ms} ms, the claimant was told {got:?}"),
        }
    }
    rig.assert_healthy();
}

// ---------------------------------------------------------------------------------------------
// Redis killed
// ---------------------------------------------------------------------------------------------

#[test]
fn a_killed_redis_fails_claims_and_uploads_honestly_and_the_server_heals() {
    let mut rig = Rig::start(&[]);
    let (link, _) = rig.upload(b"before the crash", &[]);
    rig.redis.stop();

    let got = claim(&link, &[]);
    assert_eq!(got.code, 503, "{got:?}");
    let upload = run(&mut rig.client.ssh_command_t(&[]), b"during the outage");
    assert_eq!(upload.status.code(), Some(1));
    assert!(upload.stdout.is_empty(), "no link without a stored share");

    rig.redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !curl(&["-f", &format!("{}/healthz", rig.server().http_url())])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "the server never reconnected");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Redis kept nothing on disk: the share is gone with it, and says so truthfully.
    assert_eq!(claim(&link, &[]).code, 404);
    rig.assert_healthy();
}

#[test]
fn a_redis_killed_while_a_claim_waits_at_its_step_is_reported_unknown_not_unopened() {
    let mut rig = Rig::start(&[]);
    let (link, _) = rig.upload(b"lost with redis", &[]);

    rig.redis.pause_writes(Duration::from_secs(30));
    let pending = claim_in_background(&link, &[]);
    std::thread::sleep(Duration::from_millis(300));
    rig.redis.stop();
    let got = pending.join().expect("claim thread");

    assert_eq!(got.code, 503, "{got:?}");
    assert!(got.body.contains("not known"), "{got:?}");
    rig.redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !curl(&["-f", &format!("{}/healthz", rig.server().http_url())])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "the server never reconnected");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The new Redis knows nothing: the share is gone with the old one, and the link says so.
    assert_eq!(claim(&link, &[]).code, 404);
    rig.wait_settled();
    assert!(rig.blobs().is_empty(), "left behind: {:?}", rig.blobs());
    rig.assert_healthy();
}

#[test]
fn a_server_killed_mid_upload_publishes_nothing_and_starts_again() {
    let mut rig = Rig::start(&[]);
    let mut child = rig
        .client
        .ssh_command_t(&[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ssh");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&big(2 << 20)).expect("send half an upload");
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));

    rig.crash_and_restart(|_| {});
    drop(stdin);
    let out = child.wait_with_output().unwrap();

    assert!(
        out.stdout.is_empty(),
        "no link for an upload the server never finished"
    );
    assert!(
        rig.owned_shares().is_empty(),
        "a partial share was published"
    );
    assert!(rig.blobs().is_empty(), "a partial blob was published");
    rig.assert_healthy();
}

// ---------------------------------------------------------------------------------------------
// The server killed mid-transfer, clients that vanish
// ---------------------------------------------------------------------------------------------

fn big(len: usize) -> Vec<u8> {
    (0..len).map(|i| b"0123456789abcdef"[i % 16]).collect()
}

/// A `curl` claim that downloads slowly into a file; returns once bytes are arriving.
fn slow_download(rig: &Rig, link: &str) -> Child {
    let (url, key) = link.split_once('#').unwrap();
    let out = rig.data.path().join("download");
    let child = Command::new(support::require_tool("curl", "curl"))
        .args(["-sS", "-X", "POST", "--limit-rate", "100k", "-d"])
        .arg(format!("key={key}"))
        .arg("-o")
        .arg(&out)
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run curl");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the download never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn a_server_killed_mid_download_leaves_no_ciphertext_after_restart() {
    let mut rig = Rig::start(&[]);
    // Larger than loopback socket buffers can hold, so the server is still reading the blob.
    let (link, _) = rig.upload(&big(32 << 20), &["--name", "big.bin"]);
    let mut download = slow_download(&rig, &link);

    rig.crash_and_restart(|rig| {
        let _ = download.kill();
        let _ = download.wait();
        assert_eq!(rig.blobs().len(), 1, "the crash left the claimed blob");
        // Past the settle window: nothing can still be finding out about this claim.
        std::thread::sleep(Duration::from_secs(4));
    });

    assert!(
        rig.blobs().is_empty(),
        "start-up sweep left: {:?}",
        rig.blobs()
    );
    // The restarted server listens on new ports: the same share, through its new address.
    let (_, share) = link.split_once("/s/").unwrap();
    let link = format!("{}/s/{share}", rig.server().http_url());
    let again = claim(&link, &[]);
    assert!(again.body.starts_with("already opened at"), "{again:?}");
    rig.assert_healthy();
}

#[test]
fn a_claimant_that_vanishes_mid_download_uses_up_the_share_and_leaves_nothing() {
    let rig = Rig::start(&[]);
    let (link, _) = rig.upload(&big(4 << 20), &["--name", "big.bin"]);
    let mut download = slow_download(&rig, &link);
    download.kill().expect("kill curl");
    let _ = download.wait();

    let deadline = Instant::now() + Duration::from_secs(10);
    while !rig.blobs().is_empty() {
        assert!(Instant::now() < deadline, "left behind: {:?}", rig.blobs());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(claim(&link, &[]).body.starts_with("already opened at"));
    rig.assert_healthy();
}

#[test]
fn a_sender_that_vanishes_mid_upload_publishes_nothing() {
    let rig = Rig::start(&[]);
    let mut child = rig
        .client
        .ssh_command_t(&[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ssh");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&big(2 << 20)).expect("send half an upload");
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    child.kill().expect("kill ssh");
    let out = child.wait_with_output().unwrap();
    assert!(out.stdout.is_empty(), "no link for a cut upload");

    std::thread::sleep(Duration::from_secs(1));
    assert!(
        rig.owned_shares().is_empty(),
        "a partial share was published"
    );
    let leftovers: Vec<_> = std::fs::read_dir(rig.blob_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    rig.assert_healthy();
}

// ---------------------------------------------------------------------------------------------
// A full disk
// ---------------------------------------------------------------------------------------------

/// A 1 MiB tmpfs mounted over a directory; unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new(support::require_tool("mount", "mount"))
            .args(["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a small tmpfs for the full-disk test (it needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk(dir.to_owned())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_refuses_the_upload_keeps_nothing_and_the_server_carries_on() {
    let redis = RedisServer::start();
    let data = temp_dir();
    let blob_dir = data.path().join("data").join("blobs");
    let _disk = SmallDisk::mount(&blob_dir);
    let server = launch(&redis, data.path(), &[]);
    let client = Client::new(&server);

    let out = run(&mut client.ssh_command_t(&[]), &big(2 << 20));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "no link for a share that did not fit"
    );
    assert!(
        text(&out.stderr).contains("out of storage space"),
        "{}",
        text(&out.stderr)
    );
    let leftovers: Vec<_> = std::fs::read_dir(&blob_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");

    let rig = Rig {
        redis,
        server: Some(server),
        data,
        client,
        args: Vec::new(),
    };
    rig.assert_healthy();
    drop(rig);
}
