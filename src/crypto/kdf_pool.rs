//! Where every Argon2id derivation runs: a small pool of OS threads of its own, at the lowest CPU
//! priority, so a flood of password checks cannot starve page views, claims or SSH sessions.
//!
//! Argon2id is built to be expensive (64 MiB and ~100 ms of one core by default), so it never
//! runs on the async runtime. It used to run on tokio's blocking pool behind a semaphore: the
//! memory bound held, but those threads competed with the runtime's workers as equals, and during
//! 200 concurrent wrong-password claims on 2 cores the status page's p99 rose from 34 to 286 ms.
//! Here:
//! - **Priority.** The pool's threads run at nice 19 (Linux nice values are per thread), so the
//!   kernel hands the CPU to the runtime's workers first and Argon2 gets what they leave.
//! - **Memory.** At most `threads` derivations exist at once, each holding a slot until its
//!   thread has *finished* — a caller that gives up (a client that disconnects) does not free a
//!   slot while its derivation still runs, which the old semaphore did. Memory stays within
//!   `threads × memory`.
//! - **Waiting.** A caller waits at most `wait` for a slot, then hears
//!   [`CryptoError::KdfBusy`]. Reserving a slot ([`PasswordKdf::reserve`]) is separate from
//!   deriving ([`KdfSlot::derive`]) so that a claim can hold its slot *before* it spends a password
//!   attempt: "busy" then means nothing was counted.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tracing::warn;

use super::{CryptoError, KdfParams, Password, PasswordKey};

/// The pool threads' nice value: the lowest priority an ordinary thread can take.
const NICE: i32 = 19;

/// How long a password check waits for a free Argon2 thread before it is told to come back.
pub const DEFAULT_KDF_WAIT: Duration = Duration::from_secs(10);

/// The default number of Argon2 threads: one per core beyond the first (the runtime's workers
/// already have one each, and on 2 cores a second Argon2 thread would also take the other
/// core's share of the memory bus), at least 1, and at most 4 (the old default, 256 MiB).
pub fn default_kdf_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_sub(1).clamp(1, 4)
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs Argon2id on its own low-priority threads, at most `threads` derivations at a time.
/// Cheap to clone; the threads end when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordKdf {
    slots: Arc<Semaphore>,
    jobs: mpsc::SyncSender<Job>,
    wait: Duration,
}

/// A reserved Argon2 thread: the right to run one derivation now.
pub struct KdfSlot {
    permit: OwnedSemaphorePermit,
    jobs: mpsc::SyncSender<Job>,
}

impl PasswordKdf {
    /// Starts `threads` (at least 1) Argon2 threads; a caller waits at most `wait` for one.
    pub fn new(threads: usize, wait: Duration) -> Self {
        let threads = threads.max(1);
        // Every job holds a slot, so the queue never holds more than `threads` of them.
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&queue));
            if let Err(err) = spawned {
                // Fewer threads only means queued jobs wait longer; with none at all the queue
                // is closed and every derivation fails instead of hanging.
                warn!(error = %err, "cannot start an Argon2 thread");
            }
        }
        Self {
            slots: Arc::new(Semaphore::new(threads)),
            jobs,
            wait,
        }
    }

    /// Waits (at most the pool's bound) for a free Argon2 thread.
    pub async fn reserve(&self) -> Result<KdfSlot, CryptoError> {
        let free = self.slots.clone().acquire_owned();
        match tokio::time::timeout(self.wait, free).await {
            Ok(Ok(permit)) => Ok(KdfSlot {
                permit,
                jobs: self.jobs.clone(),
            }),
            Ok(Err(_closed)) => Err(CryptoError::KdfCancelled),
            Err(_elapsed) => Err(CryptoError::KdfBusy),
        }
    }

    /// [`reserve`](Self::reserve), then [`KdfSlot::derive`].
    pub async fn derive(
        &self,
        password: &Password,
        params: &KdfParams,
    ) -> Result<PasswordKey, CryptoError> {
        self.reserve().await?.derive(password, params).await
    }
}

impl KdfSlot {
    /// Runs Argon2id(password, params) on the reserved thread.
    pub async fn derive(
        self,
        password: &Password,
        params: &KdfParams,
    ) -> Result<PasswordKey, CryptoError> {
        let password = password.clone();
        let params = params.clone();
        self.run(move || PasswordKey::derive_blocking(&password, &params))
            .await?
    }

    /// Runs `work` on a pool thread. The slot goes with the job and is given back when `work`
    /// returns, whether or not anybody still awaits the result.
    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CryptoError> {
        let (done, result) = oneshot::channel();
        let permit = self.permit;
        let job: Job = Box::new(move || {
            let out = work();
            drop(permit);
            let _ = done.send(out);
        });
        self.jobs
            .try_send(job)
            .map_err(|_| CryptoError::KdfCancelled)?;
        result.await.map_err(|_| CryptoError::KdfCancelled)
    }
}

/// One pool thread: lower its priority, then run jobs until the pool is dropped.
fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = job else { return };
        // A job that panics drops its slot and its result sender (its caller hears
        // KdfCancelled); the thread stays in the pool.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

/// Lowers the calling thread's CPU priority to [`NICE`]. On Linux the nice value belongs to the
/// thread, so only the pool's threads are affected.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let me = rustix::thread::gettid();
    if let Err(err) = rustix::process::setpriority_process(Some(me), NICE) {
        warn!(error = %err, "cannot lower an Argon2 thread's priority");
    }
}

/// Elsewhere the nice value is per process: the pool still bounds memory and waiting.
#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn small_params() -> KdfParams {
        KdfParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            salt: [7; 16],
        }
    }

    /// Reserves until a slot is free again (a slot returns when its job's thread is done).
    async fn reserve_eventually(kdf: &PasswordKdf) -> KdfSlot {
        loop {
            match kdf.reserve().await {
                Ok(slot) => return slot,
                Err(CryptoError::KdfBusy) => tokio::task::yield_now().await,
                Err(other) => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn derivations_give_the_same_key_as_the_blocking_call() {
        let kdf = PasswordKdf::new(2, Duration::from_secs(60));
        let expected = PasswordKey::derive_blocking(&Password::new("pw"), &small_params()).unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let kdf = kdf.clone();
            tasks.push(tokio::spawn(async move {
                kdf.derive(&Password::new("pw"), &small_params())
                    .await
                    .map(|k| *k.bytes())
            }));
        }
        for task in tasks {
            assert_eq!(&task.await.unwrap().unwrap(), expected.bytes());
        }
    }

    #[tokio::test]
    async fn with_every_thread_busy_the_next_caller_is_told_busy_until_one_finishes() {
        let kdf = PasswordKdf::new(2, Duration::ZERO);
        let (a, b) = (kdf.reserve().await.unwrap(), kdf.reserve().await.unwrap());
        assert_eq!(kdf.reserve().await.err(), Some(CryptoError::KdfBusy));

        // Two derivations running, each held at its own gate: still no third.
        let (open_a, gate_a) = mpsc::channel::<()>();
        let (open_b, gate_b) = mpsc::channel::<()>();
        let run_a = tokio::spawn(a.run(move || gate_a.recv().is_ok()));
        let run_b = tokio::spawn(b.run(move || gate_b.recv().is_ok()));
        assert_eq!(kdf.reserve().await.err(), Some(CryptoError::KdfBusy));

        // One finished (its slot is back before its result): its thread takes the next one.
        open_a.send(()).unwrap();
        assert!(run_a.await.unwrap().unwrap());
        let slot = kdf.reserve().await.unwrap();
        slot.derive(&Password::new("pw"), &small_params())
            .await
            .unwrap();
        open_b.send(()).unwrap();
        assert!(run_b.await.unwrap().unwrap());
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_keeps_its_slot_until_its_derivation_ends() {
        let kdf = PasswordKdf::new(1, Duration::ZERO);
        let (open, gate) = mpsc::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        let slot = kdf.reserve().await.unwrap();
        let caller = tokio::spawn(slot.run(move || {
            let _ = started_tx.send(());
            let _ = gate.recv();
        }));
        started.await.unwrap();
        caller.abort();
        let _ = caller.await;
        // Nobody awaits the derivation any more, but it still runs: no second one may start.
        assert_eq!(kdf.reserve().await.err(), Some(CryptoError::KdfBusy));
        open.send(()).unwrap();
        reserve_eventually(&kdf).await;
    }

    #[tokio::test]
    async fn many_callers_never_run_more_derivations_at_once_than_threads() {
        let kdf = PasswordKdf::new(3, Duration::from_secs(600));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..24 {
            let (kdf, running, most) = (kdf.clone(), running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let slot = kdf.reserve().await.unwrap();
                slot.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let key = PasswordKey::derive_blocking(&Password::new("pw"), &small_params());
                    running.fetch_sub(1, Ordering::SeqCst);
                    let me = std::thread::current();
                    (key.is_ok(), me.name().map(str::to_owned))
                })
                .await
                .unwrap()
            }));
        }
        for task in tasks {
            let (ok, thread) = task.await.unwrap();
            assert!(ok);
            assert!(
                thread.as_deref().is_some_and(|n| n.starts_with("argon2-")),
                "ran on {thread:?}, not a pool thread"
            );
        }
        assert!(most.load(Ordering::SeqCst) <= 3, "{most:?} at once");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn derivations_run_at_the_lowest_cpu_priority_and_the_caller_keeps_its_own() {
        fn nice() -> i32 {
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
        }
        let kdf = PasswordKdf::new(1, Duration::from_secs(60));
        let ours = nice();
        let theirs = kdf.reserve().await.unwrap().run(nice).await.unwrap();
        assert_eq!(theirs, NICE);
        assert_eq!(nice(), ours);
    }
}
