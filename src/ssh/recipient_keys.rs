//! `--to github:USER`: the public keys a forge publishes for USER (`<base>/USER.keys`, one
//! OpenSSH key per line), fetched once at upload time. The base URL is a setting
//! (`recipient-keys-url`), so tests and private forges point it elsewhere.
//!
//! A stranger's server may answer slowly, hugely or not at all, while an SSH session waits: the
//! whole fetch is bounded in time ([`FETCH_TIMEOUT`]) and the body in size ([`MAX_KEYS_BYTES`]),
//! and any failure is a readable error for the sender — nothing is stored.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// The whole fetch (connect, TLS, request, body) must end within this.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A key list larger than this is refused (GitHub's largest real lists are a few KiB).
pub const MAX_KEYS_BYTES: usize = 64 * 1024;

/// A GitHub user name: 1–39 ASCII letters, digits and hyphens.
fn valid_user(user: &str) -> bool {
    (1..=39).contains(&user.len()) && user.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The key lines published for `user` under `base`, or why there are none, in words.
pub async fn fetch(base: &str, user: &str) -> Result<Vec<String>, String> {
    if !valid_user(user) {
        return Err(
            "--to github:USER: USER must be a GitHub user name (letters, digits, -)".into(),
        );
    }
    let url = format!("{base}/{user}.keys");
    let body = match tokio::time::timeout(FETCH_TIMEOUT, get(&url)).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(format!(
                "--to github:{user}: the key server did not answer within {}s; nothing was stored",
                FETCH_TIMEOUT.as_secs()
            ));
        }
    };
    let text = String::from_utf8_lossy(&body);
    let keys: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if keys.is_empty() {
        return Err(format!(
            "--to github:{user}: that user publishes no SSH keys"
        ));
    }
    Ok(keys)
}

async fn get(url: &str) -> Result<Vec<u8>, String> {
    let failed = |why: String| format!("--to github: fetching the keys failed: {why}");
    let uri: hyper::Uri = url.parse().map_err(|_| failed("bad URL".into()))?;
    let host = uri
        .host()
        .ok_or_else(|| failed("no host".into()))?
        .to_owned();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let request = Request::get(uri.path())
        .header(hyper::header::HOST, host.as_str())
        .header(hyper::header::USER_AGENT, "onetimeshare")
        .body(Empty::<Bytes>::new())
        .map_err(|e| failed(e.to_string()))?;
    let response = if https {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| failed(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(host.clone()).map_err(|e| failed(e.to_string()))?;
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| failed(e.to_string()))?;
        send(TokioIo::new(tls), request).await
    } else {
        send(TokioIo::new(tcp), request).await
    }
    .map_err(failed)?;
    Ok(response)
}

/// One HTTP/1.1 request on `io`; the body, refused past [`MAX_KEYS_BYTES`].
async fn send<I>(io: I, request: Request<Empty<Bytes>>) -> Result<Vec<u8>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string());
    let result = async {
        let response = response?;
        match response.status().as_u16() {
            200 => {}
            404 => return Err("no such user (HTTP 404)".to_owned()),
            code => return Err(format!("the key server answered HTTP {code}")),
        }
        let mut body = response.into_body();
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Some(data) = frame.data_ref() {
                if out.len() + data.len() > MAX_KEYS_BYTES {
                    return Err(format!(
                        "the key list is larger than {} KiB",
                        MAX_KEYS_BYTES / 1024
                    ));
                }
                out.extend_from_slice(data);
            }
        }
        Ok(out)
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_names_are_checked_before_any_request() {
        assert!(super::valid_user("octo-cat42"));
        for bad in ["", "a/b", "../x", "a b", &"x".repeat(40)] {
            assert!(!super::valid_user(bad), "{bad:?}");
        }
    }
}
