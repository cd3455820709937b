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
use super::templates::ArmedPage;
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
        SiteInfo {
            public_url: settings.policy.public_url.clone(),
            ssh_host: settings.ssh.public_host.clone(),
            ssh_port: settings.ssh_addr.port(),
            host_key_fingerprint: None,
        }
    }
}

/// What every handler shares. One `Arc`: axum clones the state for each extractor of each
/// request, and one reference count is cheaper to bump than one per field.
#[derive(Clone)]
pub(super) struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub(super) struct SharedState {
    pub shares: Shares,
    pub site: SiteInfo,
    pub limiter: RateLimiter,
    pub console: Arc<Console>,
    /// Abuse reports per client address: a few, then one a minute.
    pub report_limiter: RateLimiter,
    pub trusted_proxies: Vec<IpNet>,
    /// The stylesheet with the configured theme's colours.
    pub css: Arc<str>,
    /// The armed status page, rendered once.
    pub armed_page: ArmedPage,
    /// Requests in flight per forwarded client, behind a trusted proxy.
    pub forwarded_slots: ClientSlots,
    /// What the HTTP side refused, by reason (for `/metrics`).
    pub refusals: Refusals,
}

/// The application: every route, with security headers on every response, and the access log on
/// every response when its level is on.
pub fn router(
    shares: Shares,
    console: Arc<Console>,
    site: SiteInfo,
    http: &HttpSettings,
    tls: bool,
    refusals: Refusals,
) -> Router {
    let rates = console.shared_rates();
    let state = AppState(Arc::new(SharedState {
        shares,
        console,
        report_limiter: RateLimiter::new(REPORTS_PER_MINUTE, REPORT_BURST)
            .shared(rates.clone(), "report"),
        site,
        limiter: RateLimiter::new(http.claims_per_minute, http.claim_burst).shared(rates, "claim"),
        trusted_proxies: http.trusted_proxies.clone(),
        css: super::assets::stylesheet(http.theme).into(),
        armed_page: ArmedPage::new(),
        forwarded_slots: ClientSlots::new(http.max_connections_per_client),
        refusals,
    }));
    let routes = Router::new()
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
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT));
    // Without trusted proxies the per-client cap is the accept loop's alone: no layer to pass.
    let routes = if state.trusted_proxies.is_empty() {
        routes
    } else {
        routes.layer(middleware::from_fn_with_state(
            state.clone(),
            client_slots::forwarded_client_cap,
        ))
    };
    let routes = if access_log::enabled() {
        routes.layer(middleware::from_fn(access_log::record))
    } else {
        routes
    };
    routes
        .layer(middleware::map_response(move |response| {
            headers::secure(response, tls)
        }))
        .with_state(state)
}
