//! Static assets, embedded in the binary: the stylesheet (theme colours prepended as CSS
//! variables from [`Theme`]) and the one small script. No third-party fonts or CDNs: the CSP
//! would refuse them anyway.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::theme::Theme;

/// The stylesheet: the theme's colours as CSS variables, then the layout that uses them.
pub(super) fn stylesheet(theme: &Theme) -> String {
    format!(
        "{}\n{}",
        theme.css_variables(),
        include_str!("assets/app.css")
    )
}

const JS: &str = include_str!("assets/app.js");

pub(super) async fn css(State(state): State<super::router::AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/css; charset=utf-8")],
        state.css.to_string(),
    )
}

pub(super) async fn js() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], JS)
}

const FAVICON: &str = include_str!("assets/favicon.svg");

/// The tab icon: a "1" in a safety-orange frame (one use), SVG so it stays sharp at every size.
pub(super) async fn favicon_svg() -> impl IntoResponse {
    ([(CONTENT_TYPE, "image/svg+xml")], FAVICON)
}

/// Browsers that ignore `<link rel=icon>` ask for this; an empty 204 keeps the log free of
/// 404 noise.
pub(super) async fn favicon() -> StatusCode {
    StatusCode::NO_CONTENT
}
