//! The operator store contract, run against BOTH stores (embedded redb and a real Redis): bans,
//! reports, the audit log, activity and presence behave the same, concurrent report handling is
//! atomic, and what must survive a restart does.

use std::sync::Arc;
use std::time::Duration;

use onetimeshare::operator::{
    Activity, ActivityKind, AuditEntry, Ban, BanTarget, NewReport, OperatorStore, ReportReason,
    Resolution, Retention, SessionCounts,
};
use onetimeshare::share::now_millis;

use crate::support::Backing;

struct Fixture {
    store: Arc<dyn OperatorStore>,
    backing: Backing,
}

impl Fixture {
    async fn embedded() -> Self {
        Self::open(Backing::embedded()).await
    }

    async fn redis_cluster() -> Self {
        Self::open(Backing::redis_cluster()).await
    }

    async fn redis_sentinel() -> Self {
        Self::open(Backing::redis_sentinel(1)).await
    }

    async fn redis() -> Self {
        Self::open(Backing::redis()).await
    }

    async fn open(backing: Backing) -> Self {
        Self {
            store: backing.open().await.operator,
            backing,
        }
    }

    /// Closes every handle and opens the same data again (a restart).
    async fn reopen(self) -> Self {
        let Fixture { store, backing } = self;
        drop(store);
        Self::open(backing).await
    }
}

fn ban(target: &str, until: Option<u64>) -> Ban {
    Ban {
        target: BanTarget::parse(target).unwrap(),
        at: now_millis(),
        until,
        by: "SHA256:operator".into(),
    }
}

fn report(share: &str) -> NewReport {
    NewReport {
        at: now_millis(),
        share: share.into(),
        reason: ReportReason::Malware,
        details: "drops a trojan".into(),
        reporter: "192.0.2.1".into(),
    }
}

fn resolution(action: &str) -> Resolution {
    Resolution {
        at: now_millis(),
        by: "SHA256:operator".into(),
        action: action.into(),
    }
}

async fn bans_are_listed_replaced_lifted_and_survive_a_restart(fx: Fixture) {
    let now = now_millis();
    fx.store
        .put_ban(&ban("203.0.113.0/24", None))
        .await
        .unwrap();
    fx.store
        .put_ban(&ban(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
            Some(now + 60_000),
        ))
        .await
        .unwrap();
    fx.store
        .put_ban(&ban("198.51.100.7", Some(now - 1)))
        .await
        .unwrap();
    // Same target again: replaced, not duplicated.
    fx.store
        .put_ban(&ban("203.0.113.9/24", Some(now + 120_000)))
        .await
        .unwrap();

    let fx = fx.reopen().await;
    let mut bans = fx.store.bans(now_millis()).await.unwrap();
    bans.sort_by_key(|b| b.target.to_string());
    let targets: Vec<String> = bans.iter().map(|b| b.target.to_string()).collect();
    assert_eq!(
        targets,
        [
            "203.0.113.0/24",
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
        ],
        "the expired ban is not in force"
    );
    assert_eq!(bans[0].until, Some(now + 120_000));

    assert!(
        fx.store
            .remove_ban(&BanTarget::parse("203.0.113.0/24").unwrap())
            .await
            .unwrap()
    );
    assert!(
        !fx.store
            .remove_ban(&BanTarget::parse("203.0.113.0/24").unwrap())
            .await
            .unwrap()
    );
    assert_eq!(fx.store.bans(now_millis()).await.unwrap().len(), 1);
}

async fn reports_are_numbered_capped_and_resolved_once(fx: Fixture) {
    let first = fx
        .store
        .file_report(&report("aaaa000001"), 3)
        .await
        .unwrap();
    let second = fx
        .store
        .file_report(&report("aaaa000002"), 3)
        .await
        .unwrap();
    assert_eq!((first, second), (Some(1), Some(2)));

    // 20 concurrent reports against a cap of 3 open: exactly one more gets in.
    let mut filed = Vec::new();
    for i in 0..20 {
        let store = fx.store.clone();
        filed.push(tokio::spawn(async move {
            store
                .file_report(&report(&format!("bbbb{i:06}")), 3)
                .await
                .unwrap()
        }));
    }
    let mut accepted = 0;
    for f in filed {
        accepted += usize::from(f.await.unwrap().is_some());
    }
    assert_eq!(accepted, 1);

    // 10 operators resolve report 1 at once: one wins.
    let mut resolving = Vec::new();
    for _ in 0..10 {
        let store = fx.store.clone();
        resolving.push(tokio::spawn(async move {
            store
                .resolve_report(1, &resolution("dismissed"))
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for r in resolving {
        if let Some(report) = r.await.unwrap() {
            won += 1;
            assert_eq!(report.number, 1);
            assert_eq!(report.resolution.unwrap().action, "dismissed");
        }
    }
    assert_eq!(won, 1);
    assert!(
        fx.store
            .resolve_report(99, &resolution("dismissed"))
            .await
            .unwrap()
            .is_none()
    );

    // A resolved report frees a slot under the cap.
    assert!(
        fx.store
            .file_report(&report("cccc000001"), 3)
            .await
            .unwrap()
            .is_some()
    );
    let fx = fx.reopen().await;
    let reports = fx.store.reports().await.unwrap();
    let numbers: Vec<u64> = reports.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert!(reports[0].resolution.is_some());
    assert!(reports[1..].iter().all(|r| r.resolution.is_none()));
    assert_eq!(reports[1].filed.details, "drops a trojan");
}

async fn the_audit_log_lists_newest_first(fx: Fixture) {
    for i in 0..5u64 {
        fx.store
            .append_audit(&AuditEntry {
                at: now_millis() + i,
                by: "SHA256:operator".into(),
                action: format!("ban 10.0.0.{i}"),
                outcome: "ok".into(),
            })
            .await
            .unwrap();
    }
    let fx = fx.reopen().await;
    let entries = fx.store.audit(3).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["ban 10.0.0.4", "ban 10.0.0.3", "ban 10.0.0.2"]);
    assert!(fx.store.audit(0).await.unwrap().is_empty());
}

async fn activity_is_read_back_by_window_and_pruned_by_age(fx: Fixture) {
    let now = now_millis();
    let event = |at, kind| Activity {
        at,
        kind,
        count: 1,
        bytes: 10,
        owner: Some("SHA256:alice".into()),
        client: Some("192.0.2.1".into()),
    };
    fx.store
        .record_activity(&[
            event(now - 3 * 86_400_000, ActivityKind::Created),
            event(now - 7_200_000, ActivityKind::Created),
            event(now - 60_000, ActivityKind::Claimed),
        ])
        .await
        .unwrap();
    fx.store
        .record_activity(&[event(now, ActivityKind::Expired)])
        .await
        .unwrap();
    let day = fx
        .store
        .activity_since(now - 86_400_000, 1000)
        .await
        .unwrap();
    let kinds: Vec<ActivityKind> = day.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            ActivityKind::Created,
            ActivityKind::Claimed,
            ActivityKind::Expired
        ],
        "oldest first, within the window"
    );
    assert_eq!(day[0].owner.as_deref(), Some("SHA256:alice"));
    // A bound keeps the newest.
    let newest = fx.store.activity_since(0, 2).await.unwrap();
    assert_eq!(newest.len(), 2);
    assert_eq!(newest[1].kind, ActivityKind::Expired);

    let retention = Retention {
        activity: Duration::from_secs(86_400),
        ..Retention::default()
    };
    fx.store.prune(now, retention).await.unwrap();
    assert_eq!(fx.store.activity_since(0, 1000).await.unwrap().len(), 3);
}

async fn presence_announcements_expire(fx: Fixture) {
    let now = now_millis();
    let sessions = SessionCounts::from([("tui".to_owned(), 2), ("scp".to_owned(), 1)]);
    fx.store
        .publish_presence("a", &sessions, now + 30_000)
        .await
        .unwrap();
    fx.store
        .publish_presence("b", &sessions, now - 1)
        .await
        .unwrap();
    let live = fx.store.presence(now).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].0, "a");
    assert_eq!(live[0].1.get("tui"), Some(&2));
    assert!(fx.store.presence(now + 60_000).await.unwrap().is_empty());
}

async fn prune_drops_expired_bans_and_old_resolved_reports(fx: Fixture) {
    let now = now_millis();
    fx.store
        .put_ban(&ban("192.0.2.1", Some(now - 1)))
        .await
        .unwrap();
    fx.store.put_ban(&ban("192.0.2.2", None)).await.unwrap();
    let old = fx
        .store
        .file_report(&report("dddd000001"), 10)
        .await
        .unwrap()
        .unwrap();
    fx.store
        .file_report(&report("dddd000002"), 10)
        .await
        .unwrap()
        .unwrap();
    fx.store
        .resolve_report(old, &resolution("dismissed"))
        .await
        .unwrap();
    let later = now + 100 * 86_400_000;
    fx.store.prune(later, Retention::default()).await.unwrap();
    // Expired bans are gone even for a reader that asks about the distant past.
    assert_eq!(fx.store.bans(0).await.unwrap().len(), 1);
    let left: Vec<u64> = fx
        .store
        .reports()
        .await
        .unwrap()
        .iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(left, [2], "open reports are kept whatever their age");
}

contract!(
    bans_are_listed_replaced_lifted_and_survive_a_restart,
    reports_are_numbered_capped_and_resolved_once,
    the_audit_log_lists_newest_first,
    activity_is_read_back_by_window_and_pruned_by_age,
    presence_announcements_expire,
    prune_drops_expired_bans_and_old_resolved_reports,
);
