//! How clients are counted by every per-address limit (SSH connections and uploads, HTTP
//! claims): an IPv4 address is one client, an IPv6 client is its /64 — one host normally holds a
//! whole /64, so counting exact IPv6 addresses would let it bypass any per-address limit.

use std::net::IpAddr;

/// The key a per-address limit counts `ip` under.
pub fn client_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::from(octets)
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_of_one_64_are_one_client() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_group(a), client_group(b));
        assert_ne!(client_group(a), client_group(other));
    }

    #[test]
    fn ipv4_and_mapped_ipv4_are_the_same_client() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_group(v4), client_group(mapped));
        assert_ne!(client_group(v4), client_group("192.0.2.8".parse().unwrap()));
    }
}
