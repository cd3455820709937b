//! A private S3-compatible server per test process: Garage (the `garage` crate, installed by
//! `tests/run.sh` with `cargo install garage --locked`), on free ports in a temp directory, with
//! a one-node layout, one access key and a fresh bucket per [`S3Server::bucket`] call. It can be
//! killed and started again on the same ports and data, to test outages. Nothing is mocked: the
//! server under test talks real S3 over HTTP to it, and the tests inspect the bucket through the
//! same `object_store` client the server uses, or Garage's own CLI.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use onetimeshare::config::{BlobBackend, S3Settings, Secret};

use super::{free_ports, temp_dir};

/// The access key every test server gets (imported, so nothing has to parse Garage's output).
pub const ACCESS_KEY_ID: &str = "GK0123456789abcdef01234567";
pub const SECRET_ACCESS_KEY: &str =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const REGION: &str = "garage";

pub struct S3Server {
    dir: tempfile::TempDir,
    s3_port: u16,
    child: Option<Child>,
    buckets: AtomicU32,
}

/// Garage's program, or a failed test that says how to get it.
fn garage() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin"));
    std::env::split_paths(&path)
        .chain(cargo_bin)
        .map(|dir| dir.join("garage"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`garage` (an S3-compatible server) is not installed: run \
                 `cargo install garage --locked` (or tests/run.sh, which installs it)"
            )
        })
}

impl S3Server {
    /// Starts Garage, lays out its one node and imports the test key.
    pub fn start() -> Self {
        let dir = temp_dir();
        let [s3_port, rpc_port, admin_port] = free_ports::<3>();
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the OS random source");
        let config = format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin_port}"
"#,
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
            secret = hex::encode(secret),
        );
        std::fs::write(dir.path().join("garage.toml"), config).expect("write garage.toml");
        let mut server = Self {
            dir,
            s3_port,
            child: None,
            buckets: AtomicU32::new(0),
        };
        server.launch();
        let status = server.cli(&["status"]);
        let node = String::from_utf8_lossy(&status.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .find(|word| word.len() == 16 && word.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no node id in `garage status`: {status:?}"));
        server.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        server.cli(&["layout", "apply", "--version", "1"]);
        server.cli(&[
            "key",
            "import",
            "--yes",
            "-n",
            "ots-test",
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
        ]);
        server
    }

    /// A fresh, empty bucket the test key may read and write; its name.
    pub fn bucket(&self) -> String {
        let n = self.buckets.fetch_add(1, Ordering::Relaxed);
        let name = format!("ots-test-{n}");
        self.cli(&["bucket", "create", &name]);
        self.cli(&[
            "bucket", "allow", "--read", "--write", "--owner", &name, "--key", "ots-test",
        ]);
        name
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The blob backend a server (or the library) uses for `bucket`, under `prefix`.
    pub fn backend(&self, bucket: &str, prefix: &str) -> BlobBackend {
        BlobBackend::S3(S3Settings {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: Some(self.endpoint()),
            region: Some(REGION.to_owned()),
            path_style: Some(true),
            access_key_id: Some(ACCESS_KEY_ID.to_owned()),
            secret_access_key: Some(Secret::new(SECRET_ACCESS_KEY)),
        })
    }

    /// The server's command-line flags for `bucket`.
    pub fn flags(&self, bucket: &str, prefix: &str) -> Vec<String> {
        vec![
            "--blob-url".into(),
            format!("s3://{bucket}/{prefix}"),
            "--s3-endpoint".into(),
            self.endpoint(),
            "--s3-region".into(),
            REGION.into(),
            "--s3-access-key-id".into(),
            ACCESS_KEY_ID.into(),
            "--s3-secret-access-key".into(),
            SECRET_ACCESS_KEY.into(),
        ]
    }

    /// A raw client on `bucket`, for looking at (and sabotaging) objects behind the server's back.
    pub fn client(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_endpoint(self.endpoint())
                .with_region(REGION)
                .with_access_key_id(ACCESS_KEY_ID)
                .with_secret_access_key(SECRET_ACCESS_KEY)
                .with_allow_http(true)
                .build()
                .expect("an S3 client for the test server"),
        )
    }

    /// Multipart uploads started and neither completed nor aborted in `bucket`, as Garage counts
    /// them: `garage bucket info` prints "Unfinished uploads: N multipart uploads" when there are
    /// any (and no such line otherwise, after its "Objects:" line).
    pub fn unfinished_uploads(&self, bucket: &str) -> u64 {
        let info = self.cli(&["bucket", "info", bucket]);
        let text = String::from_utf8_lossy(&info.stdout).into_owned();
        assert!(
            text.contains("Objects:"),
            "unexpected `garage bucket info`:\n{text}"
        );
        let Some(line) = text
            .lines()
            .find(|line| line.contains("Unfinished uploads:"))
        else {
            return 0;
        };
        line.split(|c: char| !c.is_ascii_digit())
            .find(|n| !n.is_empty())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {line:?}"))
    }

    /// Kills the server (SIGKILL: as abrupt as a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports, with the data it had.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("garage.toml")
    }

    fn launch(&mut self) {
        let program = garage();
        let log = std::fs::File::create(self.dir.path().join("garage.log")).expect("garage.log");
        let child = Command::new(program)
            .arg("-c")
            .arg(self.config())
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot run garage");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.s3_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "garage did not listen on {} within a minute; its log:\n{}",
                self.s3_port,
                std::fs::read_to_string(self.dir.path().join("garage.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `garage -c <config> <args>` (retrying while the node is still starting) and returns
    /// its output; a failure fails the test with Garage's words.
    fn cli(&self, args: &[&str]) -> Output {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = Command::new(garage())
                .arg("-c")
                .arg(self.config())
                .args(args)
                .env("RUST_LOG", "error")
                .output()
                .expect("cannot run garage");
            if output.status.success() {
                return output;
            }
            assert!(
                Instant::now() < deadline,
                "`garage {}` failed: {}\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
