//! The recipient's side: HTTP(S) pages that show a share without consuming it, and the one POST
//! that claims it.
//!
//! Invariants this module guards (docs/properties.md §1, §6 and §11):
//! - **GET and HEAD never consume.** Only `POST /s/{id}` with the link key in its body calls
//!   [`Shares::claim`](crate::share::Shares::claim); link previewers can fetch every page.
//! - **The key stays out of URLs and logs.** It lives in the link's fragment, reaches the server
//!   only in the claim body, and the access log records method, route template and status only.
//! - **A failed download never looks complete.** A chunk that fails authentication aborts the
//!   connection instead of ending the body.
//! - **Uploaded content is never HTML.** Files are `attachment`s of `application/octet-stream`;
//!   text is escaped into a page or sent as `text/plain`; every response carries a strict CSP,
//!   `nosniff` and `no-store`.
//!
//! Layout: [`server`] owns sockets (accept loop, TLS, connection limits and timeouts);
//! [`router`](mod@router) wires routes to handlers ([`status`], [`claim`], [`index`], [`assets`]) and layers
//! ([`headers`], [`access_log`]); [`error`] maps share outcomes to pages; [`templates`] renders
//! them.

mod access_log;
mod assets;
mod claim;
mod client_ip;
mod client_slots;
mod connection_life;
mod disposition;
mod error;
mod headers;
mod held_body;
mod index;
mod probe;
mod rate_limit;
mod report;
mod router;
mod server;
mod stall;
mod status;
mod templates;
mod tls;
mod when;

pub use claim::{FormProblem, claim_credentials};
pub use probe::{ProbeError, probe, probe_addr};
pub use router::{SiteInfo, router};
pub use server::{HttpError, HttpServer};
