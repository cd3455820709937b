//! Scale-out end to end: three replicas (A, B, C), each with its own data directory, on one real
//! Redis Cluster and one real S3 bucket (Garage), presenting one SSH host key given as an
//! environment value. A share sent over `ssh` to A is claimed with `curl` on C byte for byte and
//! nothing lands on any local disk; 200 parallel `curl` claims split over the three deliver
//! exactly once, round after round; wrong passwords split over the three lock the share after
//! exactly `--max-attempts`, everywhere, without burning it. What one replica does alone (the
//! claim race on one Redis, the password countdown) is `http`'s; the S3 faults are `s3`'s.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::s3::S3Server;
use crate::support::ssh_client::{Client, run, text};
use crate::support::{
    RedisCluster, ServerOptions, TestServer, curl_claim, random_bytes, request, require_tool,
    temp_dir,
};

/// Wrong passwords before a share locks, on every replica.
const MAX_ATTEMPTS: usize = 5;

/// Claims racing for one share in each round, split round-robin over the replicas.
const RACERS: usize = 200;

/// Three replicas on `cluster` and one bucket; only the Redis Cluster, the bucket and the host
/// key (an environment value, never a file) are shared. The cluster and the object store are
/// kept with them so they outlive the replicas.
struct Deployment {
    replicas: [TestServer; 3],
    s3: S3Server,
    bucket: String,
    _cluster: RedisCluster,
    _keys: tempfile::TempDir,
}

impl Deployment {
    fn start() -> Self {
        let s3 = S3Server::start();
        let bucket = s3.bucket();
        let cluster = RedisCluster::start();
        let keys = temp_dir();
        let key_file = keys.path().join("host_key");
        crate::support::keygen(&key_file);
        let key_text = std::fs::read_to_string(&key_file).unwrap();
        let replica = || {
            let mut args = s3.flags(&bucket, "ots");
            args.extend(
                [
                    "--max-attempts",
                    &MAX_ATTEMPTS.to_string(),
                    // Every racer comes from 127.0.0.1: neither the claim rate nor the per-client
                    // connection cap may turn a racer away before the store decides.
                    "--claims-per-minute",
                    "0",
                    "--http-max-connections-per-client",
                    "1024",
                ]
                .map(String::from),
            );
            TestServer::start(ServerOptions {
                redis_url: Some(cluster.url()),
                args,
                env: vec![("ONETIMESHARE_SSH_HOST_KEY_DATA".into(), key_text.clone())],
                log_level: Some("info".into()),
                ..ServerOptions::default()
            })
        };
        let replicas = [replica(), replica(), replica()];
        for (i, a) in replicas.iter().enumerate() {
            for b in &replicas[i + 1..] {
                assert_ne!(
                    a.data_dir(),
                    b.data_dir(),
                    "each replica has its own data dir"
                );
            }
        }
        Self {
            replicas,
            s3,
            bucket,
            _cluster: cluster,
            _keys: keys,
        }
    }

    /// Panics if any replica's data dir holds a blob or a host key file.
    fn assert_nothing_on_local_disk(&self) {
        for server in &self.replicas {
            assert_eq!(
                files_under(server.data_dir()),
                Vec::<String>::new(),
                "no blob or key touches a replica's disk"
            );
        }
    }
}

/// Every file under `dir` whose name says it is a blob or a key (none may exist).
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let shown = path.display().to_string();
                if shown.contains("blob") || shown.contains("host_key") {
                    found.push(shown);
                }
            }
        }
    }
    found
}

/// Uploads `stdin` over `ssh` (pipe mode, `args` after `--`) to `server`; the printed link.
fn upload(server: &TestServer, args: &[&str], stdin: &[u8]) -> String {
    let client = Client::new(server);
    let out = run(&mut client.ssh_command_t(args), stdin);
    assert!(out.status.success(), "upload failed: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// `link` pointed at `server` instead of the replica that printed it.
fn on(server: &TestServer, link: &str) -> String {
    let (url, key) = link.split_once('#').unwrap();
    let path = &url[url.find("/s/").expect("a share link has /s/")..];
    format!("{}{path}#{key}", server.http_url())
}

/// Starts `curl -X POST` of `link` (with `fields` as extra `-d` form fields), its body saved to
/// `body` and its status written to stdout.
fn spawn_claim(link: &str, fields: &[&str], body: &Path) -> Child {
    let (url, key) = link.split_once('#').unwrap();
    let mut command = Command::new(require_tool("curl", "curl"));
    command
        .args([
            "-sS",
            "--max-time",
            "60",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
        ])
        .args(["-d", &format!("key={key}")]);
    for field in fields {
        command.args(["-d", field]);
    }
    command
        .arg("-o")
        .arg(body)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run curl")
}

/// Waits for every claim; (status, body) in the order they were started.
fn collect(children: Vec<Child>, bodies: &[std::path::PathBuf]) -> Vec<(String, Vec<u8>)> {
    children
        .into_iter()
        .zip(bodies)
        .map(|(child, body)| {
            let out = child.wait_with_output().unwrap();
            (
                text(&out.stdout).trim().to_owned(),
                std::fs::read(body).unwrap_or_default(),
            )
        })
        .collect()
}

/// Claims every link (all of one share) at once with one `curl --parallel` — 200 connections
/// opened together rather than 200 processes, which a busy 2-core machine would start one after
/// another; (status, body) in the order of `links`.
fn race(links: &[String], bodies: &[std::path::PathBuf]) -> Vec<(String, Vec<u8>)> {
    let key = links[0].split_once('#').unwrap().1;
    let mut command = Command::new(require_tool("curl", "curl"));
    command
        .args(["-sS", "--max-time", "60", "-X", "POST"])
        .args(["-d", &format!("key={key}")])
        .args(["--parallel", "--parallel-immediate", "--parallel-max"])
        .arg(links.len().to_string())
        .args(["-w", "%{http_code} %{filename_effective}\\n"]);
    for (link, body) in links.iter().zip(bodies) {
        let (url, _) = link.split_once('#').unwrap();
        command.arg(url).arg("-o").arg(body);
    }
    let out = command.output().expect("run curl");
    let written = text(&out.stdout);
    bodies
        .iter()
        .map(|body| {
            let name = body.display().to_string();
            let status = written
                .lines()
                .find_map(|l| l.strip_suffix(name.as_str()))
                .map_or_else(|| "no reply".to_owned(), |s| s.trim().to_owned());
            (status, std::fs::read(body).unwrap_or_default())
        })
        .collect()
}

#[test]
fn a_share_sent_over_ssh_to_a_is_claimed_with_curl_on_c_and_nothing_touches_a_local_disk() {
    let deployment = Deployment::start();
    let [a, b, c] = &deployment.replicas;
    // Past one part: the upload is a multipart upload.
    let body = random_bytes(12 << 20);
    let link = upload(a, &[], &body);
    assert!(link.starts_with(&a.http_url()), "{link}");
    deployment.assert_nothing_on_local_disk();

    let out = curl_claim(&on(c, &link), &["-s", "-f"]);
    assert!(out.status.success(), "claim on C: {}", text(&out.stderr));
    assert!(out.stdout == body, "C serves exactly what A stored");
    for server in [a, b, c] {
        let again = curl_claim(
            &on(server, &link),
            &["-s", "-o", "/dev/null", "-w", "%{http_code}"],
        );
        assert_eq!(text(&again.stdout), "410", "no replica serves it again");
    }
    deployment.assert_nothing_on_local_disk();
    assert_eq!(deployment.s3.unfinished_uploads(&deployment.bucket), 0);
}

#[test]
fn two_hundred_parallel_claims_split_over_three_replicas_deliver_once_in_each_of_20_rounds() {
    let deployment = Deployment::start();
    let out = temp_dir();
    let bodies: Vec<_> = (0..RACERS)
        .map(|i| out.path().join(format!("{i}.body")))
        .collect();
    for round in 0..20 {
        // The uploading replica rotates too: no replica is special.
        let uploader = &deployment.replicas[round % 3];
        let content = random_bytes(64 * 1024);
        let link = upload(uploader, &[], &content);
        for body in &bodies {
            let _ = std::fs::remove_file(body);
        }
        let links: Vec<String> = (0..RACERS)
            .map(|i| on(&deployment.replicas[i % 3], &link))
            .collect();
        let replies = race(&links, &bodies);
        let statuses: Vec<&str> = replies.iter().map(|(s, _)| s.as_str()).collect();
        let winners: Vec<&Vec<u8>> = replies
            .iter()
            .filter(|(s, _)| s == "200")
            .map(|(_, b)| b)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {statuses:?}");
        assert!(
            *winners[0] == content,
            "round {round}: the winner got other bytes"
        );
        let refused = replies
            .iter()
            .filter(|(s, b)| {
                s == "410"
                    && String::from_utf8_lossy(b)
                        .to_lowercase()
                        .contains("already opened")
            })
            .count();
        assert_eq!(refused, RACERS - 1, "round {round}: {statuses:?}");
    }
    deployment.assert_nothing_on_local_disk();
}

#[test]
fn wrong_passwords_split_over_three_replicas_lock_after_exactly_max_attempts_everywhere() {
    let deployment = Deployment::start();
    let [a, ..] = &deployment.replicas;
    let link = upload(
        a,
        &["--", "--password-stdin"],
        b"correct horse\nguarded secret",
    );

    let out = temp_dir();
    let tries = 3 * MAX_ATTEMPTS;
    let bodies: Vec<_> = (0..tries)
        .map(|i| out.path().join(format!("{i}.body")))
        .collect();
    let children: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let server = &deployment.replicas[i % 3];
            spawn_claim(&on(server, &link), &["password=battery staple"], body)
        })
        .collect();
    let replies = collect(children, &bodies);
    let statuses: Vec<&str> = replies.iter().map(|(s, _)| s.as_str()).collect();
    let counted: Vec<String> = replies
        .iter()
        .filter(|(s, _)| s == "403")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert_eq!(counted.len(), MAX_ATTEMPTS, "{statuses:?}");
    // Each counted attempt was told a different count of what is left: none was counted twice.
    let mut left: Vec<usize> = (0..MAX_ATTEMPTS)
        .map(|n| {
            let needle = if n == 1 {
                "1 attempt left".to_owned()
            } else {
                format!("{n} attempts left")
            };
            counted.iter().filter(|b| b.contains(&needle)).count()
        })
        .collect();
    left.dedup();
    assert_eq!(
        left,
        vec![1],
        "one attempt per remaining count: {counted:?}"
    );
    let locked = statuses.iter().filter(|s| **s == "423").count();
    assert_eq!(locked, tries - MAX_ATTEMPTS, "{statuses:?}");

    let lock_text = format!("locked after {MAX_ATTEMPTS} wrong passwords");
    for server in &deployment.replicas {
        let on_server = on(server, &link);
        let (url, key) = on_server.split_once('#').unwrap();
        let key = format!("key={key}");
        let right = request(&[
            "-X",
            "POST",
            "-d",
            &key,
            "-d",
            "password=correct horse",
            url,
        ]);
        assert_eq!(right.status, 423, "the right password is refused as locked");
        assert!(
            right.text().to_lowercase().contains(&lock_text),
            "{}",
            right.text()
        );
        // Locked, not burned: the share is still there, and says so on every replica.
        let page = request(&[url]);
        assert_eq!(page.status, 423);
        assert!(
            page.text().to_lowercase().contains(&lock_text),
            "{}",
            page.text()
        );
    }
    deployment.assert_nothing_on_local_disk();
}
