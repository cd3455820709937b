//! Blobs as files in one directory, named by the server (`<32 hex>`), written as
//! `.tmp-<random>` → fsync → rename → fsync(dir). A client's file name never reaches this code.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::fs;
use tokio::io::AsyncWriteExt;

use crate::share::{BlobName, BlobReader, BlobStore, BlobWriter, StoreError};

const TEMP_PREFIX: &str = ".tmp-";

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
        let file = options.open(&temp).await?;
        Ok(Box::new(FsBlobWriter {
            file: Some(file),
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
    file: Option<fs::File>,
    temp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    name: BlobName,
}

#[async_trait]
impl BlobWriter for FsBlobWriter {
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        let file = self.file.as_mut().ok_or(StoreError::BlobMissing)?;
        file.write_all(data).await?;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<BlobName, StoreError> {
        let mut file = self.file.take().ok_or(StoreError::BlobMissing)?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
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
