//! [`Shares`]: the facade every ingress path uses. Creation lives in `upload.rs`, claiming in
//! `claim.rs`; this file holds the policy, status views, revocation and maintenance.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::events::Observers;
use super::outcome::{Outcome, Pending};
use super::pasted::{KEY_SEPARATORS, unwrap_pasted};
use super::{
    BlobStore, Handle, MetaStore, Millis, OpId, Owner, RevokeOutcome, ShareEntry, ShareError,
    ShareFacts, ShareId, ShareState, StoreKey, TakedownOutcome, now_millis,
};
use super::{ShareEvent, ShareObserver};
use crate::crypto::{Kind, PasswordKdf};

/// Argon2id cost for new password-bound shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfCost {
    /// m = 64 MiB, t = 3, p = 1: RFC 9106's second recommended option; see docs/benchmarks.md.
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

/// The default shortest expiry a sender may choose (`--min-ttl`): a link must outlive the moment
/// it takes to send it (a zero expiry would publish links that are dead on arrival).
pub const MIN_TTL: Duration = Duration::from_secs(60);
/// No configuration may lower the minimum expiry below this.
pub const MIN_TTL_FLOOR: Duration = Duration::from_secs(1);

/// Operator choices that bound every share.
#[derive(Clone, Debug)]
pub struct Policy {
    pub public_url: String,
    pub max_size: u64,
    pub default_ttl: Duration,
    /// Shortest expiry a sender may choose (never below [`MIN_TTL_FLOOR`]).
    pub min_ttl: Duration,
    pub max_ttl: Duration,
    pub max_attempts: u32,
    pub kdf_cost: KdfCost,
    /// How many Argon2 derivations may run at once (each holds `memory_kib`): the number of
    /// low-priority threads they run on.
    pub kdf_concurrency: usize,
    /// How long a password check waits for a free Argon2 thread before it is told "busy" (a
    /// claim that is told so has spent no attempt).
    pub kdf_wait: Duration,
    /// Unreferenced blobs younger than this are left alone by orphan cleanup.
    pub orphan_grace: Duration,
    /// How long a request may spend finding out whether a state change whose store call failed
    /// happened; also how long a spent share's blob is kept before the sweeper removes it.
    pub settle_window: Duration,
    /// Live shares and bytes per key and per address.
    pub quota: super::Quota,
    /// Shares whose sealed content is at most this many bytes live inside their metadata record
    /// (no blob file, no file operations on the claim path); larger ones stream through a blob.
    pub inline_max: u64,
    /// Shares sealed to one recipient key that may wait in its inbox at once.
    pub inbox_max_shares: u32,
}

/// Default [`Policy::inline_max`]: covers API keys, passwords and `.env` files, and keeps each
/// record small enough that the stores' `get` (status page, claim) stays cheap.
pub const INLINE_MAX: u64 = 16 * 1024;

impl Default for Policy {
    fn default() -> Self {
        Self {
            public_url: "http://localhost:8080".into(),
            max_size: 256 * 1024 * 1024,
            default_ttl: Duration::from_secs(24 * 3600),
            min_ttl: MIN_TTL,
            max_ttl: Duration::from_secs(7 * 24 * 3600),
            max_attempts: 5,
            kdf_cost: KdfCost::default(),
            kdf_concurrency: crate::crypto::default_kdf_threads(),
            kdf_wait: crate::crypto::DEFAULT_KDF_WAIT,
            orphan_grace: Duration::from_secs(3600),
            settle_window: Duration::from_secs(10),
            quota: super::Quota::default(),
            inline_max: INLINE_MAX,
            inbox_max_shares: 50,
        }
    }
}

/// What anyone may learn about a share without its key (status page) or as its owner (`ls`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareStatus {
    pub handle: Handle,
    pub kind: Kind,
    pub stored_size: u64,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub password: bool,
    pub max_attempts: u32,
    pub attempts: u32,
    pub state: StatusState,
}

impl ShareStatus {
    /// Armed but past its expiry (the sweeper has not removed it yet): every surface shows it
    /// as expired, never as a live share.
    pub fn is_expired(&self, now: Millis) -> bool {
        self.state == StatusState::Armed && self.expires_at <= now
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusState {
    Armed,
    Opened { at: Millis },
    Revoked { at: Millis },
    TakenDown { at: Millis },
    Locked,
}

impl StatusState {
    pub fn label(&self) -> &'static str {
        match self {
            StatusState::Armed => "armed",
            StatusState::Opened { .. } => "opened",
            StatusState::Revoked { .. } => "revoked",
            StatusState::TakenDown { .. } => "removed",
            StatusState::Locked => "locked",
        }
    }
}

impl ShareStatus {
    /// The status of the share stored under `key`, from its public facts.
    pub fn of(key: &StoreKey, facts: &ShareFacts) -> Self {
        let state = match facts.state {
            ShareState::Opened { at } => StatusState::Opened { at },
            ShareState::Revoked { at } => StatusState::Revoked { at },
            ShareState::TakenDown { at } => StatusState::TakenDown { at },
            ShareState::Armed if facts.is_locked() => StatusState::Locked,
            ShareState::Armed => StatusState::Armed,
        };
        let r = &facts.record;
        Self {
            handle: key.handle(),
            kind: r.kind,
            stored_size: r.stored_size,
            created_at: r.created_at,
            expires_at: r.expires_at,
            password: r.password,
            max_attempts: r.max_attempts,
            attempts: facts.attempts,
            state,
        }
    }
}

impl From<&ShareEntry> for ShareStatus {
    fn from(entry: &ShareEntry) -> Self {
        ShareStatus::of(&entry.record.key, &entry.facts())
    }
}

/// What an operator may see of a share: its status and owner, never its name or content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareOverview {
    pub status: ShareStatus,
    pub owner: Option<Owner>,
}

/// Which share an operator means: the id from a reported link, or a handle prefix (≥ 4 hex
/// characters) from `admin shares` or a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareRef {
    Id(ShareId),
    Handle(String),
}

impl ShareRef {
    /// Accepts a link (`…/s/<id>#<key>`: the key is ignored, never kept) as pasted from mail
    /// (wrapped, percent-encoded: see `pasted.rs`), a bare id, or a handle prefix.
    pub fn parse(text: &str) -> Option<ShareRef> {
        let text = unwrap_pasted(text);
        let without_key = text.split(['#', '*']).next().unwrap_or_default().trim();
        if let Some((_, rest)) = without_key.rsplit_once("/s/") {
            let id = rest.split(KEY_SEPARATORS).next().unwrap_or_default();
            return ShareId::parse(id).map(ShareRef::Id);
        }
        if let Some(id) = ShareId::parse(without_key) {
            return Some(ShareRef::Id(id));
        }
        let hex = without_key.len() >= 4
            && without_key.len() <= 64
            && without_key.bytes().all(|b| b.is_ascii_hexdigit());
        hex.then(|| ShareRef::Handle(without_key.to_ascii_lowercase()))
    }
}

/// Whose shares an operator means by `takedown --from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    Key(Owner),
    /// Every address of its client group (an IPv4 address, an IPv6 /64).
    Address(std::net::IpAddr),
}

/// What one maintenance pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    /// Blobs of opened, revoked or taken-down shares (most were already gone).
    pub spent: usize,
    pub orphans: usize,
}

/// The share lifecycle. Cheap to clone; one per process, shared by every session and request.
#[derive(Clone)]
pub struct Shares {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) meta: Arc<dyn MetaStore>,
    pub(super) blobs: Arc<dyn BlobStore>,
    pub(super) kdf: PasswordKdf,
    pub(super) policy: Policy,
    pub(super) observers: Observers,
    /// Clean-ups spawned from `Drop` (a claimed blob whose download was cut): tracked so
    /// shutdown can wait for them instead of leaving the blob until the share expires.
    pub(super) tasks: tokio_util::task::TaskTracker,
    /// State changes whose outcome is being settled in the background (see `outcome.rs`).
    pub(super) pending: std::sync::Mutex<Vec<super::outcome::Pending>>,
}

impl Shares {
    pub fn new(meta: Arc<dyn MetaStore>, blobs: Arc<dyn BlobStore>, policy: Policy) -> Self {
        Self::with_observers(meta, blobs, policy, Vec::new())
    }

    /// Like [`Shares::new`], reporting every lifecycle step to `observers`.
    pub fn with_observers(
        meta: Arc<dyn MetaStore>,
        blobs: Arc<dyn BlobStore>,
        policy: Policy,
        observers: Vec<Arc<dyn ShareObserver>>,
    ) -> Self {
        let kdf = PasswordKdf::new(policy.kdf_concurrency, policy.kdf_wait);
        let mut list = Observers::default();
        for observer in observers {
            list.add(observer);
        }
        Self {
            inner: Arc::new(Inner {
                meta,
                blobs,
                kdf,
                policy,
                observers: list,
                tasks: tokio_util::task::TaskTracker::new(),
                pending: std::sync::Mutex::new(Vec::new()),
            }),
        }
    }

    pub(super) fn emit(&self, event: ShareEvent<'_>) {
        self.inner.observers.emit(event);
    }

    /// Waits for clean-ups still running in the background (blobs of claimed shares whose
    /// download was cut). For shutdown: call it after the last request has ended.
    pub async fn settle(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        self.inner.tasks.reopen();
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// Non-consuming status: what a link previewer or the status page may see. `None` for a share
    /// that never existed or has expired (indistinguishable on purpose).
    pub async fn peek(&self, id: &ShareId) -> Result<Option<ShareStatus>, ShareError> {
        let key = id.store_key();
        let facts = self.inner.meta.peek(&key, now_millis()).await?;
        Ok(facts.map(|facts| {
            let mut status = ShareStatus::of(&key, &facts);
            // An opening nobody was told about is being undone: it is not "already opened".
            if matches!(status.state, StatusState::Opened { .. }) && self.unsettled(&key) {
                status.state = StatusState::Armed;
            }
            status
        }))
    }

    /// The owner's unexpired shares, newest first.
    pub async fn list(&self, owner: &Owner) -> Result<Vec<ShareStatus>, ShareError> {
        let mut entries = self.inner.meta.list_by_owner(owner, now_millis()).await?;
        entries.sort_by_key(|e| std::cmp::Reverse(e.record.created_at));
        Ok(entries.iter().map(|entry| self.status_of(entry)).collect())
    }

    /// What a sender or the status page is told of `entry`. An opening nobody was told about
    /// is being undone: it is not "opened".
    fn status_of(&self, entry: &ShareEntry) -> ShareStatus {
        let mut status = ShareStatus::from(entry);
        if matches!(status.state, StatusState::Opened { .. }) && self.unsettled(&entry.record.key) {
            status.state = StatusState::Armed;
        }
        status
    }

    /// Revokes one of the owner's shares by handle (or an unambiguous prefix of it, ≥ 4 chars).
    /// Its blob is deleted at once; the record stays until expiry so the link reads "revoked".
    pub async fn revoke(&self, owner: &Owner, handle: &str) -> Result<ShareStatus, ShareError> {
        let now = now_millis();
        let mut matches = self
            .inner
            .meta
            .list_by_owner(owner, now)
            .await?
            .into_iter()
            .filter(|e| e.record.handle().starts_with(handle));
        let entry = matches.next().ok_or(ShareError::NotFound)?;
        if matches.next().is_some() {
            return Err(ShareError::Ambiguous(handle.to_owned()));
        }
        let op = OpId::generate()?;
        let outcome = self
            .step(
                Pending::of(&entry.record, op),
                self.inner.meta.revoke(&entry.record.key, owner, now, &op),
            )
            .await?;
        let outcome = match outcome {
            Outcome::Answered(outcome) => outcome,
            Outcome::Applied(_) => RevokeOutcome::Revoked(entry),
            Outcome::NotApplied => return Err(self.now_refused(&entry.record.key).await),
        };
        match outcome {
            RevokeOutcome::Revoked(entry) => {
                self.remove_content(&entry).await;
                info!(share = %entry.record.handle(), "share revoked");
                self.emit(ShareEvent::Revoked);
                let mut status = ShareStatus::from(&entry);
                status.state = StatusState::Revoked { at: now };
                Ok(status)
            }
            RevokeOutcome::Refused(entry) => {
                Err(ShareError::not_armed(entry.state).unwrap_or(ShareError::NotFound))
            }
            RevokeOutcome::Missing => Err(ShareError::NotFound),
        }
    }

    /// Every live share as an operator may see it, newest first.
    pub async fn overview(&self) -> Result<Vec<ShareOverview>, ShareError> {
        let mut entries = self.inner.meta.list_all(now_millis()).await?;
        entries.sort_by_key(|e| std::cmp::Reverse(e.record.created_at));
        Ok(entries
            .iter()
            .map(|entry| ShareOverview {
                status: ShareStatus::from(entry),
                owner: entry.record.owner.clone(),
            })
            .collect())
    }

    /// An operator's takedown: the share is marked removed in one atomic step (a claim racing it
    /// either wins first or finds it gone) and its blob is deleted at once; the record stays
    /// until expiry so the link reads "removed by the operator".
    pub async fn take_down(&self, target: &ShareRef) -> Result<ShareOverview, ShareError> {
        let now = now_millis();
        let key = match target {
            ShareRef::Id(id) => id.store_key(),
            ShareRef::Handle(prefix) => {
                let mut matches = self
                    .inner
                    .meta
                    .list_all(now)
                    .await?
                    .into_iter()
                    .filter(|e| e.record.key.to_hex().starts_with(prefix.as_str()));
                let entry = matches.next().ok_or(ShareError::NotFound)?;
                if matches.next().is_some() {
                    return Err(ShareError::Ambiguous(prefix.clone()));
                }
                entry.record.key
            }
        };
        self.take_down_key(&key, now).await
    }

    /// An operator's takedown of every live share from one sender — its key, or its address
    /// group — each as [`Shares::take_down`] does it; returns those taken down (a share claimed
    /// or revoked meanwhile is skipped: its own step won).
    pub async fn take_down_from(&self, from: &Sender) -> Result<Vec<ShareOverview>, ShareError> {
        let now = now_millis();
        let tag = match from {
            Sender::Key(_) => None,
            Sender::Address(ip) => Some(super::QuotaTag::address(*ip)),
        };
        let mut removed = Vec::new();
        for entry in self.inner.meta.list_all(now).await? {
            let matches = match from {
                Sender::Key(owner) => entry.record.owner.as_ref() == Some(owner),
                Sender::Address(_) => tag.as_ref().is_some_and(|t| entry.record.quota.contains(t)),
            };
            if !matches || entry.state != ShareState::Armed {
                continue;
            }
            match self.take_down_key(&entry.record.key, now).await {
                Ok(overview) => removed.push(overview),
                Err(ShareError::NotFound | ShareError::AlreadyOpened { .. })
                | Err(ShareError::Revoked { .. } | ShareError::TakenDown { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(removed)
    }

    /// One takedown, as an atomic store step carrying its op id (settled if the store stalls).
    async fn take_down_key(
        &self,
        key: &StoreKey,
        now: Millis,
    ) -> Result<ShareOverview, ShareError> {
        let entry = self
            .inner
            .meta
            .get(key, now)
            .await?
            .ok_or(ShareError::NotFound)?;
        let op = OpId::generate()?;
        let outcome = self
            .step(
                Pending::of(&entry.record, op),
                self.inner.meta.take_down(key, now, &op),
            )
            .await?;
        let outcome = match outcome {
            Outcome::Answered(outcome) => outcome,
            Outcome::Applied(_) => TakedownOutcome::TakenDown(entry),
            Outcome::NotApplied => return Err(self.now_refused(key).await),
        };
        match outcome {
            TakedownOutcome::TakenDown(entry) => {
                self.remove_content(&entry).await;
                info!(share = %entry.record.handle(), "share taken down by an operator");
                self.emit(ShareEvent::TakenDown);
                let mut status = ShareStatus::from(&entry);
                status.state = StatusState::TakenDown { at: now };
                Ok(ShareOverview {
                    status,
                    owner: entry.record.owner.clone(),
                })
            }
            TakedownOutcome::Refused(entry) => {
                Err(ShareError::not_armed(entry.state).unwrap_or(ShareError::NotFound))
            }
            TakedownOutcome::Missing => Err(ShareError::NotFound),
        }
    }

    /// After a state change settled as not done: why the share is not changed now — its current
    /// refusal, or "unavailable, nothing changed" while it is still armed.
    pub(super) async fn now_refused(&self, key: &StoreKey) -> ShareError {
        match self.inner.meta.get(key, now_millis()).await {
            Ok(Some(entry)) => ShareError::not_armed(entry.state)
                .filter(|_| !self.unsettled(key))
                .unwrap_or(ShareError::StoreUnavailable),
            Ok(None) => ShareError::NotFound,
            Err(err) => err.into(),
        }
    }

    /// One maintenance pass: drop expired shares and their blobs, then the blobs of shares no
    /// claim will read again (opened, revoked, taken down — after the settle window, and never
    /// while one of their changes is being settled), then blobs nothing refers to.
    pub async fn sweep(&self) -> Result<SweepReport, ShareError> {
        let now = now_millis();
        let settled_before = now.saturating_sub(self.inner.policy.settle_window.as_millis() as u64);
        let spent = self.inner.meta.take_spent(settled_before).await?;
        let unsettled = self.unsettled_blobs();
        let mut removed_spent = 0;
        for blob in spent.iter().filter(|b| !unsettled.contains(b)) {
            match self.inner.blobs.remove(blob).await {
                Ok(()) => removed_spent += 1,
                Err(err) => warn!(error = %err, "could not remove a spent blob"),
            }
        }
        let expired = self.inner.meta.take_expired(now).await?;
        for blob in &expired {
            if let Err(err) = self.inner.blobs.remove(blob).await {
                warn!(error = %err, "could not remove an expired blob");
            }
        }
        if !expired.is_empty() {
            self.emit(ShareEvent::Expired {
                count: expired.len(),
            });
        }
        let live = self.inner.meta.live_blobs(now).await?;
        let orphans = self
            .inner
            .blobs
            .remove_orphans(&live, self.inner.policy.orphan_grace)
            .await?;
        Ok(SweepReport {
            expired: expired.len(),
            spent: removed_spent,
            orphans,
        })
    }

    /// Runs [`Shares::sweep`] now and then every `interval` until `shutdown` resolves.
    pub async fn run_sweeper(&self, interval: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut ticker = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = ticker.tick() => match self.sweep().await {
                    Ok(report) if report != SweepReport::default() => {
                        info!(expired = report.expired, spent = report.spent, orphans = report.orphans, "sweep");
                    }
                    Ok(_) => {}
                    Err(err) => warn!(error = %err, "sweep failed; will retry"),
                },
            }
        }
    }

    /// Store reachability, for `/healthz`: share state and share content alike (a replica that
    /// cannot reach its object store can neither take nor serve a share).
    pub async fn health(&self) -> Result<(), ShareError> {
        let (meta, blobs) = tokio::join!(self.inner.meta.ping(), self.inner.blobs.ping());
        meta?;
        Ok(blobs?)
    }

    /// Deletes the content of a share that left `Armed`: its blob, or its inline bytes.
    pub(super) async fn remove_content(&self, entry: &ShareEntry) {
        let removed = if entry.record.inline.is_some() {
            self.inner.meta.drop_inline(&entry.record.key).await
        } else {
            self.inner.blobs.remove(&entry.record.blob).await
        };
        if let Err(err) = removed {
            warn!(share = %entry.record.handle(), error = %err, "could not remove the content; the sweeper will");
        }
    }
}
