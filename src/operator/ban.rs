//! Bans: what they target and how a client is matched against them.
//!
//! A target is a key (by `SHA256:` fingerprint; an OpenSSH public key line is accepted and
//! reduced to its fingerprint) or an address block. A single IPv6 address is banned as its /64,
//! the unit every per-address limit counts (see `crate::client_group`): banning one address of a
//! /64 a host controls entirely would be a ban in name only.

use std::net::IpAddr;

use russh::keys::{HashAlg, PublicKey};
use serde::{Deserialize, Serialize};

use super::printable_target;
use crate::ip_net::IpNet;
use crate::share::Millis;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BanTarget {
    /// `SHA256:…` fingerprint of an SSH key.
    Key(String),
    Net(IpNet),
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum BanTargetError {
    #[error(
        "{0:?} is not a key fingerprint (SHA256:…), an OpenSSH public key, an address or a CIDR block"
    )]
    Unrecognised(String),
}

impl BanTarget {
    pub fn parse(text: &str) -> Result<BanTarget, BanTargetError> {
        let text = text.trim();
        // A pasted link by mistake: its key, in any pasted form, is never echoed or logged.
        let unrecognised = || BanTargetError::Unrecognised(printable_target(text));
        if let Some(b64) = text.strip_prefix("SHA256:") {
            // A SHA-256 digest in unpadded base64 is 43 characters.
            let ok = b64.len() == 43
                && b64
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
            return ok
                .then(|| BanTarget::Key(text.to_owned()))
                .ok_or_else(unrecognised);
        }
        if text.starts_with("ssh-") || text.starts_with("ecdsa-") || text.starts_with("sk-") {
            let key = PublicKey::from_openssh(text).map_err(|_| unrecognised())?;
            return Ok(BanTarget::Key(key.fingerprint(HashAlg::Sha256).to_string()));
        }
        let net = IpNet::parse(text).ok_or_else(unrecognised)?;
        let net = match text.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                IpNet::parse(&format!("{v6}/64")).ok_or_else(unrecognised)?
            }
            Ok(IpAddr::V6(v6)) => {
                IpNet::parse(&format!("{}", v6.to_canonical())).ok_or_else(unrecognised)?
            }
            _ => net,
        };
        Ok(BanTarget::Net(net.normalized()))
    }

    /// Does this ban cover a client with `key` (if it has one) connecting from `ip`?
    pub fn matches(&self, key: Option<&str>, ip: IpAddr) -> bool {
        match self {
            BanTarget::Key(fingerprint) => key == Some(fingerprint.as_str()),
            BanTarget::Net(net) => net.contains(ip),
        }
    }

    pub fn is_key(&self) -> bool {
        matches!(self, BanTarget::Key(_))
    }
}

impl std::fmt::Display for BanTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BanTarget::Key(fingerprint) => f.write_str(fingerprint),
            // A lone IPv6 address reads back as its /64 (see the module docs): an explicit /128
            // ban keeps its prefix in its text, or storing and reloading it would widen it
            // (found by fuzzing, tests/fuzz/corpus/link_forms/regression-ipv6-128-ban).
            BanTarget::Net(net) if net.is_single() && net.is_ipv6() => {
                write!(f, "{net}/128")
            }
            BanTarget::Net(net) => write!(f, "{net}"),
        }
    }
}

impl Serialize for BanTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for BanTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        BanTarget::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A ban in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    pub target: BanTarget,
    pub at: Millis,
    /// `None`: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Millis>,
    /// The operator's key fingerprint.
    pub by: String,
}

impl Ban {
    pub fn in_force(&self, now: Millis) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";

    #[test]
    fn fingerprints_and_public_keys_name_the_same_key() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII5qxapD0dqXm/SOyLCPFVtRNYvMrwzNQbuSY3uXIRsx alice@laptop";
        // What `ssh-keygen -lf` prints for that key.
        let fp = "SHA256:MD5JYCvW2qQfEUlFjJF56OGSkj90bQaJC5oIuFLYpW4".to_owned();
        assert_eq!(BanTarget::parse(key).unwrap(), BanTarget::Key(fp.clone()));
        assert_eq!(BanTarget::parse(&fp).unwrap(), BanTarget::Key(fp));
        assert_eq!(BanTarget::parse(FP).unwrap().to_string(), FP);
        assert!(BanTarget::parse("SHA256:short").is_err());
    }

    #[test]
    fn addresses_become_canonical_blocks() {
        assert_eq!(
            BanTarget::parse("203.0.113.9/24").unwrap().to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            BanTarget::parse("203.0.113.9").unwrap().to_string(),
            "203.0.113.9"
        );
        assert_eq!(
            BanTarget::parse("2001:db8:1:2:aaaa::1")
                .unwrap()
                .to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            BanTarget::parse("::ffff:192.0.2.1").unwrap().to_string(),
            "192.0.2.1"
        );
    }

    #[test]
    fn an_explicit_ipv6_128_ban_survives_storage_without_widening() {
        let exact = BanTarget::parse("2001:db8::7/128").unwrap();
        assert_eq!(exact.to_string(), "2001:db8::7/128");
        let json = serde_json::to_string(&exact).unwrap();
        let reloaded: BanTarget = serde_json::from_str(&json).unwrap();
        assert_eq!(reloaded, exact);
        assert!(!reloaded.matches(None, "2001:db8::8".parse().unwrap()));
    }

    #[test]
    fn bans_match_keys_and_addresses() {
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(BanTarget::parse(FP).unwrap().matches(Some(FP), other));
        assert!(!BanTarget::parse(FP).unwrap().matches(None, ip));
        let net = BanTarget::parse("203.0.113.0/24").unwrap();
        assert!(net.matches(None, ip));
        assert!(net.matches(Some(FP), "::ffff:203.0.113.200".parse().unwrap()));
        assert!(!net.matches(Some(FP), other));
        let v6 = BanTarget::parse("2001:db8:1:2::5").unwrap();
        assert!(v6.matches(None, "2001:db8:1:2:ffff::1".parse().unwrap()));
    }

    #[test]
    fn garbage_is_a_readable_error_without_control_characters() {
        let err = BanTarget::parse("evil\x1b[2Jtarget")
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\x1b'));
        assert!(err.contains("not a key fingerprint"));
        assert!(BanTarget::parse("").is_err());
        let link = BanTarget::parse("https://share.test/s/AAAAAAAAAAAAAAAA#secretkey")
            .unwrap_err()
            .to_string();
        assert!(
            link.contains("/s/AAAAAAAAAAAAAAAA") && !link.contains("secretkey"),
            "{link}"
        );
    }

    #[test]
    fn bans_serialize_by_their_target_text() {
        let ban = Ban {
            target: BanTarget::parse("10.0.0.0/8").unwrap(),
            at: 1,
            until: Some(5),
            by: FP.into(),
        };
        let json = serde_json::to_string(&ban).unwrap();
        assert!(json.contains("\"10.0.0.0/8\""));
        assert_eq!(serde_json::from_str::<Ban>(&json).unwrap(), ban);
        assert!(ban.in_force(4));
        assert!(!ban.in_force(5));
    }
}
