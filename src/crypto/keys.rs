//! The share key and the keys derived from it.
//!
//! Derivations are domain-separated HKDF-SHA256 outputs, so learning one (the verifier the
//! server stores) reveals nothing about the others (the content and metadata keys). The content
//! keys also bind the whole serialized header, so a tampered header yields wrong keys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{CryptoError, PasswordKey, random_bytes};

const VERIFIER_INFO: &[u8] = b"onetimeshare v1 link verifier";
const PASSWORD_CHECK_INFO: &[u8] = b"onetimeshare v1 password check";
const CONTENT_INFO: &[u8] = b"onetimeshare v1 content key";
const META_INFO: &[u8] = b"onetimeshare v1 metadata key";

/// The 256-bit random key a link carries. Zeroized on drop; `Debug` prints nothing of it and
/// there is deliberately no `Display`: use [`ShareKey::expose_base64`] where a link is built.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ShareKey([u8; 32]);

impl ShareKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = [0u8; 32];
        random_bytes(&mut key)?;
        Ok(Self(key))
    }

    /// Parses the base64url (no padding) form found in a link fragment.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        if text.len() != 43 {
            return Err(CryptoError::BadKeyEncoding);
        }
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| CryptoError::BadKeyEncoding)?,
        );
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadKeyEncoding)?;
        Ok(Self(array))
    }

    /// The base64url form, for building the link handed to the sender exactly once.
    pub fn expose_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0))
    }

    /// The value the server stores to recognise holders of this key.
    pub fn verifier(&self) -> LinkVerifier {
        let mut out = [0u8; 32];
        expand(None, &self.0, VERIFIER_INFO, &mut out);
        LinkVerifier(out)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for ShareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareKey(<redacted>)")
    }
}

/// A one-way image of a [`ShareKey`]. Safe to store: it cannot be turned back into the key and
/// it is independent of the content keys. Compared in constant time only.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkVerifier([u8; 32]);

impl LinkVerifier {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time check that `key` is the key this verifier was made from.
    pub fn matches(&self, key: &ShareKey) -> bool {
        self.0.ct_eq(key.verifier().as_bytes()).into()
    }
}

impl std::fmt::Debug for LinkVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkVerifier(..)")
    }
}

/// The keys that actually encrypt: one for the content stream, one for the metadata record.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ContentKeys {
    pub(crate) content: [u8; 32],
    pub(crate) meta: [u8; 32],
}

impl std::fmt::Debug for ContentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentKeys(<redacted>)")
    }
}

/// Derives the content keys from the share key, the password key (when the share has a password)
/// and the full serialized header.
pub fn derive_content_keys(
    key: &ShareKey,
    password: Option<&PasswordKey>,
    header_bytes: &[u8],
) -> ContentKeys {
    let ikm = input_key_material(key, password);
    let mut keys = ContentKeys {
        content: [0u8; 32],
        meta: [0u8; 32],
    };
    expand(Some(header_bytes), &ikm, CONTENT_INFO, &mut keys.content);
    expand(Some(header_bytes), &ikm, META_INFO, &mut keys.meta);
    keys
}

/// The check value proving a password is right without decrypting anything. It depends on the
/// share key too, so a stolen header alone does not allow guessing passwords offline.
pub(crate) fn password_check(key: &ShareKey, password: &PasswordKey, salt: &[u8]) -> [u8; 32] {
    let ikm = input_key_material(key, Some(password));
    let mut out = [0u8; 32];
    expand(Some(salt), &ikm, PASSWORD_CHECK_INFO, &mut out);
    out
}

fn input_key_material(key: &ShareKey, password: Option<&PasswordKey>) -> Zeroizing<Vec<u8>> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(64));
    ikm.extend_from_slice(key.bytes());
    if let Some(password) = password {
        ikm.extend_from_slice(password.bytes());
    }
    ikm
}

fn expand(salt: Option<&[u8]>, ikm: &[u8], info: &[u8], out: &mut [u8; 32]) {
    let hk = Hkdf::<Sha256>::new(salt, ikm);
    // 32 bytes is far below HKDF-SHA256's 255 * 32 output limit, so this cannot fail.
    if hk.expand(info, out).is_err() {
        unreachable!("HKDF-SHA256 output of 32 bytes is always valid");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trips_through_base64() {
        let key = ShareKey::generate().unwrap();
        let text = key.expose_base64();
        assert_eq!(text.len(), 43);
        let back = ShareKey::from_base64(&text).unwrap();
        assert_eq!(key.bytes(), back.bytes());
    }

    #[test]
    fn malformed_keys_are_rejected() {
        for bad in ["", "abc", &"A".repeat(44), &"!".repeat(43)] {
            assert_eq!(
                ShareKey::from_base64(bad).unwrap_err(),
                CryptoError::BadKeyEncoding
            );
        }
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let key = ShareKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(key.expose_base64().as_str()));
        assert_eq!(shown, "ShareKey(<redacted>)");
    }

    #[test]
    fn verifier_matches_only_its_own_key() {
        let key = ShareKey::generate().unwrap();
        let other = ShareKey::generate().unwrap();
        let verifier = key.verifier();
        assert!(verifier.matches(&key));
        assert!(!verifier.matches(&other));
    }

    #[test]
    fn verifier_is_independent_of_the_content_keys() {
        let key = ShareKey::generate().unwrap();
        let keys = derive_content_keys(&key, None, b"header");
        assert_ne!(&keys.content, key.verifier().as_bytes());
        assert_ne!(&keys.meta, key.verifier().as_bytes());
        assert_ne!(keys.content, keys.meta);
    }

    #[test]
    fn content_keys_bind_the_header() {
        let key = ShareKey::generate().unwrap();
        let a = derive_content_keys(&key, None, b"header-a");
        let b = derive_content_keys(&key, None, b"header-b");
        assert_ne!(a.content, b.content);
    }
}
