//! The assembled server: settings in, stores opened, background work started. `main` builds an
//! [`App`] and runs it until a shutdown signal; tests do the same on temp dirs and free ports.

use std::future::Future;

use tracing::info;

use crate::config::Settings;
use crate::share::{ShareError, Shares};
use crate::store::{self, MetaBackend};

pub struct App {
    settings: Settings,
    shares: Shares,
}

impl App {
    /// Opens the stores and runs start-up cleanup (expired shares, orphan blobs and temp files
    /// older than the grace period; never a live share).
    pub async fn build(settings: Settings) -> Result<App, ShareError> {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| ShareError::Storage(e.into()))?;
        let (meta, blobs) = store::open(&settings.data_dir, &settings.meta_backend).await?;
        let shares = Shares::new(meta, blobs, settings.policy.clone());
        let report = shares.sweep().await?;
        info!(
            store = match settings.meta_backend {
                MetaBackend::Embedded => "embedded",
                MetaBackend::Redis { .. } => "redis",
            },
            data_dir = %settings.data_dir.display(),
            expired = report.expired,
            orphans = report.orphans,
            "stores ready"
        );
        Ok(App { settings, shares })
    }

    pub fn shares(&self) -> &Shares {
        &self.shares
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs background work until `shutdown` resolves. Logs "onetimeshare ready" once every
    /// listener is bound (the test harness and operators' scripts wait for that line).
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        info!("onetimeshare ready");
        self.shares
            .run_sweeper(self.settings.sweep_interval, shutdown)
            .await;
        info!("shut down");
    }
}
