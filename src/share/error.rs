//! What a share operation can tell its caller, and the one place that turns it into words and a
//! log level: every surface (SSH, the terminal UI; HTTP adds its own pages and status codes on
//! top) calls [`ShareError::words`] or [`ShareError::upload_words`] for what the client reads and
//! [`ShareError::log`] once, at the boundary, for the log. What a client sees is what it may know:
//! a missing, expired or wrong-key share all read [`ShareError::NotFound`], and internal causes
//! stay in [`std::error::Error::source`] — logged, never shown.

use std::time::Duration;

use tracing::{info, warn};

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
    #[error("wrong password ({} left)", crate::units::count(u64::from(*remaining), "attempt"))]
    WrongPassword { remaining: u32 },
    #[error("too large: the limit is {}", crate::units::format_size(*limit))]
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
    #[error("expiry too long: the maximum is {}", crate::units::format_duration(*max))]
    TtlTooLong { max: Duration },
    #[error("expiry too short: the minimum is {}", crate::units::format_duration(*min))]
    TtlTooShort { min: Duration },
    #[error("more than one share starts with {0:?}; give more characters")]
    Ambiguous(String),
    #[error("the upload failed earlier and cannot continue")]
    UploadFailed,
    /// Every Argon2 thread stayed busy (a flood of password checks) for as long as a request may
    /// wait; nothing was counted or changed.
    #[error("the server is busy checking other passwords, try again shortly")]
    Busy,
    /// Storage could not be reached and nothing changed.
    #[error("share storage is unavailable, try again shortly")]
    StoreUnavailable,
    /// A state change got no answer and storage stayed silent while the server tried to find out
    /// whether it happened; it is settled (and undone, where nobody was told) once storage
    /// answers.
    #[error("share storage did not answer in time; the outcome is not known yet")]
    OutcomeUnknown,
    #[error("the server is out of storage space")]
    StorageFull,
    #[error(transparent)]
    Quota(super::QuotaExceeded),
    #[error(transparent)]
    Recipients(super::RecipientError),
    #[error("the share's stored data failed its integrity check")]
    Corrupt(#[source] CryptoError),
    #[error("the server could not complete this because of an internal storage error")]
    Storage(#[source] StoreError),
    #[error("the server could not complete this because of an internal error")]
    Crypto(#[source] CryptoError),
}

/// How a failure is logged where it is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Something is wrong with the server or its storage: a warning, with the internal cause.
    Fault,
    /// The client's own input or the share's state decided it: information.
    Refusal,
}

impl ShareError {
    /// Faults are the server's (storage, crypto, corruption, outages); everything else is a
    /// refusal the client's request or the share's state decided.
    pub fn severity(&self) -> Severity {
        match self {
            ShareError::Storage(_)
            | ShareError::Crypto(_)
            | ShareError::Corrupt(_)
            | ShareError::StoreUnavailable
            | ShareError::OutcomeUnknown
            | ShareError::StorageFull
            | ShareError::UploadFailed => Severity::Fault,
            _ => Severity::Refusal,
        }
    }

    /// Logs this failure of `operation` ("upload", "revoke", …) once, at the level its
    /// [`severity`](Self::severity) says; a fault carries its internal cause.
    pub fn log(&self, operation: &'static str) {
        match self.severity() {
            Severity::Fault => {
                let cause = std::error::Error::source(self).map(|c| c.to_string());
                warn!(error = %self, cause = cause.as_deref().unwrap_or(""), "{operation} failed");
            }
            Severity::Refusal => info!(reason = %self, "{operation} refused"),
        }
    }

    /// What the client is told (its `Display`, which never holds an internal cause).
    pub fn words(&self) -> String {
        self.to_string()
    }

    /// What an uploader is told: the reason, then that nothing was kept — or, when storage did
    /// not confirm the share, that its link is withheld (and the share deleted if it was stored).
    pub fn upload_words(&self) -> String {
        match self {
            ShareError::OutcomeUnknown => "share storage did not confirm the share in time, so \
                 its link is withheld and it is deleted if it was stored: send it again"
                .into(),
            ShareError::Empty => "nothing to share: the input was empty; nothing was stored".into(),
            other => format!("{other}; nothing was stored"),
        }
    }

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
            StoreError::Unavailable(_) | StoreError::NotApplied(_) => ShareError::StoreUnavailable,
            StoreError::Full => ShareError::StorageFull,
            StoreError::QuotaExceeded(quota) => ShareError::Quota(quota),
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
            CryptoError::KdfBusy => ShareError::Busy,
            other => ShareError::Crypto(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_stay_out_of_the_words_and_in_the_source() {
        let err = ShareError::Storage(StoreError::Corrupt("redis said EVALSHA x".into()));
        assert!(!err.words().contains("EVALSHA"), "{}", err.words());
        let source = std::error::Error::source(&err).map(|c| c.to_string());
        assert!(source.unwrap_or_default().contains("EVALSHA"));
        assert_eq!(err.severity(), Severity::Fault);
    }

    #[test]
    fn an_outage_is_a_fault_everywhere_and_a_clients_mistake_is_a_refusal() {
        assert_eq!(ShareError::StoreUnavailable.severity(), Severity::Fault);
        assert_eq!(ShareError::Empty.severity(), Severity::Refusal);
        assert_eq!(
            ShareError::WrongPassword { remaining: 1 }.words(),
            "wrong password (1 attempt left)"
        );
        assert_eq!(
            ShareError::TooLarge { limit: 1024 }.upload_words(),
            "too large: the limit is 1.0 KiB; nothing was stored"
        );
    }
}
