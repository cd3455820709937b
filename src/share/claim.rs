//! Claiming a share: verify the link key, count a password attempt, flip the state in one atomic
//! step, then stream the decrypted content.
//!
//! Order matters and is the point of this file:
//! 1. the link key is checked against the stored verifier in constant time — a requester
//!    without the link learns nothing and cannot spend password attempts;
//! 2. for a password share the attempt is counted atomically *before* Argon2 runs, so a burst of
//!    guesses gets exactly `max_attempts` checks, then the share is locked (never deleted). An
//!    Argon2 thread is reserved before the attempt is counted: a claimant who cannot get one in
//!    time is told the server is busy, and has spent nothing;
//! 3. the atomic claim happens before a single plaintext byte exists;
//! 4. the body decrypts chunk by chunk and fails loudly on tampering or truncation. The content
//!    (blob, or a small share's inline bytes) is deleted when the body ends or is dropped: a
//!    recipient who disconnects mid-download has still used the share (at most once beats at
//!    least once).
//!
//! A small share's sealed content comes with its entry (see [`ShareRecord::inline`](super::ShareRecord)):
//! the same steps in the same order, with no file opened, read or removed on the way.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use tracing::{info, warn};

use super::content::{Piece, Plaintext, SealedContent};
use super::lifecycle::Shares;
use super::outcome::{Outcome, Pending};
use super::{
    Applied, AttemptOutcome, BlobName, BlobStore, ClaimOutcome, Millis, OpId, ShareEntry,
    ShareError, ShareEvent, ShareId, ShareState, now_millis,
};
use crate::crypto::{CryptoError, Password, ShareKey, ShareMeta, StreamOpener};

/// A claimed share: its metadata and its content, still to be streamed.
pub struct Claimed {
    pub meta: ShareMeta,
    pub opened_at: Millis,
    pub body: ClaimBody,
}

impl Shares {
    /// Claims a share for the holder of `key` (and `password`, when the share has one). Succeeds
    /// for at most one caller, ever.
    pub async fn claim(
        &self,
        id: &ShareId,
        key: &ShareKey,
        password: Option<&Password>,
    ) -> Result<Claimed, ShareError> {
        let started = std::time::Instant::now();
        let inner = &self.inner;
        let store_key = id.store_key();
        let handle = store_key.handle();
        let mut entry = inner
            .meta
            .get(&store_key, now_millis())
            .await?
            .ok_or(ShareError::NotFound)?;
        if !entry.record.verifier().matches(key) {
            return Err(ShareError::NotFound);
        }
        if self.unsettled(&store_key) {
            // A change of this share is being settled after a storage stall: its state may be a
            // claim nobody received, about to be undone. Not "already opened".
            return Err(ShareError::OutcomeUnknown);
        }
        refuse_unless_armed(&entry)?;

        // A small share's content came with its entry; the claim below drops it from the
        // store, and keeps it here in case the claim must be undone (see `Pending::inline`).
        let inline: Option<Arc<[u8]>> = entry.record.inline.take().map(Arc::from);
        let in_blob = inline.is_none();
        let opened = match inline.as_deref() {
            Some(bytes) => SealedContent::inline(bytes),
            None => SealedContent::blob(inner.blobs.as_ref(), &entry.record).await,
        };
        let (sealed, header) = match opened {
            Ok(opened) => opened,
            Err(err) => {
                // A concurrent winner may have claimed the share and removed its blob between
                // our read and our open: report what really happened, not a storage fault.
                return match inner.meta.get(&store_key, now_millis()).await? {
                    Some(now) if now.state != ShareState::Armed => Err(self.refusal(&now)),
                    None => Err(ShareError::NotFound),
                    Some(_) => Err(err),
                };
            }
        };

        let password_key = if entry.record.password {
            let password = password
                .filter(|p| !p.is_empty())
                .ok_or(ShareError::PasswordRequired)?;
            let params = header
                .kdf_params()
                .ok_or(ShareError::Corrupt(CryptoError::MalformedHeader))?;
            // An Argon2 thread is reserved *before* the attempt is spent: when every thread
            // stays busy for longer than a claimant may wait, the answer is "busy" and nothing
            // was counted.
            let argon2 = inner.kdf.reserve().await?;
            let op = OpId::generate()?;
            let spent = self
                .step(
                    Pending::of(&entry.record, op),
                    inner.meta.spend_attempt(&store_key, now_millis(), &op),
                )
                .await?;
            let (attempt, max) = match spent {
                Outcome::Answered(AttemptOutcome::Granted { attempt, max })
                | Outcome::Applied(Applied::Granted { attempt, max }) => (attempt, max),
                Outcome::Answered(AttemptOutcome::Locked) => {
                    return Err(ShareError::Locked {
                        attempts: entry.record.max_attempts,
                    });
                }
                Outcome::Answered(AttemptOutcome::NotArmed(entry)) => {
                    return Err(self.refusal(&entry));
                }
                Outcome::Answered(AttemptOutcome::Missing) => return Err(ShareError::NotFound),
                Outcome::Applied(_) | Outcome::NotApplied => {
                    return Err(self.now_refused(&store_key).await);
                }
            };
            let pk = argon2.derive(password, params).await?;
            match header.unlock(key, Some(&pk)) {
                Ok(_) => Some(pk),
                Err(CryptoError::WrongPassword) => {
                    info!(share = %handle, attempt, max, "wrong password");
                    if attempt >= max {
                        self.emit(ShareEvent::Locked);
                    }
                    return Err(ShareError::WrongPassword {
                        remaining: max.saturating_sub(attempt),
                    });
                }
                Err(other) => return Err(other.into()),
            }
        } else {
            None
        };
        let keys = header.unlock(key, password_key.as_ref())?;

        let now = now_millis();
        let op = OpId::generate()?;
        let claimed = self
            .step(
                Pending::of(&entry.record, op).with_inline(inline),
                inner.meta.claim(&store_key, now, &op),
            )
            .await?;
        let entry = match claimed {
            Outcome::Answered(ClaimOutcome::Claimed(entry)) => entry,
            // The claim ran although its call failed: this claimant won, and still holds the
            // open blob — deliver to it, not to whoever asks next.
            Outcome::Applied(Applied::Claimed) => entry,
            Outcome::Answered(ClaimOutcome::Refused(entry)) => return Err(self.refusal(&entry)),
            Outcome::Answered(ClaimOutcome::Missing) => return Err(ShareError::NotFound),
            Outcome::Applied(_) | Outcome::NotApplied => {
                return Err(self.now_refused(&store_key).await);
            }
        };
        info!(share = %handle, "share claimed");
        self.emit(ShareEvent::Claimed {
            latency: started.elapsed(),
        });
        // The claim itself dropped inline content; a blob goes once the body is done with it.
        let cleanup = ContentCleanup {
            blobs: inner.blobs.clone(),
            tasks: inner.tasks.clone(),
            blob: in_blob.then(|| entry.record.blob.clone()),
        };
        let meta = match crate::crypto::SealedMeta(entry.record.sealed_meta.clone()).open(&keys) {
            Ok(meta) => meta,
            Err(err) => {
                warn!(share = %handle, "sealed metadata failed authentication");
                return Err(ShareError::Corrupt(err));
            }
        };
        Ok(Claimed {
            meta,
            opened_at: now,
            body: ClaimBody {
                content: sealed.open(StreamOpener::new(&keys, &header)?),
                cleanup,
                delivery: Delivery {
                    shares: self.clone(),
                    reported: false,
                    bytes: 0,
                },
            },
        })
    }
}

fn refuse_unless_armed(entry: &ShareEntry) -> Result<(), ShareError> {
    if entry.state != ShareState::Armed {
        return Err(refusal(entry));
    }
    if entry.is_locked() {
        return Err(ShareError::Locked {
            attempts: entry.record.max_attempts,
        });
    }
    Ok(())
}

impl Shares {
    /// Why `entry` cannot be claimed — unless one of its changes is still being settled, in
    /// which case its state is not yet the truth.
    fn refusal(&self, entry: &ShareEntry) -> ShareError {
        if self.unsettled(&entry.record.key) {
            return ShareError::OutcomeUnknown;
        }
        refusal(entry)
    }
}

fn refusal(entry: &ShareEntry) -> ShareError {
    ShareError::not_armed(entry.state).unwrap_or(ShareError::Locked {
        attempts: entry.record.max_attempts,
    })
}

/// The decrypted content of a claimed share, produced chunk by chunk with bounded memory.
pub struct ClaimBody {
    content: Plaintext,
    cleanup: ContentCleanup,
    delivery: Delivery,
}

impl ClaimBody {
    /// The next piece of plaintext; `None` once the whole share has been authenticated and
    /// delivered. An `Err` means the content failed authentication or could not be read: the
    /// caller must treat the transfer as failed (for HTTP: abort the connection).
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, ShareError>> {
        let (plain, last) = match self.content.next().await? {
            Ok(Piece::More(plain)) => (plain, false),
            Ok(Piece::Last(plain)) => (plain, true),
            Err(err) => {
                self.cleanup.start();
                self.delivery.report(false);
                return Some(Err(err));
            }
        };
        self.delivery.bytes += plain.len() as u64;
        if last {
            self.cleanup.start();
            self.delivery.report(true);
            if plain.is_empty() {
                return None;
            }
        }
        Some(Ok(plain))
    }

    /// The whole plaintext in memory: for tests and small text shares only.
    pub async fn read_to_end(mut self) -> Result<Vec<u8>, ShareError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next_chunk().await {
            all.extend_from_slice(&chunk?);
        }
        Ok(all)
    }

    /// The body as a stream (e.g. for an HTTP response body).
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, ShareError>> + Send {
        futures_util::stream::unfold(self, |mut body| async move {
            body.next_chunk().await.map(|item| (item, body))
        })
    }
}

/// Reports [`ShareEvent::Delivered`] once: when the body ends, fails, or is dropped unfinished.
struct Delivery {
    shares: Shares,
    reported: bool,
    bytes: u64,
}

impl Delivery {
    fn report(&mut self, complete: bool) {
        if !self.reported {
            self.reported = true;
            self.shares.emit(ShareEvent::Delivered {
                bytes: self.bytes,
                complete,
            });
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.report(false);
    }
}

/// Deletes a claimed share's blob once: from the end of the body, or when it is dropped. (A small
/// share's inline content needs no cleanup: the claim dropped it from the store.)
pub(super) struct ContentCleanup {
    blobs: Arc<dyn BlobStore>,
    tasks: tokio_util::task::TaskTracker,
    blob: Option<BlobName>,
}

impl ContentCleanup {
    /// Removes `name` once, as [`ContentCleanup`] does for a claim's body (a sealed share's
    /// stored age file streams through the same guard).
    pub(super) fn for_blob(
        blobs: Arc<dyn BlobStore>,
        tasks: tokio_util::task::TaskTracker,
        name: BlobName,
    ) -> Self {
        Self {
            blobs,
            tasks,
            blob: Some(name),
        }
    }

    /// Starts the removal and leaves it running: the last piece of a body need not wait for
    /// it (unlinking a large file takes a while: its cached pages are dropped first).
    pub(super) fn start(&mut self) {
        let Some(name) = self.blob.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let blobs = self.blobs.clone();
        self.tasks.spawn_on(
            async move {
                if let Err(err) = blobs.remove(&name).await {
                    warn!(error = %err, "could not remove a claimed blob; the sweeper will");
                }
            },
            &runtime,
        );
    }
}

impl Drop for ContentCleanup {
    fn drop(&mut self) {
        self.start();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::share::{KdfCost, Policy, UploadSpec};
    use crate::store::{self, MetaBackend};

    /// Every Argon2 thread held by someone else: the claim is told "busy" without waiting
    /// (`kdf_wait` 0 here) and has spent no attempt; an upload with a password is refused too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_claim_that_finds_every_argon2_thread_busy_is_told_so_and_spends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let stores = store::open(dir.path(), &MetaBackend::Embedded)
            .await
            .unwrap();
        let policy = Policy {
            kdf_cost: KdfCost {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            kdf_concurrency: 1,
            kdf_wait: Duration::ZERO,
            ..Policy::default()
        };
        let shares = Shares::new(stores.meta, stores.blobs, policy);
        let with_password = || UploadSpec {
            password: Some(Password::new("right")),
            ..UploadSpec::text()
        };
        let mut upload = shares.begin(with_password()).await.unwrap();
        upload.write(b"guarded").await.unwrap();
        let armed = upload.finish().await.unwrap();
        let (id, key) = (armed.link.id(), armed.link.key());
        let attempts = || async { shares.peek(id).await.unwrap().unwrap().attempts };

        let held = shares.inner.kdf.reserve().await.unwrap();
        let wrong = Password::new("wrong");
        for _ in 0..3 {
            let claimed = shares.claim(id, key, Some(&wrong)).await;
            assert!(
                matches!(claimed, Err(ShareError::Busy)),
                "{:?}",
                claimed.err()
            );
        }
        assert_eq!(attempts().await, 0);
        assert!(matches!(
            shares.begin(with_password()).await.err(),
            Some(ShareError::Busy)
        ));

        drop(held);
        let claimed = shares.claim(id, key, Some(&wrong)).await;
        assert!(
            matches!(claimed, Err(ShareError::WrongPassword { remaining: 4 })),
            "{:?}",
            claimed.err()
        );
        assert_eq!(attempts().await, 1);
        let right = Password::new("right");
        let claimed = shares.claim(id, key, Some(&right)).await.unwrap();
        assert_eq!(claimed.body.read_to_end().await.unwrap(), b"guarded");
    }
}
