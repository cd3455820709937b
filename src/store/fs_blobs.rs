//! Blobs as files in one directory, named by the server (`<32 hex>`), written as
//! `.tmp-<random>` → fsync → rename → fsync(dir). A client's file name never reaches this code.
//! Writes take the caller's buffer to the blocking pool as it is (no copy), one in flight; a
//! large blob is written back to disk as it grows, so the fsync at commit is short.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::fs;
use tokio::task::JoinHandle;

use crate::share::{BlobName, BlobReader, BlobStore, BlobWriter, StoreError};

const TEMP_PREFIX: &str = ".tmp-";
/// A large blob starts writing back to disk every this many bytes, while more arrive: the
/// fsync at commit then waits for the last few MiB, not the whole file (75 ms for 256 MiB
/// here, all of it after the last byte arrived).
const EARLY_SYNC: usize = 8 * 1024 * 1024;

pub struct FsBlobStore {
    dir: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating if needed) the blob directory, private to the server's user.
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).await.map_err(StoreError::Io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .await
                .map_err(StoreError::Io)?;
        }
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &BlobName) -> PathBuf {
        self.dir.join(name.as_str())
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn create(&self) -> Result<Box<dyn BlobWriter>, StoreError> {
        let name = BlobName::generate().map_err(|_| StoreError::Unavailable("rng".into()))?;
        let temp = self.dir.join(format!("{TEMP_PREFIX}{}", name.as_str()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let file = options.open(&temp).await?.into_std().await;
        Ok(Box::new(FsBlobWriter {
            file: Some(Arc::new(file)),
            in_flight: None,
            syncing: None,
            unsynced: 0,
            temp,
            target: self.path(&name),
            dir: self.dir.clone(),
            name,
        }))
    }

    async fn open(&self, name: &BlobName) -> Result<BlobReader, StoreError> {
        let file = fs::File::open(self.path(name)).await?;
        Ok(Box::new(file))
    }

    async fn remove(&self, name: &BlobName) -> Result<(), StoreError> {
        match fs::remove_file(self.path(name)).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io(err)),
            _ => Ok(()),
        }
    }

    async fn remove_orphans(
        &self,
        live: &HashSet<BlobName>,
        grace: Duration,
    ) -> Result<usize, StoreError> {
        let cutoff = SystemTime::now()
            .checked_sub(grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = 0;
        let mut entries = fs::read_dir(&self.dir).await.map_err(StoreError::Io)?;
        while let Some(entry) = entries.next_entry().await.map_err(StoreError::Io)? {
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            let orphan = match BlobName::parse(file_name) {
                Some(name) => !live.contains(&name),
                None => file_name.starts_with(TEMP_PREFIX),
            };
            if !orphan {
                continue;
            }
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            if meta.modified().map(|m| m <= cutoff).unwrap_or(false)
                && fs::remove_file(entry.path()).await.is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let meta = fs::metadata(&self.dir).await.map_err(StoreError::Io)?;
        if meta.is_dir() {
            Ok(())
        } else {
            Err(StoreError::Unavailable("the blob directory is gone".into()))
        }
    }
}

struct FsBlobWriter {
    file: Option<Arc<std::fs::File>>,
    /// The last write, running on the blocking pool, and the buffer it gives back: at most one
    /// is in flight, so the caller fills the next buffer while this one reaches the file.
    in_flight: Option<JoinHandle<(std::io::Result<()>, Vec<u8>)>>,
    /// Writeback started early (an `fdatasync` of what was written so far, which writes do not
    /// wait for), so the fsync at commit finds little left to do: at most one at a time.
    syncing: Option<JoinHandle<std::io::Result<()>>>,
    /// Bytes handed over since the last early sync started.
    unsynced: usize,
    temp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    name: BlobName,
}

impl FsBlobWriter {
    /// Waits for the write in flight; its buffer (emptied) or a new one.
    async fn settle(&mut self) -> Result<Vec<u8>, StoreError> {
        let Some(write) = self.in_flight.take() else {
            return Ok(Vec::new());
        };
        let (written, mut buffer) = write
            .await
            .map_err(|_| StoreError::Io(std::io::Error::other("the blob write was lost")))?;
        written?;
        buffer.clear();
        Ok(buffer)
    }

    /// Waits for the early sync, if one runs. Its error fails the blob: after a failed sync
    /// Linux may report the next one as clean although the data never reached the disk.
    async fn synced(&mut self) -> Result<(), StoreError> {
        let Some(sync) = self.syncing.take() else {
            return Ok(());
        };
        sync.await
            .map_err(|_| StoreError::Io(std::io::Error::other("the blob sync was lost")))??;
        Ok(())
    }
}

#[async_trait]
impl BlobWriter for FsBlobWriter {
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.write_owned(data.to_vec()).await.map(drop)
    }

    /// Hands `data` itself to the blocking pool (no copy), once the previous write is done.
    async fn write_owned(&mut self, data: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let spare = self.settle().await?;
        let file = self.file.clone().ok_or(StoreError::BlobMissing)?;
        self.unsynced += data.len();
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let written = (&*file).write_all(&data);
            (written, data)
        }));
        let idle = self.syncing.as_ref().is_none_or(JoinHandle::is_finished);
        if self.unsynced >= EARLY_SYNC && idle {
            self.synced().await?;
            let file = self.file.clone().ok_or(StoreError::BlobMissing)?;
            self.syncing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
            self.unsynced = 0;
        }
        Ok(spare)
    }

    async fn commit(mut self: Box<Self>) -> Result<BlobName, StoreError> {
        self.settle().await?;
        self.synced().await?;
        let file = self.file.take().ok_or(StoreError::BlobMissing)?;
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(|_| StoreError::Io(std::io::Error::other("the blob sync was lost")))??;
        fs::rename(&self.temp, &self.target).await?;
        // The rename is durable only once the directory entry is.
        fs::File::open(&self.dir).await?.sync_all().await?;
        self.temp = PathBuf::new();
        Ok(self.name.clone())
    }
}

impl Drop for FsBlobWriter {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
