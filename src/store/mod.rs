//! Storage implementations of the share lifecycle's seams, chosen once at start-up:
//! metadata in [`RedisStore`] (many instances) or [`EmbeddedStore`] (one box, zero setup);
//! blobs in [`FsBlobStore`]. Nothing outside this module names a concrete store.

mod embedded;
mod fs_blobs;
mod redis;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use embedded::EmbeddedStore;
pub use fs_blobs::FsBlobStore;
pub use redis::{RedisOptions, RedisStore};

use crate::share::{BlobStore, MetaStore, StoreError};

/// Where share metadata lives.
#[derive(Clone, Debug)]
pub enum MetaBackend {
    Embedded,
    Redis { url: String, prefix: String },
}

/// Opens the stores for a data directory: blobs in `<data>/blobs`, the embedded database in
/// `<data>/shares.redb` unless Redis is configured.
pub async fn open(
    data_dir: &Path,
    backend: &MetaBackend,
) -> Result<(Arc<dyn MetaStore>, Arc<dyn BlobStore>), StoreError> {
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(data_dir.join("blobs")).await?);
    let meta: Arc<dyn MetaStore> = match backend {
        MetaBackend::Embedded => Arc::new(EmbeddedStore::open(data_dir.join("shares.redb")).await?),
        MetaBackend::Redis { url, prefix } => Arc::new(
            RedisStore::connect(RedisOptions {
                url: url.clone(),
                prefix: prefix.clone(),
                timeout: Duration::from_secs(2),
            })
            .await?,
        ),
    };
    Ok((meta, blobs))
}
