//! The `/metrics` listener: its own address (`--metrics-addr`), its own tiny router, nothing
//! else on it — so share counts and traffic never reach the public port, and an operator can
//! bind it to localhost or a private network only. Plain HTTP; a scraper that needs TLS goes
//! through the same private network or a sidecar.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tracing::warn;

use super::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot listen for metrics on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A bound metrics listener, ready to serve.
pub struct MetricsServer {
    listener: TcpListener,
}

impl MetricsServer {
    /// Binds now, so a taken port fails start-up rather than the first scrape.
    pub async fn bind(addr: SocketAddr) -> Result<MetricsServer, MetricsError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })?;
        Ok(MetricsServer { listener })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves `GET /metrics` until `shutdown` resolves.
    pub async fn serve(
        self,
        metrics: Metrics,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        let app = Router::new()
            .route("/metrics", get(scrape))
            .with_state(metrics);
        if let Err(err) = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            warn!(error = %err, "metrics listener failed");
        }
    }
}

async fn scrape(State(metrics): State<Metrics>) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        metrics.render(),
    )
}
