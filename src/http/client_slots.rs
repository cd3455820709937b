//! The per-client cap on HTTP connections, and what it counts behind a trusted proxy.
//!
//! A direct client is counted at accept, per client group (an IPv4 address, an IPv6 /64), before
//! a byte of it is read. Behind `--trusted-proxies` every connection comes from the proxy, so
//! counting connections would cap the proxy (and every client behind it) at one client's share;
//! instead a proxy address gets its own, larger connection cap, and the per-client cap applies
//! to each *forwarded* client's requests in flight ([`forwarded_client_cap`]): a request over it
//! is answered 503 at once, before any handler runs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::debug;

use super::client_ip::client_ip;
use super::error::{Audience, Problem};
use super::held_body::HeldBody;
use super::router::AppState;

/// Counts what each client group holds open; a slot gives its count back when dropped.
#[derive(Clone)]
pub struct ClientSlots {
    limit: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

pub struct ClientSlot {
    slots: ClientSlots,
    client: IpAddr,
}

impl ClientSlots {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    /// A slot for `ip`'s client group, or `None` when it holds `limit` already.
    pub fn take(&self, ip: IpAddr) -> Option<ClientSlot> {
        let client = crate::client_group::client_group(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(client).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// Requests that came through a trusted proxy take a slot for the forwarded client, held until
/// the response body ends; other requests pass untouched (their connection holds the slot).
pub(super) async fn forwarded_client_cap(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !state.trusted_proxies.iter().any(|n| n.contains(peer.ip())) {
        return next.run(request).await;
    }
    let client = client_ip(peer, request.headers(), &state.trusted_proxies);
    let Some(slot) = state.forwarded_slots.take(client) else {
        state
            .refusals
            .count(crate::refusals::Reason::HttpConnections);
        debug!("per-client request cap reached behind a trusted proxy; refusing a request");
        return Problem::busy().respond(Audience::of(request.headers()));
    };
    next.run(request)
        .await
        .map(|body| Body::new(HeldBody::new(body, slot)))
}

#[cfg(test)]
mod tests {
    use super::ClientSlots;

    #[test]
    fn a_client_gets_at_most_its_share_of_slots_and_gets_them_back() {
        let slots = ClientSlots::new(2);
        let ip = "2001:db8::1".parse().unwrap();
        let same_64 = "2001:db8::2".parse().unwrap();
        let a = slots.take(ip).unwrap();
        let _b = slots.take(same_64).unwrap();
        assert!(slots.take(ip).is_none());
        assert!(slots.take("192.0.2.1".parse().unwrap()).is_some());
        drop(a);
        assert!(slots.take(same_64).is_some());
    }
}
