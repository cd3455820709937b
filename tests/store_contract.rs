//! The share contract, run against BOTH metadata stores (embedded redb and a real Redis): the
//! properties of ../shared/BRIEF.md §2 as observable behaviour of `Shares`.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use onetimeshare::crypto::{Kind, Password};
use onetimeshare::share::{
    Armed, BlobName, KdfCost, MetaStore, Owner, Policy, ShareError, ShareRecord, ShareRef, Shares,
    StatusState, StoreError, UploadSpec, now_millis,
};
use onetimeshare::store::{self, MetaBackend};
use support::RedisServer;

struct Fixture {
    shares: Shares,
    meta: Arc<dyn MetaStore>,
    data: tempfile::TempDir,
    backend: MetaBackend,
    policy: Policy,
    redis: Option<RedisServer>,
}

fn test_policy() -> Policy {
    Policy {
        public_url: "https://share.test".into(),
        max_size: 4 << 20,
        // The expiry tests wait out one-second shares.
        min_ttl: Duration::from_secs(1),
        // Real Argon2id, at a cost that keeps a 100-request burst quick.
        kdf_cost: KdfCost {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..Policy::default()
    }
}

impl Fixture {
    async fn embedded() -> Self {
        Self::open(
            support::temp_dir(),
            MetaBackend::Embedded,
            test_policy(),
            None,
        )
        .await
    }

    async fn redis() -> Self {
        let redis = RedisServer::start();
        let backend = MetaBackend::Redis {
            url: redis.url(),
            prefix: "test:".into(),
        };
        Self::open(support::temp_dir(), backend, test_policy(), Some(redis)).await
    }

    async fn open(
        data: tempfile::TempDir,
        backend: MetaBackend,
        policy: Policy,
        redis: Option<RedisServer>,
    ) -> Self {
        let store::Stores { meta, blobs, .. } = store::open(data.path(), &backend)
            .await
            .expect("open stores");
        Self {
            shares: Shares::new(meta.clone(), blobs, policy.clone()),
            meta,
            data,
            backend,
            policy,
            redis,
        }
    }

    /// Drops every open handle and opens the stores again on the same data (a restart).
    async fn reopen(self, policy: Policy) -> Self {
        let Fixture {
            shares,
            meta,
            data,
            backend,
            redis,
            ..
        } = self;
        drop(shares);
        drop(meta);
        Self::open(data, backend, policy, redis).await
    }

    fn blob_dir(&self) -> PathBuf {
        self.data.path().join("blobs")
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

async fn insert_of_an_existing_id_fails(fx: Fixture) {
    let now = now_millis();
    let record = ShareRecord {
        key: onetimeshare::share::ShareId::generate()
            .unwrap()
            .store_key(),
        owner: None,
        kind: Kind::File,
        stored_size: 10,
        created_at: now,
        expires_at: now + 60_000,
        password: false,
        max_attempts: 5,
        verifier: [7; 32],
        sealed_meta: vec![1, 2, 3],
        blob: BlobName::generate().unwrap(),
    };
    fx.meta.insert(&record).await.expect("first insert");
    let mut clash = record.clone();
    clash.sealed_meta = vec![9];
    assert!(matches!(
        fx.meta.insert(&clash).await,
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
            ..test_policy()
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

contract!(
    peek_never_consumes,
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
);

// ---------------------------------------------------------------------------------------------
// Redis only: a dead Redis is an error, not a crash, and it heals without restarting us.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_redis_reports_unavailable_and_recovers_by_itself() {
    let mut fx = Fixture::redis().await;
    let before = fx.text(b"before the crash", UploadSpec::text()).await;
    fx.redis.as_mut().unwrap().stop();

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

    fx.redis.as_mut().unwrap().restart();
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
