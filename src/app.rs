//! The assembled server: settings in, stores opened, background work started. `main` builds an
//! [`App`] and runs it until a shutdown signal; tests do the same on temp dirs and free ports.

use std::future::Future;

use tracing::info;

use crate::config::Settings;
use crate::share::{ShareError, Shares};
use crate::ssh::{SshError, SshServer};
use crate::store::{self, MetaBackend};

pub struct App {
    settings: Settings,
    shares: Shares,
    ssh: SshServer,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] ShareError),
    #[error(transparent)]
    Ssh(#[from] SshError),
}

impl App {
    /// Opens the stores and runs start-up cleanup (expired shares, orphan blobs and temp files
    /// older than the grace period; never a live share), then binds the SSH listener (a bad
    /// address or host key fails start-up).
    pub async fn build(settings: Settings) -> Result<App, StartError> {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| ShareError::Storage(e.into()))?;
        let (meta, blobs) = store::open(&settings.data_dir, &settings.meta_backend)
            .await
            .map_err(ShareError::from)?;
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
        let ssh = SshServer::bind(settings.ssh_addr, &settings.ssh, shares.clone()).await?;
        info!(
            addr = %ssh.local_addr().unwrap_or(settings.ssh_addr),
            host_key = ssh.host_key_fingerprint(),
            "ssh listening"
        );
        Ok(App {
            settings,
            shares,
            ssh,
        })
    }

    /// Where SSH clients connect (the real port when the setting asked for port 0).
    pub fn ssh_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.ssh.local_addr()
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
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let ssh = tokio::spawn(self.ssh.serve(async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
        info!("onetimeshare ready");
        self.shares
            .run_sweeper(self.settings.sweep_interval, async move {
                shutdown.await;
                let _ = stop.send(true);
            })
            .await;
        let _ = ssh.await;
        info!("shut down");
    }
}
