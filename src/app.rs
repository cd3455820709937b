//! The assembled server: settings in, stores opened, listeners bound, background work started.
//! `main` builds an [`App`] and runs it until a shutdown signal; tests do the same on temp dirs
//! and free ports.

use std::future::Future;
use std::net::SocketAddr;

use tracing::info;

use std::sync::Arc;

use crate::config::Settings;
use crate::http::{HttpError, HttpServer, SiteInfo};
use crate::operator::{ActivityLog, Admins, AdminsError, Console};
use crate::share::{ShareError, ShareObserver, Shares};
use crate::ssh::{SshError, SshServer};
use crate::store;

pub struct App {
    settings: Settings,
    shares: Shares,
    console: Arc<Console>,
    ssh: SshServer,
    http: HttpServer,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not open share storage: {0}")]
    Store(#[from] ShareError),
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Admins(#[from] AdminsError),
}

impl App {
    /// Opens the stores and runs start-up cleanup (expired shares, orphan blobs and temp files
    /// older than the grace period; never a live share), then binds the SSH and HTTP listeners,
    /// so a taken port, a bad host key or a bad certificate fails start-up, not the first client.
    pub async fn build(settings: Settings) -> Result<App, StartError> {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| ShareError::Storage(e.into()))?;
        let admins = match &settings.ssh.admin_keys {
            Some(path) => Admins::load(path)?,
            None => Admins::default(),
        };
        let stores = store::open(&settings.data_dir, &settings.meta_backend)
            .await
            .map_err(ShareError::from)?;
        let activity: Arc<dyn ShareObserver> = ActivityLog::start(stores.operator.clone());
        let shares = Shares::with_observers(
            stores.meta,
            stores.blobs,
            settings.policy.clone(),
            vec![activity],
        );
        let report = shares.sweep().await?;
        let sessions = crate::ssh::SessionTally::default();
        let console = Arc::new(Console::new(
            shares.clone(),
            stores.operator,
            admins,
            settings.meta_backend.name(),
            Box::new({
                let sessions = sessions.clone();
                move || sessions.snapshot()
            }),
        ));
        info!(
            store = settings.meta_backend.name(),
            operators = settings.ssh.admin_keys.is_some(),
            data_dir = %settings.data_dir.display(),
            expired = report.expired,
            orphans = report.orphans,
            "stores ready"
        );
        let ssh = SshServer::bind(
            settings.ssh_addr,
            &settings.ssh,
            settings.http.theme,
            shares.clone(),
            console.clone(),
            sessions,
        )
        .await?;
        info!(
            addr = %ssh.local_addr().unwrap_or(settings.ssh_addr),
            host_key = ssh.host_key_fingerprint(),
            "ssh listening"
        );
        let mut http = HttpServer::bind(&settings).await?;
        let mut site = SiteInfo::from_settings(&settings);
        site.host_key_fingerprint = Some(ssh.host_key_fingerprint().to_owned());
        http.set_site(site);
        Ok(App {
            settings,
            shares,
            console,
            ssh,
            http,
        })
    }

    /// Where SSH clients connect (the real port when the setting asked for port 0).
    pub fn ssh_addr(&self) -> std::io::Result<SocketAddr> {
        self.ssh.local_addr()
    }

    /// The bound HTTP address (the real port when the settings asked for port 0).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.local_addr()
    }

    pub fn shares(&self) -> &Shares {
        &self.shares
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Serves SSH and HTTP and runs background work until `shutdown` resolves. Logs
    /// "onetimeshare ready" once every listener is bound (the test harness and operators'
    /// scripts wait for that line).
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let (stop, stopped) = tokio::sync::watch::channel(());
        let signal = async move {
            shutdown.await;
            let _ = stop.send(());
        };
        let until_stopped = |mut rx: tokio::sync::watch::Receiver<()>| async move {
            // Err means the sender is gone, which also means: stop.
            let _ = rx.changed().await;
        };
        info!(
            http = %self.http.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            tls = self.http.is_tls(),
            ssh = %self.ssh.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            "onetimeshare ready"
        );
        tokio::join!(
            signal,
            self.shares
                .run_sweeper(self.settings.sweep_interval, until_stopped(stopped.clone())),
            self.console.run_upkeep(until_stopped(stopped.clone())),
            self.ssh.serve(until_stopped(stopped.clone())),
            self.http.serve(
                self.shares.clone(),
                self.console.clone(),
                until_stopped(stopped)
            ),
        );
        info!("shut down");
    }
}
