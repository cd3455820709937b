//! The security headers every response carries, set last so no handler can forget or weaken
//! them. HSTS only when this process terminates TLS itself: over plain HTTP it would be
//! meaningless (and wrong behind a proxy that may not serve HTTPS on this host).
//!
//! Names and values are constants, built at compile time: nothing is parsed per response.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every response's headers, in the order they are set.
const ALWAYS: [(HeaderName, HeaderValue); 6] = [
    (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
    (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    ),
];

const HSTS: HeaderValue = HeaderValue::from_static("max-age=63072000; includeSubDomains");

/// Adds the headers; `tls` says whether this process terminates TLS (HSTS).
pub async fn secure(mut response: Response, tls: bool) -> Response {
    let headers = response.headers_mut();
    headers.reserve(ALWAYS.len() + 1);
    for (name, value) in ALWAYS {
        headers.insert(name, value);
    }
    if tls {
        headers.insert(STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
