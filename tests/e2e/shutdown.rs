//! Graceful shutdown end to end: the real binary gets SIGTERM while real clients (`ssh` pipes,
//! `scp` in both protocols, `curl` downloads) are mid-transfer. With a long `--shutdown-grace`
//! the work in flight finishes (link printed and claimable, download complete); with a short
//! one it is cut — the client is told and fails, nothing half-uploaded is kept (no share, no
//! blob, no temp file) — and either way the server exits 0.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::ssh_client::{Client, run, spawn_piped, text};
use crate::support::{
    ServerOptions, TestServer, claim, curl, curl_claim, open_shares, random_bytes, temp_dir,
};
use onetimeshare::share::Link;
use onetimeshare::store::MetaBackend;

/// What a cut upload's client reads on stderr.
const CUT: &str = "the server shut down before the upload finished; nothing was stored";
/// Generous bound for a server to exit after SIGTERM (a hang guard, not a measurement).
const EXIT_WITHIN: Duration = Duration::from_secs(60);

fn server_on(data: &Path, grace: &str) -> TestServer {
    TestServer::start(ServerOptions {
        data_dir: Some(data.join("data")),
        args: vec!["--shutdown-grace".into(), grace.into()],
        ..ServerOptions::default()
    })
}

fn blob_dir(data: &Path) -> PathBuf {
    data.join("data").join("blobs")
}

fn blob_files(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(blob_dir(data))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Waits until `n` uploads are writing their temp blobs.
fn wait_for_temp_files(data: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let temps = blob_files(data)
            .iter()
            .filter(|n| n.starts_with(".tmp-"))
            .count();
        if temps >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{n} uploads never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ssh ARGS` with stdin held open: write to it, drop it for EOF, or never.
fn held_open(client: &Client, args: &[&str]) -> Child {
    spawn_piped(&mut client.ssh_command_t(args))
}

/// `scp FLAGS FILE 127.0.0.1:`, started, not waited for.
fn scp(client: &Client, flags: &[&str], file: &Path) -> Child {
    Command::new(support::require_tool("scp", "openssh-client"))
        .args(client.options())
        .args(["-P", &client.port.to_string()])
        .args(flags)
        .arg(file)
        .arg("127.0.0.1:")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run scp")
}

#[test]
fn an_upload_in_flight_at_sigterm_finishes_and_new_work_is_turned_away() {
    let data = temp_dir();
    let mut server = server_on(data.path(), "60s");
    let client = Client::new(&server);
    // A multiplexing master connection opened before the signal, for a new session later.
    let control = client.dir.path().join("mux");
    let control_opt = format!("ControlPath={}", control.display());
    let port = server.ssh_addr.port().to_string();
    let master = Command::new("ssh")
        .args(client.options())
        .args(["-o", "ControlMaster=yes", "-o", &control_opt])
        .args(["-o", "ControlPersist=yes", "-N", "-f"])
        .args(["-p", &port, "127.0.0.1"])
        .status()
        .unwrap();
    assert!(master.success(), "ssh control master: {master}");

    let content = random_bytes(2 << 20);
    let mut upload = held_open(&client, &["--", "--name", "big.bin"]);
    let mut stdin = upload.stdin.take().unwrap();
    stdin.write_all(&content[..1 << 20]).unwrap();
    stdin.flush().unwrap();
    wait_for_temp_files(data.path(), 1);

    server.send_sigterm();
    server.wait_for_log("shutting down", Duration::from_secs(15));

    let fresh = run(&mut client.ssh_command_t(&["help"]), b"");
    assert!(
        !fresh.status.success(),
        "a new SSH connection got in: {fresh:?}"
    );
    let http = curl(&["-o", "/dev/null", &server.http_url()]);
    assert!(
        !http.status.success(),
        "a new HTTP connection got in: {http:?}"
    );
    let muxed = Command::new("ssh")
        .args(client.options())
        .args(["-o", &control_opt])
        .args(["-T", "-p", &port, "127.0.0.1", "help"])
        .output()
        .unwrap();
    assert_eq!(muxed.status.code(), Some(1), "{muxed:?}");
    assert!(
        text(&muxed.stderr).contains("the server is shutting down: try again in a moment"),
        "{muxed:?}"
    );

    stdin.write_all(&content[1 << 20..]).unwrap();
    drop(stdin);
    let out = upload.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let link = Link::parse(text(&out.stdout).trim_end()).expect("a link on stdout");
    let status = server.wait_exit(EXIT_WITHIN);
    assert!(status.success(), "server exit status {status:?}");

    let files = blob_files(data.path());
    assert_eq!(
        files.len(),
        1,
        "one committed blob, no temp file: {files:?}"
    );
    assert!(!files[0].starts_with(".tmp-"), "{files:?}");
    let shares = open_shares(&data.path().join("data"), MetaBackend::Embedded);
    assert_eq!(claim(&shares, &link, None), content);
}

#[test]
fn an_upload_still_waiting_for_input_at_the_deadline_is_cut_and_nothing_is_kept() {
    let data = temp_dir();
    let mut server = server_on(data.path(), "2s");
    let mut client = Client::new(&server);
    let mut upload = held_open(&client, &[]);
    let mut stdin = upload.stdin.take().unwrap();
    stdin.write_all(&random_bytes(1 << 20)).unwrap();
    stdin.flush().unwrap();
    wait_for_temp_files(data.path(), 1);

    server.send_sigterm();
    server.wait_for_log("shutdown grace elapsed", Duration::from_secs(30));
    // The client never sent EOF (its stdin is still open): the server ended it.
    let out = upload.wait_with_output().unwrap();
    drop(stdin);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "no link: {out:?}");
    assert!(text(&out.stderr).contains(CUT), "{out:?}");
    let status = server.wait_exit(EXIT_WITHIN);
    assert!(status.success(), "server exit status {status:?}");
    let log = server.log();
    assert!(log.contains("upload cut by shutdown"), "{log}");
    assert!(!log.contains("share armed"), "{log}");
    assert_eq!(blob_files(data.path()), Vec::<String>::new());

    // After a restart on the same data dir, the sender has nothing.
    let restarted = server_on(data.path(), "2s");
    client.connect_to(&restarted);
    let ls = run(&mut client.ssh_command_t(&["ls"]), b"");
    assert!(ls.status.success(), "{ls:?}");
    assert_eq!(text(&ls.stdout), "You have no live shares.\n");
}

#[test]
fn scp_uploads_cut_at_the_deadline_say_why_and_fail_in_both_protocols() {
    let data = temp_dir();
    let mut server = server_on(data.path(), "2s");
    let client = Client::new(&server);
    let file = client.dir.path().join("big.bin");
    std::fs::write(&file, random_bytes(4 << 20)).unwrap();
    // -l 200: 200 Kbit/s, far too slow to finish before the deadline.
    let legacy = scp(&client, &["-O", "-l", "200"], &file);
    let sftp = scp(&client, &["-l", "200"], &file);
    wait_for_temp_files(data.path(), 2);

    server.send_sigterm();
    let legacy = legacy.wait_with_output().unwrap();
    let sftp = sftp.wait_with_output().unwrap();
    assert!(!legacy.status.success(), "{legacy:?}");
    assert!(text(&legacy.stderr).contains(CUT), "scp -O: {legacy:?}");
    assert!(!sftp.status.success(), "{sftp:?}");
    assert!(text(&sftp.stderr).contains(CUT), "scp (SFTP): {sftp:?}");
    let status = server.wait_exit(EXIT_WITHIN);
    assert!(status.success(), "server exit status {status:?}");
    assert_eq!(blob_files(data.path()), Vec::<String>::new());
    let log = server.log();
    assert!(!log.contains("share armed"), "nothing was published: {log}");
    assert_eq!(
        log.matches("scp upload cut by shutdown").count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("sftp session cut by shutdown").count(),
        1,
        "{log}"
    );
}

/// Uploads `content` as a file share over a real `ssh` pipe; returns the printed link.
fn upload_file(client: &Client, content: &[u8]) -> String {
    let out = run(
        &mut client.ssh_command_t(&["--", "--name", "big.bin"]),
        content,
    );
    assert!(out.status.success(), "{out:?}");
    text(&out.stdout).trim_end().to_owned()
}

#[test]
fn a_download_in_flight_at_sigterm_finishes_within_the_grace() {
    let data = temp_dir();
    let mut server = server_on(data.path(), "60s");
    let client = Client::new(&server);
    let content = random_bytes(32 << 20);
    let link = upload_file(&client, &content);
    let out_file = client.dir.path().join("download");
    let out_arg = out_file.display().to_string();

    let (url, key) = link.split_once('#').unwrap();
    let key = format!("key={key}");
    let download = std::process::Command::new("curl")
        .args(["-sS", "-f", "--limit-rate", "4M", "-X", "POST", "-d", &key])
        .args(["-o", &out_arg, url])
        .output();
    // Signal once the claim went through, while the body is still streaming.
    let downloader = std::thread::spawn(move || download);
    server.wait_for_log("share claimed", Duration::from_secs(15));
    server.send_sigterm();

    let result = downloader.join().unwrap().unwrap();
    assert!(result.status.success(), "{result:?}");
    assert_eq!(std::fs::read(&out_file).unwrap(), content);
    let status = server.wait_exit(EXIT_WITHIN);
    assert!(status.success(), "server exit status {status:?}");
    assert_eq!(blob_files(data.path()), Vec::<String>::new());
}

#[test]
fn a_download_still_streaming_at_the_deadline_is_cut_short_and_its_blob_removed() {
    let data = temp_dir();
    let mut server = server_on(data.path(), "1s");
    let client = Client::new(&server);
    let content = random_bytes(32 << 20);
    let link = upload_file(&client, &content);
    let out_file = client.dir.path().join("download");
    let out_arg = out_file.display().to_string();

    let downloader = std::thread::spawn(move || {
        // 2 MiB/s: 16 s for 32 MiB, while the grace is 1 s. (Not slower: after the cut, curl
        // still drains what the kernel buffered for it at this rate before it sees the end.)
        curl_claim(&link, &["-f", "--limit-rate", "2M", "-o", &out_arg])
    });
    server.wait_for_log("share claimed", Duration::from_secs(15));
    server.send_sigterm();

    let result = downloader.join().unwrap();
    assert!(
        !result.status.success(),
        "a cut download must fail: {result:?}"
    );
    let received = std::fs::metadata(&out_file).map(|m| m.len()).unwrap_or(0);
    assert!(received < content.len() as u64, "{received} bytes");
    let status = server.wait_exit(EXIT_WITHIN);
    assert!(status.success(), "server exit status {status:?}");
    let log = server.log();
    assert!(log.contains("cut"), "{log}");
    assert_eq!(blob_files(data.path()), Vec::<String>::new());
}
