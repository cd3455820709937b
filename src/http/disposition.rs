//! `Content-Disposition: attachment` for a share's file name (RFC 6266 with an RFC 5987
//! `filename*`). Names were sanitized at upload, but this file still assumes nothing: the ASCII
//! fallback keeps only safe printable characters, and `filename*` percent-encodes everything
//! outside RFC 5987's attr-char set, so no quote, semicolon, CR or LF reaches the header.

use axum::http::HeaderValue;

use crate::safe_text::{Unsafe, sanitize};

const FALLBACK: &str = "share.bin";

pub fn attachment(name: Option<&str>) -> HeaderValue {
    let name = name
        .map(|n| sanitize(n, Unsafe::Drop))
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| FALLBACK.to_owned());
    let ascii: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' | ' ' | '(' | ')' | '+' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        let attr_char = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let value = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_safely_and_encoded_for_unicode() {
        let v = attachment(Some("db.env")).to_str().unwrap().to_owned();
        assert_eq!(
            v,
            "attachment; filename=\"db.env\"; filename*=UTF-8''db.env"
        );
        let v = attachment(Some("rés\"umé;\r\n x.pdf"))
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            v,
            "attachment; filename=\"r_s_um__ x.pdf\"; filename*=UTF-8''r%C3%A9s%22um%C3%A9%3B%20x.pdf"
        );
        assert!(attachment(None).to_str().unwrap().contains("share.bin"));
        assert!(
            attachment(Some("\u{7}"))
                .to_str()
                .unwrap()
                .contains("share.bin")
        );
    }
}
