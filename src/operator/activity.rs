//! [`ActivityLog`]: turns share lifecycle events into [`Activity`] records and writes them to the
//! operator store off the request path. After the first event of a quiet spell the writer lingers
//! [`LINGER`] and then writes everything queued in one store call, so a busy server pays one
//! activity write (one Redis pipeline, one redb job) every quarter second, not one per claim.
//! A full queue (a store far slower than the traffic) drops
//! events and says so, because stats are not worth slowing a claim for; events still queued
//! when the process exits are lost (at most [`LINGER`] of them).

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::{Activity, ActivityKind, OperatorStore};
use crate::client_group::client_group;
use crate::share::{ShareEvent, ShareObserver, now_millis};

const QUEUE: usize = 16 * 1024;
const BATCH: usize = 4096;
/// How long the writer collects events before one write.
const LINGER: std::time::Duration = std::time::Duration::from_millis(250);

pub struct ActivityLog {
    queue: mpsc::Sender<Activity>,
}

impl ActivityLog {
    /// Starts the writer task (call inside the runtime); it ends when the log is dropped.
    pub fn start(store: Arc<dyn OperatorStore>) -> Arc<ActivityLog> {
        let (queue, mut incoming) = mpsc::channel::<Activity>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while incoming.recv_many(&mut batch, BATCH).await > 0 {
                tokio::time::sleep(LINGER).await;
                while batch.len() < BATCH {
                    match incoming.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
                if let Err(err) = store.record_activity(&batch).await {
                    warn!(error = %err, events = batch.len(), "could not record share activity");
                }
                batch.clear();
            }
        });
        Arc::new(ActivityLog { queue })
    }

    fn push(&self, activity: Activity) {
        if self.queue.try_send(activity).is_err() {
            debug!("activity queue full; event dropped");
        }
    }
}

impl ShareObserver for ActivityLog {
    fn observe(&self, event: &ShareEvent<'_>) {
        let at = now_millis();
        let simple = |kind| Activity {
            at,
            kind,
            count: 1,
            bytes: 0,
            owner: None,
            client: None,
        };
        let activity = match *event {
            ShareEvent::Created {
                owner,
                client,
                bytes,
            } => Activity {
                bytes,
                owner: owner.map(|o| o.as_str().to_owned()),
                client: client.map(group_label),
                ..simple(ActivityKind::Created)
            },
            ShareEvent::Claimed { .. } => simple(ActivityKind::Claimed),
            // Bytes served are process metrics, not operator activity.
            ShareEvent::Delivered { .. } => return,
            ShareEvent::Locked => simple(ActivityKind::Locked),
            ShareEvent::Revoked => simple(ActivityKind::Revoked),
            ShareEvent::TakenDown => simple(ActivityKind::TakenDown),
            ShareEvent::Expired { count } => Activity {
                count: count as u64,
                ..simple(ActivityKind::Expired)
            },
        };
        self.push(activity);
    }
}

/// How a client address is shown and counted: an IPv4 address as is, IPv6 as its /64 — the
/// form `admin ban` takes back.
pub fn group_label(ip: std::net::IpAddr) -> String {
    match client_group(ip) {
        std::net::IpAddr::V6(v6) => format!("{v6}/64"),
        v4 => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_labels_are_what_a_ban_takes() {
        assert_eq!(group_label("192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(
            group_label("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            group_label("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7"
        );
    }
}
