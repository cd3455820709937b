//! The one AEAD primitive everything is sealed with: ChaCha20-Poly1305 (RFC 8439) with the
//! STREAM nonce layout `prefix(7) ‖ be32(chunk counter) ‖ last-chunk flag(1)` — byte-for-byte
//! the `StreamBE32` construction of RustCrypto's `aead-stream`.
//!
//! Computed by aws-lc-rs (already linked as russh's crypto backend) because it dispatches to the
//! best vector code at run time; the RustCrypto implementation is kept in the tests as an oracle
//! that must produce identical bytes. aws-lc wipes key material when the key is freed.

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroize;

use super::CryptoError;

pub(crate) const TAG_LEN: usize = 16;

pub(crate) struct ChunkCipher {
    key: LessSafeKey,
    prefix: [u8; 7],
}

impl ChunkCipher {
    pub(crate) fn new(key: &[u8; 32], prefix: [u8; 7]) -> Result<Self, CryptoError> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| CryptoError::Rng)?;
        Ok(Self {
            key: LessSafeKey::new(key),
            prefix,
        })
    }

    fn nonce(&self, position: u32, last: bool) -> Nonce {
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&self.prefix);
        nonce[7..11].copy_from_slice(&position.to_be_bytes());
        nonce[11] = u8::from(last);
        Nonce::assume_unique_for_key(nonce)
    }

    /// Encrypts `chunk` where it lies and returns its tag.
    pub(crate) fn seal_in_place(
        &self,
        position: u32,
        last: bool,
        chunk: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(position, last), Aad::empty(), chunk)
            .map_err(|_| CryptoError::TooManyChunks)?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Authenticates and decrypts a sealed chunk (ciphertext ‖ tag) where it lies and returns
    /// the plaintext's length: the plaintext is the chunk's front, the tag's bytes follow. On
    /// failure nothing in `chunk` is plaintext (aws-lc checks the tag before releasing anything,
    /// and the chunk is wiped besides).
    pub(crate) fn open(&self, position: u32, last: bool, chunk: &mut [u8]) -> Result<usize, ()> {
        let len = chunk.len().checked_sub(TAG_LEN).ok_or(())?;
        let (text, tag) = chunk.split_at_mut(len);
        let opened = self.key.open_in_place_separate_tag(
            self.nonce(position, last),
            Aad::empty(),
            tag,
            text,
        );
        if opened.is_err() {
            chunk.zeroize();
            return Err(());
        }
        Ok(len)
    }
}
