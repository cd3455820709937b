//! Where a test's share data lives and the one way tests open it: [`Backing`] is a temp data
//! directory with its metadata backend (the embedded store, or a private `redis-server`), and
//! [`open_stores`] opens the stores on a data directory exactly as the server does. The contract
//! suites run on a `Backing`; end-to-end tests open a server's data dir or Redis to check claims.

use std::path::Path;

use onetimeshare::store::{self, MetaBackend, Stores};

use super::{RedisCluster, RedisSentinel, RedisServer, temp_dir};

/// A data directory and the metadata backend the stores on it use; a Redis backend owns its
/// `redis-server`, Cluster or Sentinel group (stopped when this is dropped).
pub struct Backing {
    pub data: tempfile::TempDir,
    pub backend: MetaBackend,
    pub redis: Option<RedisServer>,
    pub cluster: Option<RedisCluster>,
    pub sentinel: Option<RedisSentinel>,
}

impl Backing {
    /// The embedded store (redb) in a fresh data directory.
    pub fn embedded() -> Self {
        Self {
            data: temp_dir(),
            backend: MetaBackend::Embedded,
            redis: None,
            cluster: None,
            sentinel: None,
        }
    }

    /// A private `redis-server`, blobs in a fresh data directory.
    pub fn redis() -> Self {
        let redis = RedisServer::start();
        Self {
            data: temp_dir(),
            backend: redis.backend(),
            redis: Some(redis),
            cluster: None,
            sentinel: None,
        }
    }

    /// A private three-master Redis Cluster, blobs in a fresh data directory.
    pub fn redis_cluster() -> Self {
        let cluster = RedisCluster::start();
        Self {
            data: temp_dir(),
            backend: cluster.backend(),
            redis: None,
            cluster: Some(cluster),
            sentinel: None,
        }
    }

    /// A private Sentinel group (master, replica, three sentinels), reached through the
    /// sentinels; claims wait for `wait_replicas` replicas.
    pub fn redis_sentinel(wait_replicas: u32) -> Self {
        let sentinel = RedisSentinel::start();
        Self {
            data: temp_dir(),
            backend: sentinel.backend(wait_replicas),
            redis: None,
            cluster: None,
            sentinel: Some(sentinel),
        }
    }

    /// Opens the stores; dropping every handle and calling this again is a restart.
    pub async fn open(&self) -> Stores {
        open_stores(self.data.path(), &self.backend).await
    }
}

/// Opens the stores on `data_dir` (for the embedded store: after the server using it stopped).
pub async fn open_stores(data_dir: &Path, backend: &MetaBackend) -> Stores {
    store::open(data_dir, backend)
        .await
        .expect("open the stores")
}
