//! The blob-store contract, run against BOTH blob stores (files in the data dir, and a bucket on
//! a real S3-compatible server, Garage): a 1 GiB share streams through and leaves nothing, a
//! corrupted or truncated object fails the claim instead of ending it as if complete, a killed
//! upload leaves nothing (no object, no unfinished multipart upload), and orphan cleanup never
//! takes what another replica may still be writing or about to record. Then the S3 outages: the
//! object store stopped mid-upload and mid-claim.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _};
use onetimeshare::config::BlobBackend;
use onetimeshare::share::{Armed, BlobStore, Policy, Quota, ShareError, Shares, UploadSpec};
use onetimeshare::store::{self, MetaBackend};
use sha2::{Digest as _, Sha256};

use crate::support::s3::S3Server;
use crate::support::{temp_dir, test_policy};

/// Runs each named test against the files store and the S3 store.
macro_rules! blob_contract {
    ($($name:ident),* $(,)?) => {
        mod files {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Fixture::files().await).await
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Fixture::s3().await).await
                }
            )*
        }
    };
}

/// Where the bytes really are, for looking at them behind the store's back.
enum Raw {
    Files(PathBuf),
    S3 {
        client: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        bucket: String,
    },
}

struct Fixture {
    shares: Shares,
    blobs: Arc<dyn BlobStore>,
    raw: Raw,
    s3: Option<S3Server>,
    _data: tempfile::TempDir,
}

const GIB: u64 = 1 << 30;

fn big_policy() -> Policy {
    Policy {
        max_size: GIB + (1 << 20),
        quota: Quota {
            bytes_per_key: 4 * GIB,
            bytes_per_address: 4 * GIB,
            ..Quota::default()
        },
        ..test_policy()
    }
}

impl Fixture {
    async fn files() -> Self {
        let data = temp_dir();
        let raw = Raw::Files(data.path().join("blobs"));
        Self::open(data, &BlobBackend::Files, raw, None).await
    }

    async fn s3() -> Self {
        let server = S3Server::start();
        let bucket = server.bucket();
        let raw = Raw::S3 {
            client: server.client(&bucket),
            prefix: ObjectPath::from("ots"),
            bucket: bucket.clone(),
        };
        let backend = server.backend(&bucket, "ots");
        Self::open(temp_dir(), &backend, raw, Some(server)).await
    }

    async fn open(
        data: tempfile::TempDir,
        backend: &BlobBackend,
        raw: Raw,
        s3: Option<S3Server>,
    ) -> Self {
        let stores = store::open_with_timeout(
            data.path(),
            &MetaBackend::Embedded,
            backend,
            store::DEFAULT_REDIS_TIMEOUT,
        )
        .await
        .expect("open the stores");
        Self {
            shares: Shares::new(stores.meta, stores.blobs.clone(), big_policy()),
            blobs: stores.blobs,
            raw,
            s3,
            _data: data,
        }
    }

    /// Every name the store holds: blobs, temp files, upload markers.
    async fn stored(&self) -> Vec<String> {
        let mut names = match &self.raw {
            Raw::Files(dir) => std::fs::read_dir(dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
            Raw::S3 { client, prefix, .. } => client
                .list(Some(prefix))
                .map_ok(|meta| meta.location.to_string())
                .try_collect::<Vec<_>>()
                .await
                .expect("list the bucket"),
        };
        names.sort();
        names
    }

    /// The one committed blob's bytes, and a way to put changed bytes back in its place.
    async fn only_blob(&self) -> (String, Vec<u8>) {
        let names: Vec<String> = self
            .stored()
            .await
            .into_iter()
            .filter(|n| !n.contains("uploads/") && !n.contains(".tmp-"))
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let name = names[0].clone();
        let bytes = match &self.raw {
            Raw::Files(dir) => std::fs::read(dir.join(&name)).unwrap(),
            Raw::S3 { client, .. } => client
                .get(&ObjectPath::from(name.as_str()))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec(),
        };
        (name, bytes)
    }

    async fn replace_blob(&self, name: &str, bytes: Vec<u8>) {
        match &self.raw {
            Raw::Files(dir) => std::fs::write(dir.join(name), bytes).unwrap(),
            Raw::S3 { client, .. } => {
                client
                    .put(&ObjectPath::from(name), bytes.into())
                    .await
                    .unwrap();
            }
        }
    }

    /// Multipart uploads neither completed nor aborted (always 0 for files).
    fn unfinished_uploads(&self) -> u64 {
        match (&self.raw, &self.s3) {
            (Raw::S3 { bucket, .. }, Some(server)) => server.unfinished_uploads(bucket),
            _ => 0,
        }
    }

    /// Uploads `len` bytes of a repeatable pseudo-random stream, 1 MiB per write; its SHA-256.
    async fn upload_stream(&self, len: u64) -> (Armed, [u8; 32]) {
        let mut upload = self.shares.begin(UploadSpec::file(None)).await.unwrap();
        let mut hash = Sha256::new();
        let mut sent = 0u64;
        let mut chunk = vec![0u8; 1 << 20];
        while sent < len {
            let n = (len - sent).min(chunk.len() as u64) as usize;
            fill(&mut chunk[..n], sent);
            hash.update(&chunk[..n]);
            upload.write(&chunk[..n]).await.unwrap();
            sent += n as u64;
        }
        (upload.finish().await.unwrap(), hash.finalize().into())
    }

    /// Claims `armed`, hashing the body as it streams (never holding it whole).
    async fn claim_hash(&self, armed: &Armed) -> Result<(u64, [u8; 32]), ShareError> {
        let mut claimed = self
            .shares
            .claim(armed.link.id(), armed.link.key(), None)
            .await?;
        let mut hash = Sha256::new();
        let mut len = 0u64;
        while let Some(chunk) = claimed.body.next_chunk().await {
            let chunk = chunk?;
            len += chunk.len() as u64;
            hash.update(&chunk);
        }
        Ok((len, hash.finalize().into()))
    }
}

/// Cheap deterministic filler: each 8-byte word is its offset, scrambled.
fn fill(buf: &mut [u8], offset: u64) {
    for (i, byte) in buf.iter_mut().enumerate() {
        let at = offset + i as u64;
        *byte = ((at >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> ((at & 7) * 8)) as u8;
    }
}

/// Waits (bounded) until `check` holds: clean-ups of dropped uploads run in the background.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

// ---------------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------------

async fn a_one_gib_share_streams_through_and_leaves_nothing(fx: Fixture) {
    let (armed, sent) = fx.upload_stream(GIB).await;
    assert_eq!(fx.unfinished_uploads(), 0);
    let (len, got) = fx.claim_hash(&armed).await.unwrap();
    assert_eq!(len, GIB);
    assert_eq!(got, sent, "the claimed bytes are the sent bytes");
    fx.shares.settle().await;
    let blobs: Vec<String> = fx
        .stored()
        .await
        .into_iter()
        .filter(|n| !n.contains("uploads/"))
        .collect();
    assert!(blobs.is_empty(), "the claimed blob is deleted: {blobs:?}");
}

async fn a_corrupted_object_fails_the_claim(fx: Fixture) {
    // Big enough to be a multipart upload on S3.
    let (armed, _) = fx.upload_stream(20 << 20).await;
    let (name, mut bytes) = fx.only_blob().await;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    fx.replace_blob(&name, bytes).await;
    match fx.claim_hash(&armed).await {
        Err(ShareError::Corrupt(_)) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

async fn a_truncated_object_fails_the_claim(fx: Fixture) {
    let (armed, _) = fx.upload_stream(20 << 20).await;
    let (name, mut bytes) = fx.only_blob().await;
    // Cut at a chunk boundary's neighbourhood and mid-chunk alike: both must fail.
    bytes.truncate(bytes.len() - 70_000);
    fx.replace_blob(&name, bytes).await;
    match fx.claim_hash(&armed).await {
        Err(ShareError::Corrupt(_)) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

async fn a_killed_upload_leaves_nothing_behind(fx: Fixture) {
    let mut upload = fx.shares.begin(UploadSpec::file(None)).await.unwrap();
    let chunk = vec![7u8; 1 << 20];
    // Past two parts on S3: a multipart upload is under way when the sender vanishes.
    for _ in 0..20 {
        upload.write(&chunk).await.unwrap();
    }
    drop(upload);
    eventually("the killed upload's data is gone", async || {
        fx.stored().await.is_empty() && fx.unfinished_uploads() == 0
    })
    .await;
}

async fn an_abandoned_upload_is_swept_only_after_the_grace_period(fx: Fixture) {
    // A replica that died mid-upload: its writer never ran a destructor.
    let mut writer = fx.blobs.create().await.unwrap();
    writer.write(&vec![1u8; 20 << 20]).await.unwrap();
    std::mem::forget(writer);
    let live = Default::default();
    let hour = Duration::from_secs(3600);
    // Another replica's sweep within the grace period must not touch it: it may be writing.
    assert_eq!(fx.blobs.remove_orphans(&live, hour).await.unwrap(), 0);
    assert!(!fx.stored().await.is_empty());
    let removed = fx
        .blobs
        .remove_orphans(&live, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(removed, 1, "{:?}", fx.stored().await);
    assert!(fx.stored().await.is_empty(), "{:?}", fx.stored().await);
    assert_eq!(fx.unfinished_uploads(), 0);
}

async fn a_committed_blob_not_yet_recorded_is_kept_for_the_grace_period(fx: Fixture) {
    for len in [1000, 20 << 20] {
        let mut writer = fx.blobs.create().await.unwrap();
        writer.write(&vec![2u8; len]).await.unwrap();
        let name = writer.commit().await.unwrap();
        let live = Default::default();
        // Between commit and metadata insert (on another replica): must survive a sweep.
        fx.blobs
            .remove_orphans(&live, Duration::from_secs(3600))
            .await
            .unwrap();
        let mut reader = fx.blobs.open(&name).await.unwrap();
        let mut back = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut back)
            .await
            .unwrap();
        assert_eq!(back.len(), len);
        // Never recorded, past the grace period: an orphan.
        assert!(
            fx.blobs
                .remove_orphans(&live, Duration::ZERO)
                .await
                .unwrap()
                >= 1
        );
        assert!(matches!(
            fx.blobs.open(&name).await.map(|_| ()),
            Err(onetimeshare::share::StoreError::BlobMissing)
        ));
    }
    assert!(fx.stored().await.is_empty(), "{:?}", fx.stored().await);
}

async fn the_store_answers_health_checks(fx: Fixture) {
    fx.shares.health().await.unwrap();
    fx.blobs.ping().await.unwrap();
}

blob_contract!(
    a_one_gib_share_streams_through_and_leaves_nothing,
    a_corrupted_object_fails_the_claim,
    a_truncated_object_fails_the_claim,
    a_killed_upload_leaves_nothing_behind,
    an_abandoned_upload_is_swept_only_after_the_grace_period,
    a_committed_blob_not_yet_recorded_is_kept_for_the_grace_period,
    the_store_answers_health_checks,
);

// ---------------------------------------------------------------------------------------------
// Object-store outages
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_object_store_stopped_mid_upload_publishes_nothing_and_recovers() {
    let mut fx = Fixture::s3().await;
    let mut upload = fx.shares.begin(UploadSpec::file(None)).await.unwrap();
    let chunk = vec![3u8; 1 << 20];
    for _ in 0..12 {
        upload.write(&chunk).await.unwrap();
    }
    fx.s3.as_mut().unwrap().stop();
    let mut failed = None;
    for _ in 0..40 {
        if let Err(err) = upload.write(&chunk).await {
            failed = Some(err);
            break;
        }
    }
    let err = match failed {
        Some(err) => err,
        None => upload.finish().await.map(|_| ()).unwrap_err(),
    };
    assert!(
        matches!(err, ShareError::StoreUnavailable | ShareError::Storage(_)),
        "{err:?}"
    );
    assert!(fx.shares.health().await.is_err(), "/healthz reports it");

    fx.s3.as_mut().unwrap().restart();
    eventually("the store is reachable again", async || {
        fx.shares.health().await.is_ok()
    })
    .await;
    // Nothing was published; the abandoned upload is the sweeper's (its marker says so).
    let live = Default::default();
    fx.blobs
        .remove_orphans(&live, Duration::ZERO)
        .await
        .unwrap();
    assert!(fx.stored().await.is_empty(), "{:?}", fx.stored().await);
    assert_eq!(fx.unfinished_uploads(), 0);
    let (armed, sent) = fx.upload_stream(3 << 20).await;
    assert_eq!(fx.claim_hash(&armed).await.unwrap().1, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_object_store_stopped_mid_claim_aborts_the_body() {
    let mut fx = Fixture::s3().await;
    let (armed, _) = fx.upload_stream(200 << 20).await;
    let mut claimed = fx
        .shares
        .claim(armed.link.id(), armed.link.key(), None)
        .await
        .unwrap();
    let first = claimed.body.next_chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    fx.s3.as_mut().unwrap().stop();
    let mut ended = None;
    while let Some(chunk) = claimed.body.next_chunk().await {
        if let Err(err) = chunk {
            ended = Some(err);
            break;
        }
    }
    assert!(
        ended.is_some(),
        "a body cut short by the store ends in an error, never as if complete"
    );
}
