//! Address blocks (`10.0.0.0/8`, `2001:db8::/48`, a single address), used for trusted proxies
//! and for operators' bans. IPv4-mapped IPv6 addresses match their IPv4 block, so a dual-stack
//! listener cannot be used to slip past a ban or a proxy rule.

use std::net::IpAddr;

/// An address block such as `10.0.0.0/8` or a single address (`::1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(text: &str) -> Option<IpNet> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, Some(prefix.parse().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

impl IpNet {
    /// The block with its host bits cleared, so `10.1.2.3/8` and `10.0.0.0/8` are one block.
    pub fn normalized(self) -> IpNet {
        let addr = match self.addr {
            IpAddr::V4(v4) => {
                let mut octets = v4.octets();
                clear_host_bits(&mut octets, self.prefix);
                IpAddr::from(octets)
            }
            IpAddr::V6(v6) => {
                let mut octets = v6.octets();
                clear_host_bits(&mut octets, self.prefix);
                IpAddr::from(octets)
            }
        };
        IpNet {
            addr,
            prefix: self.prefix,
        }
    }

    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// True for a single address (/32 or /128).
    pub fn is_single(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

fn clear_host_bits(octets: &mut [u8], prefix: u8) {
    for (i, byte) in octets.iter_mut().enumerate() {
        let start = (i * 8) as u32;
        let keep = u32::from(prefix).saturating_sub(start).min(8);
        let mask = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
        *byte &= mask;
    }
}

/// `addr` for a single address, `addr/prefix` for a block.
impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_contain_their_addresses_and_mapped_ipv4() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.200.1.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let v6 = IpNet::parse("2001:db8:1:2::/64").unwrap();
        assert!(v6.contains("2001:db8:1:2:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db8:1:3::1".parse().unwrap()));
    }

    #[test]
    fn normalized_blocks_print_canonically() {
        let net = IpNet::parse("10.1.2.3/8").unwrap().normalized();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert_eq!(
            IpNet::parse("192.0.2.7").unwrap().normalized().to_string(),
            "192.0.2.7"
        );
        assert_eq!(
            IpNet::parse("2001:db8:1:2:aaaa::1/64")
                .unwrap()
                .normalized()
                .to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            IpNet::parse("192.0.2.7/0")
                .unwrap()
                .normalized()
                .to_string(),
            "0.0.0.0/0"
        );
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("nonsense").is_none());
    }
}
