//! `POST /s/{id}`: the claim. Rate limit first (per client address), then the form, then the one
//! call to [`Shares::claim`](crate::share::Shares::claim) — which checks the link key, counts a
//! password attempt and flips the share to opened atomically — and only then the content.
//!
//! Delivery guards the "a failed download never looks complete" rule: the first chunk is
//! decrypted before the response head is sent (so early damage becomes an honest error page);
//! after that, a chunk that fails authentication ends the stream with an error, which makes
//! hyper abort the connection short of its `Content-Length` instead of finishing the body.
//! A client that disconnects mid-download drops the body, which removes the blob: the share
//! was claimed, and stays used (at most once beats at least once).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use tracing::{error, warn};
use zeroize::Zeroize;

use super::client_ip::client_ip;
use super::disposition;
use super::error::{Audience, Problem};
use super::router::AppState;
use super::{status, templates, when};
use crate::crypto::{Kind, Password, ShareKey};
use crate::share::{Claimed, Handle, ShareError, ShareId};

/// Text shares larger than this are downloaded by browsers instead of rendered into a page.
const TEXT_PAGE_MAX: u64 = 1024 * 1024;

/// The claim form. Wiped on drop: it holds the link key and the password.
#[derive(Deserialize)]
pub(super) struct ClaimForm {
    key: Option<String>,
    password: Option<String>,
    /// The page's "download started" token (see [`ready_cookie_name`]); nothing secret.
    ready: Option<String>,
}

impl Drop for ClaimForm {
    fn drop(&mut self) {
        self.key.zeroize();
        self.password.zeroize();
    }
}

pub(super) async fn claim(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ClaimForm>, FormRejection>,
) -> Response {
    let audience = Audience::of(&headers);
    let ip = client_ip(peer, &headers, &state.trusted_proxies);
    if let Err(wait) = state.limiter.allow(ip).await {
        state.refusals.count(crate::refusals::Reason::ClaimRate);
        return Problem::too_many(wait.as_secs().max(1)).respond(audience);
    }
    let Some(id) = ShareId::parse(&id) else {
        return Problem::not_found().respond(audience);
    };
    let Ok(Form(form)) = form else {
        return Problem::missing_key().respond(audience);
    };
    let ready = form.ready.as_deref().and_then(ready_cookie_name);
    let (key, password) = match credentials(form) {
        Ok(credentials) => credentials,
        Err(FormProblem::MissingKey) => return Problem::missing_key().respond(audience),
        // A malformed key is just a wrong key: same answer as a missing share.
        Err(FormProblem::BadKey) => return Problem::not_found().respond(audience),
    };
    match state.shares.claim(&id, &key, password.as_ref()).await {
        Ok(claimed) => {
            let opened_at = claimed.opened_at;
            let mut response = deliver(claimed, audience, id.handle()).await;
            if let Some(name) = ready
                && response.status() == StatusCode::OK
                && response.headers().contains_key(CONTENT_DISPOSITION)
            {
                let cookie = format!("{name}={opened_at}; Path=/; Max-Age=120; SameSite=Strict");
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(SET_COOKIE, value);
                }
            }
            response
        }
        Err(err @ (ShareError::WrongPassword { .. } | ShareError::PasswordRequired))
            if audience == Audience::Browser =>
        {
            ask_again(&state, &id, &err).await
        }
        Err(err) => Problem::from_share_error(&err).respond(audience),
    }
}

/// A browser cannot see when a form POST turned into a download, so the page sends a random
/// token and the attachment response sets a cookie named after it (value: when the share was
/// opened); the page's script polls for it and shows the end state. The token is checked to be
/// a plain word, so it cannot inject cookie attributes.
fn ready_cookie_name(token: &str) -> Option<String> {
    let plain = (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then(|| format!("ots_ready_{token}"))
}

/// Why a claim form names no key.
#[derive(Debug, PartialEq, Eq)]
pub enum FormProblem {
    /// No key field, or an empty one.
    MissingKey,
    /// Something that is not a share key.
    BadKey,
}

/// The link key and the password a claim form carries (the form is wiped when it drops).
fn credentials(form: ClaimForm) -> Result<(ShareKey, Option<Password>), FormProblem> {
    let key_text = form
        .key
        .as_deref()
        .and_then(key_of)
        .ok_or(FormProblem::MissingKey)?;
    let key = ShareKey::from_base64(key_text).map_err(|_| FormProblem::BadKey)?;
    let password = form
        .password
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(Password::new);
    Ok((key, password))
}

/// A urlencoded claim body read the way the handler reads it (the `Form` extractor decodes with
/// the same `serde_urlencoded`), for fuzzing: the form parsing is the part of a claim that takes
/// a stranger's bytes before any key is checked.
pub fn claim_credentials(body: &[u8]) -> Result<(ShareKey, Option<Password>), FormProblem> {
    let form: ClaimForm =
        serde_urlencoded::from_bytes(body).map_err(|_| FormProblem::MissingKey)?;
    credentials(form)
}

/// The key from what was typed or pasted: a bare key, `#key`, or a whole link.
fn key_of(text: &str) -> Option<&str> {
    let text = text.trim();
    let key = text.rsplit_once('#').map(|(_, k)| k).unwrap_or(text).trim();
    (!key.is_empty()).then_some(key)
}

/// A wrong or missing password in a browser: the form again, with what went wrong.
async fn ask_again(state: &AppState, id: &ShareId, err: &ShareError) -> Response {
    let problem = match err {
        ShareError::WrongPassword { remaining } => {
            format!(
                "WRONG PASSWORD — {} LEFT. NOTHING WAS BURNED.",
                super::error::count(u64::from(*remaining), "ATTEMPT")
            )
        }
        _ => "THIS SHARE NEEDS A PASSWORD.".to_owned(),
    };
    match state.shares.peek(id).await {
        Ok(Some(current)) => {
            let mut response = status::render(&state.armed_page, id, &current, Some(&problem));
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::FORBIDDEN;
            }
            response
        }
        Ok(None) => Problem::not_found().respond(Audience::Browser),
        Err(e) => Problem::from_share_error(&e).respond(Audience::Browser),
    }
}

async fn deliver(claimed: Claimed, audience: Audience, handle: Handle) -> Response {
    let Claimed {
        meta,
        opened_at,
        body,
    } = claimed;
    match (meta.kind, audience) {
        (Kind::Text, Audience::Browser) if meta.size <= TEXT_PAGE_MAX => {
            match body.read_to_end().await {
                Ok(bytes) => match std::str::from_utf8(&bytes) {
                    Ok(text) if !has_stray_controls(text) => {
                        let page = templates::text(text, &when::utc(opened_at));
                        Html(page.into_string()).into_response()
                    }
                    // Stored as text before uploads were sniffed: a page would lose bytes.
                    _ => whole_download(bytes, "share.bin"),
                },
                Err(err) => {
                    error!(share = %handle, error = %err, "text share failed authentication");
                    Problem::corrupt().respond(audience)
                }
            }
        }
        (Kind::Text, Audience::Program) => {
            let head = Head {
                content_type: "text/plain; charset=utf-8",
                disposition: None,
                size: meta.size,
            };
            stream_body(body, head, audience, handle).await
        }
        (Kind::Text, Audience::Browser) | (Kind::File, _) => {
            let name = match meta.kind {
                Kind::Text => Some("share.txt"),
                Kind::File => meta.name.as_deref(),
            };
            let head = Head {
                content_type: "application/octet-stream",
                disposition: Some(disposition::attachment(name)),
                size: meta.size,
            };
            stream_body(body, head, audience, handle).await
        }
    }
}

/// Controls that a text page cannot show faithfully (the same rule uploads are sniffed with).
fn has_stray_controls(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

/// Bytes already in memory, as an attachment.
fn whole_download(bytes: Vec<u8>, name: &str) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_DISPOSITION, disposition::attachment(Some(name)));
    response
}

struct Head {
    content_type: &'static str,
    disposition: Option<HeaderValue>,
    size: u64,
}

async fn stream_body(
    body: crate::share::ClaimBody,
    head: Head,
    audience: Audience,
    handle: Handle,
) -> Response {
    let mut chunks = Box::pin(body.into_stream());
    let first = match chunks.next().await {
        Some(Ok(bytes)) => bytes,
        None => Bytes::new(),
        Some(Err(err)) => {
            error!(share = %handle, error = %err, "share failed authentication before delivery");
            return Problem::corrupt().respond(audience);
        }
    };
    let rest = chunks.map(move |item| {
        item.map_err(|err| {
            warn!(share = %handle, error = %err, "download aborted: content failed authentication");
            std::io::Error::other("share content failed authentication")
        })
    });
    let body = stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(rest);
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(head.content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(head.size));
    if let Some(disposition) = head.disposition {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{key_of, ready_cookie_name};

    #[test]
    fn ready_tokens_are_plain_words_or_nothing() {
        assert_eq!(
            ready_cookie_name("AbCdEfGhIjKlMnOp_-12").as_deref(),
            Some("ots_ready_AbCdEfGhIjKlMnOp_-12")
        );
        assert_eq!(ready_cookie_name("short"), None);
        assert_eq!(ready_cookie_name("aaaaaaaaaaaaaaaa; Domain=evil"), None);
        assert_eq!(ready_cookie_name(&"a".repeat(65)), None);
    }

    #[test]
    fn keys_are_found_in_what_people_paste() {
        assert_eq!(key_of(" abc "), Some("abc"));
        assert_eq!(key_of("#abc"), Some("abc"));
        assert_eq!(key_of("https://x/s/id#abc"), Some("abc"));
        assert_eq!(key_of("  "), None);
        assert_eq!(key_of("https://x/s/id#"), None);
    }
}
