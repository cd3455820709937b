//! Real `curl` for claims, for requests whose status and headers a test reads ([`Reply`]), and
//! for `/metrics` scrapes ([`Scrape`]: the text exposition parsed into series → value, so tests
//! compare exact deltas).

use std::collections::HashMap;
use std::process::{Command, Output};

use super::{TestServer, require_tool, temp_dir};

/// `curl -sS ARGS`: exit status, body on stdout, errors on stderr.
pub fn curl(args: &[&str]) -> Output {
    let program = require_tool("curl", "curl");
    Command::new(program)
        .args(["-sS", "--max-time", "60"])
        .args(args)
        .output()
        .expect("run curl")
}

/// What one `curl` request got: exit code, HTTP status (0 when none arrived), headers, body.
pub struct Reply {
    pub exit: i32,
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the response header `name` (case-insensitive), if sent.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
}

/// Runs real `curl` with `args`; captures exit code, status, headers and body.
pub fn request(args: &[&str]) -> Reply {
    let program = require_tool("curl", "curl");
    let dir = temp_dir();
    let head = dir.path().join("head");
    let body = dir.path().join("body");
    let output = Command::new(program)
        .args(["-sS", "--max-time", "30", "-w", "%{http_code}", "-D"])
        .arg(&head)
        .arg("-o")
        .arg(&body)
        .args(args)
        .output()
        .expect("run curl");
    Reply {
        exit: output.status.code().unwrap_or(-1),
        status: String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        headers: std::fs::read_to_string(&head).unwrap_or_default(),
        body: std::fs::read(&body).unwrap_or_default(),
    }
}

/// Claims a printed link with `curl -X POST` (the key moved from the fragment into the body).
pub fn curl_claim(link: &str, extra: &[&str]) -> Output {
    let (url, key) = link.split_once('#').expect("a link has a #key");
    let key = format!("key={key}");
    let mut args = vec!["-X", "POST", "-d", key.as_str()];
    args.extend_from_slice(extra);
    args.push(url);
    curl(&args)
}

/// One scrape of `/metrics`: `series → value`, where a series is the sample's name with its
/// labels exactly as exposed (`onetimeshare_shares_total{event="created"}`).
pub struct Scrape {
    pub text: String,
    values: HashMap<String, f64>,
}

impl Scrape {
    pub fn of(server: &TestServer) -> Scrape {
        let out = curl(&["-f", &server.metrics_url()]);
        assert!(out.status.success(), "scrape failed: {out:?}");
        let text = String::from_utf8(out.stdout).expect("the exposition is UTF-8");
        let values = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').expect("`series value`");
                let value = value
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {l:?}"));
                (series.to_owned(), value)
            })
            .collect();
        Scrape { text, values }
    }

    /// The value of `series`; panics (with the scrape) if it is not exposed.
    pub fn get(&self, series: &str) -> f64 {
        *self
            .values
            .get(series)
            .unwrap_or_else(|| panic!("{series} not exposed:\n{}", self.text))
    }

    /// `self − before` for `series`.
    pub fn delta(&self, before: &Scrape, series: &str) -> f64 {
        self.get(series) - before.get(series)
    }

    /// Every series whose name starts with `prefix`.
    pub fn series(&self, prefix: &str) -> Vec<(String, f64)> {
        let mut found: Vec<_> = self
            .values
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }
}
