//! Counting wrappers around the stores: the same [`MetaStore`] / [`BlobStore`] seen through a
//! layer that adds one to `onetimeshare_store_errors_total{store,op}` for every `Err` an
//! operation returns, and otherwise passes everything through untouched. Wrapping at the seam
//! (once, in `App::build`) counts every error without a counting call beside every `?` in the
//! share lifecycle, and keeps the guarantees of the wrapped store: each call is exactly one call.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::Metrics;
use crate::share::{
    Applied, AttemptOutcome, BlobName, BlobReader, BlobStore, BlobWriter, ClaimOutcome, MetaStore,
    Millis, OpId, Owner, QuotaCharge, QuotaTag, QuotaUsage, RevokeOutcome, ShareEntry, ShareFacts,
    ShareRecord, StoreError, StoreKey, TakedownOutcome,
};

/// A store operation, the `store` and `op` labels of `onetimeshare_store_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    MetaInsert,
    MetaGet,
    MetaPeek,
    MetaClaim,
    MetaSpendAttempt,
    MetaRevoke,
    MetaTakeDown,
    MetaListAll,
    MetaListByOwner,
    MetaListCharged,
    MetaQuotaUsage,
    MetaTakeExpired,
    MetaLiveBlobs,
    MetaPing,
    MetaSettle,
    MetaUndo,
    MetaTakeSpent,
    MetaDropInline,
    BlobCreate,
    BlobWrite,
    BlobCommit,
    BlobOpen,
    BlobRemove,
    BlobRemoveOrphans,
    BlobPing,
}

impl StoreOp {
    pub const ALL: [StoreOp; 25] = [
        StoreOp::MetaInsert,
        StoreOp::MetaGet,
        StoreOp::MetaPeek,
        StoreOp::MetaClaim,
        StoreOp::MetaSpendAttempt,
        StoreOp::MetaRevoke,
        StoreOp::MetaTakeDown,
        StoreOp::MetaListAll,
        StoreOp::MetaListByOwner,
        StoreOp::MetaListCharged,
        StoreOp::MetaQuotaUsage,
        StoreOp::MetaTakeExpired,
        StoreOp::MetaLiveBlobs,
        StoreOp::MetaPing,
        StoreOp::MetaSettle,
        StoreOp::MetaUndo,
        StoreOp::MetaTakeSpent,
        StoreOp::MetaDropInline,
        StoreOp::BlobCreate,
        StoreOp::BlobWrite,
        StoreOp::BlobCommit,
        StoreOp::BlobOpen,
        StoreOp::BlobRemove,
        StoreOp::BlobRemoveOrphans,
        StoreOp::BlobPing,
    ];

    /// `(store, op)` label values.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            StoreOp::MetaInsert => ("meta", "insert"),
            StoreOp::MetaGet => ("meta", "get"),
            StoreOp::MetaPeek => ("meta", "peek"),
            StoreOp::MetaClaim => ("meta", "claim"),
            StoreOp::MetaSpendAttempt => ("meta", "spend_attempt"),
            StoreOp::MetaRevoke => ("meta", "revoke"),
            StoreOp::MetaTakeDown => ("meta", "take_down"),
            StoreOp::MetaListAll => ("meta", "list_all"),
            StoreOp::MetaListByOwner => ("meta", "list_by_owner"),
            StoreOp::MetaListCharged => ("meta", "list_charged"),
            StoreOp::MetaQuotaUsage => ("meta", "quota_usage"),
            StoreOp::MetaTakeExpired => ("meta", "take_expired"),
            StoreOp::MetaLiveBlobs => ("meta", "live_blobs"),
            StoreOp::MetaPing => ("meta", "ping"),
            StoreOp::MetaSettle => ("meta", "settle"),
            StoreOp::MetaUndo => ("meta", "undo"),
            StoreOp::MetaTakeSpent => ("meta", "take_spent"),
            StoreOp::MetaDropInline => ("meta", "drop_inline"),
            StoreOp::BlobCreate => ("blob", "create"),
            StoreOp::BlobWrite => ("blob", "write"),
            StoreOp::BlobCommit => ("blob", "commit"),
            StoreOp::BlobOpen => ("blob", "open"),
            StoreOp::BlobRemove => ("blob", "remove"),
            StoreOp::BlobRemoveOrphans => ("blob", "remove_orphans"),
            StoreOp::BlobPing => ("blob", "ping"),
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

pub(super) fn wrap(
    metrics: Metrics,
    meta: Arc<dyn MetaStore>,
    blobs: Arc<dyn BlobStore>,
) -> (Arc<dyn MetaStore>, Arc<dyn BlobStore>) {
    (
        Arc::new(CountingMeta {
            inner: meta,
            metrics: metrics.clone(),
        }),
        Arc::new(CountingBlobs {
            inner: blobs,
            metrics,
        }),
    )
}

impl Metrics {
    fn counted<T>(&self, op: StoreOp, result: Result<T, StoreError>) -> Result<T, StoreError> {
        // A quota refusal is the store doing its job, not failing at it.
        if result
            .as_ref()
            .is_err_and(|e| !matches!(e, StoreError::QuotaExceeded(_)))
        {
            self.store_error(op);
        }
        result
    }
}

struct CountingMeta {
    inner: Arc<dyn MetaStore>,
    metrics: Metrics,
}

#[async_trait]
impl MetaStore for CountingMeta {
    async fn insert(
        &self,
        record: &ShareRecord,
        charges: &[QuotaCharge],
        op: &OpId,
    ) -> Result<(), StoreError> {
        let result = self.inner.insert(record, charges, op).await;
        self.metrics.counted(StoreOp::MetaInsert, result)
    }

    async fn quota_usage(&self, tag: &QuotaTag, now: Millis) -> Result<QuotaUsage, StoreError> {
        let result = self.inner.quota_usage(tag, now).await;
        self.metrics.counted(StoreOp::MetaQuotaUsage, result)
    }

    async fn get(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareEntry>, StoreError> {
        let result = self.inner.get(key, now).await;
        self.metrics.counted(StoreOp::MetaGet, result)
    }

    async fn peek(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareFacts>, StoreError> {
        let result = self.inner.peek(key, now).await;
        self.metrics.counted(StoreOp::MetaPeek, result)
    }

    async fn claim(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<ClaimOutcome, StoreError> {
        let result = self.inner.claim(key, now, op).await;
        self.metrics.counted(StoreOp::MetaClaim, result)
    }

    async fn spend_attempt(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<AttemptOutcome, StoreError> {
        let result = self.inner.spend_attempt(key, now, op).await;
        self.metrics.counted(StoreOp::MetaSpendAttempt, result)
    }

    async fn revoke(
        &self,
        key: &StoreKey,
        owner: &Owner,
        now: Millis,
        op: &OpId,
    ) -> Result<RevokeOutcome, StoreError> {
        let result = self.inner.revoke(key, owner, now, op).await;
        self.metrics.counted(StoreOp::MetaRevoke, result)
    }

    async fn take_down(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<TakedownOutcome, StoreError> {
        let result = self.inner.take_down(key, now, op).await;
        self.metrics.counted(StoreOp::MetaTakeDown, result)
    }

    async fn drop_inline(&self, key: &StoreKey) -> Result<(), StoreError> {
        let result = self.inner.drop_inline(key).await;
        self.metrics.counted(StoreOp::MetaDropInline, result)
    }

    async fn settle(&self, key: &StoreKey, op: &OpId) -> Result<Option<Applied>, StoreError> {
        let result = self.inner.settle(key, op).await;
        self.metrics.counted(StoreOp::MetaSettle, result)
    }

    async fn undo(
        &self,
        key: &StoreKey,
        op: &OpId,
        inline: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let result = self.inner.undo(key, op, inline).await;
        self.metrics.counted(StoreOp::MetaUndo, result)
    }

    async fn take_spent(&self, before: Millis) -> Result<Vec<BlobName>, StoreError> {
        let result = self.inner.take_spent(before).await;
        self.metrics.counted(StoreOp::MetaTakeSpent, result)
    }

    async fn list_all(&self, now: Millis) -> Result<Vec<ShareEntry>, StoreError> {
        let result = self.inner.list_all(now).await;
        self.metrics.counted(StoreOp::MetaListAll, result)
    }

    async fn list_by_owner(
        &self,
        owner: &Owner,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError> {
        let result = self.inner.list_by_owner(owner, now).await;
        self.metrics.counted(StoreOp::MetaListByOwner, result)
    }

    async fn list_charged(
        &self,
        tag: &QuotaTag,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError> {
        let result = self.inner.list_charged(tag, now).await;
        self.metrics.counted(StoreOp::MetaListCharged, result)
    }

    async fn take_expired(&self, now: Millis) -> Result<Vec<BlobName>, StoreError> {
        let result = self.inner.take_expired(now).await;
        self.metrics.counted(StoreOp::MetaTakeExpired, result)
    }

    async fn live_blobs(&self, now: Millis) -> Result<HashSet<BlobName>, StoreError> {
        let result = self.inner.live_blobs(now).await;
        self.metrics.counted(StoreOp::MetaLiveBlobs, result)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let result = self.inner.ping().await;
        self.metrics.counted(StoreOp::MetaPing, result)
    }
}

struct CountingBlobs {
    inner: Arc<dyn BlobStore>,
    metrics: Metrics,
}

#[async_trait]
impl BlobStore for CountingBlobs {
    async fn create(&self) -> Result<Box<dyn BlobWriter>, StoreError> {
        let result = self.inner.create().await;
        let writer = self.metrics.counted(StoreOp::BlobCreate, result)?;
        Ok(Box::new(CountingWriter {
            inner: writer,
            metrics: self.metrics.clone(),
        }))
    }

    async fn open(&self, name: &BlobName) -> Result<BlobReader, StoreError> {
        let result = self.inner.open(name).await;
        self.metrics.counted(StoreOp::BlobOpen, result)
    }

    async fn remove(&self, name: &BlobName) -> Result<(), StoreError> {
        let result = self.inner.remove(name).await;
        self.metrics.counted(StoreOp::BlobRemove, result)
    }

    async fn remove_orphans(
        &self,
        live: &HashSet<BlobName>,
        grace: Duration,
    ) -> Result<usize, StoreError> {
        let result = self.inner.remove_orphans(live, grace).await;
        self.metrics.counted(StoreOp::BlobRemoveOrphans, result)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let result = self.inner.ping().await;
        self.metrics.counted(StoreOp::BlobPing, result)
    }
}

struct CountingWriter {
    inner: Box<dyn BlobWriter>,
    metrics: Metrics,
}

#[async_trait]
impl BlobWriter for CountingWriter {
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        let result = self.inner.write(data).await;
        self.metrics.counted(StoreOp::BlobWrite, result)
    }

    async fn write_owned(&mut self, data: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let result = self.inner.write_owned(data).await;
        self.metrics.counted(StoreOp::BlobWrite, result)
    }

    async fn commit(self: Box<Self>) -> Result<BlobName, StoreError> {
        let result = self.inner.commit().await;
        self.metrics.counted(StoreOp::BlobCommit, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FsBlobStore;

    #[tokio::test]
    async fn a_failing_blob_operation_is_counted_once_under_its_operation() {
        let dir = tempfile::tempdir().unwrap();
        let fs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(dir.path()).await.unwrap());
        let meta: Arc<dyn MetaStore> = Arc::new(
            crate::store::EmbeddedStore::open(dir.path().join("m.redb"))
                .await
                .unwrap(),
        );
        let metrics = Metrics::new(Box::new(std::collections::BTreeMap::new));
        let (_, blobs) = metrics.count_store_errors(meta, fs);
        let missing = BlobName::parse(&"ab".repeat(16)).unwrap();
        assert!(blobs.open(&missing).await.is_err());
        assert!(blobs.remove(&missing).await.is_ok());
        let text = metrics.render();
        assert!(
            text.lines()
                .any(|l| l == "onetimeshare_store_errors_total{store=\"blob\",op=\"open\"} 1"),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l == "onetimeshare_store_errors_total{store=\"blob\",op=\"remove\"} 0")
        );
    }
}
