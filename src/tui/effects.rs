//! The session's effects: what [`super::update`] asks for ([`Effect`]) run as async tasks —
//! arm, watch, list, revoke, the inbox, the operator console, OSC 52 copies — and report back as
//! [`Action`]s on the session's channel. Nothing here decides anything the state cares about:
//! it does the I/O and says how it went. At most one watch and one list run at a time per
//! session, and one inbox load ([`InFlight`]), so a slow store cannot pile up requests.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, info};
use zeroize::Zeroizing;

use super::session::TuiContext;
use super::update::{Action, ArmedOk, Effect};
use crate::crypto::{Kind, Password};
use crate::share::{Owner, ShareName, Shares, UploadSpec};

/// At most one watch, one list and one inbox request at a time per session.
#[derive(Default)]
pub(super) struct InFlight {
    watch: bool,
    list: bool,
    inbox: bool,
}

impl InFlight {
    pub(super) fn done(&mut self, action: &Action) {
        match action {
            Action::Watched(_) => self.watch = false,
            Action::Listed(_) => self.list = false,
            Action::InboxLoaded(_) => self.inbox = false,
            _ => {}
        }
    }
}

pub(super) fn run_effects(
    effects: Vec<Effect>,
    cx: &TuiContext,
    actions: &mpsc::Sender<Action>,
    out: &mpsc::Sender<Vec<u8>>,
    in_flight: &mut InFlight,
) {
    for effect in effects {
        let shares = cx.shares.clone();
        let tx = actions.clone();
        match effect {
            Effect::Arm {
                text,
                ttl,
                password,
                label,
            } => {
                let gate = (cx.allow_upload)();
                let owner = cx.owner.clone();
                let client = cx.client;
                // Tracked: a shutdown lets an arm in progress finish rather than cut it.
                cx.shutdown.spawn(async move {
                    if let Err(message) = gate.await {
                        let _ = tx.send(Action::Armed(Err(message))).await;
                        return;
                    }
                    let result = arm(shares, owner, client, text, ttl, password, label).await;
                    let _ = tx.send(Action::Armed(result)).await;
                });
            }
            Effect::Watch(id) => {
                if in_flight.watch {
                    continue;
                }
                in_flight.watch = true;
                tokio::spawn(async move {
                    let status = match shares.peek(&id).await {
                        Ok(status) => status.map(|s| s.state),
                        Err(err) => {
                            debug!(error = %err, "watch failed; will retry");
                            Some(crate::share::StatusState::Armed)
                        }
                    };
                    let _ = tx.send(Action::Watched(status)).await;
                });
            }
            Effect::List => {
                let Some(owner) = cx.owner.clone() else {
                    continue;
                };
                if in_flight.list {
                    continue;
                }
                in_flight.list = true;
                tokio::spawn(async move {
                    let result = shares.list(&owner).await.map_err(|e| e.words());
                    let _ = tx.send(Action::Listed(result)).await;
                });
            }
            Effect::LoadInbox => {
                let Some(owner) = cx.owner.clone() else {
                    continue;
                };
                if in_flight.inbox {
                    continue;
                }
                in_flight.inbox = true;
                tokio::spawn(async move {
                    let result = shares.inbox(&owner).await.map_err(|e| {
                        e.log("tui inbox");
                        e.words()
                    });
                    let _ = tx.send(Action::InboxLoaded(result)).await;
                });
            }
            Effect::Revoke(handle) => {
                let Some(owner) = cx.owner.clone() else {
                    continue;
                };
                cx.shutdown.spawn(async move {
                    let result = shares
                        .revoke(&owner, handle.as_str())
                        .await
                        .map(|s| s.handle)
                        .map_err(|e| e.words().to_uppercase());
                    let _ = tx.send(Action::Revoked(result)).await;
                });
            }
            Effect::LoadOperator => {
                let console = cx.console.clone();
                tokio::spawn(async move {
                    let _ = tx
                        .send(Action::OperatorLoaded(operator_snapshot(&console).await))
                        .await;
                });
            }
            Effect::Operator(command) => {
                let Some(operator) = cx
                    .owner
                    .clone()
                    .filter(|o| cx.console.is_operator(o.as_str()))
                else {
                    continue;
                };
                let console = cx.console.clone();
                tokio::spawn(async move {
                    let result = operator_command(&console, operator.as_str(), command).await;
                    let _ = tx.send(Action::OperatorDone(result)).await;
                });
            }
            Effect::Copy(link) => {
                let osc = osc52(&link);
                // Best effort, like the note on screen says: a full queue skips the copy.
                let _ = out.try_send(osc.as_bytes().to_vec());
            }
        }
    }
}

/// Everything the operator screen shows, in one load.
async fn operator_snapshot(
    console: &crate::operator::Console,
) -> Result<Box<crate::tui::operator::OperatorSnapshot>, String> {
    let load = async {
        Ok::<_, crate::operator::ConsoleError>(crate::tui::operator::OperatorSnapshot {
            stats: console.stats().await?,
            shares: console.shares(500).await?,
            reports: console.reports(false).await?,
            bans: console.bans().await?,
        })
    };
    load.await
        .map(Box::new)
        .map_err(|e| e.to_string().to_uppercase())
}

/// Runs a confirmed operator command (audited by the console) and says how it went.
async fn operator_command(
    console: &crate::operator::Console,
    operator: &str,
    command: crate::tui::operator::OperatorCommand,
) -> Result<String, String> {
    use crate::tui::operator::OperatorCommand;
    let upper = |e: crate::operator::ConsoleError| e.to_string().to_uppercase();
    match command {
        OperatorCommand::TakeDown(handle) => console
            .take_down(operator, &handle)
            .await
            .map(|s| format!("TAKEN DOWN {}", s.status.handle))
            .map_err(upper),
        OperatorCommand::Dismiss(number) => console
            .dismiss(operator, number)
            .await
            .map(|r| format!("DISMISSED REPORT #{}", r.number))
            .map_err(upper),
        OperatorCommand::Unban(target) => console
            .unban(operator, &target)
            .await
            .map(|t| format!("LIFTED THE BAN ON {t}"))
            .map_err(upper),
    }
}

/// `ESC ] 52 ; c ; base64 BEL`: the client's terminal puts the text on its clipboard (if allowed).
pub(super) fn osc52(text: &str) -> Zeroizing<String> {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    Zeroizing::new(format!("\x1b]52;c;{encoded}\x07"))
}

async fn arm(
    shares: Shares,
    owner: Option<Owner>,
    client: Option<std::net::IpAddr>,
    text: Zeroizing<String>,
    ttl: Duration,
    password: Option<Zeroizing<String>>,
    label: Option<String>,
) -> Result<Box<ArmedOk>, String> {
    let name = match label {
        Some(label) => Some(ShareName::sanitize(label.as_bytes()).map_err(|e| e.to_string())?),
        None => None,
    };
    let spec = UploadSpec {
        kind: Kind::Text,
        name,
        content_type: None,
        owner,
        ttl: Some(ttl),
        password: password.map(|p| Password::new(p.as_str())),
        client,
    };
    let result = async {
        let mut upload = shares.begin(spec).await?;
        upload.write(text.as_bytes()).await?;
        upload.finish().await
    }
    .await;
    match result {
        Ok(armed) => {
            info!(share = %armed.handle, "share armed from the tui");
            Ok(Box::new(ArmedOk {
                link: armed.link,
                handle: armed.handle,
                size: armed.size,
                expires_at: armed.expires_at,
            }))
        }
        Err(err) => {
            err.log("tui upload");
            Err(err.upload_words())
        }
    }
}
