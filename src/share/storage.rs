//! The two seams between the share lifecycle and the outside world: [`MetaStore`] (share state,
//! Redis or embedded) and [`BlobStore`] (encrypted content: a directory, or an S3-compatible
//! object store). Implementations live in `crate::store`; the guarantees live here, and one contract
//! test suite (`tests/e2e/store_contract.rs`) holds every implementation to them.
//!
//! Atomic operations are required methods with their guarantee documented, never defaults built
//! from other calls: composing `get` + `set` is exactly the race that served the original
//! OneTimeShare's "one-time" links eight times.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use super::{
    Millis, Owner, QuotaCharge, QuotaExceeded, QuotaTag, QuotaUsage, ShareEntry, ShareFacts,
    ShareRecord, StoreKey,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service cannot be reached or answered with an error; retrying later may work.
    #[error("share storage is unavailable: {0}")]
    Unavailable(String),
    /// The request certainly changed nothing: the service could not be reached (the request
    /// was never sent) or its transaction failed. Unlike [`StoreError::Unavailable`], after
    /// which a change may still have happened.
    #[error("share storage made no change: {0}")]
    NotApplied(String),
    #[error("a share with this id already exists")]
    AlreadyExists,
    #[error("no space left for share storage")]
    Full,
    #[error("stored share data is unreadable: {0}")]
    Corrupt(String),
    #[error("share content is missing")]
    BlobMissing,
    /// An insert would take a key or an address over its quota; nothing was inserted.
    #[error(transparent)]
    QuotaExceeded(#[from] QuotaExceeded),
    #[error("share storage I/O error: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for StoreError {
    fn from(err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => StoreError::Full,
            std::io::ErrorKind::NotFound => StoreError::BlobMissing,
            _ => StoreError::Io(err),
        }
    }
}

/// Outcome of [`MetaStore::claim`].
#[derive(Debug)]
pub enum ClaimOutcome {
    /// This caller won: the share is now `Opened`. The entry is as it was just before.
    Claimed(ShareEntry),
    /// The share exists but is not armed (already opened, revoked); nothing changed.
    Refused(ShareEntry),
    /// No such share, or it has expired.
    Missing,
}

/// Outcome of [`MetaStore::spend_attempt`].
#[derive(Debug)]
pub enum AttemptOutcome {
    /// The caller may check one password; this was attempt number `attempt` of `max`.
    Granted {
        attempt: u32,
        max: u32,
    },
    /// All attempts are spent; the share stays, locked.
    Locked,
    /// Not armed any more (opened or revoked).
    NotArmed(Box<ShareEntry>),
    Missing,
}

/// Outcome of [`MetaStore::revoke`].
#[derive(Debug)]
pub enum RevokeOutcome {
    /// The share is now `Revoked`; its blob may be deleted.
    Revoked(ShareEntry),
    /// It is the owner's but not armed any more; nothing changed.
    Refused(ShareEntry),
    /// No such share for this owner (or expired).
    Missing,
}

/// Outcome of [`MetaStore::take_down`].
#[derive(Debug)]
pub enum TakedownOutcome {
    /// The share is now `TakenDown`; its blob may be deleted. The entry is as it was just before.
    TakenDown(ShareEntry),
    /// Not armed any more (opened, revoked, already taken down); nothing changed.
    Refused(ShareEntry),
    /// No such share (or expired).
    Missing,
}

/// The name of one attempted state change (random, per request). Every mutating call carries one
/// and the store records it with the change it made, so a caller whose call got no answer (a
/// stalled Redis runs the command later, or never) can find out what happened with
/// [`MetaStore::settle`] instead of guessing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpId([u8; 16]);

impl OpId {
    pub fn generate() -> Result<Self, crate::crypto::CryptoError> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(|_| crate::crypto::CryptoError::Rng)?;
        Ok(Self(raw))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for OpId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpId({})", self.to_hex())
    }
}

/// What an applied state change did, as [`MetaStore::settle`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Inserted,
    Claimed,
    Granted { attempt: u32, max: u32 },
    Revoked,
    TakenDown,
}

impl Applied {
    /// The ledger text both stores keep per applied change.
    pub fn encode(&self) -> String {
        match self {
            Applied::Inserted => "ins".into(),
            Applied::Claimed => "clm".into(),
            Applied::Granted { attempt, max } => format!("att:{attempt}:{max}"),
            Applied::Revoked => "rev".into(),
            Applied::TakenDown => "tdn".into(),
        }
    }

    /// `None` for the ledger's other marks: `void` (settled as never applied) and `undone`.
    pub fn decode(text: &str) -> Option<Applied> {
        match text {
            "ins" => Some(Applied::Inserted),
            "clm" => Some(Applied::Claimed),
            "rev" => Some(Applied::Revoked),
            "tdn" => Some(Applied::TakenDown),
            other => {
                let mut parts = other.strip_prefix("att:")?.split(':');
                let attempt = parts.next()?.parse().ok()?;
                let max = parts.next()?.parse().ok()?;
                Some(Applied::Granted { attempt, max })
            }
        }
    }
}

/// Ledger mark of a change settled as never applied: the change, arriving late, does nothing.
pub const LEDGER_VOID: &str = "void";
/// Ledger mark of a change reverted by [`MetaStore::undo`].
pub const LEDGER_UNDONE: &str = "undone";

/// Share state. Every method takes `now` so expiry is decided by the caller's clock and tests can
/// move time. A share whose `expires_at <= now` is treated as absent by every method, even before
/// a sweep removes it.
///
/// Every mutating method takes an [`OpId`]: the store records it with the change it makes, and a
/// change whose id was already settled (see [`MetaStore::settle`]) does nothing at all.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    /// **Atomic.** Stores a new `Armed` share (attempts 0) that disappears at
    /// `record.expires_at`, charged to each of `charges` (whose tags are `record.quota`), and
    /// records `op` as having inserted it. Fails with [`StoreError::AlreadyExists`] if the key is
    /// taken (never overwrites) or `op` was already settled as never done, and with
    /// [`StoreError::QuotaExceeded`] — inserting nothing — if after it some charge's tag would
    /// hold more than `max_shares` live shares or `max_bytes` live `stored_size`. Live means
    /// `Armed` (locked included) and unexpired: a claim, revoke or takedown releases the charge
    /// in its own atomic step, and expiry releases it by itself. Of any number of concurrent
    /// inserts (across processes sharing the store), none takes a tag over its limits.
    async fn insert(
        &self,
        record: &ShareRecord,
        charges: &[QuotaCharge],
        op: &OpId,
    ) -> Result<(), StoreError>;

    /// What `tag` holds at `now`: its live shares and their stored bytes (a snapshot, for
    /// refusing early; [`MetaStore::insert`] is the check that cannot be raced).
    async fn quota_usage(&self, tag: &QuotaTag, now: Millis) -> Result<QuotaUsage, StoreError>;

    /// The current entry, without changing anything.
    async fn get(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareEntry>, StoreError>;

    /// The current entry's public facts, without changing anything: what a status page shows.
    /// Every link previewer fetches that page, so this reads neither the inline content nor the
    /// record's other fields (see [`ShareFacts`]).
    async fn peek(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareFacts>, StoreError>;

    /// **Atomic.** If the share is `Armed` and unexpired, mark it `Opened { at: now }` and report
    /// `Claimed`. Of any number of concurrent calls (across processes sharing the store) at most
    /// one sees `Claimed`. The state change is durable before this returns. A winning claim
    /// releases the share's quota charges in the same step (so do `revoke` and `take_down`), and
    /// drops a small share's inline content ([`ShareRecord::inline`](super::ShareRecord)): the
    /// claimant read it with the entry it checked its key against, and a spent share's
    /// ciphertext is gone in the very step that spends it.
    async fn claim(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<ClaimOutcome, StoreError>;

    /// **Atomic.** If the share is `Armed`, unexpired and `attempts < max_attempts`, increment
    /// `attempts` and report `Granted`; otherwise change nothing. Of N concurrent calls at most
    /// `max_attempts - attempts` are granted. Never deletes the share.
    async fn spend_attempt(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<AttemptOutcome, StoreError>;

    /// **Atomic.** If `owner` owns the share and it is `Armed`, mark it `Revoked { at: now }`.
    /// A share of another owner is reported `Missing`, indistinguishable from none.
    async fn revoke(
        &self,
        key: &StoreKey,
        owner: &Owner,
        now: Millis,
        op: &OpId,
    ) -> Result<RevokeOutcome, StoreError>;

    /// **Atomic.** If the share is `Armed` (locked or not) and unexpired, mark it
    /// `TakenDown { at: now }`: an operator's takedown, whoever owns it. Of concurrent claims and
    /// takedowns exactly one wins.
    async fn take_down(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<TakedownOutcome, StoreError>;

    /// **Atomic.** What the change `op` did to the share under `key`: `Some` if it was applied
    /// (and not undone); otherwise `None`, and the store records that it never will be — `op`
    /// arriving later (a command queued behind a stalled server) changes nothing. Either way the
    /// answer is final: a second `settle` of the same `op` answers the same.
    async fn settle(&self, key: &StoreKey, op: &OpId) -> Result<Option<Applied>, StoreError>;

    /// **Atomic.** Reverts the applied change `op` whose requester was never told its outcome,
    /// when nothing has happened to the share since: an insert is deleted (while armed), a claim
    /// re-armed (while opened), a granted attempt refunded (while armed). Revokes and takedowns
    /// stand. True if something was reverted; later `settle`s of `op` answer `None`. A re-armed
    /// claim gets its inline content back from `inline` (what the claimant read; `None` for a
    /// share whose content is a blob), since the claim dropped it.
    async fn undo(
        &self,
        key: &StoreKey,
        op: &OpId,
        inline: Option<&[u8]>,
    ) -> Result<bool, StoreError>;

    /// Drops the inline content ([`ShareRecord::inline`]) of a share that has left `Armed`
    /// (revoked, taken down; a claim drops it itself), as deleting its blob would. Does nothing to an armed share — a late call never empties a share that can still
    /// be claimed — nor to a missing one.
    async fn drop_inline(&self, key: &StoreKey) -> Result<(), StoreError>;

    /// Blob names of shares that left `Armed` (opened, revoked, taken down) at or before `before`,
    /// each reported once (across concurrent sweepers too): no claim will ever read them again.
    async fn take_spent(&self, before: Millis) -> Result<Vec<BlobName>, StoreError>;

    /// Every unexpired share, in any order (the operator console's view; it never decrypts).
    async fn list_all(&self, now: Millis) -> Result<Vec<ShareEntry>, StoreError>;

    /// All unexpired shares of `owner`, in any order.
    async fn list_by_owner(
        &self,
        owner: &Owner,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError>;

    /// The unexpired, still `Armed` shares charged to `tag` (a recipient's inbox: see
    /// [`QuotaTag::inbox`]), in any order. A share leaves this list in the same atomic step that
    /// claims, revokes or takes it down, and by itself at its expiry.
    async fn list_charged(
        &self,
        tag: &QuotaTag,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError>;

    /// Removes every share that has expired by `now` and returns the names of their blobs, each
    /// name reported once (across concurrent sweepers too), so the caller can delete them.
    async fn take_expired(&self, now: Millis) -> Result<Vec<BlobName>, StoreError>;

    /// Blob names of all shares not yet expired: orphan cleanup must keep these.
    async fn live_blobs(&self, now: Millis) -> Result<HashSet<BlobName>, StoreError>;

    /// Cheap reachability check for `/healthz`.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A server-chosen blob name: lowercase hex, so it is safe as a file name or object key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobName(String);

impl BlobName {
    pub fn generate() -> Result<Self, crate::crypto::CryptoError> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(|_| crate::crypto::CryptoError::Rng)?;
        Ok(Self(hex::encode(raw)))
    }

    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BlobName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        BlobName::parse(&text).ok_or_else(|| "invalid blob name".to_owned())
    }
}

impl From<BlobName> for String {
    fn from(name: BlobName) -> String {
        name.0
    }
}

/// A readable blob, positioned at its first byte.
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

/// Encrypted share content.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Starts a new blob. Nothing is visible under a final name until [`BlobWriter::commit`].
    async fn create(&self) -> Result<Box<dyn BlobWriter>, StoreError>;

    async fn open(&self, name: &BlobName) -> Result<BlobReader, StoreError>;

    /// Deletes a blob; deleting one that is already gone is not an error.
    async fn remove(&self, name: &BlobName) -> Result<(), StoreError>;

    /// Deletes unfinished uploads and committed blobs not in `live`, but only those untouched for
    /// `grace` (another instance may be between commit and metadata insert). Returns how many.
    async fn remove_orphans(
        &self,
        live: &HashSet<BlobName>,
        grace: Duration,
    ) -> Result<usize, StoreError>;

    /// Cheap reachability check for `/healthz`: the blobs can be written and read right now.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A blob being written. Dropping it without `commit` discards everything written.
#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError>;

    /// Like [`write`](BlobWriter::write), but takes the buffer, so a writer that can hand it to
    /// storage as it is does not copy it; returns an empty buffer (perhaps an earlier one, with
    /// its capacity) to fill next. Writers that copy anyway keep this default.
    async fn write_owned(&mut self, mut data: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.write(&data).await?;
        data.clear();
        Ok(data)
    }

    /// Makes the blob durable (data synced, then published under its final name).
    async fn commit(self: Box<Self>) -> Result<BlobName, StoreError>;
}
