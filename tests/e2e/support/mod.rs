//! The test harness shared by every integration test: temp dirs, free ports, real external
//! programs (a private `redis-server` per test), and one rule — a missing tool fails the test and
//! names the Debian package that provides it. Nothing here is mocked.

pub mod curl;
/// Runs each named contract test against every metadata store: `name(Fixture::embedded())`,
/// `name(Fixture::redis())`, `name(Fixture::redis_cluster())` and
/// `name(Fixture::redis_sentinel())`, so one suite holds every implementation and every Redis
/// deployment to the same guarantees. The calling module defines `Fixture` with those
/// constructors.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Fixture::embedded().await).await
                }
            )*
        }
        mod redis_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Fixture::redis().await).await
                }
            )*
        }
        mod redis_cluster_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Fixture::redis_cluster().await).await
                }
            )*
        }
        mod redis_sentinel_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Fixture::redis_sentinel().await).await
                }
            )*
        }
    };
}

pub mod probe;
pub mod redis;
pub mod redis_cluster;
pub mod redis_sentinel;
pub mod s3;
pub mod server;
pub mod shares;
pub mod ssh_client;
pub mod stores;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;

pub use curl::{Reply, Scrape, curl, curl_claim, request};
pub use redis::RedisServer;
pub use redis_cluster::RedisCluster;
pub use redis_sentinel::RedisSentinel;
pub use server::{ServerOptions, TestServer};
pub use shares::{claim, claim_once, open_shares, test_policy};
pub use stores::{Backing, open_stores};

/// Finds `program` on PATH or fails the test naming the Debian `package` to install.
pub fn require_tool(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`{program}` is not installed: run `apt-get install {package}` \
         (or the project's test command, which installs it)"
    );
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct TCP ports that were free a moment ago on 127.0.0.1 (all listeners are held until
/// every port is chosen, so the kernel cannot hand out the same one twice).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("no free TCP port on 127.0.0.1"))
        .collect();
    std::array::from_fn(|i| {
        listeners[i]
            .local_addr()
            .expect("bound listener has an address")
            .port()
    })
}

/// A fresh ed25519 client key (no passphrase) at `path`, its public half at `path.pub`.
pub fn keygen(path: &std::path::Path) {
    let program = require_tool("ssh-keygen", "openssh-client");
    let status = std::process::Command::new(program)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path)
        .status()
        .expect("cannot run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed: {status}");
}

/// `len` random bytes: content no compressor, sniffer or text path can make anything of.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("the OS random source");
    bytes
}

/// What `sha256sum` prints for `bytes`, from the real tool.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let program = require_tool("sha256sum", "coreutils");
    let mut child = std::process::Command::new(program)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child
        .stdin
        .take()
        .expect("sha256sum's stdin")
        .write_all(bytes)
        .expect("feed sha256sum");
    let out = child.wait_with_output().expect("sha256sum's output");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("sha256sum printed a digest")
        .to_owned()
}

/// Waits until no temp blob is left in `data_dir` (the server drops uploads asynchronously).
pub fn wait_no_temp_files(data_dir: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let temps: Vec<_> = std::fs::read_dir(data_dir.join("blobs"))
            .expect("the server's blob dir")
            .map(|e| e.expect("a blob dir entry").file_name())
            .filter(|n| n.to_string_lossy().starts_with(".tmp-"))
            .collect();
        if temps.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "temp files left: {temps:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("ots-test-")
        .tempdir()
        .expect("cannot create a temp dir")
}
