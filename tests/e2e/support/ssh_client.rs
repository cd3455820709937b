//! One OpenSSH client identity per test: its own key and `known_hosts`, strict options (no
//! config file, no agent, batch mode), and helpers to run `ssh`, `scp` and `sftp` with it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{TestServer, keygen, require_tool, temp_dir};

pub struct Client {
    pub dir: tempfile::TempDir,
    pub key: PathBuf,
    pub port: u16,
    /// Extra `-o` options (e.g. other identities) placed before ours.
    pub extra: Vec<String>,
}

impl Client {
    pub fn new(server: &TestServer) -> Self {
        let mut client = Self::unbound();
        client.connect_to(server);
        client
    }

    /// A client whose key exists before any server does (e.g. to name it an operator in the
    /// server's configuration); [`Client::connect_to`] points it at the server.
    pub fn unbound() -> Self {
        require_tool("ssh", "openssh-client");
        require_tool("ssh-keygen", "openssh-client");
        let dir = temp_dir();
        let key = dir.path().join("id_ed25519");
        keygen(&key);
        Self {
            dir,
            key,
            port: 0,
            extra: Vec::new(),
        }
    }

    pub fn connect_to(&mut self, server: &TestServer) {
        self.port = server.ssh_addr.port();
    }

    /// The public key line (`ssh-ed25519 AAAA… comment`).
    pub fn public_key(&self) -> String {
        std::fs::read_to_string(self.key.with_extension("pub")).expect("read the public key")
    }

    /// A client with no key at all (keyless access).
    pub fn keyless(server: &TestServer) -> Self {
        let mut client = Self::new(server);
        client.extra = vec!["-o".into(), "PubkeyAuthentication=no".into()];
        client
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    pub fn options(&self) -> Vec<String> {
        let mut o: Vec<String> = vec!["-F".into(), "/dev/null".into()];
        o.extend(self.extra.iter().cloned());
        for opt in [
            format!("UserKnownHostsFile={}", self.known_hosts().display()),
            "StrictHostKeyChecking=accept-new".into(),
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
        o
    }

    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.key.with_extension("pub"))
    }

    /// `ssh -T host ARGS` (stdin is given to `run`).
    pub fn ssh_command_t(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(self.options())
            .args(["-T", "-p", &self.port.to_string()])
            .arg("127.0.0.1")
            .args(args);
        cmd
    }

    /// `ssh -T host ARGS` for a [`Client::keyless`] client of a server that allows keyless
    /// sessions: keyboard-interactive with no prompts, which BatchMode would disable.
    pub fn keyless_command_t(&self, args: &[&str]) -> Command {
        let mut options: Vec<String> = self
            .options()
            .into_iter()
            .map(|o| {
                if o == "BatchMode=yes" {
                    "BatchMode=no".into()
                } else {
                    o
                }
            })
            .collect();
        options.extend(["-o".into(), "KbdInteractiveAuthentication=yes".into()]);
        let mut cmd = Command::new("ssh");
        cmd.args(options)
            .args(["-T", "-p", &self.port.to_string()])
            .arg("127.0.0.1")
            .args(args);
        cmd
    }

    /// `ssh -tt host ARGS`: a pty, as an interactive login asks for.
    pub fn ssh_command_tty(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(self.options())
            .args(["-tt", "-p", &self.port.to_string()])
            .arg("127.0.0.1")
            .args(args);
        cmd
    }

    pub fn scp(&self, flags: &[&str], files: &[&Path]) -> Output {
        require_tool("scp", "openssh-client");
        let mut cmd = Command::new("scp");
        cmd.args(self.options())
            .args(["-P", &self.port.to_string()])
            .args(flags)
            .args(files)
            .arg("127.0.0.1:");
        run(&mut cmd, b"")
    }

    pub fn sftp_batch(&self, batch: &str) -> Output {
        require_tool("sftp", "openssh-client");
        let file = self.dir.path().join("batch");
        std::fs::write(&file, batch).unwrap();
        let mut cmd = Command::new("sftp");
        cmd.args(self.options())
            .args(["-P", &self.port.to_string()])
            .arg("-b")
            .arg(&file)
            .arg("127.0.0.1");
        run(&mut cmd, b"")
    }

    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

pub fn fingerprint_of(public_key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(public_key)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_owned()
}

/// Starts `cmd` with stdin, stdout and stderr piped to the test.
pub fn spawn_piped(cmd: &mut Command) -> std::process::Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the OpenSSH client")
}

pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the OpenSSH client");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
