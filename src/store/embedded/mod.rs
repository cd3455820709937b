//! Share metadata in an embedded, persistent database (redb), for the zero-setup single box.
//!
//! Why redb: pure Rust (no C toolchain, no system library), ACID with fsync-durable commits,
//! MVCC readers that never block the writer, one file, a stable on-disk format. sled is
//! unmaintained as a stable release; SQLite would need a C build and buys nothing here.
//!
//! Atomicity and throughput come from one design choice: **every mutation goes through a single
//! writer thread**, which drains whatever requests are queued into ONE write transaction and
//! commits it once (group commit). Requests in a batch are applied in order, so two claims of one
//! share see each other, and a caller is answered only after the commit is durable — a claimed
//! share cannot come back after a crash, yet a burst of claims costs one fsync.
//!
//! Point reads (one share's entry: every status page and claim) have a thread of their own too,
//! for speed rather than atomicity. On tokio's blocking pool each was a hand-off to one of up to
//! a hundred threads (64 concurrent page views kept ~80 alive), and the kernel time of those
//! wake-ups cost more than the page itself. The reader drains what is queued and answers it from
//! one read transaction begun *after* the drain, so every read sees every commit that finished
//! before it was asked for; it never runs on the async runtime, so a read that misses the cache
//! and waits for the disk stalls other point reads, never the server. Scans (lists, quotas,
//! operator views) stay on the blocking pool: they could hold the reader for long.
//!
//! The ledger (op id → what it did) and the spent index keep the same contract as Redis; a void
//! recorded for an insert that never happened stays in the ledger (a few bytes, and only after a
//! failed commit).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use async_trait::async_trait;
use redb::{
    Database, MultimapTableDefinition, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition,
};
use tokio::sync::oneshot;
use tracing::error;

mod operator;

use crate::share::{
    Applied, AttemptOutcome, BlobName, ClaimOutcome, LEDGER_UNDONE, LEDGER_VOID, MetaStore, Millis,
    OpId, Owner, QuotaCharge, QuotaExceeded, QuotaTag, QuotaUsage, RevokeOutcome, ShareEntry,
    ShareFacts, ShareRecord, ShareState, StoreError, StoreKey, TakedownOutcome,
};

/// store key → JSON [`ShareEntry`]
const SHARES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("shares");
/// store key → a small share's sealed content ([`ShareRecord::inline`]), raw: written with the
/// share, dropped once it is spent (or with it, at expiry)
const INLINE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("inline");
/// (expires_at, store key) → blob name
const EXPIRY: TableDefinition<(u64, &[u8; 32]), &str> = TableDefinition::new("expiry");
/// (store key, op id) → what that op did, or `void` (see `MetaStore::settle`)
const LEDGER: TableDefinition<(&[u8; 32], &[u8; 16]), &str> = TableDefinition::new("ledger");
/// (when the share left armed, store key) → blob name
const SPENT: TableDefinition<(u64, &[u8; 32]), &str> = TableDefinition::new("spent");
/// owner index key → store keys
const OWNERS: MultimapTableDefinition<&[u8; 32], &[u8; 32]> =
    MultimapTableDefinition::new("owners");

/// (quota tag, store key) → (expires_at, stored size): the live shares charged to a key or an
/// address. Written with the share, removed when it leaves `Armed` or expires.
const QUOTA: TableDefinition<(&str, &[u8; 32]), (u64, u64)> = TableDefinition::new("quota");

/// Page cache of the embedded database.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Most requests folded into one commit.
const MAX_BATCH: usize = 4096;

pub struct EmbeddedStore {
    db: Arc<Database>,
    /// Live sessions announced by this process (only one process can open the database).
    presence: std::sync::Mutex<
        std::collections::HashMap<String, (Millis, crate::operator::SessionCounts)>,
    >,
    writer: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    reader: Option<mpsc::Sender<ReadJob>>,
    reader_thread: Option<JoinHandle<()>>,
}

/// A point read, answered from the reader's current read transaction (or its failure).
type ReadJob = Box<dyn FnOnce(Result<&ReadTransaction, &StoreError>) + Send>;

enum Request {
    Insert(Box<ShareRecord>, Vec<QuotaCharge>, OpId),
    Claim(StoreKey, Millis, OpId),
    TakeDown(StoreKey, Millis, OpId),
    Attempt(StoreKey, Millis, OpId),
    Revoke(StoreKey, Owner, Millis, OpId),
    Settle(StoreKey, OpId),
    /// The op to undo, and a claimed share's inline content to put back.
    Undo(StoreKey, OpId, Option<Vec<u8>>),
    TakeExpired(Millis),
    TakeSpent(Millis),
    DropInline(StoreKey),
    Operator(operator::Write),
}

enum Response {
    Inserted(Result<(), StoreError>),
    Claim(ClaimOutcome),
    TakeDown(TakedownOutcome),
    Attempt(AttemptOutcome),
    Revoke(RevokeOutcome),
    Expired(Vec<BlobName>),
    Settled(Option<Applied>),
    Undone(bool),
    Dropped,
    Operator(operator::Written),
}

struct Job {
    request: Request,
    reply: oneshot::Sender<Result<Response, StoreError>>,
}

impl EmbeddedStore {
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        let db = tokio::task::spawn_blocking(move || -> Result<Database, redb::Error> {
            // redb's default page cache is 1 GiB; share records are small and hot ones are
            // read once or twice, so a small cache keeps the server's memory flat.
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&path)?;
            let txn = db.begin_write()?;
            txn.open_table(SHARES)?;
            txn.open_table(INLINE)?;
            txn.open_table(EXPIRY)?;
            txn.open_table(LEDGER)?;
            txn.open_table(SPENT)?;
            txn.open_multimap_table(OWNERS)?;
            txn.open_table(QUOTA)?;
            operator::create_tables(&txn)?;
            txn.commit()?;
            Ok(db)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
        .map_err(db_error)?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel();
        let writer_db = db.clone();
        let thread = std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || writer_loop(&writer_db, &rx))
            .map_err(StoreError::Io)?;
        let (reader, reads) = mpsc::channel();
        let reader_db = db.clone();
        let reader_thread = std::thread::Builder::new()
            .name("redb-reader".into())
            .spawn(move || reader_loop(&reader_db, &reads))
            .map_err(StoreError::Io)?;
        Ok(Self {
            db,
            presence: Default::default(),
            writer: Some(tx),
            thread: Some(thread),
            reader: Some(reader),
            reader_thread: Some(reader_thread),
        })
    }

    /// Runs a point read on the reader thread (see the module docs).
    async fn point_read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |txn| {
            let txn = txn.map_err(|err| StoreError::Unavailable(err.to_string()));
            let _ = reply.send(txn.and_then(f));
        });
        self.reader
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("store is closed".into()))?
            .send(job)
            .map_err(|_| StoreError::Unavailable("store reader stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("store reader stopped".into()))?
    }

    async fn submit(&self, request: Request) -> Result<Response, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("store is closed".into()))?
            .send(Job { request, reply })
            .map_err(|_| StoreError::Unavailable("store writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("store writer stopped".into()))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // Closing the queue ends the writer after its current batch; joining releases the file
        // lock before a reopen in the same process.
        self.writer = None;
        self.reader = None;
        for thread in [self.thread.take(), self.reader_thread.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}

/// Largest batch of point reads answered from one read transaction.
const MAX_READ_BATCH: usize = 256;

fn reader_loop(db: &Database, queue: &mpsc::Receiver<ReadJob>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        jobs.extend(queue.try_iter().take(MAX_READ_BATCH - 1));
        // Begun after the drain: it sees every commit that finished before any of these reads
        // was asked for.
        let txn = db.begin_read().map_err(db_error);
        for job in jobs {
            // A read that panics fails alone (its caller hears "reader stopped"); the thread
            // keeps serving the others.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(txn.as_ref())));
        }
    }
}

fn db_error(err: impl Into<redb::Error>) -> StoreError {
    let err: redb::Error = err.into();
    match err {
        redb::Error::Io(io) => StoreError::from(io),
        other => StoreError::Unavailable(format!("embedded store: {other}")),
    }
}

fn writer_loop(db: &Database, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (requests, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
        match apply_batch(db, &requests) {
            Ok(responses) => {
                for (reply, response) in replies.into_iter().zip(responses) {
                    let _ = reply.send(Ok(response));
                }
            }
            Err(err) => {
                error!(error = %err, requests = requests.len(), "embedded store commit failed");
                // The transaction did not commit: nothing in it happened, and callers may say so.
                let full = matches!(&err, redb::Error::Io(io)
                    if matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded));
                for reply in replies {
                    let _ = reply.send(Err(if full {
                        StoreError::Full
                    } else {
                        StoreError::NotApplied(format!("embedded store: {err}"))
                    }));
                }
            }
        }
    }
}

/// Applies every request in one transaction and commits once.
fn apply_batch(db: &Database, requests: &[Request]) -> Result<Vec<Response>, redb::Error> {
    let txn = db.begin_write()?;
    let mut responses = Vec::with_capacity(requests.len());
    {
        let mut shares = txn.open_table(SHARES)?;
        let mut inline = txn.open_table(INLINE)?;
        let mut expiry = txn.open_table(EXPIRY)?;
        let mut owners = txn.open_multimap_table(OWNERS)?;
        let mut ledger = txn.open_table(LEDGER)?;
        let mut spent = txn.open_table(SPENT)?;
        let mut quota = txn.open_table(QUOTA)?;
        for request in requests {
            // An op already in the ledger (settled as void) does nothing when it arrives.
            let settled = |ledger: &redb::Table<(&[u8; 32], &[u8; 16]), &str>,
                           key: &StoreKey,
                           op: &OpId|
             -> Result<bool, redb::Error> {
                Ok(ledger.get((&key.0, op.as_bytes()))?.is_some())
            };
            let response = match request {
                Request::Insert(record, charges, op) => {
                    if settled(&ledger, &record.key, op)? || shares.get(&record.key.0)?.is_some() {
                        Response::Inserted(Err(StoreError::AlreadyExists))
                    } else if let Some(refusal) =
                        over_quota(&mut quota, record, charges, record.created_at)?
                    {
                        Response::Inserted(Err(refusal.into()))
                    } else {
                        let entry = ShareEntry::armed((**record).clone());
                        shares.insert(&record.key.0, encode(&entry).as_slice())?;
                        if let Some(bytes) = &record.inline {
                            inline.insert(&record.key.0, bytes.as_slice())?;
                        }
                        expiry.insert((record.expires_at, &record.key.0), record.blob.as_str())?;
                        if let Some(owner) = &record.owner {
                            owners.insert(&owner.index_key(), &record.key.0)?;
                        }
                        charge(&mut quota, record)?;
                        let mark = Applied::Inserted.encode();
                        ledger.insert((&record.key.0, op.as_bytes()), mark.as_str())?;
                        Response::Inserted(Ok(()))
                    }
                }
                // The claimant already holds a small share's content (read with the entry it
                // checked the key against): the claim does not read it again.
                Request::Claim(key, now, op) => Response::Claim(
                    match load_unsettled((&shares, None), &ledger, key, *now, op)? {
                        None => ClaimOutcome::Missing,
                        Some(entry) if entry.state == ShareState::Armed => {
                            let opened = ShareState::Opened { at: *now };
                            let mut tables = (&mut shares, &mut ledger, &mut spent, &mut quota);
                            leave_armed(&mut tables, &entry, opened, *now, op, Applied::Claimed)?;
                            inline.remove(&key.0)?;
                            ClaimOutcome::Claimed(entry)
                        }
                        Some(entry) => ClaimOutcome::Refused(entry),
                    },
                ),
                Request::TakeDown(key, now, op) => Response::TakeDown(
                    match load_unsettled((&shares, Some(&inline)), &ledger, key, *now, op)? {
                        None => TakedownOutcome::Missing,
                        Some(entry) if entry.state == ShareState::Armed => {
                            let removed = ShareState::TakenDown { at: *now };
                            let mut tables = (&mut shares, &mut ledger, &mut spent, &mut quota);
                            leave_armed(
                                &mut tables,
                                &entry,
                                removed,
                                *now,
                                op,
                                Applied::TakenDown,
                            )?;
                            TakedownOutcome::TakenDown(entry)
                        }
                        Some(entry) => TakedownOutcome::Refused(entry),
                    },
                ),
                Request::Attempt(key, now, op) => Response::Attempt(
                    match load_unsettled((&shares, None), &ledger, key, *now, op)? {
                        None => AttemptOutcome::Missing,
                        Some(entry) if entry.state != ShareState::Armed => {
                            AttemptOutcome::NotArmed(Box::new(entry))
                        }
                        Some(entry) if entry.attempts >= entry.record.max_attempts => {
                            AttemptOutcome::Locked
                        }
                        Some(mut entry) => {
                            entry.attempts += 1;
                            shares.insert(&key.0, encode(&entry).as_slice())?;
                            let granted = Applied::Granted {
                                attempt: entry.attempts,
                                max: entry.record.max_attempts,
                            };
                            ledger.insert((&key.0, op.as_bytes()), granted.encode().as_str())?;
                            AttemptOutcome::Granted {
                                attempt: entry.attempts,
                                max: entry.record.max_attempts,
                            }
                        }
                    },
                ),
                Request::Revoke(key, owner, now, op) => Response::Revoke(
                    match load_unsettled((&shares, Some(&inline)), &ledger, key, *now, op)? {
                        Some(entry) if entry.record.owner.as_ref() == Some(owner) => {
                            if entry.state == ShareState::Armed {
                                let revoked = ShareState::Revoked { at: *now };
                                let mut tables = (&mut shares, &mut ledger, &mut spent, &mut quota);
                                leave_armed(
                                    &mut tables,
                                    &entry,
                                    revoked,
                                    *now,
                                    op,
                                    Applied::Revoked,
                                )?;
                                RevokeOutcome::Revoked(entry)
                            } else {
                                RevokeOutcome::Refused(entry)
                            }
                        }
                        _ => RevokeOutcome::Missing,
                    },
                ),
                Request::Settle(key, op) => match ledger_mark(&ledger, &shares, key, op)? {
                    Some(mark) => Response::Settled(Applied::decode(&mark)),
                    None => {
                        ledger.insert((&key.0, op.as_bytes()), LEDGER_VOID)?;
                        Response::Settled(None)
                    }
                },
                Request::Undo(key, op, content) => Response::Undone(undo(
                    (&mut shares, &mut inline),
                    &mut expiry,
                    &mut owners,
                    (&mut ledger, &mut spent, &mut quota),
                    (key, op, content.as_deref()),
                )?),
                Request::TakeExpired(now) => {
                    let due = take_due(&mut expiry, *now)?;
                    let mut blobs = Vec::with_capacity(due.len());
                    for (key, blob) in due {
                        inline.remove(&key)?;
                        if let Some(raw) = shares.remove(&key)? {
                            let record = decode(raw.value())?.record;
                            if let Some(owner) = &record.owner {
                                owners.remove(&owner.index_key(), &key)?;
                            }
                            release(&mut quota, &record)?;
                        }
                        ledger
                            .retain_in((&key, &[0u8; 16])..=(&key, &[0xffu8; 16]), |_, _| false)?;
                        blobs.extend(BlobName::parse(&blob));
                    }
                    Response::Expired(blobs)
                }
                Request::TakeSpent(before) => {
                    let due = take_due(&mut spent, *before)?;
                    let mut blobs = Vec::with_capacity(due.len());
                    for (key, blob) in &due {
                        // An inline share has no file: its bytes go here, if still present
                        // (a claim whose delivery never finished dropping them).
                        if inline.remove(key)?.is_none() {
                            blobs.extend(BlobName::parse(blob));
                        }
                    }
                    Response::Expired(blobs)
                }
                Request::DropInline(key) => {
                    let spent = load(&shares, None, key, 0)?
                        .is_none_or(|entry| entry.state != ShareState::Armed);
                    if spent {
                        inline.remove(&key.0)?;
                    }
                    Response::Dropped
                }
                Request::Operator(write) => Response::Operator(operator::apply(&txn, write)?),
            };
            responses.push(response);
        }
    }
    txn.commit()?;
    Ok(responses)
}

fn encode(entry: &ShareEntry) -> Vec<u8> {
    // Serializing plain data with string keys cannot fail.
    serde_json::to_vec(entry).unwrap_or_default()
}

fn decode(raw: &[u8]) -> Result<ShareEntry, redb::Error> {
    serde_json::from_slice(raw).map_err(|e| redb::Error::Corrupted(e.to_string()))
}

/// The unexpired entry under `key`, if any, with its inline content when `inline` is given.
fn load<T: ReadableTable<&'static [u8; 32], &'static [u8]>>(
    shares: &T,
    inline: Option<&T>,
    key: &StoreKey,
    now: Millis,
) -> Result<Option<ShareEntry>, redb::Error> {
    let Some(raw) = shares.get(&key.0)? else {
        return Ok(None);
    };
    let mut entry = decode(raw.value())?;
    if entry.is_expired(now) {
        return Ok(None);
    }
    if let Some(inline) = inline {
        entry.record.inline = inline.get(&key.0)?.map(|v| v.value().to_vec());
    }
    Ok(Some(entry))
}

/// What the ledger says `op` did to the share under `key` (its encoded mark, `void` or
/// `undone`), or — for a claim, whose mark is kept in the record it opened — `clm` when the
/// share's record names `op` as its claim.
fn ledger_mark<T: ReadableTable<&'static [u8; 32], &'static [u8]>>(
    ledger: &impl ReadableTable<(&'static [u8; 32], &'static [u8; 16]), &'static str>,
    shares: &T,
    key: &StoreKey,
    op: &OpId,
) -> Result<Option<String>, redb::Error> {
    if let Some(mark) = ledger.get((&key.0, op.as_bytes()))? {
        return Ok(Some(mark.value().to_owned()));
    }
    let Some(raw) = shares.get(&key.0)? else {
        return Ok(None);
    };
    let entry = decode(raw.value())?;
    let claimed = matches!(entry.state, ShareState::Opened { .. })
        && entry.claimed_by.as_deref() == Some(op.to_hex().as_str());
    Ok(claimed.then(|| Applied::Claimed.encode()))
}

/// Like [`load`], but `None` when `op` was already settled (a late op changes nothing).
fn load_unsettled<T: ReadableTable<&'static [u8; 32], &'static [u8]>>(
    (shares, inline): (&T, Option<&T>),
    ledger: &impl ReadableTable<(&'static [u8; 32], &'static [u8; 16]), &'static str>,
    key: &StoreKey,
    now: Millis,
    op: &OpId,
) -> Result<Option<ShareEntry>, redb::Error> {
    if ledger.get((&key.0, op.as_bytes()))?.is_some() {
        return Ok(None);
    }
    load(shares, inline, key, now)
}

/// Removes and returns the (store key, blob name) entries of a time index up to `upto`.
fn take_due(
    index: &mut redb::Table<(u64, &'static [u8; 32]), &'static str>,
    upto: Millis,
) -> Result<Vec<([u8; 32], String)>, redb::Error> {
    let mut due = Vec::new();
    for item in index.range((0u64, &[0u8; 32])..=(upto, &[0xffu8; 32]))? {
        let (k, v) = item?;
        let (at, key) = k.value();
        due.push((at, *key, v.value().to_owned()));
    }
    let mut taken = Vec::with_capacity(due.len());
    for (at, key, blob) in due {
        index.remove((at, &key))?;
        taken.push((key, blob));
    }
    Ok(taken)
}

/// The shares table or the inline content table, as the writer holds them.
type ShareTable<'t> = redb::Table<'t, &'static [u8; 32], &'static [u8]>;

type QuotaTable<'t> = redb::Table<'t, (&'static str, &'static [u8; 32]), (u64, u64)>;

/// The tables a transition out of `Armed` writes: shares, ledger, spent index, quota charges.
type TransitionTables<'a, 't> = (
    &'a mut redb::Table<'t, &'static [u8; 32], &'static [u8]>,
    &'a mut redb::Table<'t, (&'static [u8; 32], &'static [u8; 16]), &'static str>,
    &'a mut redb::Table<'t, (u64, &'static [u8; 32]), &'static str>,
    &'a mut QuotaTable<'t>,
);

/// The first charge that `record` would take over its limits (dropping the tag's expired
/// entries on the way), or `None`.
fn over_quota(
    quota: &mut QuotaTable<'_>,
    record: &ShareRecord,
    charges: &[QuotaCharge],
    now: Millis,
) -> Result<Option<QuotaExceeded>, redb::Error> {
    for charge in charges {
        let tag = charge.tag.as_str();
        let mut used = QuotaUsage::default();
        let mut expired = Vec::new();
        for item in quota.range((tag, &[0u8; 32])..=(tag, &[0xffu8; 32]))? {
            let (k, v) = item?;
            let (expires_at, size) = v.value();
            if expires_at <= now {
                expired.push(*k.value().1);
            } else {
                used.shares = used.shares.saturating_add(1);
                used.bytes = used.bytes.saturating_add(size);
            }
        }
        for key in &expired {
            quota.remove((tag, key))?;
        }
        if let Err(refusal) = charge.admit(used, record.stored_size) {
            return Ok(Some(refusal));
        }
    }
    Ok(None)
}

/// Charges a live share to each of its quota tags (at insert, and when an undone claim re-arms it).
fn charge(quota: &mut QuotaTable<'_>, record: &ShareRecord) -> Result<(), redb::Error> {
    for tag in &record.quota {
        quota.insert(
            (tag.as_str(), &record.key.0),
            (record.expires_at, record.stored_size),
        )?;
    }
    Ok(())
}

/// Drops the charges of a share that left `Armed` or expired.
fn release(quota: &mut QuotaTable<'_>, record: &ShareRecord) -> Result<(), redb::Error> {
    for tag in &record.quota {
        quota.remove((tag.as_str(), &record.key.0))?;
    }
    Ok(())
}

/// Moves an armed share to `state`: the new state, the op's ledger mark, the blob in the spent
/// index, its quota charges released.
fn leave_armed(
    (shares, ledger, spent, quota): &mut TransitionTables<'_, '_>,
    entry: &ShareEntry,
    state: ShareState,
    now: Millis,
    op: &OpId,
    mark: Applied,
) -> Result<(), redb::Error> {
    let key = &entry.record.key.0;
    let mut changed = entry.clone();
    changed.state = state;
    if mark == Applied::Claimed {
        // A claim's mark rides in the record it changes anyway (see `ledger_mark`): the busiest
        // transition writes one B-tree fewer.
        changed.claimed_by = Some(op.to_hex());
    } else {
        ledger.insert((key, op.as_bytes()), mark.encode().as_str())?;
    }
    shares.insert(key, encode(&changed).as_slice())?;
    spent.insert((now, key), entry.record.blob.as_str())?;
    release(quota, &entry.record)?;
    Ok(())
}

/// The ledger, the spent index and the quota charges, which an undo may all touch.
type UndoTables<'a, 't> = (
    &'a mut redb::Table<'t, (&'static [u8; 32], &'static [u8; 16]), &'static str>,
    &'a mut redb::Table<'t, (u64, &'static [u8; 32]), &'static str>,
    &'a mut QuotaTable<'t>,
);

/// [`MetaStore::undo`] inside the writer's transaction.
fn undo(
    (shares, inline): (&mut ShareTable<'_>, &mut ShareTable<'_>),
    expiry: &mut redb::Table<(u64, &[u8; 32]), &str>,
    owners: &mut redb::MultimapTable<&[u8; 32], &[u8; 32]>,
    (ledger, spent, quota): UndoTables<'_, '_>,
    (key, op, content): (&StoreKey, &OpId, Option<&[u8]>),
) -> Result<bool, redb::Error> {
    let Some(mark) = ledger_mark(ledger, shares, key, op)?.and_then(|m| Applied::decode(&m)) else {
        return Ok(false);
    };
    let Some(raw) = shares.get(&key.0)?.map(|v| v.value().to_vec()) else {
        return Ok(false);
    };
    let mut entry = decode(&raw)?;
    match (mark, entry.state) {
        (Applied::Inserted, ShareState::Armed) => {
            shares.remove(&key.0)?;
            inline.remove(&key.0)?;
            expiry.remove((entry.record.expires_at, &key.0))?;
            if let Some(owner) = &entry.record.owner {
                owners.remove(&owner.index_key(), &key.0)?;
            }
            release(quota, &entry.record)?;
        }
        (Applied::Claimed, ShareState::Opened { at }) => {
            entry.state = ShareState::Armed;
            entry.claimed_by = None;
            shares.insert(&key.0, encode(&entry).as_slice())?;
            if let Some(content) = content {
                inline.insert(&key.0, content)?;
            }
            spent.remove((at, &key.0))?;
            charge(quota, &entry.record)?;
        }
        (Applied::Granted { .. }, ShareState::Armed) if entry.attempts > 0 => {
            entry.attempts -= 1;
            shares.insert(&key.0, encode(&entry).as_slice())?;
        }
        _ => return Ok(false),
    }
    ledger.insert((&key.0, op.as_bytes()), LEDGER_UNDONE)?;
    Ok(true)
}

fn unexpected() -> StoreError {
    StoreError::Corrupt("embedded store answered out of turn".into())
}

#[async_trait]
impl MetaStore for EmbeddedStore {
    async fn insert(
        &self,
        record: &ShareRecord,
        charges: &[QuotaCharge],
        op: &OpId,
    ) -> Result<(), StoreError> {
        let request = Request::Insert(Box::new(record.clone()), charges.to_vec(), *op);
        match self.submit(request).await? {
            Response::Inserted(outcome) => outcome,
            _ => Err(unexpected()),
        }
    }

    async fn quota_usage(&self, tag: &QuotaTag, now: Millis) -> Result<QuotaUsage, StoreError> {
        let tag = tag.clone();
        self.read(move |db| {
            let txn = db.begin_read().map_err(db_error)?;
            let quota = txn.open_table(QUOTA).map_err(db_error)?;
            let tag = tag.as_str();
            let mut used = QuotaUsage::default();
            for item in quota
                .range((tag, &[0u8; 32])..=(tag, &[0xffu8; 32]))
                .map_err(db_error)?
            {
                let (expires_at, size) = item.map_err(db_error)?.1.value();
                if expires_at > now {
                    used.shares = used.shares.saturating_add(1);
                    used.bytes = used.bytes.saturating_add(size);
                }
            }
            Ok(used)
        })
        .await
    }

    async fn get(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareEntry>, StoreError> {
        let key = *key;
        self.point_read(move |txn| {
            let shares = txn.open_table(SHARES).map_err(db_error)?;
            let inline = txn.open_table(INLINE).map_err(db_error)?;
            load(&shares, Some(&inline), &key, now).map_err(db_error)
        })
        .await
    }

    async fn peek(&self, key: &StoreKey, now: Millis) -> Result<Option<ShareFacts>, StoreError> {
        let key = *key;
        self.point_read(move |txn| {
            let shares = txn.open_table(SHARES).map_err(db_error)?;
            let Some(raw) = shares.get(&key.0).map_err(db_error)? else {
                return Ok(None);
            };
            let facts: ShareFacts = serde_json::from_slice(raw.value())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((!facts.is_expired(now)).then_some(facts))
        })
        .await
    }

    async fn claim(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<ClaimOutcome, StoreError> {
        match self.submit(Request::Claim(*key, now, *op)).await? {
            Response::Claim(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn take_down(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<TakedownOutcome, StoreError> {
        match self.submit(Request::TakeDown(*key, now, *op)).await? {
            Response::TakeDown(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn settle(&self, key: &StoreKey, op: &OpId) -> Result<Option<Applied>, StoreError> {
        match self.submit(Request::Settle(*key, *op)).await? {
            Response::Settled(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn undo(
        &self,
        key: &StoreKey,
        op: &OpId,
        inline: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let request = Request::Undo(*key, *op, inline.map(<[u8]>::to_vec));
        match self.submit(request).await? {
            Response::Undone(done) => Ok(done),
            _ => Err(unexpected()),
        }
    }

    async fn drop_inline(&self, key: &StoreKey) -> Result<(), StoreError> {
        match self.submit(Request::DropInline(*key)).await? {
            Response::Dropped => Ok(()),
            _ => Err(unexpected()),
        }
    }

    async fn take_spent(&self, before: Millis) -> Result<Vec<BlobName>, StoreError> {
        match self.submit(Request::TakeSpent(before)).await? {
            Response::Expired(blobs) => Ok(blobs),
            _ => Err(unexpected()),
        }
    }

    async fn list_all(&self, now: Millis) -> Result<Vec<ShareEntry>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(db_error)?;
            let shares = txn.open_table(SHARES).map_err(db_error)?;
            let inline = txn.open_table(INLINE).map_err(db_error)?;
            let mut entries = Vec::new();
            for item in shares.iter().map_err(db_error)? {
                let (key, raw) = item.map_err(db_error)?;
                let mut entry = decode(raw.value()).map_err(db_error)?;
                if !entry.is_expired(now) {
                    entry.record.inline = inline
                        .get(key.value())
                        .map_err(db_error)?
                        .map(|v| v.value().to_vec());
                    entries.push(entry);
                }
            }
            Ok(entries)
        })
        .await
    }

    async fn spend_attempt(
        &self,
        key: &StoreKey,
        now: Millis,
        op: &OpId,
    ) -> Result<AttemptOutcome, StoreError> {
        match self.submit(Request::Attempt(*key, now, *op)).await? {
            Response::Attempt(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn revoke(
        &self,
        key: &StoreKey,
        owner: &Owner,
        now: Millis,
        op: &OpId,
    ) -> Result<RevokeOutcome, StoreError> {
        match self
            .submit(Request::Revoke(*key, owner.clone(), now, *op))
            .await?
        {
            Response::Revoke(outcome) => Ok(outcome),
            _ => Err(unexpected()),
        }
    }

    async fn list_by_owner(
        &self,
        owner: &Owner,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError> {
        let index = owner.index_key();
        self.read(move |db| {
            let txn = db.begin_read().map_err(db_error)?;
            let owners = txn.open_multimap_table(OWNERS).map_err(db_error)?;
            let shares = txn.open_table(SHARES).map_err(db_error)?;
            let inline = txn.open_table(INLINE).map_err(db_error)?;
            let mut entries = Vec::new();
            for key in owners.get(&index).map_err(db_error)? {
                let key = StoreKey(*key.map_err(db_error)?.value());
                entries.extend(load(&shares, Some(&inline), &key, now).map_err(db_error)?);
            }
            Ok(entries)
        })
        .await
    }

    async fn list_charged(
        &self,
        tag: &QuotaTag,
        now: Millis,
    ) -> Result<Vec<ShareEntry>, StoreError> {
        // The quota table is the index: its rows leave with `Armed` in the writer's transaction.
        let tag = tag.clone();
        self.read(move |db| {
            let txn = db.begin_read().map_err(db_error)?;
            let quota = txn.open_table(QUOTA).map_err(db_error)?;
            let shares = txn.open_table(SHARES).map_err(db_error)?;
            let tag = tag.as_str();
            let mut entries = Vec::new();
            for item in quota
                .range((tag, &[0u8; 32])..=(tag, &[0xffu8; 32]))
                .map_err(db_error)?
            {
                let (row, _) = item.map_err(db_error)?;
                let key = StoreKey(*row.value().1);
                entries.extend(
                    load(&shares, None, &key, now)
                        .map_err(db_error)?
                        .filter(|e| e.state == ShareState::Armed),
                );
            }
            Ok(entries)
        })
        .await
    }

    async fn take_expired(&self, now: Millis) -> Result<Vec<BlobName>, StoreError> {
        match self.submit(Request::TakeExpired(now)).await? {
            Response::Expired(blobs) => Ok(blobs),
            _ => Err(unexpected()),
        }
    }

    async fn live_blobs(&self, now: Millis) -> Result<HashSet<BlobName>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(db_error)?;
            let expiry = txn.open_table(EXPIRY).map_err(db_error)?;
            let mut live = HashSet::new();
            for item in expiry
                .range((now.saturating_add(1), &[0u8; 32])..)
                .map_err(db_error)?
            {
                let (_, blob) = item.map_err(db_error)?;
                live.extend(BlobName::parse(blob.value()));
            }
            Ok(live)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|db| db.begin_read().map(|_| ()).map_err(db_error))
            .await
    }
}
