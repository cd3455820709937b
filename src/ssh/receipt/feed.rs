//! `watch`'s feed: successive reads of a sender's shares (`Shares::list`) turned into receipt
//! events — `armed` for a share that appeared, then the word of its [`Ending`] when its state
//! changes. Pure: the channel loop reads, this decides what to print.
//!
//! The first read announces only the shares armed then (so a script sees the starting state);
//! shares that had already ended are followed silently. A share armed before and now past its
//! expiry, or gone from the list, is reported `expired` only after one more read still does not
//! show it in another state: the list is read without a lock, and a share gone from one read is
//! not proof on its own. A share that had already ended leaves the list at its expiry without
//! a line: its ending was said.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::Ending;
use crate::crypto::Kind;
use crate::share::{Handle, Millis, ShareStatus};
use crate::units::format_size;
use crate::utc::{rfc3339, utc_seconds};

const ARMED: &str = "armed";
const EXPIRED: &str = "expired";

/// One receipt event: one line of `watch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `armed`, or an ending's word (`opened`, `revoked`, `removed`, `locked`, `expired`).
    pub what: &'static str,
    pub id: Handle,
    pub kind: Kind,
    pub stored_bytes: u64,
    /// When it happened (the store's time; for `locked`, when it was seen).
    pub at: Millis,
    pub expires_at: Millis,
}

/// `--json`: the keys scripts may rely on, in this order.
#[derive(Serialize)]
struct EventJson<'a> {
    event: &'a str,
    id: &'a str,
    kind: &'a str,
    stored_bytes: u64,
    at: String,
    expires_at: String,
}

impl Event {
    /// `2026-11-23 09:34:40 UTC  opened   0a1b2c3d4e  text  1.2 KiB`
    pub fn text_line(&self) -> String {
        format!(
            "{}  {:<7}  {}  {}  {}\n",
            utc_seconds(self.at),
            self.what,
            self.id,
            self.kind.as_str(),
            format_size(self.stored_bytes)
        )
    }

    /// One JSON object on one line.
    pub fn json_line(&self) -> String {
        let json = EventJson {
            event: self.what,
            id: self.id.as_str(),
            kind: self.kind.as_str(),
            stored_bytes: self.stored_bytes,
            at: rfc3339(self.at),
            expires_at: rfc3339(self.expires_at),
        };
        // Plain strings and numbers: serialising cannot fail.
        let mut line = serde_json::to_string(&json).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// What the feed last said about each share it follows.
#[derive(Debug, Default)]
pub struct Feed {
    followed: HashMap<Handle, Followed>,
}

#[derive(Debug)]
struct Followed {
    /// The share as last read.
    status: ShareStatus,
    /// The word last printed for it (or that it had at the first read).
    said: &'static str,
    /// Armed, and the last read showed it past its expiry or not at all: the next such read
    /// says `expired`.
    expiry_due: bool,
}

impl Feed {
    /// The feed after the first read, and its lines: one `armed` per share armed now.
    pub fn start(shares: &[ShareStatus], now: Millis) -> (Feed, Vec<Event>) {
        let mut feed = Feed::default();
        let events = feed.read(shares, now, true);
        (feed, events)
    }

    /// The lines a later read calls for.
    pub fn next(&mut self, shares: &[ShareStatus], now: Millis) -> Vec<Event> {
        self.read(shares, now, false)
    }

    fn read(&mut self, shares: &[ShareStatus], now: Millis, first: bool) -> Vec<Event> {
        let mut events = Vec::new();
        let mut listed = HashSet::new();
        for share in shares {
            listed.insert(share.handle.clone());
            // Armed past its expiry: the sweeper has not removed it yet, but it is over.
            let word = (!share.is_expired(now)).then(|| share.state.label());
            let Some(followed) = self.followed.get_mut(&share.handle) else {
                let said = match word {
                    Some(ARMED) => {
                        events.push(event(ARMED, share, share.created_at));
                        ARMED
                    }
                    _ if first => word.unwrap_or(EXPIRED),
                    // Armed and ended between two reads: both are news.
                    _ => {
                        events.push(event(ARMED, share, share.created_at));
                        if let Some(word) = word {
                            events.push(ending_event(share, now));
                            word
                        } else {
                            ARMED
                        }
                    }
                };
                self.followed.insert(
                    share.handle.clone(),
                    Followed {
                        status: share.clone(),
                        said,
                        expiry_due: word.is_none() && said == ARMED,
                    },
                );
                continue;
            };
            followed.status = share.clone();
            match word {
                Some(word) if word == followed.said => followed.expiry_due = false,
                Some(word) => {
                    // An ending, or `armed` again (an opening nobody received, undone).
                    events.push(ending_event(share, now));
                    followed.said = word;
                    followed.expiry_due = false;
                }
                None => Self::expiring(followed, now, &mut events),
            }
        }
        let gone: Vec<Handle> = self
            .followed
            .keys()
            .filter(|handle| !listed.contains(*handle))
            .cloned()
            .collect();
        for handle in gone {
            let Some(followed) = self.followed.get_mut(&handle) else {
                continue;
            };
            Self::expiring(followed, now, &mut events);
            if followed.said != ARMED {
                self.followed.remove(&handle);
            }
        }
        // Oldest first within one read (sorting is stable: a share's `armed` stays first).
        events.sort_by_key(|e| e.at);
        events
    }

    /// An armed share past its expiry or missing: due on the first such read, `expired` on the
    /// next. Anything else has said its ending already.
    fn expiring(followed: &mut Followed, now: Millis, events: &mut Vec<Event>) {
        if followed.said != ARMED {
            return;
        }
        if !followed.expiry_due {
            followed.expiry_due = true;
            return;
        }
        let at = followed.status.expires_at.min(now);
        events.push(event(EXPIRED, &followed.status, at));
        followed.said = EXPIRED;
        followed.expiry_due = false;
    }

    /// How many shares the feed follows (one entry each; the owner's quota bounds them).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.followed.len()
    }
}

fn event(what: &'static str, share: &ShareStatus, at: Millis) -> Event {
    Event {
        what,
        id: share.handle.clone(),
        kind: share.kind,
        stored_bytes: share.stored_size,
        at,
        expires_at: share.expires_at,
    }
}

/// The event for a share's current state: its ending (`locked` has no time in the store: it is
/// now), or `armed` (seen again: now).
fn ending_event(share: &ShareStatus, now: Millis) -> Event {
    match Ending::of(Some(share.state), share.expires_at, now) {
        Some(ending) => event(ending.event(), share, ending.at().unwrap_or(now)),
        None => event(ARMED, share, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::{ShareId, StatusState};

    const T: Millis = 1_800_000_000_000;

    fn share(state: StatusState) -> ShareStatus {
        ShareStatus {
            handle: ShareId::generate().unwrap().handle(),
            kind: Kind::Text,
            stored_size: 99,
            created_at: T - 5_000,
            expires_at: T + 60_000,
            password: false,
            max_attempts: 5,
            attempts: 0,
            state,
        }
    }

    fn with(mut share: ShareStatus, state: StatusState) -> ShareStatus {
        share.state = state;
        share
    }

    fn words(events: &[Event]) -> Vec<(&'static str, String)> {
        events
            .iter()
            .map(|e| (e.what, e.id.as_str().to_owned()))
            .collect()
    }

    #[test]
    fn the_first_read_announces_only_the_armed_shares() {
        let armed = share(StatusState::Armed);
        let opened = share(StatusState::Opened { at: T - 1_000 });
        let locked = share(StatusState::Locked);
        let (feed, events) = Feed::start(&[opened, armed.clone(), locked], T);
        assert_eq!(words(&events), [("armed", armed.handle.to_string())]);
        assert_eq!(events[0].at, armed.created_at);
        assert_eq!(feed.len(), 3);
    }

    #[test]
    fn each_change_of_state_is_said_once_with_the_stores_time() {
        let a = share(StatusState::Armed);
        let b = share(StatusState::Armed);
        let c = share(StatusState::Armed);
        let (mut feed, _) = Feed::start(&[a.clone(), b.clone(), c.clone()], T);
        let now = T + 2_000;
        let events = feed.next(
            &[
                with(a.clone(), StatusState::Opened { at: T + 1_500 }),
                with(b.clone(), StatusState::Revoked { at: T + 1_000 }),
                with(c.clone(), StatusState::Locked),
            ],
            now,
        );
        assert_eq!(
            words(&events),
            [
                ("revoked", b.handle.to_string()),
                ("opened", a.handle.to_string()),
                ("locked", c.handle.to_string()),
            ]
        );
        assert_eq!(
            events.iter().map(|e| e.at).collect::<Vec<_>>(),
            [T + 1_000, T + 1_500, now]
        );
        // The same states again: nothing new.
        let again = feed.next(
            &[
                with(a, StatusState::Opened { at: T + 1_500 }),
                with(b, StatusState::Revoked { at: T + 1_000 }),
                with(c.clone(), StatusState::Locked),
            ],
            now + 1_000,
        );
        assert!(again.is_empty(), "{again:?}");
        // A locked share can still be revoked by its sender.
        let revoked = feed.next(
            &[with(c.clone(), StatusState::Revoked { at: now + 1_500 })],
            now + 2_000,
        );
        assert_eq!(words(&revoked), [("revoked", c.handle.to_string())]);
    }

    #[test]
    fn a_new_share_is_armed_and_one_that_ended_between_reads_says_both() {
        let (mut feed, _) = Feed::start(&[], T);
        let fresh = share(StatusState::Armed);
        let quick = share(StatusState::Opened { at: T + 500 });
        let events = feed.next(&[fresh.clone(), quick.clone()], T + 1_000);
        let mut said = words(&events);
        said.sort();
        let mut expected = vec![
            ("armed", fresh.handle.to_string()),
            ("armed", quick.handle.to_string()),
            ("opened", quick.handle.to_string()),
        ];
        expected.sort();
        assert_eq!(said, expected);
        let armed_at = events.iter().position(|e| e.id == quick.handle).unwrap();
        assert_eq!(events[armed_at].what, "armed", "armed before opened");
    }

    #[test]
    fn an_expiry_is_said_after_one_more_read_and_never_for_an_ended_share() {
        let mut short = share(StatusState::Armed);
        short.expires_at = T + 1_000;
        let opened = share(StatusState::Opened { at: T - 100 });
        let (mut feed, _) = Feed::start(&[short.clone(), opened.clone()], T);
        // Past its expiry, still listed (not swept yet): due, not said.
        assert!(feed.next(&[short.clone(), opened], T + 1_500).is_empty());
        // Gone on the next read: now it is said, at its expiry; the opened share leaves quietly.
        let events = feed.next(&[], T + 2_500);
        assert_eq!(words(&events), [("expired", short.handle.to_string())]);
        assert_eq!(events[0].at, short.expires_at);
        assert!(feed.next(&[], T + 3_500).is_empty());
        assert_eq!(feed.len(), 0);
    }

    #[test]
    fn a_share_missing_from_one_read_is_not_expired_if_the_next_shows_it() {
        let a = share(StatusState::Armed);
        let (mut feed, _) = Feed::start(std::slice::from_ref(&a), T);
        assert!(feed.next(&[], T + 1_000).is_empty());
        let events = feed.next(
            &[with(a.clone(), StatusState::Opened { at: T + 900 })],
            T + 2_000,
        );
        assert_eq!(words(&events), [("opened", a.handle.to_string())]);
        // Gone at its expiry after that: no `expired` for an opened share.
        assert!(feed.next(&[], T + 70_000).is_empty());
        assert!(feed.next(&[], T + 71_000).is_empty());
    }

    #[test]
    fn an_opening_that_was_undone_reads_armed_again() {
        let a = share(StatusState::Armed);
        let (mut feed, _) = Feed::start(std::slice::from_ref(&a), T);
        feed.next(
            &[with(a.clone(), StatusState::Opened { at: T + 10 })],
            T + 1_000,
        );
        let events = feed.next(std::slice::from_ref(&a), T + 2_000);
        assert_eq!(words(&events), [("armed", a.handle.to_string())]);
        assert_eq!(events[0].at, T + 2_000);
    }

    #[test]
    fn lines_are_one_per_event_in_text_and_json() {
        let a = share(StatusState::Opened { at: T });
        let event = ending_event(&a, T + 1);
        let text = event.text_line();
        assert_eq!(
            text,
            format!(
                "2027-01-15 08:00:00 UTC  opened   {}  text  99 B\n",
                a.handle
            )
        );
        let json = event.json_line();
        assert!(json.ends_with('\n') && json.matches('\n').count() == 1);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["event"], "opened");
        assert_eq!(value["id"], a.handle.as_str());
        assert_eq!(value["kind"], "text");
        assert_eq!(value["stored_bytes"], 99);
        assert_eq!(value["at"], "2027-01-15T08:00:00Z");
        assert_eq!(value["expires_at"], "2027-01-15T08:01:00Z");
        let order: Vec<usize> = ["event", "id", "kind", "stored_bytes", "at", "expires_at"]
            .iter()
            .map(|key| json.find(&format!("\"{key}\":")).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{json}");
    }
}
