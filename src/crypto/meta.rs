//! The encrypted metadata record: what a share is (text or file), its name, content type and
//! exact size. Only someone holding the link (and password) can read it; the server stores the
//! sealed bytes next to the share's state.
//!
//! Sealed with ChaCha20-Poly1305 under the per-share metadata key as a one-chunk stream (nonce
//! prefix zero, chunk 0, last): the key is fresh for every share and seals exactly one record,
//! so the nonce is never reused.

use serde::{Deserialize, Serialize};

use super::aead::ChunkCipher;
use super::{ContentKeys, CryptoError};

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
        let mut buf = serde_json::to_vec(self).map_err(|_| CryptoError::MalformedHeader)?;
        let tag = cipher(keys)?.seal_in_place(0, true, &mut buf)?;
        buf.extend_from_slice(&tag);
        Ok(SealedMeta(buf))
    }
}

impl SealedMeta {
    pub fn open(&self, keys: &ContentKeys) -> Result<ShareMeta, CryptoError> {
        let mut plain = zeroize::Zeroizing::new(self.0.clone());
        let len = cipher(keys)?
            .open(0, true, &mut plain)
            .map_err(|()| CryptoError::Corrupt(0))?;
        serde_json::from_slice(&plain[..len]).map_err(|_| CryptoError::Corrupt(0))
    }
}

fn cipher(keys: &ContentKeys) -> Result<ChunkCipher, CryptoError> {
    ChunkCipher::new(&keys.meta, [0u8; 7])
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
