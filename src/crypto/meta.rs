//! The encrypted metadata record: what a share is (text or file), its name, content type and
//! exact size. Only someone holding the link (and password) can read it; the server stores the
//! sealed bytes next to the share's state.
//!
//! Sealed with ChaCha20-Poly1305 under the per-share metadata key and a zero nonce: the key is
//! fresh for every share and seals exactly one record, so the nonce is never reused.

use chacha20poly1305::aead::array::Array;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use serde::{Deserialize, Serialize};

use super::{ContentKeys, CryptoError};

const META_AAD: &[u8] = b"onetimeshare v1 metadata";

/// Whether the share is a pasted text or an uploaded file; decides how a claim is presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Text,
    File,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::File => "file",
        }
    }
}

/// Plaintext metadata, known to the sender and to the claimant only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareMeta {
    pub kind: Kind,
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub size: u64,
}

/// A sealed [`ShareMeta`]: opaque bytes, safe to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedMeta(pub Vec<u8>);

impl ShareMeta {
    pub fn seal(&self, keys: &ContentKeys) -> Result<SealedMeta, CryptoError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(self).map_err(|_| CryptoError::MalformedHeader)?,
        );
        let sealed = cipher(keys)
            .encrypt(
                &Array::default(),
                Payload {
                    msg: &plain,
                    aad: META_AAD,
                },
            )
            .map_err(|_| CryptoError::Corrupt(0))?;
        Ok(SealedMeta(sealed))
    }
}

impl SealedMeta {
    pub fn open(&self, keys: &ContentKeys) -> Result<ShareMeta, CryptoError> {
        let plain = zeroize::Zeroizing::new(
            cipher(keys)
                .decrypt(
                    &Array::default(),
                    Payload {
                        msg: &self.0,
                        aad: META_AAD,
                    },
                )
                .map_err(|_| CryptoError::Corrupt(0))?,
        );
        serde_json::from_slice(&plain).map_err(|_| CryptoError::Corrupt(0))
    }
}

fn cipher(keys: &ContentKeys) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&Array::from(keys.meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{ShareKey, derive_content_keys};

    #[test]
    fn metadata_round_trips_and_resists_tampering() {
        let key = ShareKey::generate().unwrap();
        let keys = derive_content_keys(&key, None, b"h");
        let meta = ShareMeta {
            kind: Kind::File,
            name: Some("db.env".into()),
            content_type: None,
            size: 42,
        };
        let sealed = meta.seal(&keys).unwrap();
        assert!(!String::from_utf8_lossy(&sealed.0).contains("db.env"));
        assert_eq!(sealed.open(&keys).unwrap(), meta);

        let mut tampered = sealed.clone();
        tampered.0[3] ^= 1;
        assert!(tampered.open(&keys).is_err());

        let other = derive_content_keys(&ShareKey::generate().unwrap(), None, b"h");
        assert!(sealed.open(&other).is_err());
    }
}
