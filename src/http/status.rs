//! `GET /s/{id}` (and `HEAD`, which axum answers from the same handler without a body): the
//! status page. It only ever calls [`Shares::peek`](crate::share::Shares::peek), so link
//! previewers, scanners and prefetchers cannot consume a share.
//!
//! This is the page every link previewer fetches, so it is kept cheap: the armed page is filled
//! into markup rendered once at start-up ([`ArmedPage`]), and the peek reads no content.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};

use super::error::{Audience, Problem};
use super::router::AppState;
use super::templates::{ArmedPage, ArmedView};
use super::when;
use crate::share::{ShareId, ShareStatus, StatusState, now_millis};

pub(super) async fn page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = ShareId::parse(&id) else {
        return Problem::not_found().respond(Audience::Browser);
    };
    match state.shares.peek(&id).await {
        Ok(Some(status)) => render(&state.armed_page, &id, &status, None),
        Ok(None) => Problem::not_found().respond(Audience::Browser),
        Err(err) => Problem::from_share_error(&err).respond(Audience::Browser),
    }
}

/// The page for a share's current state; `problem` is shown above the form of an armed share.
pub(super) fn render(
    page: &ArmedPage,
    id: &ShareId,
    status: &ShareStatus,
    problem: Option<&str>,
) -> Response {
    match status.state {
        StatusState::Armed => {
            let kind = match status.kind {
                crate::crypto::Kind::Text => "TEXT",
                crate::crypto::Kind::File => "FILE",
            };
            let expires_in = when::span(status.expires_at.saturating_sub(now_millis()));
            let expires_at = when::utc(status.expires_at);
            let view = ArmedView {
                id: id.as_str(),
                kind,
                size_class: when::size_class(status.stored_size),
                expires_in: &expires_in,
                expires_at: &expires_at,
                password: status.password,
                problem,
            };
            Html(page.render(&view)).into_response()
        }
        StatusState::Opened { at } => Problem::opened(at).respond(Audience::Browser),
        StatusState::Revoked { at } => Problem::revoked(at).respond(Audience::Browser),
        StatusState::TakenDown { at } => Problem::taken_down(at).respond(Audience::Browser),
        StatusState::Locked => Problem::locked(status.max_attempts).respond(Audience::Browser),
    }
}
