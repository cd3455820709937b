//! The one-time share lifecycle: the only place that sequences crypto and storage.
//!
//! It owns the seams ([`MetaStore`], [`BlobStore`]) and the rules on top of them: a share is
//! published only after its blob is durable; a claim is one atomic store step before any byte is
//! decrypted; a password attempt is counted atomically before Argon2 runs, and only for a
//! requester who proved it holds the link key; a locked share is never deleted by failures.
//! Ingress (SSH, HTTP, the TUI) calls [`Shares`] and nothing below it.
//!
//! Each transition (created, claimed, delivered, locked, revoked, expired) is emitted once, where
//! it is decided, as a [`ShareEvent`] to the [`ShareObserver`]s given at construction — metrics
//! today, an activity log tomorrow — never with an id, key, name or content.

mod claim;
mod content;
mod error;
mod events;
mod expected;
mod id;
mod lifecycle;
mod link;
mod name;
mod outcome;
mod pasted;
mod quota;
mod record;
mod sealed;
mod sniff;
mod storage;
mod upload;

pub use claim::{ClaimBody, Claimed};
pub use error::ShareError;
pub use events::{ShareEvent, ShareObserver};
pub use expected::Expected;
pub use id::{HANDLE_CHARS, Handle, ShareId, StoreKey};
pub use lifecycle::{
    INLINE_MAX, KdfCost, MIN_TTL, MIN_TTL_FLOOR, Policy, Sender, ShareOverview, ShareRef,
    ShareStatus, Shares, StatusState, SweepReport,
};
pub use link::Link;
pub use name::{MAX_NAME_BYTES, NameError, ShareName};
pub use pasted::{unwrap_pasted, without_link_key};
pub use quota::{Quota, QuotaCharge, QuotaExceeded, QuotaScope, QuotaTag, QuotaUsage};
pub use record::{
    Millis, Owner, RecordFacts, ShareEntry, ShareFacts, ShareRecord, ShareState, now_millis,
};
pub use sealed::{
    ArmedSealed, InboxItem, MAX_RECIPIENTS, Recipient, RecipientError, SealedClaim, SealedSpec,
    SealedTo, SealedUpload,
};
pub use storage::{
    Applied, AttemptOutcome, BlobName, BlobReader, BlobStore, BlobWriter, ClaimOutcome,
    LEDGER_UNDONE, LEDGER_VOID, MetaStore, OpId, RevokeOutcome, StoreError, TakedownOutcome,
};
pub use upload::{Armed, Upload, UploadSpec};
