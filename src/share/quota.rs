//! Storage quotas: how many live shares, and how many live bytes, one SSH key and one client
//! address may have at once, so no sender can fill the disk for everyone.
//!
//! A share is *charged* to a [`QuotaTag`] per scope (its key, its address group) when it is
//! inserted, in the same atomic store step that inserts it, so 100 parallel uploads cannot
//! overshoot; the charge is released in the same atomic step that claims, revokes or takes it
//! down, and lapses by itself at its expiry. Bytes are the stored (encrypted) size: what the disk
//! holds. A tag is a one-way hash: stores never spell out a fingerprint or an address (an IPv4
//! address is guessable from its hash, so the tag is as private as the address, no more).
//!
//! Ingress checks the usage before it accepts a byte ([`super::Shares::begin`]) and the upload
//! enforces what is left while streaming; the store's check at insert is the one that cannot be
//! raced.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Owner;
use crate::units::format_size;

/// Operator limits per scope; see the `quota-*` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub shares_per_key: u32,
    pub bytes_per_key: u64,
    pub shares_per_address: u32,
    pub bytes_per_address: u64,
}

impl Default for Quota {
    fn default() -> Self {
        Self {
            shares_per_key: 100,
            bytes_per_key: 1 << 30,
            shares_per_address: 100,
            bytes_per_address: 1 << 30,
        }
    }
}

/// What a quota counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuotaScope {
    Key,
    Address,
    /// The shares sealed to one recipient key and waiting in its inbox.
    Inbox,
}

impl QuotaScope {
    fn noun(self) -> &'static str {
        match self {
            QuotaScope::Key => "this key",
            QuotaScope::Address => "your address",
            QuotaScope::Inbox => "a recipient's inbox",
        }
    }
}

/// Whom a live share is charged to: `k<hex>` for a key, `a<hex>` for an address group, the hex
/// being a SHA-256 of the fingerprint or the group. Safe as part of a store key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QuotaTag(String);

impl QuotaTag {
    pub fn key(owner: &Owner) -> Self {
        Self(format!("k{}", hex::encode(owner.index_key())))
    }

    /// The tag of `ip`'s client group (an IPv4 address, an IPv6 /64).
    pub fn address(ip: IpAddr) -> Self {
        let group = match crate::client_group::client_group(ip) {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        let digest = Sha256::new()
            .chain_update(b"onetimeshare client\0")
            .chain_update(&group)
            .finalize();
        Self(format!("a{}", hex::encode(digest)))
    }

    /// The inbox of a recipient key (its `SHA256:…` fingerprint): the shares sealed to it. The
    /// tag is both the per-recipient cap and the index `inbox` lists.
    pub fn inbox(recipient: &Owner) -> Self {
        let digest = Sha256::new()
            .chain_update(b"onetimeshare inbox\0")
            .chain_update(recipient.as_str().as_bytes())
            .finalize();
        Self(format!("r{}", hex::encode(digest)))
    }

    pub fn scope(&self) -> QuotaScope {
        match self.0.as_bytes().first() {
            Some(b'k') => QuotaScope::Key,
            Some(b'r') => QuotaScope::Inbox,
            _ => QuotaScope::Address,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for QuotaTag {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let ok = text.len() == 65
            && matches!(text.as_bytes()[0], b'k' | b'a' | b'r')
            && text[1..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        ok.then_some(Self(text))
            .ok_or_else(|| "invalid quota tag".to_owned())
    }
}

impl From<QuotaTag> for String {
    fn from(tag: QuotaTag) -> String {
        tag.0
    }
}

/// One limit an insert must respect: after it, `tag` holds at most `max_shares` live shares
/// and `max_bytes` live stored bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaCharge {
    pub tag: QuotaTag,
    pub max_shares: u32,
    pub max_bytes: u64,
}

/// What a tag holds now: live shares and their stored bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaUsage {
    pub shares: u32,
    pub bytes: u64,
}

/// A refused upload: the scope that is full and what it holds (with its limits), in the words
/// the sender reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct QuotaExceeded {
    pub scope: QuotaScope,
    pub used: QuotaUsage,
    pub max_shares: u32,
    pub max_bytes: u64,
}

impl std::fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            scope,
            used,
            max_shares,
            max_bytes,
        } = self;
        match scope {
            // The sender cannot free this one: only the recipient (claiming) or time can.
            QuotaScope::Inbox => write!(
                f,
                "{} is full: {} sealed to that key are waiting to be claimed (at most \
                 {max_shares}); send again once the recipient claims them (`ssh <host> inbox`) \
                 or they expire",
                scope.noun(),
                crate::units::count(u64::from(used.shares), "share"),
            ),
            _ => write!(
                f,
                "quota: {} shares / {} live for {} (at most {max_shares} shares / {}); wait for \
                 one to be opened or expire, or revoke one with `ssh <host> revoke ID` (see \
                 `ssh <host> ls`)",
                used.shares,
                format_size(used.bytes),
                scope.noun(),
                format_size(*max_bytes)
            ),
        }
    }
}

impl QuotaCharge {
    /// `Err` if adding one share of `bytes` to `used` would go over this limit.
    pub fn admit(&self, used: QuotaUsage, bytes: u64) -> Result<(), QuotaExceeded> {
        let over = used.shares.saturating_add(1) > self.max_shares
            || used.bytes.saturating_add(bytes) > self.max_bytes;
        if over {
            return Err(self.exceeded(used));
        }
        Ok(())
    }

    pub fn exceeded(&self, used: QuotaUsage) -> QuotaExceeded {
        QuotaExceeded {
            scope: self.tag.scope(),
            used,
            max_shares: self.max_shares,
            max_bytes: self.max_bytes,
        }
    }
}

impl Quota {
    /// The charges of a share from `owner` (if any) sent from `client` (if known).
    pub fn charges(&self, owner: Option<&Owner>, client: Option<IpAddr>) -> Vec<QuotaCharge> {
        let mut charges = Vec::with_capacity(2);
        if let Some(owner) = owner {
            charges.push(QuotaCharge {
                tag: QuotaTag::key(owner),
                max_shares: self.shares_per_key,
                max_bytes: self.bytes_per_key,
            });
        }
        if let Some(ip) = client {
            charges.push(QuotaCharge {
                tag: QuotaTag::address(ip),
                max_shares: self.shares_per_address,
                max_bytes: self.bytes_per_address,
            });
        }
        charges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_one_way_per_scope_and_one_per_ipv6_64() {
        let key = QuotaTag::key(&Owner::new("SHA256:abc"));
        assert_eq!(key.scope(), QuotaScope::Key);
        assert!(!key.as_str().contains("abc"));
        let a = QuotaTag::address("2001:db8::1".parse().unwrap());
        let b = QuotaTag::address("2001:db8::ffff".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a.scope(), QuotaScope::Address);
        assert_ne!(a, QuotaTag::address("192.0.2.1".parse().unwrap()));
        assert_eq!(QuotaTag::try_from(String::from(a.clone())), Ok(a));
        assert!(QuotaTag::try_from("k../../etc".to_owned()).is_err());
    }

    #[test]
    fn a_charge_admits_up_to_its_limits_and_says_what_is_full() {
        let charge = QuotaCharge {
            tag: QuotaTag::key(&Owner::new("SHA256:k")),
            max_shares: 2,
            max_bytes: 100,
        };
        let used = QuotaUsage {
            shares: 1,
            bytes: 60,
        };
        assert!(charge.admit(used, 40).is_ok());
        let err = charge.admit(used, 41).unwrap_err();
        assert_eq!(err.scope, QuotaScope::Key);
        let two = QuotaUsage {
            shares: 2,
            bytes: 0,
        };
        let text = charge.admit(two, 1).unwrap_err().to_string();
        assert!(text.starts_with("quota: 2 shares"), "{text}");
        assert!(text.contains("revoke"), "{text}");
    }
}
