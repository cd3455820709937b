//! Chunked STREAM encryption, sans I/O: bytes in, bytes out.
//!
//! Plaintext is cut into fixed-size chunks; chunk `i` is sealed with ChaCha20-Poly1305 under the
//! nonce `prefix ‖ be32(i) ‖ last`. The final chunk (0..=chunk size bytes, so an empty share is one
//! empty final chunk) carries `last = 1`. A reader therefore detects every dropped, reordered,
//! duplicated, truncated or appended chunk: authentication fails at a known position.
//!
//! Neither direction keeps more than one chunk of plaintext waiting, so memory is bounded
//! whatever the share size.

use bytes::{Bytes, BytesMut};
use zeroize::Zeroize;

use super::aead::{ChunkCipher, TAG_LEN};

use super::{ContentKeys, CryptoError, Header};

/// Default plaintext chunk size: 64 KiB (see docs/benchmarks.md for the measurement).
pub const CHUNK_SIZE: usize = 64 * 1024;
/// log2 of [`CHUNK_SIZE`], as recorded in the header.
pub const CHUNK_LOG2: u8 = 16;
/// Poly1305 tag appended to every chunk.
pub const TAG_SIZE: usize = TAG_LEN;

fn stream_for(keys: &ContentKeys, header: &Header) -> Result<ChunkCipher, CryptoError> {
    ChunkCipher::new(&keys.content, *header.nonce_prefix())
}

/// Encrypts a byte stream of unknown length into sealed chunks.
///
/// The sealer owns its output buffer and seals in place: plaintext is copied once, into the
/// buffer, and encrypted where it lies. The buffer holds the sealed bytes first and then the
/// plaintext of the chunk being filled (at most one chunk), which is wiped wherever it leaves
/// behind: when the buffer grows, when it is handed over, when the sealer is dropped.
pub struct StreamSealer {
    stream: ChunkCipher,
    chunk_size: usize,
    position: u32,
    buf: Vec<u8>,
    /// `buf[..sealed]` is ready to store; `buf[sealed..]` is plaintext.
    sealed: usize,
}

impl StreamSealer {
    /// A sealer whose output continues `out` (its bytes, e.g. the header, are passed on as they
    /// are, ahead of the first chunk).
    pub fn new(keys: &ContentKeys, header: &Header, out: Vec<u8>) -> Result<Self, CryptoError> {
        Ok(Self {
            stream: stream_for(keys, header)?,
            chunk_size: header.chunk_size(),
            position: 0,
            sealed: out.len(),
            buf: out,
        })
    }

    /// Consumes `data`, sealing every chunk it completes, until all of it is sealed or waiting,
    /// or until the bytes ready to store reach `batch` with no plaintext waiting (the moment to
    /// hand them over: [`Self::take_sealed`] then moves nothing). Returns how much of `data` it
    /// took. A full chunk is sealed only once more data arrives: the final chunk may be full too.
    pub fn push(&mut self, data: &[u8], batch: usize) -> Result<usize, CryptoError> {
        let mut taken = 0;
        while taken < data.len() {
            if self.pending() == self.chunk_size {
                self.seal_pending(false)?;
                if self.sealed >= batch {
                    break;
                }
            }
            let take = (self.chunk_size - self.pending()).min(data.len() - taken);
            self.make_room(take + TAG_SIZE);
            self.buf.extend_from_slice(&data[taken..taken + take]);
            taken += take;
        }
        Ok(taken)
    }

    /// Bytes ready to store (the passed-on prefix and the sealed chunks).
    pub fn sealed_len(&self) -> usize {
        self.sealed
    }

    /// Hands over the bytes ready to store. Plaintext still waiting (none when [`Self::push`]
    /// stopped at a batch) moves to a buffer of its own and is wiped from the one handed over.
    pub fn take_sealed(&mut self) -> Vec<u8> {
        let waiting = self.buf[self.sealed..].to_vec();
        self.buf[self.sealed..].zeroize();
        self.buf.truncate(self.sealed);
        self.sealed = 0;
        std::mem::replace(&mut self.buf, waiting)
    }

    /// Goes on in `spare` (a buffer handed over earlier and given back), emptied and grown to at
    /// least `capacity`; what the current buffer holds moves there and is wiped here.
    pub fn recycle(&mut self, mut spare: Vec<u8>, capacity: usize) {
        spare.clear();
        // Exactly: two buffers taking turns must not keep growing each other.
        spare.reserve_exact(capacity.max(self.buf.len()));
        spare.extend_from_slice(&self.buf);
        self.buf.zeroize();
        self.buf = spare;
    }

    /// Seals the final chunk and returns everything not yet taken.
    pub fn finish(mut self) -> Result<Vec<u8>, CryptoError> {
        self.seal_pending(true)?;
        Ok(std::mem::take(&mut self.buf))
    }

    fn pending(&self) -> usize {
        self.buf.len() - self.sealed
    }

    /// Grows the buffer for `additional` bytes the way `Vec` would (doubling), but wipes the
    /// waiting plaintext from the old allocation instead of leaving it to the allocator.
    fn make_room(&mut self, additional: usize) {
        if self.buf.capacity() - self.buf.len() >= additional {
            return;
        }
        let wanted = (self.buf.len() + additional).max(2 * self.buf.capacity());
        let mut bigger = Vec::with_capacity(wanted);
        bigger.extend_from_slice(&self.buf);
        self.buf[self.sealed..].zeroize();
        self.buf = bigger;
    }

    /// Seals `buf[sealed..]` (one chunk's plaintext) where it lies and appends its tag.
    fn seal_pending(&mut self, last: bool) -> Result<(), CryptoError> {
        let tag = self
            .stream
            .seal_in_place(self.position, last, &mut self.buf[self.sealed..])?;
        self.buf.extend_from_slice(&tag);
        self.sealed = self.buf.len();
        self.position = self
            .position
            .checked_add(1)
            .ok_or(CryptoError::TooManyChunks)?;
        Ok(())
    }
}

// Plaintext waiting to be sealed: wipe on drop.
impl Drop for StreamSealer {
    fn drop(&mut self) {
        let sealed = self.sealed.min(self.buf.len());
        self.buf[sealed..].zeroize();
    }
}

/// Decrypts sealed chunks back into plaintext, refusing anything not authenticated.
///
/// Sans I/O and without copies: the caller reads sealed bytes into a buffer, and each chunk is
/// opened where it lies and split off as [`Bytes`] sharing that buffer's memory. A chunk is
/// opened as the last one only once the caller says the ciphertext has ended, so a stream cut at
/// a chunk boundary is caught, and bytes after the last chunk fail too. Only ciphertext waits in
/// the caller's buffer: plaintext exists only in the pieces handed out.
pub struct StreamOpener {
    stream: ChunkCipher,
    sealed_chunk: usize,
    position: u32,
}

impl StreamOpener {
    pub fn new(keys: &ContentKeys, header: &Header) -> Result<Self, CryptoError> {
        Ok(Self {
            stream: stream_for(keys, header)?,
            sealed_chunk: header.chunk_size() + TAG_SIZE,
            position: 0,
        })
    }

    /// Size of one sealed chunk: reads should bring more than this before [`Self::open_next`]
    /// can open anything.
    pub fn sealed_chunk_size(&self) -> usize {
        self.sealed_chunk
    }

    /// The plaintext of the chunk at the front of `sealed`, when that chunk is known not to be
    /// the last (more bytes follow it); `None` while it may still be the last: read more, or
    /// call [`Self::open_last`] once the ciphertext has ended.
    pub fn open_next(&mut self, sealed: &mut BytesMut) -> Result<Option<Bytes>, CryptoError> {
        if sealed.len() <= self.sealed_chunk {
            return Ok(None);
        }
        let mut chunk = sealed.split_to(self.sealed_chunk);
        let len = self
            .stream
            .open(self.position, false, &mut chunk)
            .map_err(|()| CryptoError::Corrupt(self.position))?;
        self.advance()?;
        chunk.truncate(len);
        Ok(Some(chunk.freeze()))
    }

    /// The ciphertext has ended: authenticates what is left, after every chunk
    /// [`Self::open_next`] took, as the final chunk, and returns its plaintext (empty for an
    /// empty share, or a share whose size is a multiple of the chunk size).
    pub fn open_last(self, mut sealed: BytesMut) -> Result<Bytes, CryptoError> {
        if sealed.len() > self.sealed_chunk {
            // More than a chunk after the last one `open_next` took: bytes were appended.
            return Err(CryptoError::Corrupt(self.position));
        }
        if sealed.len() < TAG_SIZE {
            return Err(if self.position == 0 {
                CryptoError::Corrupt(0)
            } else {
                CryptoError::Truncated(self.position - 1)
            });
        }
        // A full chunk may be a *middle* chunk: the stream was cut at a chunk boundary. Opening
        // wipes a chunk that fails, so keep its ciphertext to find out.
        let full = (sealed.len() == self.sealed_chunk).then(|| sealed.to_vec());
        match self.stream.open(self.position, true, &mut sealed) {
            Ok(len) => {
                sealed.truncate(len);
                Ok(sealed.freeze())
            }
            Err(()) => {
                let mut probe = full.unwrap_or_default();
                if !probe.is_empty() && self.stream.open(self.position, false, &mut probe).is_ok() {
                    probe.zeroize();
                    return Err(CryptoError::Truncated(self.position));
                }
                Err(CryptoError::Corrupt(self.position))
            }
        }
    }

    /// Opens a whole ciphertext arriving in `pieces`, into one buffer: for tests, benchmarks and
    /// fuzzing (a claim streams with [`Self::open_next`] and [`Self::open_last`]).
    pub fn open_pieces<'a>(
        mut self,
        pieces: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut sealed = BytesMut::new();
        let mut out = Vec::new();
        for piece in pieces {
            sealed.extend_from_slice(piece);
            while let Some(plain) = self.open_next(&mut sealed)? {
                out.extend_from_slice(&plain);
            }
        }
        out.extend_from_slice(&self.open_last(sealed)?);
        Ok(out)
    }

    fn advance(&mut self) -> Result<(), CryptoError> {
        self.position = self
            .position
            .checked_add(1)
            .ok_or(CryptoError::TooManyChunks)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{ShareKey, derive_content_keys};
    use proptest::prelude::*;

    const SMALL_LOG2: u8 = 10; // 1 KiB chunks keep property tests fast
    const SMALL: usize = 1 << SMALL_LOG2;

    struct Fixture {
        key: ShareKey,
        header: Header,
    }

    impl Fixture {
        fn new(chunk_log2: u8) -> Self {
            let key = ShareKey::generate().unwrap();
            let header = Header::new(&key, None, chunk_log2).unwrap();
            Self { key, header }
        }

        fn keys(&self) -> ContentKeys {
            derive_content_keys(&self.key, None, self.header.as_bytes())
        }

        fn seal(&self, plaintext: &[u8], piece: usize) -> Vec<u8> {
            let mut sealer = StreamSealer::new(&self.keys(), &self.header, Vec::new()).unwrap();
            for part in plaintext.chunks(piece.max(1)) {
                assert_eq!(sealer.push(part, usize::MAX).unwrap(), part.len());
            }
            sealer.finish().unwrap()
        }

        fn open(&self, ciphertext: &[u8], piece: usize) -> Result<Vec<u8>, CryptoError> {
            StreamOpener::new(&self.keys(), &self.header)
                .unwrap()
                .open_pieces(ciphertext.chunks(piece.max(1)))
        }
    }

    fn sealed_len(plain: usize, chunk: usize) -> usize {
        let chunks = if plain == 0 { 1 } else { plain.div_ceil(chunk) };
        plain + chunks * TAG_SIZE
    }

    #[test]
    fn boundary_sizes_round_trip_at_the_real_chunk_size() {
        let fx = Fixture::new(CHUNK_LOG2);
        for size in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE + 7,
        ] {
            let plain: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let sealed = fx.seal(&plain, 8191);
            assert_eq!(sealed.len(), sealed_len(size, CHUNK_SIZE), "size {size}");
            assert_eq!(fx.open(&sealed, 70_001).unwrap(), plain, "size {size}");
        }
    }

    /// RustCrypto's independent STREAM implementation must produce the very same bytes.
    #[test]
    fn the_format_matches_rustcrypto_stream_be32_byte_for_byte() {
        use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
        use chacha20poly1305::aead::array::Array;
        use chacha20poly1305::{ChaCha20Poly1305, KeyInit};

        let fx = Fixture::new(SMALL_LOG2);
        let plain: Vec<u8> = (0..(3 * SMALL + 5)).map(|i| (i * 7) as u8).collect();
        let ours = fx.seal(&plain, 100);
        let keys = fx.keys();
        let oracle = StreamBE32::<ChaCha20Poly1305>::from_aead(
            ChaCha20Poly1305::new(&Array::from(keys.content)),
            &Array::from(*fx.header.nonce_prefix()),
        );
        let mut expected = Vec::new();
        let chunks: Vec<&[u8]> = plain.chunks(SMALL).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i == chunks.len() - 1;
            expected.extend(oracle.encrypt(i as u32, last, *chunk).unwrap());
        }
        assert_eq!(ours, expected);
    }

    #[test]
    fn several_mebibytes_round_trip() {
        let fx = Fixture::new(CHUNK_LOG2);
        let plain: Vec<u8> = (0..5 * 1024 * 1024 + 3).map(|i| (i % 253) as u8).collect();
        let sealed = fx.seal(&plain, 1 << 20);
        assert_eq!(fx.open(&sealed, 1 << 19).unwrap(), plain);
    }

    #[test]
    fn wrong_key_fails_at_the_first_chunk() {
        let fx = Fixture::new(SMALL_LOG2);
        let sealed = fx.seal(b"secret", 3);
        let other = Fixture {
            key: ShareKey::generate().unwrap(),
            header: fx.header.clone(),
        };
        assert_eq!(other.open(&sealed, 5).unwrap_err(), CryptoError::Corrupt(0));
    }

    fn three_chunks(fx: &Fixture) -> (Vec<u8>, Vec<u8>) {
        let plain: Vec<u8> = (0..(2 * SMALL + 100)).map(|i| i as u8).collect();
        let sealed = fx.seal(&plain, 77);
        (plain, sealed)
    }

    #[test]
    fn dropped_chunk_is_detected() {
        let fx = Fixture::new(SMALL_LOG2);
        let (_, sealed) = three_chunks(&fx);
        let c = SMALL + TAG_SIZE;
        let mut damaged = sealed[..c].to_vec();
        damaged.extend_from_slice(&sealed[2 * c..]);
        assert_eq!(fx.open(&damaged, 100).unwrap_err(), CryptoError::Corrupt(1));
    }

    #[test]
    fn reordered_chunks_are_detected() {
        let fx = Fixture::new(SMALL_LOG2);
        let (_, sealed) = three_chunks(&fx);
        let c = SMALL + TAG_SIZE;
        let mut damaged = sealed[c..2 * c].to_vec();
        damaged.extend_from_slice(&sealed[..c]);
        damaged.extend_from_slice(&sealed[2 * c..]);
        assert_eq!(fx.open(&damaged, 100).unwrap_err(), CryptoError::Corrupt(0));
    }

    #[test]
    fn duplicated_chunk_is_detected() {
        let fx = Fixture::new(SMALL_LOG2);
        let (_, sealed) = three_chunks(&fx);
        let c = SMALL + TAG_SIZE;
        let mut damaged = sealed[..c].to_vec();
        damaged.extend_from_slice(&sealed[..c]);
        damaged.extend_from_slice(&sealed[c..]);
        assert_eq!(fx.open(&damaged, 100).unwrap_err(), CryptoError::Corrupt(1));
    }

    #[test]
    fn truncation_at_a_chunk_boundary_is_reported_as_truncation() {
        let fx = Fixture::new(SMALL_LOG2);
        let (_, sealed) = three_chunks(&fx);
        let c = SMALL + TAG_SIZE;
        assert_eq!(
            fx.open(&sealed[..2 * c], 100).unwrap_err(),
            CryptoError::Truncated(1)
        );
    }

    #[test]
    fn truncated_last_chunk_is_detected() {
        let fx = Fixture::new(SMALL_LOG2);
        let (_, sealed) = three_chunks(&fx);
        assert_eq!(
            fx.open(&sealed[..sealed.len() - 1], 100).unwrap_err(),
            CryptoError::Corrupt(2)
        );
    }

    #[test]
    fn appended_bytes_are_detected() {
        let fx = Fixture::new(SMALL_LOG2);
        let (_, sealed) = three_chunks(&fx);
        for extra in [1usize, TAG_SIZE, SMALL + TAG_SIZE] {
            let mut damaged = sealed.clone();
            damaged.extend(std::iter::repeat_n(0u8, extra));
            assert!(fx.open(&damaged, 100).is_err(), "{extra} appended bytes");
        }
    }

    #[test]
    fn empty_ciphertext_is_not_an_empty_share() {
        let fx = Fixture::new(SMALL_LOG2);
        assert_eq!(fx.open(&[], 1).unwrap_err(), CryptoError::Corrupt(0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_plaintext_round_trips_however_it_is_split(
            plain in proptest::collection::vec(any::<u8>(), 0..5 * SMALL),
            seal_piece in 1usize..3000,
            open_piece in 1usize..3000,
        ) {
            let fx = Fixture::new(SMALL_LOG2);
            let sealed = fx.seal(&plain, seal_piece);
            prop_assert_eq!(sealed.len(), sealed_len(plain.len(), SMALL));
            prop_assert_eq!(fx.open(&sealed, open_piece).unwrap(), plain);
        }

        #[test]
        fn taking_the_sealed_bytes_at_any_point_changes_nothing(
            plain in proptest::collection::vec(any::<u8>(), 0..5 * SMALL),
            piece in 1usize..3000,
            batch in 1usize..3 * SMALL,
            take_every in 1usize..5,
        ) {
            let fx = Fixture::new(SMALL_LOG2);
            let lead = b"header".to_vec();
            let mut sealer = StreamSealer::new(&fx.keys(), &fx.header, lead.clone()).unwrap();
            let mut stored = Vec::new();
            let mut spare = Vec::new();
            for (i, part) in plain.chunks(piece).enumerate() {
                let mut rest = part;
                while !rest.is_empty() {
                    let taken = sealer.push(rest, batch).unwrap();
                    rest = &rest[taken..];
                    let at_batch = sealer.sealed_len() >= batch;
                    prop_assert!(rest.is_empty() || at_batch);
                    if at_batch || i % take_every == 0 {
                        let out = sealer.take_sealed();
                        // Only the lead and whole sealed chunks ever leave the sealer.
                        let body = stored.len() + out.len() - lead.len();
                        prop_assert_eq!(body % (SMALL + TAG_SIZE), 0);
                        stored.extend_from_slice(&out);
                        sealer.recycle(std::mem::replace(&mut spare, out), 2 * SMALL);
                    }
                }
            }
            stored.extend_from_slice(&sealer.finish().unwrap());
            let mut expected = lead.clone();
            expected.extend_from_slice(&fx.seal(&plain, piece));
            prop_assert_eq!(stored, expected);
        }

        #[test]
        fn any_flipped_bit_fails_and_never_yields_the_plaintext(
            plain in proptest::collection::vec(any::<u8>(), 0..4 * SMALL),
            position in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let fx = Fixture::new(SMALL_LOG2);
            let mut sealed = fx.seal(&plain, 500);
            let at = position.index(sealed.len());
            sealed[at] ^= 1 << bit;
            prop_assert!(fx.open(&sealed, 333).is_err());
        }
    }
}
