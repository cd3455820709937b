//! Redis beyond one server, with real processes: a Cluster spreads shares over every master
//! while each share's keys stay in one slot; a Sentinel failover (the master SIGKILLed while
//! two instances claim) never serves a share twice, answers with clear errors while it lasts
//! and recovers by itself; and data in the first key layout is moved, not lost, on upgrade.

use std::sync::Arc;
use std::time::{Duration, Instant};

use onetimeshare::share::{Armed, Claimed, ShareError, Shares, UploadSpec};
use onetimeshare::store;

use crate::support::{Backing, RedisServer, test_policy};

async fn shares_on(backing: &Backing) -> Shares {
    let store::Stores { meta, blobs, .. } = backing.open().await;
    Shares::new(meta, blobs, test_policy())
}

async fn text(shares: &Shares, body: &[u8]) -> Armed {
    let mut upload = shares.begin(UploadSpec::text()).await.expect("begin");
    upload.write(body).await.expect("write");
    upload.finish().await.expect("finish")
}

// ---------------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_cluster_shares_spread_over_every_master_and_each_shares_keys_share_one_slot() {
    let backing = Backing::redis_cluster();
    let shares = shares_on(&backing).await;
    let mut armed = Vec::new();
    for i in 0..30 {
        armed.push(text(&shares, format!("secret {i}").as_bytes()).await);
    }
    let cluster = backing.cluster.as_ref().unwrap();
    for node in &cluster.nodes {
        let keys = node.cli(&["--scan", "--pattern", "ots:s:*"]);
        let share_keys: Vec<&str> = keys.lines().filter(|l| !l.is_empty()).collect();
        assert!(
            !share_keys.is_empty(),
            "a master holds no share: the layout does not spread"
        );
        for share in share_keys {
            let ledger = share.replacen("ots:s:", "ots:x:", 1);
            let slot = |key: &str| node.cli(&["CLUSTER", "KEYSLOT", key]).trim().to_owned();
            assert_eq!(slot(share), slot(&ledger), "{share} and its ledger");
        }
    }
    for a in &armed[..3] {
        let claimed = shares.claim(a.link.id(), a.link.key(), None).await.unwrap();
        assert!(
            claimed
                .body
                .read_to_end()
                .await
                .unwrap()
                .starts_with(b"secret")
        );
        assert!(matches!(
            shares.claim(a.link.id(), a.link.key(), None).await,
            Err(ShareError::AlreadyOpened { .. })
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Sentinel failover
// ---------------------------------------------------------------------------------------------

/// What one claimer saw before its share reached a final answer.
#[derive(Default)]
struct Tally {
    received: usize,
    transient_errors: usize,
}

/// Claims until the share answers for good (content, or already opened), retrying the clear
/// errors an outage gives. Any other answer fails the test.
async fn claim_until_final(
    shares: Shares,
    armed: Arc<Armed>,
    held: Arc<std::sync::Mutex<Vec<Claimed>>>,
) -> Tally {
    let mut tally = Tally::default();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match shares.claim(armed.link.id(), armed.link.key(), None).await {
            Ok(claimed) => {
                tally.received += 1;
                // Held, not read: a second claimant must not be hidden by the blob's removal.
                held.lock().unwrap().push(claimed);
                return tally;
            }
            Err(ShareError::AlreadyOpened { .. }) => return tally,
            Err(ShareError::StoreUnavailable | ShareError::OutcomeUnknown) => {
                tally.transient_errors += 1;
                assert!(Instant::now() < deadline, "the claims never recovered");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("a claim during the failover answered {other:?}"),
        }
    }
}

/// Until the replica has every write the master acknowledged.
fn wait_for_replica_sync(master: &RedisServer, replica: &RedisServer) {
    let offset = |server: &RedisServer, field: &str| -> Option<u64> {
        server
            .cli(&["INFO", "replication"])
            .lines()
            .find_map(|l| l.strip_prefix(field)?.trim().parse().ok())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let wanted = offset(master, "master_repl_offset:");
        if wanted.is_some() && offset(replica, "slave_repl_offset:") >= wanted {
            return;
        }
        assert!(Instant::now() < deadline, "the replica never caught up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sentinel_failover_during_claims_serves_no_share_twice_and_recovers() {
    let mut backing = Backing::redis_sentinel(1);
    let a = shares_on(&backing).await;
    let b = shares_on(&backing).await;
    let mut armed = Vec::new();
    for i in 0..60 {
        armed.push(Arc::new(text(&a, format!("secret {i}").as_bytes()).await));
    }
    {
        let group = backing.sentinel.as_ref().unwrap();
        wait_for_replica_sync(&group.master, &group.replica);
    }
    let old_master = backing.sentinel.as_ref().unwrap().master.port();
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    // Four claimers per share, two through each instance, in three waves: before the master
    // dies, while it dies, and while no master is elected.
    let spawn_wave = |wave: &[Arc<Armed>]| {
        wave.iter()
            .flat_map(|share| {
                [&a, &b, &a, &b].map(|shares| {
                    tokio::spawn(claim_until_final(
                        shares.clone(),
                        share.clone(),
                        held.clone(),
                    ))
                })
            })
            .collect::<Vec<_>>()
    };
    let before = spawn_wave(&armed[..20]);
    let during = spawn_wave(&armed[20..40]);
    backing.sentinel.as_mut().unwrap().master.stop();
    let after = spawn_wave(&armed[40..]);
    // Once the sentinels have promoted the replica, the old master comes back (empty, as after
    // a crash without persistence) and the sentinels make it the new master's replica: claims
    // need one replica to acknowledge them, so until then they are refused, never risked.
    let deadline = Instant::now() + Duration::from_secs(60);
    while backing.sentinel.as_ref().unwrap().current_master_port() == Some(old_master) {
        assert!(Instant::now() < deadline, "the sentinels never failed over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    backing.sentinel.as_mut().unwrap().master.restart();

    let mut outage_errors = 0;
    for (wave, handles) in [before, during, after].into_iter().enumerate() {
        let mut handles = handles.into_iter();
        for share in 0..20 {
            let mut received = 0;
            for handle in handles.by_ref().take(4) {
                let tally = handle.await.unwrap();
                received += tally.received;
                if wave == 2 {
                    outage_errors += tally.transient_errors;
                }
            }
            assert!(
                received <= 1,
                "share {share} of wave {wave} was served {received} times"
            );
        }
    }
    assert!(
        outage_errors > 0,
        "claims made while no master was elected reported nothing"
    );
    // Recovery: a new share goes in and comes out once, through both instances.
    let fresh = text(&a, b"after the failover").await;
    let claimed = b
        .claim(fresh.link.id(), fresh.link.key(), None)
        .await
        .unwrap();
    assert_eq!(
        claimed.body.read_to_end().await.unwrap(),
        b"after the failover"
    );
    assert!(matches!(
        a.claim(fresh.link.id(), fresh.link.key(), None).await,
        Err(ShareError::AlreadyOpened { .. })
    ));
    drop(held);
}

// ---------------------------------------------------------------------------------------------
// Upgrading from the first key layout
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_stored_in_the_first_key_layout_survive_the_upgrade() {
    let backing = Backing::redis();
    let (live, spent) = {
        let shares = shares_on(&backing).await;
        let live = text(&shares, b"stored by v1").await;
        let spent = text(&shares, b"claimed under v1").await;
        let claimed = shares
            .claim(spent.link.id(), spent.link.key(), None)
            .await
            .unwrap();
        claimed.body.read_to_end().await.unwrap();
        (live, spent)
    };
    // Rewrite what the v2 store wrote into the v1 layout: share keys without hash tags, the
    // `blobs` index of blob names, no v2 indexes.
    let redis = backing.redis.as_ref().unwrap();
    let mut blobs = Vec::new();
    for key in redis.cli(&["--scan", "--pattern", "ots:s:*"]).lines() {
        let hash = key.trim_start_matches("ots:s:{").trim_end_matches('}');
        redis.cli(&["RENAME", key, &format!("ots:s:{hash}")]);
        redis.cli(&[
            "RENAME",
            &format!("ots:x:{{{hash}}}"),
            &format!("ots:x:{hash}"),
        ]);
        let blob = redis.cli(&["HGET", &format!("ots:s:{hash}"), "blob"]);
        let exp = redis.cli(&["HGET", &format!("ots:s:{hash}"), "exp"]);
        blobs.push((blob.trim().to_owned(), exp.trim().to_owned()));
    }
    assert_eq!(blobs.len(), 2);
    for (blob, exp) in &blobs {
        redis.cli(&["ZADD", "ots:blobs", exp, blob]);
    }
    redis.cli(&["DEL", "ots:idx:live", "ots:idx:spent"]);

    let upgraded = shares_on(&backing).await;
    // Orphan cleanup must see the moved share's blob as live.
    upgraded.sweep().await.unwrap();
    let claimed = upgraded
        .claim(live.link.id(), live.link.key(), None)
        .await
        .expect("the v1 share is claimable after the upgrade");
    assert_eq!(claimed.body.read_to_end().await.unwrap(), b"stored by v1");
    assert!(matches!(
        upgraded
            .claim(spent.link.id(), spent.link.key(), None)
            .await,
        Err(ShareError::AlreadyOpened { .. })
    ));
    assert!(redis.cli(&["EXISTS", "ots:blobs"]).trim() == "0");
}
