//! The interactive terminal UI served over SSH (`ssh share.host` with a pty).
//!
//! Built as state / pure update / pure view with async work reported back as messages; this
//! module grows screen by screen. What is here now: [`input`], the byte-level input parser that
//! every screen sits on.

pub mod input;
