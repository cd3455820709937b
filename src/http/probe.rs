//! `onetimeshare healthcheck`: asks a running server's `/healthz` over loopback, for container
//! HEALTHCHECKs (the runtime image has no curl). Plain HTTP/1.1 on purpose: the probe runs next
//! to the server; with built-in TLS it only checks that the port accepts connections.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{addr} did not answer within {timeout:?}")]
    Timeout { addr: SocketAddr, timeout: Duration },
    #[error("{addr} is unhealthy: {status}")]
    Unhealthy { addr: SocketAddr, status: String },
}

/// The address to probe for a listen address: a wildcard bind is reached over loopback.
pub fn probe_addr(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// GET /healthz; Ok only for a 200.
pub async fn probe(addr: SocketAddr, tls: bool, timeout: Duration) -> Result<(), ProbeError> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ProbeError::Connect { addr, source })?;
        if tls {
            return Ok(());
        }
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: onetimeshare-healthcheck\r\n\r\n"
        );
        let io = |source| ProbeError::Connect { addr, source };
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let mut head = vec![0u8; 64];
        let n = stream.read(&mut head).await.map_err(io)?;
        let status = String::from_utf8_lossy(&head[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        if status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200") {
            Ok(())
        } else {
            Err(ProbeError::Unhealthy { addr, status })
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ProbeError::Timeout { addr, timeout })?
}
