//! The SSH ingress end to end: the real OpenSSH client (`ssh`, `scp`, `sftp`) against the real
//! binary on a free port. Each test has its own server, client keys and `known_hosts`; it checks
//! exit codes, exactly what lands on stdout and stderr, and that every printed link claims the
//! exact bytes once (the server is stopped and its stores opened in-process to claim).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::ssh_client::{Client, run, spawn_piped, text};
use crate::support::{
    ServerOptions, TestServer, claim_once, keygen, open_shares, sha256_hex, temp_dir,
    wait_no_temp_files,
};
use onetimeshare::share::{Link, Owner, ShareError};
use onetimeshare::store::MetaBackend;

/// A server whose data dir outlives it, so its stores can be opened after it stopped.
struct Server {
    server: TestServer,
    data: tempfile::TempDir,
}

impl std::ops::Deref for Server {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

/// The data dir of a stopped server (removed on drop).
struct DataDir {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl std::ops::Deref for DataDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Server {
    /// SIGTERM, then hands over the data dir.
    fn stop(self) -> DataDir {
        let status = self.server.terminate();
        assert!(status.success(), "server exit status {status:?}");
        DataDir {
            path: self.data.path().join("data"),
            _dir: self.data,
        }
    }
}

fn server() -> Server {
    server_with(&[])
}

fn server_with(args: &[&str]) -> Server {
    let data = temp_dir();
    let server = TestServer::start(ServerOptions {
        args: args.iter().map(|s| s.to_string()).collect(),
        data_dir: Some(data.path().join("data")),
        ..ServerOptions::default()
    });
    Server { server, data }
}

/// The stdout of a pipe upload: exactly one link and a newline.
fn sole_link(server: &TestServer, out: &Output) -> Link {
    let stdout = text(&out.stdout);
    let line = stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("stdout is not one line: {stdout:?}"));
    assert!(
        !line.contains('\n'),
        "stdout has more than the link: {stdout:?}"
    );
    assert!(
        line.starts_with(&format!("{}/s/", server.http_url())),
        "not a link: {line:?}"
    );
    Link::parse(line).unwrap_or_else(|| panic!("unparseable link {line:?}"))
}

/// Parses scp/sftp stderr: per file `NAME: LINK` then an indented details line.
fn file_links(server: &TestServer, stderr: &str) -> Vec<(String, Link, String)> {
    let mut lines = stderr.lines();
    let mut found = Vec::new();
    let prefix = format!(": {}/s/", server.http_url());
    while let Some(line) = lines.next() {
        let Some(at) = line.find(&prefix) else {
            panic!("unexpected stderr line {line:?} in {stderr:?}");
        };
        let name = line[..at].to_owned();
        let link = Link::parse(&line[at + 2..]).expect("link");
        let details = lines.next().expect("details line").to_owned();
        found.push((name, link, details));
    }
    found
}

fn expect_details(details: &str, size: &str, kind: &str, link: &Link) {
    let handle = link.id().handle();
    assert!(
        details.starts_with(&format!("{size} {kind}, expires in 1d 0h (")),
        "{details:?}"
    );
    assert!(
        details.ends_with(&format!("UTC), works once, id {handle}")),
        "{details:?}"
    );
}

/// No share, no blob, no temp file.
fn assert_nothing_stored(data_dir: &Path, owner: Option<&str>) {
    let blobs: Vec<_> = std::fs::read_dir(data_dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(blobs.is_empty(), "blob dir not empty: {blobs:?}");
    if let Some(owner) = owner {
        let shares = open_shares(data_dir, MetaBackend::Embedded);
        let list = shares
            .0
            .block_on(shares.1.list(&Owner::new(owner)))
            .unwrap();
        assert!(list.is_empty(), "{list:?}");
    }
}

fn assert_log_has_no_secrets(log: &str, links: &[&Link], secrets: &[&str]) {
    for link in links {
        let full = link.expose();
        assert!(!log.contains(full.as_str()), "log contains a link");
        assert!(!log.contains(link.id().as_str()), "log contains a share id");
        assert!(
            !log.contains(link.key().expose_base64().as_str()),
            "log contains a key"
        );
    }
    for secret in secrets {
        assert!(!log.contains(secret), "log contains {secret:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Pipes and commands.

#[test]
fn a_piped_secret_prints_only_the_link_on_stdout_and_details_on_stderr() {
    let server = server();
    let client = Client::new(&server);
    let out = run(&mut client.ssh_command_t(&[]), b"db-password-hunter2\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = sole_link(&server, &out);
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    expect_details(stderr.trim_end(), "20 B", "text", &link);
    assert!(!stderr.contains('\x1b') && !text(&out.stdout).contains('\x1b'));
    let log = server.log();
    let data_dir = server.stop();
    assert_log_has_no_secrets(&log, &[&link], &["hunter2"]);
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    assert_eq!(claim_once(&shares, &link, None), b"db-password-hunter2\n");
}

#[test]
fn ttl_and_json_options_print_one_json_object() {
    let server = server();
    let client = Client::new(&server);
    let out = run(
        &mut client.ssh_command_t(&["--", "--ttl", "1m", "--json"]),
        b"API_KEY=abc\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let link = Link::parse(json["link"].as_str().unwrap()).unwrap();
    assert_eq!(json["kind"], "text");
    assert_eq!(json["size"], 12);
    assert_eq!(json["password"], false);
    assert_eq!(json["id"], link.id().handle().as_str());
    let expires = json["expires_at_ms"].as_u64().unwrap();
    let now = onetimeshare::share::now_millis();
    assert!(
        expires > now + 50_000 && expires <= now + 60_000,
        "{expires} vs {now}"
    );
    let data_dir = server.stop();
    assert_eq!(
        claim_once(&open_shares(&data_dir, MetaBackend::Embedded), &link, None),
        b"API_KEY=abc\n"
    );
}

#[test]
fn a_named_upload_is_a_file_share_with_that_name() {
    let server = server();
    let client = Client::new(&server);
    let out = run(
        &mut client.ssh_command_t(&["--", "--name", "db.env", "--json"]),
        b"X=1\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(json["kind"], "file");
    assert_eq!(json["name"], "db.env");
}

#[test]
fn empty_input_is_refused_and_stores_nothing() {
    let server = server();
    let client = Client::new(&server);
    let out = run(&mut client.ssh_command_t(&[]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "nothing to share: the input was empty; nothing was stored (an empty secret on \
         purpose is announced with --size 0)\n"
    );
    let data_dir = server.stop();
    assert_nothing_stored(&data_dir, Some(&client.fingerprint()));
}

#[test]
fn a_pipe_over_the_size_limit_is_refused_while_streaming() {
    let server = server_with(&["--max-size", "64KiB"]);
    let client = Client::new(&server);
    let out = run(&mut client.ssh_command_t(&[]), &vec![b'x'; 200 * 1024]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "too large: the limit is 64.0 KiB; nothing was stored\n"
    );
    wait_no_temp_files(server.data_dir());
    let data_dir = server.stop();
    assert_nothing_stored(&data_dir, Some(&client.fingerprint()));
}

#[test]
fn unknown_commands_and_bad_options_are_explained() {
    let server = server();
    let client = Client::new(&server);
    let out = run(&mut client.ssh_command_t(&["rm", "-rf", "/"]), b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "unknown command or option \"rm\"; run `help` to see what is possible\n"
    );
    let out = run(&mut client.ssh_command_t(&["--", "--ttl", "30d"]), b"x");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "expiry too long: the maximum is 7d; nothing was stored\n"
    );
    let out = run(&mut client.ssh_command_t(&["help"]), b"");
    assert_eq!(out.status.code(), Some(0));
    let door = onetimeshare::ssh::output::Door {
        host: "127.0.0.1".into(),
        port: server.ssh_addr.port(),
    };
    assert_eq!(text(&out.stdout), onetimeshare::ssh::output::help(&door));
    assert!(
        text(&out.stdout).contains(&format!("ssh -p {} 127.0.0.1", server.ssh_addr.port())),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_expiry_under_a_minute_is_refused_and_stores_nothing() {
    let server = server();
    let client = Client::new(&server);
    for ttl in ["0", "30s"] {
        let out = run(&mut client.ssh_command_t(&["--", "--ttl", ttl]), b"secret");
        assert_eq!(out.status.code(), Some(1), "--ttl {ttl}");
        assert_eq!(text(&out.stdout), "");
        assert_eq!(
            text(&out.stderr),
            "expiry too short: the minimum is 1m; nothing was stored\n"
        );
    }
    let data_dir = server.stop();
    assert_nothing_stored(&data_dir, Some(&client.fingerprint()));
}

#[test]
fn a_pipe_that_differs_from_its_announced_size_or_digest_publishes_nothing() {
    let server = server();
    let client = Client::new(&server);
    let secret = b"DB_PASSWORD=correct-horse-battery-staple\n";
    let right = sha256_hex(secret);
    let size = secret.len().to_string();
    let short = (secret.len() + 10).to_string();
    let cases: [(&[&str], &[u8], &str); 4] = [
        // The producer died after 20 bytes: stdin still closed cleanly.
        (&["--size", size.as_str()], &secret[..20], "bytes but"),
        (&["--size", short.as_str()], secret, "bytes but"),
        (&["--size", "8"], secret, "bytes but"),
        (
            &["--sha256", right.as_str()],
            &secret[..20],
            "SHA-256 differs",
        ),
    ];
    for (args, sent, why) in cases {
        let mut words = vec!["--"];
        words.extend_from_slice(args);
        let out = run(&mut client.ssh_command_t(&words), sent);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "", "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(why) && stderr.ends_with("nothing was stored\n"),
            "{stderr}"
        );
    }
    wait_no_temp_files(server.data_dir());

    // Announced right, it is published as usual.
    let out = run(
        &mut client.ssh_command_t(&["--", "--size", &size, "--sha256", &right]),
        secret,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = sole_link(&server, &out);
    let log = server.log();
    let data_dir = server.stop();
    assert_log_has_no_secrets(&log, &[&link], &["correct-horse", &right]);
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    let owned = shares
        .0
        .block_on(shares.1.list(&Owner::new(client.fingerprint())))
        .unwrap();
    assert_eq!(owned.len(), 1, "only the announced-right upload is a share");
    assert_eq!(claim_once(&shares, &link, None), secret);
}

#[test]
fn ls_lists_only_the_callers_shares_and_revoke_destroys_one() {
    let server = server();
    let alice = Client::new(&server);
    let bob = Client::new(&server);
    let first = sole_link(&server, &run(&mut alice.ssh_command_t(&[]), b"one"));
    let second = sole_link(&server, &run(&mut alice.ssh_command_t(&[]), b"two"));
    let bobs = sole_link(&server, &run(&mut bob.ssh_command_t(&[]), b"bob"));

    let out = run(&mut alice.ssh_command_t(&["ls"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("ID "), "{table}");
    // Newest first.
    assert!(
        lines[1].starts_with(second.id().handle().as_str()),
        "{table}"
    );
    assert!(
        lines[2].starts_with(first.id().handle().as_str()),
        "{table}"
    );
    assert!(
        lines[1].contains(" armed ") && lines[1].ends_with("  1d 0h"),
        "{table}"
    );
    assert!(!table.contains(bobs.id().handle().as_str()));

    let handle = first.id().handle();
    let out = run(&mut bob.ssh_command_t(&["revoke", handle.as_str()]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("you have no live share with id {handle}\n")
    );
    let out = run(&mut alice.ssh_command_t(&["revoke", handle.as_str()]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("revoked {handle}\n"));

    let out = run(&mut alice.ssh_command_t(&["ls"]), b"");
    let table = text(&out.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(handle.as_str()) && l.contains(" revoked ")),
        "{table}"
    );

    let data_dir = server.stop();
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    let claim = shares
        .0
        .block_on(shares.1.claim(first.id(), first.key(), None));
    assert!(matches!(claim, Err(ShareError::Revoked { .. })));
    assert_eq!(claim_once(&shares, &second, None), b"two");
}

#[test]
fn a_password_is_read_from_the_first_line_of_stdin_never_the_command_line() {
    let server = server();
    let client = Client::new(&server);
    let out = run(
        &mut client.ssh_command_t(&["--", "--password-stdin"]),
        b"correct horse\nthe secret\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = sole_link(&server, &out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(", password required, id "), "{stderr}");
    expect_details(
        &stderr.trim_end().replace(", password required", ""),
        "11 B",
        "text",
        &link,
    );
    // Without a password line, nothing is stored.
    let out = run(
        &mut client.ssh_command_t(&["--", "--password-stdin"]),
        b"no newline",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "--password-stdin: expected a password line, then the secret\n"
    );
    let log = server.log();
    let data_dir = server.stop();
    assert_log_has_no_secrets(&log, &[&link], &["correct horse", "the secret"]);
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    let without = shares
        .0
        .block_on(shares.1.claim(link.id(), link.key(), None));
    assert!(matches!(without, Err(ShareError::PasswordRequired)));
    assert_eq!(
        claim_once(&shares, &link, Some("correct horse")),
        b"the secret\n"
    );
}

#[test]
fn a_dumb_terminal_session_gets_the_usage_text_and_exit_zero() {
    let server = server();
    let client = Client::new(&server);
    let mut cmd = Command::new("ssh");
    // TERM=dumb: any other terminal gets the full-screen interface (tests/e2e/tui.rs).
    cmd.env("TERM", "dumb").args(client.options()).args([
        "-tt",
        "-p",
        &client.port.to_string(),
        "127.0.0.1",
    ]);
    let out = run(&mut cmd, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = onetimeshare::ssh::output::USAGE_ON_TERMINAL.replace('\n', "\r\n");
    assert!(
        text(&out.stdout).starts_with(&expected),
        "{:?}",
        text(&out.stdout)
    );
}

// ---------------------------------------------------------------------------------------------
// scp (both protocols) and sftp.

#[test]
fn scp_in_sftp_mode_makes_one_share_per_file_with_its_link_on_stderr() {
    let server = server();
    let client = Client::new(&server);
    let a = client.file("a.env", b"A=1\n");
    let b = client.file("b.txt", &vec![7u8; 300_000]);
    let c = client.file("c d.txt", b"spaced");
    let out = client.scp(&[], &[&a, &b, &c]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let files = file_links(&server, &text(&out.stderr));
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["a.env", "b.txt", "c d.txt"]);
    expect_details(files[0].2.trim_start(), "4 B", "file", &files[0].1);
    expect_details(files[1].2.trim_start(), "293.0 KiB", "file", &files[1].1);
    assert!(files.iter().all(|f| f.2.starts_with("  ")));
    let log = server.log();
    let data_dir = server.stop();
    assert_log_has_no_secrets(&log, &[&files[0].1, &files[1].1], &["a.env", "c d.txt"]);
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    assert_eq!(claim_once(&shares, &files[0].1, None), b"A=1\n");
    assert_eq!(claim_once(&shares, &files[1].1, None), vec![7u8; 300_000]);
    assert_eq!(claim_once(&shares, &files[2].1, None), b"spaced");
}

#[test]
fn scp_in_sftp_mode_sends_writes_as_large_as_openssh_server_takes() {
    let server = server();
    let client = Client::new(&server);
    // 3 MB that no run of equal bytes could hide a misplaced piece in.
    let content: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = client.file("big.bin", &content);
    let out = client.scp(&["-vvv"], &[&file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    // Without the limits extension OpenSSH's client would send 32 KiB writes.
    assert!(
        stderr
            .contains("server upload/download buffer sizes 261120 / 261120; using 261120 / 261120"),
        "{stderr}"
    );
    let ours: String = stderr
        .lines()
        .skip_while(|line| !line.contains("/s/"))
        .take(2)
        .map(|line| format!("{line}\n"))
        .collect();
    let files = file_links(&server, &ours);
    expect_details(files[0].2.trim_start(), "2.9 MiB", "file", &files[0].1);
    let data_dir = server.stop();
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    assert_eq!(claim_once(&shares, &files[0].1, None), content);
}

#[test]
fn legacy_scp_with_preserve_makes_one_share_per_file() {
    let server = server();
    let client = Client::new(&server);
    let a = client.file("one", b"first");
    let b = client.file("two", &vec![1u8; 100_000]);
    let out = client.scp(&["-O", "-p"], &[&a, &b]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let files = file_links(&server, &text(&out.stderr));
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].0, "one");
    assert_eq!(files[1].0, "two");
    expect_details(files[0].2.trim_start(), "5 B", "file", &files[0].1);
    let data_dir = server.stop();
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    assert_eq!(claim_once(&shares, &files[0].1, None), b"first");
    assert_eq!(claim_once(&shares, &files[1].1, None), vec![1u8; 100_000]);
}

#[test]
fn legacy_scp_refuses_directories_clearly() {
    let server = server();
    let client = Client::new(&server);
    let dir = client.dir.path().join("folder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("x"), b"x").unwrap();
    let out = client.scp(&["-O", "-r"], &[&dir]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "directories cannot be shared: send the files one by one (or a tar archive)\n"
    );
}

#[test]
fn sftp_batch_put_makes_a_share_and_exits_zero() {
    let server = server();
    let client = Client::new(&server);
    let f = client.file("note.txt", b"put me");
    let out = client.sftp_batch(&format!(
        "put {}\nput {} renamed.txt\n",
        f.display(),
        f.display()
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files = file_links(&server, &text(&out.stderr));
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["note.txt", "renamed.txt"]);
    let data_dir = server.stop();
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    assert_eq!(claim_once(&shares, &files[0].1, None), b"put me");
    assert_eq!(claim_once(&shares, &files[1].1, None), b"put me");
}

#[test]
fn sftp_refuses_downloads() {
    let server = server();
    let client = Client::new(&server);
    let out = client.sftp_batch("get secret\n");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn oversize_files_are_refused_in_every_mode_and_nothing_is_stored() {
    let server = server_with(&["--max-size", "64KiB"]);
    let client = Client::new(&server);
    let big = client.file("big.bin", &vec![9u8; 300 * 1024]);

    let out = client.scp(&[], &[&big]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("big.bin: too large: the limit is 64.0 KiB; nothing was stored\n"),
        "{stderr}"
    );

    let out = client.scp(&["-O"], &[&big]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "big.bin: too large (300.0 KiB); the limit is 64.0 KiB, nothing was stored\n"
    );

    let out = client.sftp_batch(&format!("put {}\n", big.display()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("big.bin: too large: the limit is 64.0 KiB; nothing was stored\n"),
        "{}",
        text(&out.stderr)
    );

    wait_no_temp_files(server.data_dir());
    let data_dir = server.stop();
    assert_nothing_stored(&data_dir, Some(&client.fingerprint()));
}

#[test]
fn hostile_file_names_are_cleaned_before_anyone_sees_them() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt as _;
    let server = server();
    let client = Client::new(&server);
    let raw: &[u8] = b"e\x1b[31mvil\nna\xffme.txt";
    let path = client.dir.path().join(OsStr::from_bytes(raw));
    std::fs::write(&path, b"hostile").unwrap();
    let out = client.scp(&[], &[&path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    let files = file_links(&server, &stderr);
    assert_eq!(files[0].0, "e[31mvilname.txt");

    // `../x` as the remote name: only the basename survives.
    let f = client.file("plain", b"dots");
    let out = client.sftp_batch(&format!("put {} ../../x\n", f.display()));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files2 = file_links(&server, &text(&out.stderr));
    assert_eq!(files2[0].0, "x");

    let data_dir = server.stop();
    let shares = open_shares(&data_dir, MetaBackend::Embedded);
    let (rt, s) = &shares;
    let claimed = rt
        .block_on(s.claim(files[0].1.id(), files[0].1.key(), None))
        .unwrap();
    assert_eq!(claimed.meta.name.as_deref(), Some("e[31mvilname.txt"));
    assert_eq!(claim_once(&shares, &files2[0].1, None), b"dots");
}

#[test]
fn invisible_and_bidi_characters_never_reach_a_share_name() {
    let server = server();
    let client = Client::new(&server);
    // Each of these passed the old deny-list: they hide text or make a name lie on screen.
    let sneaky = "\u{FE0F}in\u{061C}vo\u{2028}ice\u{E0041}\u{E007F}\u{00AD}\u{115F}\u{1160}\u{3164}\u{FFA0}\u{180E}.pdf";
    let out = run(
        &mut client.ssh_command_t(&["--", "--name", &format!("'{sneaky}'"), "--json"]),
        b"x",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(json["name"], "invoice.pdf");
}

#[test]
fn a_client_killed_mid_upload_leaves_no_share_and_no_temp_file() {
    let server = server();
    let client = Client::new(&server);
    let mut child = spawn_piped(&mut client.ssh_command_t(&[]));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&vec![b'z'; 2 << 20]).unwrap();
    stdin.flush().unwrap();
    // Wait until the server has started writing the temp blob, then kill the client.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(server.data_dir().join("blobs"))
        .unwrap()
        .count()
        == 0
    {
        assert!(Instant::now() < deadline, "upload never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    wait_no_temp_files(server.data_dir());
    let data_dir = server.stop();
    assert_nothing_stored(&data_dir, Some(&client.fingerprint()));
}

// ---------------------------------------------------------------------------------------------
// Identity, access control, host key.

#[test]
fn the_host_key_survives_a_restart() {
    let server = server();
    let mut client = Client::new(&server);
    // One alias for both servers' ports, so the second connection checks the same entry.
    client.extra = vec!["-o".into(), "HostKeyAlias=onetimeshare-test".into()];
    let out = run(&mut client.ssh_command_t(&["help"]), b"");
    assert_eq!(out.status.code(), Some(0));
    let key_file = server.data_dir().join("ssh_host_ed25519_key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let first_log = server.log();
    let data_dir = server.stop();
    let fp = |log: &str| {
        let at = log.find("host_key=").expect("fingerprint logged");
        log[at..].split_whitespace().next().unwrap().to_owned()
    };
    let again = TestServer::start(ServerOptions {
        data_dir: Some(data_dir.to_path_buf()),
        ..ServerOptions::default()
    });
    assert_eq!(fp(&first_log), fp(&again.log()));
    // The client's known_hosts entry still matches, strictly.
    client.port = again.ssh_addr.port();
    client
        .extra
        .extend(["-o".into(), "StrictHostKeyChecking=yes".into()]);
    let out = run(&mut client.ssh_command_t(&["help"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn identity_is_the_verified_key_not_an_offered_one() {
    // soft-serve GHSA-pchf-49fh-w34r: offer the victim's public key first, then authenticate
    // with our own; we must act as ourselves. OpenSSH offers `stolen/id_ed25519.pub` (the
    // victim's public key); once the server accepts the offer, ssh finds the private file does
    // not match it and moves on to the attacker's own key.
    let server = server();
    let victim = Client::new(&server);
    let victims = sole_link(&server, &run(&mut victim.ssh_command_t(&[]), b"victim's"));
    let mut attacker = Client::new(&server);
    let stolen = attacker.dir.path().join("stolen");
    std::fs::create_dir(&stolen).unwrap();
    std::fs::copy(
        victim.key.with_extension("pub"),
        stolen.join("id_ed25519.pub"),
    )
    .unwrap();
    std::fs::copy(&attacker.key, stolen.join("id_ed25519")).unwrap();
    attacker.extra = vec![
        "-o".into(),
        "LogLevel=DEBUG1".into(),
        "-i".into(),
        stolen.join("id_ed25519").display().to_string(),
    ];
    let out = run(&mut attacker.ssh_command_t(&["ls"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let debug = text(&out.stderr);
    let victim_fp = victim.fingerprint();
    let offered = format!(
        "Server accepts key: {} ED25519 {victim_fp}",
        stolen.join("id_ed25519").display()
    );
    assert!(
        debug.contains(&offered),
        "the victim's key was not offered first: {debug}"
    );
    assert_eq!(text(&out.stdout), "You have no live shares.\n");
    assert!(!text(&out.stdout).contains(victims.id().handle().as_str()));
    attacker.extra.drain(..2);
    let handle = victims.id().handle();
    let out = run(
        &mut attacker.ssh_command_t(&["revoke", handle.as_str()]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let log = server.log();
    assert!(
        log.contains(&format!("key={}", attacker.fingerprint())),
        "{log}"
    );
    assert_eq!(log.matches(&format!("key={victim_fp}")).count(), 1, "{log}");
}

#[test]
fn an_allow_list_admits_listed_keys_only() {
    let dir = temp_dir();
    let listed = dir.path().join("listed");
    keygen(&listed);
    let list = dir.path().join("authorized_keys");
    std::fs::copy(listed.with_extension("pub"), &list).unwrap();
    let server = server_with(&["--ssh-authorized-keys", list.to_str().unwrap()]);
    let mut ok = Client::new(&server);
    ok.key = listed;
    let out = run(&mut ok.ssh_command_t(&["help"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut stranger = Client::new(&server);
    as_a_person_sees_it(&mut stranger);
    let out = run(&mut stranger.ssh_command_t(&["help"]), b"");
    assert_eq!(out.status.code(), Some(255));
    let said = text(&out.stderr);
    assert!(
        said.contains("only the keys its\noperator listed"),
        "{said}"
    );
    assert!(said.contains("Permission denied (publickey)."), "{said}");
}

#[test]
fn keyless_clients_are_refused_by_default_and_told_how_to_make_a_key() {
    let server = server();
    let mut client = Client::keyless(&server);
    as_a_person_sees_it(&mut client);
    let out = run(&mut client.ssh_command_t(&[]), b"x");
    assert_eq!(out.status.code(), Some(255));
    let said = text(&out.stderr);
    assert!(said.contains("ssh-keygen -t ed25519"), "{said}");
    assert!(said.contains("Permission denied (publickey)."), "{said}");
    assert_nothing_stored(&server.stop(), None);
}

/// OpenSSH as a person runs it: interactive auth allowed (the harness sets BatchMode, which
/// skips keyboard-interactive) and the default log level (the harness quiets it to ERROR).
fn as_a_person_sees_it(client: &mut Client) {
    let person = ["BatchMode=no", "LogLevel=INFO"];
    client.extra.extend(
        person
            .iter()
            .flat_map(|o| ["-o".to_owned(), (*o).to_owned()]),
    );
}

#[test]
fn keyless_clients_may_upload_when_allowed_but_have_no_ls() {
    let server = server_with(&["--ssh-allow-keyless"]);
    let client = Client::keyless(&server);
    let out = run(&mut client.keyless_command_t(&[]), b"anon");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = sole_link(&server, &out);
    let out = run(&mut client.keyless_command_t(&["ls"]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "ls needs an SSH key: keyless sessions have no shares to list\n"
    );
    let data_dir = server.stop();
    assert_eq!(
        claim_once(&open_shares(&data_dir, MetaBackend::Embedded), &link, None),
        b"anon"
    );
}

#[test]
fn the_upload_rate_limit_refuses_with_a_clear_message() {
    let server = server_with(&["--ssh-uploads-per-minute", "2"]);
    let client = Client::new(&server);
    for _ in 0..2 {
        let out = run(&mut client.ssh_command_t(&[]), b"x");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let out = run(&mut client.ssh_command_t(&[]), b"x");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("upload rate limit: at most 2 uploads per minute; try again in "),
        "{stderr}"
    );
}

#[test]
fn a_key_over_its_session_cap_is_told_why() {
    let server = server_with(&["--ssh-max-sessions-per-key", "1"]);
    let client = Client::new(&server);
    // One session stays open (its stdin never closes) while a second one tries to upload.
    let mut held = client
        .ssh_command_t(&[])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("ssh client authenticated") {
        assert!(
            Instant::now() < deadline,
            "first session never authenticated"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = run(&mut client.ssh_command_t(&[]), b"second");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "too many connections with your key at once; close some and try again\n"
    );
    held.kill().unwrap();
    let _ = held.wait();
}

#[test]
fn a_client_that_never_authenticates_is_disconnected() {
    use std::io::{Read, Write};
    let server = server();
    let mut socket = std::net::TcpStream::connect(server.ssh_addr).unwrap();
    socket.write_all(b"SSH-2.0-silent_test\r\n").unwrap();
    // Key exchange and authentication must finish within the server's 30 s deadline; this
    // client never even starts them. The server must close the connection by itself.
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(75)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut sink = [0u8; 4096];
    loop {
        match socket.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(err) => panic!(
                "still connected after {:?} ({err}): unauthenticated clients can hold slots\n{}",
                started.elapsed(),
                server.log()
            ),
        }
    }
    server.wait_for_log(
        "ssh authentication not completed in time",
        Duration::from_secs(5),
    );
}

#[test]
fn a_name_with_spaces_split_by_openssh_says_how_to_quote_it_and_quoted_twice_works() {
    let server = server();
    let client = Client::new(&server);
    // One argv word locally; OpenSSH joins the remote words with spaces, so the quotes are lost.
    let out = run(
        &mut client.ssh_command_t(&["--", "--name", "Q3 report.pdf"]),
        b"quarterly",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let said = text(&out.stderr);
    assert!(said.contains("quoted twice"), "{said}");
    assert!(said.contains(r#"--name "'Q3 report.pdf'""#), "{said}");

    let out = run(
        &mut client.ssh_command_t(&["--", "--name", "'Q3 report.pdf'", "--json"]),
        b"quarterly",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], "Q3 report.pdf");
}
