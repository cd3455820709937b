//! The share core opened in-process on a server's data dir (or its Redis): how end-to-end tests
//! check that a link a real client printed claims exactly the bytes that were sent, once.

use std::path::Path;

use onetimeshare::crypto::Password;
use onetimeshare::share::{KdfCost, Link, Policy, ShareError, Shares};
use onetimeshare::store::{self, MetaBackend};

/// The policy the harness's servers run with (cheap but real Argon2id: the flags `TestServer`
/// passes), for the library acting on a server's stores and for the contract suites.
pub fn test_policy() -> Policy {
    Policy {
        kdf_cost: KdfCost {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..Policy::default()
    }
}

/// Opens the stores (for the embedded store: after the server has stopped).
pub fn open_shares(data_dir: &Path, backend: MetaBackend) -> (tokio::runtime::Runtime, Shares) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let shares = rt.block_on(async {
        let store::Stores { meta, blobs, .. } = super::open_stores(data_dir, &backend).await;
        Shares::new(meta, blobs, test_policy())
    });
    (rt, shares)
}

/// Claims `link` once and returns its content.
pub fn claim(
    shares: &(tokio::runtime::Runtime, Shares),
    link: &Link,
    password: Option<&str>,
) -> Vec<u8> {
    let (rt, shares) = shares;
    rt.block_on(async {
        let password = password.map(Password::new);
        let claimed = shares
            .claim(link.id(), link.key(), password.as_ref())
            .await
            .expect("claim");
        claimed.body.read_to_end().await.expect("content")
    })
}

/// Claims `link` twice: the first gets the content (returned), the second must be refused.
pub fn claim_once(
    shares: &(tokio::runtime::Runtime, Shares),
    link: &Link,
    password: Option<&str>,
) -> Vec<u8> {
    let body = claim(shares, link, password);
    let (rt, inner) = shares;
    let password = password.map(Password::new);
    let again = rt.block_on(inner.claim(link.id(), link.key(), password.as_ref()));
    assert!(
        matches!(again, Err(ShareError::AlreadyOpened { .. })),
        "second claim was not refused"
    );
    body
}
