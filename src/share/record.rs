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
    /// The op id (hex) of the claim that opened the share, where a store keeps a claim's ledger
    /// mark in the record itself (the embedded store: the claim's transaction then writes one
    /// table fewer). `None` everywhere else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
}

/// What anyone may learn of a share without its key — what its status page shows — and nothing
/// else: no verifier, sealed metadata, blob name, owner, quota charges or content. What
/// [`MetaStore::peek`](super::MetaStore::peek) returns. It reads straight from a stored
/// [`ShareEntry`]'s JSON (the same field names): serde skips every other field without decoding
/// it, so the page every link previewer fetches never loads what guards or holds the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct ShareFacts {
    pub record: RecordFacts,
    pub state: ShareState,
    pub attempts: u32,
}

/// The public fields of a [`ShareRecord`]; reads from the record's own JSON too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct RecordFacts {
    pub kind: Kind,
    pub stored_size: u64,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub password: bool,
    pub max_attempts: u32,
}

impl ShareFacts {
    pub fn is_locked(&self) -> bool {
        self.state == ShareState::Armed
            && self.record.password
            && self.attempts >= self.record.max_attempts
    }

    pub fn is_expired(&self, now: Millis) -> bool {
        self.record.expires_at <= now
    }
}

impl ShareEntry {
    /// This entry's public facts.
    pub fn facts(&self) -> ShareFacts {
        let r = &self.record;
        ShareFacts {
            record: RecordFacts {
                kind: r.kind,
                stored_size: r.stored_size,
                created_at: r.created_at,
                expires_at: r.expires_at,
                password: r.password,
                max_attempts: r.max_attempts,
            },
            state: self.state,
            attempts: self.attempts,
        }
    }

    pub fn armed(record: ShareRecord) -> Self {
        Self {
            record,
            state: ShareState::Armed,
            attempts: 0,
            claimed_by: None,
        }
    }

    pub fn is_locked(&self) -> bool {
        self.facts().is_locked()
    }

    pub fn is_expired(&self, now: Millis) -> bool {
        self.facts().is_expired(now)
    }
}

/// Hex fields read without a `String` per field: the text is borrowed from the stored bytes where
/// the deserializer can (serde_json does, for strings without escapes) and decoded in place.
/// Every status page view decodes a record, so this is on the hottest read path.
struct HexVisitor<F>(F);

impl<'de, T, F: FnOnce(&str) -> Option<T>> serde::de::Visitor<'de> for HexVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a hex string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        (self.0)(text).ok_or_else(|| E::custom("bad hex"))
    }
}

fn hex_field<'de, D, T>(d: D, decode: impl FnOnce(&str) -> Option<T>) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    d.deserialize_str(HexVisitor(decode))
}

mod hex_array {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        super::hex_field(d, |text| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(text, &mut out).ok()?;
            Some(out)
        })
    }
}

mod hex_vec {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        super::hex_field(d, |text| {
            // `decode_to_slice` checks that the text is exactly twice as long as `out`.
            let mut out = vec![0u8; text.len() / 2];
            hex::decode_to_slice(text, &mut out).ok()?;
            Some(out)
        })
    }
}

impl Serialize for StoreKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for StoreKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        hex_field(d, StoreKey::from_hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ShareRecord {
        ShareRecord {
            key: crate::share::ShareId::generate().unwrap().store_key(),
            owner: Some(Owner::new("SHA256:abc")),
            kind: Kind::File,
            stored_size: 1234,
            created_at: 1,
            expires_at: 2,
            password: true,
            max_attempts: 5,
            verifier: [0xa5; 32],
            sealed_meta: (0..=255).collect(),
            blob: BlobName::generate().unwrap(),
            quota: Vec::new(),
            inline: None,
            sealed: None,
        }
    }

    #[test]
    fn records_round_trip_and_hex_fields_decode_escaped_or_not() {
        let entry = ShareEntry::armed(record());
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<ShareEntry>(&json).unwrap(), entry);
        // A JSON escape makes the deserializer hand over a transient string, not a borrowed one.
        let escaped = json.replacen("\"a5a5", "\"\\u0061\\u0035a5", 1);
        assert_ne!(escaped, json);
        assert_eq!(serde_json::from_str::<ShareEntry>(&escaped).unwrap(), entry);
    }

    #[test]
    fn facts_read_from_a_stored_entry_are_the_entrys_facts() {
        let mut entry = ShareEntry::armed(record());
        entry.attempts = 3;
        entry.state = ShareState::Opened { at: 77 };
        let json = serde_json::to_vec(&entry).unwrap();
        let facts: ShareFacts = serde_json::from_slice(&json).unwrap();
        assert_eq!(facts, entry.facts());
        // Redis keeps the record's JSON alone, next to the state.
        let json = serde_json::to_vec(&entry.record).unwrap();
        let record: RecordFacts = serde_json::from_slice(&json).unwrap();
        assert_eq!(record, entry.facts().record);
    }

    #[test]
    fn bad_hex_fields_are_refused() {
        let json = serde_json::to_string(&ShareEntry::armed(record())).unwrap();
        let hex = hex::encode((0..=255).collect::<Vec<u8>>());
        for bad in [&hex[1..], "zz", ""] {
            let broken = json.replacen(&hex, bad, 1);
            if bad.is_empty() {
                // An empty sealed record is valid hex for an empty vector.
                assert!(serde_json::from_str::<ShareEntry>(&broken).is_ok());
            } else {
                assert!(
                    serde_json::from_str::<ShareEntry>(&broken).is_err(),
                    "{bad}"
                );
            }
        }
    }
}
