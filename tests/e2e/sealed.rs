//! Shares sealed to recipients' SSH keys (`--to`), end to end with real OpenSSH clients and the
//! real `age` CLI (Debian `age`): each recipient's `inbox` lists the share, the first
//! `get N | age -d -i KEY` (or `get ID`, the id `inbox` shows) yields the exact bytes, the other
//! recipient then finds it gone, a third key sees and claims nothing, and what the server
//! stores is an age file its own keys cannot open. A sender's `--size`/`--sha256` hold as for
//! link shares: a mismatch reaches no inbox. Hostile senders: malformed keys, too many
//! recipients, a key server that hangs or floods, and an inbox flooded by one sender.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;

use crate::support::ssh_client::{Client, run, text};
use crate::support::{
    ServerOptions, TestServer, random_bytes, require_tool, sha256_hex, temp_dir, wait_no_temp_files,
};

fn server_with(args: &[&str]) -> TestServer {
    TestServer::start(ServerOptions {
        args: args.iter().map(|s| s.to_string()).collect(),
        ..ServerOptions::default()
    })
}

/// `ssh HOST -- --to KEY… [args] < content`, each key line passed as ONE argument (as
/// `--to "$(cat bob.pub)"` would be): OpenSSH splits nothing, it joins.
fn send_sealed(
    sender: &Client,
    to: &[String],
    args: &[&str],
    content: &[u8],
) -> std::process::Output {
    let mut words: Vec<String> = vec!["--".into()];
    for key in to {
        words.push("--to".into());
        words.push(key.trim().to_owned());
    }
    words.extend(args.iter().map(|s| s.to_string()));
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    run(&mut sender.ssh_command_t(&words), content)
}

fn inbox(client: &Client) -> String {
    let out = run(&mut client.ssh_command_t(&["inbox"]), b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The blob files the server holds now.
fn blobs(server: &TestServer) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(server.data_dir().join("blobs")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.push(path);
        }
    }
    out
}

fn age_decrypt(identity: &std::path::Path, file: &std::path::Path) -> std::process::Output {
    let age = require_tool("age", "age");
    Command::new(age)
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)
        .output()
        .unwrap()
}

/// `ssh HOST get TARGET > file`, then `age -d -i KEY file` with the client's own key: the
/// plaintext (both steps must succeed).
fn get_and_open(client: &Client, target: &str) -> Vec<u8> {
    let dir = temp_dir();
    let sealed = dir.path().join("sealed.age");
    let out = client
        .ssh_command_t(&["get", target])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&sealed).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let opened = age_decrypt(&client.key, &sealed);
    assert!(opened.status.success(), "{}", text(&opened.stderr));
    opened.stdout
}

#[test]
fn a_share_sealed_to_two_keys_reaches_each_inbox_and_opens_once_with_age() {
    let server = server_with(&[]);
    let alice = Client::new(&server);
    let bob = Client::new(&server);
    let carol = Client::new(&server);
    let dave = Client::new(&server);
    let secret = random_bytes(200 * 1024);

    let out = send_sealed(
        &alice,
        &[bob.public_key(), carol.public_key()],
        &["--name", "db.env"],
        &secret,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("/s/"),
        "no link for a sealed share"
    );
    assert!(
        text(&out.stderr).contains("sealed to 2 keys"),
        "{}",
        text(&out.stderr)
    );

    for recipient in [&bob, &carol] {
        let listed = inbox(recipient);
        assert!(listed.contains(&alice.fingerprint()), "{listed}");
        assert!(listed.contains("db.env"), "{listed}");
        assert!(listed.lines().nth(1).unwrap().starts_with("1 "), "{listed}");
    }
    assert!(inbox(&dave).contains("empty"), "a third key sees nothing");

    // What the server stores is an age file to the two keys, which its own key cannot open.
    let stored = blobs(&server);
    assert_eq!(stored.len(), 1);
    let mut head = String::new();
    std::fs::File::open(&stored[0])
        .unwrap()
        .take(200)
        .read_to_string(&mut String::new())
        .ok();
    let bytes = std::fs::read(&stored[0]).unwrap();
    head.push_str(&String::from_utf8_lossy(&bytes[..64]));
    assert!(
        head.starts_with("age-encryption.org/v1\n-> ssh-ed25519 "),
        "{head}"
    );
    let host_key = server.data_dir().join("ssh_host_ed25519_key");
    let refused = age_decrypt(&host_key, &stored[0]);
    assert!(
        !refused.status.success(),
        "the server's host key opened a sealed share"
    );
    assert!(
        !bytes.windows(32).any(|w| w == &secret[..32]),
        "plaintext at rest"
    );

    // A third key cannot claim it.
    let out = run(&mut dave.ssh_command_t(&["get", "1"]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("no share 1 in your inbox"),
        "{}",
        text(&out.stderr)
    );

    // Bob claims: the age file on stdout, opened with his own key by the real age CLI.
    assert!(
        get_and_open(&bob, "1") == secret,
        "age -d yields other bytes"
    );
    // The removal starts as the last byte goes out; the client need not wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !blobs(&server).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the claimed blob is never removed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    // Carol then finds it gone; a second get of Bob's gets nothing.
    assert!(inbox(&carol).contains("empty"));
    let out = run(&mut carol.ssh_command_t(&["get", "1"]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = run(&mut bob.ssh_command_t(&["get", "1"]), b"");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn get_by_id_claims_the_share_inbox_shows_and_another_key_cannot_claim_it() {
    let server = server_with(&[]);
    let alice = Client::new(&server);
    let bob = Client::new(&server);
    let carol = Client::new(&server);
    let mut ids = Vec::new();
    for content in [b"first".as_slice(), b"second".as_slice()] {
        let out = send_sealed(&alice, &[bob.public_key()], &[], content);
        assert!(out.status.success(), "{}", text(&out.stderr));
        ids.push(text(&out.stdout).trim().to_owned());
    }
    let listed = inbox(&bob);
    let lines: Vec<&str> = listed.lines().collect();
    assert!(lines[0].starts_with("N  ID "), "{listed}");
    assert!(lines[1].starts_with(&format!("1  {} ", ids[0])), "{listed}");
    assert!(lines[2].starts_with(&format!("2  {} ", ids[1])), "{listed}");

    // Carol has the id but not the key: nothing is claimed, nothing is printed.
    let out = run(&mut carol.ssh_command_t(&["get", &ids[1]]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains(&format!("no share {} in your inbox", ids[1])),
        "{}",
        text(&out.stderr)
    );

    // Bob claims the second by id (typed in capitals), then the first: ids stay put while the
    // numbers shift.
    assert_eq!(get_and_open(&bob, &ids[1].to_ascii_uppercase()), b"second");
    assert_eq!(get_and_open(&bob, &ids[0]), b"first");
    let out = run(&mut bob.ssh_command_t(&["get", &ids[0]]), b"");
    assert_eq!(out.status.code(), Some(1), "claimed once only");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_sealed_upload_that_differs_from_its_announced_size_or_digest_reaches_no_inbox() {
    let server = server_with(&[]);
    let alice = Client::new(&server);
    let bob = Client::new(&server);
    let secret = b"DB_PASSWORD=correct-horse-battery-staple\n";
    let len = secret.len();
    let size = len.to_string();
    let right = sha256_hex(secret);
    let mut tampered = secret.to_vec();
    tampered[3] ^= 1;
    let big = random_bytes(256 * 1024);
    let cases: Vec<(Vec<&str>, &[u8], String)> = vec![
        // The producer died after 20 bytes: stdin still closed cleanly.
        (
            vec!["--size", &size],
            &secret[..20],
            format!("the upload is 20 bytes but {len} were announced; nothing was stored\n"),
        ),
        (
            vec!["--size", "60"],
            secret,
            format!("the upload is {len} bytes but 60 were announced; nothing was stored\n"),
        ),
        // More than announced is refused while it streams (where it stops depends on how the
        // client split the stream, so only the announced size is certain).
        (
            vec!["--size", "1000"],
            &big,
            "but 1000 were announced".into(),
        ),
        (
            vec!["--size", &size, "--sha256", &right],
            &tampered,
            "the upload's SHA-256 differs from the one announced; nothing was stored\n".into(),
        ),
    ];
    for (args, sent, said) in cases {
        let out = send_sealed(&alice, &[bob.public_key()], &args, sent);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: no id for a refused share");
        if said.ends_with('\n') {
            assert_eq!(stderr, said, "{args:?}");
        } else {
            assert!(
                stderr.contains(&said) && stderr.ends_with("nothing was stored\n"),
                "{args:?}: {stderr}"
            );
        }
        assert!(inbox(&bob).contains("empty"), "{args:?} reached the inbox");
    }
    wait_no_temp_files(server.data_dir());
    assert!(blobs(&server).is_empty(), "a refused upload left a blob");

    // Announced right, the share is armed and opens to the exact bytes.
    let out = send_sealed(
        &alice,
        &[bob.public_key()],
        &["--size", &size, "--sha256", &right],
        secret,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    assert!(
        text(&out.stderr).contains(&format!("get {id} | age -d")),
        "the sender is told the command that claims it: {}",
        text(&out.stderr)
    );
    assert!(inbox(&bob).contains(&id), "{}", inbox(&bob));
    assert_eq!(get_and_open(&bob, &id), secret);
}

#[test]
fn an_empty_sealed_upload_is_refused_unless_announced_with_size_0() {
    let server = server_with(&[]);
    let alice = Client::new(&server);
    let bob = Client::new(&server);

    let out = send_sealed(&alice, &[bob.public_key()], &[], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "nothing to share: the input was empty; nothing was stored (an empty secret on \
         purpose is announced with --size 0)\n"
    );
    assert!(inbox(&bob).contains("empty"));

    let out = send_sealed(&alice, &[bob.public_key()], &["--size", "0"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    assert!(get_and_open(&bob, &id).is_empty());
}

#[test]
fn malformed_and_too_many_recipients_are_refused_before_anything_is_stored() {
    let server = server_with(&[]);
    let alice = Client::new(&server);
    let bob = Client::new(&server);

    for bad in [
        "ssh-ed25519 AAAAnotbase64!! x",
        "notakey",
        "ecdsa-sha2-nistp256 AAAA",
    ] {
        let out = send_sealed(&alice, &[bad.to_owned()], &[], b"secret");
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).starts_with("--to: "),
            "{}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("nothing was stored"),
            "{}",
            text(&out.stderr)
        );
    }
    // Words OpenSSH split apart: the sender is told how to quote them.
    let out = send_sealed(&alice, &["not a key".to_owned()], &[], b"secret");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("quoted twice"),
        "{}",
        text(&out.stderr)
    );
    let thousand: Vec<String> = (0..1000).map(|_| bob.public_key()).collect();
    let out = send_sealed(&alice, &thousand, &[], b"secret");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("at most 16 recipients"),
        "{}",
        text(&out.stderr)
    );
    assert!(blobs(&server).is_empty());
    assert!(inbox(&bob).contains("empty"));
}

#[test]
fn an_inbox_flooded_by_one_sender_is_capped_with_a_clear_error() {
    let server = server_with(&["--inbox-max-shares", "3"]);
    let alice = Client::new(&server);
    let bob = Client::new(&server);
    for i in 0..3 {
        let out = send_sealed(&alice, &[bob.public_key()], &[], format!("n{i}").as_bytes());
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = send_sealed(&alice, &[bob.public_key()], &[], b"one too many");
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert!(said.contains("a recipient's inbox is full"), "{said}");
    assert!(said.contains("3 shares"), "{said}");
    assert_eq!(inbox(&bob).lines().count(), 1 + 3 + 1, "{}", inbox(&bob));
}

/// A key server on a free port that runs `answer` for each connection.
fn key_server(answer: fn(std::net::TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    url
}

fn read_request(stream: &mut std::net::TcpStream) -> String {
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn github_keys_are_fetched_from_the_configured_url_and_a_hanging_or_huge_answer_is_refused() {
    // A good answer: the recipient's key line, as GitHub serves USER.keys.
    let dir = temp_dir();
    let bob_key = dir.path().join("bob");
    crate::support::keygen(&bob_key);
    let public = std::fs::read_to_string(bob_key.with_extension("pub")).unwrap();
    std::fs::write(dir.path().join("served"), &public).unwrap();
    static SERVED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SERVED.set(public.clone()).unwrap();
    let good = key_server(|mut s| {
        let request = read_request(&mut s);
        let body = if request.starts_with("GET /bob.keys ") {
            SERVED.get().unwrap().clone()
        } else {
            String::new()
        };
        let status = if body.is_empty() {
            "404 Not Found"
        } else {
            "200 OK"
        };
        let _ = write!(
            s,
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let server = server_with(&["--recipient-keys-url", &good]);
    let alice = Client::new(&server);
    let mut bob = Client::new(&server);
    bob.key = bob_key.clone();
    let out = send_sealed(&alice, &["github:bob".into()], &[], b"from github");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(inbox(&bob).contains(&alice.fingerprint()));
    let out = send_sealed(&alice, &["github:nobody".into()], &[], b"x");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no such user"),
        "{}",
        text(&out.stderr)
    );
    drop(server);

    let hang = key_server(|mut s| {
        read_request(&mut s);
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let server = server_with(&["--recipient-keys-url", &hang]);
    let alice = Client::new(&server);
    let out = send_sealed(&alice, &["github:bob".into()], &[], b"x");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did not answer within 5s"),
        "{}",
        text(&out.stderr)
    );
    drop(server);

    let flood = key_server(|mut s| {
        read_request(&mut s);
        let size = 10 << 20;
        let _ = write!(s, "HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
        let chunk = vec![b'A'; 64 * 1024];
        for _ in 0..(size / chunk.len()) {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let server = server_with(&["--recipient-keys-url", &flood]);
    let alice = Client::new(&server);
    let out = send_sealed(&alice, &["github:bob".into()], &[], b"x");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("larger than 64 KiB"),
        "{}",
        text(&out.stderr)
    );
    assert!(blobs(&server).is_empty());
}
