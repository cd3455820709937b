//! Receipts: what became of a sender's share, in the words every receipt surface uses — `--wait`
//! (one receipt, then an exit status) and `watch` (a stream of them, see [`feed`]).
//!
//! An [`Ending`] is read off a share's state and expiry and nothing else, so a claim made on any
//! instance behind the same store reads the same here. A record the store no longer returns
//! counts as expired: records outlive every other end (opened, revoked, removed and locked
//! shares keep their record until their expiry, so only an expiry takes it away). What no
//! reader can tell apart: a claim in the last moments before expiry whose record then expires
//! before the next read looks like an expiry. [`feed`] re-reads once before saying "expired";
//! `--wait` reads once a second, as close to the expiry as its tick falls.

pub mod feed;

use crate::share::{Millis, StatusState};
use crate::utc::utc_seconds;

/// Exit status of `--wait`: the share was opened.
pub const OPENED: u32 = 0;
/// Exit status of `--wait`: the share expired unopened.
pub const EXPIRED: u32 = 3;
/// Exit status of `--wait`: the share was revoked by its sender, removed by the operator or
/// locked by wrong passwords — it can no longer be opened.
pub const ENDED: u32 = 4;
/// Exit status of `--wait`: `--wait-timeout` ran out while the share was still armed.
pub const TIMED_OUT: u32 = 5;

/// How a share stopped being openable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Opened {
        at: Millis,
    },
    Revoked {
        at: Millis,
    },
    Removed {
        at: Millis,
    },
    /// Too many wrong passwords. The store keeps no time for it.
    Locked,
    Expired {
        at: Millis,
    },
}

impl Ending {
    /// The ending a share's state shows, or `None` while it is armed and unexpired. `None`
    /// from the store (the record is gone) means it expired.
    pub fn of(state: Option<StatusState>, expires_at: Millis, now: Millis) -> Option<Ending> {
        Some(match state {
            Some(StatusState::Opened { at }) => Ending::Opened { at },
            Some(StatusState::Revoked { at }) => Ending::Revoked { at },
            Some(StatusState::TakenDown { at }) => Ending::Removed { at },
            Some(StatusState::Locked) => Ending::Locked,
            Some(StatusState::Armed) if expires_at > now => return None,
            Some(StatusState::Armed) | None => Ending::Expired { at: expires_at },
        })
    }

    /// The one word `watch` prints for it.
    pub fn event(&self) -> &'static str {
        match self {
            Ending::Opened { .. } => "opened",
            Ending::Revoked { .. } => "revoked",
            Ending::Removed { .. } => "removed",
            Ending::Locked => "locked",
            Ending::Expired { .. } => "expired",
        }
    }

    /// When it happened, if the store knows.
    pub fn at(&self) -> Option<Millis> {
        match *self {
            Ending::Opened { at }
            | Ending::Revoked { at }
            | Ending::Removed { at }
            | Ending::Expired { at } => Some(at),
            Ending::Locked => None,
        }
    }

    /// The sentence `--wait` prints on stderr.
    pub fn words(&self) -> String {
        match *self {
            Ending::Opened { at } => format!("opened at {}", utc_seconds(at)),
            Ending::Revoked { at } => format!("revoked by its sender at {}", utc_seconds(at)),
            Ending::Removed { at } => format!("removed by the operator at {}", utc_seconds(at)),
            Ending::Locked => {
                "locked after too many wrong passwords; it can no longer be opened".to_owned()
            }
            Ending::Expired { at } => format!("expired unopened at {}", utc_seconds(at)),
        }
    }

    /// The exit status `--wait` ends with.
    pub fn exit_status(&self) -> u32 {
        match self {
            Ending::Opened { .. } => OPENED,
            Ending::Expired { .. } => EXPIRED,
            Ending::Revoked { .. } | Ending::Removed { .. } | Ending::Locked => ENDED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_end_has_its_words_event_and_exit_status() {
        let at = 1_795_000_000_000;
        assert_eq!(Ending::of(Some(StatusState::Armed), at + 1, at), None);
        let opened = Ending::of(Some(StatusState::Opened { at }), at + 1, at).unwrap();
        assert_eq!(opened.exit_status(), OPENED);
        assert_eq!(opened.event(), "opened");
        assert!(opened.words().starts_with("opened at 2026-"), "{opened:?}");
        let expired = Ending::of(Some(StatusState::Armed), at, at).unwrap();
        assert_eq!(expired, Ending::Expired { at });
        assert_eq!(expired.exit_status(), EXPIRED);
        assert_eq!(Ending::of(None, at + 1, at).unwrap().exit_status(), EXPIRED);
        let revoked = Ending::of(Some(StatusState::Revoked { at }), at + 1, at).unwrap();
        assert_eq!(revoked.exit_status(), ENDED);
        assert!(revoked.words().starts_with("revoked by its sender at "));
        let removed = Ending::of(Some(StatusState::TakenDown { at }), at + 1, at).unwrap();
        assert_eq!((removed.exit_status(), removed.event()), (ENDED, "removed"));
        let locked = Ending::of(Some(StatusState::Locked), at + 1, at).unwrap();
        assert_eq!((locked.exit_status(), locked.at()), (ENDED, None));
    }
}
