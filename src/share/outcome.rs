//! Honest outcomes when the store does not answer. A state change (insert, claim, password
//! attempt, revoke, takedown) whose call fails may still have happened — a stalled Redis runs a
//! timed-out script when it resumes — so "nothing happened" would be a guess. Instead every
//! change carries an [`OpId`], and a failed call is followed by [`MetaStore::settle`](super::MetaStore::settle) (retried
//! with backoff for up to [`Policy::settle_window`](super::Policy)), which either reports what
//! the change did or makes sure it never will. Only then is the caller answered.
//!
//! When storage stays silent for the whole window the caller is told the truth — the outcome is
//! not known yet — and the change is handed to a background reconciler, which settles it once
//! storage answers and undoes what nobody was told about: an insert whose link was never shown
//! is deleted, a claim whose content was never delivered is re-armed, a password attempt that
//! never reached a check is refunded. Revokes and takedowns stand (that is what was asked for).
//! While a share has such a change in flight, claims of it answer "not known yet", never
//! "already opened". The reconciler lives in this process: a crash while it waits leaves the
//! share as the stalled change left it.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::lifecycle::Shares;
use super::{Applied, BlobName, OpId, ShareError, ShareEvent, StoreError, StoreKey, now_millis};

/// First pause between two settle attempts; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What became of one state change.
pub(super) enum Outcome<T> {
    /// The store answered the call itself.
    Answered(T),
    /// The call failed, but the change happened: this is what it did.
    Applied(Applied),
    /// The call failed and the change did not happen (and now never will).
    NotApplied,
}

/// A change whose outcome is not known yet: what the reconciler needs.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) key: StoreKey,
    pub(super) op: OpId,
    /// The share's blob: kept from the sweeper while the change is unsettled, removed afterwards
    /// if the share ends up not armed (or not there).
    pub(super) blob: BlobName,
    /// The share's expiry: past it there is nothing left to settle.
    pub(super) expires_at: super::Millis,
    /// A claimed small share's content, which the claim dropped from the store: an undo puts
    /// it back. Ciphertext only (the key is in the link), as it was at rest a moment ago.
    pub(super) inline: Option<std::sync::Arc<[u8]>>,
}

impl Pending {
    pub(super) fn of(record: &super::ShareRecord, op: OpId) -> Self {
        Self {
            key: record.key,
            op,
            blob: record.blob.clone(),
            expires_at: record.expires_at,
            inline: None,
        }
    }

    /// The pending claim of a small share whose content `inline` the claimant holds.
    pub(super) fn with_inline(mut self, inline: Option<std::sync::Arc<[u8]>>) -> Self {
        self.inline = inline;
        self
    }
}

impl Shares {
    /// Runs one state change named `pending.op` (`call` is the store call carrying that id) and
    /// finds out what it did. `Err(ShareError::OutcomeUnknown)` when storage stayed silent for
    /// the whole settle window; the change then goes to the reconciler.
    pub(super) async fn step<T>(
        &self,
        pending: Pending,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<Outcome<T>, ShareError> {
        let err = match call.await {
            Ok(answer) => return Ok(Outcome::Answered(answer)),
            // A refusal the store decided, or a request never sent: nothing to find out.
            Err(StoreError::NotApplied(_)) => return Ok(Outcome::NotApplied),
            Err(StoreError::Full) => return Err(ShareError::StorageFull),
            // Refusals the store decided in the step itself: nothing changed.
            Err(err @ (StoreError::AlreadyExists | StoreError::QuotaExceeded(_))) => {
                return Err(err.into());
            }
            Err(err) => err,
        };
        let handle = pending.key.handle();
        warn!(share = %handle, error = %err, "a state change got no answer; finding out whether it happened");
        let deadline = Instant::now() + self.policy().settle_window;
        let mut pause = FIRST_BACKOFF;
        loop {
            match self.inner.meta.settle(&pending.key, &pending.op).await {
                Ok(Some(applied)) => {
                    info!(share = %handle, "the unanswered state change had happened");
                    return Ok(Outcome::Applied(applied));
                }
                Ok(None) => {
                    info!(share = %handle, "the unanswered state change did not happen");
                    return Ok(Outcome::NotApplied);
                }
                Err(err) if Instant::now() + pause < deadline => {
                    warn!(share = %handle, error = %err, "cannot settle the state change yet");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
                Err(err) => {
                    warn!(share = %handle, error = %err, "outcome of a state change unknown; settling it in the background");
                    self.reconcile_later(pending);
                    return Err(ShareError::OutcomeUnknown);
                }
            }
        }
    }

    /// True while a change of the share under `key` is being settled in the background: its
    /// state may be a change nobody was told about (and may be undone), so it is not reported.
    pub(super) fn unsettled(&self, key: &StoreKey) -> bool {
        self.pending().iter().any(|p| p.key == *key)
    }

    /// Blobs of shares with a change being settled: the sweeper leaves them alone.
    pub(super) fn unsettled_blobs(&self) -> Vec<BlobName> {
        self.pending().iter().map(|p| p.blob.clone()).collect()
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn reconcile_later(&self, pending: Pending) {
        self.pending().push(pending.clone());
        let shares = self.clone();
        tokio::spawn(async move {
            shares.reconcile(&pending).await;
            shares
                .pending()
                .retain(|p| !(p.key == pending.key && p.op == pending.op));
        });
    }

    /// Settles `pending` once storage answers, undoes what nobody was told about, and removes
    /// the blob if the share is left unreadable.
    async fn reconcile(&self, pending: &Pending) {
        let meta = &self.inner.meta;
        let handle = pending.key.handle();
        let mut pause = FIRST_BACKOFF;
        while now_millis() < pending.expires_at {
            let step = async {
                match meta.settle(&pending.key, &pending.op).await? {
                    None => {}
                    Some(Applied::Revoked) => self.emit(ShareEvent::Revoked),
                    Some(Applied::TakenDown) => self.emit(ShareEvent::TakenDown),
                    Some(_) => {
                        meta.undo(&pending.key, &pending.op, pending.inline.as_deref())
                            .await?;
                    }
                }
                let entry = meta.get(&pending.key, now_millis()).await?;
                Ok::<_, StoreError>(entry.is_none_or(|e| e.state != super::ShareState::Armed))
            };
            match step.await {
                Ok(spent) => {
                    info!(share = %handle, "state change settled after a storage stall");
                    if spent && let Err(err) = self.inner.blobs.remove(&pending.blob).await {
                        warn!(share = %handle, error = %err, "could not remove blob; the sweeper will");
                    }
                    return;
                }
                Err(err) => {
                    tracing::debug!(share = %handle, error = %err, "storage still silent");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}
