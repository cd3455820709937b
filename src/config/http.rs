//! HTTP settings: built-in TLS files, the proxies whose `X-Forwarded-For` may be believed, and the
//! per-IP claim rate. Resolved here from the raw [`Layer`](super::Layer) strings so the HTTP
//! module receives only validated, typed values.
//!
//! Invariant: with no `trusted-proxies` configured, no forwarded header is ever trusted.

use std::path::PathBuf;

use super::ConfigError;
pub use crate::ip_net::IpNet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// Serve HTTPS with these PEM files; `None` serves plain HTTP (behind a TLS proxy).
    pub tls: Option<TlsFiles>,
    pub trusted_proxies: Vec<IpNet>,
    /// Claims (POST /s/…) per client address per minute; 0 disables the limit.
    pub claims_per_minute: u32,
    /// Claims a client may make in a burst before the per-minute rate applies.
    pub claim_burst: u32,
    /// Colours of the web pages (the terminal UI uses the same theme).
    pub theme: &'static crate::theme::Theme,
    /// Open connections, in total.
    pub max_connections: usize,
    /// Open connections per client group; behind a trusted proxy, requests in flight per
    /// forwarded client.
    pub max_connections_per_client: usize,
    /// Open connections per trusted proxy address.
    pub max_connections_per_proxy: usize,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: std::time::Duration,
    /// A connection this old takes no new requests (HTTP/2: GOAWAY) and closes when done.
    pub max_connection_age: std::time::Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            tls: None,
            trusted_proxies: Vec::new(),
            claims_per_minute: 30,
            claim_burst: 10,
            theme: crate::theme::Theme::industrial_urgency(),
            max_connections: 4096,
            max_connections_per_client: 64,
            max_connections_per_proxy: 1024,
            idle_timeout: std::time::Duration::from_secs(30),
            max_connection_age: std::time::Duration::from_secs(3600),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub(super) fn resolve(
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    trusted_proxies: Option<Vec<String>>,
    claims_per_minute: Option<u32>,
    claim_burst: Option<u32>,
) -> Result<HttpSettings, ConfigError> {
    let defaults = HttpSettings::default();
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => {
            return Err(ConfigError::Invalid(
                "tls-cert and tls-key must be given together".into(),
            ));
        }
    };
    let trusted_proxies = trusted_proxies
        .unwrap_or_default()
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            IpNet::parse(s).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "trusted-proxies: {s:?} is not an address or CIDR block"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpSettings {
        tls,
        trusted_proxies,
        claims_per_minute: claims_per_minute.unwrap_or(defaults.claims_per_minute),
        claim_burst: claim_burst.unwrap_or(defaults.claim_burst).max(1),
        ..defaults
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_contain_what_they_should() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one = IpNet::parse("::1").unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("nonsense").is_none());
        let odd = IpNet::parse("192.168.0.0/23").unwrap();
        assert!(odd.contains("192.168.1.7".parse().unwrap()));
        assert!(!odd.contains("192.168.2.7".parse().unwrap()));
    }

    #[test]
    fn the_toml_file_and_flags_name_http_settings_alike() {
        let layer: super::super::Layer = toml::from_str(
            "trusted-proxies = [\"10.0.0.0/8\", \"::1\"]\nclaims-per-minute = 0\ntls-cert = \"c.pem\"\ntls-key = \"k.pem\"",
        )
        .unwrap();
        let s = super::super::Settings::resolve(layer).unwrap();
        assert_eq!(s.http.trusted_proxies.len(), 2);
        assert_eq!(s.http.claims_per_minute, 0);
        assert_eq!(s.http.tls.unwrap().cert, PathBuf::from("c.pem"));
        let defaults = super::super::Settings::resolve(Default::default()).unwrap();
        assert_eq!(defaults.http, HttpSettings::default());
    }

    #[test]
    fn tls_files_come_in_pairs() {
        assert!(resolve(Some("c".into()), None, None, None, None).is_err());
        assert!(
            resolve(None, None, Some(vec!["bogus".into()]), None, None)
                .unwrap_err()
                .to_string()
                .contains("trusted-proxies")
        );
    }
}
