//! Share identifiers and the names derived from them.
//!
//! A [`ShareId`] is the random public half of a link (`/s/<id>`); it is not a secret on its own
//! (the key is), but it is still never stored or logged as is:
//! - stores index shares by [`StoreKey`] = SHA-256(id), so a Redis dump or a stolen database
//!   reveals no link;
//! - logs, `ls` and `revoke` use the [`Handle`], a short prefix of that hash.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::crypto::CryptoError;

const ID_BYTES: usize = 12;
const ID_CHARS: usize = 16;
/// Length of a [`Handle`]: the hex characters `ls`, `inbox` and logs show.
pub const HANDLE_CHARS: usize = 10;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ShareId(String);

impl ShareId {
    pub fn generate() -> Result<Self, CryptoError> {
        let mut raw = [0u8; ID_BYTES];
        getrandom::fill(&mut raw).map_err(|_| CryptoError::Rng)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(raw)))
    }

    /// Accepts only what [`ShareId::generate`] produces: 16 base64url characters.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == ID_CHARS
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn store_key(&self) -> StoreKey {
        let digest = Sha256::new()
            .chain_update(b"onetimeshare share id\0")
            .chain_update(self.0.as_bytes())
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest);
        StoreKey(out)
    }

    pub fn handle(&self) -> Handle {
        self.store_key().handle()
    }
}

impl std::fmt::Debug for ShareId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareId({})", self.handle())
    }
}

/// The key a share is stored under: SHA-256 of its id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey(pub [u8; 32]);

impl StoreKey {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }

    pub fn handle(&self) -> Handle {
        Handle(hex::encode(&self.0[..HANDLE_CHARS / 2]))
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreKey({})", self.handle())
    }
}

/// A short, non-secret name for a share: what `ls` shows, what `revoke` takes, what logs carry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Handle(String);

impl Handle {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if `prefix` (at least 4 hex characters) abbreviates this handle.
    pub fn starts_with(&self, prefix: &str) -> bool {
        prefix.len() >= 4 && self.0.starts_with(&prefix.to_ascii_lowercase())
    }
}

impl std::fmt::Display for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = ShareId::generate().unwrap();
        assert_eq!(ShareId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(id, ShareId::generate().unwrap());
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "short",
            "../../../etc/pas",
            "aaaaaaaaaaaaaaa=",
            "aaaaaaaaaaaaaaaaa",
        ] {
            assert!(ShareId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_and_handle_do_not_reveal_the_id() {
        let id = ShareId::generate().unwrap();
        assert!(!format!("{id:?}").contains(id.as_str()));
        assert_eq!(id.handle().as_str().len(), HANDLE_CHARS);
        assert!(id.handle().starts_with(&id.handle().as_str()[..4]));
        assert!(!id.handle().starts_with("abc"));
    }

    #[test]
    fn store_keys_round_trip_through_hex() {
        let key = ShareId::generate().unwrap().store_key();
        assert_eq!(StoreKey::from_hex(&key.to_hex()), Some(key));
    }
}
