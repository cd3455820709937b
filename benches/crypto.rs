//! Streaming encrypt/decrypt throughput of the share format (ChaCha20-Poly1305 STREAM, 64 KiB
//! chunks), 1 MiB to 1 GiB. Compare with `openssl speed -evp chacha20-poly1305` in the same run:
//! `benches/core.sh` runs both and prints the table for docs/benchmarks.md.
// Test and measurement code states its expectations with unwrap/panic (the [lints] table
// denies both in the server).
#![allow(clippy::unwrap_used, clippy::panic)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use onetimeshare::crypto::{Header, ShareKey, StreamOpener, StreamSealer, derive_content_keys};

const PIECE: usize = 1 << 20;

fn sizes() -> Vec<usize> {
    match std::env::var("OTS_BENCH_MAX_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(max) => [1, 16, 256, 1024]
            .into_iter()
            .filter(|m| *m <= max)
            .map(|m| m << 20)
            .collect(),
        None => vec![1 << 20, 16 << 20, 256 << 20, 1 << 30],
    }
}

fn seal(key: &ShareKey, header: &Header, plain: &[u8], total: usize, keep: bool) -> Vec<u8> {
    let keys = derive_content_keys(key, None, header.as_bytes());
    let out = Vec::with_capacity(if keep {
        total + total / 4096 + 64
    } else {
        2 * PIECE
    });
    let mut sealer = StreamSealer::new(&keys, header, out).unwrap();
    let mut spare = Vec::new();
    let mut left = total;
    while left > 0 {
        let mut rest = &plain[..left.min(plain.len())];
        left -= rest.len();
        while !rest.is_empty() {
            let batch = if keep { usize::MAX } else { PIECE };
            rest = &rest[sealer.push(rest, batch).unwrap()..];
            if !keep && sealer.sealed_len() >= PIECE {
                let out = sealer.take_sealed();
                sealer.recycle(std::mem::replace(&mut spare, out), 2 * PIECE);
            }
        }
    }
    sealer.finish().unwrap()
}

fn bench(c: &mut Criterion) {
    let key = ShareKey::generate().unwrap();
    let header = Header::new(&key, None, onetimeshare::crypto::CHUNK_LOG2).unwrap();
    let plain = vec![0x5au8; PIECE];

    let mut group = c.benchmark_group("stream");
    group.sample_size(10);
    for size in sizes() {
        group.throughput(Throughput::Bytes(size as u64));
        let label = format!("{}MiB", size >> 20);
        group.bench_with_input(BenchmarkId::new("encrypt", &label), &size, |b, &size| {
            b.iter(|| seal(&key, &header, &plain, size, false));
        });
        let sealed = seal(&key, &header, &plain, size, true);
        group.bench_with_input(BenchmarkId::new("decrypt", &label), &sealed, |b, sealed| {
            b.iter(|| {
                let keys = derive_content_keys(&key, None, header.as_bytes());
                // As a claim does: sealed bytes arrive in a buffer, chunks open where they lie.
                let mut opener = StreamOpener::new(&keys, &header).unwrap();
                let mut buffer = bytes::BytesMut::with_capacity(2 * PIECE);
                for piece in sealed.chunks(PIECE) {
                    buffer.extend_from_slice(piece);
                    while let Some(plain) = opener.open_next(&mut buffer).unwrap() {
                        std::hint::black_box(plain);
                    }
                }
                std::hint::black_box(opener.open_last(buffer).unwrap());
            });
        });
    }
    group.finish();
}

/// Cost of one password check at the default Argon2id parameters (and two cheaper/dearer ones),
/// to justify the default: it bounds how fast a link holder can guess, and how many checks the
/// server can afford (each holds `memory` for this long).
fn argon2(c: &mut Criterion) {
    use onetimeshare::crypto::{KdfParams, Password, PasswordKey};
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10);
    for (m_mib, t) in [(19u32, 2u32), (64, 3), (256, 3)] {
        let params = KdfParams::generate(m_mib * 1024, t, 1).unwrap();
        let password = Password::new("correct horse battery staple");
        group.bench_function(format!("m={m_mib}MiB,t={t},p=1"), |b| {
            b.iter(|| PasswordKey::derive_blocking(&password, &params).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, bench, argon2);
criterion_main!(benches);
