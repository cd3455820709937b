//! A private Sentinel group per test: one master, one replica (`--replicaof`) and three sentinels
//! (`redis-server <conf> --sentinel`, quorum 2, a master is down after one second), each on its
//! own free port. Ready once every sentinel sees the replica and the two other sentinels, so a
//! failover can start as soon as the master dies. Killed on drop.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onetimeshare::store::MetaBackend;

use super::redis::{redis_cli, wait_for_pong};
use super::{RedisServer, free_port, require_tool, temp_dir};

pub const MASTER_NAME: &str = "ots-master";

pub struct RedisSentinel {
    pub master: RedisServer,
    pub replica: RedisServer,
    sentinels: Vec<SentinelProcess>,
}

struct SentinelProcess {
    port: u16,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Drop for SentinelProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RedisSentinel {
    pub fn start() -> Self {
        let master = RedisServer::start();
        let master_port = master.port().to_string();
        let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &master_port]);
        let sentinels = (0..3)
            .map(|_| SentinelProcess::start(master.port()))
            .collect();
        let group = Self {
            master,
            replica,
            sentinels,
        };
        group.wait_until_ready();
        group
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for sentinel in &self.sentinels {
            loop {
                let info = redis_cli(sentinel.port, &["SENTINEL", "MASTER", MASTER_NAME]);
                if field(&info, "num-slaves") == Some("1")
                    && field(&info, "num-other-sentinels") == Some("2")
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the sentinels never saw the replica and each other:\n{info}"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .replica
            .cli(&["INFO", "replication"])
            .contains("master_link_status:up")
        {
            assert!(Instant::now() < deadline, "the replica never synced");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `redis+sentinel://` naming every sentinel and the master group.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","))
    }

    pub fn backend(&self, wait_replicas: u32) -> MetaBackend {
        MetaBackend::Redis {
            url: self.url(),
            prefix: "ots:".into(),
            wait_replicas,
        }
    }

    /// The port of the server the sentinels name as master now.
    pub fn current_master_port(&self) -> Option<u16> {
        let out = redis_cli(
            self.sentinels[0].port,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
        );
        out.lines().nth(1)?.trim().parse().ok()
    }
}

/// A value of `redis-cli`'s field/value-per-line output.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name {
            return lines.next().map(str::trim);
        }
    }
    None
}

impl SentinelProcess {
    fn start(master_port: u16) -> Self {
        let program = require_tool("redis-server", "redis-server");
        let dir = temp_dir();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let port = free_port();
            // A sentinel rewrites its config file: it must be its own, writable.
            let conf = dir.path().join("sentinel.conf");
            let mut file = std::fs::File::create(&conf).expect("write sentinel.conf");
            write!(
                file,
                "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                 sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                 sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                 sentinel failover-timeout {MASTER_NAME} 5000\n\
                 sentinel parallel-syncs {MASTER_NAME} 1\n",
                dir = dir.path().display()
            )
            .expect("write sentinel.conf");
            drop(file);
            let mut child = Command::new(&program)
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot run redis-server --sentinel");
            if wait_for_pong(port, Duration::from_secs(5)) {
                return Self {
                    port,
                    _dir: dir,
                    child,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(Instant::now() < deadline, "redis-sentinel did not start");
        }
    }
}
