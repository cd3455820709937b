//! Configuration: defaults → TOML file → `ONETIMESHARE_*` environment → command-line flags,
//! parsed once into typed [`Settings`].
//!
//! One struct, [`Layer`], is both the clap argument set (flags and their env variables) and the
//! TOML file schema, so a setting cannot exist in one and be forgotten in the other. Every field
//! is optional there; [`Settings::resolve`] applies precedence and defaults and validates.
//! [`SettingsArgs`] adds `--config` and is what every subcommand that needs settings takes.
//!
//! Adding a setting: a field on [`Layer`] (the rules it must follow are in [`catalog`], whose
//! tests name what is missing), its line in [`Layer::over`] (the compiler asks for it), its
//! default and validation in [`Settings::resolve`], then regenerate the README's table:
//! `UPDATE_DOCS=1 cargo nextest run --test e2e config::the_readme` (or `cargo test --test e2e config::the_readme`).

mod blob;
pub mod catalog;
mod effective;
mod http;
mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::units::{UnitError, format_duration, format_size, parse_duration, parse_size};
pub use blob::{BlobBackend, S3Settings};
pub use effective::{Effective, EffectiveSetting, Source};
pub use http::{HttpSettings, IpNet, TlsFiles};
pub use secret::{REDACTED, Secret, redact_url_credentials};

use crate::share::{KdfCost, MIN_TTL, MIN_TTL_FLOOR, Policy, Quota};

/// A request spends up to this many Redis timeouts finding out what a change it got no answer
/// for did (see `--redis-timeout`).
const SETTLE_TIMEOUTS: u32 = 5;

/// The settings a subcommand takes: an optional TOML file, then flags and environment.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SettingsArgs {
    /// TOML config file; its keys are the long flag names
    #[arg(long, env = "ONETIMESHARE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub layer: Layer,
}

impl SettingsArgs {
    /// Reads the config file and resolves flags and environment over it: what `serve` runs on.
    pub fn resolve(&self) -> Result<Settings, ConfigError> {
        self.resolve_with(self.file_layer()?)
    }

    /// The config file's layer (empty without `--config`).
    pub fn file_layer(&self) -> Result<Layer, ConfigError> {
        match &self.config {
            Some(path) => Layer::from_toml_file(path),
            None => Ok(Layer::default()),
        }
    }

    /// Resolves flags and environment over an already read file layer.
    pub fn resolve_with(&self, file: Layer) -> Result<Settings, ConfigError> {
        Settings::resolve(self.layer.clone().over(file))
    }
}

/// Settings as given by one source. Field docs are the `--help` text and the README's table
/// (see [`catalog`]); serialization is for display only (`config check`).
#[derive(Clone, Debug, Default, clap::Args, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Layer {
    /// Directory for the embedded store, blobs and the SSH host key [default: ./data]
    #[arg(long, env = "ONETIMESHARE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// SSH listen address [default: 0.0.0.0:2222]
    #[arg(long, env = "ONETIMESHARE_SSH_ADDR", value_name = "ADDR")]
    pub ssh_addr: Option<SocketAddr>,
    /// HTTP listen address [default: 0.0.0.0:8080]
    #[arg(long, env = "ONETIMESHARE_HTTP_ADDR", value_name = "ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// Base of every link: <public-url>/s/<id>#<key> [default: http://localhost:8080]
    // The help text (and the README table made from it) shows the placeholders as written.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long, env = "ONETIMESHARE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Redis URL for share metadata, shared by many instances: redis:// or rediss:// (TLS) for one
    /// server, redis+cluster://host:port,host:port for a Cluster, or
    /// redis+sentinel://host:26379,host:26379/master-name for Sentinel (rediss+… for TLS); an
    /// ACL user and password go in the user info [default: the embedded store]
    #[arg(long, env = "ONETIMESHARE_REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key [default: ots:]
    #[arg(long, env = "ONETIMESHARE_REDIS_PREFIX", value_name = "PREFIX")]
    pub redis_prefix: Option<String>,
    /// Bound on each Redis command, e.g. 2s or 500ms. A state change that gets no answer in time
    /// is not reported until the server has found out whether it happened, for up to 5 times
    /// this [default: 2s]
    #[arg(long, env = "ONETIMESHARE_REDIS_TIMEOUT", value_name = "DURATION")]
    pub redis_timeout: Option<String>,
    /// Redis replicas that must acknowledge a claim or a password attempt (WAIT) before it counts;
    /// one that too few replicas acknowledge is undone and the claimant told to retry, so a
    /// Sentinel failover cannot hand the share to a second claimant (docs/redis.md) [default: 0]
    #[arg(long, env = "ONETIMESHARE_REDIS_WAIT_REPLICAS", value_name = "N")]
    pub redis_wait_replicas: Option<u32>,
    /// Largest share, e.g. 256MiB [default: 256MiB]
    #[arg(long, env = "ONETIMESHARE_MAX_SIZE", value_name = "SIZE")]
    pub max_size: Option<String>,
    /// Expiry when the sender names none, e.g. 1d [default: 1d]
    #[arg(long, env = "ONETIMESHARE_DEFAULT_TTL", value_name = "DURATION")]
    pub default_ttl: Option<String>,
    /// Shortest expiry a sender may choose, at least 1s [default: 1m]
    #[arg(long, env = "ONETIMESHARE_MIN_TTL", value_name = "DURATION")]
    pub min_ttl: Option<String>,
    /// Longest expiry a sender may choose [default: 7d]
    #[arg(long, env = "ONETIMESHARE_MAX_TTL", value_name = "DURATION")]
    pub max_ttl: Option<String>,
    /// Wrong passwords before a share locks [default: 5]
    #[arg(long, env = "ONETIMESHARE_MAX_ATTEMPTS", value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Argon2id memory per password derivation [default: 64MiB]
    #[arg(long, env = "ONETIMESHARE_ARGON2_MEMORY", value_name = "SIZE")]
    pub argon2_memory: Option<String>,
    /// Argon2id passes [default: 3]
    #[arg(long, env = "ONETIMESHARE_ARGON2_ITERATIONS", value_name = "N")]
    pub argon2_iterations: Option<u32>,
    /// Argon2 derivations allowed to run at once, each on its own low-priority thread
    /// [default: one per core beyond the first, 1 to 4]
    #[arg(long, env = "ONETIMESHARE_ARGON2_CONCURRENCY", value_name = "N")]
    pub argon2_concurrency: Option<usize>,
    /// How often expired shares and orphan blobs are removed [default: 1m]
    #[arg(long, env = "ONETIMESHARE_SWEEP_INTERVAL", value_name = "DURATION")]
    pub sweep_interval: Option<String>,
    /// Colour theme for the web pages and the terminal UI: a TOML file with the roles of
    /// themes/industrial-urgency.toml [default: the built-in Industrial Urgency]
    #[arg(long, env = "ONETIMESHARE_THEME", value_name = "FILE")]
    pub theme: Option<PathBuf>,
    /// Idle time after which the terminal UI closes its session (with a warning first) [default: 15m]
    #[arg(long, env = "ONETIMESHARE_TUI_IDLE_TIMEOUT", value_name = "DURATION")]
    pub tui_idle_timeout: Option<String>,
    /// Memory all terminal UI drafts together may hold; past it a session is told the server is
    /// full and nothing it types or pastes is kept (each draft holds at most 64 KiB) [default: 32MiB]
    #[arg(long, env = "ONETIMESHARE_TUI_DRAFT_BUDGET", value_name = "SIZE")]
    pub tui_draft_budget: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics on this separate listener; keep it on a
    /// private address (counts never appear on the public port) [default: not served]
    #[arg(long, env = "ONETIMESHARE_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// On SIGTERM/SIGINT: how long uploads, downloads and terminal sessions in progress may
    /// take to finish before they are cut (nothing half-uploaded is kept) [default: 30s]
    #[arg(long, env = "ONETIMESHARE_SHUTDOWN_GRACE", value_name = "DURATION")]
    pub shutdown_grace: Option<String>,
    /// Log format: pretty or json [default: pretty]
    #[arg(long, env = "ONETIMESHARE_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// SSH host key (OpenSSH private key file); created as ed25519 if absent
    /// [default: ssh_host_ed25519_key in the data dir]
    #[arg(long, env = "ONETIMESHARE_SSH_HOST_KEY", value_name = "FILE")]
    pub ssh_host_key: Option<PathBuf>,
    /// Only keys in this authorized_keys file may connect [default: any key]
    #[arg(long, env = "ONETIMESHARE_SSH_AUTHORIZED_KEYS", value_name = "FILE")]
    pub ssh_authorized_keys: Option<PathBuf>,
    /// Operators: an authorized_keys file or SHA256 fingerprints, one per line; these keys may run
    /// `admin …` commands and see the operator screen [default: no one]
    #[arg(long, env = "ONETIMESHARE_ADMIN_KEYS", value_name = "FILE")]
    pub admin_keys: Option<PathBuf>,
    /// Let clients without a key upload (ephemeral identity, no `ls`) [default: false]
    #[arg(long, env = "ONETIMESHARE_SSH_ALLOW_KEYLESS", value_name = "BOOL",
          num_args = 0..=1, default_missing_value = "true")]
    pub ssh_allow_keyless: Option<bool>,
    /// Open SSH connections allowed at once, in total [default: 512]
    #[arg(long, env = "ONETIMESHARE_SSH_MAX_CONNECTIONS", value_name = "N")]
    pub ssh_max_connections: Option<usize>,
    /// Open SSH connections allowed at once from one IP address [default: 16]
    #[arg(
        long,
        env = "ONETIMESHARE_SSH_MAX_CONNECTIONS_PER_IP",
        value_name = "N"
    )]
    pub ssh_max_connections_per_ip: Option<usize>,
    /// Open SSH connections allowed at once for one key [default: 8]
    #[arg(long, env = "ONETIMESHARE_SSH_MAX_SESSIONS_PER_KEY", value_name = "N")]
    pub ssh_max_sessions_per_key: Option<usize>,
    /// Uploads allowed per minute from one key and from one IP address [default: 60]
    #[arg(long, env = "ONETIMESHARE_SSH_UPLOADS_PER_MINUTE", value_name = "N")]
    pub ssh_uploads_per_minute: Option<u32>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key) [default: plain HTTP]
    #[arg(long, env = "ONETIMESHARE_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert
    #[arg(long, env = "ONETIMESHARE_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For is believed
    /// [default: none, the header is ignored]
    #[arg(
        long,
        env = "ONETIMESHARE_TRUSTED_PROXIES",
        value_name = "CIDR,...",
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<String>>,
    /// Claims per client address per minute; 0 disables the limit [default: 30]
    #[arg(long, env = "ONETIMESHARE_CLAIMS_PER_MINUTE", value_name = "N")]
    pub claims_per_minute: Option<u32>,
    /// Claims a client may make at once before the per-minute rate applies [default: 10]
    #[arg(long, env = "ONETIMESHARE_CLAIM_BURST", value_name = "N")]
    pub claim_burst: Option<u32>,
    /// Open HTTP connections allowed at once, in total [default: 4096]
    #[arg(long, env = "ONETIMESHARE_HTTP_MAX_CONNECTIONS", value_name = "N")]
    pub http_max_connections: Option<usize>,
    /// Open HTTP connections one client (IPv4 address, IPv6 /64) may hold at once; behind a
    /// trusted proxy, requests in flight per forwarded client [default: 64]
    #[arg(
        long,
        env = "ONETIMESHARE_HTTP_MAX_CONNECTIONS_PER_CLIENT",
        value_name = "N"
    )]
    pub http_max_connections_per_client: Option<usize>,
    /// Open HTTP connections one trusted proxy address may hold at once [default: 1024]
    #[arg(
        long,
        env = "ONETIMESHARE_HTTP_MAX_CONNECTIONS_PER_PROXY",
        value_name = "N"
    )]
    pub http_max_connections_per_proxy: Option<usize>,
    /// An HTTP connection (HTTP/1 keep-alive or HTTP/2) with no request in flight for this long
    /// is closed [default: 30s]
    #[arg(long, env = "ONETIMESHARE_HTTP_IDLE_TIMEOUT", value_name = "DURATION")]
    pub http_idle_timeout: Option<String>,
    /// An HTTP connection older than this takes no new requests and closes once its requests
    /// end [default: 1h]
    #[arg(
        long,
        env = "ONETIMESHARE_HTTP_MAX_CONNECTION_AGE",
        value_name = "DURATION"
    )]
    pub http_max_connection_age: Option<String>,
    /// An SSH upload (pipe, scp, sftp) with no data for this long is dropped whole, and an SSH
    /// connection with no session open for this long is closed [default: 60s]
    #[arg(long, env = "ONETIMESHARE_SSH_IDLE_TIMEOUT", value_name = "DURATION")]
    pub ssh_idle_timeout: Option<String>,
    /// Live (unopened, unexpired) shares one SSH key may have at once [default: 100]
    #[arg(long, env = "ONETIMESHARE_QUOTA_SHARES_PER_KEY", value_name = "N")]
    pub quota_shares_per_key: Option<u32>,
    /// Live bytes one SSH key may have stored at once [default: 1GiB]
    #[arg(long, env = "ONETIMESHARE_QUOTA_BYTES_PER_KEY", value_name = "SIZE")]
    pub quota_bytes_per_key: Option<String>,
    /// Live shares one client address (IPv4 address, IPv6 /64) may have at once [default: 100]
    #[arg(long, env = "ONETIMESHARE_QUOTA_SHARES_PER_ADDRESS", value_name = "N")]
    pub quota_shares_per_address: Option<u32>,
    /// Live bytes one client address (IPv4 address, IPv6 /64) may have stored at once
    /// [default: 1GiB]
    #[arg(
        long,
        env = "ONETIMESHARE_QUOTA_BYTES_PER_ADDRESS",
        value_name = "SIZE"
    )]
    pub quota_bytes_per_address: Option<String>,
    /// Shares sealed to one recipient key (`--to`) that may wait in its inbox at once
    /// [default: 50]
    #[arg(long, env = "ONETIMESHARE_INBOX_MAX_SHARES", value_name = "N")]
    pub inbox_max_shares: Option<u32>,
    /// Where `--to github:USER` fetches USER's public keys: `<URL>/USER.keys`
    /// [default: https://github.com]
    // The help text (and the README table made from it) shows the URL as written.
    #[allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]
    #[arg(long, env = "ONETIMESHARE_RECIPIENT_KEYS_URL", value_name = "URL")]
    pub recipient_keys_url: Option<String>,
    /// Where encrypted share content lives: s3://BUCKET/PREFIX for an S3-compatible object store
    /// (AWS S3, MinIO, Garage, R2), so replicas need no shared disk; endpoint, region and
    /// credentials come from the s3-* settings or the standard AWS_* variables
    /// [default: files in the data dir]
    #[arg(long, env = "ONETIMESHARE_BLOB_URL", value_name = "URL")]
    pub blob_url: Option<String>,
    /// S3 endpoint of a store other than AWS, e.g. http://minio:9000
    /// [default: AWS_ENDPOINT_URL, else AWS itself]
    #[arg(long, env = "ONETIMESHARE_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 region [default: AWS_REGION, else us-east-1]
    #[arg(long, env = "ONETIMESHARE_S3_REGION", value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Address the bucket as ENDPOINT/BUCKET (MinIO, Garage) rather than BUCKET.ENDPOINT
    /// [default: true when s3-endpoint is set]
    #[arg(long, env = "ONETIMESHARE_S3_PATH_STYLE", value_name = "BOOL",
          num_args = 0..=1, default_missing_value = "true")]
    pub s3_path_style: Option<bool>,
    /// S3 access key id [default: AWS_ACCESS_KEY_ID]
    #[arg(long, env = "ONETIMESHARE_S3_ACCESS_KEY_ID", value_name = "ID")]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key [default: AWS_SECRET_ACCESS_KEY]
    #[arg(long, env = "ONETIMESHARE_S3_SECRET_ACCESS_KEY", value_name = "KEY")]
    pub s3_secret_access_key: Option<Secret>,
    /// The SSH host key itself (an OpenSSH private key, as `ssh-keygen -t ed25519` writes it),
    /// e.g. from a Kubernetes Secret, so every replica presents one identity with no volume;
    /// instead of ssh-host-key [default: the ssh-host-key file]
    #[arg(long, env = "ONETIMESHARE_SSH_HOST_KEY_DATA", value_name = "KEY")]
    pub ssh_host_key_data: Option<Secret>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

impl Layer {
    /// `self` wins wherever it has a value.
    pub fn over(self, lower: Layer) -> Layer {
        Layer {
            data_dir: self.data_dir.or(lower.data_dir),
            ssh_addr: self.ssh_addr.or(lower.ssh_addr),
            http_addr: self.http_addr.or(lower.http_addr),
            public_url: self.public_url.or(lower.public_url),
            redis_url: self.redis_url.or(lower.redis_url),
            redis_prefix: self.redis_prefix.or(lower.redis_prefix),
            redis_timeout: self.redis_timeout.or(lower.redis_timeout),
            redis_wait_replicas: self.redis_wait_replicas.or(lower.redis_wait_replicas),
            max_size: self.max_size.or(lower.max_size),
            default_ttl: self.default_ttl.or(lower.default_ttl),
            min_ttl: self.min_ttl.or(lower.min_ttl),
            max_ttl: self.max_ttl.or(lower.max_ttl),
            max_attempts: self.max_attempts.or(lower.max_attempts),
            argon2_memory: self.argon2_memory.or(lower.argon2_memory),
            argon2_iterations: self.argon2_iterations.or(lower.argon2_iterations),
            argon2_concurrency: self.argon2_concurrency.or(lower.argon2_concurrency),
            sweep_interval: self.sweep_interval.or(lower.sweep_interval),
            log_format: self.log_format.or(lower.log_format),
            metrics_addr: self.metrics_addr.or(lower.metrics_addr),
            shutdown_grace: self.shutdown_grace.or(lower.shutdown_grace),
            theme: self.theme.or(lower.theme),
            tui_idle_timeout: self.tui_idle_timeout.or(lower.tui_idle_timeout),
            tui_draft_budget: self.tui_draft_budget.or(lower.tui_draft_budget),
            ssh_host_key: self.ssh_host_key.or(lower.ssh_host_key),
            ssh_authorized_keys: self.ssh_authorized_keys.or(lower.ssh_authorized_keys),
            admin_keys: self.admin_keys.or(lower.admin_keys),
            ssh_allow_keyless: self.ssh_allow_keyless.or(lower.ssh_allow_keyless),
            ssh_max_connections: self.ssh_max_connections.or(lower.ssh_max_connections),
            ssh_max_connections_per_ip: self
                .ssh_max_connections_per_ip
                .or(lower.ssh_max_connections_per_ip),
            ssh_max_sessions_per_key: self
                .ssh_max_sessions_per_key
                .or(lower.ssh_max_sessions_per_key),
            ssh_uploads_per_minute: self.ssh_uploads_per_minute.or(lower.ssh_uploads_per_minute),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            trusted_proxies: self.trusted_proxies.or(lower.trusted_proxies),
            claims_per_minute: self.claims_per_minute.or(lower.claims_per_minute),
            claim_burst: self.claim_burst.or(lower.claim_burst),
            http_max_connections: self.http_max_connections.or(lower.http_max_connections),
            http_max_connections_per_client: self
                .http_max_connections_per_client
                .or(lower.http_max_connections_per_client),
            http_max_connections_per_proxy: self
                .http_max_connections_per_proxy
                .or(lower.http_max_connections_per_proxy),
            http_idle_timeout: self.http_idle_timeout.or(lower.http_idle_timeout),
            http_max_connection_age: self
                .http_max_connection_age
                .or(lower.http_max_connection_age),
            ssh_idle_timeout: self.ssh_idle_timeout.or(lower.ssh_idle_timeout),
            quota_shares_per_key: self.quota_shares_per_key.or(lower.quota_shares_per_key),
            quota_bytes_per_key: self.quota_bytes_per_key.or(lower.quota_bytes_per_key),
            quota_shares_per_address: self
                .quota_shares_per_address
                .or(lower.quota_shares_per_address),
            quota_bytes_per_address: self
                .quota_bytes_per_address
                .or(lower.quota_bytes_per_address),
            inbox_max_shares: self.inbox_max_shares.or(lower.inbox_max_shares),
            recipient_keys_url: self.recipient_keys_url.or(lower.recipient_keys_url),
            blob_url: self.blob_url.or(lower.blob_url),
            s3_endpoint: self.s3_endpoint.or(lower.s3_endpoint),
            s3_region: self.s3_region.or(lower.s3_region),
            s3_path_style: self.s3_path_style.or(lower.s3_path_style),
            s3_access_key_id: self.s3_access_key_id.or(lower.s3_access_key_id),
            s3_secret_access_key: self.s3_secret_access_key.or(lower.s3_secret_access_key),
            ssh_host_key_data: self.ssh_host_key_data.or(lower.ssh_host_key_data),
        }
    }

    pub fn from_toml_file(path: &Path) -> Result<Layer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{setting}: {source}")]
    Unit {
        setting: &'static str,
        source: UnitError,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Where share metadata lives.
#[derive(Clone)]
pub enum MetaBackend {
    Embedded,
    Redis {
        url: String,
        prefix: String,
        /// Replicas that must acknowledge a claim or password attempt (`WAIT`); 0 = none.
        wait_replicas: u32,
    },
}

/// A Redis URL may carry a password: `Debug` (and so any `Settings` that reaches a log) shows it
/// masked.
impl std::fmt::Debug for MetaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaBackend::Embedded => f.write_str("Embedded"),
            MetaBackend::Redis {
                url,
                prefix,
                wait_replicas,
            } => f
                .debug_struct("Redis")
                .field("url", &redact_url_credentials(url))
                .field("prefix", prefix)
                .field("wait_replicas", wait_replicas)
                .finish(),
        }
    }
}

impl MetaBackend {
    pub fn name(&self) -> &'static str {
        match self {
            MetaBackend::Embedded => "embedded",
            MetaBackend::Redis { .. } => "redis",
        }
    }
}

/// The effective configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub ssh_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub meta_backend: MetaBackend,
    /// Where encrypted share content lives.
    pub blob_backend: BlobBackend,
    /// Bound on each Redis command (connecting included).
    pub redis_timeout: Duration,
    pub policy: Policy,
    pub sweep_interval: Duration,
    pub log_format: LogFormat,
    /// Where `/metrics` is served; `None`: nowhere.
    pub metrics_addr: Option<SocketAddr>,
    /// How long work in flight may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    pub ssh: SshSettings,
    pub http: HttpSettings,
}

/// The SSH ingress: who may connect and how much.
#[derive(Clone, Debug)]
pub struct SshSettings {
    pub host_key: PathBuf,
    /// The host key itself, instead of the file at `host_key` (which is then never read).
    pub host_key_data: Option<Secret>,
    pub authorized_keys: Option<PathBuf>,
    /// Operators' keys (`admin …` commands, the operator screen).
    pub admin_keys: Option<PathBuf>,
    pub allow_keyless: bool,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_sessions_per_key: usize,
    pub uploads_per_minute: u32,
    /// The terminal UI closes a session idle this long.
    pub tui_idle_timeout: Duration,
    /// Bytes all terminal UI drafts together may hold.
    pub tui_draft_budget: u64,
    /// An upload with no data progress, or a connection with no session, is dropped after this.
    pub idle_timeout: Duration,
    /// `--to github:USER` reads `<this>/USER.keys` (no trailing slash).
    pub recipient_keys_url: String,
    /// The host clients type to reach this server (the public URL's host): `help` and the
    /// home page show `ssh [-p PORT] HOST` with it.
    pub public_host: String,
}

/// The host part of a public URL (`https://share.example:8443/x` → `share.example`; an IPv6
/// address keeps its brackets).
pub fn public_host(public_url: &str) -> String {
    let authority = public_url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(public_url);
    let authority = authority.split('/').next().unwrap_or(authority);
    match authority.strip_prefix('[') {
        Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or(v6)),
        None => authority.split(':').next().unwrap_or(authority).to_owned(),
    }
}

/// `None` for a zero duration (a timer that fires at once would make the setting useless).
fn nonzero(value: Duration) -> Option<Duration> {
    (!value.is_zero()).then_some(value)
}

impl Settings {
    /// Applies defaults to a merged layer and validates the result.
    pub fn resolve(layer: Layer) -> Result<Settings, ConfigError> {
        let public_url = layer
            .public_url
            .clone()
            .unwrap_or_else(|| "http://localhost:8080".into())
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "public-url must start with http:// or https:// (got {public_url:?})"
            )));
        }
        let expiry = Expiry::resolve(&layer)?;
        let max_attempts = layer.max_attempts.unwrap_or(5);
        if max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "max-attempts must be at least 1".into(),
            ));
        }
        let (meta_backend, redis_timeout) = resolve_store(&layer)?;
        let blob_backend = blob::resolve(&layer)?;
        let data_dir = layer
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./data"));
        let ssh = resolve_ssh(&layer, &data_dir, public_host(&public_url))?;
        let http = resolve_http(&layer, resolve_theme(layer.theme.as_deref())?)?;
        let (ssh_addr, http_addr) = resolve_addresses(&layer)?;
        Ok(Settings {
            data_dir,
            ssh_addr,
            http_addr,
            meta_backend,
            blob_backend,
            redis_timeout,
            policy: Policy {
                public_url,
                max_size: size("max-size", &layer.max_size, "256MiB")?,
                default_ttl: expiry.default,
                min_ttl: expiry.min,
                max_ttl: expiry.max,
                max_attempts,
                kdf_cost: resolve_kdf(&layer)?,
                kdf_concurrency: layer
                    .argon2_concurrency
                    .unwrap_or_else(crate::crypto::default_kdf_threads)
                    .max(1),
                kdf_wait: crate::crypto::DEFAULT_KDF_WAIT,
                orphan_grace: Duration::from_secs(3600),
                settle_window: redis_timeout.saturating_mul(SETTLE_TIMEOUTS),
                quota: resolve_quota(&layer)?,
                inline_max: crate::share::INLINE_MAX,
                inbox_max_shares: positive(
                    "inbox-max-shares",
                    layer.inbox_max_shares.map(|n| n as usize),
                    50,
                )? as u32,
            },
            sweep_interval: duration("sweep-interval", &layer.sweep_interval, "1m")?,
            log_format: layer.log_format.unwrap_or_default(),
            metrics_addr: layer.metrics_addr,
            // "0" is allowed: cut at once.
            shutdown_grace: duration("shutdown-grace", &layer.shutdown_grace, "30s")?,
            ssh,
            http,
        })
    }
}

/// A duration setting, or its default; the error names the setting.
fn duration(
    setting: &'static str,
    value: &Option<String>,
    default: &str,
) -> Result<Duration, ConfigError> {
    parse_duration(value.as_deref().unwrap_or(default))
        .map_err(|source| ConfigError::Unit { setting, source })
}

/// A size setting, or its default; the error names the setting.
fn size(setting: &'static str, value: &Option<String>, default: &str) -> Result<u64, ConfigError> {
    parse_size(value.as_deref().unwrap_or(default))
        .map_err(|source| ConfigError::Unit { setting, source })
}

/// A count that must be at least 1.
fn positive(
    setting: &'static str,
    value: Option<usize>,
    default: usize,
) -> Result<usize, ConfigError> {
    let value = value.unwrap_or(default);
    if value == 0 {
        return Err(ConfigError::Invalid(format!(
            "{setting} must be at least 1"
        )));
    }
    Ok(value)
}

/// A duration that must be above zero.
fn above_zero(
    setting: &'static str,
    value: &Option<String>,
    default: &str,
) -> Result<Duration, ConfigError> {
    nonzero(duration(setting, value, default)?)
        .ok_or_else(|| ConfigError::Invalid(format!("{setting} must be above 0")))
}

/// The expiries a sender may choose from, checked against each other and the floor.
struct Expiry {
    default: Duration,
    min: Duration,
    max: Duration,
}

impl Expiry {
    fn resolve(layer: &Layer) -> Result<Expiry, ConfigError> {
        let default = duration("default-ttl", &layer.default_ttl, "1d")?;
        let min = duration("min-ttl", &layer.min_ttl, &format_duration(MIN_TTL))?;
        let max = duration("max-ttl", &layer.max_ttl, "7d")?;
        if min < MIN_TTL_FLOOR {
            return Err(ConfigError::Invalid(format!(
                "min-ttl must be at least {} (got {}): a shorter expiry makes links dead on arrival",
                format_duration(MIN_TTL_FLOOR),
                format_duration(min)
            )));
        }
        for (setting, ttl) in [("default-ttl", default), ("max-ttl", max)] {
            if ttl < min {
                return Err(ConfigError::Invalid(format!(
                    "{setting} must be at least {} (min-ttl; got {}): a shorter expiry makes links dead on arrival",
                    format_duration(min),
                    format_duration(ttl)
                )));
            }
        }
        if default > max {
            return Err(ConfigError::Invalid(format!(
                "default-ttl ({}) is longer than max-ttl ({})",
                format_duration(default),
                format_duration(max)
            )));
        }
        Ok(Expiry { default, min, max })
    }
}

/// Argon2id's cost for password shares.
fn resolve_kdf(layer: &Layer) -> Result<KdfCost, ConfigError> {
    let memory = size("argon2-memory", &layer.argon2_memory, "64MiB")?;
    let memory_kib = u32::try_from(memory / 1024)
        .ok()
        .filter(|kib| (8..=4 * 1024 * 1024).contains(kib))
        .ok_or_else(|| ConfigError::Invalid("argon2-memory must be 8KiB..4GiB".into()))?;
    let iterations = layer.argon2_iterations.unwrap_or(3);
    if !(1..=64).contains(&iterations) {
        return Err(ConfigError::Invalid(
            "argon2-iterations must be 1..64".into(),
        ));
    }
    Ok(KdfCost {
        memory_kib,
        iterations,
        parallelism: 1,
    })
}

/// Where share metadata lives, and how long one Redis command may take.
fn resolve_store(layer: &Layer) -> Result<(MetaBackend, Duration), ConfigError> {
    let backend = match &layer.redis_url {
        Some(url) => MetaBackend::Redis {
            url: url.clone(),
            prefix: redis_prefix(layer)?,
            wait_replicas: layer.redis_wait_replicas.unwrap_or(0),
        },
        None => MetaBackend::Embedded,
    };
    // Milliseconds are accepted here only: sub-second Redis timeouts make sense, sub-second
    // TTLs do not.
    let timeout = match layer.redis_timeout.as_deref().map(str::trim) {
        Some(text) if text.ends_with("ms") && !text.ends_with("mms") => text
            .trim_end_matches("ms")
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| {
                ConfigError::Invalid(format!("redis-timeout: invalid duration {text:?}"))
            })?,
        other => duration("redis-timeout", &other.map(str::to_owned), "2s")?,
    };
    if timeout.is_zero() {
        return Err(ConfigError::Invalid(
            "redis-timeout must be more than 0".into(),
        ));
    }
    Ok((backend, timeout))
}

/// The Redis key prefix: braces would pick the hash slot of every key on a Redis Cluster and
/// break the layout that keeps each share's keys in one slot.
fn redis_prefix(layer: &Layer) -> Result<String, ConfigError> {
    let prefix = layer.redis_prefix.clone().unwrap_or_else(|| "ots:".into());
    if prefix.contains(['{', '}']) {
        return Err(ConfigError::Invalid(
            "redis-prefix may not contain { or }".into(),
        ));
    }
    Ok(prefix)
}

/// Who may connect over SSH, and what one client may hold.
fn resolve_ssh(
    layer: &Layer,
    data_dir: &Path,
    public_host: String,
) -> Result<SshSettings, ConfigError> {
    if layer.ssh_authorized_keys.is_some() && layer.ssh_allow_keyless == Some(true) {
        return Err(ConfigError::Invalid(
            "ssh-allow-keyless would let anyone in despite ssh-authorized-keys: \
             choose one"
                .into(),
        ));
    }
    if layer.ssh_host_key.is_some() && layer.ssh_host_key_data.is_some() {
        return Err(ConfigError::Invalid(
            "ssh-host-key and ssh-host-key-data both name a host key: choose one".into(),
        ));
    }
    Ok(SshSettings {
        host_key: layer
            .ssh_host_key
            .clone()
            .unwrap_or_else(|| data_dir.join("ssh_host_ed25519_key")),
        host_key_data: layer.ssh_host_key_data.clone(),
        authorized_keys: layer.ssh_authorized_keys.clone(),
        admin_keys: layer.admin_keys.clone(),
        allow_keyless: layer.ssh_allow_keyless.unwrap_or(false),
        max_connections: positive("ssh-max-connections", layer.ssh_max_connections, 512)?,
        max_connections_per_ip: positive(
            "ssh-max-connections-per-ip",
            layer.ssh_max_connections_per_ip,
            16,
        )?,
        max_sessions_per_key: positive(
            "ssh-max-sessions-per-key",
            layer.ssh_max_sessions_per_key,
            8,
        )?,
        tui_idle_timeout: duration("tui-idle-timeout", &layer.tui_idle_timeout, "15m")?,
        tui_draft_budget: size("tui-draft-budget", &layer.tui_draft_budget, "32MiB")?,
        idle_timeout: above_zero("ssh-idle-timeout", &layer.ssh_idle_timeout, "60s")?,
        uploads_per_minute: positive(
            "ssh-uploads-per-minute",
            layer.ssh_uploads_per_minute.map(|n| n as usize),
            60,
        )? as u32,
        recipient_keys_url: recipient_keys_url(layer)?,
        public_host,
    })
}

/// `recipient-keys-url`: an http(s) base URL, without a trailing slash.
fn recipient_keys_url(layer: &Layer) -> Result<String, ConfigError> {
    let url = layer
        .recipient_keys_url
        .as_deref()
        .unwrap_or("https://github.com")
        .trim_end_matches('/')
        .to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError::Invalid(format!(
            "recipient-keys-url must start with http:// or https:// (got {url:?})"
        )));
    }
    Ok(url)
}

/// The built-in palette, or the operator's theme file.
fn resolve_theme(path: Option<&Path>) -> Result<&'static crate::theme::Theme, ConfigError> {
    let Some(path) = path else {
        return Ok(crate::theme::Theme::industrial_urgency());
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let theme = crate::theme::Theme::parse(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    // One theme per process, read once at start-up: leaking it is the simple way to hand
    // `&'static` to every session.
    Ok(&*Box::leak(Box::new(theme)))
}

/// TLS, proxies, claim rate and connection limits of the HTTP side.
fn resolve_http(
    layer: &Layer,
    theme: &'static crate::theme::Theme,
) -> Result<HttpSettings, ConfigError> {
    let mut http = http::resolve(
        layer.tls_cert.clone(),
        layer.tls_key.clone(),
        layer.trusted_proxies.clone(),
        layer.claims_per_minute,
        layer.claim_burst,
    )?;
    http.theme = theme;
    http.max_connections = positive("http-max-connections", layer.http_max_connections, 4096)?;
    http.max_connections_per_client = positive(
        "http-max-connections-per-client",
        layer.http_max_connections_per_client,
        64,
    )?;
    http.max_connections_per_proxy = positive(
        "http-max-connections-per-proxy",
        layer.http_max_connections_per_proxy,
        1024,
    )?;
    http.idle_timeout = above_zero("http-idle-timeout", &layer.http_idle_timeout, "30s")?;
    http.max_connection_age = above_zero(
        "http-max-connection-age",
        &layer.http_max_connection_age,
        "1h",
    )?;
    Ok(http)
}

/// Live shares and bytes one key and one address may hold.
fn resolve_quota(layer: &Layer) -> Result<Quota, ConfigError> {
    Ok(Quota {
        shares_per_key: positive(
            "quota-shares-per-key",
            layer.quota_shares_per_key.map(|n| n as usize),
            100,
        )? as u32,
        bytes_per_key: size("quota-bytes-per-key", &layer.quota_bytes_per_key, "1GiB")?,
        shares_per_address: positive(
            "quota-shares-per-address",
            layer.quota_shares_per_address.map(|n| n as usize),
            100,
        )? as u32,
        bytes_per_address: size(
            "quota-bytes-per-address",
            &layer.quota_bytes_per_address,
            "1GiB",
        )?,
    })
}

/// The SSH and HTTP listen addresses; metrics never share either.
fn resolve_addresses(layer: &Layer) -> Result<(SocketAddr, SocketAddr), ConfigError> {
    let ssh_addr = layer
        .ssh_addr
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 2222)));
    let http_addr = layer
        .http_addr
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 8080)));
    if let Some(metrics) = layer.metrics_addr
        && metrics.port() != 0
        && (metrics == http_addr || metrics == ssh_addr)
    {
        return Err(ConfigError::Invalid(format!(
            "metrics-addr ({metrics}) must differ from http-addr and ssh-addr: \
             metrics are never served on a public port"
        )));
    }
    Ok((ssh_addr, http_addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = Settings::resolve(Layer::default()).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.ssh_addr.port(), 2222);
        assert_eq!(s.http_addr.port(), 8080);
        assert!(matches!(s.meta_backend, MetaBackend::Embedded));
        assert_eq!(s.policy.max_size, 256 << 20);
        assert_eq!(s.policy.default_ttl, Duration::from_secs(86_400));
        assert_eq!(s.policy.max_attempts, 5);
        assert_eq!(s.policy.kdf_cost, KdfCost::default());
        assert_eq!(s.metrics_addr, None, "metrics are off unless asked for");
        assert_eq!(s.shutdown_grace, Duration::from_secs(30));
    }

    #[test]
    fn metrics_and_shutdown_settings_come_from_toml_and_a_public_port_is_refused() {
        let layer: Layer =
            toml::from_str("metrics-addr = \"127.0.0.1:9090\"\nshutdown-grace = \"5s\"").unwrap();
        let s = Settings::resolve(layer).unwrap();
        assert_eq!(s.metrics_addr, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(s.shutdown_grace, Duration::from_secs(5));
        let same = Layer {
            metrics_addr: Some("0.0.0.0:8080".parse().unwrap()),
            ..Layer::default()
        };
        let err = Settings::resolve(same).unwrap_err().to_string();
        assert!(err.contains("metrics-addr"), "{err}");
        let bad = Layer {
            shutdown_grace: Some("soon".into()),
            ..Layer::default()
        };
        let err = Settings::resolve(bad).unwrap_err().to_string();
        assert!(err.contains("shutdown-grace"), "{err}");
    }

    #[test]
    fn the_redis_timeout_takes_milliseconds_and_sets_the_settle_window() {
        let s = Settings::resolve(Layer::default()).unwrap();
        assert_eq!(s.redis_timeout, Duration::from_secs(2));
        assert_eq!(s.policy.settle_window, Duration::from_secs(10));
        let short = Settings::resolve(Layer {
            redis_timeout: Some("300ms".into()),
            ..Layer::default()
        })
        .unwrap();
        assert_eq!(short.redis_timeout, Duration::from_millis(300));
        assert_eq!(short.policy.settle_window, Duration::from_millis(1500));
        for bad in ["0ms", "fastms", "soon"] {
            let err = Settings::resolve(Layer {
                redis_timeout: Some(bad.into()),
                ..Layer::default()
            })
            .unwrap_err()
            .to_string();
            assert!(err.contains("redis-timeout"), "{bad}: {err}");
        }
    }

    #[test]
    fn upper_layers_win_field_by_field() {
        let file = Layer {
            max_size: Some("1MiB".into()),
            max_attempts: Some(3),
            ..Layer::default()
        };
        let flags = Layer {
            max_size: Some("2MiB".into()),
            ..Layer::default()
        };
        let s = Settings::resolve(flags.over(file)).unwrap();
        assert_eq!(s.policy.max_size, 2 << 20);
        assert_eq!(s.policy.max_attempts, 3);
    }

    #[test]
    fn toml_uses_the_flag_names_and_rejects_unknown_keys() {
        let layer: Layer =
            toml::from_str("max-size = \"1MiB\"\nredis-url = \"redis://x\"").unwrap();
        assert_eq!(layer.max_size.as_deref(), Some("1MiB"));
        assert!(toml::from_str::<Layer>("max_sise = 1").is_err());
    }

    #[test]
    fn an_operator_theme_file_replaces_the_palette_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("calm.toml");
        let builtin = include_str!("../../themes/industrial-urgency.toml");
        std::fs::write(&file, builtin.replace("#ff5f15", "#3366ff")).unwrap();
        let s = Settings::resolve(Layer {
            theme: Some(file.clone()),
            ..Layer::default()
        })
        .unwrap();
        assert_eq!(s.http.theme.colors.accent.hex(), "#3366ff");
        std::fs::write(&file, "name = \"broken\"").unwrap();
        let err = Settings::resolve(Layer {
            theme: Some(file),
            ..Layer::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("calm.toml"), "{err}");
    }

    #[test]
    fn an_allow_list_and_keyless_access_together_are_refused() {
        let both = Layer {
            ssh_authorized_keys: Some(PathBuf::from("keys")),
            ssh_allow_keyless: Some(true),
            ..Layer::default()
        };
        let err = Settings::resolve(both).unwrap_err().to_string();
        assert!(err.contains("ssh-allow-keyless"), "{err}");
    }

    #[test]
    fn contradictions_are_refused_with_a_reason() {
        let bad = Layer {
            default_ttl: Some("30d".into()),
            ..Layer::default()
        };
        let err = Settings::resolve(bad).unwrap_err().to_string();
        assert!(err.contains("default-ttl"), "{err}");
        let bad = Layer {
            public_url: Some("share.example".into()),
            ..Layer::default()
        };
        assert!(Settings::resolve(bad).is_err());
    }
}
