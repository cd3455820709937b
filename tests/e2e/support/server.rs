//! The real `onetimeshare` binary (built once by cargo for all integration tests), spawned per
//! test on free ports with its own data dir; its log is captured for leak checks; killed on drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::{free_ports, temp_dir};

/// How to start a server. `args` are appended last, so they override the harness defaults.
#[derive(Default, Clone)]
pub struct ServerOptions {
    pub redis_url: Option<String>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Reuse a data dir (e.g. to restart on the same state) instead of a fresh temp dir.
    pub data_dir: Option<PathBuf>,
    /// `RUST_LOG` for the child; `debug` by default so leak checks see everything.
    pub log_level: Option<String>,
    /// Serve `/metrics` on a third free port (`--metrics-addr`).
    pub metrics: bool,
    /// Start under these `ulimit` arguments (e.g. `-S -n 1024`), through `sh`, which execs the
    /// server in its place (same pid).
    pub ulimit: Option<String>,
}

pub struct TestServer {
    child: Child,
    pub http_addr: SocketAddr,
    pub ssh_addr: SocketAddr,
    /// Where `/metrics` is served, when [`ServerOptions::metrics`] asked for it.
    pub metrics_addr: Option<SocketAddr>,
    data_dir: PathBuf,
    _owned_dir: Option<tempfile::TempDir>,
    log: Arc<(Mutex<String>, Condvar)>,
}

impl TestServer {
    /// Starts the server; a port taken between choosing and binding it (another test won the
    /// race) is retried on fresh ports.
    pub fn start(options: ServerOptions) -> Self {
        let (owned_dir, data_dir) = match options.data_dir.clone() {
            Some(dir) => (None, dir),
            None => {
                let dir = temp_dir();
                let path = dir.path().join("data");
                (Some(dir), path)
            }
        };
        let mut owned_dir = owned_dir;
        for attempt in 1.. {
            let [http_port, ssh_port, metrics_port] = free_ports::<3>();
            let http_addr: SocketAddr = ([127, 0, 0, 1], http_port).into();
            let ssh_addr: SocketAddr = ([127, 0, 0, 1], ssh_port).into();
            let metrics_addr = options
                .metrics
                .then(|| SocketAddr::from(([127, 0, 0, 1], metrics_port)));
            let mut server = Self::spawn(
                &options,
                data_dir.clone(),
                http_addr,
                ssh_addr,
                metrics_addr,
            );
            match server.wait_until_ready(Duration::from_secs(30)) {
                Ok(()) => {
                    server._owned_dir = owned_dir.take();
                    return server;
                }
                Err(log) if attempt < 5 && log.contains("Address already in use") => continue,
                Err(log) => panic!("server did not become ready; its log:\n{log}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn spawn(
        options: &ServerOptions,
        data_dir: PathBuf,
        http_addr: SocketAddr,
        ssh_addr: SocketAddr,
        metrics_addr: Option<SocketAddr>,
    ) -> Self {
        let binary = env!("CARGO_BIN_EXE_onetimeshare");
        let mut command = match &options.ulimit {
            None => Command::new(binary),
            Some(limits) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit {limits} && exec \"$0\" \"$@\""))
                    .arg(binary);
                sh
            }
        };
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--http-addr", &http_addr.to_string()])
            .args(["--ssh-addr", &ssh_addr.to_string()])
            .args(["--public-url", &format!("http://{http_addr}")]);
        // Real Argon2id at a cost that keeps parallel tests quick, unless the test names one.
        if !options.args.iter().any(|a| a.starts_with("--argon2")) {
            command.args(["--argon2-memory", "8MiB", "--argon2-iterations", "1"]);
        }
        if let Some(url) = &options.redis_url {
            command.args(["--redis-url", url]);
        }
        if let Some(addr) = metrics_addr {
            command.args(["--metrics-addr", &addr.to_string()]);
        }
        command
            .args(&options.args)
            .env_remove("RUST_LOG")
            .env("RUST_LOG", options.log_level.as_deref().unwrap_or("debug"))
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("cannot run the onetimeshare binary");
        let log = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let (text, ready) = &*sink;
                let mut text = text.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
                ready.notify_all();
            }
            sink.1.notify_all();
        });
        Self {
            child,
            http_addr,
            ssh_addr,
            metrics_addr,
            data_dir,
            _owned_dir: None,
            log,
        }
    }

    /// Waits for the "ready" line; on exit or timeout returns the log.
    fn wait_until_ready(&mut self, within: Duration) -> Result<(), String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if self.log().contains("onetimeshare ready") {
                return Ok(());
            }
            let exited = matches!(self.child.try_wait(), Ok(Some(_)));
            if exited || std::time::Instant::now() >= deadline {
                // Let the reader thread drain what the process wrote before it exited.
                std::thread::sleep(Duration::from_millis(100));
                return Err(self.log());
            }
            let (text, changed) = &*self.log;
            let guard = text.lock().unwrap();
            let _ = changed
                .wait_timeout(guard, Duration::from_millis(50))
                .unwrap();
        }
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.0.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`; panics with the log on timeout or exit.
    pub fn wait_for_log(&self, needle: &str, within: Duration) {
        let (text, changed) = &*self.log;
        let mut guard = text.lock().unwrap();
        let deadline = std::time::Instant::now() + within;
        while !guard.contains(needle) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "server did not log {needle:?} within {within:?}; log so far:\n{}",
                *guard
            );
            guard = changed
                .wait_timeout(guard, left.min(Duration::from_millis(200)))
                .unwrap()
                .0;
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.child.wait().expect("wait for server")
    }

    /// Sends SIGTERM and returns at once (the server drains; see [`TestServer::wait_exit`]).
    pub fn send_sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits for the process to exit (after [`TestServer::send_sigterm`]); panics with the log
    /// if it has not within `within`.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for server") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "server still running {within:?} after SIGTERM; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's process id, for reading `/proc/<pid>/…`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory now (`VmRSS` in `/proc/<pid>/status`), in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status of the server");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS in /proc/<pid>/status");
        kib * 1024
    }

    /// `http://<metrics-addr>/metrics`; panics unless the server was started with metrics.
    pub fn metrics_url(&self) -> String {
        let addr = self
            .metrics_addr
            .expect("start the server with ServerOptions { metrics: true, .. }");
        format!("http://{addr}/metrics")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
