//! How the Redis store reaches Redis: one server (`redis://`, `rediss://`, `redis+unix://`), a
//! Redis Cluster (`redis+cluster://` or `rediss+cluster://` with a comma-separated list of seed
//! nodes), or the master a Sentinel group names (`redis+sentinel://` or
//! `rediss+sentinel://`, sentinels comma-separated, the master's name as the path). ACL user and
//! password come from the URL's user info, as for a plain `redis://` URL; TLS from the `s`.
//!
//! What it guards: a Sentinel connection always talks to the server Sentinel currently names as
//! master. After an error that means the server went away or is no longer master (`READONLY`
//! after a failover), the next command asks Sentinel again — a state change is never sent to a
//! demoted master twice over. Commands are never retried here: a change that got no answer is
//! settled through the share's ledger (`MetaStore::settle`), which only the caller can do.
//!
//! What it does not do: route multi-key commands (the store's key layout puts every key of one
//! script in one hash slot, see `redis.rs`), or keep credentials anywhere but the client objects.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, ErrorKind, IntoConnectionInfo, Pipeline,
    RedisError, RedisFuture, RedisResult, ServerErrorKind, TlsMode, Value,
};

use crate::share::StoreError;

/// Where the settings say Redis is, parsed from the URL.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// One server: the URL as the `redis` crate reads it.
    Single(String),
    /// Seed nodes of a Cluster, each as a `redis://` (or `rediss://`) URL with the credentials.
    Cluster(Vec<String>),
    /// Sentinels and the name of the master they watch.
    Sentinel(SentinelTarget),
}

#[derive(PartialEq, Eq)]
pub(super) struct SentinelTarget {
    /// Each sentinel as a `redis://` (or `rediss://`) URL without credentials.
    pub(super) sentinels: Vec<String>,
    pub(super) master: String,
    pub(super) db: i64,
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    pub(super) tls: bool,
}

/// Credentials never reach a log through `Debug`.
impl std::fmt::Debug for SentinelTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelTarget")
            .field("sentinels", &self.sentinels)
            .field("master", &self.master)
            .field("db", &self.db)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// Parses a Redis URL into a [`Target`]. Errors name what is wrong, never the credentials.
pub(super) fn parse_target(url: &str) -> Result<Target, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(
            "a Redis URL starts with redis://, rediss://, redis+cluster:// or redis+sentinel://"
                .into(),
        );
    };
    let (node_scheme, kind) = match scheme {
        "redis+cluster" => ("redis", "cluster"),
        "rediss+cluster" => ("rediss", "cluster"),
        "redis+sentinel" => ("redis", "sentinel"),
        "rediss+sentinel" => ("rediss", "sentinel"),
        _ => return Ok(Target::Single(url.to_owned())),
    };
    // user info ends at the last `@` before the path, as in `redact_url_credentials`.
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let hosts: Vec<&str> = hosts.split(',').filter(|h| !h.is_empty()).collect();
    if hosts.is_empty() {
        return Err(format!("a {kind} URL names at least one host:port"));
    }
    let with_user = |host: &str| match userinfo {
        Some(user) => format!("{node_scheme}://{user}@{host}/"),
        None => format!("{node_scheme}://{host}/"),
    };
    if kind == "cluster" {
        if !path.is_empty() {
            return Err("a Cluster has one database: the URL takes no path".into());
        }
        return Ok(Target::Cluster(
            hosts.iter().map(|h| with_user(h)).collect(),
        ));
    }
    let mut parts = path.splitn(2, '/');
    let master = parts.next().unwrap_or_default().to_owned();
    if master.is_empty() {
        return Err(
            "a Sentinel URL names the master after the hosts: redis+sentinel://host:26379/mymaster"
                .into(),
        );
    }
    let db = match parts.next().filter(|d| !d.is_empty()) {
        Some(db) => db
            .parse()
            .map_err(|_| "the database after the master's name is a number".to_string())?,
        None => 0,
    };
    // The credentials are parsed the way the crate parses any URL (percent-decoding included).
    let info = with_user(hosts[0])
        .into_connection_info()
        .map_err(|e| format!("invalid Sentinel URL ({:?})", e.kind()))?;
    let settings = info.redis_settings();
    Ok(Target::Sentinel(SentinelTarget {
        sentinels: hosts
            .iter()
            .map(|h| format!("{node_scheme}://{h}/"))
            .collect(),
        master,
        db,
        username: settings.username().map(str::to_owned),
        password: settings.password().map(str::to_owned),
        tls: node_scheme == "rediss",
    }))
}

/// A connection to whichever kind of deployment the URL names; cheap to clone (all clones share
/// the underlying multiplexed connections).
#[derive(Clone)]
pub(super) enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(SentinelConn),
}

impl RedisConn {
    /// Connects, each attempt and each later command bounded by `timeout`.
    pub(super) async fn connect(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let target = parse_target(url).map_err(StoreError::Unavailable)?;
        let invalid =
            |e: RedisError| StoreError::Unavailable(format!("invalid Redis URL ({:?})", e.kind()));
        let connecting = async {
            match target {
                Target::Single(url) => {
                    let client = redis::Client::open(url.as_str()).map_err(invalid)?;
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(timeout))
                        .set_response_timeout(Some(timeout))
                        .set_number_of_retries(1)
                        .set_max_delay(Duration::from_millis(500));
                    ConnectionManager::new_with_config(client, config)
                        .await
                        .map(RedisConn::Single)
                        .map_err(super::redis::unavailable)
                }
                Target::Cluster(nodes) => {
                    // Retries cover redirects (MOVED/ASK after a resharding or failover) and
                    // reconnects; a repeated state change is answered "repeat" by its script
                    // (the ledger knows the op), so a retry never reports a wrong outcome.
                    let client = ClusterClientBuilder::new(nodes)
                        .connection_timeout(timeout)
                        .response_timeout(timeout)
                        .retries(2)
                        .max_retry_wait(500)
                        .build()
                        .map_err(invalid)?;
                    client
                        .get_async_connection()
                        .await
                        .map(RedisConn::Cluster)
                        .map_err(super::redis::unavailable)
                }
                Target::Sentinel(target) => {
                    let conn = SentinelConn::new(&target, timeout).map_err(invalid)?;
                    // Fails now if no sentinel names a reachable master.
                    conn.current().await.map_err(super::redis::unavailable)?;
                    Ok(RedisConn::Sentinel(conn))
                }
            }
        };
        tokio::time::timeout(timeout * 2, connecting)
            .await
            .map_err(|_| StoreError::Unavailable("timed out connecting to Redis".into()))?
    }

    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, RedisConn::Cluster(_))
    }

    /// `WAIT replicas timeout` on the master that holds `key` (after a write of `key` on this
    /// connection): how many replicas acknowledged every write sent before it.
    pub(super) async fn wait_for_replicas(
        &self,
        key: &str,
        replicas: u32,
        timeout: Duration,
    ) -> RedisResult<u32> {
        let mut wait = redis::cmd("WAIT");
        wait.arg(replicas).arg(timeout.as_millis() as u64);
        let acked: i64 = match self {
            RedisConn::Cluster(conn) => {
                let route = Route::with_key(key.as_bytes(), SlotAddr::Master);
                let value = conn
                    .clone()
                    .route_command(
                        wait,
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)),
                    )
                    .await?;
                redis::from_redis_value(value)?
            }
            other => wait.query_async(&mut other.clone()).await?,
        };
        Ok(u32::try_from(acked).unwrap_or(0))
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(conn) => conn.req_packed_command(cmd),
            RedisConn::Cluster(conn) => conn.req_packed_command(cmd),
            RedisConn::Sentinel(conn) => Box::pin(async move {
                let mut current = conn.current().await?;
                let reply = current.req_packed_command(cmd).await;
                conn.after(&reply);
                reply
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
            RedisConn::Sentinel(conn) => Box::pin(async move {
                let mut current = conn.current().await?;
                let reply = current.req_packed_commands(pipeline, offset, count).await;
                conn.after(&reply);
                reply
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(conn) => conn.get_db(),
            RedisConn::Cluster(conn) => conn.get_db(),
            RedisConn::Sentinel(conn) => conn.db,
        }
    }
}

/// The master Sentinel names, connected lazily and asked for again after any error that says
/// the connection or the master's role is gone.
#[derive(Clone)]
pub(super) struct SentinelConn {
    client: Arc<tokio::sync::Mutex<SentinelClient>>,
    current: Arc<Mutex<Option<MultiplexedConnection>>>,
    config: AsyncConnectionConfig,
    timeout: Duration,
    db: i64,
}

impl SentinelConn {
    fn new(target: &SentinelTarget, timeout: Duration) -> RedisResult<Self> {
        let sentinels = target
            .sentinels
            .iter()
            .map(|url| Ok(url.as_str().into_connection_info()?.addr().clone()))
            .collect::<RedisResult<Vec<ConnectionAddr>>>()?;
        let mut builder =
            SentinelClientBuilder::new(sentinels, &target.master, SentinelServerType::Master)?
                .set_client_to_redis_db(target.db);
        if let Some(user) = &target.username {
            builder = builder.set_client_to_redis_username(user);
        }
        if let Some(password) = &target.password {
            builder = builder.set_client_to_redis_password(password);
        }
        if target.tls {
            builder = builder
                .set_client_to_redis_tls_mode(TlsMode::Secure)
                .set_client_to_sentinel_tls_mode(TlsMode::Secure);
        }
        Ok(Self {
            client: Arc::new(tokio::sync::Mutex::new(builder.build()?)),
            current: Arc::new(Mutex::new(None)),
            config: AsyncConnectionConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout)),
            timeout,
            db: target.db,
        })
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection to the master, asking Sentinel (which checks the server's `ROLE`) when
    /// there is none.
    async fn current(&self) -> RedisResult<MultiplexedConnection> {
        if let Some(conn) = self.slot().clone() {
            return Ok(conn);
        }
        let mut client = self.client.lock().await;
        // Another caller may have connected while this one waited for the lock.
        if let Some(conn) = self.slot().clone() {
            return Ok(conn);
        }
        let conn = tokio::time::timeout(
            self.timeout,
            client.get_async_connection_with_config(&self.config),
        )
        .await
        .map_err(|_| {
            RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "asking Sentinel for the master timed out",
            ))
        })??;
        *self.slot() = Some(conn.clone());
        Ok(conn)
    }

    /// Forgets the connection after an error that means it no longer reaches a master.
    fn after<T>(&self, reply: &RedisResult<T>) {
        if let Err(err) = reply
            && master_gone(err)
        {
            *self.slot() = None;
        }
    }
}

/// Errors after which the server behind a connection may no longer be the master.
fn master_gone(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_timeout()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                ServerErrorKind::ReadOnly
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::BusyLoading
            )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_url_is_one_server() {
        for url in [
            "redis://127.0.0.1:6379/0",
            "rediss://u:p@h/",
            "redis+unix:///s.sock",
        ] {
            assert_eq!(parse_target(url), Ok(Target::Single(url.into())));
        }
    }

    #[test]
    fn a_cluster_url_lists_seed_nodes_with_their_credentials_and_tls() {
        assert_eq!(
            parse_target("rediss+cluster://app:pw@a:7000,b:7001"),
            Ok(Target::Cluster(vec![
                "rediss://app:pw@a:7000/".into(),
                "rediss://app:pw@b:7001/".into()
            ]))
        );
        assert!(parse_target("redis+cluster://a:7000/3").is_err());
        assert!(parse_target("redis+cluster://").is_err());
    }

    #[test]
    fn a_sentinel_url_names_sentinels_master_database_and_credentials() {
        let Ok(Target::Sentinel(s)) =
            parse_target("redis+sentinel://app:p%40ss@s1:26379,s2:26380/mymaster/2")
        else {
            panic!("not a sentinel target");
        };
        assert_eq!(s.sentinels, ["redis://s1:26379/", "redis://s2:26380/"]);
        assert_eq!(s.master, "mymaster");
        assert_eq!(s.db, 2);
        assert_eq!(s.username.as_deref(), Some("app"));
        assert_eq!(s.password.as_deref(), Some("p@ss"));
        assert!(!s.tls);
        assert!(!format!("{s:?}").contains("p@ss"));
        assert!(parse_target("redis+sentinel://s1:26379").is_err());
        assert!(parse_target("redis+sentinel://s1:26379/m/x").is_err());
    }
}
