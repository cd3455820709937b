//! What a share operation can tell its caller. Ingress maps these to user-facing messages and
//! status codes; what a client sees is what it may know: a missing, expired or wrong-key share
//! all read [`ShareError::NotFound`].

use std::time::Duration;

use super::{Millis, StoreError};
use crate::crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("this share does not exist or has expired")]
    NotFound,
    #[error("this share was already opened")]
    AlreadyOpened { at: Millis },
    #[error("this share was revoked by its sender")]
    Revoked { at: Millis },
    #[error("this share was removed by the operator")]
    TakenDown { at: Millis },
    #[error("this share is locked after {attempts} wrong passwords")]
    Locked { attempts: u32 },
    #[error("this share needs a password")]
    PasswordRequired,
    #[error("wrong password ({remaining} attempts left)")]
    WrongPassword { remaining: u32 },
    #[error("upload exceeds the size limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("nothing to share: the upload is empty")]
    Empty,
    /// The sender announced a size (`--size`) and sent another: the producer may have died.
    #[error("the upload is {received} bytes but {announced} were announced")]
    SizeMismatch { announced: u64, received: u64 },
    /// The sender announced a SHA-256 (`--sha256`) that the content does not have. Neither
    /// digest is shown: a digest of a short secret can give the secret away.
    #[error("the upload's SHA-256 differs from the one announced")]
    DigestMismatch,
    #[error("expiry too long: the maximum is {}", crate::config::format_duration(*max))]
    TtlTooLong { max: Duration },
    #[error("expiry too short: the minimum is {}", crate::config::format_duration(*min))]
    TtlTooShort { min: Duration },
    #[error("more than one share starts with {0:?}; give more characters")]
    Ambiguous(String),
    #[error("the upload failed earlier and cannot continue")]
    UploadFailed,
    #[error("share storage is unavailable, try again shortly")]
    StoreUnavailable,
    #[error("the server is out of storage space")]
    StorageFull,
    #[error("share data is corrupt: {0}")]
    Corrupt(CryptoError),
    #[error("internal storage error: {0}")]
    Storage(StoreError),
    #[error("internal crypto error: {0}")]
    Crypto(CryptoError),
}

impl ShareError {
    /// Why a share in `state` cannot be claimed, revoked or taken down; `None` while armed.
    pub(super) fn not_armed(state: super::ShareState) -> Option<ShareError> {
        use super::ShareState;
        match state {
            ShareState::Armed => None,
            ShareState::Opened { at } => Some(ShareError::AlreadyOpened { at }),
            ShareState::Revoked { at } => Some(ShareError::Revoked { at }),
            ShareState::TakenDown { at } => Some(ShareError::TakenDown { at }),
        }
    }
}

impl From<StoreError> for ShareError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ShareError::StoreUnavailable,
            StoreError::Full => ShareError::StorageFull,
            other => ShareError::Storage(other),
        }
    }
}

impl From<CryptoError> for ShareError {
    fn from(err: CryptoError) -> Self {
        match err {
            CryptoError::Corrupt(_)
            | CryptoError::Truncated(_)
            | CryptoError::TrailingData
            | CryptoError::BadMagic
            | CryptoError::MalformedHeader
            | CryptoError::UnsupportedVersion(_) => ShareError::Corrupt(err),
            CryptoError::WrongKey | CryptoError::BadKeyEncoding => ShareError::NotFound,
            CryptoError::PasswordRequired => ShareError::PasswordRequired,
            other => ShareError::Crypto(other),
        }
    }
}
