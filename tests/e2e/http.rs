//! The recipient's side end to end: the real binary, a real `redis-server`, real `curl`, and a
//! real headless Chromium. Shares are created in-process through the library against the same
//! Redis and blob directory the server uses (the SSH side is another issue) — no test-only
//! routes exist in the server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use onetimeshare::crypto::Password;
use onetimeshare::share::{Policy, ShareName, Shares, UploadSpec};
use onetimeshare::store;

use crate::support;
use crate::support::{
    RedisServer, Reply, ServerOptions, TestServer, open_stores, random_bytes, request,
    require_tool, test_policy,
};

/// A server on Redis plus a library handle on the same Redis and blob directory.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    shares: Shares,
    server: TestServer,
    redis: RedisServer,
}

impl Fixture {
    fn start(args: &[&str]) -> Self {
        let redis = RedisServer::start();
        let server = TestServer::start(ServerOptions {
            redis_url: Some(redis.url()),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..ServerOptions::default()
        });
        let (runtime, shares) = library(&redis, server.data_dir(), &server.http_url(), 3);
        Self {
            runtime,
            shares,
            server,
            redis,
        }
    }

    fn text(&self, text: &str) -> Link {
        self.share(UploadSpec::text(), text.as_bytes())
    }

    fn file(&self, name: &str, bytes: &[u8]) -> Link {
        let name = ShareName::sanitize(name.as_bytes()).ok();
        self.share(UploadSpec::file(name), bytes)
    }

    fn with_password(&self, text: &str, password: &str) -> Link {
        let spec = UploadSpec {
            password: Some(Password::new(password)),
            ..UploadSpec::text()
        };
        self.share(spec, text.as_bytes())
    }

    fn share(&self, spec: UploadSpec, bytes: &[u8]) -> Link {
        create(&self.runtime, &self.shares, spec, bytes)
    }
}

fn library(
    redis: &RedisServer,
    data_dir: &Path,
    public_url: &str,
    max_attempts: u32,
) -> (tokio::runtime::Runtime, Shares) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let store::Stores { meta, blobs, .. } =
        runtime.block_on(open_stores(data_dir, &redis.backend()));
    let policy = Policy {
        public_url: public_url.into(),
        max_attempts,
        ..test_policy()
    };
    (runtime, Shares::new(meta, blobs, policy))
}

fn create(
    runtime: &tokio::runtime::Runtime,
    shares: &Shares,
    spec: UploadSpec,
    bytes: &[u8],
) -> Link {
    runtime.block_on(async {
        let mut upload = shares.begin(spec).await.unwrap();
        upload.write(bytes).await.unwrap();
        let armed = upload.finish().await.unwrap();
        Link::parse(armed.link.expose().as_str())
    })
}

/// A link split the way a browser splits it: what goes on the wire, and the fragment.
#[derive(Clone)]
struct Link {
    full: String,
    url: String,
    id: String,
    key: String,
}

impl Link {
    fn parse(text: &str) -> Link {
        let (url, key) = text.split_once('#').unwrap();
        let id = url.rsplit('/').next().unwrap().to_owned();
        Link {
            full: text.to_owned(),
            url: url.to_owned(),
            id,
            key: key.to_owned(),
        }
    }

    fn key_field(&self) -> String {
        format!("key={}", self.key)
    }
}

fn claim(link: &Link, extra: &[&str]) -> Reply {
    let key = link.key_field();
    let mut args = vec!["-X", "POST", "-d", key.as_str()];
    args.extend_from_slice(extra);
    args.push(&link.url);
    request(&args)
}

fn assert_security_headers(reply: &Reply, tls: bool) {
    assert_eq!(
        reply.header("content-security-policy").as_deref(),
        Some(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    );
    assert_eq!(
        reply.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        reply.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        reply.header("cross-origin-opener-policy").as_deref(),
        Some("same-origin")
    );
    assert_eq!(reply.header("x-robots-tag").as_deref(), Some("noindex"));
    assert_eq!(reply.header("strict-transport-security").is_some(), tls);
}

#[test]
fn status_pages_and_head_never_consume_and_one_post_gets_the_exact_file() {
    let fx = Fixture::start(&[]);
    let content = random_bytes(300 * 1024 + 17);
    let link = fx.file("prod db.env", &content);

    for _ in 0..3 {
        let page = request(&[&link.url]);
        assert_eq!(page.status, 200);
        assert!(
            page.text().contains("OPEN — THIS DESTROYS IT"),
            "{}",
            page.text()
        );
        assert_security_headers(&page, false);
    }
    let head = request(&["-I", &link.url]);
    assert_eq!(head.status, 200);
    assert!(!head.text().contains("<html"), "HEAD must send no body");

    let got = claim(&link, &[]);
    assert_eq!((got.exit, got.status), (0, 200));
    assert!(
        got.body == content,
        "the claimed bytes differ from the upload"
    );
    assert_eq!(
        got.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        got.header("content-length"),
        Some(content.len().to_string())
    );
    assert_eq!(
        got.header("content-disposition").as_deref(),
        Some("attachment; filename=\"prod db.env\"; filename*=UTF-8''prod%20db.env")
    );
    assert_security_headers(&got, false);

    let again = claim(&link, &[]);
    assert_eq!(again.status, 410);
    assert!(
        again.text().contains("already opened at"),
        "{}",
        again.text()
    );
    let page = request(&[&link.url]);
    assert_eq!(page.status, 410);
    assert!(page.text().contains("ALREADY OPENED AT"), "{}", page.text());
}

#[test]
fn a_text_claimed_by_curl_is_the_raw_text_and_a_wrong_key_looks_missing() {
    let fx = Fixture::start(&[]);
    let text = "API_KEY=<b>not html</b> & friends\n";
    let link = fx.text(text);

    let mut wrong = link.clone();
    wrong.key = "A".repeat(43);
    let refused = claim(&wrong, &[]);
    assert_eq!(refused.status, 404);
    let garbage = request(&["-X", "POST", "-d", "key=not-a-key", &link.url]);
    assert_eq!(garbage.status, 404);
    let missing = request(&[
        "-X",
        "POST",
        "-d",
        "key=x",
        &format!("{}/s/AAAAAAAAAAAAAAAA", fx.server.http_url()),
    ]);
    assert_eq!(missing.status, 404);
    assert_eq!(
        refused.text(),
        missing.text(),
        "wrong key and missing share must look alike"
    );

    let got = claim(&link, &[]);
    assert_eq!(got.status, 200);
    assert_eq!(got.text(), text);
    assert_eq!(
        got.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn a_claim_without_a_key_is_a_bad_request_and_burns_nothing() {
    let fx = Fixture::start(&[]);
    let link = fx.text("still here");
    assert_eq!(request(&["-X", "POST", &link.url]).status, 400);
    assert_eq!(
        request(&["-X", "POST", "-d", "password=x", &link.url]).status,
        400
    );
    assert_eq!(
        request(&["-X", "POST", "-d", "key=", &link.url]).status,
        400
    );
    let body = "x".repeat(64 * 1024);
    let big = request(&["-X", "POST", "--data-binary", &body, &link.url]);
    assert!(big.status == 413 || big.status == 400, "{}", big.status);
    assert_eq!(claim(&link, &[]).text(), "still here");
}

#[test]
fn wrong_passwords_count_down_then_lock_and_the_right_one_is_refused() {
    let fx = Fixture::start(&[]);
    let link = fx.with_password("guarded", "correct horse");

    let none = claim(&link, &[]);
    assert_eq!(none.status, 403);
    assert!(none.text().contains("needs a password"), "{}", none.text());
    for (remaining, left) in [
        (2, "2 attempts left"),
        (1, "1 attempt left"),
        (0, "0 attempts left"),
    ] {
        let wrong = claim(&link, &["-d", "password=battery staple"]);
        assert_eq!(wrong.status, 403);
        assert!(wrong.text().contains(left), "{}", wrong.text());
        if remaining > 0 {
            assert_eq!(
                request(&[&link.url]).status,
                200,
                "a wrong password must not burn"
            );
        }
    }
    let right = claim(&link, &["-d", "password=correct horse"]);
    assert_eq!(right.status, 423);
    assert!(
        right.text().contains("locked after 3 wrong passwords"),
        "{}",
        right.text()
    );
    let page = request(&[&link.url]);
    assert_eq!(page.status, 423);
    assert!(page.text().contains("LOCKED AFTER 3 WRONG PASSWORDS"));

    // Before the lock, the right password still works after a wrong one.
    let other = fx.with_password("second", "pw");
    assert_eq!(claim(&other, &["-d", "password=nope"]).status, 403);
    let ok = claim(&other, &["-d", "password=pw"]);
    assert_eq!((ok.status, ok.text().as_str()), (200, "second"));
}

fn blobs(data_dir: &Path) -> std::collections::HashSet<PathBuf> {
    std::fs::read_dir(data_dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect()
}

/// Creates a share and returns it with the path of its blob.
fn file_with_blob(fx: &Fixture, name: &str, content: &[u8]) -> (Link, PathBuf) {
    let before = blobs(fx.server.data_dir());
    let link = fx.file(name, content);
    let mut new = blobs(fx.server.data_dir())
        .into_iter()
        .filter(|p| !before.contains(p));
    let blob = new.next().expect("a new blob");
    assert!(new.next().is_none());
    (link, blob)
}

fn flip_byte(path: &Path, from_end: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() - from_end;
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_flipped_byte_in_the_blob_aborts_the_download_instead_of_ending_it() {
    let fx = Fixture::start(&[]);
    let content = random_bytes(5 * 64 * 1024);
    let (link, blob) = file_with_blob(&fx, "big.bin", &content);
    flip_byte(&blob, 100);

    let got = claim(&link, &[]);
    assert_eq!(
        got.status, 200,
        "the damage is past the first chunk: the head is already sent"
    );
    assert_ne!(
        got.exit, 0,
        "curl must see a failed transfer, not a complete one"
    );
    assert!(got.body.len() < content.len());
    fx.server
        .wait_for_log("download aborted", Duration::from_secs(5));

    // Damage in the first chunk is caught before the head: an honest error page.
    let (early, blob) = file_with_blob(&fx, "early.bin", &content);
    let len = std::fs::metadata(&blob).unwrap().len() as usize;
    flip_byte(&blob, len - 1000);
    let got = claim(&early, &[]);
    assert_eq!(got.status, 500);
    assert!(got.text().contains("integrity"), "{}", got.text());
}

#[test]
fn two_hundred_parallel_claims_on_two_instances_sharing_redis_deliver_once() {
    let redis = RedisServer::start();
    let dir = support::temp_dir();
    let data = dir.path().join("data");
    let options = ServerOptions {
        redis_url: Some(redis.url()),
        data_dir: Some(data.clone()),
        args: vec!["--claims-per-minute".into(), "0".into()],
        log_level: Some("info".into()),
        ..ServerOptions::default()
    };
    let a = TestServer::start(options.clone());
    let b = TestServer::start(options);
    let (runtime, shares) = library(&redis, &data, &a.http_url(), 5);
    let content = random_bytes(100 * 1024);
    let link = create(&runtime, &shares, UploadSpec::file(None), &content);
    let path = format!("/s/{}", link.id);

    let out = support::temp_dir();
    let curl_bin = require_tool("curl", "curl");
    let children: Vec<_> = (0..200)
        .map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            let body = out.path().join(format!("{i}.body"));
            Command::new(&curl_bin)
                .args([
                    "-sS",
                    "--max-time",
                    "60",
                    "-w",
                    "%{http_code}",
                    "-X",
                    "POST",
                    "-d",
                ])
                .arg(link.key_field())
                .arg("-o")
                .arg(&body)
                .arg(format!("{}{path}", server.http_url()))
                .stdout(Stdio::piped())
                .spawn()
                .expect("run curl")
        })
        .collect();
    let mut statuses = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let status = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        statuses.push((i, status));
    }
    let winners: Vec<usize> = statuses
        .iter()
        .filter(|(_, s)| s == "200")
        .map(|(i, _)| *i)
        .collect();
    let gone = statuses.iter().filter(|(_, s)| s == "410").count();
    assert_eq!(winners.len(), 1, "statuses: {statuses:?}");
    assert_eq!(gone, 199, "statuses: {statuses:?}");
    let body = std::fs::read(out.path().join(format!("{}.body", winners[0]))).unwrap();
    assert!(body == content, "the one winner got different bytes");
}

#[test]
fn a_full_flow_at_debug_level_logs_no_key_link_id_password_or_plaintext() {
    let fx = Fixture::start(&[]);
    let plaintext = "PLAINTEXT-canary-5f2c9e";
    let password = "PASSWORD-canary-77ab";
    let link = fx.with_password(plaintext, password);
    let file = fx.file("NAME-canary-31.env", b"FILEBODY-canary-9d");

    request(&[&link.url]);
    request(&["-I", &link.url]);
    claim(&link, &["-d", "password=WRONG-canary"]);
    let got = claim(
        &link,
        &[
            "-d",
            &format!("password={password}"),
            "-H",
            "Accept: text/html",
        ],
    );
    assert_eq!(got.status, 200);
    assert!(got.text().contains(plaintext));
    assert_eq!(claim(&file, &[]).status, 200);
    claim(&file, &[]);
    request(&[&format!("{}?token=QUERY-canary", link.url)]);

    let log = fx.server.log();
    assert!(
        log.contains("route=/s/{id}"),
        "the access log is missing:\n{log}"
    );
    for secret in [
        link.full.as_str(),
        link.id.as_str(),
        link.key.as_str(),
        file.id.as_str(),
        file.key.as_str(),
        plaintext,
        password,
        "WRONG-canary",
        "FILEBODY-canary",
        "NAME-canary",
        "QUERY-canary",
    ] {
        assert!(
            !log.contains(secret),
            "{secret:?} leaked into the log:\n{log}"
        );
    }
}

#[test]
fn too_many_claims_from_one_address_get_a_429_and_forwarded_headers_need_a_trusted_proxy() {
    let fx = Fixture::start(&["--claims-per-minute", "1", "--claim-burst", "2"]);
    let url = format!("{}/s/AAAAAAAAAAAAAAAA", fx.server.http_url());
    let post = |extra: &[&str]| {
        let mut args = vec!["-X", "POST", "-d", "key=x"];
        args.extend_from_slice(extra);
        args.push(&url);
        request(&args)
    };
    assert_eq!(post(&[]).status, 404);
    assert_eq!(post(&["-H", "X-Forwarded-For: 203.0.113.2"]).status, 404);
    let limited = post(&["-H", "X-Forwarded-For: 203.0.113.1"]);
    assert_eq!(
        limited.status, 429,
        "X-Forwarded-For must not be believed by default"
    );
    assert!(limited.header("retry-after").is_some());
    let link = fx.text("rate limited");
    let page = claim(&link, &["-H", "Accept: text/html"]);
    assert_eq!(page.status, 429);
    assert!(page.text().contains("TOO MANY ATTEMPTS"));

    let proxied = TestServer::start(ServerOptions {
        redis_url: Some(fx.redis.url()),
        args: [
            "--claims-per-minute",
            "1",
            "--claim-burst",
            "1",
            "--trusted-proxies",
            "127.0.0.1",
        ]
        .map(String::from)
        .to_vec(),
        ..ServerOptions::default()
    });
    let url = format!("{}/s/AAAAAAAAAAAAAAAA", proxied.http_url());
    let from = |ip: &str| {
        request(&[
            "-X",
            "POST",
            "-d",
            "key=x",
            "-H",
            &format!("X-Forwarded-For: 6.6.6.6, {ip}"),
            &url,
        ])
        .status
    };
    assert_eq!(from("203.0.113.1"), 404);
    assert_eq!(
        from("203.0.113.2"),
        404,
        "another client behind the proxy has its own budget"
    );
    assert_eq!(from("203.0.113.1"), 429);
}

#[test]
fn an_unreachable_store_gives_a_503_page_and_an_unhealthy_healthz() {
    let mut fx = Fixture::start(&[]);
    let link = fx.text("waiting");
    assert_eq!(
        request(&[&format!("{}/healthz", fx.server.http_url())]).status,
        200
    );
    fx.redis.stop();
    let page = request(&[&link.url]);
    assert_eq!(page.status, 503);
    assert!(page.text().contains("UNAVAILABLE"), "{}", page.text());
    assert_eq!(claim(&link, &[]).status, 503);
    assert_eq!(
        request(&[&format!("{}/healthz", fx.server.http_url())]).status,
        503
    );
}

#[test]
fn built_in_tls_serves_https_with_hsts_and_a_taken_port_fails_start_up() {
    let openssl = require_tool("openssl", "openssl");
    let dir = support::temp_dir();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = TestServer::start(ServerOptions {
        args: vec![
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
        ],
        ..ServerOptions::default()
    });
    let url = format!("https://{}/healthz", server.http_addr);
    let cert_arg = cert.display().to_string();
    let reply = request(&["--cacert", &cert_arg, &url]);
    assert_eq!((reply.exit, reply.status), (0, 200), "{}", reply.headers);
    assert_security_headers(&reply, true);
    let h2 = request(&["--http2", "--cacert", &cert_arg, &url]);
    assert!(h2.headers.starts_with("HTTP/2 200"), "{}", h2.headers);

    // The same port again: start-up must fail, naming the address.
    let output = Command::new(env!("CARGO_BIN_EXE_onetimeshare"))
        .args(["serve", "--http-addr", &server.http_addr.to_string()])
        .arg("--data-dir")
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen for HTTP"), "{stderr}");
}

/// Runs one of tests/browser/*.mjs in headless Chromium with `config`; returns what it printed.
fn browser(script: &str, config: &serde_json::Value) -> serde_json::Value {
    let chromium = require_tool("chromium", "chromium");
    let node = require_tool("node", "nodejs");
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "npm package `playwright-core` is missing: run `npm ci --prefix tests/browser`"
    );
    let run = Command::new(node)
        .arg(browser_dir.join(script))
        .arg(config.to_string())
        .env("CHROMIUM", &chromium)
        .current_dir(&browser_dir)
        .output()
        .expect("run node");
    assert!(
        run.status.success(),
        "browser script failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).expect("the browser script prints JSON")
}

/// Where the browser test leaves its screenshots.
fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots-http")
}

#[test]
fn headless_chromium_opens_links_presses_the_button_and_gets_file_and_text() {
    let fx = Fixture::start(&[]);
    let content = random_bytes(200 * 1024);
    let file = fx.file("report – Q3.pdf", &content);
    let text = "line one <b id=\"injected\">not bold</b>\n  indented & \"quoted\"\n";
    let text_link = fx.text(text);
    let password_link = fx.with_password("pw protected", "right");
    let no_js = fx.text("no script needed");
    let reported = fx.text("reported, still intact");
    let out = screenshot_dir();
    let config = serde_json::json!({
        "base": fx.server.http_url(),
        "fileLink": file.full,
        "textLink": text_link.full,
        "passwordLink": password_link.full,
        "noJsLink": no_js.full,
        "reportLink": reported.full,
        "outDir": out,
    });
    let seen = browser("claim.mjs", &config);

    assert_eq!(seen["fileStatusPage"], 200);
    assert_eq!(seen["keyFieldHiddenWithScript"], true);
    assert_eq!(seen["fileName"], "report – Q3.pdf");
    let received = std::fs::read(seen["filePath"].as_str().unwrap()).unwrap();
    assert!(received == content, "the browser received different bytes");
    let end = seen["fileEndState"].as_str().unwrap_or_default();
    assert!(
        end.contains("DOWNLOAD STARTED — DESTROYED ON THE SERVER AT 20") && end.contains(" UTC"),
        "the page must say the file was destroyed: {seen}"
    );
    assert_eq!(seen["fileEndBadge"], "OPENED");
    assert_eq!(seen["fileEndTitle"], "OPENED · ONETIMESHARE");
    assert_eq!(seen["fileSecondStatus"], 410);
    assert!(
        seen["fileSecondText"]
            .as_str()
            .unwrap()
            .contains("ALREADY OPENED AT")
    );

    assert_eq!(seen["textClaimStatus"], 200);
    assert_eq!(
        seen["text"], text,
        "the text must arrive exactly, escaped not rendered"
    );
    assert_eq!(seen["injectedElements"], 0);
    assert!(
        seen["banner"]
            .as_str()
            .unwrap()
            .contains("DESTROYED ON THE SERVER")
    );
    assert_eq!(seen["copiedShown"], true);

    assert_eq!(seen["wrongPasswordStatus"], 403);
    assert!(
        seen["wrongPasswordProblem"]
            .as_str()
            .unwrap()
            .contains("ATTEMPTS LEFT")
    );
    assert_eq!(seen["keyFieldHiddenOnRetry"], true);
    assert_eq!(seen["rightPasswordStatus"], 200);
    assert_eq!(seen["passwordText"], "pw protected");
    assert_eq!(seen["keyFieldVisibleWithoutScript"], true);
    assert_eq!(seen["noJsClaimStatus"], 200);
    assert_eq!(seen["noJsText"], "no script needed");
    assert_eq!(seen["reportStatus"], 202);
    assert_eq!(seen["reportHeadline"], "THANK YOU: REPORT #1 RECEIVED");
    let posts = seen["reportPosts"].as_array().unwrap();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = posts[0].as_str().unwrap();
    assert!(
        post.contains("/report reason=malware&details=drops+a+trojan"),
        "{post}"
    );
    assert!(
        !post.contains(&reported.key),
        "the report carried the link key"
    );
    let intact = claim(&reported, &[]);
    assert_eq!(intact.status, 200, "reporting must not open the share");
    assert_eq!(intact.body, b"reported, still intact");
    assert_eq!(seen["missingStatus"], 404);
    assert_eq!(
        seen["overflow360"], 0,
        "the page scrolls sideways at 360 px"
    );

    assert_eq!(
        seen["csp"],
        serde_json::json!([]),
        "CSP violations: {}",
        seen["csp"]
    );
    assert_eq!(
        seen["consoleErrors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| !e.as_str().unwrap_or("").contains("status of 4"))
            .count(),
        0,
        "console errors: {}",
        seen["consoleErrors"]
    );
    for name in [
        "home",
        "armed-file",
        "already-opened",
        "armed-text",
        "text-opened",
        "armed-password",
        "wrong-password",
        "armed-no-script",
        "not-found-360",
        "armed-password-360",
    ] {
        assert!(
            out.join(format!("{name}.png")).is_file(),
            "no screenshot {name}"
        );
    }
}

#[test]
fn a_recipient_who_disconnects_mid_download_has_used_the_share_and_the_blob_is_removed() {
    use std::io::{Read, Write};
    let fx = Fixture::start(&[]);
    let content = random_bytes(24 << 20);
    let (link, blob) = file_with_blob(&fx, "large.bin", &content);
    let server_pid = pid_serving(fx.server.data_dir());
    let fds_before = open_fds(server_pid);

    let body = link.key_field();
    let raw_request = format!(
        "POST /s/{} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        link.id,
        body.len()
    );
    let mut socket = std::net::TcpStream::connect(fx.server.http_addr).unwrap();
    socket.write_all(raw_request.as_bytes()).unwrap();
    let mut first = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < first.len() {
        let n = socket.read(&mut first[got..]).unwrap();
        assert!(n > 0, "the server closed early");
        got += n;
    }
    assert!(String::from_utf8_lossy(&first[..12]).contains("200"));
    drop(socket);

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while blob.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the blob was not removed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let page = request(&[&link.url]);
    assert_eq!(page.status, 410, "a started download has used the share");
    assert_eq!(claim(&link, &[]).status, 410);
    // Curl's connections above are closed too; nothing the download opened may stay open.
    std::thread::sleep(Duration::from_millis(200));
    let fds_after = open_fds(server_pid);
    assert!(
        fds_after <= fds_before,
        "file descriptors leaked: {fds_before} → {fds_after}"
    );
}

/// The server process whose command line names `data_dir` (the harness keeps its pid private).
fn pid_serving(data_dir: &Path) -> u32 {
    let needle = data_dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
        .expect("the server process")
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Runs `program` with `stdin` and returns its stdout (the test fails naming `package` if missing).
fn produced_by(program: &str, package: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    require_tool(program, package);
    let out = support::ssh_client::run(Command::new(program).args(args), stdin);
    assert!(out.status.success(), "{program} failed: {out:?}");
    out.stdout
}

/// Pipes `bytes` through the real `ssh` client; returns the link and what stderr said.
fn pipe_upload(client: &support::ssh_client::Client, bytes: &[u8]) -> (String, String) {
    let out = support::ssh_client::run(&mut client.ssh_command_t(&[]), bytes);
    assert!(out.status.success(), "pipe upload failed: {out:?}");
    let link = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
    (link, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn binary_pipes_reach_the_browser_byte_for_byte_and_text_pages_save_the_exact_bytes() {
    let fx = Fixture::start(&[]);
    let client = support::ssh_client::Client::new(&fx.server);

    let noise = random_bytes(300 * 1024);
    let gz = produced_by("gzip", "gzip", &["-c"], &random_bytes(64 * 1024));
    let png = produced_by(
        "python3",
        "python3",
        &["-c", PNG_WRITER],
        &random_bytes(16 * 16 * 3),
    );
    assert!(png.starts_with(b"\x89PNG"), "python3 wrote no PNG");
    let text = "API_KEY=abc123\r\n\tindented ✓ <b>not bold</b>\n".as_bytes();

    let (noise_link, noise_said) = pipe_upload(&client, &noise);
    assert!(
        noise_said.contains("not text") && noise_said.contains("share.bin"),
        "the sender is told the bytes go as a file: {noise_said}"
    );
    let (gz_link, _) = pipe_upload(&client, &gz);
    let (png_link, _) = pipe_upload(&client, &png);
    let (text_link, text_said) = pipe_upload(&client, text);
    assert!(!text_said.contains("not text"), "{text_said}");

    let config = serde_json::json!({
        "shares": [
            { "link": noise_link, "save": false },
            { "link": gz_link, "save": false },
            { "link": png_link, "save": false },
            { "link": text_link, "save": true },
        ],
        "outDir": screenshot_dir().join("binary-pipes"),
    });
    let seen = browser("download.mjs", &config);
    let received = |i: usize| std::fs::read(seen[i]["path"].as_str().unwrap()).unwrap();
    for (i, (bytes, name)) in [
        (&noise, "share.bin"),
        (&gz, "share.gz"),
        (&png, "share.png"),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(seen[i]["kind"], "download", "share {i}: {seen}");
        assert_eq!(seen[i]["name"], name);
        assert!(received(i) == *bytes, "{name}: the browser got other bytes");
    }
    assert_eq!(seen[3]["kind"], "page", "{seen}");
    // A textarea's value normalises CR LF; the saved file must not.
    assert_eq!(
        seen[3]["text"].as_str().unwrap(),
        std::str::from_utf8(text).unwrap().replace("\r\n", "\n")
    );
    assert_eq!(seen[3]["name"], "share.txt");
    assert_eq!(received(3), text, "SAVE AS FILE must give the exact bytes");
}

/// A 16×16 RGB PNG of the bytes on stdin, written with the standard library only.
const PNG_WRITER: &str = r#"
import sys, zlib, struct
raw = sys.stdin.buffer.read()
rows = b"".join(b"\0" + raw[y * 48:(y + 1) * 48] for y in range(16))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
"#;

#[test]
fn link_previews_are_told_nothing_was_opened_and_stray_paths_are_not_called_missing_shares() {
    let fx = Fixture::start(&[]);
    let link = fx.text("preview me");
    let page = request(&["-H", "Accept: text/html", &link.url]);
    let body = String::from_utf8_lossy(&page.body);
    assert!(
        body.contains(r#"property="og:title" content="Someone sent you a one-time secret""#),
        "{body}"
    );
    assert!(
        body.contains("Opening this preview did not open it."),
        "{body}"
    );
    assert!(
        body.contains("<title>ARMED · ONETIMESHARE</title>"),
        "{body}"
    );
    let icon = request(&[&format!("{}/static/favicon.svg", fx.server.http_url())]);
    assert_eq!(icon.status, 200);
    assert!(
        icon.header("content-type")
            .unwrap()
            .starts_with("image/svg+xml")
    );

    let stray = request(&[&format!("{}/nope/x", fx.server.http_url())]);
    assert_eq!(stray.status, 404);
    let text = String::from_utf8_lossy(&stray.body);
    assert!(text.contains("THERE IS NO PAGE HERE"), "{text}");
    assert!(!text.contains("SHARE DOES NOT EXIST"), "{text}");
}
