//! Password binding: Argon2id turns a password into a [`PasswordKey`] that feeds the content
//! key derivation.
//!
//! Argon2 is deliberately expensive (64 MiB by default), so it never runs on the async runtime:
//! [`PasswordKdf`](super::PasswordKdf) runs it on a bounded pool of low-priority threads of its
//! own (`kdf_pool.rs`). Counting attempts is the share lifecycle's job, done atomically *before*
//! this is called.

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{CryptoError, KdfParams};

/// A password as typed by a sender or recipient. Zeroized on drop, redacted in `Debug`, no
/// `Display`.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Constant-time equality, for "type it twice" confirmations.
    pub fn matches(&self, other: &Password) -> bool {
        use subtle::ConstantTimeEq;
        self.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Argon2id(password, salt): 32 bytes, zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct PasswordKey([u8; 32]);

impl PasswordKey {
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Runs Argon2id synchronously. Async code goes through [`PasswordKdf`](super::PasswordKdf).
    pub fn derive_blocking(password: &Password, params: &KdfParams) -> Result<Self, CryptoError> {
        let argon_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(32),
        )
        .map_err(|_| CryptoError::BadKdfParams)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
        let mut out = [0u8; 32];
        argon
            .hash_password_into(password.as_bytes(), &params.salt, &mut out)
            .map_err(|_| CryptoError::BadKdfParams)?;
        Ok(Self(out))
    }
}

impl std::fmt::Debug for PasswordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_params(salt: [u8; 16]) -> KdfParams {
        KdfParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            salt,
        }
    }

    #[test]
    fn same_password_and_salt_give_the_same_key() {
        let p = Password::new("correct horse");
        let a = PasswordKey::derive_blocking(&p, &small_params([1; 16])).unwrap();
        let b = PasswordKey::derive_blocking(&p, &small_params([1; 16])).unwrap();
        assert_eq!(a.bytes(), b.bytes());
    }

    #[test]
    fn salt_and_password_both_change_the_key() {
        let p = Password::new("correct horse");
        let base = PasswordKey::derive_blocking(&p, &small_params([1; 16])).unwrap();
        let salted = PasswordKey::derive_blocking(&p, &small_params([2; 16])).unwrap();
        let other =
            PasswordKey::derive_blocking(&Password::new("x"), &small_params([1; 16])).unwrap();
        assert_ne!(base.bytes(), salted.bytes());
        assert_ne!(base.bytes(), other.bytes());
    }

    #[test]
    fn absurd_parameters_are_refused() {
        let mut params = small_params([0; 16]);
        params.memory_kib = 1;
        assert_eq!(
            PasswordKey::derive_blocking(&Password::new("x"), &params).unwrap_err(),
            CryptoError::BadKdfParams
        );
    }

    #[test]
    fn password_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2")),
            "Password(<redacted>)"
        );
    }
}
