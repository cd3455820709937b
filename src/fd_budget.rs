//! The process's file-descriptor budget. Every connection costs descriptors (an SSH connection
//! its socket, a duplicate for closing it ourselves, and a temp blob per upload channel; an HTTP
//! connection its socket and the blob it streams), so the connection caps are only real if they
//! fit under the open-files limit. Under the common soft limit of 1024 they do not: idle
//! connections would exhaust descriptors and the listeners would fail to accept.
//!
//! At start-up the soft limit is raised to the hard one (through `rlimit`, no `unsafe`), and if
//! the configured caps still do not fit with headroom they are lowered, with one log line that
//! says what to raise. It never raises a cap.

use tracing::{info, warn};

/// Descriptors kept free for the stores, the Redis connection, logs, the blob sweeper and
/// whatever a library opens.
const HEADROOM: u64 = 256;
/// Per SSH connection: its socket, the duplicate kept to close it, and one temp blob for each
/// session channel it may have open.
const PER_SSH_CONNECTION: u64 = 2 + crate::ssh::MAX_CHANNELS_PER_CONNECTION as u64;
/// Per HTTP connection: its socket and the blob of the download it serves.
const PER_HTTP_CONNECTION: u64 = 2;
/// Linux refuses a soft limit above `fs.nr_open` (1048576 by default) even when the hard limit
/// is "unlimited".
const MOST_WORTH_ASKING: u64 = 1 << 20;

/// The connection caps the budget has to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub ssh: usize,
    pub http: usize,
}

/// Raises the soft open-files limit as far as the hard one allows and returns the caps that fit
/// under it (the given ones, or lowered ones with a warning).
pub fn fit(caps: Caps) -> Caps {
    let limit = match rlimit::increase_nofile_limit(MOST_WORTH_ASKING) {
        Ok(limit) => limit,
        Err(err) => {
            warn!(error = %err, "could not read or raise the open-files limit; caps unchanged");
            return caps;
        }
    };
    let fitted = fit_within(caps, limit);
    if fitted == caps {
        info!(
            open_files = limit,
            ssh = caps.ssh,
            http = caps.http,
            "connection caps fit the open-files limit"
        );
    } else {
        warn!(
            open_files = limit,
            needed = needed(caps),
            ssh_max_connections = fitted.ssh,
            http_max_connections = fitted.http,
            "the open-files limit is too low for ssh-max-connections={} and \
             http-max-connections={}: lowered to {} and {}; raise the hard limit \
             (ulimit -Hn, systemd LimitNOFILE=, docker --ulimit nofile=) to keep them",
            caps.ssh,
            caps.http,
            fitted.ssh,
            fitted.http,
        );
    }
    fitted
}

fn needed(caps: Caps) -> u64 {
    HEADROOM + caps.ssh as u64 * PER_SSH_CONNECTION + caps.http as u64 * PER_HTTP_CONNECTION
}

/// The caps scaled down together (never below one connection each) until they fit `limit`.
fn fit_within(caps: Caps, limit: u64) -> Caps {
    let need = needed(caps);
    if need <= limit {
        return caps;
    }
    let room = limit.saturating_sub(HEADROOM);
    let scale = |cap: usize| ((cap as u128 * room as u128 / need as u128) as usize).max(1);
    Caps {
        ssh: scale(caps.ssh),
        http: scale(caps.http),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_that_fit_are_kept_and_ones_that_do_not_are_scaled_under_the_limit() {
        let defaults = Caps {
            ssh: 512,
            http: 4096,
        };
        assert_eq!(fit_within(defaults, 1 << 20), defaults);
        let lowered = fit_within(defaults, 1024);
        assert!(lowered.ssh < 512 && lowered.http < 4096, "{lowered:?}");
        assert!(
            needed(lowered) <= 1024,
            "{lowered:?} needs {}",
            needed(lowered)
        );
        let tiny = fit_within(defaults, 10);
        assert_eq!(tiny, Caps { ssh: 1, http: 1 });
    }
}
