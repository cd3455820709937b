//! Creates and claims small shares in one process, through `Shares` (no HTTP), for profiling the
//! share core under `valgrind --tool=callgrind` (instruction counts, steady on a busy machine)
//! and for a wall-clock figure of the store path alone. Never prints a link or a key.
//!
//! usage: claim_profile STORE COUNT SIZE CONCURRENCY INLINE_MAX
//!   STORE: `embedded` (a fresh temp dir) or a `redis://` URL (keys under a fresh prefix)
//!   INLINE_MAX: `Policy::inline_max` (0 sends every share through a blob file)
// Test and measurement code states its expectations with unwrap/panic (the [lints] table
// denies both in the server).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use onetimeshare::share::{Policy, Shares, UploadSpec};
use onetimeshare::store::{self, MetaBackend};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, backend, count, size, concurrency, inline_max] = args.as_slice() else {
        anyhow::bail!("usage: claim_profile STORE COUNT SIZE CONCURRENCY INLINE_MAX");
    };
    let (count, size): (usize, usize) = (count.parse()?, size.parse()?);
    let concurrency: usize = concurrency.parse()?;
    let dir = tempfile::tempdir()?;
    let backend = match backend.as_str() {
        "embedded" => MetaBackend::Embedded,
        url => MetaBackend::Redis {
            url: url.to_owned(),
            prefix: format!("profile-{}:", std::process::id()),
            wait_replicas: 0,
        },
    };
    let store::Stores { meta, blobs, .. } = store::open(dir.path(), &backend).await?;
    let policy = Policy {
        inline_max: inline_max.parse()?,
        ..Policy::default()
    };
    let shares = Shares::new(meta, blobs, policy);
    let body = Arc::new(vec![0x5au8; size]);

    let started = Instant::now();
    let links = run(count, concurrency, |_| {
        let (shares, body) = (shares.clone(), body.clone());
        async move {
            let mut upload = shares.begin(UploadSpec::text()).await.unwrap();
            upload.write(&body).await.unwrap();
            upload.finish().await.unwrap().link
        }
    })
    .await;
    let created = started.elapsed();
    let links = Arc::new(links);
    let started = Instant::now();
    run(count, concurrency, |i| {
        let (shares, links) = (shares.clone(), links.clone());
        async move {
            let link = &links[i];
            let claimed = shares.claim(link.id(), link.key(), None).await.unwrap();
            assert_eq!(claimed.body.read_to_end().await.unwrap().len(), size);
        }
    })
    .await;
    let claimed = started.elapsed();
    println!(
        "{count} x {size} B, {concurrency} at once, inline_max {inline_max}: create {:.0}/s, claim {:.0}/s",
        count as f64 / created.as_secs_f64(),
        count as f64 / claimed.as_secs_f64()
    );
    Ok(())
}

/// Runs `task(0..count)` with at most `concurrency` in flight; results in index order.
async fn run<T, F, Fut>(count: usize, concurrency: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut out: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..count {
        let fut = task(i);
        set.spawn(async move { (i, fut.await) });
        if set.len() >= concurrency
            && let Some(done) = set.join_next().await
        {
            let (i, value) = done.unwrap();
            out[i] = Some(value);
        }
    }
    while let Some(done) = set.join_next().await {
        let (i, value) = done.unwrap();
        out[i] = Some(value);
    }
    out.into_iter().map(Option::unwrap).collect()
}
