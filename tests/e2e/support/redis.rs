//! A private `redis-server` per test: its own port and directory, no persistence, killed on drop.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onetimeshare::store::MetaBackend;

use super::{free_port, require_tool, temp_dir};

pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    /// Extra arguments (a Cluster node's, a replica's, a sentinel's); `{dir}` stands for the
    /// server's directory, `{port}` for its port.
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server with extra arguments after the harness's own (later ones win).
    pub fn start_with(args: &[&str]) -> Self {
        let mut server = Self {
            port: free_port(),
            dir: temp_dir(),
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
        };
        server.launch();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `redis-cli -p <port> <args>` and returns what it printed.
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// This server as a metadata backend, under the key prefix a [`super::TestServer`] uses by
    /// default (`ots:`), so the library sees exactly what a server on this Redis stored.
    pub fn backend(&self) -> MetaBackend {
        MetaBackend::Redis {
            url: self.url(),
            prefix: "ots:".into(),
            wait_replicas: 0,
        }
    }

    /// Kills the server (SIGKILL: as abrupt as a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the process (SIGSTOP): connections stay open, nothing is answered, and whatever
    /// was sent runs when [`RedisServer::resume`] thaws it — a stall, not a crash.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a [`RedisServer::pause`]d server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// `CLIENT PAUSE <for> WRITE`: reads are answered, every write (every script) waits until
    /// `for` has passed and then runs — a stall exactly at the state-changing step.
    pub fn pause_writes(&self, duration: Duration) {
        use std::io::Write;
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis-server");
        let millis = duration.as_millis().to_string();
        let command = format!(
            "*4\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n${}\r\n{millis}\r\n$5\r\nWRITE\r\n",
            millis.len()
        );
        stream
            .write_all(command.as_bytes())
            .expect("send CLIENT PAUSE");
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .expect("read CLIENT PAUSE reply");
        assert!(line.starts_with("+OK"), "CLIENT PAUSE answered {line:?}");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed: {status}");
    }

    /// Starts it again on the same port (with empty data: it keeps nothing on disk).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn launch(&mut self) {
        let program = require_tool("redis-server", "redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut child = Command::new(&program)
                .args(["--port", &self.port.to_string()])
                .args(["--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(self.dir.path())
                .args(self.args.iter().map(|a| {
                    a.replace("{dir}", &self.dir.path().display().to_string())
                        .replace("{port}", &self.port.to_string())
                }))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot run redis-server");
            if wait_for_pong(self.port, Duration::from_secs(5)) {
                self.child = Some(child);
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            // The port was taken between choosing and binding it: pick another.
            self.port = free_port();
        }
    }
}

/// Runs `redis-cli -p <port> <args>` against 127.0.0.1 and returns what it printed.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let program = require_tool("redis-cli", "redis-tools");
    let out = Command::new(program)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

pub(super) fn wait_for_pong(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            if stream.write_all(b"PING\r\n").is_ok() {
                let mut line = String::new();
                if BufReader::new(&stream).read_line(&mut line).is_ok() && line.starts_with("+PONG")
                {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
