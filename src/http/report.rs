//! `POST /s/{id}/report`: a visitor reports a share as abuse (malware, phishing, …) for the
//! operator to review with `admin reports`. Rate-limited per client address and capped in total
//! (see [`crate::operator::Console::file_report`]), so reports cannot be used to flood the
//! store or the operator. The form never carries the link key; reporting changes nothing about
//! the share itself.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tracing::warn;

use super::client_ip::client_ip;
use super::error::{Audience, Problem};
use super::router::AppState;
use crate::operator::{ConsoleError, ReportReason};
use crate::share::{ShareError, ShareId};

#[derive(Deserialize)]
pub(super) struct ReportForm {
    reason: Option<String>,
    details: Option<String>,
}

pub(super) async fn report(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ReportForm>, FormRejection>,
) -> Response {
    let audience = Audience::of(&headers);
    let ip = client_ip(peer, &headers, &state.trusted_proxies);
    if let Err(wait) = state.report_limiter.allow(ip).await {
        return Problem::too_many(wait.as_secs().max(1)).respond(audience);
    }
    let Some(id) = ShareId::parse(&id) else {
        return Problem::not_found().respond(audience);
    };
    let Some(reason) = form
        .ok()
        .and_then(|Form(f)| Some((ReportReason::parse(f.reason.as_deref()?)?, f.details)))
    else {
        return Problem::bad_report().respond(audience);
    };
    let (reason, details) = reason;
    match state
        .console
        .file_report(&id, reason, details.as_deref().unwrap_or_default(), ip)
        .await
    {
        Ok(number) => Problem::reported(number).respond(audience),
        Err(ConsoleError::Share(err)) => Problem::from_share_error(&err).respond(audience),
        Err(ConsoleError::ReportsFull) => {
            warn!("abuse report refused: too many open reports");
            Problem::unavailable().respond(audience)
        }
        Err(err) => {
            warn!(error = %err, "abuse report could not be stored");
            Problem::from_share_error(&ShareError::StoreUnavailable).respond(audience)
        }
    }
}
