//! What a sender announces about its content before sending it (`--size`, `--sha256`), and the
//! one check every upload kind (link shares and sealed shares alike) holds its stream to. A
//! producer that dies mid-pipe still closes stdin cleanly, so only an announcement tells a
//! truncated upload from a short one. The check refuses a byte past the announced size as it
//! arrives and compares size and digest at finish; the caller publishes nothing on a mismatch.

use sha2::{Digest, Sha256};

use super::ShareError;

/// What the sender announced about the content before sending it. A mismatch publishes nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// Exact plaintext length in bytes.
    pub size: Option<u64>,
    /// SHA-256 of the plaintext.
    pub sha256: Option<[u8; 32]>,
}

/// An upload's running check against its [`Expected`]; with nothing announced it passes
/// everything but an empty upload.
#[derive(Default)]
pub(super) struct ExpectedCheck {
    expected: Expected,
    /// Running SHA-256 of the plaintext, only while one is expected.
    digest: Option<Sha256>,
}

impl ExpectedCheck {
    pub(super) fn new(expected: Expected) -> Self {
        Self {
            digest: expected.sha256.map(|_| Sha256::new()),
            expected,
        }
    }

    /// Admits `data`, which brings the upload to `after` plaintext bytes: past the announced
    /// size it is refused (and the upload must be dropped), otherwise it counts to the digest.
    pub(super) fn admit(&mut self, data: &[u8], after: u64) -> Result<(), ShareError> {
        if let Some(announced) = self.expected.size.filter(|&announced| after > announced) {
            return Err(ShareError::SizeMismatch {
                announced,
                received: after,
            });
        }
        if let Some(digest) = self.digest.as_mut() {
            digest.update(data);
        }
        Ok(())
    }

    /// At finish, with the plaintext bytes `received`: an empty upload is refused unless it was
    /// announced as exactly that (`--size 0`: `cat missing | ssh HOST` must not publish a blank
    /// secret), and the size and digest must be the announced ones.
    pub(super) fn settle(&mut self, received: u64) -> Result<(), ShareError> {
        if received == 0 && self.expected.size != Some(0) {
            return Err(ShareError::Empty);
        }
        if let Some(announced) = self.expected.size.filter(|&a| a != received) {
            return Err(ShareError::SizeMismatch {
                announced,
                received,
            });
        }
        if let (Some(announced), Some(digest)) = (self.expected.sha256, self.digest.take())
            && digest.finalize().as_slice() != announced.as_slice()
        {
            return Err(ShareError::DigestMismatch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    #[test]
    fn nothing_announced_passes_any_content_but_an_empty_one() {
        let mut check = ExpectedCheck::default();
        assert!(check.admit(b"abc", 3).is_ok());
        assert!(check.settle(3).is_ok());
        assert!(matches!(
            ExpectedCheck::default().settle(0),
            Err(ShareError::Empty)
        ));
    }

    #[test]
    fn a_byte_past_the_announced_size_is_refused_as_it_arrives() {
        let mut check = ExpectedCheck::new(Expected {
            size: Some(4),
            sha256: None,
        });
        assert!(check.admit(b"abcd", 4).is_ok());
        assert!(matches!(
            check.admit(b"e", 5),
            Err(ShareError::SizeMismatch {
                announced: 4,
                received: 5
            })
        ));
    }

    #[test]
    fn a_short_upload_or_another_digest_fails_at_finish_and_the_announced_one_passes() {
        let mut short = ExpectedCheck::new(Expected {
            size: Some(4),
            sha256: None,
        });
        short.admit(b"ab", 2).unwrap();
        assert!(matches!(
            short.settle(2),
            Err(ShareError::SizeMismatch {
                announced: 4,
                received: 2
            })
        ));

        let announced = Expected {
            size: Some(4),
            sha256: Some(sha256(b"abcd")),
        };
        let mut other = ExpectedCheck::new(announced);
        other.admit(b"abce", 4).unwrap();
        assert!(matches!(other.settle(4), Err(ShareError::DigestMismatch)));

        let mut right = ExpectedCheck::new(announced);
        right.admit(b"ab", 2).unwrap();
        right.admit(b"cd", 4).unwrap();
        assert!(right.settle(4).is_ok());
    }

    #[test]
    fn an_empty_upload_passes_only_when_announced_as_empty() {
        let empty = Expected {
            size: Some(0),
            sha256: Some(sha256(b"")),
        };
        assert!(ExpectedCheck::new(empty).settle(0).is_ok());
    }
}
