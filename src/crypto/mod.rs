//! Share cryptography: the at-rest format and every key that touches it.
//!
//! A share is sealed under a random 256-bit [`ShareKey`] that only the link carries. With a
//! password, the content key also depends on Argon2id(password), so the link alone is not enough.
//! The blob on disk is a versioned [`Header`] followed by STREAM-style ChaCha20-Poly1305 chunks
//! (nonce = per-share prefix ‖ chunk counter ‖ last-chunk flag): any flipped, dropped, reordered,
//! duplicated, truncated or appended byte fails authentication.
//!
//! What the server may store, and why none of it decrypts: the [`LinkVerifier`] (a one-way
//! HKDF output of the share key, used to check in constant time that a requester holds the link
//! before a password attempt is counted) and the sealed metadata record (encrypted like the body).
//!
//! Errors are deliberately coarse ([`CryptoError`]): they say what failed, never anything that
//! helps an attacker beyond that. This module does no I/O; the share lifecycle drives it.

mod aead;
mod header;
mod kdf_pool;
mod keys;
mod meta;
mod password;
mod stream;

pub use header::{FORMAT_VERSION, Header, KdfParams};
pub use kdf_pool::{DEFAULT_KDF_WAIT, KdfSlot, PasswordKdf, default_kdf_threads};
pub use keys::{ContentKeys, LinkVerifier, ShareKey, derive_content_keys};
pub use meta::{Kind, SealedMeta, ShareMeta};
pub use password::{Password, PasswordKey};
pub use stream::{CHUNK_LOG2, CHUNK_SIZE, StreamOpener, StreamSealer, TAG_SIZE};

/// Everything that can go wrong opening or sealing a share. Opaque on purpose: no variant carries
/// key material or plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("not a onetimeshare blob (bad magic)")]
    BadMagic,
    #[error("unsupported share format version {0}")]
    UnsupportedVersion(u8),
    #[error("malformed share header")]
    MalformedHeader,
    #[error("the link key does not match this share")]
    WrongKey,
    #[error("wrong password")]
    WrongPassword,
    #[error("a password is required for this share")]
    PasswordRequired,
    #[error("share data failed authentication (corrupt or tampered) at chunk {0}")]
    Corrupt(u32),
    #[error("share data is truncated after chunk {0}")]
    Truncated(u32),
    #[error("share data continues after its last chunk")]
    TrailingData,
    #[error("share is too large for the stream format")]
    TooManyChunks,
    #[error("invalid key encoding")]
    BadKeyEncoding,
    #[error("invalid password-hashing parameters")]
    BadKdfParams,
    #[error("system random number generator failed")]
    Rng,
    #[error("password hashing was cancelled")]
    KdfCancelled,
    /// Every Argon2 thread stayed busy for as long as a caller may wait.
    #[error("too many password checks at once")]
    KdfBusy,
}

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Rng)
}
