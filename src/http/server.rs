//! Sockets: the listener bound at start-up, the accept loop, optional TLS, and the limits that
//! protect the process from slow or numerous clients (header size and read timeout, TLS
//! handshake timeout, a stalled-reader write timeout, a cap on open connections). Everything above this file sees only requests.
//!
//! Why our own loop rather than `axum::serve`: built-in TLS and hyper's header limits and
//! timeouts need the connection builder, and axum's helper hides it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::Service as _;
use tracing::{debug, info, warn};

use super::router::{SiteInfo, router};
use super::stall::StallGuard;
use crate::config::Settings;
use crate::share::Shares;
use crate::shutdown::Shutdown;

/// Open connections allowed at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 4096;
/// A client must finish its request headers (and a TLS handshake) within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line + headers) accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// A client that reads nothing of a response for this long is disconnected.
/// Open connections one client (an IPv4 address or an IPv6 /64) may hold at once.
const MAX_CONNECTIONS_PER_CLIENT: usize = 64;
/// Keep-alive pings for HTTP/2: a peer that stops answering is disconnected.
const H2_KEEPALIVE: Duration = Duration::from_secs(30);
const WRITE_STALL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
}

/// A bound HTTP(S) listener, ready to serve.
pub struct HttpServer {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    site: SiteInfo,
    settings: crate::config::HttpSettings,
}

impl HttpServer {
    /// Binds `settings.http_addr` and loads TLS files, so a bad address or certificate fails
    /// start-up rather than the first request.
    pub async fn bind(settings: &Settings) -> Result<HttpServer, HttpError> {
        let addr = settings.http_addr;
        let tls = match &settings.http.tls {
            Some(files) => Some(super::tls::acceptor(files)?),
            None => None,
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| HttpError::Bind { addr, source })?;
        Ok(HttpServer {
            listener,
            tls,
            site: SiteInfo::from_settings(settings),
            settings: settings.http.clone(),
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Sets what the home page says about the SSH side (e.g. the host key fingerprint).
    pub fn set_site(&mut self, site: SiteInfo) {
        self.site = site;
    }

    /// Serves until shutdown drains: then the listener closes, idle keep-alive connections are
    /// closed, and responses in flight carry on — each connection is tracked work, so shutdown
    /// waits for it up to the grace period and then cuts it (a download cut short of its
    /// `Content-Length` reads as failed, never as complete).
    pub async fn serve(
        self,
        shares: Shares,
        console: std::sync::Arc<crate::operator::Console>,
        shutdown: Shutdown,
    ) {
        let app = router(
            shares,
            console,
            self.site,
            &self.settings,
            self.tls.is_some(),
        );
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(MAX_HEAD_BYTES)
            .max_headers(MAX_HEADERS);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(MAX_HEAD_BYTES as u32)
            .max_concurrent_streams(64)
            .keep_alive_interval(Some(H2_KEEPALIVE))
            .keep_alive_timeout(HEADER_TIMEOUT);
        let builder = Arc::new(builder);
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let per_client = ClientSlots::new(MAX_CONNECTIONS_PER_CLIENT);
        let graceful = GracefulShutdown::new();
        let draining = shutdown.draining();
        tokio::pin!(draining);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut draining => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        // EMFILE and friends: back off instead of spinning.
                        warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                debug!("connection limit reached; closing a new connection");
                continue;
            };
            let Some(client_slot) = per_client.take(peer.ip()) else {
                debug!("per-client connection limit reached; closing a new connection");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let connection = Connection {
                app: app.clone(),
                builder: builder.clone(),
                peer,
            };
            let tls = self.tls.clone();
            let watcher = graceful.watcher();
            let (draining, cutting) = (shutdown.draining(), shutdown.cutting());
            shutdown.spawn(async move {
                let _slots = (slot, client_slot);
                tokio::select! {
                    () = connection.run(stream, tls, watcher, draining) => {}
                    () = cutting => debug!("HTTP connection cut by shutdown"),
                }
            });
        }
        drop(self.listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = shutdown.cutting() => info!("HTTP responses still in flight at the deadline were cut"),
        }
    }
}

struct Connection {
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    peer: SocketAddr,
}

impl Connection {
    async fn run(
        self,
        stream: TcpStream,
        tls: Option<TlsAcceptor>,
        watcher: hyper_util::server::graceful::Watcher,
        draining: impl std::future::Future<Output = ()>,
    ) {
        // hyper waits for the first bytes (to tell HTTP/1 from HTTP/2) with no timer of its own:
        // a client that connects and says nothing must not hold a slot for ever (nor hold up a
        // shutdown: a browser's speculative connection may never send a request).
        let mut first = [0u8; 1];
        let peeked = tokio::select! {
            // A request that arrived before the drain is still served.
            biased;
            peeked = tokio::time::timeout(HEADER_TIMEOUT, stream.peek(&mut first)) => peeked,
            () = draining => return,
        };
        match peeked {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return,
            Err(_) => {
                debug!("client sent nothing before the header timeout; closing");
                return;
            }
        }
        match tls {
            None => self.serve(stream, watcher).await,
            Some(acceptor) => {
                match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => self.serve(stream, watcher).await,
                    Ok(Err(err)) => debug!(error = %err, "TLS handshake failed"),
                    Err(_) => debug!("TLS handshake timed out"),
                }
            }
        }
    }

    async fn serve<S>(self, stream: S, watcher: hyper_util::server::graceful::Watcher)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let app = self.app;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            async move { Ok::<_, Infallible>(app.call(request).await.unwrap_or_else(|e| match e {})) }
        });
        let stream = StallGuard::new(stream, WRITE_STALL);
        let connection = self
            .builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        if let Err(err) = watcher.watch(connection).await {
            // Client resets, aborted downloads, timeouts: routine, and never carry request data.
            debug!(error = %err, "HTTP connection ended with an error");
        }
    }
}

/// Counts open connections per client group; a slot gives its count back when dropped.
#[derive(Clone)]
struct ClientSlots {
    limit: usize,
    open: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
}

struct ClientSlot {
    slots: ClientSlots,
    client: std::net::IpAddr,
}

impl ClientSlots {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    fn take(&self, ip: std::net::IpAddr) -> Option<ClientSlot> {
        let client = crate::client_group::client_group(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(client).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod client_slot_tests {
    use super::ClientSlots;

    #[test]
    fn a_client_gets_at_most_its_share_of_connections_and_gets_them_back() {
        let slots = ClientSlots::new(2);
        let ip = "2001:db8::1".parse().unwrap();
        let same_64 = "2001:db8::2".parse().unwrap();
        let a = slots.take(ip).unwrap();
        let _b = slots.take(same_64).unwrap();
        assert!(slots.take(ip).is_none());
        assert!(slots.take("192.0.2.1".parse().unwrap()).is_some());
        drop(a);
        assert!(slots.take(same_64).is_some());
    }
}
