//! File names from clients are hostile. [`ShareName`] is the only way a name enters a share:
//! basename only, anything that does not show as itself stripped (`crate::safe_text`), length
//! capped, `.`/`..`/empty refused. Names are sealed inside the share and never touch the filesystem (blobs are
//! server-named), but they are shown on terminals and in `Content-Disposition` headers.

use crate::safe_text::{Unsafe, sanitize};

/// Longest name kept, in bytes (cut on a character boundary).
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("file name is empty once unsafe characters are removed")]
    Empty,
    #[error("file name {0:?} is not allowed")]
    Reserved(&'static str),
}

impl ShareName {
    /// Cleans a client-supplied path or name (any bytes) into a safe display name.
    pub fn sanitize(raw: &[u8]) -> Result<Self, NameError> {
        let text = String::from_utf8_lossy(raw);
        let base = text
            .rsplit(['/', '\\'])
            .find(|part| !part.is_empty())
            .unwrap_or("");
        let mut clean = String::with_capacity(base.len().min(MAX_NAME_BYTES));
        for ch in sanitize(base, Unsafe::Drop).chars() {
            if clean.len() + ch.len_utf8() > MAX_NAME_BYTES {
                break;
            }
            clean.push(ch);
        }
        let clean = clean.trim().to_owned();
        match clean.as_str() {
            "" => Err(NameError::Empty),
            "." => Err(NameError::Reserved(".")),
            ".." => Err(NameError::Reserved("..")),
            _ => Ok(Self(clean)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &[u8]) -> Result<String, NameError> {
        ShareName::sanitize(raw).map(ShareName::into_string)
    }

    #[test]
    fn paths_reduce_to_their_basename() {
        assert_eq!(clean(b"../x").unwrap(), "x");
        assert_eq!(clean(b"/etc/passwd").unwrap(), "passwd");
        assert_eq!(clean(b"dir\\sub\\file.env").unwrap(), "file.env");
        assert_eq!(clean(b"trailing/slash/").unwrap(), "slash");
    }

    #[test]
    fn spaces_inside_names_survive() {
        assert_eq!(clean(b"my secret file.txt").unwrap(), "my secret file.txt");
    }

    #[test]
    fn escapes_controls_and_bidi_tricks_are_stripped() {
        assert_eq!(clean(b"\x1b[31mred\x1b[0m.txt").unwrap(), "[31mred[0m.txt");
        assert_eq!(clean(b"two\nlines\r.txt").unwrap(), "twolines.txt");
        assert_eq!(
            clean("evil\u{202E}txt.exe".as_bytes()).unwrap(),
            "eviltxt.exe"
        );
        assert_eq!(clean(b"bad\xff\xfeutf8").unwrap(), "badutf8");
    }

    #[test]
    fn invisible_characters_that_used_to_pass_are_stripped() {
        let sneaky = "in\u{061C}voice\u{2028}\u{E0041}\u{00AD}\u{3164}\u{115F}\u{FFA0}\u{180E}.pdf";
        assert_eq!(clean(sneaky.as_bytes()).unwrap(), "invoice.pdf");
        assert_eq!(
            clean("\u{FE0F}\u{3164}".as_bytes()).unwrap_err(),
            NameError::Empty
        );
        assert_eq!(
            clean("\u{2764}\u{FE0F}.txt".as_bytes()).unwrap(),
            "\u{2764}\u{FE0F}.txt"
        );
    }

    #[test]
    fn empty_and_dot_names_are_refused() {
        assert_eq!(clean(b"").unwrap_err(), NameError::Empty);
        assert_eq!(clean(b"\x1b\x07").unwrap_err(), NameError::Empty);
        assert_eq!(clean(b".").unwrap_err(), NameError::Reserved("."));
        assert_eq!(clean(b"a/..").unwrap_err(), NameError::Reserved(".."));
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let long = "é".repeat(300);
        let name = clean(long.as_bytes()).unwrap();
        assert!(name.len() <= MAX_NAME_BYTES);
        assert!(name.chars().all(|c| c == 'é'));
    }
}
