//! The share contract, run against BOTH metadata stores (embedded redb and a real Redis): the
//! properties that must never break (at most once, a wrong password burns nothing, expired means
//! gone, restarts keep live shares, quotas hold) as observable behaviour of `Shares`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use onetimeshare::crypto::{Kind, Password};
use onetimeshare::share::{
    Applied, Armed, AttemptOutcome, BlobName, ClaimOutcome, MetaStore, OpId, Owner, Policy, Quota,
    QuotaCharge, QuotaScope, QuotaTag, Recipient, RevokeOutcome, SealedSpec, ShareError,
    ShareRecord, ShareRef, ShareState, Shares, StatusState, StoreError, TakedownOutcome,
    UploadSpec, now_millis,
};
use onetimeshare::store;

use crate::support::{Backing, test_policy};

struct Fixture {
    shares: Shares,
    meta: Arc<dyn MetaStore>,
    backing: Backing,
    policy: Policy,
}

/// The harness policy with a small size limit, so the oversize test streams only 4 MiB.
fn contract_policy() -> Policy {
    Policy {
        public_url: "https://share.test".into(),
        max_size: 4 << 20,
        // The expiry tests wait out one-second shares.
        min_ttl: Duration::from_secs(1),
        ..test_policy()
    }
}

impl Fixture {
    async fn embedded() -> Self {
        Self::open(Backing::embedded(), contract_policy()).await
    }

    async fn redis_cluster() -> Self {
        Self::open(Backing::redis_cluster(), contract_policy()).await
    }

    async fn redis_sentinel() -> Self {
        Self::open(Backing::redis_sentinel(1), contract_policy()).await
    }

    async fn redis() -> Self {
        Self::open(Backing::redis(), contract_policy()).await
    }

    async fn open(backing: Backing, policy: Policy) -> Self {
        let store::Stores { meta, blobs, .. } = backing.open().await;
        Self {
            shares: Shares::new(meta.clone(), blobs, policy.clone()),
            meta,
            backing,
            policy,
        }
    }

    /// Drops every open handle and opens the stores again on the same data (a restart).
    async fn reopen(self, policy: Policy) -> Self {
        let Fixture {
            shares,
            meta,
            backing,
            ..
        } = self;
        drop(shares);
        drop(meta);
        Self::open(backing, policy).await
    }

    fn blob_dir(&self) -> PathBuf {
        self.backing.data.path().join("blobs")
    }

    async fn text(&self, body: &[u8], spec: UploadSpec) -> Armed {
        let mut upload = self.shares.begin(spec).await.expect("begin");
        upload.write(body).await.expect("write");
        upload.finish().await.expect("finish")
    }

    async fn claim_bytes(
        &self,
        armed: &Armed,
        password: Option<&str>,
    ) -> Result<Vec<u8>, ShareError> {
        let password = password.map(Password::new);
        let claimed = self
            .shares
            .claim(armed.link.id(), armed.link.key(), password.as_ref())
            .await?;
        claimed.body.read_to_end().await
    }
}

/// Every share through a blob, however small: for the tests that watch blob files.
fn blob_policy() -> Policy {
    Policy {
        inline_max: 0,
        ..contract_policy()
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn with_password(pw: &str) -> UploadSpec {
    UploadSpec {
        password: Some(Password::new(pw)),
        ..UploadSpec::text()
    }
}

fn owned_by(owner: &str) -> UploadSpec {
    UploadSpec {
        owner: Some(Owner::new(owner)),
        ..UploadSpec::text()
    }
}

// ---------------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------------

async fn peek_never_consumes(fx: Fixture) {
    let armed = fx.text(b"API_KEY=abc123", UploadSpec::text()).await;
    for _ in 0..5 {
        let status = fx
            .shares
            .peek(armed.link.id())
            .await
            .unwrap()
            .expect("present");
        assert_eq!(status.state, StatusState::Armed);
        assert_eq!(status.kind, Kind::Text);
        assert!(!status.password);
    }
    assert_eq!(
        fx.claim_bytes(&armed, None).await.unwrap(),
        b"API_KEY=abc123"
    );
}

/// `MetaStore::peek` (the status page's read) tells exactly what `get` tells of a share's public
/// facts, in every state, without its content.
async fn peek_tells_the_facts_get_tells(fx: Fixture) {
    let facts = |armed: &Armed| {
        let key = armed.link.id().store_key();
        let meta = fx.meta.clone();
        async move {
            let peeked = meta.peek(&key, now_millis()).await.unwrap();
            let got = meta.get(&key, now_millis()).await.unwrap();
            assert_eq!(peeked, got.as_ref().map(|e| e.facts()));
            peeked.expect("present")
        }
    };
    let guarded = fx.text(b"pw-protected", with_password("right")).await;
    assert_eq!(facts(&guarded).await.attempts, 0);
    assert!(facts(&guarded).await.record.password);
    for _ in 0..fx.policy.max_attempts {
        assert!(fx.claim_bytes(&guarded, Some("wrong")).await.is_err());
    }
    let locked = facts(&guarded).await;
    assert!(locked.is_locked());
    assert_eq!(locked.attempts, fx.policy.max_attempts);

    let file = fx.text(&vec![7u8; 5000], UploadSpec::file(None)).await;
    let armed = facts(&file).await;
    assert_eq!(
        (armed.record.kind, armed.state),
        (Kind::File, ShareState::Armed)
    );
    assert!(armed.record.stored_size > 5000);
    fx.claim_bytes(&file, None).await.unwrap();
    assert!(matches!(
        facts(&file).await.state,
        ShareState::Opened { .. }
    ));
}

async fn second_claim_is_refused_with_the_time_it_was_opened(fx: Fixture) {
    let armed = fx.text(b"once", UploadSpec::text()).await;
    assert_eq!(fx.claim_bytes(&armed, None).await.unwrap(), b"once");
    match fx.claim_bytes(&armed, None).await {
        Err(ShareError::AlreadyOpened { at }) => assert!(at <= now_millis()),
        other => panic!("expected AlreadyOpened, got {other:?}"),
    }
    let status = fx
        .shares
        .peek(armed.link.id())
        .await
        .unwrap()
        .expect("tombstone kept");
    assert!(matches!(status.state, StatusState::Opened { .. }));
    // The claimed blob is gone from disk.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        files_in(&fx.blob_dir()).is_empty(),
        "{:?}",
        files_in(&fx.blob_dir())
    );
}

fn bare_record() -> ShareRecord {
    let now = now_millis();
    ShareRecord {
        key: onetimeshare::share::ShareId::generate()
            .unwrap()
            .store_key(),
        owner: Some(Owner::new("SHA256:ledger")),
        kind: Kind::File,
        stored_size: 10,
        created_at: now,
        expires_at: now + 60_000,
        password: true,
        max_attempts: 5,
        verifier: [7; 32],
        sealed_meta: vec![1, 2, 3],
        blob: BlobName::generate().unwrap(),
        quota: Vec::new(),
        inline: None,
        sealed: None,
    }
}

fn op() -> OpId {
    OpId::generate().unwrap()
}

async fn a_settled_change_reports_what_it_did_and_a_voided_one_never_happens(fx: Fixture) {
    let meta = &fx.meta;
    let record = bare_record();
    let key = record.key;
    let now = now_millis();

    // An insert settled before it arrives never happens.
    let late = op();
    assert_eq!(meta.settle(&key, &late).await.unwrap(), None);
    assert!(meta.insert(&record, &[], &late).await.is_err());
    assert!(
        meta.get(&key, now).await.unwrap().is_none(),
        "a voided insert stored nothing"
    );

    let insert = op();
    meta.insert(&record, &[], &insert).await.unwrap();
    assert_eq!(
        meta.settle(&key, &insert).await.unwrap(),
        Some(Applied::Inserted)
    );
    assert_eq!(
        meta.settle(&key, &insert).await.unwrap(),
        Some(Applied::Inserted),
        "final"
    );

    // Voided claim and attempt: no effect when they arrive.
    let (claim, attempt) = (op(), op());
    assert_eq!(meta.settle(&key, &claim).await.unwrap(), None);
    assert_eq!(meta.settle(&key, &attempt).await.unwrap(), None);
    assert!(!matches!(
        meta.claim(&key, now, &claim).await,
        Ok(ClaimOutcome::Claimed(_))
    ));
    assert!(!matches!(
        meta.spend_attempt(&key, now, &attempt).await,
        Ok(AttemptOutcome::Granted { .. })
    ));
    let entry = meta.get(&key, now).await.unwrap().unwrap();
    assert_eq!(entry.state, ShareState::Armed);
    assert_eq!(entry.attempts, 0);

    // A granted attempt is reported with its number, and can be refunded once.
    let attempt = op();
    assert!(matches!(
        meta.spend_attempt(&key, now, &attempt).await.unwrap(),
        AttemptOutcome::Granted { attempt: 1, max: 5 }
    ));
    assert_eq!(
        meta.settle(&key, &attempt).await.unwrap(),
        Some(Applied::Granted { attempt: 1, max: 5 })
    );
    assert!(meta.undo(&key, &attempt, None).await.unwrap());
    assert!(
        !meta.undo(&key, &attempt, None).await.unwrap(),
        "undone once"
    );
    assert_eq!(meta.get(&key, now).await.unwrap().unwrap().attempts, 0);

    // A claim nobody was told about is re-armed, and leaves the spent index.
    let claim = op();
    assert!(matches!(
        meta.claim(&key, now, &claim).await.unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    assert_eq!(
        meta.settle(&key, &claim).await.unwrap(),
        Some(Applied::Claimed)
    );
    assert!(meta.undo(&key, &claim, None).await.unwrap());
    assert_eq!(
        meta.settle(&key, &claim).await.unwrap(),
        None,
        "undone reads as not applied"
    );
    assert_eq!(
        meta.get(&key, now).await.unwrap().unwrap().state,
        ShareState::Armed
    );
    assert!(meta.take_spent(now + 1).await.unwrap().is_empty());

    // A claim that stands puts the blob in the spent index, reported once.
    let claim = op();
    assert!(matches!(
        meta.claim(&key, now, &claim).await.unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    assert!(
        meta.take_spent(now - 1).await.unwrap().is_empty(),
        "not before it happened"
    );
    assert_eq!(
        meta.take_spent(now + 1).await.unwrap(),
        vec![record.blob.clone()]
    );
    assert!(meta.take_spent(now + 1).await.unwrap().is_empty());

    // An insert nobody was told about is deleted.
    let other = bare_record();
    let insert = op();
    meta.insert(&other, &[], &insert).await.unwrap();
    assert!(meta.undo(&other.key, &insert, None).await.unwrap());
    assert!(meta.get(&other.key, now).await.unwrap().is_none());
}

async fn revoked_and_taken_down_shares_are_spent_and_stand(fx: Fixture) {
    let meta = &fx.meta;
    let now = now_millis();
    let (a, b) = (bare_record(), bare_record());
    meta.insert(&a, &[], &op()).await.unwrap();
    meta.insert(&b, &[], &op()).await.unwrap();
    let (revoke, takedown) = (op(), op());
    let owner = a.owner.clone().unwrap();
    assert!(matches!(
        meta.revoke(&a.key, &owner, now, &revoke).await.unwrap(),
        RevokeOutcome::Revoked(_)
    ));
    assert!(matches!(
        meta.take_down(&b.key, now, &takedown).await.unwrap(),
        TakedownOutcome::TakenDown(_)
    ));
    assert_eq!(
        meta.settle(&a.key, &revoke).await.unwrap(),
        Some(Applied::Revoked)
    );
    assert_eq!(
        meta.settle(&b.key, &takedown).await.unwrap(),
        Some(Applied::TakenDown)
    );
    assert!(
        !meta.undo(&a.key, &revoke, None).await.unwrap(),
        "a revoke stands"
    );
    assert!(
        !meta.undo(&b.key, &takedown, None).await.unwrap(),
        "a takedown stands"
    );
    let mut spent = meta.take_spent(now).await.unwrap();
    spent.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    let mut want = vec![a.blob.clone(), b.blob.clone()];
    want.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    assert_eq!(spent, want);
}

async fn insert_of_an_existing_id_fails(fx: Fixture) {
    let now = now_millis();
    let record = bare_record();
    fx.meta
        .insert(&record, &[], &op())
        .await
        .expect("first insert");
    let mut clash = record.clone();
    clash.sealed_meta = vec![9];
    assert!(matches!(
        fx.meta.insert(&clash, &[], &op()).await,
        Err(StoreError::AlreadyExists)
    ));
    let stored = fx.meta.get(&record.key, now).await.unwrap().unwrap();
    assert_eq!(stored.record, record, "the original was not overwritten");
}

async fn exactly_one_of_200_concurrent_claims_gets_the_content(fx: Fixture) {
    let fx = Arc::new(fx);
    for round in 0..20 {
        let secret = format!("round {round} secret");
        let armed = Arc::new(fx.text(secret.as_bytes(), UploadSpec::text()).await);
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let fx = fx.clone();
            let armed = armed.clone();
            tasks.push(tokio::spawn(
                async move { fx.claim_bytes(&armed, None).await },
            ));
        }
        let mut winners = Vec::new();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(bytes) => winners.push(bytes),
                Err(ShareError::AlreadyOpened { .. }) => refused += 1,
                Err(other) => panic!("unexpected claim error: {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {} winners", winners.len());
        assert_eq!(winners[0], secret.as_bytes());
        assert_eq!(refused, 199);
    }
}

async fn concurrent_wrong_passwords_spend_exactly_the_allowed_attempts_then_lock(fx: Fixture) {
    let fx = Arc::new(fx);
    let armed = Arc::new(fx.text(b"guarded", with_password("right")).await);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let fx = fx.clone();
        let armed = armed.clone();
        tasks.push(tokio::spawn(async move {
            fx.claim_bytes(&armed, Some(&format!("wrong-{i}"))).await
        }));
    }
    let (mut wrong, mut locked) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Err(ShareError::WrongPassword { .. }) => wrong += 1,
            Err(ShareError::Locked { .. }) => locked += 1,
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(wrong, fx.policy.max_attempts as usize);
    assert_eq!(locked, 100 - fx.policy.max_attempts as usize);

    // The correct password is refused now, and the share still exists, locked.
    assert!(matches!(
        fx.claim_bytes(&armed, Some("right")).await,
        Err(ShareError::Locked { .. })
    ));
    let status = fx
        .shares
        .peek(armed.link.id())
        .await
        .unwrap()
        .expect("not deleted");
    assert_eq!(status.state, StatusState::Locked);
    assert_eq!(status.attempts, fx.policy.max_attempts);
}

async fn a_wrong_password_burns_nothing(fx: Fixture) {
    let armed = fx.text(b"pw-protected", with_password("right")).await;
    assert!(matches!(
        fx.claim_bytes(&armed, None).await,
        Err(ShareError::PasswordRequired)
    ));
    match fx.claim_bytes(&armed, Some("nope")).await {
        Err(ShareError::WrongPassword { remaining }) => {
            assert_eq!(remaining, fx.policy.max_attempts - 1)
        }
        other => panic!("expected WrongPassword, got {other:?}"),
    }
    assert_eq!(
        fx.claim_bytes(&armed, Some("right")).await.unwrap(),
        b"pw-protected"
    );
}

async fn a_requester_without_the_link_key_cannot_spend_attempts(fx: Fixture) {
    let armed = fx.text(b"keyed", with_password("right")).await;
    let stranger_key = onetimeshare::crypto::ShareKey::generate().unwrap();
    for _ in 0..20 {
        let result = fx
            .shares
            .claim(
                armed.link.id(),
                &stranger_key,
                Some(&Password::new("guess")),
            )
            .await;
        assert!(
            matches!(result, Err(ShareError::NotFound)),
            "{:?}",
            result.err()
        );
    }
    let status = fx.shares.peek(armed.link.id()).await.unwrap().unwrap();
    assert_eq!(status.attempts, 0);
    assert_eq!(status.state, StatusState::Armed);
    assert_eq!(
        fx.claim_bytes(&armed, Some("right")).await.unwrap(),
        b"keyed"
    );
}

async fn expired_shares_are_gone_with_their_blobs(fx: Fixture) {
    let fx = fx.reopen(blob_policy()).await;
    let armed = fx
        .text(
            b"short-lived",
            UploadSpec {
                ttl: Some(Duration::from_secs(1)),
                ..UploadSpec::text()
            },
        )
        .await;
    assert_eq!(files_in(&fx.blob_dir()).len(), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(fx.shares.peek(armed.link.id()).await.unwrap().is_none());
    assert!(matches!(
        fx.claim_bytes(&armed, None).await,
        Err(ShareError::NotFound)
    ));
    let report = fx.shares.sweep().await.unwrap();
    assert_eq!(report.expired, 1);
    assert!(files_in(&fx.blob_dir()).is_empty());
}

async fn a_restart_keeps_live_shares(fx: Fixture) {
    let armed = fx.text(b"survives restarts", UploadSpec::text()).await;
    // Start-up cleanup with no grace period at all must still keep a live share's blob.
    let policy = Policy {
        orphan_grace: Duration::ZERO,
        ..fx.policy.clone()
    };
    let fx = fx.reopen(policy).await;
    let report = fx.shares.sweep().await.unwrap();
    assert_eq!(report.orphans, 0);
    assert_eq!(
        fx.claim_bytes(&armed, None).await.unwrap(),
        b"survives restarts"
    );
}

async fn orphan_blobs_and_temp_files_are_cleaned_up(fx: Fixture) {
    let fx = fx.reopen(blob_policy()).await;
    let armed = fx.text(b"live", UploadSpec::text()).await;
    let dir = fx.blob_dir();
    std::fs::write(
        dir.join(".tmp-0123456789abcdef0123456789abcdef"),
        b"partial",
    )
    .unwrap();
    std::fs::write(dir.join("00000000000000000000000000000000"), b"orphan").unwrap();
    let fx = fx
        .reopen(Policy {
            orphan_grace: Duration::ZERO,
            ..contract_policy()
        })
        .await;
    let report = fx.shares.sweep().await.unwrap();
    assert_eq!(report.orphans, 2);
    assert_eq!(files_in(&fx.blob_dir()).len(), 1);
    assert_eq!(fx.claim_bytes(&armed, None).await.unwrap(), b"live");
}

async fn owners_list_and_revoke_only_their_own_shares(fx: Fixture) {
    let mine = fx.text(b"mine", owned_by("SHA256:alice")).await;
    let _also_mine = fx.text(b"mine too", owned_by("SHA256:alice")).await;
    let theirs = fx.text(b"theirs", owned_by("SHA256:bob")).await;

    let alice = Owner::new("SHA256:alice");
    let listed = fx.shares.list(&alice).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|s| s.state == StatusState::Armed));
    assert!(listed.iter().any(|s| s.handle == mine.handle));
    assert!(!listed.iter().any(|s| s.handle == theirs.handle));

    // Bob's share cannot be revoked by Alice, even with its exact handle.
    assert!(matches!(
        fx.shares.revoke(&alice, theirs.handle.as_str()).await,
        Err(ShareError::NotFound)
    ));
    let revoked = fx
        .shares
        .revoke(&alice, &mine.handle.as_str()[..6])
        .await
        .unwrap();
    assert!(matches!(revoked.state, StatusState::Revoked { .. }));
    assert!(matches!(
        fx.claim_bytes(&mine, None).await,
        Err(ShareError::Revoked { .. })
    ));
    let listed = fx.shares.list(&alice).await.unwrap();
    let state = listed
        .iter()
        .find(|s| s.handle == mine.handle)
        .unwrap()
        .state;
    assert!(matches!(state, StatusState::Revoked { .. }));
    assert_eq!(fx.claim_bytes(&theirs, None).await.unwrap(), b"theirs");
}

async fn oversized_empty_and_abandoned_uploads_leave_nothing(fx: Fixture) {
    let limit = fx.policy.max_size;
    let mut upload = fx.shares.begin(UploadSpec::text()).await.unwrap();
    upload
        .write(&vec![b'x'; (limit / 2) as usize])
        .await
        .unwrap();
    match upload.write(&vec![b'x'; (limit / 2 + 1) as usize]).await {
        Err(ShareError::TooLarge { limit: l }) => assert_eq!(l, limit),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(
        upload.finish().await.is_err(),
        "a failed upload is never published"
    );

    let upload = fx.shares.begin(UploadSpec::text()).await.unwrap();
    assert!(matches!(upload.finish().await, Err(ShareError::Empty)));

    let mut upload = fx.shares.begin(UploadSpec::text()).await.unwrap();
    upload.write(b"half").await.unwrap();
    drop(upload);

    assert!(
        files_in(&fx.blob_dir()).is_empty(),
        "{:?}",
        files_in(&fx.blob_dir())
    );
}

async fn a_tampered_blob_fails_the_download(fx: Fixture) {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut upload = fx.shares.begin(UploadSpec::file(None)).await.unwrap();
    upload.write(&body).await.unwrap();
    let armed = upload.finish().await.unwrap();
    let blob = fx.blob_dir().join(&files_in(&fx.blob_dir())[0]);
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() - 1000;
    bytes[at] ^= 0x01;
    std::fs::write(&blob, bytes).unwrap();
    match fx.claim_bytes(&armed, None).await {
        Err(ShareError::Corrupt(_)) => {}
        other => panic!("expected Corrupt, got {:?}", other.map(|b| b.len())),
    }
}

async fn file_metadata_travels_sealed_and_comes_back(fx: Fixture) {
    let name = onetimeshare::share::ShareName::sanitize(b"../db.env").unwrap();
    let mut upload = fx.shares.begin(UploadSpec::file(Some(name))).await.unwrap();
    upload.write(b"DB_PASSWORD=x").await.unwrap();
    let armed = upload.finish().await.unwrap();
    // Nothing on disk names the file.
    for file in files_in(&fx.blob_dir()) {
        let raw = std::fs::read(fx.blob_dir().join(file)).unwrap();
        assert!(!raw.windows(6).any(|w| w == b"db.env"));
    }
    let claimed = fx
        .shares
        .claim(armed.link.id(), armed.link.key(), None)
        .await
        .unwrap();
    assert_eq!(claimed.meta.name.as_deref(), Some("db.env"));
    assert_eq!(claimed.meta.kind, Kind::File);
    assert_eq!(claimed.meta.size, 13);
    assert_eq!(claimed.body.read_to_end().await.unwrap(), b"DB_PASSWORD=x");
}

async fn a_takedown_deletes_the_content_and_the_link_says_removed(fx: Fixture) {
    let fx = fx.reopen(blob_policy()).await;
    let armed = fx.text(b"malware.exe", owned_by("SHA256:sender")).await;
    let other = fx.text(b"innocent", UploadSpec::text()).await;
    let handle = armed.handle.to_string();

    let removed = fx
        .shares
        .take_down(&ShareRef::Handle(handle[..6].to_owned()))
        .await
        .expect("take down");
    assert_eq!(removed.status.handle.as_str(), handle);
    assert_eq!(removed.owner, Some(Owner::new("SHA256:sender")));
    assert!(matches!(
        removed.status.state,
        StatusState::TakenDown { .. }
    ));

    match fx.claim_bytes(&armed, None).await {
        Err(ShareError::TakenDown { at }) => assert!(at <= now_millis()),
        other => panic!("expected TakenDown, got {other:?}"),
    }
    let status = fx.shares.peek(armed.link.id()).await.unwrap().unwrap();
    assert!(matches!(status.state, StatusState::TakenDown { .. }));
    // Only the other share's blob is left.
    assert_eq!(files_in(&fx.blob_dir()).len(), 1);
    // A second takedown, or one of an opened share, changes nothing and says why.
    assert!(matches!(
        fx.shares
            .take_down(&ShareRef::Id(armed.link.id().clone()))
            .await,
        Err(ShareError::TakenDown { .. })
    ));
    assert_eq!(fx.claim_bytes(&other, None).await.unwrap(), b"innocent");
    assert!(matches!(
        fx.shares
            .take_down(&ShareRef::Id(other.link.id().clone()))
            .await,
        Err(ShareError::AlreadyOpened { .. })
    ));
    assert!(matches!(
        fx.shares
            .take_down(&ShareRef::Handle("0000000000".into()))
            .await,
        Err(ShareError::NotFound)
    ));
}

async fn a_takedown_racing_claims_lets_exactly_one_side_win(fx: Fixture) {
    for _ in 0..10 {
        let armed = Arc::new(fx.text(b"contested", UploadSpec::text()).await);
        let shares = fx.shares.clone();
        let id = armed.link.id().clone();
        let takedown = tokio::spawn(async move { shares.take_down(&ShareRef::Id(id)).await });
        let mut claims = Vec::new();
        for _ in 0..20 {
            let shares = fx.shares.clone();
            let armed = armed.clone();
            claims.push(tokio::spawn(async move {
                match shares.claim(armed.link.id(), armed.link.key(), None).await {
                    Ok(claimed) => claimed.body.read_to_end().await.is_ok(),
                    Err(_) => false,
                }
            }));
        }
        let mut delivered = 0;
        for claim in claims {
            delivered += usize::from(claim.await.unwrap());
        }
        let taken_down = takedown.await.unwrap().is_ok();
        assert_eq!(
            delivered + usize::from(taken_down),
            1,
            "delivered {delivered}, taken down {taken_down}"
        );
    }
}

async fn the_operator_overview_lists_every_share_without_names(fx: Fixture) {
    let a = fx.text(b"one", owned_by("SHA256:alice")).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b = fx.text(b"two", UploadSpec::text()).await;
    fx.claim_bytes(&a, None).await.unwrap();
    let all = fx.shares.overview().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].status.handle, b.handle, "newest first");
    assert_eq!(all[0].owner, None);
    assert_eq!(all[1].owner, Some(Owner::new("SHA256:alice")));
    assert!(matches!(all[1].status.state, StatusState::Opened { .. }));
}

// ---------------------------------------------------------------------------------------------
// Quotas: live shares and bytes per key and per address, held atomically by the store.
// ---------------------------------------------------------------------------------------------

fn quota_policy(quota: Quota) -> Policy {
    Policy {
        quota,
        ..contract_policy()
    }
}

fn sent(owner: Option<&str>, client: Option<&str>) -> UploadSpec {
    UploadSpec {
        owner: owner.map(Owner::new),
        client: client.map(|ip| ip.parse().unwrap()),
        ..UploadSpec::text()
    }
}

async fn upload(fx: &Fixture, body: &[u8], spec: UploadSpec) -> Result<Armed, ShareError> {
    let mut upload = fx.shares.begin(spec).await?;
    upload.write(body).await?;
    upload.finish().await
}

fn quota_scope(result: Result<Armed, ShareError>) -> QuotaScope {
    match result {
        Err(ShareError::Quota(full)) => full.scope,
        other => panic!("expected a quota refusal, got {other:?}"),
    }
}

async fn a_key_holds_at_most_its_quota_and_claim_revoke_and_takedown_each_release_one(fx: Fixture) {
    let fx = fx
        .reopen(quota_policy(Quota {
            shares_per_key: 2,
            ..Quota::default()
        }))
        .await;
    let alice = || sent(Some("SHA256:alice"), Some("192.0.2.1"));
    let a = upload(&fx, b"a", alice()).await.expect("first share");
    let b = upload(&fx, b"b", alice()).await.expect("second share");
    assert_eq!(
        quota_scope(upload(&fx, b"c", alice()).await),
        QuotaScope::Key
    );
    // Another key, and a keyless sender, are not held to alice's quota.
    upload(&fx, b"bob", sent(Some("SHA256:bob"), Some("192.0.2.1")))
        .await
        .expect("another key");
    upload(&fx, b"anon", sent(None, Some("192.0.2.1")))
        .await
        .expect("keyless");

    fx.claim_bytes(&a, None).await.expect("claim");
    let c = upload(&fx, b"c", alice())
        .await
        .expect("a claim released one");
    assert_eq!(
        quota_scope(upload(&fx, b"d", alice()).await),
        QuotaScope::Key
    );

    fx.shares
        .revoke(&Owner::new("SHA256:alice"), &b.handle.to_string())
        .await
        .expect("revoke");
    upload(&fx, b"d", alice())
        .await
        .expect("a revoke released one");
    assert_eq!(
        quota_scope(upload(&fx, b"e", alice()).await),
        QuotaScope::Key
    );

    fx.shares
        .take_down(&ShareRef::Id(c.link.id().clone()))
        .await
        .expect("takedown");
    upload(&fx, b"e", alice())
        .await
        .expect("a takedown released one");
    let tag = QuotaTag::key(&Owner::new("SHA256:alice"));
    let used = fx.meta.quota_usage(&tag, now_millis()).await.unwrap();
    assert_eq!(used.shares, 2);
}

async fn an_address_holds_at_most_its_quota_of_bytes_even_mid_stream(fx: Fixture) {
    let fx = fx
        .reopen(quota_policy(Quota {
            bytes_per_address: 100 * 1024,
            ..Quota::default()
        }))
        .await;
    let from = |key: &str, ip: &str| sent(Some(key), Some(ip));
    upload(&fx, &[1; 60 * 1024], from("SHA256:one", "2001:db8::1"))
        .await
        .expect("within the quota");
    // Another key from the same /64: the address is what is full, found while streaming.
    let mut second = fx
        .shares
        .begin(from("SHA256:two", "2001:db8::2"))
        .await
        .expect("room is left at begin");
    second.write(&[2; 30 * 1024]).await.expect("still room");
    match second.write(&[2; 30 * 1024]).await {
        Err(ShareError::Quota(full)) => assert_eq!(full.scope, QuotaScope::Address),
        other => panic!("expected a quota refusal mid-stream, got {other:?}"),
    }
    assert!(
        second.finish().await.is_err(),
        "a refused upload publishes nothing"
    );
    upload(&fx, &[3; 60 * 1024], from("SHA256:two", "2001:db8:1::1"))
        .await
        .expect("another address has its own quota");
}

async fn parallel_uploads_never_take_a_key_over_its_quota(fx: Fixture) {
    let fx = Arc::new(
        fx.reopen(quota_policy(Quota {
            shares_per_key: 10,
            ..Quota::default()
        }))
        .await,
    );
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let fx = fx.clone();
        tasks.push(tokio::spawn(async move {
            upload(
                &fx,
                format!("secret {i}").as_bytes(),
                sent(Some("SHA256:racer"), None),
            )
            .await
        }));
    }
    let mut stored = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => stored += 1,
            Err(ShareError::Quota(full)) => assert_eq!(full.scope, QuotaScope::Key),
            Err(other) => panic!("unexpected upload error: {other:?}"),
        }
    }
    assert_eq!(stored, 10, "exactly the quota is stored, never more");
    let tag = QuotaTag::key(&Owner::new("SHA256:racer"));
    assert_eq!(
        fx.meta
            .quota_usage(&tag, now_millis())
            .await
            .unwrap()
            .shares,
        10
    );
    let owned = fx.shares.list(&Owner::new("SHA256:racer")).await.unwrap();
    assert_eq!(owned.len(), 10);
}

fn record_at(created_at: u64, expires_at: u64, stored_size: u64) -> ShareRecord {
    ShareRecord {
        key: onetimeshare::share::ShareId::generate()
            .unwrap()
            .store_key(),
        owner: None,
        kind: Kind::Text,
        stored_size,
        created_at,
        expires_at,
        password: false,
        max_attempts: 5,
        verifier: [7; 32],
        sealed_meta: vec![1],
        blob: BlobName::generate().unwrap(),
        quota: Vec::new(),
        inline: None,
        sealed: None,
    }
}

/// Time moves through the records' own clocks (an insert counts what is live at its
/// `created_at`), so no test waits for a real expiry.
async fn an_expired_share_no_longer_counts_against_a_quota(fx: Fixture) {
    let tag = QuotaTag::address("198.51.100.9".parse().unwrap());
    let charge = QuotaCharge {
        tag: tag.clone(),
        max_shares: 1,
        max_bytes: 1000,
    };
    let t0 = now_millis();
    let mut first = record_at(t0, t0 + 1_000, 600);
    first.quota = vec![tag.clone()];
    fx.meta
        .insert(&first, std::slice::from_ref(&charge), &op())
        .await
        .unwrap();
    let mut during = record_at(t0 + 500, t0 + 60_000, 10);
    during.quota = vec![tag.clone()];
    match fx
        .meta
        .insert(&during, std::slice::from_ref(&charge), &op())
        .await
    {
        Err(StoreError::QuotaExceeded(full)) => {
            assert_eq!(full.used.shares, 1);
            assert_eq!(full.used.bytes, 600);
        }
        other => panic!("expected a quota refusal, got {other:?}"),
    }
    assert!(
        fx.meta.get(&during.key, t0 + 500).await.unwrap().is_none(),
        "nothing inserted"
    );
    let used = |at| {
        let (meta, tag) = (fx.meta.clone(), tag.clone());
        async move { meta.quota_usage(&tag, at).await.unwrap() }
    };
    assert_eq!(used(t0 + 999).await.shares, 1);
    assert_eq!(used(t0 + 1_000).await.shares, 0, "expired at its expiry");
    let mut after = record_at(t0 + 1_000, t0 + 60_000, 900);
    after.quota = vec![tag.clone()];
    fx.meta
        .insert(&after, &[charge], &op())
        .await
        .expect("the expired share no longer counts");
    assert_eq!(used(t0 + 1_001).await.bytes, 900);
}

/// The share's inline content as the store holds it now.
async fn inline_of(fx: &Fixture, armed: &Armed) -> Option<Vec<u8>> {
    let key = armed.link.id().store_key();
    let entry = fx
        .meta
        .get(&key, now_millis())
        .await
        .unwrap()
        .expect("kept");
    entry.record.inline
}

async fn a_small_share_lives_inline_is_claimed_once_and_leaves_no_bytes_behind(fx: Fixture) {
    let secret = vec![b'k'; 1024];
    let armed = fx.text(&secret, UploadSpec::text()).await;
    // Published without a blob: nothing on disk, the sealed content is in the entry.
    assert!(
        files_in(&fx.blob_dir()).is_empty(),
        "{:?}",
        files_in(&fx.blob_dir())
    );
    let key = armed.link.id().store_key();
    let entry = fx.meta.get(&key, now_millis()).await.unwrap().unwrap();
    let sealed = entry.record.inline.clone().expect("inline content");
    assert_eq!(sealed.len() as u64, entry.record.stored_size);
    assert!(
        !sealed.windows(secret.len()).any(|w| w == secret.as_slice()),
        "the content is stored sealed"
    );

    // A late drop of an armed share's content does nothing.
    fx.meta.drop_inline(&key).await.unwrap();
    assert_eq!(inline_of(&fx, &armed).await, Some(sealed));

    // 50 concurrent claims: one gets the content, the others are refused.
    let fx = Arc::new(fx);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (fx, link) = (fx.clone(), armed.link.clone());
        tasks.push(tokio::spawn(async move {
            let claimed = fx.shares.claim(link.id(), link.key(), None).await?;
            claimed.body.read_to_end().await
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(bytes) => winners.push(bytes),
            Err(ShareError::AlreadyOpened { .. }) => {}
            Err(other) => panic!("unexpected claim error: {other:?}"),
        }
    }
    assert_eq!(winners, vec![secret]);

    // The claim dropped the ciphertext in its own atomic step: nothing to wait for.
    assert_eq!(
        inline_of(&fx, &armed).await,
        None,
        "the spent share's content was dropped by the claim"
    );
    assert!(files_in(&fx.blob_dir()).is_empty());
}

async fn an_undone_claim_of_an_inline_share_gets_its_content_back(fx: Fixture) {
    let secret = b"API_KEY=undo-me".to_vec();
    let armed = fx.text(&secret, UploadSpec::text()).await;
    let key = armed.link.id().store_key();
    let sealed = inline_of(&fx, &armed).await.expect("inline content");
    let now = now_millis();

    // The store-level claim drops the content with the state change...
    let claim = op();
    assert!(matches!(
        fx.meta.claim(&key, now, &claim).await.unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    assert_eq!(inline_of(&fx, &armed).await, None);
    // ...and undoing it (the claimant was never told) re-arms the share with the content the
    // claimant had read, so the link works again, once.
    assert!(fx.meta.undo(&key, &claim, Some(&sealed)).await.unwrap());
    assert_eq!(inline_of(&fx, &armed).await, Some(sealed));
    let claimed = fx
        .shares
        .claim(armed.link.id(), armed.link.key(), None)
        .await
        .expect("re-armed share opens");
    assert_eq!(claimed.body.read_to_end().await.unwrap(), secret);
    assert!(matches!(
        fx.shares
            .claim(armed.link.id(), armed.link.key(), None)
            .await,
        Err(ShareError::AlreadyOpened { .. })
    ));
}

async fn a_share_past_the_inline_limit_streams_through_a_blob(fx: Fixture) {
    let body = vec![b'x'; fx.policy.inline_max as usize + 1];
    let armed = fx.text(&body, UploadSpec::text()).await;
    assert_eq!(files_in(&fx.blob_dir()).len(), 1, "one blob");
    assert_eq!(inline_of(&fx, &armed).await, None);
    assert_eq!(fx.claim_bytes(&armed, None).await.unwrap(), body);
}

async fn a_password_on_an_inline_share_is_counted_before_the_check(fx: Fixture) {
    let armed = fx.text(b"pw-protected", with_password("right")).await;
    assert!(inline_of(&fx, &armed).await.is_some());
    for left in (3..5).rev() {
        match fx.claim_bytes(&armed, Some("wrong")).await {
            Err(ShareError::WrongPassword { remaining }) => assert_eq!(remaining, left),
            other => panic!("expected WrongPassword, got {other:?}"),
        }
    }
    assert_eq!(
        fx.claim_bytes(&armed, Some("right")).await.unwrap(),
        b"pw-protected"
    );
}

/// Inline content changed at rest (a flipped byte in the header or a chunk, a cut-off end, a
/// chunk appended) is refused like a tampered blob: a faithful copy under another id claims fine,
/// every altered copy fails.
async fn tampered_inline_content_fails_the_claim(fx: Fixture) {
    let body: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
    let armed = fx.text(&body, UploadSpec::text()).await;
    let entry = fx
        .meta
        .get(&armed.link.id().store_key(), now_millis())
        .await
        .unwrap()
        .unwrap();
    let sealed = entry.record.inline.clone().expect("inline");
    let copy = |bytes: Vec<u8>| {
        let id = onetimeshare::share::ShareId::generate().unwrap();
        let mut record = entry.record.clone();
        record.key = id.store_key();
        record.stored_size = bytes.len() as u64;
        record.inline = Some(bytes);
        (id, record)
    };
    let claim = |id: onetimeshare::share::ShareId| {
        let fx = &fx;
        let key = armed.link.key().clone();
        async move {
            let claimed = fx.shares.claim(&id, &key, None).await?;
            claimed.body.read_to_end().await
        }
    };

    let (id, record) = copy(sealed.clone());
    fx.meta.insert(&record, &[], &op()).await.unwrap();
    assert_eq!(
        claim(id).await.unwrap(),
        body,
        "a faithful copy claims fine"
    );

    let mut header_flip = sealed.clone();
    header_flip[10] ^= 0x01;
    let mut chunk_flip = sealed.clone();
    let at = sealed.len() - 20;
    chunk_flip[at] ^= 0x01;
    let cut = sealed[..sealed.len() - 1].to_vec();
    let mut appended = sealed.clone();
    appended.extend_from_slice(&sealed[sealed.len() - 100..]);
    for (what, bytes) in [
        ("header flip", header_flip),
        ("chunk flip", chunk_flip),
        ("cut", cut),
        ("appended", appended),
    ] {
        let (id, record) = copy(bytes);
        fx.meta.insert(&record, &[], &op()).await.unwrap();
        match claim(id).await {
            Err(ShareError::Corrupt(_)) | Err(ShareError::NotFound) => {}
            other => panic!(
                "{what}: expected a failure, got {:?}",
                other.map(|b| b.len())
            ),
        }
    }
}

contract!(
    a_settled_change_reports_what_it_did_and_a_voided_one_never_happens,
    revoked_and_taken_down_shares_are_spent_and_stand,
    a_key_holds_at_most_its_quota_and_claim_revoke_and_takedown_each_release_one,
    an_address_holds_at_most_its_quota_of_bytes_even_mid_stream,
    parallel_uploads_never_take_a_key_over_its_quota,
    an_expired_share_no_longer_counts_against_a_quota,
    peek_never_consumes,
    peek_tells_the_facts_get_tells,
    second_claim_is_refused_with_the_time_it_was_opened,
    insert_of_an_existing_id_fails,
    exactly_one_of_200_concurrent_claims_gets_the_content,
    concurrent_wrong_passwords_spend_exactly_the_allowed_attempts_then_lock,
    a_wrong_password_burns_nothing,
    a_requester_without_the_link_key_cannot_spend_attempts,
    expired_shares_are_gone_with_their_blobs,
    a_restart_keeps_live_shares,
    orphan_blobs_and_temp_files_are_cleaned_up,
    owners_list_and_revoke_only_their_own_shares,
    oversized_empty_and_abandoned_uploads_leave_nothing,
    a_tampered_blob_fails_the_download,
    file_metadata_travels_sealed_and_comes_back,
    a_takedown_deletes_the_content_and_the_link_says_removed,
    a_takedown_racing_claims_lets_exactly_one_side_win,
    the_operator_overview_lists_every_share_without_names,
    a_small_share_lives_inline_is_claimed_once_and_leaves_no_bytes_behind,
    an_undone_claim_of_an_inline_share_gets_its_content_back,
    a_share_past_the_inline_limit_streams_through_a_blob,
    a_password_on_an_inline_share_is_counted_before_the_check,
    tampered_inline_content_fails_the_claim,
    an_inbox_lists_shares_sealed_to_its_key_until_claimed_once_by_a_recipient,
    an_inbox_holds_at_most_its_cap_and_an_expired_share_leaves_it,
    a_sealed_upload_is_held_to_its_quota_of_bytes_mid_stream,
);

// ---------------------------------------------------------------------------------------------
// Inboxes: shares sealed to SSH keys, listed by the store's per-recipient index (`list_charged`).
// ---------------------------------------------------------------------------------------------

const BOB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPxcAR3PMM22UQZiHE9hnXJtC4mcDIeFdbDCOrdmHfSm bob";
const CAROL: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE+LtRGmYUZ7eDvNdovHEelPPTJv26Jx+rNhICQvUCsE carol";

async fn seal(
    fx: &Fixture,
    to: &[&str],
    body: &[u8],
    ttl: Option<Duration>,
) -> Result<onetimeshare::share::ArmedSealed, ShareError> {
    let mut upload = fx.shares.begin_sealed(from_alice(to, ttl)).await?;
    upload.write(body).await?;
    upload.finish().await
}

/// A share from alice's key, sealed to the keys `to`.
fn from_alice(to: &[&str], ttl: Option<Duration>) -> SealedSpec {
    SealedSpec {
        recipients: to.iter().map(|k| Recipient::parse(k).unwrap()).collect(),
        from: "SHA256:alice".into(),
        label: None,
        owner: Some(Owner::new("SHA256:alice")),
        client: None,
        ttl,
    }
}

async fn an_inbox_lists_shares_sealed_to_its_key_until_claimed_once_by_a_recipient(fx: Fixture) {
    let bob = Recipient::parse(BOB).unwrap().fingerprint().clone();
    let carol = Recipient::parse(CAROL).unwrap().fingerprint().clone();
    let stranger = Owner::new("SHA256:stranger");
    seal(&fx, &[BOB, CAROL], b"for both", None).await.unwrap();
    let for_bob = fx.shares.inbox(&bob).await.unwrap();
    assert_eq!(for_bob.len(), 1);
    assert_eq!(fx.shares.inbox(&carol).await.unwrap().len(), 1);
    assert!(fx.shares.inbox(&stranger).await.unwrap().is_empty());
    let key = for_bob[0].key;
    assert!(matches!(
        fx.shares.claim_sealed(&stranger, &key).await,
        Err(ShareError::NotFound)
    ));
    // Two recipients race: exactly one gets the age file.
    let (a, b) = tokio::join!(
        fx.shares.claim_sealed(&bob, &key),
        fx.shares.claim_sealed(&carol, &key)
    );
    let mut winner = match (a, b) {
        (Ok(w), Err(ShareError::AlreadyOpened { .. }))
        | (Err(ShareError::AlreadyOpened { .. }), Ok(w)) => w,
        (a, b) => panic!("not exactly one winner: {:?} / {:?}", a.is_ok(), b.is_ok()),
    };
    let mut file = Vec::new();
    while let Some(chunk) = winner.next_chunk().await {
        file.extend_from_slice(&chunk.unwrap());
    }
    assert!(file.starts_with(b"age-encryption.org/v1\n"));
    assert!(!file.windows(8).any(|w| w == b"for both"));
    assert!(fx.shares.inbox(&bob).await.unwrap().is_empty());
    assert!(fx.shares.inbox(&carol).await.unwrap().is_empty());
}

async fn a_sealed_upload_is_held_to_its_quota_of_bytes_mid_stream(fx: Fixture) {
    let fx = fx
        .reopen(quota_policy(Quota {
            bytes_per_key: 100 * 1024,
            ..Quota::default()
        }))
        .await;
    seal(&fx, &[BOB], &[1; 60 * 1024], None)
        .await
        .expect("within the quota");
    let mut second = fx
        .shares
        .begin_sealed(from_alice(&[BOB], None))
        .await
        .expect("room is left at begin");
    second.write(&[2; 30 * 1024]).await.expect("still room");
    match second.write(&[2; 30 * 1024]).await {
        Err(ShareError::Quota(full)) => assert_eq!(full.scope, QuotaScope::Key),
        other => panic!("expected a quota refusal mid-stream, got {other:?}"),
    }
    assert!(
        second.finish().await.is_err(),
        "a refused upload publishes nothing"
    );
    let bob = Recipient::parse(BOB).unwrap().fingerprint().clone();
    assert_eq!(fx.shares.inbox(&bob).await.unwrap().len(), 1);
}

async fn an_inbox_holds_at_most_its_cap_and_an_expired_share_leaves_it(fx: Fixture) {
    let fx = fx
        .reopen(Policy {
            inbox_max_shares: 2,
            ..contract_policy()
        })
        .await;
    let bob = Recipient::parse(BOB).unwrap().fingerprint().clone();
    seal(&fx, &[BOB], b"one", Some(Duration::from_secs(1)))
        .await
        .unwrap();
    seal(&fx, &[BOB], b"two", None).await.unwrap();
    match seal(&fx, &[BOB, CAROL], b"three", None).await {
        Err(ShareError::Quota(full)) => assert_eq!(full.scope, QuotaScope::Inbox),
        other => panic!("expected the inbox cap, got {:?}", other.map(|a| a.handle)),
    }
    assert_eq!(fx.shares.inbox(&bob).await.unwrap().len(), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(fx.shares.inbox(&bob).await.unwrap().len(), 1);
    seal(&fx, &[BOB], b"room again", None).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Redis only: a dead Redis is an error, not a crash, and it heals without restarting us.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_redis_reports_unavailable_and_recovers_by_itself() {
    let mut fx = Fixture::redis().await;
    let before = fx.text(b"before the crash", UploadSpec::text()).await;
    fx.backing.redis.as_mut().unwrap().stop();

    assert!(matches!(
        fx.shares.peek(before.link.id()).await,
        Err(ShareError::StoreUnavailable)
    ));
    let mut upload = fx.shares.begin(UploadSpec::text()).await.unwrap();
    upload.write(b"during the outage").await.unwrap();
    assert!(matches!(
        upload.finish().await,
        Err(ShareError::StoreUnavailable)
    ));
    assert!(
        files_in(&fx.blob_dir()).len() <= 1,
        "the failed upload's blob was removed"
    );
    assert!(fx.shares.health().await.is_err());

    fx.backing.redis.as_mut().unwrap().restart();
    let mut healed = false;
    for _ in 0..50 {
        if fx.shares.health().await.is_ok() {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        healed,
        "the store reconnected without restarting the server"
    );
    let after = fx.text(b"after the restart", UploadSpec::text()).await;
    assert_eq!(
        fx.claim_bytes(&after, None).await.unwrap(),
        b"after the restart"
    );
}
