//! The assembled server: settings in, stores opened, listeners bound, background work started.
//! `main` builds an [`App`] and runs it until a shutdown signal; tests do the same on temp dirs
//! and free ports.
//!
//! Before anything is bound, the open-files limit is raised and the connection caps are fitted
//! under it ([`crate::fd_budget`]).
//!
//! Shutdown (see [`crate::shutdown`]) is sequenced here: drain (listeners close, clients are
//! told), wait for work in flight up to `--shutdown-grace`, cut what remains, close, exit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use crate::config::{Settings, format_duration};
use crate::http::{HttpError, HttpServer, SiteInfo};
use crate::metrics::{Metrics, MetricsError, MetricsServer};
use crate::operator::{ActivityLog, Admins, AdminsError, Console};
use crate::share::{ShareError, ShareObserver, Shares};
use crate::shutdown::Shutdown;
use crate::ssh::{SshError, SshServer};
use crate::store;

/// After a cut, how long cut work gets to tell its clients and drop what it held.
const CUT_SETTLE: Duration = Duration::from_secs(5);
/// After that, how long closing connections and background clean-ups may take.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

pub struct App {
    settings: Settings,
    shares: Shares,
    console: Arc<Console>,
    metrics: Metrics,
    shutdown: Shutdown,
    ssh: SshServer,
    http: HttpServer,
    metrics_server: Option<MetricsServer>,
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
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

impl App {
    /// Opens the stores and runs start-up cleanup (expired shares, orphan blobs and temp files
    /// older than the grace period; never a live share), then binds the SSH, HTTP and (if
    /// configured) metrics listeners, so a taken port, a bad host key or a bad certificate fails
    /// start-up, not the first client.
    pub async fn build(mut settings: Settings) -> Result<App, StartError> {
        let caps = crate::fd_budget::fit(crate::fd_budget::Caps {
            ssh: settings.ssh.max_connections,
            http: settings.http.max_connections,
        });
        settings.ssh.max_connections = caps.ssh;
        settings.http.max_connections = caps.http;
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| ShareError::Storage(e.into()))?;
        let admins = match &settings.ssh.admin_keys {
            Some(path) => Admins::load(path)?,
            None => Admins::default(),
        };
        let stores = store::open_with_timeout(
            &settings.data_dir,
            &settings.meta_backend,
            &settings.blob_backend,
            settings.redis_timeout,
        )
        .await
        .map_err(ShareError::from)?;
        let sessions = crate::ssh::SessionTally::default();
        let metrics = Metrics::new(Box::new({
            let sessions = sessions.clone();
            move || sessions.snapshot()
        }));
        let (meta, blobs) = metrics.count_store_errors(stores.meta, stores.blobs);
        let activity: Arc<dyn ShareObserver> = ActivityLog::start(stores.operator.clone());
        let shares = Shares::with_observers(
            meta,
            blobs,
            settings.policy.clone(),
            vec![activity, Arc::new(metrics.clone())],
        );
        let report = shares.sweep().await?;
        let rates = stores.rates;
        let console = Arc::new(
            Console::new(
                shares.clone(),
                stores.operator,
                admins,
                settings.meta_backend.name(),
                Box::new({
                    let sessions = sessions.clone();
                    move || sessions.snapshot()
                }),
            )
            .with_shared_rates(rates),
        );
        info!(
            store = settings.meta_backend.name(),
            blobs = settings.blob_backend.name(),
            operators = settings.ssh.admin_keys.is_some(),
            data_dir = %settings.data_dir.display(),
            expired = report.expired,
            spent = report.spent,
            orphans = report.orphans,
            "stores ready"
        );
        let shutdown = Shutdown::new();
        let ssh = SshServer::bind(
            settings.ssh_addr,
            &settings.ssh,
            settings.http.theme,
            shares.clone(),
            console.clone(),
            sessions,
            shutdown.clone(),
        )
        .await?;
        info!(
            addr = %ssh.local_addr().unwrap_or(settings.ssh_addr),
            host_key = ssh.host_key_fingerprint(),
            "ssh listening"
        );
        let mut http = HttpServer::bind(&settings).await?;
        metrics.count_refusals_of(vec![ssh.refusals(), http.refusals()]);
        let mut site = SiteInfo::from_settings(&settings);
        site.host_key_fingerprint = Some(ssh.host_key_fingerprint().to_owned());
        http.set_site(site);
        let metrics_server = match settings.metrics_addr {
            Some(addr) => {
                let server = MetricsServer::bind(addr).await?;
                info!(addr = %server.local_addr().unwrap_or(addr), "metrics listening");
                Some(server)
            }
            None => None,
        };
        Ok(App {
            settings,
            shares,
            console,
            metrics,
            shutdown,
            ssh,
            http,
            metrics_server,
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

    /// The bound metrics address, if metrics are served.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().and_then(|m| m.local_addr())
    }

    pub fn shares(&self) -> &Shares {
        &self.shares
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Serves SSH, HTTP and metrics and runs background work until `signal` resolves, then
    /// shuts down gracefully (see the module docs). Logs "onetimeshare ready" once every
    /// listener is bound (the test harness and operators' scripts wait for that line).
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        let App {
            settings,
            shares,
            console,
            metrics,
            shutdown,
            ssh,
            http,
            metrics_server,
        } = self;
        info!(
            http = %http.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            tls = http.is_tls(),
            ssh = %ssh.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            "onetimeshare ready"
        );
        let sweeper = {
            let shares = shares.clone();
            let stop = shutdown.draining();
            let interval = settings.sweep_interval;
            tokio::spawn(async move { shares.run_sweeper(interval, stop).await })
        };
        let upkeep = {
            let console = console.clone();
            let stop = shutdown.closing();
            tokio::spawn(async move { console.run_upkeep(stop).await })
        };
        let ssh = tokio::spawn(ssh.serve(shutdown.clone()));
        let http = tokio::spawn(http.serve(shares.clone(), console, shutdown.clone()));
        let metrics_server =
            metrics_server.map(|server| tokio::spawn(server.serve(metrics, shutdown.closing())));

        signal.await;
        let grace = settings.shutdown_grace;
        shutdown.drain(grace);
        info!(
            grace = %format_duration(grace),
            in_flight = shutdown.in_flight(),
            "shutting down: no new connections; work in flight may finish"
        );
        if tokio::time::timeout(grace, shutdown.idle()).await.is_err() {
            warn!(
                in_flight = shutdown.in_flight(),
                "shutdown grace elapsed; cutting work still in flight"
            );
            shutdown.cut();
            if tokio::time::timeout(CUT_SETTLE, shutdown.idle())
                .await
                .is_err()
            {
                warn!(
                    in_flight = shutdown.in_flight(),
                    "work still running after the cut; it is dropped at exit"
                );
            }
        }
        shutdown.close();
        let closing = async {
            let _ = tokio::join!(ssh, http, sweeper, upkeep);
            shares.settle().await;
            if let Some(server) = metrics_server {
                let _ = server.await;
            }
        };
        if tokio::time::timeout(CLOSE_WAIT, closing).await.is_err() {
            warn!("connections still closing; exiting anyway");
        }
        info!("shut down");
    }
}
