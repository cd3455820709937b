//! Which address a request comes from. The TCP peer, unless that peer is a configured trusted
//! proxy: then the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (the
//! left part of the header is whatever the client chose to send, so it is never believed).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::config::IpNet;

pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer_ip = peer.ip();
    if !is_trusted(peer_ip) {
        return peer_ip;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return ip,
            // Garbage where a proxy should have written an address: stop believing the header.
            None => return peer_ip,
        }
    }
    peer_ip
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_headers_are_ignored_without_trusted_proxies() {
        let peer: SocketAddr = "198.51.100.7:4000".parse().unwrap();
        assert_eq!(client_ip(peer, &headers("203.0.113.9"), &[]), peer.ip());
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = [IpNet::parse("10.0.0.0/8").unwrap()];
        let peer: SocketAddr = "10.0.0.2:4000".parse().unwrap();
        let ip = client_ip(peer, &headers("6.6.6.6, 203.0.113.9, 10.0.0.5"), &trusted);
        assert_eq!(ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        let untrusted_peer: SocketAddr = "198.51.100.7:4000".parse().unwrap();
        assert_eq!(
            client_ip(untrusted_peer, &headers("203.0.113.9"), &trusted),
            untrusted_peer.ip()
        );
        assert_eq!(client_ip(peer, &headers("junk"), &trusted), peer.ip());
    }
}
