//! The versioned blob header: everything needed to reopen a share, given its key (and password).
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! 0   4  magic "OTS1"
//! 4   1  format version (1)
//! 5   1  log2(chunk size)
//! 6   1  flags (bit 0: password-bound)
//! 7   1  reserved, zero
//! 8   7  STREAM nonce prefix (random per share)
//! 15 32  link verifier
//! -- only when password-bound --
//! 47  4  Argon2id memory (KiB)
//! 51  4  Argon2id iterations
//! 55  4  Argon2id parallelism
//! 59 16  Argon2id salt
//! 75 32  password check
//! ```
//!
//! The whole serialized header is the HKDF salt of the content keys, so changing any byte of it
//! makes decryption fail. Argon2 parameters are bounded on parse so a tampered header cannot make
//! the server allocate without limit.

use subtle::ConstantTimeEq;

use super::keys::password_check;
use super::{
    ContentKeys, CryptoError, LinkVerifier, PasswordKey, ShareKey, derive_content_keys,
    random_bytes,
};

const MAGIC: &[u8; 4] = b"OTS1";
pub const FORMAT_VERSION: u8 = 1;
const FLAG_PASSWORD: u8 = 1;
const PREFIX_LEN: usize = 8;
const BASE_LEN: usize = 47;
const PASSWORD_LEN: usize = 4 + 4 + 4 + 16 + 32;
const MIN_CHUNK_LOG2: u8 = 10;
const MAX_CHUNK_LOG2: u8 = 24;
/// Upper bounds accepted when parsing, far above any sane configuration.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 64;

/// Argon2id parameters and the per-share salt, as recorded in the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub salt: [u8; 16],
}

impl KdfParams {
    /// Parameters with a fresh random salt.
    pub fn generate(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, CryptoError> {
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
            salt,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Header {
    chunk_log2: u8,
    nonce_prefix: [u8; 7],
    verifier: [u8; 32],
    password: Option<(KdfParams, [u8; 32])>,
    encoded: Vec<u8>,
}

impl Header {
    /// A header for a new share. `password` carries the parameters and the derived key when the
    /// share is password-bound.
    pub fn new(
        key: &ShareKey,
        password: Option<(&KdfParams, &PasswordKey)>,
        chunk_log2: u8,
    ) -> Result<Self, CryptoError> {
        if !(MIN_CHUNK_LOG2..=MAX_CHUNK_LOG2).contains(&chunk_log2) {
            return Err(CryptoError::MalformedHeader);
        }
        let mut nonce_prefix = [0u8; 7];
        random_bytes(&mut nonce_prefix)?;
        let password =
            password.map(|(params, pk)| (params.clone(), password_check(key, pk, &params.salt)));
        Ok(Self::assemble(
            chunk_log2,
            nonce_prefix,
            *key.verifier().as_bytes(),
            password,
        ))
    }

    fn assemble(
        chunk_log2: u8,
        nonce_prefix: [u8; 7],
        verifier: [u8; 32],
        password: Option<(KdfParams, [u8; 32])>,
    ) -> Self {
        let mut encoded = Vec::with_capacity(BASE_LEN + PASSWORD_LEN);
        encoded.extend_from_slice(MAGIC);
        encoded.push(FORMAT_VERSION);
        encoded.push(chunk_log2);
        encoded.push(if password.is_some() { FLAG_PASSWORD } else { 0 });
        encoded.push(0);
        encoded.extend_from_slice(&nonce_prefix);
        encoded.extend_from_slice(&verifier);
        if let Some((params, check)) = &password {
            encoded.extend_from_slice(&params.memory_kib.to_be_bytes());
            encoded.extend_from_slice(&params.iterations.to_be_bytes());
            encoded.extend_from_slice(&params.parallelism.to_be_bytes());
            encoded.extend_from_slice(&params.salt);
            encoded.extend_from_slice(check);
        }
        Self {
            chunk_log2,
            nonce_prefix,
            verifier,
            password,
            encoded,
        }
    }

    /// How many bytes a reader must fetch first to learn the full header length.
    pub const PREFIX_LEN: usize = PREFIX_LEN;

    /// The full header length announced by its first [`Header::PREFIX_LEN`] bytes.
    pub fn encoded_len(prefix: &[u8]) -> Result<usize, CryptoError> {
        let (version, flags) = check_prefix(prefix)?;
        debug_assert_eq!(version, FORMAT_VERSION);
        Ok(BASE_LEN
            + if flags & FLAG_PASSWORD != 0 {
                PASSWORD_LEN
            } else {
                0
            })
    }

    /// Parses a complete header (exactly [`Header::encoded_len`] bytes).
    pub fn parse(bytes: &[u8]) -> Result<Self, CryptoError> {
        let len = Self::encoded_len(bytes)?;
        if bytes.len() != len {
            return Err(CryptoError::MalformedHeader);
        }
        let chunk_log2 = bytes[5];
        if !(MIN_CHUNK_LOG2..=MAX_CHUNK_LOG2).contains(&chunk_log2) || bytes[7] != 0 {
            return Err(CryptoError::MalformedHeader);
        }
        let nonce_prefix: [u8; 7] = array(&bytes[8..15]);
        let verifier: [u8; 32] = array(&bytes[15..47]);
        let password = if len > BASE_LEN {
            let rest = &bytes[BASE_LEN..];
            let params = KdfParams {
                memory_kib: u32::from_be_bytes(array(&rest[0..4])),
                iterations: u32::from_be_bytes(array(&rest[4..8])),
                parallelism: u32::from_be_bytes(array(&rest[8..12])),
                salt: array(&rest[12..28]),
            };
            if params.memory_kib > MAX_MEMORY_KIB
                || params.iterations == 0
                || params.iterations > MAX_ITERATIONS
                || params.parallelism == 0
                || params.parallelism > MAX_PARALLELISM
            {
                return Err(CryptoError::MalformedHeader);
            }
            Some((params, array(&rest[28..60])))
        } else {
            None
        };
        Ok(Self::assemble(chunk_log2, nonce_prefix, verifier, password))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded
    }

    pub fn chunk_size(&self) -> usize {
        1usize << self.chunk_log2
    }

    pub fn nonce_prefix(&self) -> &[u8; 7] {
        &self.nonce_prefix
    }

    pub fn verifier(&self) -> LinkVerifier {
        LinkVerifier::from_bytes(self.verifier)
    }

    /// The Argon2id parameters, when the share is password-bound.
    pub fn kdf_params(&self) -> Option<&KdfParams> {
        self.password.as_ref().map(|(params, _)| params)
    }

    /// Checks the key (and the password key, when bound) and derives the content keys.
    /// Distinguishes a wrong link key, a missing password and a wrong password.
    pub fn unlock(
        &self,
        key: &ShareKey,
        password: Option<&PasswordKey>,
    ) -> Result<ContentKeys, CryptoError> {
        if !self.verifier().matches(key) {
            return Err(CryptoError::WrongKey);
        }
        match (&self.password, password) {
            (None, _) => Ok(derive_content_keys(key, None, &self.encoded)),
            (Some(_), None) => Err(CryptoError::PasswordRequired),
            (Some((params, check)), Some(pk)) => {
                let expected = password_check(key, pk, &params.salt);
                if bool::from(expected.ct_eq(check)) {
                    Ok(derive_content_keys(key, Some(pk), &self.encoded))
                } else {
                    Err(CryptoError::WrongPassword)
                }
            }
        }
    }
}

fn check_prefix(prefix: &[u8]) -> Result<(u8, u8), CryptoError> {
    if prefix.len() < PREFIX_LEN {
        return Err(CryptoError::MalformedHeader);
    }
    if &prefix[..4] != MAGIC {
        return Err(CryptoError::BadMagic);
    }
    if prefix[4] != FORMAT_VERSION {
        return Err(CryptoError::UnsupportedVersion(prefix[4]));
    }
    if prefix[6] & !FLAG_PASSWORD != 0 {
        return Err(CryptoError::MalformedHeader);
    }
    Ok((prefix[4], prefix[6]))
}

fn array<const N: usize>(slice: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(slice);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Password;

    fn params() -> KdfParams {
        KdfParams::generate(1024, 1, 1).unwrap()
    }

    #[test]
    fn header_round_trips() {
        let key = ShareKey::generate().unwrap();
        let header = Header::new(&key, None, 16).unwrap();
        let parsed = Header::parse(header.as_bytes()).unwrap();
        assert_eq!(parsed.as_bytes(), header.as_bytes());
        assert_eq!(parsed.chunk_size(), 65536);
        assert!(parsed.kdf_params().is_none());
    }

    #[test]
    fn password_header_round_trips_and_checks_the_password() {
        let key = ShareKey::generate().unwrap();
        let params = params();
        let pk = PasswordKey::derive_blocking(&Password::new("pw"), &params).unwrap();
        let header = Header::new(&key, Some((&params, &pk)), 16).unwrap();
        let parsed = Header::parse(header.as_bytes()).unwrap();
        assert_eq!(parsed.kdf_params(), Some(&params));
        assert!(parsed.unlock(&key, Some(&pk)).is_ok());
        let wrong = PasswordKey::derive_blocking(&Password::new("nope"), &params).unwrap();
        assert_eq!(
            parsed.unlock(&key, Some(&wrong)).unwrap_err(),
            CryptoError::WrongPassword
        );
        assert_eq!(
            parsed.unlock(&key, None).unwrap_err(),
            CryptoError::PasswordRequired
        );
    }

    #[test]
    fn wrong_key_is_recognised_before_anything_else() {
        let key = ShareKey::generate().unwrap();
        let header = Header::new(&key, None, 16).unwrap();
        let other = ShareKey::generate().unwrap();
        assert_eq!(
            header.unlock(&other, None).unwrap_err(),
            CryptoError::WrongKey
        );
    }

    #[test]
    fn unknown_versions_and_garbage_are_refused() {
        let key = ShareKey::generate().unwrap();
        let mut bytes = Header::new(&key, None, 16).unwrap().as_bytes().to_vec();
        bytes[4] = 9;
        assert_eq!(
            Header::parse(&bytes).unwrap_err(),
            CryptoError::UnsupportedVersion(9)
        );
        assert_eq!(
            Header::parse(b"garbage!").unwrap_err(),
            CryptoError::BadMagic
        );
        assert_eq!(
            Header::parse(b"OTS").unwrap_err(),
            CryptoError::MalformedHeader
        );
    }

    #[test]
    fn hostile_kdf_parameters_are_refused() {
        let key = ShareKey::generate().unwrap();
        let params = params();
        let pk = PasswordKey::derive_blocking(&Password::new("pw"), &params).unwrap();
        let mut bytes = Header::new(&key, Some((&params, &pk)), 16)
            .unwrap()
            .as_bytes()
            .to_vec();
        bytes[47..51].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Header::parse(&bytes).unwrap_err(),
            CryptoError::MalformedHeader
        );
    }
}
