//! Blobs as objects in an S3-compatible store (AWS S3, MinIO, Garage, R2, …), so replicas need no
//! shared disk: `<prefix>/blobs/<32 hex>` for committed blobs, `<prefix>/uploads/<32 hex>` for the
//! marker of a multipart upload in progress (its upload id). Requests are signed by
//! `object_store`; nothing here builds a signature by hand.
//!
//! The invariants are the directory store's, kept with object-store means:
//! - **Nothing partial is visible.** A small blob is one `PUT` at commit; a large one is a
//!   multipart upload whose object exists only once `CompleteMultipartUpload` returns. Dropping
//!   a writer without commit aborts its multipart upload (nothing billable stays behind).
//! - **Bounded memory.** A writer holds one part being filled plus at most [`PARTS_IN_FLIGHT`]
//!   parts being sent, whatever the share's size; a reader holds one response chunk.
//! - **No replica deletes what another is writing.** Orphan cleanup deletes a blob only when no
//!   share refers to it *and* both it and its upload marker are older than the grace period; a
//!   writer refreshes its marker every [`MARKER_REFRESH`] and once more at commit, so a slow
//!   upload, or one between commit and metadata insert, always looks young. Stale markers (a
//!   replica died mid-upload) get their multipart upload aborted.
//!
//! It does not retry a failed upload (the sender is told, nothing is published) and does not
//! decide when a blob may go: the share lifecycle does.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt as _, RetryConfig};
use tokio::task::JoinHandle;
use tracing::warn;

use crate::config::S3Settings;
use crate::share::{BlobName, BlobReader, BlobStore, BlobWriter, StoreError};

/// Size of every multipart part but the last (S3 wants at least 5 MiB). A blob smaller than one
/// part is sent as a single `PUT`.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one upload sent at once: enough to keep the link busy while the next part fills,
/// few enough that a writer's memory stays at `PART_SIZE * (PARTS_IN_FLIGHT + 1)`.
pub const PARTS_IN_FLIGHT: usize = 2;
/// How often a long upload re-writes its marker. Orphan cleanup's grace must be longer (it is an
/// hour by default), or a live upload could look abandoned.
pub const MARKER_REFRESH: Duration = Duration::from_secs(10 * 60);
/// Bound on one request that carries no share body (create, complete, delete, list, one part).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A claim's download with no byte from the store for this long fails (and aborts the response).
const READ_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// `/healthz` must answer quickly even when the store does not.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    blobs: Path,
    uploads: Path,
}

impl S3BlobStore {
    /// Builds the client from the settings over the standard `AWS_*` variables and checks that
    /// the bucket answers, so bad credentials or a wrong endpoint fail start-up.
    pub async fn connect(settings: &S3Settings) -> Result<Self, StoreError> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&settings.bucket);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(path_style) = settings.path_style {
            builder = builder.with_virtual_hosted_style_request(!path_style);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose());
        }
        let plain_http = settings
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        // No whole-request timeout: a claim's body may stream for minutes. Each request is
        // bounded here instead (REQUEST_TIMEOUT, READ_IDLE_TIMEOUT).
        let client = ClientOptions::new()
            .with_allow_http(plain_http)
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout_disabled();
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(10),
            ..RetryConfig::default()
        };
        let store = builder
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|e| StoreError::Unavailable(format!("object store settings: {e}")))?;
        let prefix = settings.prefix.trim_matches('/');
        let under = |leaf: &str| {
            if prefix.is_empty() {
                Path::from(leaf)
            } else {
                Path::from(format!("{prefix}/{leaf}"))
            }
        };
        let this = Self {
            store: Arc::new(store),
            blobs: under("blobs"),
            uploads: under("uploads"),
        };
        this.ping().await?;
        Ok(this)
    }

    fn blob_path(&self, name: &BlobName) -> Path {
        self.blobs.clone().join(name.as_str())
    }

    fn marker_path(&self, name: &BlobName) -> Path {
        self.uploads.clone().join(name.as_str())
    }

    /// Aborts the multipart upload a stale marker names, then deletes the marker.
    async fn abort_stale(&self, marker: &Path, name: &BlobName) -> Result<(), StoreError> {
        let text = bounded(REQUEST_TIMEOUT, async {
            self.store.get(marker).await?.bytes().await
        })
        .await;
        match text {
            Ok(id) => {
                let id = String::from_utf8_lossy(&id).into_owned();
                // A completed upload's id is unknown to the store by now: that is fine.
                let _ = bounded(
                    REQUEST_TIMEOUT,
                    self.store.abort_multipart(&self.blob_path(name), &id),
                )
                .await;
            }
            Err(StoreError::BlobMissing) => {}
            Err(err) => return Err(err),
        }
        remove_quietly(&self.store, marker).await
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn create(&self) -> Result<Box<dyn BlobWriter>, StoreError> {
        let name = BlobName::generate().map_err(|_| StoreError::Unavailable("rng".into()))?;
        Ok(Box::new(S3BlobWriter {
            store: self.store.clone(),
            path: self.blob_path(&name),
            marker: self.marker_path(&name),
            name,
            buffer: Vec::new(),
            upload: None,
            failed: false,
        }))
    }

    async fn open(&self, name: &BlobName) -> Result<BlobReader, StoreError> {
        let result = bounded(REQUEST_TIMEOUT, self.store.get(&self.blob_path(name))).await?;
        let chunks = result.into_stream().map_err(std::io::Error::other);
        Ok(Box::new(tokio_util::io::StreamReader::new(idle_bounded(
            chunks,
        ))))
    }

    async fn remove(&self, name: &BlobName) -> Result<(), StoreError> {
        remove_quietly(&self.store, &self.blob_path(name)).await
    }

    async fn remove_orphans(
        &self,
        live: &HashSet<BlobName>,
        grace: Duration,
    ) -> Result<usize, StoreError> {
        let cutoff = millis_since_epoch(
            SystemTime::now()
                .checked_sub(grace)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        );
        let mut removed = 0;
        // Markers first: a young marker protects its blob; an old one is an abandoned upload.
        let markers: Vec<_> = bounded(
            REQUEST_TIMEOUT,
            self.store.list(Some(&self.uploads)).try_collect::<Vec<_>>(),
        )
        .await?;
        let mut writing = HashSet::new();
        for marker in markers {
            let Some(name) = marker.location.filename().and_then(BlobName::parse) else {
                continue;
            };
            if marker.last_modified.timestamp_millis() > cutoff {
                writing.insert(name);
            } else if self.abort_stale(&marker.location, &name).await.is_ok() {
                removed += 1;
            }
        }
        let objects: Vec<_> = bounded(
            REQUEST_TIMEOUT,
            self.store.list(Some(&self.blobs)).try_collect::<Vec<_>>(),
        )
        .await?;
        for object in objects {
            let Some(name) = object.location.filename().and_then(BlobName::parse) else {
                continue;
            };
            let orphan = !live.contains(&name)
                && !writing.contains(&name)
                && object.last_modified.timestamp_millis() <= cutoff;
            if orphan && remove_quietly(&self.store, &object.location).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        bounded(
            PING_TIMEOUT,
            self.store.list_with_delimiter(Some(&self.uploads)),
        )
        .await
        .map(|_| ())
    }
}

/// A multipart upload under way.
struct Multipart {
    id: String,
    /// Finished parts, in order.
    parts: Vec<PartId>,
    /// Parts being sent, oldest first.
    sending: VecDeque<JoinHandle<Result<PartId, StoreError>>>,
    marker_written: Instant,
}

struct S3BlobWriter {
    store: Arc<AmazonS3>,
    name: BlobName,
    path: Path,
    marker: Path,
    /// The part being filled; never more than [`PART_SIZE`].
    buffer: Vec<u8>,
    upload: Option<Multipart>,
    /// A request failed: nothing more is sent and the upload is aborted on drop.
    failed: bool,
}

impl S3BlobWriter {
    async fn send_part(&mut self, part: Bytes) -> Result<(), StoreError> {
        if self.upload.is_none() {
            let id = bounded(REQUEST_TIMEOUT, self.store.create_multipart(&self.path)).await?;
            // If this marker cannot be written the upload is aborted (on drop) and the sender
            // told: an upload no sweeper could find must not exist.
            self.upload = Some(Multipart {
                id: id.clone(),
                parts: Vec::new(),
                sending: VecDeque::new(),
                marker_written: Instant::now(),
            });
            put(&self.store, &self.marker, Bytes::from(id)).await?;
        }
        let Some(upload) = self.upload.as_mut() else {
            return Err(StoreError::BlobMissing);
        };
        while upload.sending.len() >= PARTS_IN_FLIGHT {
            let Some(oldest) = upload.sending.pop_front() else {
                break;
            };
            upload.parts.push(joined(oldest).await?);
        }
        let index = upload.parts.len() + upload.sending.len();
        let (store, path, id) = (self.store.clone(), self.path.clone(), upload.id.clone());
        upload.sending.push_back(tokio::spawn(async move {
            bounded(
                REQUEST_TIMEOUT,
                store.put_part(&path, &id, index, part.into()),
            )
            .await
        }));
        if upload.marker_written.elapsed() >= MARKER_REFRESH {
            upload.marker_written = Instant::now();
            put(&self.store, &self.marker, Bytes::from(upload.id.clone())).await?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> Result<(), StoreError> {
        let rest = Bytes::from(std::mem::take(&mut self.buffer));
        if self.upload.is_none() {
            return put(&self.store, &self.path, rest).await;
        }
        if !rest.is_empty() {
            self.send_part(rest).await?;
        }
        let Some(upload) = self.upload.as_mut() else {
            return Err(StoreError::BlobMissing);
        };
        while let Some(part) = upload.sending.pop_front() {
            upload.parts.push(joined(part).await?);
        }
        let parts = std::mem::take(&mut upload.parts);
        bounded(
            REQUEST_TIMEOUT,
            self.store.complete_multipart(&self.path, &upload.id, parts),
        )
        .await?;
        // The object exists but no share refers to it until the caller inserts the record: a
        // fresh marker keeps orphan cleanup away from it for one more grace period.
        let id = Bytes::from(upload.id.clone());
        self.upload = None;
        put(&self.store, &self.marker, id).await
    }
}

#[async_trait]
impl BlobWriter for S3BlobWriter {
    async fn write(&mut self, mut data: &[u8]) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Unavailable("an earlier write failed".into()));
        }
        while !data.is_empty() {
            if self.buffer.capacity() == 0 {
                self.buffer.reserve_exact(PART_SIZE);
            }
            let take = data.len().min(PART_SIZE - self.buffer.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() == PART_SIZE {
                let part = Bytes::from(std::mem::take(&mut self.buffer));
                if let Err(err) = self.send_part(part).await {
                    self.failed = true;
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<BlobName, StoreError> {
        if self.failed {
            return Err(StoreError::Unavailable("an earlier write failed".into()));
        }
        match self.finish().await {
            Ok(()) => Ok(self.name.clone()),
            Err(err) => {
                self.failed = true;
                Err(err)
            }
        }
    }
}

impl Drop for S3BlobWriter {
    /// An upload that was not committed (dropped sender, failed request, refused size) is
    /// aborted: parts in flight are cancelled, the multipart upload and its marker deleted. If
    /// that fails too, the marker stays and the sweeper aborts it after the grace period.
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        for part in &upload.sending {
            part.abort();
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (store, path, marker) = (self.store.clone(), self.path.clone(), self.marker.clone());
        runtime.spawn(async move {
            let aborted = bounded(REQUEST_TIMEOUT, store.abort_multipart(&path, &upload.id)).await;
            match aborted {
                Ok(()) => {
                    let _ = remove_quietly(&store, &marker).await;
                }
                Err(err) => {
                    warn!(error = %err, "could not abort a multipart upload; the sweeper will")
                }
            }
        });
    }
}

async fn put(store: &AmazonS3, path: &Path, data: Bytes) -> Result<(), StoreError> {
    bounded(REQUEST_TIMEOUT, store.put(path, data.into()))
        .await
        .map(|_| ())
}

/// Deletes an object; one that is already gone is not an error.
async fn remove_quietly(store: &AmazonS3, path: &Path) -> Result<(), StoreError> {
    match bounded(REQUEST_TIMEOUT, store.delete(path)).await {
        Ok(()) | Err(StoreError::BlobMissing) => Ok(()),
        Err(err) => Err(err),
    }
}

async fn joined(part: JoinHandle<Result<PartId, StoreError>>) -> Result<PartId, StoreError> {
    part.await
        .map_err(|e| StoreError::Unavailable(format!("part upload stopped: {e}")))?
}

/// One store request, bounded in time; its error as the share lifecycle knows errors.
async fn bounded<T>(
    limit: Duration,
    request: impl Future<Output = object_store::Result<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(store_error(err)),
        Err(_) => Err(StoreError::Unavailable(format!(
            "object store did not answer within {}s",
            limit.as_secs()
        ))),
    }
}

fn store_error(err: object_store::Error) -> StoreError {
    match err {
        object_store::Error::NotFound { .. } => StoreError::BlobMissing,
        other => StoreError::Unavailable(format!("object store: {other}")),
    }
}

/// Fails the stream when the store sends nothing for [`READ_IDLE_TIMEOUT`], so a store that
/// stalls mid-body aborts the claim's response instead of holding it open for ever.
fn idle_bounded(
    chunks: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static {
    futures_util::stream::unfold(Some(chunks), |state| async move {
        let mut chunks = state?;
        match tokio::time::timeout(READ_IDLE_TIMEOUT, chunks.next()).await {
            Ok(Some(item)) => Some((item, Some(chunks))),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "object store stopped sending",
                )),
                None,
            )),
        }
    })
    .boxed()
}

fn millis_since_epoch(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
