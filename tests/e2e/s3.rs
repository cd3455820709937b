//! The server on S3-compatible blob storage (a real Garage), end to end with real clients: a
//! share uploaded over `ssh` is claimed over `curl` from the bucket and leaves nothing there or on
//! local disk; the object store stopped mid-upload tells the sender and publishes nothing, and
//! stopped mid-claim aborts the download; `/healthz` reports the outage and recovery needs no
//! restart. Two replicas with separate data directories on one Redis and one bucket, presenting
//! one SSH host key given as an environment value: upload on A, claim on B.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use object_store::ObjectStore as _;
use object_store::path::Path as ObjectPath;

use crate::support::s3::S3Server;
use crate::support::ssh_client::{Client, run, spawn_piped, text};
use crate::support::{
    RedisServer, ServerOptions, TestServer, curl, curl_claim, random_bytes, require_tool, temp_dir,
};

fn s3_server(s3: &S3Server, bucket: &str, extra: &[&str]) -> TestServer {
    let mut args = s3.flags(bucket, "ots");
    args.extend(["--max-size".into(), "512MiB".into()]);
    args.extend(extra.iter().map(|a| a.to_string()));
    TestServer::start(ServerOptions {
        args,
        ..ServerOptions::default()
    })
}

/// Object keys under the server's prefix.
fn objects(s3: &S3Server, bucket: &str) -> Vec<String> {
    let client = s3.client(bucket);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        client
            .list(Some(&ObjectPath::from("ots")))
            .map_ok(|meta| meta.location.to_string())
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
    })
}

fn healthz(server: &TestServer) -> String {
    let out = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{}/healthz", server.http_url()),
    ]);
    text(&out.stdout)
}

fn wait_for(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Uploads `body` over `ssh` (pipe mode) and returns the printed link.
fn upload(client: &Client, body: &[u8]) -> String {
    let out = run(&mut client.ssh_command_t(&[]), body);
    assert!(out.status.success(), "upload failed: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

#[test]
fn a_share_sent_over_ssh_is_claimed_over_curl_from_the_bucket_and_leaves_nothing() {
    let s3 = S3Server::start();
    let bucket = s3.bucket();
    let server = s3_server(&s3, &bucket, &[]);
    let client = Client::new(&server);
    // Past one part: the upload is a multipart upload.
    let body = random_bytes(20 << 20);
    let link = upload(&client, &body);
    assert_eq!(
        objects(&s3, &bucket)
            .iter()
            .filter(|k| k.contains("/blobs/"))
            .count(),
        1
    );

    let out = curl_claim(&link, &["-s", "-f"]);
    assert!(out.status.success(), "claim failed: {}", text(&out.stderr));
    assert!(out.stdout == body, "the claimed bytes are the sent bytes");
    let again = curl_claim(&link, &["-s", "-o", "/dev/null", "-w", "%{http_code}"]);
    assert_eq!(text(&again.stdout), "410", "a second claim is refused");

    wait_for(
        "the claimed object is deleted",
        Duration::from_secs(10),
        || !objects(&s3, &bucket).iter().any(|k| k.contains("/blobs/")),
    );
    assert!(
        !server.data_dir().join("blobs").exists(),
        "no blob ever touched the local disk"
    );
    assert_eq!(s3.unfinished_uploads(&bucket), 0);
}

#[test]
fn the_object_store_stopped_mid_upload_tells_the_sender_and_publishes_nothing() {
    let mut s3 = S3Server::start();
    let bucket = s3.bucket();
    let server = s3_server(&s3, &bucket, &[]);
    let client = Client::new(&server);
    let mut ssh = spawn_piped(&mut client.ssh_command_t(&[]));
    let mut stdin = ssh.stdin.take().unwrap();
    let chunk = random_bytes(1 << 20);
    for _ in 0..12 {
        stdin.write_all(&chunk).unwrap();
    }
    stdin.flush().unwrap();
    // Let the server get past its first part before the store goes away.
    std::thread::sleep(Duration::from_secs(1));
    s3.stop();
    for _ in 0..40 {
        if stdin.write_all(&chunk).is_err() {
            break;
        }
    }
    drop(stdin);
    let out = ssh.wait_with_output().unwrap();
    assert!(!out.status.success(), "the upload must fail");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("nothing was stored"), "{stderr}");
    assert!(out.stdout.is_empty(), "no link is printed");
    assert_eq!(healthz(&server), "503", "/healthz reports the outage");

    s3.restart();
    wait_for("/healthz recovers", Duration::from_secs(30), || {
        healthz(&server) == "200"
    });
    let listed = run(&mut client.ssh_command_t(&["ls"]), b"");
    assert!(
        !text(&listed.stdout).contains("file") || text(&listed.stdout).trim().is_empty(),
        "nothing was published: {}",
        text(&listed.stdout)
    );
    assert!(
        !objects(&s3, &bucket).iter().any(|k| k.contains("/blobs/")),
        "no object was completed"
    );
    let body = random_bytes(3 << 20);
    let link = upload(&client, &body);
    let out = curl_claim(&link, &["-s", "-f"]);
    assert!(out.stdout == body, "uploads work again without a restart");
}

#[test]
fn the_object_store_stopped_mid_claim_aborts_the_download() {
    let mut s3 = S3Server::start();
    let bucket = s3.bucket();
    let server = s3_server(&s3, &bucket, &[]);
    let client = Client::new(&server);
    let body = random_bytes(96 << 20);
    let link = upload(&client, &body);

    let dir = temp_dir();
    let saved = dir.path().join("claimed");
    let (url, key) = link.split_once('#').unwrap();
    let mut curl = Command::new(require_tool("curl", "curl"))
        .args(["-s", "-X", "POST", "--limit-rate", "4M", "-d"])
        .arg(format!("key={key}"))
        .arg("-o")
        .arg(&saved)
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the download has started", Duration::from_secs(30), || {
        std::fs::metadata(&saved).map(|m| m.len()).unwrap_or(0) > (1 << 20)
    });
    s3.stop();
    let status = curl.wait().unwrap();
    assert!(
        !status.success(),
        "a download cut by the store must not end as if complete"
    );
    let got = std::fs::metadata(&saved).map(|m| m.len()).unwrap_or(0);
    assert!(got < body.len() as u64, "{got} bytes");
    drop(server);
}

#[test]
fn two_replicas_with_separate_data_dirs_share_redis_the_bucket_and_the_host_key() {
    let s3 = S3Server::start();
    let bucket = s3.bucket();
    let redis = RedisServer::start();
    let keys = temp_dir();
    let key_file = keys.path().join("host_key");
    crate::support::keygen(&key_file);
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    let replica = || {
        let mut args = s3.flags(&bucket, "ots");
        args.extend(["--max-size".into(), "512MiB".into()]);
        TestServer::start(ServerOptions {
            redis_url: Some(redis.url()),
            args,
            env: vec![("ONETIMESHARE_SSH_HOST_KEY_DATA".into(), key_text.clone())],
            ..ServerOptions::default()
        })
    };
    let a = replica();
    let b = replica();
    assert_ne!(a.data_dir(), b.data_dir());

    let fingerprint = crate::support::ssh_client::fingerprint_of(&key_file.with_extension("pub"));
    for server in [&a, &b] {
        assert!(
            server.log().contains(&fingerprint),
            "each replica presents the shared host key"
        );
        assert!(
            !server.data_dir().join("ssh_host_ed25519_key").exists(),
            "a key given as a value is never written to disk"
        );
    }

    let client = Client::new(&a);
    let body = random_bytes(12 << 20);
    let link = upload(&client, &body);
    let on_b = link.replace(&a.http_url(), &b.http_url());
    assert_ne!(on_b, link);
    let out = curl_claim(&on_b, &["-s", "-f"]);
    assert!(out.status.success(), "claim on B: {}", text(&out.stderr));
    assert!(out.stdout == body, "B serves what A stored");
    let again = curl_claim(&link, &["-s", "-o", "/dev/null", "-w", "%{http_code}"]);
    assert_eq!(text(&again.stdout), "410", "A refuses what B served");
    for server in [&a, &b] {
        assert!(!server.data_dir().join("blobs").exists());
    }
}
