//! The liveness probe of the load-abuse tests: while some clients abuse the server, another
//! client checks that `/healthz` (curl), a claim (curl -X POST of a share made beforehand) and
//! an SSH pipe upload each answer within a bound — the brief's "no client can hurt another".
//! The bound is a liveness property (an answer at all, in time), not a speed benchmark.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::ssh_client::{Client, text};
use super::{TestServer, require_tool};

/// A well-behaved client of one server, with shares made up front for it to claim.
pub struct Probe {
    http_url: String,
    client: Client,
    links: Vec<String>,
}

/// How long each probe step took.
#[derive(Debug, Clone, Copy)]
pub struct ProbeTimes {
    pub healthz: Duration,
    pub claim: Duration,
    pub upload: Duration,
}

impl Probe {
    /// Makes `claims` shares to claim later (one per [`Probe::check`]), before any abuse starts.
    pub fn new(server: &TestServer, claims: usize) -> Probe {
        let client = Client::new(server);
        let links = (0..claims)
            .map(|i| {
                let out = super::ssh_client::run(
                    &mut client.ssh_command_t(&[]),
                    format!("probe share {i}").as_bytes(),
                );
                assert!(out.status.success(), "probe upload: {}", text(&out.stderr));
                text(&out.stdout).trim().to_owned()
            })
            .collect();
        Probe {
            http_url: server.http_url(),
            client,
            links,
        }
    }

    /// `/healthz`, one claim and one upload, each of which must answer (correctly) within
    /// `within`; `Err` says which did not and what it got.
    pub fn check(&mut self, within: Duration) -> Result<ProbeTimes, String> {
        let curl = require_tool("curl", "curl");
        let max_time = format!("{:.3}", within.as_secs_f64());
        let (out, healthz) = timed(
            Command::new(&curl).args([
                "-sS",
                "-f",
                "--max-time",
                &max_time,
                &format!("{}/healthz", self.http_url),
            ]),
            within,
        )?;
        if !out.status.success() || healthz > within {
            return Err(format!("/healthz: {out:?} after {healthz:?}"));
        }
        let link = self
            .links
            .pop()
            .ok_or("the probe ran out of shares to claim")?;
        let expected = format!("probe share {}", self.links.len());
        let (url, key) = link.split_once('#').ok_or("a link without a key")?;
        let (out, claim) = timed(
            Command::new(&curl).args([
                "-sS",
                "-f",
                "--max-time",
                &max_time,
                "-X",
                "POST",
                "-d",
                &format!("key={key}"),
                url,
            ]),
            within,
        )?;
        if text(&out.stdout) != expected || claim > within {
            return Err(format!("claim: {out:?} after {claim:?}"));
        }
        let mut ssh = self.client.ssh_command_t(&[]);
        let (out, upload) = timed_with_stdin(&mut ssh, b"probe upload", within)?;
        if !out.status.success() || !text(&out.stdout).contains("/s/") || upload > within {
            return Err(format!("ssh upload: {out:?} after {upload:?}"));
        }
        Ok(ProbeTimes {
            healthz,
            claim,
            upload,
        })
    }
}

fn timed(command: &mut Command, within: Duration) -> Result<(Output, Duration), String> {
    timed_with_stdin(command, b"", within)
}

/// Runs `command` with `stdin`; kills it (and says so) if it has not finished in twice
/// `within` — the caller judges `within` itself from the returned time.
fn timed_with_stdin(
    command: &mut Command,
    stdin: &[u8],
    within: Duration,
) -> Result<(Output, Duration), String> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if let Some(mut input) = child.stdin.take() {
        use std::io::Write as _;
        let _ = input.write_all(stdin);
    }
    let deadline = started + within * 2;
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            let out = child.wait_with_output().map_err(|e| e.to_string())?;
            return Ok((out, started.elapsed()));
        }
        if Instant::now() >= deadline {
            kill(&mut child);
            return Err(format!(
                "{command:?} gave no answer within {:?}",
                within * 2
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
