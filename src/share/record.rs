//! What a store keeps about a share, and the states it moves through.
//!
//! ```text
//!            claim (atomic)              expiry
//!   Armed ─────────────────► Opened ───────────► gone
//!     │ revoke (owner)                    ▲
//!     ├──────────────────────► Revoked ───┤
//!     │ takedown (operator)               │
//!     ├──────────────────────► TakenDown ─┤
//!     │ N wrong passwords                 │
//!     └──────────────────────► Locked* ───┘      (*Armed with attempts = max: never deleted
//!                                                  early, so a stranger cannot destroy it)
//! ```
//!
//! Nothing in a record can decrypt the share: the verifier is a one-way image of the key and the
//! metadata is sealed under a key derived from it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{BlobName, Handle, StoreKey};
use crate::crypto::{Kind, LinkVerifier};

pub use crate::units::{Millis, now_millis};

/// Who created a share: the SHA256 fingerprint of the SSH key that authenticated the upload.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner(String);

impl Owner {
    pub fn new(identity: impl Into<String>) -> Self {
        Self(identity.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owner index key: a hash, so stores need not spell out fingerprints in key names.
    pub fn index_key(&self) -> [u8; 32] {
        let digest = Sha256::new()
            .chain_update(b"onetimeshare owner\0")
            .chain_update(self.0.as_bytes())
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest);
        out
    }
}

/// The immutable part of a share, written once when it is armed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRecord {
    pub key: StoreKey,
    pub owner: Option<Owner>,
    pub kind: Kind,
    /// Size of the encrypted blob; the status page shows only a size class of it.
    pub stored_size: u64,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub password: bool,
    pub max_attempts: u32,
    #[serde(with = "hex_array")]
    pub verifier: [u8; 32],
    #[serde(with = "hex_vec")]
    pub sealed_meta: Vec<u8>,
    pub blob: BlobName,
    /// Whom this share is charged to while it is live (its key, its sender's address group):
    /// the store releases these charges when it leaves `Armed` or expires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quota: Vec<super::QuotaTag>,
    /// A small share's whole sealed content (header and chunks), kept beside the record instead
    /// of in a blob (`blob` then names no file): publishing it is the metadata insert alone, and
    /// a claim reads no file. Not part of the record's JSON — stores keep it raw, next to it, and
    /// return it with every entry until the share is spent: the claim drops it in its own atomic
    /// step, a revoke or takedown through [`MetaStore::drop_inline`](super::MetaStore::drop_inline).
    #[serde(skip)]
    pub inline: Option<Vec<u8>>,
    /// Set for a share sealed to recipients' SSH keys (see `sealed.rs`): no link opens it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<super::SealedTo>,
}

impl ShareRecord {
    pub fn verifier(&self) -> LinkVerifier {
        LinkVerifier::from_bytes(self.verifier)
    }

    pub fn handle(&self) -> Handle {
        self.key.handle()
    }
}

/// The mutable part of a share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ShareState {
    Armed,
    Opened {
        at: Millis,
    },
    Revoked {
        at: Millis,
    },
    /// Removed by an operator (abuse takedown); the blob is deleted, the link says so.
    #[serde(rename = "takendown")]
    TakenDown {
        at: Millis,
    },
}

/// A record with its current state, as a store returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareEntry {
    pub record: ShareRecord,
    pub state: ShareState,
    pub attempts: u32,
}

impl ShareEntry {
    pub fn armed(record: ShareRecord) -> Self {
        Self {
            record,
            state: ShareState::Armed,
            attempts: 0,
        }
    }

    pub fn is_locked(&self) -> bool {
        self.state == ShareState::Armed
            && self.record.password
            && self.attempts >= self.record.max_attempts
    }

    pub fn is_expired(&self, now: Millis) -> bool {
        self.record.expires_at <= now
    }
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

mod hex_vec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl Serialize for StoreKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for StoreKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        StoreKey::from_hex(&text).ok_or_else(|| serde::de::Error::custom("bad store key"))
    }
}
