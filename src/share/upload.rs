//! Creating a share as a streaming sink.
//!
//! [`Shares::begin`] prepares keys; [`Upload::write`] encrypts as bytes arrive and enforces the
//! size limit before anything past it is accepted; [`Upload::finish`] seals, makes the blob
//! durable, and only then inserts the metadata (so metadata never points at a missing blob). A
//! share whose sealed content fits in [`Policy::inline_max`](super::Policy) never gets a blob:
//! its ciphertext travels inside the metadata insert, which is durable in the same step. The
//! temp blob is created only once the content outgrows that. Quotas: a sender already at one is refused at `begin`; a stream is refused
//! once it outgrows the room left then; the insert's atomic check settles races. Dropping an `Upload` at any point discards the temp blob: nothing is published.

use std::time::Duration;

use tracing::info;

use super::expected::{Expected, ExpectedCheck};
use super::lifecycle::{MIN_TTL_FLOOR, Shares};
use super::outcome::{Outcome, Pending};
use super::sniff::{Sniffed, TextSniffer};
use super::{
    BlobName, BlobWriter, Handle, Link, Millis, OpId, Owner, QuotaCharge, QuotaExceeded,
    ShareError, ShareEvent, ShareId, ShareName, ShareRecord, now_millis,
};
use crate::crypto::{
    ContentKeys, Header, KdfParams, Kind, Password, ShareKey, ShareMeta, StreamSealer,
};

/// Ciphertext is handed to the blob store in pieces this large (fewer, larger writes).
const WRITE_BATCH: usize = 1024 * 1024;
/// A batch buffer holds less than [`WRITE_BATCH`] of sealed bytes and at most one chunk waiting
/// to be sealed (the sealer stops at the batch): room for that chunk and its tag, rounded up.
const BATCH_SLACK: usize = 128 * 1024;

/// What the sender chose.
#[derive(Debug, Clone)]
pub struct UploadSpec {
    pub kind: Kind,
    pub name: Option<ShareName>,
    pub content_type: Option<String>,
    pub owner: Option<Owner>,
    /// `None` means the policy's default.
    pub ttl: Option<Duration>,
    pub password: Option<Password>,
    /// Where the upload came from (for the operator's activity view; never stored with the share).
    pub client: Option<std::net::IpAddr>,
}

impl UploadSpec {
    pub fn text() -> Self {
        Self {
            kind: Kind::Text,
            name: None,
            content_type: None,
            owner: None,
            ttl: None,
            password: None,
            client: None,
        }
    }

    pub fn file(name: Option<ShareName>) -> Self {
        Self {
            kind: Kind::File,
            name,
            ..Self::text()
        }
    }
}

/// A share that is live: the link (shown to the sender once) and what to tell them about it.
#[derive(Debug)]
pub struct Armed {
    pub link: Link,
    pub handle: Handle,
    pub kind: Kind,
    pub name: Option<String>,
    pub size: u64,
    pub expires_at: Millis,
    pub password: bool,
}

/// An upload in progress. See the module docs for its guarantees.
pub struct Upload {
    shares: Shares,
    id: ShareId,
    key: ShareKey,
    keys: ContentKeys,
    spec: UploadSpec,
    ttl: Duration,
    /// Holds the sealed bytes not yet handed to the blob (all of them, while the share may stay
    /// inline), then the plaintext of the chunk being filled.
    sealer: Option<StreamSealer>,
    /// The temp blob, created by the first flush: a share that stays small never has one.
    writer: Option<Box<dyn BlobWriter>>,
    size: u64,
    /// Sealed bytes handed to the blob so far.
    stored: u64,
    /// Watches a declared text upload: binary content is published as a file instead.
    sniffer: Option<TextSniffer>,
    /// What this share is charged to, and the plaintext bytes its quotas had room for at begin.
    charges: Vec<QuotaCharge>,
    quota_room: Option<(u64, QuotaExceeded)>,
    /// What the sender announced (`--size`, `--sha256`), checked as bytes arrive and at finish.
    expected: ExpectedCheck,
}

impl Shares {
    /// Starts a share. With a password this runs Argon2 (bounded, off the runtime) first.
    pub async fn begin(&self, spec: UploadSpec) -> Result<Upload, ShareError> {
        let policy = self.policy();
        let charges = policy.quota.charges(spec.owner.as_ref(), spec.client);
        let ttl = self.checked_ttl(spec.ttl)?;
        let quota_room = self.quota_room(&charges).await?;
        let key = ShareKey::generate()?;
        let id = ShareId::generate()?;
        let (header, keys) = match spec.password.as_ref().filter(|p| !p.is_empty()) {
            None => {
                let header = Header::new(&key, None, crate::crypto::CHUNK_LOG2)?;
                let keys = header.unlock(&key, None)?;
                (header, keys)
            }
            Some(password) => {
                let cost = policy.kdf_cost;
                let params =
                    KdfParams::generate(cost.memory_kib, cost.iterations, cost.parallelism)?;
                let pk = self.inner.kdf.derive(password, &params).await?;
                let header = Header::new(&key, Some((&params, &pk)), crate::crypto::CHUNK_LOG2)?;
                let keys = header.unlock(&key, Some(&pk))?;
                (header, keys)
            }
        };
        let sniffer = (spec.kind == Kind::Text).then(TextSniffer::default);
        // The header leads the sealed content: it is the first thing written to a blob, or the
        // start of the inline bytes.
        let mut out = Vec::with_capacity(policy.inline_max.min(WRITE_BATCH as u64) as usize);
        out.extend_from_slice(header.as_bytes());
        let sealer = StreamSealer::new(&keys, &header, out)?;
        Ok(Upload {
            sniffer,
            shares: self.clone(),
            stored: 0,
            id,
            key,
            keys,
            spec,
            ttl,
            sealer: Some(sealer),
            writer: None,
            size: 0,
            charges,
            quota_room,
            expected: ExpectedCheck::default(),
        })
    }

    /// The expiry a sender asked for (`None`: the default), within the policy's bounds.
    pub(super) fn checked_ttl(&self, asked: Option<Duration>) -> Result<Duration, ShareError> {
        let policy = self.policy();
        let ttl = asked.unwrap_or(policy.default_ttl);
        if ttl > policy.max_ttl {
            return Err(ShareError::TtlTooLong {
                max: policy.max_ttl,
            });
        }
        let min = policy.min_ttl.max(MIN_TTL_FLOOR);
        if ttl < min {
            return Err(ShareError::TtlTooShort { min });
        }
        Ok(ttl)
    }

    /// Refuses a sender whose key or address is already at a quota before a byte is accepted;
    /// otherwise the smallest room left (and what to say once a stream goes past it).
    pub(super) async fn quota_room(
        &self,
        charges: &[QuotaCharge],
    ) -> Result<Option<(u64, QuotaExceeded)>, ShareError> {
        let now = now_millis();
        let mut room: Option<(u64, QuotaExceeded)> = None;
        for charge in charges {
            let used = self.inner.meta.quota_usage(&charge.tag, now).await?;
            charge.admit(used, 0).map_err(ShareError::Quota)?;
            let left = charge.max_bytes.saturating_sub(used.bytes);
            if room.as_ref().is_none_or(|(r, _)| left < *r) {
                room = Some((left, charge.exceeded(used)));
            }
        }
        Ok(room)
    }
}

impl Upload {
    /// Plaintext bytes accepted so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The most this upload may hold.
    pub fn limit(&self) -> u64 {
        self.shares.policy().max_size
    }

    /// Refuses a declared size (scp's `C` header) that the sender's quota has no room for,
    /// before a byte of it is read.
    pub fn check_room(&self, declared: u64) -> Result<(), ShareError> {
        match &self.quota_room {
            Some((room, full)) if declared > *room => Err(ShareError::Quota(full.clone())),
            _ => Ok(()),
        }
    }

    /// Holds `finish` to what the sender announced; call before the first `write`.
    pub fn expect(&mut self, expected: Expected) {
        self.expected = ExpectedCheck::new(expected);
    }

    /// Encrypts and stores `data`. Past the size limit (or the announced size) nothing more is
    /// accepted and the upload is dead: every later call fails and `finish` publishes nothing.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), ShareError> {
        if self.sealer.is_none() {
            return Err(ShareError::UploadFailed);
        }
        let limit = self.limit();
        let after = self.size + data.len() as u64;
        if after > limit {
            self.poison();
            return Err(ShareError::TooLarge { limit });
        }
        if let Err(err) = self.check_room(after) {
            self.poison();
            return Err(err);
        }
        if let Err(err) = self.expected.admit(data, after) {
            self.poison();
            return Err(err);
        }
        self.size = after;
        if let Some(sniffer) = self.sniffer.as_mut() {
            sniffer.push(data);
        }
        let mut rest = data;
        while !rest.is_empty() {
            // Past the inline limit the share needs its blob: start it now (the temp file shows
            // an upload in progress), then write in large batches.
            let batch = match self.writer {
                None => self.shares.policy().inline_max.saturating_add(1),
                Some(_) => WRITE_BATCH as u64,
            };
            let batch = usize::try_from(batch).unwrap_or(usize::MAX);
            let sealer = self.sealer.as_mut().ok_or(ShareError::UploadFailed)?;
            let taken = match sealer.push(rest, batch) {
                Ok(taken) => taken,
                Err(err) => {
                    self.poison();
                    return Err(err.into());
                }
            };
            rest = &rest[taken..];
            if sealer.sealed_len() >= batch {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Seals the last chunk, makes the blob durable, publishes the share and returns its link.
    pub async fn finish(mut self) -> Result<Armed, ShareError> {
        if let Err(err) = self.expected.settle(self.size) {
            self.poison();
            return Err(err);
        }
        let sealer = self.sealer.take().ok_or(ShareError::UploadFailed)?;
        let rest = sealer.finish()?;
        let inline_max = self.shares.policy().inline_max;
        let (blob, inline) = if self.writer.is_none() && rest.len() as u64 <= inline_max {
            // Never written anywhere: the ciphertext goes into the record, and the blob name
            // is one no file will ever have.
            self.stored = rest.len() as u64;
            (BlobName::generate()?, Some(rest))
        } else {
            self.write_batch(rest).await?;
            let writer = self.writer.take().ok_or(ShareError::UploadFailed)?;
            (writer.commit().await?, None)
        };
        let in_blob = inline.is_none();

        let mut kind = self.spec.kind;
        let mut name = self.spec.name.as_ref().map(|n| n.as_str().to_owned());
        if let Some(Sniffed::Binary { default_name }) = self.sniffer.as_ref().map(|s| s.finish()) {
            kind = Kind::File;
            name.get_or_insert_with(|| default_name.to_owned());
        }
        let meta = ShareMeta {
            kind,
            name,
            content_type: self.spec.content_type.clone(),
            size: self.size,
        };
        let now = now_millis();
        let expires_at = now.saturating_add(self.ttl.as_millis() as u64);
        let record = ShareRecord {
            key: self.id.store_key(),
            owner: self.spec.owner.clone(),
            kind,
            stored_size: self.stored,
            created_at: now,
            expires_at,
            password: self.spec.password.as_ref().is_some_and(|p| !p.is_empty()),
            max_attempts: self.shares.policy().max_attempts,
            verifier: *self.key.verifier().as_bytes(),
            sealed_meta: meta.seal(&self.keys)?.0,
            blob: blob.clone(),
            quota: self.charges.iter().map(|c| c.tag.clone()).collect(),
            inline,
            sealed: None,
        };
        let inner = &self.shares.inner;
        let op = OpId::generate()?;
        let inserted = self
            .shares
            .step(
                Pending::of(&record, op),
                inner.meta.insert(&record, &self.charges, &op),
            )
            .await;
        match inserted {
            Ok(Outcome::Answered(())) | Ok(Outcome::Applied(_)) => {}
            Ok(Outcome::NotApplied) => {
                // The blob is durable but unreferenced: delete it now (the sweeper would, later).
                if in_blob {
                    let _ = inner.blobs.remove(&blob).await;
                }
                return Err(ShareError::StoreUnavailable);
            }
            // Not known: the reconciler deletes the record (its link is never shown) and the blob.
            Err(ShareError::OutcomeUnknown) => return Err(ShareError::OutcomeUnknown),
            Err(err) => {
                if in_blob {
                    let _ = inner.blobs.remove(&blob).await;
                }
                return Err(err);
            }
        }
        let handle = record.handle();
        info!(share = %handle, kind = record.kind.as_str(), size = self.size, "share armed");
        self.shares.emit(ShareEvent::Created {
            owner: record.owner.as_ref(),
            client: self.spec.client,
            bytes: self.size,
        });
        Ok(Armed {
            link: Link::new(
                &self.shares.policy().public_url,
                self.id.clone(),
                self.key.clone(),
            ),
            handle,
            kind: record.kind,
            name: meta.name,
            size: self.size,
            expires_at,
            password: record.password,
        })
    }

    /// Hands the sealed bytes so far to the blob; sealing goes on in the buffer it gives back.
    async fn flush(&mut self) -> Result<(), ShareError> {
        let sealer = self.sealer.as_mut().ok_or(ShareError::UploadFailed)?;
        let batch = sealer.take_sealed();
        let spare = self.write_batch(batch).await?;
        // Two batch buffers take turns (one filling, one being written), each grown once to its
        // full size rather than doubling its way there.
        let sealer = self.sealer.as_mut().ok_or(ShareError::UploadFailed)?;
        sealer.recycle(spare, WRITE_BATCH + BATCH_SLACK);
        Ok(())
    }

    /// Writes `batch` to the blob (created on first use); returns a buffer to reuse.
    async fn write_batch(&mut self, batch: Vec<u8>) -> Result<Vec<u8>, ShareError> {
        if batch.is_empty() {
            return Ok(batch);
        }
        let writer = match self.writer.as_mut() {
            Some(writer) => writer,
            None => self.writer.insert(self.shares.inner.blobs.create().await?),
        };
        let len = batch.len() as u64;
        let spare = match writer.write_owned(batch).await {
            Ok(spare) => spare,
            Err(err) => {
                self.poison();
                return Err(err.into());
            }
        };
        self.stored += len;
        Ok(spare)
    }

    /// Drops the sealer and the temp blob: this upload can never be published.
    fn poison(&mut self) {
        self.sealer = None;
        self.writer = None;
    }
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("share", &self.id.handle())
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}
