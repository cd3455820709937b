//! Links as operators paste them from abuse mail, which is rarely as they were sent: mail
//! gateways wrap them (Proofpoint URL Defense v2 and v3, Microsoft Safe Links), percent-encode
//! them (`%23` for `#`, sometimes twice, sometimes the whole link) or rewrite the fragment mark
//! (URL Defense v3 puts `*` where `#` was).
//!
//! Two jobs, both about the link key, which must never be kept: [`unwrap_pasted`] recovers the
//! plain `…/s/<id>…` text so the share is recognised whatever the mangling, and
//! [`without_link_key`] cuts what text may be echoed, audited or logged before anything that
//! could be a key, in any of those forms — used when the text was *not* recognised, so it
//! cannot rely on having found the id.

use std::borrow::Cow;

/// Where a key may start in pasted text: `#`, its percent-encodings (once and twice), URL
/// Defense v3's `*` and URL Defense v2's `-23`.
const KEY_MARKERS: [&str; 5] = ["#", "*", "%23", "%2523", "-23"];
/// A run of base64 characters this long may be a key even with no marker before it (a link
/// whose `#` was lost, a key pasted as a separate word): it is never echoed.
const KEY_LIKE_RUN: usize = 40;
/// Percent-decoding passes: enough for a link encoded twice inside a wrapper.
const DECODE_PASSES: usize = 3;

/// The plain link inside `text`: wrappers removed, percent-encoding undone. Text that is not a
/// wrapped or encoded link comes back unchanged. What follows the id is left for the caller to
/// ignore (see `KEY_SEPARATORS`).
pub fn unwrap_pasted(text: &str) -> Cow<'_, str> {
    let text = text.trim();
    let mut plain: Cow<'_, str> = if let Some(inner) = url_defense_v3(text) {
        Cow::Borrowed(inner)
    } else if let Some(inner) = url_defense_v2(text) {
        Cow::Owned(inner)
    } else if let Some(inner) = query_value(text, "safelinks.protection.outlook.com", "url") {
        Cow::Borrowed(inner)
    } else {
        Cow::Borrowed(text)
    };
    for _ in 0..DECODE_PASSES {
        if !plain.contains('%') {
            break;
        }
        plain = Cow::Owned(percent_decode(&plain));
    }
    plain
}

/// What ends a share id in unwrapped text: the fragment mark, URL Defense v3's stand-in for it,
/// and the delimiters of a path or query.
pub const KEY_SEPARATORS: [char; 5] = ['#', '*', '/', '?', '&'];

/// `text` cut before anything that could be a link key, and with key-like runs masked: safe
/// to echo, audit and log even when it was not recognised as a link.
pub fn without_link_key(text: &str) -> String {
    let cut = KEY_MARKERS
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .unwrap_or(text.len());
    mask_key_like_runs(&text[..cut])
}

fn mask_key_like_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= KEY_LIKE_RUN {
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '+' | '/' | '=') {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `https://urldefense.com/v3/__<link>__;<base64>!!…`: the link sits between the `__` marks,
/// with `*` in place of characters it rewrote (the fragment mark among them).
fn url_defense_v3(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("urldefense.com/v3/__")?;
    let end = rest.rfind("__;").or_else(|| rest.rfind("__"))?;
    Some(&rest[..end])
}

/// `https://urldefense.proofpoint.com/v2/url?u=<link>&d=…`: the link with `%` written as `-`
/// and `/` as `_` (a literal `-` or `_` is itself encoded, as `-2D` and `-5F`).
fn url_defense_v2(text: &str) -> Option<String> {
    let encoded = query_value(text, "urldefense.proofpoint.com/v2/url", "u")?;
    Some(
        encoded
            .chars()
            .map(|c| match c {
                '-' => '%',
                '_' => '/',
                c => c,
            })
            .collect(),
    )
}

/// The value of `name=` in the query of a URL whose text contains `host`.
fn query_value<'a>(text: &'a str, host: &str, name: &str) -> Option<&'a str> {
    if !text.contains(host) {
        return None;
    }
    let (_, query) = text.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

/// `%XX` → byte; anything else (a lone `%`, bad hex) kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AbCdEfGhIjKlMnOp";
    const KEY: &str = "k3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yQ";

    #[test]
    fn mangled_links_unwrap_to_the_plain_link() {
        let plain = format!("https://share.test/s/{ID}#{KEY}");
        let cases = [
            plain.clone(),
            format!("https://share.test/s/{ID}%23{KEY}"),
            format!("https://share.test/s/{ID}%2523{KEY}"),
            format!("https%3A%2F%2Fshare.test%2Fs%2F{ID}%23{KEY}"),
            format!(
                "https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fshare.test%2Fs%2F{ID}%23{KEY}&data=05%7C01&reserved=0"
            ),
            format!(
                "https://urldefense.proofpoint.com/v2/url?u=https-3A__share.test_s_{ID}-23{KEY}&d=DwMFaQ&c=abc&r=xyz"
            ),
        ];
        for case in cases {
            assert_eq!(unwrap_pasted(&case), plain, "{case}");
        }
        let v3 =
            format!("https://urldefense.com/v3/__https://share.test/s/{ID}*{KEY}__;Iw!!Abc!xyz$");
        assert_eq!(
            unwrap_pasted(&v3),
            format!("https://share.test/s/{ID}*{KEY}")
        );
    }

    #[test]
    fn nothing_after_a_key_marker_survives() {
        for case in [
            format!("https://share.test/s/short#{KEY}"),
            format!("https://share.test/s/short%23{KEY}"),
            format!("https://share.test/s/short*{KEY}"),
            format!("u=https-3A__share.test_s_short-23{KEY}&d=x"),
            format!("https://share.test/s/short{KEY}"),
            KEY.to_owned(),
        ] {
            let shown = without_link_key(&case);
            assert!(!shown.contains(&KEY[..8]), "{shown}");
        }
        assert_eq!(
            without_link_key("https://share.test/s/short#secret"),
            "https://share.test/s/short"
        );
        assert_eq!(without_link_key("10.0.0.0/8"), "10.0.0.0/8");
    }
}
