//! Sockets: the listener bound at start-up, the accept loop, optional TLS, and the limits that
//! protect the process from slow or numerous clients (header size and read timeout, TLS
//! handshake timeout, a stalled-reader write timeout, caps on open connections in total, per
//! client and per trusted proxy, and a bounded life per connection: see `connection_life.rs`).
//! Everything above this file sees only requests.
//!
//! Why our own loop rather than `axum::serve`: built-in TLS and hyper's header limits and
//! timeouts need the connection builder, and axum's helper hides it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::Service as _;
use tracing::debug;

use super::client_slots::ClientSlots;
use super::connection_life::Activity;
use super::held_body::HeldBody;
use super::router::{SiteInfo, router};
use super::stall::StallGuard;
use crate::accept_errors::AcceptErrors;
use crate::config::Settings;
use crate::share::Shares;
use crate::shutdown::Shutdown;

/// A client must finish its request headers (and a TLS handshake) within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line + headers) accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// Keep-alive pings for HTTP/2: a peer that stops answering is disconnected.
const H2_KEEPALIVE: Duration = Duration::from_secs(30);
/// After a graceful close began, a connection with no request in flight for this long (or the
/// idle timeout, if shorter) is dropped, whether the client took part in the close or not.
const CLOSE_GRACE: Duration = Duration::from_secs(10);
/// A client that reads nothing of a response for this long is disconnected.
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
    refusals: crate::refusals::Refusals,
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
            refusals: Default::default(),
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// What this server refused, by reason (connection caps, claim rate).
    pub fn refusals(&self) -> crate::refusals::Refusals {
        self.refusals.clone()
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
            self.refusals.clone(),
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
        let limits = &self.settings;
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        let per_client = ClientSlots::new(limits.max_connections_per_client);
        let per_proxy = ClientSlots::new(limits.max_connections_per_proxy);
        let life = Life {
            idle: limits.idle_timeout,
            max_age: limits.max_connection_age,
        };
        let mut accept_errors = AcceptErrors::new("http", Duration::from_millis(50));
        let draining = shutdown.draining();
        tokio::pin!(draining);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut draining => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        accept_errors.failed(&err).await;
                        continue;
                    }
                },
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                self.refusals
                    .count(crate::refusals::Reason::HttpConnections);
                debug!("connection limit reached; closing a new connection");
                continue;
            };
            // A trusted proxy carries many clients: it gets a cap of its own, and the
            // per-client cap applies to each forwarded client's requests instead.
            let proxied = limits.trusted_proxies.iter().any(|n| n.contains(peer.ip()));
            let counted = if proxied { &per_proxy } else { &per_client };
            let Some(client_slot) = counted.take(peer.ip()) else {
                self.refusals
                    .count(crate::refusals::Reason::HttpConnections);
                debug!(
                    proxied,
                    "per-client connection limit reached; closing a new connection"
                );
                continue;
            };
            let _ = stream.set_nodelay(true);
            let connection = Connection {
                app: app.clone(),
                builder: builder.clone(),
                peer,
                life,
            };
            let tls = self.tls.clone();
            let (draining, cutting) = (shutdown.draining(), shutdown.cutting());
            shutdown.spawn(async move {
                let _slots = (slot, client_slot);
                tokio::select! {
                    () = connection.run(stream, tls, draining) => {}
                    () = cutting => debug!("HTTP connection cut by shutdown"),
                }
            });
        }
        // Each connection closes itself on the drain (idle ones at once, busy ones when their
        // responses end) and is tracked work: shutdown waits for it, then cuts it.
        drop(self.listener);
    }
}

/// How long a connection may live: idle, and in all.
#[derive(Clone, Copy)]
struct Life {
    idle: Duration,
    max_age: Duration,
}

struct Connection {
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    peer: SocketAddr,
    life: Life,
}

impl Connection {
    async fn run(
        self,
        stream: TcpStream,
        tls: Option<TlsAcceptor>,
        draining: impl Future<Output = ()>,
    ) {
        // hyper waits for the first bytes (to tell HTTP/1 from HTTP/2) with no timer of its own:
        // a client that connects and says nothing must not hold a slot for ever (nor hold up a
        // shutdown: a browser's speculative connection may never send a request).
        let mut first = [0u8; 1];
        tokio::pin!(draining);
        let peeked = tokio::select! {
            // A request that arrived before the drain is still served.
            biased;
            peeked = tokio::time::timeout(HEADER_TIMEOUT, stream.peek(&mut first)) => peeked,
            () = &mut draining => return,
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
            None => self.serve(stream, draining.as_mut()).await,
            Some(acceptor) => {
                match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => self.serve(stream, draining.as_mut()).await,
                    Ok(Err(err)) => debug!(error = %err, "TLS handshake failed"),
                    Err(_) => debug!("TLS handshake timed out"),
                }
            }
        }
    }

    /// Serves requests until the client leaves, or the connection is closed gracefully (no
    /// new requests; HTTP/2 sends GOAWAY; requests in flight finish) on the drain, after the
    /// idle timeout with no request in flight, or at its maximum age.
    async fn serve<S>(self, stream: S, draining: Pin<&mut impl Future<Output = ()>>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let app = self.app;
        let activity = Activity::new();
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            let in_flight = requests.begin();
            async move {
                let response = app.call(request).await.unwrap_or_else(|e| match e {});
                Ok::<_, Infallible>(response.map(|body| HeldBody::new(body, in_flight)))
            }
        });
        let stream = StallGuard::new(stream, WRITE_STALL);
        let connection = self
            .builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        tokio::pin!(connection);
        let idle = activity.idle_for(self.life.idle);
        let aged = tokio::time::sleep(self.life.max_age);
        tokio::pin!(idle, aged);
        let mut draining = draining;
        let why = tokio::select! {
            ended = connection.as_mut() => Ok(ended),
            () = &mut draining => Err("shutdown"),
            () = &mut idle => Err("idle"),
            () = &mut aged => Err("max age"),
        };
        let ended = match why {
            Ok(ended) => ended,
            Err(why) => {
                debug!(why, "closing an HTTP connection gracefully");
                connection.as_mut().graceful_shutdown();
                // HTTP/2's graceful close waits for the client to acknowledge a PING after the
                // GOAWAY; a client that never does must not keep the connection that way.
                let grace = self.life.idle.min(CLOSE_GRACE);
                let settle = async {
                    tokio::time::sleep(grace).await;
                    activity.idle_for(grace).await;
                };
                tokio::select! {
                    ended = connection.as_mut() => ended,
                    () = settle => {
                        debug!("client ignored the close; dropping the connection");
                        Ok(())
                    }
                }
            }
        };
        if let Err(err) = ended {
            // Client resets, aborted downloads, timeouts: routine, and never carry request data.
            debug!(error = %err, "HTTP connection ended with an error");
        }
    }
}
