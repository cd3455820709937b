//! The access log: method, the matched route *template* (`/s/{id}`, never the path itself) and
//! status, plus latency. Never the URI, query, headers or body: the path holds the share id and
//! the body holds the key.
//!
//! Its layer exists only when the log level includes it ([`enabled`], asked once when the router
//! is built, as the level itself is set once at start-up): a server run at `warn` pays nothing
//! per request for a log it does not write.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::{Level, info};

const TARGET: &str = "onetimeshare::http::access";

/// Whether access lines would be written at all.
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, Level::INFO)
}

pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    info!(
        target: TARGET,
        method = %method,
        route = %route.as_ref().map_or("<unmatched>", MatchedPath::as_str),
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
