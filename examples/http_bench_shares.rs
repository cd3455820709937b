//! Creates shares straight into a data directory for `benches/http.sh` (the embedded store can
//! only be opened by one process, so this runs before the server starts). Prints nothing secret
//! anywhere but the output files the benchmark reads.
//!
//! usage: http_bench_shares DATA_DIR PUBLIC_URL COUNT SIZE_BYTES OUT_FILE
//! Writes one line per share to OUT_FILE: `<path> <key>` (path = /s/<id>). With
//! `OTS_BENCH_REDIS_URL` set, the metadata goes to that Redis (prefix `ots:`, as a server uses
//! by default) instead of the embedded store (`benches/redis.sh`).
// Test and measurement code states its expectations with unwrap/panic (the [lints] table
// denies both in the server).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::sync::Arc;

use onetimeshare::share::{Policy, Shares, UploadSpec};
use onetimeshare::store::{self, MetaBackend};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, data_dir, public_url, count, size, out] = args.as_slice() else {
        anyhow::bail!("usage: http_bench_shares DATA_DIR PUBLIC_URL COUNT SIZE_BYTES OUT_FILE");
    };
    let count: usize = count.parse()?;
    let size: u64 = size.parse()?;
    std::fs::create_dir_all(data_dir)?;
    let backend = match std::env::var("OTS_BENCH_REDIS_URL") {
        Ok(url) => MetaBackend::Redis {
            url,
            prefix: "ots:".into(),
            wait_replicas: 0,
        },
        Err(_) => MetaBackend::Embedded,
    };
    let store::Stores { meta, blobs, .. } = store::open(data_dir.as_ref(), &backend).await?;
    let policy = Policy {
        public_url: public_url.clone(),
        max_size: size.max(1),
        ..Policy::default()
    };
    let shares = Shares::new(meta, blobs, policy);
    let piece = Arc::new(vec![0x5au8; 1 << 20]);
    let mut lines = Vec::with_capacity(count);
    // Many uploads at once, so the embedded store's writer batches their inserts.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let shares = shares.clone();
        let piece = piece.clone();
        tasks.spawn(async move {
            let mut upload = shares.begin(UploadSpec::file(None)).await?;
            let mut left = size;
            while left > 0 {
                let n = left.min(piece.len() as u64) as usize;
                upload.write(&piece[..n]).await?;
                left -= n as u64;
            }
            let armed = upload.finish().await?;
            let link = armed.link.expose();
            let (url, key) = link.split_once('#').unwrap_or((link.as_str(), ""));
            let path = url.rsplit_once("/s/").map(|(_, id)| id).unwrap_or("");
            Ok::<_, anyhow::Error>(format!("/s/{path} {key}"))
        });
        if tasks.len() >= 256
            && let Some(done) = tasks.join_next().await
        {
            lines.push(done??);
        }
    }
    while let Some(done) = tasks.join_next().await {
        lines.push(done??);
    }
    let mut file = std::fs::File::create(out)?;
    for line in lines {
        writeln!(file, "{line}")?;
    }
    Ok(())
}
