//! Real clients for tests that need a sender and a scraper without the full suites' helpers:
//! an OpenSSH identity ([`SshClient`]: `ssh`, `scp`, a held-open pipe) and `curl` for claims and
//! `/metrics` scrapes ([`Scrape`]: the text exposition parsed into series → value).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use super::{TestServer, keygen, require_tool, temp_dir};

/// One client key and `known_hosts` in a temp dir, pointed at one server's SSH port.
pub struct SshClient {
    dir: tempfile::TempDir,
    key: PathBuf,
    port: u16,
}

impl SshClient {
    pub fn new(server: &TestServer) -> Self {
        require_tool("ssh", "openssh-client");
        let dir = temp_dir();
        let key = dir.path().join("id_ed25519");
        keygen(&key);
        Self {
            dir,
            key,
            port: server.ssh_addr.port(),
        }
    }

    /// The same identity against another server (e.g. a restart on the same data dir).
    pub fn retarget(&mut self, server: &TestServer) {
        self.port = server.ssh_addr.port();
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `-F /dev/null`, our key only, batch mode, a private `known_hosts`; then `extra`.
    pub fn options(&self, extra: &[&str]) -> Vec<String> {
        let mut o: Vec<String> = vec!["-F".into(), "/dev/null".into()];
        for opt in [
            format!(
                "UserKnownHostsFile={}",
                self.dir.path().join("known_hosts").display()
            ),
            "StrictHostKeyChecking=no".into(),
            "IdentitiesOnly=yes".into(),
            "BatchMode=yes".into(),
            "LogLevel=ERROR".into(),
            "ConnectTimeout=10".into(),
        ] {
            o.push("-o".into());
            o.push(opt);
        }
        o.push("-i".into());
        o.push(self.key.display().to_string());
        o.extend(extra.iter().map(|s| s.to_string()));
        o
    }

    /// `ssh -T -p PORT 127.0.0.1 ARGS`.
    pub fn ssh(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(self.options(&[]))
            .args(["-T", "-p", &self.port.to_string(), "127.0.0.1"])
            .args(args);
        cmd
    }

    /// Runs `ssh ARGS` with `stdin` as its input, to completion.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        run(&mut self.ssh(args), stdin)
    }

    /// Starts `ssh ARGS` with stdin held open: write to it, drop it for EOF, or never.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.ssh(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run ssh")
    }

    /// `scp FLAGS FILE 127.0.0.1:`, started (not waited for).
    pub fn spawn_scp(&self, flags: &[&str], file: &Path) -> Child {
        require_tool("scp", "openssh-client");
        Command::new("scp")
            .args(self.options(&[]))
            .args(["-P", &self.port.to_string()])
            .args(flags)
            .arg(file)
            .arg("127.0.0.1:")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run scp")
    }
}

/// Runs `cmd` with `stdin` written from a thread (so a full pipe cannot deadlock).
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the client");
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for the client");
    let _ = writer.join();
    out
}

/// `curl -sS ARGS`: exit status, body on stdout, errors on stderr.
pub fn curl(args: &[&str]) -> Output {
    let program = require_tool("curl", "curl");
    Command::new(program)
        .args(["-sS", "--max-time", "60"])
        .args(args)
        .output()
        .expect("run curl")
}

/// Claims a printed link with `curl -X POST` (the key moved from the fragment into the body).
pub fn curl_claim(link: &str, extra: &[&str]) -> Output {
    let (url, key) = link.split_once('#').expect("a link has a #key");
    let key = format!("key={key}");
    let mut args = vec!["-X", "POST", "-d", key.as_str()];
    args.extend_from_slice(extra);
    args.push(url);
    curl(&args)
}

/// One scrape of `/metrics`: `series → value`, where a series is the sample's name with its
/// labels exactly as exposed (`onetimeshare_shares_total{event="created"}`).
pub struct Scrape {
    pub text: String,
    values: HashMap<String, f64>,
}

impl Scrape {
    pub fn of(server: &TestServer) -> Scrape {
        let out = curl(&["-f", &server.metrics_url()]);
        assert!(out.status.success(), "scrape failed: {out:?}");
        let text = String::from_utf8(out.stdout).expect("the exposition is UTF-8");
        let values = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').expect("`series value`");
                let value = value
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {l:?}"));
                (series.to_owned(), value)
            })
            .collect();
        Scrape { text, values }
    }

    /// The value of `series`; panics (with the scrape) if it is not exposed.
    pub fn get(&self, series: &str) -> f64 {
        *self
            .values
            .get(series)
            .unwrap_or_else(|| panic!("{series} not exposed:\n{}", self.text))
    }

    /// `self − before` for `series`.
    pub fn delta(&self, before: &Scrape, series: &str) -> f64 {
        self.get(series) - before.get(series)
    }

    /// Every series whose name starts with `prefix`.
    pub fn series(&self, prefix: &str) -> Vec<(String, f64)> {
        let mut found: Vec<_> = self
            .values
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }
}
