//! Claiming over SSH (`ssh HOST get LINK > file`) with the real OpenSSH client: the bytes on
//! stdout are exactly the bytes sent, messages go to stderr, the exit status says whether the
//! content arrived, and the claim is the same single atomic step as the HTTP POST — a second
//! `get`, an HTTP claim, or 99 racing `get`s all see "already opened". A 0-byte share (only
//! when announced with `--size 0`) is got as nothing, over SSH and HTTP alike.

use std::fs::File;
use std::process::{Output, Stdio};

use crate::support::ssh_client::{Client, run, text};
use crate::support::{ServerOptions, TestServer, curl_claim, random_bytes, request, temp_dir};

fn server_with(args: &[&str]) -> TestServer {
    TestServer::start(ServerOptions {
        args: args.iter().map(|s| s.to_string()).collect(),
        log_level: Some("debug".into()),
        ..ServerOptions::default()
    })
}

/// Uploads `path` with a pipe and returns the printed link.
fn upload_file(client: &Client, path: &std::path::Path, args: &[&str]) -> String {
    let out = client
        .ssh_command_t(args)
        .stdin(File::open(path).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "upload failed: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// `ssh HOST get LINK > out`: stdout straight into a file, as a shell redirect does.
fn get_into(client: &Client, link: &str, out: &std::path::Path, stdin: &[u8]) -> Output {
    let mut cmd = client.ssh_command_t(&["get", &format!("'{link}'")]);
    if !stdin.is_empty() {
        cmd = client.ssh_command_t(&["get", "--password-stdin", &format!("'{link}'")]);
    }
    let child = cmd
        .stdin(Stdio::piped())
        .stdout(File::create(out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin);
    }
    child.wait_with_output().unwrap()
}

#[test]
fn get_writes_the_exact_bytes_of_any_size_to_stdout_and_claims_once() {
    let server = server_with(&["--max-size", "400MiB"]);
    let client = Client::new(&server);
    let dir = temp_dir();
    let mut keys = Vec::new();
    for (len, name) in [(1usize, "one"), (1 << 20, "mib"), (300 << 20, "big")] {
        let source = dir.path().join(name);
        std::fs::write(&source, random_bytes(len)).unwrap();
        let link = upload_file(&client, &source, &[]);
        keys.push(link.split_once('#').unwrap().1.to_owned());
        let got = dir.path().join(format!("{name}.out"));
        let out = get_into(&client, &link, &got, b"");
        assert!(out.status.success(), "{len} B: {}", text(&out.stderr));
        assert!(
            std::fs::read(&source).unwrap() == std::fs::read(&got).unwrap(),
            "{len} B: the bytes on stdout differ from the bytes sent"
        );
        std::fs::remove_file(&source).unwrap();
        std::fs::remove_file(&got).unwrap();

        let again = get_into(&client, &link, &got, b"");
        assert_eq!(again.status.code(), Some(1));
        assert!(std::fs::read(&got).unwrap().is_empty(), "nothing on stdout");
        assert!(
            text(&again.stderr).starts_with("already opened at "),
            "{}",
            text(&again.stderr)
        );
        let http = curl_claim(&link, &["-sS"]);
        assert!(
            text(&http.stdout).starts_with("already opened at "),
            "{}",
            text(&http.stdout)
        );
    }
    let log = server.log();
    for key in keys {
        assert!(!log.contains(&key), "the link key reached the log");
    }
}

#[test]
fn an_empty_share_announced_with_size_0_is_got_as_nothing_and_only_once() {
    let server = server_with(&[]);
    let client = Client::new(&server);
    // Unannounced, empty input is still refused: `cat missing | ssh HOST` publishes nothing.
    let refused = run(&mut client.ssh_command_t(&[]), b"");
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    assert!(
        text(&refused.stderr).contains("--size 0"),
        "{}",
        text(&refused.stderr)
    );
    // Announced, it is a share of 0 bytes, and a byte more is a mismatch.
    let mismatch = run(&mut client.ssh_command_t(&["--", "--size", "0"]), b"x");
    assert_eq!(
        mismatch.status.code(),
        Some(1),
        "{}",
        text(&mismatch.stderr)
    );
    let out = run(&mut client.ssh_command_t(&["--", "--size", "0"]), b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = text(&out.stdout).trim().to_owned();
    assert!(link.contains("/s/"), "{link}");

    let dir = temp_dir();
    let got = dir.path().join("out");
    std::fs::write(&got, b"left over").unwrap();
    let first = get_into(&client, &link, &got, b"");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(std::fs::read(&got).unwrap(), b"", "nothing on stdout");
    assert_eq!(text(&first.stderr), "", "nothing on stderr either");
    let again = get_into(&client, &link, &got, b"");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).starts_with("already opened at "),
        "{}",
        text(&again.stderr)
    );

    // Over HTTP: the status page shows it, a program's claim gets an empty 200, a browser's
    // claim of an empty text gets its page, and a second claim is "already opened".
    for audience in ["*/*", "text/html"] {
        let out = run(&mut client.ssh_command_t(&["--", "--size", "0"]), b"");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let link = text(&out.stdout).trim().to_owned();
        let (url, key) = link.split_once('#').unwrap();
        let page = request(&[url]);
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.text().contains("SIZE"), "{}", page.text());
        let accept = format!("Accept: {audience}");
        let form = format!("key={key}");
        let claim = request(&["-X", "POST", "-H", &accept, "-d", &form, url]);
        assert_eq!(claim.status, 200, "{audience}: {}", claim.text());
        if audience == "*/*" {
            assert!(claim.body.is_empty(), "{}", claim.text());
            assert_eq!(claim.header("content-length").as_deref(), Some("0"));
        } else {
            assert!(claim.text().contains("<html"), "{}", claim.text());
        }
        let second = curl_claim(&link, &[]);
        assert!(
            text(&second.stdout).starts_with("already opened at "),
            "{}",
            text(&second.stdout)
        );
    }
}

#[test]
fn a_password_share_takes_its_password_from_stdin_and_a_wrong_one_burns_nothing() {
    let server = server_with(&[]);
    let client = Client::new(&server);
    let out = run(
        &mut client.ssh_command_t(&["--", "--password-stdin"]),
        b"correct horse\nthe secret",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = text(&out.stdout).trim().to_owned();
    let dir = temp_dir();
    let got = dir.path().join("out");

    let missing = get_into(&client, &link, &got, b"");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("--password-stdin"),
        "{}",
        text(&missing.stderr)
    );

    let wrong = get_into(&client, &link, &got, b"battery staple\n");
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(
        text(&wrong.stderr).trim(),
        "wrong password: 4 attempts left; nothing was burned"
    );
    let right = get_into(&client, &link, &got, b"correct horse\n");
    assert!(right.status.success(), "{}", text(&right.stderr));
    assert_eq!(std::fs::read(&got).unwrap(), b"the secret");
    assert!(!server.log().contains("correct horse"));
    assert!(!server.log().contains("battery staple"));
}

#[test]
fn a_mangled_link_is_refused_without_echoing_it() {
    let server = server_with(&[]);
    let client = Client::new(&server);
    let out = run(
        &mut client.ssh_command_t(&["get", "https://x/s/nope#SECRETKEYMATERIAL"]),
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        !text(&out.stderr).contains("SECRETKEYMATERIAL"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("quote the whole link"),
        "{}",
        text(&out.stderr)
    );
    assert!(!server.log().contains("SECRETKEYMATERIAL"));
}

#[test]
fn of_a_hundred_parallel_gets_exactly_one_receives_the_bytes() {
    let server = server_with(&[
        "--ssh-max-connections-per-ip",
        "200",
        "--ssh-max-sessions-per-key",
        "200",
    ]);
    let client = Client::new(&server);
    let content = random_bytes(64 * 1024);
    let out = run(
        &mut client.ssh_command_t(&["--", "--name", "blob.bin"]),
        &content,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = text(&out.stdout).trim().to_owned();
    let dir = temp_dir();
    let children: Vec<_> = (0..100)
        .map(|i| {
            let path = dir.path().join(format!("{i}"));
            let child = client
                .ssh_command_t(&["get", &format!("'{link}'")])
                .stdin(Stdio::null())
                .stdout(File::create(&path).unwrap())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (path, child)
        })
        .collect();
    let mut winners = 0;
    for (path, child) in children {
        let out = child.wait_with_output().unwrap();
        let got = std::fs::read(&path).unwrap();
        if out.status.success() {
            winners += 1;
            assert!(got == content, "the winner's bytes differ");
        } else {
            assert!(got.is_empty(), "a loser received bytes");
            assert!(
                text(&out.stderr).starts_with("already opened at "),
                "{}",
                text(&out.stderr)
            );
        }
    }
    assert_eq!(winners, 1);
}
