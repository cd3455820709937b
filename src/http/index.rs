//! The home page (what this is, how to send over SSH), `/healthz` and the 404 fallback.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::error::{Audience, Problem};
use super::router::AppState;
use super::templates::{self, IndexView};

pub(super) async fn page(State(state): State<AppState>) -> Html<String> {
    let site = &state.site;
    let host = &site.ssh_host;
    let (ssh, scp) = match site.ssh_port {
        22 => (format!("ssh {host}"), format!("scp secret.env {host}:")),
        port => (
            format!("ssh -p {port} {host}"),
            format!("scp -P {port} secret.env {host}:"),
        ),
    };
    Html(
        templates::index(&IndexView {
            ssh,
            scp,
            host_key: site.host_key_fingerprint.as_deref(),
        })
        .into_string(),
    )
}

/// 200 "ok" when the share store answers; 503 otherwise.
pub(super) async fn healthz(State(state): State<AppState>) -> Response {
    match state.shares.health().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "share storage unavailable\n",
            )
                .into_response()
        }
    }
}

pub(super) async fn not_found() -> Response {
    Problem::no_such_page().respond(Audience::Browser)
}
