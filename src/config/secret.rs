//! Secret setting values, and the redaction every value gets before `config check` shows it.
//!
//! A setting that *is* a secret (a password, a token) holds a [`Secret`]: its `Debug` and its
//! serialization (what `config check` prints) are `***`, and only [`Secret::expose`] reads it.
//! A setting that merely *may contain* one — a URL with `user:password@` in it, such as
//! `redis-url` — stays a plain string and is passed through [`redact_url_credentials`] on the
//! way out. Neither helps against an operator reading the config file: they keep secrets out of
//! terminals, logs and support tickets.

use std::borrow::Cow;
use std::convert::Infallible;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroize;

/// A setting value that is never shown: `Debug` and serialization print `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that uses it (never for display).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Secret, Infallible> {
        Ok(Secret(text.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Serialization exists for display (`config check`): it never carries the value.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// What a redacted value or credential reads as.
pub const REDACTED: &str = "***";

/// `scheme://user:password@host/…` → `scheme://user:***@host/…`, and `scheme://token@host` →
/// `scheme://***@host` (a user name alone is often a token). Anything without credentials comes
/// back unchanged. The credentials end at the *last* `@`, so an unescaped `@` or `/` in a
/// password is still covered (at worst a path with an `@` is redacted too).
///
/// A password given as a query parameter (`redis+unix:///run/redis.sock?pass=…`,
/// `…?password=…`) is redacted too, before the `@` search, so an `@` inside it cannot make the
/// search split it.
pub fn redact_url_credentials(text: &str) -> Cow<'_, str> {
    match redact_query_passwords(text) {
        Cow::Borrowed(text) => redact_userinfo(text),
        Cow::Owned(text) => Cow::Owned(redact_userinfo(&text).into_owned()),
    }
}

/// Query parameters whose value is a password.
const PASSWORD_PARAMS: [&str; 3] = ["password", "pass", "passwd"];

/// `…?db=0&pass=secret&x=1` → `…?db=0&pass=***&x=1` (parameter names in any case). Every `?`
/// and `&` starts a candidate parameter, not just the first `?`: a `?` inside a password
/// earlier in the URL must not hide the query that follows.
fn redact_query_passwords(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    for (at, _) in text.match_indices(['?', '&']) {
        let start = at + 1;
        if start < copied {
            continue;
        }
        let rest = &text[start..];
        let Some(name) = PASSWORD_PARAMS.iter().find(|name| {
            rest.len() > name.len()
                && rest.as_bytes()[name.len()] == b'='
                && rest.as_bytes()[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        }) else {
            continue;
        };
        let value_start = start + name.len() + 1;
        let value_end = text[value_start..]
            .find('&')
            .map_or(text.len(), |end| value_start + end);
        out.push_str(&text[copied..value_start]);
        out.push_str(REDACTED);
        copied = value_end;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn redact_userinfo(text: &str) -> Cow<'_, str> {
    let Some(scheme_end) = text.find("://") else {
        return Cow::Borrowed(text);
    };
    let start = scheme_end + 3;
    let Some(at) = text[start..].rfind('@').map(|at| start + at) else {
        return Cow::Borrowed(text);
    };
    let userinfo = &text[start..at];
    let kept = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:{REDACTED}"),
        None => REDACTED.to_owned(),
    };
    Cow::Owned(format!("{}{kept}{}", &text[..start], &text[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_its_value() {
        let secret: Secret = "hunter2".parse().unwrap();
        assert_eq!(secret.expose(), "hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(serde_json::to_value(&secret).unwrap(), "***");
        let from_toml: std::collections::BTreeMap<String, Secret> =
            toml::from_str("token = \"hunter2\"").unwrap();
        assert_eq!(from_toml["token"].expose(), "hunter2");
    }

    #[test]
    fn url_credentials_are_redacted_and_the_rest_kept() {
        let cases = [
            ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
            ("redis://default:pw@host/", "redis://default:***@host/"),
            ("rediss://token@host", "rediss://***@host"),
            ("redis://u:p@ss/w@rd@host/", "redis://u:***@host/"),
            ("redis://host:6379/", "redis://host:6379/"),
            ("http://localhost:8080", "http://localhost:8080"),
            ("./data", "./data"),
            ("me@example.com", "me@example.com"),
            (
                "redis+unix:///run/redis.sock?db=0&pass=hunter2",
                "redis+unix:///run/redis.sock?db=0&pass=***",
            ),
            (
                "redis+unix:///run/redis.sock?PASSWORD=hunt@er2&db=1",
                "redis+unix:///run/redis.sock?PASSWORD=***&db=1",
            ),
            (
                "redis://u:pw@host/?password=x",
                "redis://u:***@host/?password=***",
            ),
            ("redis://host/?passive=1", "redis://host/?passive=1"),
            (
                "redis://u:p?x@host/?pass=hunter2",
                "redis://u:***@host/?pass=***",
            ),
            ("redis://host/?pass=", "redis://host/?pass=***"),
        ];
        for (given, shown) in cases {
            assert_eq!(redact_url_credentials(given), shown, "{given}");
        }
    }
}
