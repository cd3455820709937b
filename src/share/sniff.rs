//! Is an upload that arrived as "text" really text?
//!
//! A pipe (`ssh host < cert.p12`, `tar cz dir | ssh host`) has no file name, so the sender cannot
//! tell us what it is. A text share is rendered into a page in the browser; bytes that are not
//! text would be decoded lossily there and the share would be gone — data loss. So the content
//! decides: an upload is text only if it is valid UTF-8 with no control characters other than
//! tab, line feed, carriage return and form feed. Anything else becomes a file share with a
//! name that says what it looks like (`share.gz`, `share.png`, … or `share.bin`), downloaded
//! byte for byte.
//!
//! [`TextSniffer`] sees the plaintext as it streams (validation carries at most three bytes of an
//! unfinished character across writes), does work linear in the bytes, stops looking once the
//! answer is "binary", and keeps the first bytes for the magic-number name.

/// How many leading bytes are kept to recognise a file type.
const MAGIC_LEN: usize = 8;

/// Streaming classifier for uploads declared as text.
#[derive(Debug, Default)]
pub(super) struct TextSniffer {
    /// Bytes of a UTF-8 sequence that the last write cut short.
    pending: [u8; 4],
    pending_len: usize,
    binary: bool,
    magic: [u8; MAGIC_LEN],
    magic_len: usize,
}

/// What the sniffer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sniffed {
    Text,
    /// Not text; the name a download gets when the sender gave none.
    Binary {
        default_name: &'static str,
    },
}

impl TextSniffer {
    pub(super) fn push(&mut self, mut data: &[u8]) {
        let room = MAGIC_LEN - self.magic_len;
        let take = room.min(data.len());
        self.magic[self.magic_len..self.magic_len + take].copy_from_slice(&data[..take]);
        self.magic_len += take;
        if self.binary {
            return;
        }
        // Finish the character the previous write cut short, one byte at a time (at most 3).
        while self.pending_len > 0 {
            let Some((&byte, rest)) = data.split_first() else {
                return;
            };
            data = rest;
            self.pending[self.pending_len] = byte;
            self.pending_len += 1;
            match std::str::from_utf8(&self.pending[..self.pending_len]) {
                Ok(_) => {
                    let done = self.pending_len;
                    self.pending_len = 0;
                    if has_control(&self.pending[..done]) {
                        self.binary = true;
                        return;
                    }
                }
                Err(e) if e.error_len().is_some() || self.pending_len == 4 => {
                    self.binary = true;
                    return;
                }
                Err(_) => {}
            }
        }
        let valid = match std::str::from_utf8(data) {
            Ok(_) => data,
            Err(e) if e.error_len().is_some() => {
                self.binary = true;
                return;
            }
            Err(e) => {
                // Cut inside a character: keep its start for the next write.
                let (valid, tail) = data.split_at(e.valid_up_to());
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len();
                valid
            }
        };
        if has_control(valid) {
            self.binary = true;
        }
    }

    /// The verdict once every byte has been pushed.
    pub(super) fn finish(&self) -> Sniffed {
        if !self.binary && self.pending_len == 0 {
            return Sniffed::Text;
        }
        Sniffed::Binary {
            default_name: name_for(&self.magic[..self.magic_len]),
        }
    }
}

/// Control characters that have no place in text: C0 other than tab, LF, FF, CR; DEL; C1
/// (U+0080..U+009F, encoded as 0xC2 0x80..0x9F). `bytes` must be valid UTF-8.
fn has_control(bytes: &[u8]) -> bool {
    let c0 = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | 0x0c | b'\r')) || b == 0x7f;
    bytes.iter().any(|&b| c0(b))
        || bytes
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]))
}

/// A download name from the first bytes: the common formats people pipe, else `share.bin`.
fn name_for(magic: &[u8]) -> &'static str {
    const KNOWN: &[(&[u8], &str)] = &[
        (b"\x1f\x8b", "share.gz"),
        (b"\x89PNG\r\n\x1a\n", "share.png"),
        (b"\xff\xd8\xff", "share.jpg"),
        (b"GIF8", "share.gif"),
        (b"%PDF-", "share.pdf"),
        (b"PK\x03\x04", "share.zip"),
        (b"\x28\xb5\x2f\xfd", "share.zst"),
        (b"\xfd7zXZ\x00", "share.xz"),
        (b"BZh", "share.bz2"),
        (b"7z\xbc\xaf\x27\x1c", "share.7z"),
        (b"\x7fELF", "share.elf"),
    ];
    KNOWN
        .iter()
        .find(|(prefix, _)| magic.starts_with(prefix))
        .map_or("share.bin", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sniff(parts: &[&[u8]]) -> Sniffed {
        let mut s = TextSniffer::default();
        for p in parts {
            s.push(p);
        }
        s.finish()
    }

    #[test]
    fn plain_text_and_env_files_stay_text() {
        assert_eq!(sniff(&[b"API_KEY=abc\r\n\tDB=x\x0c\n"]), Sniffed::Text);
        assert_eq!(sniff(&["pässwörd ✓ 🔑\n".as_bytes()]), Sniffed::Text);
    }

    #[test]
    fn invalid_utf8_nul_escape_and_c1_controls_are_binary() {
        let bin = Sniffed::Binary {
            default_name: "share.bin",
        };
        assert_eq!(sniff(&[b"abc\xffdef"]), bin);
        assert_eq!(sniff(&[b"abc\0def"]), bin);
        assert_eq!(sniff(&[b"\x1b[31mred"]), bin);
        assert_eq!(sniff(&["a\u{85}b".as_bytes()]), bin);
        assert_eq!(sniff(&[b"x\x7f"]), bin);
        // A character the upload ended in the middle of.
        assert_eq!(sniff(&[b"ok \xe2\x9c"]), bin);
    }

    #[test]
    fn common_formats_get_a_name_that_says_what_they_are() {
        let gz = sniff(&[b"\x1f\x8b\x08\x00", b"\0\0"]);
        assert_eq!(
            gz,
            Sniffed::Binary {
                default_name: "share.gz"
            }
        );
        // The magic is found even when the first write is one byte long.
        let png = sniff(&[b"\x89", b"PNG\r\n\x1a\n\0\0\0\rIHDR"]);
        assert_eq!(
            png,
            Sniffed::Binary {
                default_name: "share.png"
            }
        );
    }

    proptest! {
        /// However the bytes are split into writes, the verdict is the one for the whole.
        #[test]
        fn the_verdict_does_not_depend_on_how_writes_are_split(
            text in "\\PC{0,40}",
            noise in proptest::collection::vec(any::<u8>(), 0..40),
            use_noise in any::<bool>(),
            cuts in proptest::collection::vec(0usize..80, 0..6),
        ) {
            let bytes: Vec<u8> = if use_noise { noise } else { text.into_bytes() };
            let whole = sniff(&[&bytes]);
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            points.sort_unstable();
            let mut parts = Vec::new();
            let mut start = 0;
            for p in points {
                parts.push(&bytes[start..p]);
                start = p;
            }
            parts.push(&bytes[start..]);
            prop_assert_eq!(sniff(&parts), whole);
            let expect_text = std::str::from_utf8(&bytes).is_ok_and(|s| {
                !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
            });
            prop_assert_eq!(whole == Sniffed::Text, expect_text);
        }
    }
}
