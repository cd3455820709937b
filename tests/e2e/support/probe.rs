//! Liveness probes for the abuse tests: while hostile clients run, each probe times one real
//! request an innocent client makes — `/healthz` and a claim with `curl`, an upload through
//! `ssh` — so a test can assert that every one of them answered, and within its bound. A probe
//! never waits for ever: past [`GIVE_UP`] it is reported as failed with the time it took.

use std::io::Write as _;
use std::time::{Duration, Instant};

use super::TestServer;
use super::curl::curl;
use super::ssh_client::Client;

/// A probe still unanswered after this is abandoned (and fails).
pub const GIVE_UP: Duration = Duration::from_secs(10);

/// One timed request and whether it got the answer it should.
#[derive(Debug)]
pub struct Probe {
    pub what: &'static str,
    pub took: Duration,
    pub ok: bool,
    pub detail: String,
}

impl Probe {
    /// Panics unless the request succeeded within `bound`.
    pub fn assert_within(&self, bound: Duration) {
        assert!(
            self.ok,
            "{} failed after {:?}: {}",
            self.what, self.took, self.detail
        );
        assert!(
            self.took <= bound,
            "{} took {:?} (bound {bound:?})",
            self.what,
            self.took
        );
    }
}

/// `curl /healthz`: 200.
pub fn healthz(server: &TestServer) -> Probe {
    let url = format!("{}/healthz", server.http_url());
    let max = GIVE_UP.as_secs().to_string();
    let started = Instant::now();
    let out = curl(&[
        "--max-time",
        &max,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]);
    let code = String::from_utf8_lossy(&out.stdout).into_owned();
    Probe {
        what: "GET /healthz",
        took: started.elapsed(),
        ok: out.status.success() && code == "200",
        detail: format!("HTTP {code} {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// `curl -X POST` of a link made beforehand: 200 and exactly `content`.
pub fn claim(link: &str, content: &[u8]) -> Probe {
    let max = GIVE_UP.as_secs().to_string();
    let started = Instant::now();
    let out = super::curl_claim(link, &["--max-time", &max]);
    Probe {
        what: "POST /s/<id> (claim)",
        took: started.elapsed(),
        ok: out.status.success() && out.stdout == content,
        detail: format!(
            "{} bytes back; {}",
            out.stdout.len(),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `ssh host < content` from `client`: exit 0 and a link on stdout.
pub fn ssh_upload(client: &Client, content: &[u8]) -> Probe {
    let started = Instant::now();
    let mut child = super::ssh_client::spawn_piped(&mut client.ssh_command_t(&[]));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(content);
    }
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if started.elapsed() > GIVE_UP {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed();
    let out = child.wait_with_output().expect("wait for ssh");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Probe {
        what: "ssh upload",
        took,
        ok: out.status.success() && stdout.starts_with("http"),
        detail: format!(
            "exit {:?}; {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// A well-behaved client of one server, with shares made up front for it to claim, probed
/// round after round while others abuse the server.
pub struct Rounds<'a> {
    server: &'a TestServer,
    client: Client,
    shares: Vec<(String, Vec<u8>)>,
}

impl<'a> Rounds<'a> {
    /// Makes `claims` shares to claim later (one per [`Rounds::check`]), before any abuse starts.
    pub fn new(server: &'a TestServer, claims: usize) -> Rounds<'a> {
        let client = Client::new(server);
        let shares = (0..claims)
            .map(|i| {
                let content = format!("probe share {i}").into_bytes();
                (share(&client, &content), content)
            })
            .collect();
        Rounds {
            server,
            client,
            shares,
        }
    }

    /// `/healthz`, one claim and one upload, each of which must answer correctly within
    /// `within`; `Err` says which did not and what it got.
    pub fn check(&mut self, within: Duration) -> Result<[Duration; 3], String> {
        let (link, content) = self
            .shares
            .pop()
            .ok_or("the probe ran out of shares to claim")?;
        let probes = [
            healthz(self.server),
            claim(&link, &content),
            ssh_upload(&self.client, b"probe upload"),
        ];
        for probe in &probes {
            if !probe.ok || probe.took > within {
                return Err(format!(
                    "{} after {:?} (bound {within:?}): {}",
                    probe.what, probe.took, probe.detail
                ));
            }
        }
        Ok(probes.map(|p| p.took))
    }
}

/// A link to a fresh share holding `content`, made with a piped `ssh` upload.
pub fn share(client: &Client, content: &[u8]) -> String {
    let out = super::ssh_client::run(&mut client.ssh_command_t(&[]), content);
    assert!(out.status.success(), "upload failed: {out:?}");
    String::from_utf8(out.stdout)
        .expect("the link is text")
        .trim()
        .to_owned()
}
