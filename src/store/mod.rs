//! Storage implementations of the share lifecycle's seams, chosen once at start-up:
//! metadata in [`RedisStore`] (many instances) or [`EmbeddedStore`] (one box, zero setup);
//! blobs in [`FsBlobStore`] (a directory) or [`S3BlobStore`] (an S3-compatible object store, for
//! replicas with no shared disk). Nothing outside this module names a concrete store.

mod embedded;
mod fs_blobs;
mod redis;
mod redis_conn;
mod redis_layout;
mod redis_operator;
mod redis_rates;
mod s3_blobs;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use embedded::EmbeddedStore;
pub use fs_blobs::FsBlobStore;
pub use redis::{RedisOptions, RedisStore};
pub use s3_blobs::{MARKER_REFRESH, PART_SIZE, PARTS_IN_FLIGHT, S3BlobStore};

use crate::operator::OperatorStore;
use crate::share::{BlobStore, MetaStore, StoreError};
use crate::shared_rates::SharedRates;

pub use crate::config::{BlobBackend, MetaBackend};

/// The opened stores. `meta` and `operator` are one database seen through two seams (with Redis,
/// over two connections; `rates` shares the operator's).
pub struct Stores {
    pub meta: Arc<dyn MetaStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub operator: Arc<dyn OperatorStore>,
    /// Rates counted across replicas; `None` for the embedded store (one process counts in
    /// memory, exactly).
    pub rates: Option<Arc<dyn SharedRates>>,
}

/// Bound on each Redis command unless the settings name another (`--redis-timeout`).
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens the stores for a data directory: blobs in `<data>/blobs`, the embedded database in
/// `<data>/shares.redb` unless Redis is configured.
pub async fn open(data_dir: &Path, backend: &MetaBackend) -> Result<Stores, StoreError> {
    open_with_timeout(
        data_dir,
        backend,
        &BlobBackend::Files,
        DEFAULT_REDIS_TIMEOUT,
    )
    .await
}

/// The blob store `backend` names: `<data>/blobs`, or a bucket (checked to answer).
pub async fn open_blobs(
    data_dir: &Path,
    backend: &BlobBackend,
) -> Result<Arc<dyn BlobStore>, StoreError> {
    Ok(match backend {
        BlobBackend::Files => Arc::new(FsBlobStore::open(data_dir.join("blobs")).await?),
        BlobBackend::S3(s3) => Arc::new(S3BlobStore::connect(s3).await?),
    })
}

/// [`open`], with blobs where `blob_backend` says and each Redis command bounded by
/// `redis_timeout`.
pub async fn open_with_timeout(
    data_dir: &Path,
    backend: &MetaBackend,
    blob_backend: &BlobBackend,
    redis_timeout: Duration,
) -> Result<Stores, StoreError> {
    let blobs = open_blobs(data_dir, blob_backend).await?;
    type Opened = (
        Arc<dyn MetaStore>,
        Arc<dyn OperatorStore>,
        Option<Arc<dyn SharedRates>>,
    );
    let (meta, operator, rates): Opened = match backend {
        MetaBackend::Embedded => {
            let db = Arc::new(EmbeddedStore::open(data_dir.join("shares.redb")).await?);
            (db.clone(), db, None)
        }
        MetaBackend::Redis {
            url,
            prefix,
            wait_replicas,
        } => {
            let options = RedisOptions {
                url: url.clone(),
                prefix: prefix.clone(),
                timeout: redis_timeout,
                wait_replicas: *wait_replicas,
            };
            // Share steps get a connection of their own; operator records (activity, bans)
            // and rate limits share a second one. Redis answers one connection's commands in
            // order, so a write held up by a stall (an activity batch, a rate-limit script)
            // must not queue a share's own steps — a claim's read of its share — behind it.
            let shares = Arc::new(RedisStore::connect(options.clone()).await?);
            let side = Arc::new(RedisStore::connect(options).await?);
            (shares, side.clone(), Some(side))
        }
    };
    Ok(Stores {
        meta,
        blobs,
        operator,
        rates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redis_password_never_shows_in_debug() {
        let backend = MetaBackend::Redis {
            url: "redis://:hunter2@redis:6379/0".into(),
            prefix: "ots:".into(),
            wait_replicas: 0,
        };
        let text = format!("{backend:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("redis:6379"), "{text}");
    }
}
