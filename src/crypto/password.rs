//! Password binding: Argon2id turns a password into a [`PasswordKey`] that feeds the content
//! key derivation.
//!
//! Argon2 is deliberately expensive (64 MiB by default), so it never runs on the async runtime:
//! [`PasswordKdf`] runs it on the blocking pool behind a semaphore, so a burst of attempts queues
//! instead of exhausting memory. Counting attempts is the share lifecycle's job, done atomically
//! *before* this is called.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
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

    /// Runs Argon2id synchronously. Prefer [`PasswordKdf::derive`] from async code.
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

/// Runs Argon2id off the async runtime with at most `limit` derivations in flight.
#[derive(Clone)]
pub struct PasswordKdf {
    permits: Arc<Semaphore>,
}

impl PasswordKdf {
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    pub async fn derive(
        &self,
        password: &Password,
        params: &KdfParams,
    ) -> Result<PasswordKey, CryptoError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CryptoError::KdfCancelled)?;
        let password = password.clone();
        let params = params.clone();
        tokio::task::spawn_blocking(move || PasswordKey::derive_blocking(&password, &params))
            .await
            .map_err(|_| CryptoError::KdfCancelled)?
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

    #[tokio::test]
    async fn bounded_kdf_runs_many_derivations() {
        let kdf = PasswordKdf::new(2);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let kdf = kdf.clone();
            tasks.push(tokio::spawn(async move {
                kdf.derive(&Password::new("pw"), &small_params([7; 16]))
                    .await
                    .map(|k| *k.bytes())
            }));
        }
        let mut keys = Vec::new();
        for t in tasks {
            keys.push(t.await.unwrap().unwrap());
        }
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }
}
