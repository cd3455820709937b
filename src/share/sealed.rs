//! Shares sealed to recipients' SSH public keys: the content is encrypted on arrival in the
//! **age** format to every recipient key (ssh-ed25519, ssh-rsa), so the stored blob is an age
//! file that only those keys' private halves open. The server never holds a key that opens it:
//! there is no link key (the record's verifier is that of a random key thrown away at once),
//! and recipients decrypt on their own machines (`age -d -i ~/.ssh/id_ed25519`).
//!
//! The inbox: each recipient key is a quota tag ([`QuotaTag::inbox`]) that the share is charged
//! to, so the store's atomic insert caps how many shares wait for one key, and the same index
//! lists them ([`MetaStore::list_charged`](super::MetaStore::list_charged)). Claiming is the
//! ordinary atomic claim, allowed only to a session authenticated with a recipient key; the
//! server hands over the age file as stored and never decrypts it.
//!
//! What the server sees in the clear: the plaintext while it streams through (as for every
//! upload), and it keeps the recipients' fingerprints, the sender's label, the share's label
//! (`--name`), kind, stored size and expiry — never the content.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use russh::keys::{HashAlg, PublicKey};
use tokio::io::AsyncReadExt;
use tracing::info;

use super::claim::ContentCleanup;
use super::expected::{Expected, ExpectedCheck};
use super::lifecycle::Shares;
use super::outcome::{Outcome, Pending};
use super::{
    Applied, BlobReader, BlobWriter, ClaimOutcome, Handle, Millis, OpId, Owner, QuotaCharge,
    QuotaExceeded, QuotaTag, ShareError, ShareEvent, ShareId, ShareName, ShareRecord, StoreKey,
    now_millis,
};
use crate::crypto::{Kind, ShareKey};

/// Most recipients one share may be sealed to (each adds a stanza to the header and an inbox
/// charge to the insert).
pub const MAX_RECIPIENTS: usize = 16;

/// Ciphertext is handed to the blob store in pieces this large.
const WRITE_BATCH: usize = 1024 * 1024;
/// Bytes read from the blob per chunk of a sealed claim.
const READ_CHUNK: usize = 256 * 1024;

/// Who a sealed share is for and what its inbox line shows (kept in the record, in the clear).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SealedTo {
    /// `SHA256:…` fingerprints of the recipient keys.
    pub recipients: Vec<Owner>,
    /// The sender as recipients see it: the sender key's comment or fingerprint.
    pub from: String,
    /// `--name`, if the sender gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// One recipient public key, parsed and checked on the way in.
#[derive(Clone)]
pub struct Recipient {
    fingerprint: Owner,
    age: age::ssh::Recipient,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient({})", self.fingerprint.as_str())
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RecipientError {
    #[error(
        "--to: not an SSH public key; give the whole line of a .pub file (ssh-ed25519 AAAA… \
         name), quoted, or github:USER"
    )]
    Malformed,
    #[error("--to: {0} keys cannot be recipients; use an ssh-ed25519 or ssh-rsa key")]
    Unsupported(String),
    #[error("--to: that ssh-rsa key is too small or too large to encrypt to (2048 to 16384 bits)")]
    RsaSize,
    #[error("--to: at most {MAX_RECIPIENTS} recipients per share")]
    TooMany,
}

impl Recipient {
    /// An OpenSSH public-key line (`ssh-ed25519 AAAA… comment`; the comment is optional).
    pub fn parse(line: &str) -> Result<Self, RecipientError> {
        let mut key =
            PublicKey::from_openssh(line.trim()).map_err(|_| RecipientError::Malformed)?;
        let fingerprint = Owner::new(key.fingerprint(HashAlg::Sha256).to_string());
        key.set_comment("");
        let bare = key.to_openssh().map_err(|_| RecipientError::Malformed)?;
        let age = bare
            .parse::<age::ssh::Recipient>()
            .map_err(|err| match err {
                age::ssh::ParseRecipientKeyError::Unsupported(kind) => RecipientError::Unsupported(
                    kind.chars()
                        .filter(char::is_ascii_graphic)
                        .take(40)
                        .collect(),
                ),
                age::ssh::ParseRecipientKeyError::RsaModulusTooLarge
                | age::ssh::ParseRecipientKeyError::RsaModulusTooSmall => RecipientError::RsaSize,
                _ => RecipientError::Unsupported(key.algorithm().as_str().to_owned()),
            })?;
        Ok(Self { fingerprint, age })
    }

    pub fn fingerprint(&self) -> &Owner {
        &self.fingerprint
    }
}

/// What the sender chose for a sealed share.
#[derive(Debug, Clone)]
pub struct SealedSpec {
    pub recipients: Vec<Recipient>,
    /// The sender as recipients will see it.
    pub from: String,
    pub label: Option<ShareName>,
    pub owner: Option<Owner>,
    pub client: Option<std::net::IpAddr>,
    pub ttl: Option<Duration>,
}

/// A sealed share that is live: no link, only what to tell the sender.
#[derive(Debug)]
pub struct ArmedSealed {
    pub handle: Handle,
    pub size: u64,
    pub expires_at: Millis,
    pub recipients: usize,
}

/// Ciphertext the age writer produced, waiting to go to the blob store.
#[derive(Clone, Default)]
struct Pipe(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Pipe {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut buf = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("pipe poisoned"))?;
        buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Pipe {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.0.lock().map(|b| b.len()).unwrap_or(0)
    }
}

/// A sealed upload in progress; dropping it discards the temp blob (nothing is published).
pub struct SealedUpload {
    shares: Shares,
    spec: SealedSpec,
    ttl: Duration,
    age: Option<age::stream::StreamWriter<Pipe>>,
    pipe: Pipe,
    writer: Option<Box<dyn BlobWriter>>,
    size: u64,
    stored: u64,
    charges: Vec<QuotaCharge>,
    /// The plaintext bytes the sender's quotas had room for at begin, and what to say past it.
    quota_room: Option<(u64, QuotaExceeded)>,
    /// What the sender announced (`--size`, `--sha256`), checked as bytes arrive and at finish.
    expected: ExpectedCheck,
}

/// One share waiting in a recipient's inbox.
#[derive(Clone, Debug)]
pub struct InboxItem {
    pub key: StoreKey,
    pub handle: Handle,
    pub from: String,
    pub label: Option<String>,
    pub kind: Kind,
    pub stored_size: u64,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A claimed sealed share: the age file, streamed as stored.
pub struct SealedClaim {
    pub opened_at: Millis,
    reader: BlobReader,
    cleanup: ContentCleanup,
    buf: Vec<u8>,
}

impl SealedClaim {
    /// The next piece of the age file; `None` at its end (the blob's removal starts then).
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, ShareError>> {
        self.buf.resize(READ_CHUNK, 0);
        match self.reader.read(&mut self.buf).await {
            Ok(0) => {
                self.cleanup.start();
                None
            }
            Ok(n) => Some(Ok(Bytes::copy_from_slice(&self.buf[..n]))),
            Err(err) => Some(Err(ShareError::Storage(err.into()))),
        }
    }
}

impl Shares {
    /// Starts a share sealed to `spec.recipients` (at least one, at most [`MAX_RECIPIENTS`];
    /// duplicates count once).
    pub async fn begin_sealed(&self, mut spec: SealedSpec) -> Result<SealedUpload, ShareError> {
        let mut seen = std::collections::HashSet::new();
        spec.recipients
            .retain(|r| seen.insert(r.fingerprint.as_str().to_owned()));
        if spec.recipients.is_empty() || spec.recipients.len() > MAX_RECIPIENTS {
            return Err(ShareError::Recipients(RecipientError::TooMany));
        }
        let ttl = self.checked_ttl(spec.ttl)?;
        let policy = self.policy();
        let mut charges = policy.quota.charges(spec.owner.as_ref(), spec.client);
        charges.extend(spec.recipients.iter().map(|r| QuotaCharge {
            tag: QuotaTag::inbox(&r.fingerprint),
            max_shares: policy.inbox_max_shares,
            max_bytes: u64::MAX,
        }));
        let quota_room = self.quota_room(&charges).await?;
        let pipe = Pipe::default();
        let encryptor = age::Encryptor::with_recipients(
            spec.recipients
                .iter()
                .map(|r| &r.age as &dyn age::Recipient),
        )
        .map_err(|_| ShareError::UploadFailed)?;
        let age = encryptor
            .wrap_output(pipe.clone())
            .map_err(|_| ShareError::UploadFailed)?;
        let writer = self.inner.blobs.create().await?;
        Ok(SealedUpload {
            shares: self.clone(),
            spec,
            ttl,
            age: Some(age),
            pipe,
            writer: Some(writer),
            size: 0,
            stored: 0,
            charges,
            quota_room,
            expected: ExpectedCheck::default(),
        })
    }

    /// The shares waiting for `me`, oldest first (their numbers in `inbox` and `get N`).
    pub async fn inbox(&self, me: &Owner) -> Result<Vec<InboxItem>, ShareError> {
        let entries = self
            .inner
            .meta
            .list_charged(&QuotaTag::inbox(me), now_millis())
            .await?;
        let mut items: Vec<InboxItem> = entries
            .into_iter()
            .filter_map(|entry| {
                let sealed = entry.record.sealed.as_ref()?;
                sealed.recipients.contains(me).then(|| InboxItem {
                    key: entry.record.key,
                    handle: entry.record.handle(),
                    from: sealed.from.clone(),
                    label: sealed.label.clone(),
                    kind: entry.record.kind,
                    stored_size: entry.record.stored_size,
                    created_at: entry.record.created_at,
                    expires_at: entry.record.expires_at,
                })
            })
            .collect();
        items.sort_by(|a, b| {
            (a.created_at, a.handle.as_str()).cmp(&(b.created_at, b.handle.as_str()))
        });
        Ok(items)
    }

    /// Claims the sealed share `key` for `me`, who must be one of its recipients (anyone else is
    /// told it does not exist, and nothing changes). At most once, like every claim.
    pub async fn claim_sealed(
        &self,
        me: &Owner,
        key: &StoreKey,
    ) -> Result<SealedClaim, ShareError> {
        let inner = &self.inner;
        let entry = inner
            .meta
            .get(key, now_millis())
            .await?
            .ok_or(ShareError::NotFound)?;
        let recipient = entry
            .record
            .sealed
            .as_ref()
            .is_some_and(|s| s.recipients.contains(me));
        if !recipient {
            return Err(ShareError::NotFound);
        }
        if self.unsettled(key) {
            return Err(ShareError::OutcomeUnknown);
        }
        if let Some(refusal) = ShareError::not_armed(entry.state) {
            return Err(refusal);
        }
        let reader = inner.blobs.open(&entry.record.blob).await?;
        let now = now_millis();
        let op = OpId::generate()?;
        let claimed = self
            .step(
                Pending::of(&entry.record, op),
                inner.meta.claim(key, now, &op),
            )
            .await?;
        let entry = match claimed {
            Outcome::Answered(ClaimOutcome::Claimed(entry)) => entry,
            Outcome::Applied(Applied::Claimed) => entry,
            Outcome::Answered(ClaimOutcome::Refused(entry)) => {
                return Err(ShareError::not_armed(entry.state).unwrap_or(ShareError::NotFound));
            }
            Outcome::Answered(ClaimOutcome::Missing) => return Err(ShareError::NotFound),
            Outcome::Applied(_) | Outcome::NotApplied => return Err(self.now_refused(key).await),
        };
        info!(share = %entry.record.handle(), "sealed share claimed");
        self.emit(ShareEvent::Claimed {
            latency: Duration::ZERO,
        });
        Ok(SealedClaim {
            opened_at: now,
            reader,
            cleanup: ContentCleanup::for_blob(
                inner.blobs.clone(),
                inner.tasks.clone(),
                entry.record.blob,
            ),
            buf: Vec::new(),
        })
    }
}

impl SealedUpload {
    /// Holds `finish` to what the sender announced, as a link upload is; call before the first
    /// `write`.
    pub fn expect(&mut self, expected: Expected) {
        self.expected = ExpectedCheck::new(expected);
    }

    /// Encrypts and stores `data`; past the size limit (or the announced size) nothing more is
    /// accepted and `finish` publishes nothing.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), ShareError> {
        let limit = self.shares.policy().max_size;
        let after = self.size + data.len() as u64;
        if after > limit {
            self.poison();
            return Err(ShareError::TooLarge { limit });
        }
        // Like a link upload: a full quota is found while streaming, not only at finish.
        if let Some((room, full)) = &self.quota_room
            && after > *room
        {
            let full = full.clone();
            self.poison();
            return Err(ShareError::Quota(full));
        }
        if let Err(err) = self.expected.admit(data, after) {
            self.poison();
            return Err(err);
        }
        let age = self.age.as_mut().ok_or(ShareError::UploadFailed)?;
        if age.write_all(data).is_err() {
            self.poison();
            return Err(ShareError::UploadFailed);
        }
        self.size += data.len() as u64;
        if self.pipe.len() >= WRITE_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Finishes the age file, makes the blob durable and publishes the share to the inboxes —
    /// unless the content is empty or not what was announced: then nothing is published.
    pub async fn finish(mut self) -> Result<ArmedSealed, ShareError> {
        if let Err(err) = self.expected.settle(self.size) {
            self.poison();
            return Err(err);
        }
        let age = self.age.take().ok_or(ShareError::UploadFailed)?;
        age.finish().map_err(|_| ShareError::UploadFailed)?;
        self.flush().await?;
        let writer = self.writer.take().ok_or(ShareError::UploadFailed)?;
        let blob = writer.commit().await?;
        let now = now_millis();
        let expires_at = now.saturating_add(self.ttl.as_millis() as u64);
        let kind = if self.spec.label.is_some() {
            Kind::File
        } else {
            Kind::Text
        };
        // No link opens this share: the verifier is that of a key nobody keeps.
        let unused = ShareKey::generate()?;
        let record = ShareRecord {
            key: ShareId::generate()?.store_key(),
            owner: self.spec.owner.clone(),
            kind,
            stored_size: self.stored,
            created_at: now,
            expires_at,
            password: false,
            max_attempts: self.shares.policy().max_attempts,
            verifier: *unused.verifier().as_bytes(),
            sealed_meta: Vec::new(),
            blob: blob.clone(),
            quota: self.charges.iter().map(|c| c.tag.clone()).collect(),
            inline: None,
            sealed: Some(SealedTo {
                recipients: self
                    .spec
                    .recipients
                    .iter()
                    .map(|r| r.fingerprint.clone())
                    .collect(),
                from: self.spec.from.clone(),
                label: self.spec.label.as_ref().map(|n| n.as_str().to_owned()),
            }),
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
                let _ = inner.blobs.remove(&blob).await;
                return Err(ShareError::StoreUnavailable);
            }
            Err(ShareError::OutcomeUnknown) => return Err(ShareError::OutcomeUnknown),
            Err(err) => {
                let _ = inner.blobs.remove(&blob).await;
                return Err(err);
            }
        }
        let handle = record.handle();
        info!(share = %handle, recipients = self.spec.recipients.len(), size = self.size, "sealed share armed");
        self.shares.emit(ShareEvent::Created {
            owner: record.owner.as_ref(),
            client: self.spec.client,
            bytes: self.size,
        });
        Ok(ArmedSealed {
            handle,
            size: self.size,
            expires_at,
            recipients: self.spec.recipients.len(),
        })
    }

    async fn flush(&mut self) -> Result<(), ShareError> {
        let out = self.pipe.take();
        if out.is_empty() {
            return Ok(());
        }
        let writer = self.writer.as_mut().ok_or(ShareError::UploadFailed)?;
        let len = out.len() as u64;
        if let Err(err) = writer.write_owned(out).await {
            self.poison();
            return Err(err.into());
        }
        self.stored += len;
        Ok(())
    }

    fn poison(&mut self) {
        self.age = None;
        self.writer = None;
        self.pipe.take();
    }
}

impl std::fmt::Debug for SealedUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedUpload")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}
