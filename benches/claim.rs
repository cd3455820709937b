//! Claim latency per metadata store: one full `Shares::claim` (verifier check, atomic claim,
//! header + metadata decrypt, 1 KiB body) on the embedded store and on a private `redis-server`
//! started on a free port. Prints p50/p99 from raw samples (the goal is a Redis p99 under 1 ms on
//! loopback), then runs the criterion measurement.
// Test and measurement code states its expectations with unwrap/panic (the [lints] table
// denies both in the server).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use onetimeshare::share::{Armed, Policy, Shares, UploadSpec};
use onetimeshare::store::{self, MetaBackend};

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis(dir: &std::path::Path) -> (Redis, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is required: apt-get install redis-server");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (Redis(child), format!("redis://127.0.0.1:{port}/"))
}

async fn shares_for(backend: &MetaBackend, dir: &std::path::Path) -> Shares {
    let store::Stores { meta, blobs, .. } = store::open(dir, backend).await.unwrap();
    Shares::new(meta, blobs, Policy::default())
}

async fn arm(shares: &Shares, n: usize) -> Vec<Armed> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut upload = shares.begin(UploadSpec::text()).await.unwrap();
        upload.write(&[7u8; 1024]).await.unwrap();
        out.push(upload.finish().await.unwrap());
    }
    out
}

async fn claim(shares: &Shares, armed: &Armed) {
    let claimed = shares
        .claim(armed.link.id(), armed.link.key(), None)
        .await
        .unwrap();
    let body = claimed.body.read_to_end().await.unwrap();
    assert_eq!(body.len(), 1024);
}

fn percentiles(name: &str, runtime: &tokio::runtime::Runtime, shares: &Shares) {
    let armed = runtime.block_on(arm(shares, 2000));
    let mut samples: Vec<Duration> = runtime.block_on(async {
        let mut samples = Vec::with_capacity(armed.len());
        for a in &armed {
            let start = Instant::now();
            claim(shares, a).await;
            samples.push(start.elapsed());
        }
        samples
    });
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "claim latency {name}: n={} p50={:?} p90={:?} p99={:?} max={:?}",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        samples[samples.len() - 1]
    );
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_redis, url) = start_redis(dir.path());
    let stores = [
        (
            "embedded",
            MetaBackend::Embedded,
            dir.path().join("embedded"),
        ),
        (
            "redis",
            MetaBackend::Redis {
                url,
                prefix: "bench:".into(),
                wait_replicas: 0,
            },
            dir.path().join("redis"),
        ),
    ];
    let mut group = c.benchmark_group("claim_1KiB");
    group.sample_size(20);
    for (name, backend, data) in &stores {
        let shares = Arc::new(runtime.block_on(shares_for(backend, data)));
        percentiles(name, &runtime, &shares);
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let armed = runtime.block_on(arm(&shares, iters as usize));
                runtime.block_on(async {
                    let start = Instant::now();
                    for a in &armed {
                        claim(&shares, a).await;
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
