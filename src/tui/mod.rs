//! The interactive terminal UI served over SSH (`ssh share.host` with a pty).
//!
//! State ([`state`]), a pure update ([`update`]) and a pure view ([`view`], one file per screen)
//! are kept apart; every key goes through one [`keymap`]; async work (arm, watch, list, revoke)
//! runs as effects in [`effects`] and reports back as actions; [`session`] runs the loop.
//! The secret being typed lives in a [`draft`] whose per-key cost is capped, backed by a lease on
//! the process-wide [`budget`]. Bytes in go through [`input`]; bytes out through [`backend`],
//! which renders for the client's terminal at the colour depth [`colors`] picked from what it
//! advertised. Nothing here touches the server's own terminal.

pub mod backend;
pub mod budget;
pub mod colors;
pub mod draft;
mod effects;
pub mod input;
pub mod keymap;
pub mod operator;
pub mod session;
pub mod state;
pub mod update;
pub mod view;

#[cfg(test)]
mod qr_tests;
#[cfg(test)]
mod regression_tests;
#[cfg(test)]
mod snapshot_tests;

pub use session::{Ended, TerminalRequest, TuiContext, run};
