//! Everything the SSH side prints, as pure functions of data: the details of an armed share,
//! its `--json` form, the `ls` table, help and usage texts.
//!
//! The contract (BRIEF §3) lives here: the link alone goes to stdout for pipes, human details go
//! to stderr, and nothing contains ANSI escapes — names were sanitized before they got here.
//! Links are only ever formatted into client-bound text, never into anything that is logged.

use std::time::Duration;

use crate::config::{format_duration, format_size};
use crate::share::{Armed, Millis, ShareStatus, StatusState};

/// The one-line summary on stderr after an upload.
pub fn armed_details(armed: &Armed, now: Millis) -> String {
    let mut text = format!(
        "{} {}, expires in {} ({}), works once",
        format_size(armed.size),
        armed.kind.as_str(),
        time_left(armed.expires_at, now),
        utc(armed.expires_at),
    );
    if armed.password {
        text.push_str(", password required");
    }
    text.push_str(&format!(", id {}", armed.handle));
    text
}

/// stderr for a file sent with scp or sftp: the link, then its details.
pub fn armed_file(armed: &Armed, link: &str, now: Millis) -> String {
    let name = armed.name.as_deref().unwrap_or("upload");
    format!("{name}: {link}\n  {}\n", armed_details(armed, now))
}

/// `--json`: one object on one line.
pub fn armed_json(armed: &Armed, link: &str) -> String {
    let value = serde_json::json!({
        "link": link,
        "id": armed.handle.as_str(),
        "kind": armed.kind.as_str(),
        "name": armed.name,
        "size": armed.size,
        "expires_at": utc(armed.expires_at),
        "expires_at_ms": armed.expires_at,
        "password": armed.password,
    });
    format!("{value}\n")
}

/// `ls`: the sender's shares, newest first.
pub fn share_table(shares: &[ShareStatus], now: Millis) -> String {
    if shares.is_empty() {
        return "You have no live shares.\n".into();
    }
    let mut out = format!(
        "{:<10}  {:<4}  {:>9}  {:<28}  {}\n",
        "ID", "KIND", "STORED", "STATE", "EXPIRES IN"
    );
    for share in shares {
        let state = match share.state {
            StatusState::Armed if share.expires_at <= now => "expired".to_owned(),
            StatusState::Armed => "armed".to_owned(),
            StatusState::Opened { at } => format!("opened {}", utc(at)),
            StatusState::Revoked { at } => format!("revoked {}", utc(at)),
            StatusState::TakenDown { at } => format!("removed by the operator {}", utc(at)),
            StatusState::Locked => "locked".to_owned(),
        };
        out.push_str(&format!(
            "{:<10}  {:<4}  {:>9}  {:<28}  {}\n",
            share.handle.as_str(),
            share.kind.as_str(),
            format_size(share.stored_size),
            state,
            time_left(share.expires_at, now),
        ));
    }
    out
}

pub const HELP: &str = "\
onetimeshare: turn a secret into a link that works exactly once.

Upload (the link is printed alone on stdout, details on stderr):
  cat secret.env | ssh HOST
  ssh HOST -- --ttl 1h --name db.env < secret.env
  scp secret.env HOST:            (one link per file, on stderr)
  scp -O secret.env HOST:
  sftp HOST  then  put FILE

Upload options:
  --ttl DURATION     expiry, e.g. 5m, 1h, 1d, 7d
  --name NAME        file name shown to the recipient (makes it a file share)
  --json             print one JSON object instead of the bare link
  --size BYTES       the exact size of the secret; if a different number of
                     bytes arrives (a producer that died mid-pipe), the upload
                     fails and nothing is stored
  --sha256 HEX       the SHA-256 of the secret (as sha256sum prints it); if the
                     content differs, the upload fails and nothing is stored.
                     Example:
                       ssh HOST -- --size $(stat -c %s f) --sha256 $(sha256sum < f | cut -d' ' -f1) < f
  --password-stdin   the first line of stdin is a password the recipient must
                     also know; the secret follows it. Never put a password on
                     the command line. Example:
                       { cat pw.txt; cat secret.env; } | ssh HOST -- --password-stdin

Your shares (identified by your SSH key):
  ssh HOST ls          list them: id, kind, size, state, time left
  ssh HOST revoke ID   destroy one before it is opened
  ssh HOST help        this text
";

/// Shown on an interactive terminal until the full-screen interface is available.
pub const USAGE_ON_TERMINAL: &str = "\
onetimeshare: this link works once.

The interactive interface is not available yet. Pipe a secret instead:
  cat secret.env | ssh HOST
Run `ssh HOST help` for everything else.
";

/// Remaining time, rounded for humans ("1d", "5m", "expired").
pub fn time_left(expires_at: Millis, now: Millis) -> String {
    if expires_at <= now {
        return "expired".into();
    }
    let mut secs = (expires_at - now).div_ceil(1000);
    if secs >= 3600 {
        secs = (secs + 30) / 60 * 60;
    }
    format_duration(Duration::from_secs(secs))
}

/// `2026-11-23 09:34 UTC` from unix milliseconds.
pub fn utc(at: Millis) -> String {
    crate::utc::utc_minutes(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_like_the_ttl_that_was_asked_for() {
        assert_eq!(time_left(86_400_000, 5), "1d");
        assert_eq!(time_left(60_000, 0), "1m");
        assert_eq!(time_left(90_500, 0), "1m31s");
        assert_eq!(time_left(10, 10), "expired");
    }

    #[test]
    fn texts_carry_no_escape_sequences() {
        for text in [HELP, USAGE_ON_TERMINAL] {
            assert!(!text.contains('\x1b'));
        }
    }
}
