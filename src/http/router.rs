//! Routes and the layers every response passes through. The route table is the whole public
//! surface: nothing else answers but the 404 page.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use tower_http::timeout::RequestBodyTimeoutLayer;

use super::client_slots::{self, ClientSlots};
use super::rate_limit::RateLimiter;
use super::{access_log, assets, claim, headers, index, report, status};
use crate::config::{HttpSettings, IpNet, Settings};
use crate::operator::Console;
use crate::refusals::Refusals;
use crate::share::Shares;

/// A claim body holds a 43-character key and a password: anything bigger is not a claim.
const MAX_BODY_BYTES: usize = 8 * 1024;
const REPORTS_PER_MINUTE: u32 = 1;
const REPORT_BURST: u32 = 5;
/// Slow-body clients are cut off after this.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the home page tells visitors about reaching the SSH side.
#[derive(Clone, Debug)]
pub struct SiteInfo {
    pub public_url: String,
    pub ssh_host: String,
    pub ssh_port: u16,
    /// `SHA256:…` of the SSH host key, once the SSH server knows it.
    pub host_key_fingerprint: Option<String>,
}

impl SiteInfo {
    pub fn from_settings(settings: &Settings) -> SiteInfo {
        let public_url = settings.policy.public_url.clone();
        let authority = public_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&public_url);
        let authority = authority.split('/').next().unwrap_or(authority);
        let host = match authority.strip_prefix('[') {
            Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or(v6)),
            None => authority.split(':').next().unwrap_or(authority).to_owned(),
        };
        SiteInfo {
            public_url,
            ssh_host: host,
            ssh_port: settings.ssh_addr.port(),
            host_key_fingerprint: None,
        }
    }
}

#[derive(Clone)]
pub(super) struct AppState {
    pub shares: Shares,
    pub site: Arc<SiteInfo>,
    pub limiter: Arc<RateLimiter>,
    pub console: Arc<Console>,
    /// Abuse reports per client address: a few, then one a minute.
    pub report_limiter: Arc<RateLimiter>,
    pub trusted_proxies: Arc<[IpNet]>,
    /// The stylesheet with the configured theme's colours.
    pub css: Arc<str>,
    /// Requests in flight per forwarded client, behind a trusted proxy.
    pub forwarded_slots: ClientSlots,
    /// What the HTTP side refused, by reason (for `/metrics`).
    pub refusals: Refusals,
}

/// The application: every route, with security headers and the access log on every response.
pub fn router(
    shares: Shares,
    console: Arc<Console>,
    site: SiteInfo,
    http: &HttpSettings,
    tls: bool,
    refusals: Refusals,
) -> Router {
    let rates = console.shared_rates();
    let state = AppState {
        shares,
        console,
        report_limiter: Arc::new(
            RateLimiter::new(REPORTS_PER_MINUTE, REPORT_BURST).shared(rates.clone(), "report"),
        ),
        site: Arc::new(site),
        limiter: Arc::new(
            RateLimiter::new(http.claims_per_minute, http.claim_burst).shared(rates, "claim"),
        ),
        trusted_proxies: http.trusted_proxies.clone().into(),
        css: super::assets::stylesheet(http.theme).into(),
        forwarded_slots: ClientSlots::new(http.max_connections_per_client),
        refusals,
    };
    Router::new()
        .route("/", get(index::page))
        .route("/healthz", get(index::healthz))
        .route("/s/{id}", get(status::page).post(claim::claim))
        .route("/s/{id}/report", post(report::report))
        .route("/static/app.css", get(assets::css))
        .route("/static/app.js", get(assets::js))
        .route("/static/favicon.svg", get(assets::favicon_svg))
        .route("/favicon.ico", get(assets::favicon))
        .fallback(index::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_slots::forwarded_client_cap,
        ))
        .layer(middleware::from_fn(access_log::record))
        .layer(middleware::map_response(move |response| {
            headers::secure(response, tls)
        }))
        .with_state(state)
}
