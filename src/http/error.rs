//! Share outcomes as HTTP responses. What a client sees is what it may know: a missing, expired
//! and wrong-key share all get the same 404 page. Internal causes are logged here, once, with
//! the share's handle at most.
//!
//! Browsers (`Accept: text/html`) get a page; other clients (`curl`) get one line of
//! `text/plain`, so scripts can read the reason.

use axum::http::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tracing::error;

use super::templates::{self, Notice, Tone};
use super::when;
use crate::share::ShareError;

/// Which form a response takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Audience {
    Browser,
    Program,
}

impl Audience {
    pub fn of(headers: &HeaderMap) -> Audience {
        let html = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"));
        if html {
            Audience::Browser
        } else {
            Audience::Program
        }
    }
}

/// A page that explains a state: the HTML notice, or its one-line plain form.
pub struct Problem {
    pub status: StatusCode,
    pub label: &'static str,
    pub tone: Tone,
    pub headline: String,
    pub lines: Vec<String>,
    pub retry_after: Option<u64>,
}

impl Problem {
    fn new(
        status: StatusCode,
        label: &'static str,
        tone: Tone,
        headline: impl Into<String>,
    ) -> Self {
        Self {
            status,
            label,
            tone,
            headline: headline.into(),
            lines: Vec::new(),
            retry_after: None,
        }
    }

    fn line(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    pub fn not_found() -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "NOT FOUND",
            Tone::Muted,
            "THIS SHARE DOES NOT EXIST OR HAS EXPIRED",
        )
        .line("Expired shares are deleted for good. Ask the sender for a new link.")
    }

    pub fn opened(at: u64) -> Self {
        Problem::new(
            StatusCode::GONE,
            "ALREADY OPENED",
            Tone::Danger,
            format!("ALREADY OPENED AT {}", when::utc(at)),
        )
        .line("This link worked once and has been used. If that was not you, someone else opened it first: tell the sender.")
    }

    pub fn revoked(at: u64) -> Self {
        Problem::new(
            StatusCode::GONE,
            "REVOKED",
            Tone::Danger,
            format!("REVOKED BY ITS SENDER AT {}", when::utc(at)),
        )
        .line("The sender withdrew this share; its content is deleted.")
    }

    pub fn taken_down(at: u64) -> Self {
        Problem::new(
            StatusCode::GONE,
            "REMOVED",
            Tone::Danger,
            format!("REMOVED BY THE OPERATOR AT {}", when::utc(at)),
        )
        .line("The operator of this service took this share down; its content is deleted.")
    }

    pub fn reported(number: u64) -> Self {
        Problem::new(
            StatusCode::ACCEPTED,
            "REPORTED",
            Tone::Muted,
            format!("THANK YOU: REPORT #{number} RECEIVED"),
        )
        .line("The operator of this service will review it. Reporting does not open or change the share.")
    }

    pub fn bad_report() -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "BAD REPORT",
            Tone::Warning,
            "CHOOSE WHAT IS WRONG WITH THIS SHARE",
        )
        .line("Send the form field `reason` as one of: malware, phishing, illegal, spam, other (and optionally `details`).")
    }

    pub fn locked(attempts: u32) -> Self {
        Problem::new(
            StatusCode::LOCKED,
            "LOCKED",
            Tone::Danger,
            format!("LOCKED AFTER {}", count(u64::from(attempts), "WRONG PASSWORD")),
        )
        .line("No more attempts are accepted, the right password included. Ask the sender for a new link.")
    }

    /// A path that is not a share (a mistyped URL): not the same words as a missing share.
    pub fn no_such_page() -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "NOT FOUND",
            Tone::Muted,
            "THERE IS NO PAGE HERE",
        )
        .line("Links to shares look like /s/ followed by an id and #key. Check the address.")
    }

    pub fn missing_key() -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "BAD REQUEST",
            Tone::Warning,
            "THE CLAIM NEEDS THE LINK KEY",
        )
        .line("Send the part of the link after # as the form field `key`.")
    }

    pub fn too_many(retry_after: u64) -> Self {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO MANY ATTEMPTS",
            Tone::Warning,
            "SLOW DOWN: TOO MANY ATTEMPTS FROM YOUR ADDRESS",
        )
        .line(format!(
            "Try again in {}. Nothing was opened or burned.",
            count(retry_after, "second")
        ));
        p.retry_after = Some(retry_after);
        p
    }

    /// Over the per-client cap of requests in flight (behind a trusted proxy).
    pub fn busy() -> Self {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "BUSY",
            Tone::Warning,
            "TOO MANY REQUESTS IN FLIGHT FROM YOUR ADDRESS",
        )
        .line("Let the others finish, then try again. Nothing was opened or burned.");
        p.retry_after = Some(5);
        p
    }

    /// Every Argon2 thread stayed busy for as long as a claim may wait: a flood of password
    /// checks. The claim reserved no thread, so it spent no attempt.
    pub fn password_checks_busy() -> Self {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "BUSY",
            Tone::Warning,
            "TOO MANY PASSWORD CHECKS AT ONCE",
        )
        .line(
            "Nothing was opened or burned, and no attempt was counted: try again in a few seconds.",
        );
        p.retry_after = Some(5);
        p
    }

    pub fn unavailable() -> Self {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            Tone::Warning,
            "SHARE STORAGE IS UNAVAILABLE",
        )
        .line("The server cannot reach its storage right now. Nothing was opened: try again in a minute.");
        p.retry_after = Some(30);
        p
    }

    /// A state change got no answer and storage stayed silent while the server tried to find
    /// out whether it happened. Nobody received anything through this request.
    pub fn outcome_unknown() -> Self {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "OUTCOME UNKNOWN",
            Tone::Warning,
            "SHARE STORAGE STALLED: THE OUTCOME IS NOT KNOWN YET",
        )
        .line("The server could not confirm whether this step went through, and sent you nothing. If the share was opened by it, nobody received the content: it is re-armed as soon as storage answers. Try again in a minute.");
        p.retry_after = Some(30);
        p
    }

    pub fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERROR",
            Tone::Danger,
            "SOMETHING WENT WRONG ON THE SERVER",
        )
        .line("The problem was logged. Try again later.")
    }

    pub fn corrupt() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "CORRUPT",
            Tone::Danger,
            "THE SHARE FAILED ITS INTEGRITY CHECK",
        )
        .line("Its stored content was damaged or tampered with, so nothing was delivered. The share is used up: ask the sender to send it again.")
    }

    /// The claim-time outcome of a share error. Wrong passwords are handled by the claim page
    /// (it shows the form again); here they become plain 403s.
    pub fn from_share_error(err: &ShareError) -> Self {
        match err {
            ShareError::NotFound => Problem::not_found(),
            ShareError::AlreadyOpened { at } => Problem::opened(*at),
            ShareError::Revoked { at } => Problem::revoked(*at),
            ShareError::TakenDown { at } => Problem::taken_down(*at),
            ShareError::Locked { attempts } => Problem::locked(*attempts),
            ShareError::PasswordRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "PASSWORD REQUIRED",
                Tone::Warning,
                "THIS SHARE NEEDS A PASSWORD",
            )
            .line("Send it as the form field `password`. Nothing was burned."),
            ShareError::WrongPassword { remaining } => Problem::new(
                StatusCode::FORBIDDEN,
                "WRONG PASSWORD",
                Tone::Warning,
                format!(
                    "WRONG PASSWORD: {} LEFT",
                    count(u64::from(*remaining), "ATTEMPT")
                ),
            )
            .line("Nothing was burned."),
            ShareError::Busy => {
                err.log("claim");
                Problem::password_checks_busy()
            }
            ShareError::StoreUnavailable => {
                err.log("claim");
                Problem::unavailable()
            }
            ShareError::OutcomeUnknown => {
                err.log("claim");
                Problem::outcome_unknown()
            }
            ShareError::Corrupt(cause) => {
                error!(error = %cause, "share failed authentication at claim");
                Problem::corrupt()
            }
            other => {
                other.log("claim");
                Problem::internal()
            }
        }
    }

    pub fn respond(self, audience: Audience) -> Response {
        let mut response = match audience {
            Audience::Browser => Html(
                templates::notice(&Notice {
                    code: self.status.as_u16(),
                    label: self.label,
                    tone: self.tone,
                    headline: &self.headline,
                    lines: self.lines,
                })
                .into_string(),
            )
            .into_response(),
            Audience::Program => {
                let mut text = plain_headline(&self.headline);
                text.push('\n');
                let mut r = text.into_response();
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                r
            }
        };
        *response.status_mut() = self.status;
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// "1 ATTEMPT", "3 ATTEMPTS": a number and its noun, agreeing (the noun as written, plus S).
pub fn count(n: u64, noun: &str) -> String {
    let plural = match noun.chars().last() {
        Some(c) if c.is_uppercase() => "S",
        _ => "s",
    };
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}{plural}")
    }
}

/// The page headline ("ALREADY OPENED AT 2026-11-23 10:38:03 UTC") as a plain-text line for
/// programs: lower case, but the time zone stays "UTC".
fn plain_headline(headline: &str) -> String {
    let lower = headline.to_lowercase();
    match lower.strip_suffix(" utc") {
        Some(rest) => format!("{rest} UTC"),
        None => lower,
    }
}

#[cfg(test)]
mod plain_headline_tests {
    use super::plain_headline;

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(super::count(1, "ATTEMPT"), "1 ATTEMPT");
        assert_eq!(super::count(4, "ATTEMPT"), "4 ATTEMPTS");
        assert_eq!(super::count(1, "second"), "1 second");
        assert_eq!(super::count(0, "second"), "0 seconds");
    }

    #[test]
    fn program_headlines_are_lower_case_but_keep_utc() {
        assert_eq!(
            plain_headline("ALREADY OPENED AT 2026-11-23 10:38:03 UTC"),
            "already opened at 2026-11-23 10:38:03 UTC"
        );
        assert_eq!(
            plain_headline("LOCKED AFTER 3 WRONG PASSWORDS"),
            "locked after 3 wrong passwords"
        );
    }
}
